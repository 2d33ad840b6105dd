//! What can go wrong in the store: one typed enum, one line per message,
//! never a key, a code or a password in it.

use std::path::PathBuf;

use crate::device::Serial;
use crate::error::ErrorKind;
use crate::user::TaxCode;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported store url {url:?}: expected sqlite:PATH, a file path or postgres://…")]
    BadUrl { url: String },
    #[error(
        "database schema version {found} is newer than this tokenrig ({supported}); upgrade tokenrig"
    )]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("store key from TOKENRIG_STORE_KEY must be 64 hex characters")]
    BadEnvSecret,
    #[error("store key file {path} must hold 64 hex characters")]
    BadKeyFile { path: PathBuf },
    #[error("store key file {path} is readable by group or others (mode {mode:o}); chmod 600 it")]
    KeyFilePermissions { path: PathBuf, mode: u32 },
    #[error("store key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the store key does not match this database (wrong TOKENRIG_STORE_KEY or key file)")]
    WrongSecret,
    #[error("the key of serial {serial} does not decrypt: wrong store key or a tampered row")]
    KeyDecryption { serial: Serial },
    #[error(
        "no data directory for the default store key file: set XDG_DATA_HOME or HOME, or TOKENRIG_STORE_KEY"
    )]
    NoDataDir,
    #[error("the operating system's random number generator failed")]
    Entropy,
    #[error("serial {0} is already in the store")]
    DuplicateSerial(Serial),
    #[error("serial {0} is not in the store")]
    UnknownSerial(Serial),
    #[error("user {0} is not in the store")]
    UnknownUser(TaxCode),
    #[error("user {0} is already in the store")]
    DuplicateUser(TaxCode),
    #[error("another user already has this user code")]
    DuplicateUserCode,
    #[error("no user has this user code")]
    UnknownUserCode,
    #[error("serial {serial} cannot be assigned: it is {status}")]
    NotAssignable { serial: Serial, status: String },
    #[error("user {username} already has active token {serial}; use the replacement flow")]
    UserHasToken { username: TaxCode, serial: Serial },
    #[error("user {0} has no active token")]
    NoActiveToken(TaxCode),
    #[error("token {0} changed since it was read (compare-and-set failed)")]
    Conflict(Serial),
    #[error("token {serial} kept changing under {attempts} attempts; try again")]
    Contention { serial: Serial, attempts: u32 },
    #[error("corrupt store row: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
}

impl StoreError {
    /// What kind of failure this is; statuses and exit codes derive from it.
    pub fn kind(&self) -> ErrorKind {
        use StoreError as E;
        match self {
            // The user's own input: a URL, or a secret given on the command
            // line's environment.
            E::BadUrl { .. } | E::BadEnvSecret | E::WrongSecret => ErrorKind::Invalid,
            E::UnknownSerial(_) | E::UnknownUser(_) | E::UnknownUserCode | E::NoActiveToken(_) => {
                ErrorKind::NotFound
            }
            E::DuplicateSerial(_)
            | E::DuplicateUser(_)
            | E::DuplicateUserCode
            | E::NotAssignable { .. }
            | E::UserHasToken { .. }
            | E::Conflict(_) => ErrorKind::Conflict,
            E::Contention { .. } => ErrorKind::Busy,
            E::SchemaTooNew { .. }
            | E::BadKeyFile { .. }
            | E::KeyFilePermissions { .. }
            | E::KeyFile { .. }
            | E::KeyDecryption { .. }
            | E::NoDataDir => ErrorKind::Config,
            E::Entropy | E::Corrupt(_) | E::Sqlite(_) | E::Postgres(_) => ErrorKind::Internal,
        }
    }

    /// A stable id for what is missing, when the input names nothing: what
    /// `/v1/validate` and `/v1/resync` answer as a reason.
    pub fn missing(&self) -> Option<&'static str> {
        match self {
            StoreError::UnknownUser(_) => Some("unknown_user"),
            StoreError::UnknownSerial(_) => Some("unknown_serial"),
            StoreError::UnknownUserCode => Some("unknown_user_code"),
            StoreError::NoActiveToken(_) => Some("no_active_token"),
            _ => None,
        }
    }
}

/// One line, no parameter values: a server error is its message and
/// SQLSTATE (its DETAIL can quote row values, so it is dropped); any other
/// error (connecting, I/O) is its own first line.
impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        let line = match e.as_db_error() {
            Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
            None => e.to_string().lines().next().unwrap_or("").to_owned(),
        };
        StoreError::Postgres(line)
    }
}
