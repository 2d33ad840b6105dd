//! The durable store: tokens, users and the audit log, behind one API.
//!
//! Two backends behind one trait (`rows.rs`: `Database`, moving plain
//! rows): SQLite (`sqlite.rs`; `sqlite:PATH` or a bare path; bundled, WAL,
//! `synchronous=FULL`), the default, and PostgreSQL (`postgres.rs`;
//! `postgres://…`), for several verifier processes sharing one database.
//! Encryption and domain types live here, above both, so nothing above
//! this API knows which one it talks to. Persistence only: what a request
//! decides is the service's (`crate::service`), which drives the sans-IO
//! core over this API; replacement attempts are stored here
//! (`attempts.rs`), so several processes on one database share them.
//!
//! # Invariants
//! - **Compare-and-set.** A token's state changes only through
//!   [`Store::apply_audited`] (and [`Store::replace_device`]), which writes a [`Decision`]'s new state only where
//!   the row still holds its `previous` state (counter, drift, failures,
//!   lock). A lost race is [`StoreError::Conflict`]; the caller re-reads and
//!   asks the core again. So two connections, threads or processes never
//!   both accept one code.
//! - **Keys encrypted at rest.** Each token key is sealed with AES-256-GCM
//!   under a key derived from the store secret (`TOKENRIG_STORE_KEY`, or a
//!   0600 key file created on first run next to the database), a random
//!   12-byte nonce per key, and the serial as associated data. The secret is
//!   checked against the database on open, so a wrong one fails at once.
//! - **No secret in the audit log, or in any error or `Debug`.** Audit rows
//!   hold an action, serial, username, outcome and [`Reason::code`]: never
//!   a code, a key, a user code or a password. User codes are stored only
//!   as an HMAC under the store secret, which is what makes resync by user
//!   code an indexed lookup.
//! - **Counters are exact.** `u64` columns are stored as the `i64` with the
//!   same bits, so `u64::MAX` round-trips.
//! - **Every change has its audit row, in the same transaction**:
//!   decisions, imports (one row per token), users added, assignments,
//!   unlocks and replacements (attempt started, step refused, completed;
//!   an SMS is audited when it is settled, or with its attempt when the
//!   outbox is its destination).
//! - **Attempts move by compare-and-set** on their `version`: a step lost
//!   to a concurrent one is an error, never taken twice. Their SMS code,
//!   like the outbox's, is sealed like a token key (the attempt id as
//!   associated data) and dropped once the code is no longer awaited.
//! - **Migrations are versioned** (`migrations/{sqlite,postgres}/NNNN_name.sql`,
//!   embedded, the same version numbers in both); a database newer than
//!   the code is refused.
//!
//! [`Reason::code`]: crate::verifier::Reason::code

mod attempts;
mod error;
mod outbox;
mod postgres;
mod rows;
mod secret;
mod sql;
mod sqlite;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::clock::UnixTime;
use crate::device::{Model, Serial};
use crate::inventory::{InventoryEntry, MovingFactor};
use crate::otp::{Algorithm, Digits, TimeStep, TotpParams};
use crate::user::{PasswordHash, PhoneNumber, TaxCode, User, UserCode};
use crate::verifier::{Decision, InventoryFacts, TokenConfig, TokenKind, TokenState};

pub use attempts::{AttemptId, DeviceSwap, NoSuchAttempt, StoredAttempt};
pub use error::StoreError;
pub use outbox::{NewSms, OutboxMessage, Settled, SmsStatus, Unreadable};
pub use secret::{STORE_KEY_ENV, SecretSource, StoreSecret, default_key_file};

use postgres::PgDb;
use rows::{AuditInsert, Database, TokenRow, UserRow, u64_from_sql, u64_to_sql};
use secret::{Keys, NONCE_LEN, Sealed};
use sqlite::SqliteDb;

/// Where a token is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenStatus {
    /// In the inventory, bound to nobody.
    Unassigned,
    /// In use (bound to a user, or activated before binding).
    Active,
    /// Retired by the replacement flow; never accepted again.
    Replaced,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Unassigned => "unassigned",
            TokenStatus::Active => "active",
            TokenStatus::Replaced => "replaced",
        }
    }
}

impl fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unassigned" => Ok(TokenStatus::Unassigned),
            "active" => Ok(TokenStatus::Active),
            "replaced" => Ok(TokenStatus::Replaced),
            other => Err(StoreError::Corrupt(format!(
                "unknown token status {other:?}"
            ))),
        }
    }
}

/// A token loaded for verification: its key decrypted into `config`.
/// `Debug` shows the key as redacted.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub serial: Serial,
    pub model: Model,
    pub config: TokenConfig,
    pub state: TokenState,
    pub status: TokenStatus,
    pub username: Option<TaxCode>,
}

/// A token as listed: no key, nothing decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSummary {
    pub serial: Serial,
    pub model: Model,
    pub status: TokenStatus,
    pub username: Option<TaxCode>,
    pub state: TokenState,
}

impl TokenSummary {
    /// What the core's binding rule ([`InventoryFacts::is_free`]) reads.
    pub fn facts(&self) -> InventoryFacts {
        InventoryFacts {
            model: self.model,
            assigned: self.username.is_some(),
            active: self.status != TokenStatus::Replaced,
        }
    }
}

/// A user as stored. The user code is not here: the store keeps only its
/// HMAC, see [`Store::user_by_user_code`].
#[derive(Debug, Clone)]
pub struct StoredUser {
    pub username: TaxCode,
    pub phone: PhoneNumber,
    pub password: PasswordHash,
}

/// What [`Store::apply_audited`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The new state was written.
    Written,
    /// The decision changes nothing (a locked token's rejection), so
    /// nothing was written.
    Unchanged,
}

/// What an audit row records happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    Check,
    Resync,
    Import,
    AddUser,
    Assign,
    Unlock,
    /// A replacement completed, or one of its steps was refused.
    Replace,
    ReplaceStarted,
    SmsSent,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Check => "check",
            AuditAction::Resync => "resync",
            AuditAction::Import => "import",
            AuditAction::AddUser => "add_user",
            AuditAction::Assign => "assign",
            AuditAction::Unlock => "unlock",
            AuditAction::Replace => "replace",
            AuditAction::ReplaceStarted => "replace_started",
            AuditAction::SmsSent => "sms_sent",
        }
    }
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditOutcome {
    Accepted,
    Rejected,
    Done,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Accepted => "accepted",
            AuditOutcome::Rejected => "rejected",
            AuditOutcome::Done => "done",
        }
    }
}

/// An audit row to append. Its fields are typed so that nothing secret can
/// be put in one: the reason is a [`Reason::code`](crate::verifier::Reason::code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub at: UnixTime,
    pub action: AuditAction,
    pub serial: Option<Serial>,
    pub username: Option<TaxCode>,
    pub outcome: AuditOutcome,
    pub reason: Option<&'static str>,
}

/// An audit row read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at: UnixTime,
    pub action: String,
    pub serial: Option<String>,
    pub username: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
}

/// Where the store is, parsed from `--db`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl StoreUrl {
    /// `sqlite:PATH` (also `sqlite://PATH`), `postgres://…` /
    /// `postgresql://…`, or a bare file path.
    pub fn parse(url: &str) -> Result<StoreUrl, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || (path.contains("://") && !url.starts_with("sqlite")) {
            return Err(StoreError::BadUrl {
                url: url.to_owned(),
            });
        }
        Ok(StoreUrl::Sqlite(PathBuf::from(path)))
    }
}

/// One connection to the store, with the keys derived from its secret.
/// `Send` but not `Sync`: give each thread its own (they may share one
/// database), or move it into a blocking task.
pub struct Store {
    db: Box<dyn Database>,
    keys: Keys,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Store { keys: redacted, .. }")
    }
}

impl Store {
    /// Opens (creating and migrating) the store at `url`, with the secret
    /// from `TOKENRIG_STORE_KEY` or the key file next to the database.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, &SecretSource::Default)
    }

    pub fn open_with(url: &str, source: &SecretSource) -> Result<Store, StoreError> {
        // The secret first: a bad key file must not leave a new empty
        // database behind.
        let (keys, db): (Keys, Box<dyn Database>) = match StoreUrl::parse(url)? {
            StoreUrl::Postgres(url) => {
                let keys = Keys::new(&source.load(|| postgres::default_key_file(&url))?);
                (keys, Box::new(PgDb::connect(&url)?))
            }
            StoreUrl::Sqlite(path) => {
                let keys = Keys::new(&source.load(|| Ok(default_key_file(&path)))?);
                (keys, Box::new(SqliteDb::open(&path)?))
            }
        };
        db.check_secret(&keys.check_value())?;
        Ok(Store { db, keys })
    }

    fn db(&self) -> &dyn Database {
        self.db.as_ref()
    }

    /// Imports a parsed inventory in one transaction: all or nothing. A
    /// serial already in the store refuses the whole batch, naming it.
    /// One audit row per token, in the same transaction.
    pub fn import(&self, entries: &[InventoryEntry], at: UnixTime) -> Result<usize, StoreError> {
        let rows = entries
            .iter()
            .map(|entry| self.token_row(entry))
            .collect::<Result<Vec<_>, _>>()?;
        let audit: Vec<AuditInsert<'_>> = rows
            .iter()
            .map(|row| AuditInsert {
                serial: Some(&row.serial),
                ..admin_audit(at, AuditAction::Import, None)
            })
            .collect();
        match self.db().insert_tokens(&rows, &audit)? {
            Ok(n) => Ok(n),
            Err(serial) => Err(StoreError::DuplicateSerial(parse_serial(&serial)?)),
        }
    }

    fn token_row(&self, entry: &InventoryEntry) -> Result<TokenRow, StoreError> {
        let serial = *entry.serial();
        let sealed = self.keys.seal_key(serial, entry.key())?;
        let (step, t0, next_counter) = match entry.moving_factor() {
            MovingFactor::Event { counter } => (None, None, counter),
            MovingFactor::Time(params) => (
                Some(u64_to_sql(params.step.as_secs())),
                Some(u64_to_sql(params.t0)),
                0,
            ),
        };
        Ok(TokenRow {
            serial: serial.as_str().to_owned(),
            model: entry.model().name().to_owned(),
            algorithm: entry.algorithm().name().to_owned(),
            digits: i64::from(entry.digits().get()),
            step,
            t0,
            key_ciphertext: sealed.ciphertext,
            key_nonce: sealed.nonce.to_vec(),
            next_counter: u64_to_sql(next_counter),
            drift_steps: 0,
            failures: 0,
            locked: false,
            status: TokenStatus::Unassigned.as_str().to_owned(),
            username: None,
        })
    }

    /// Adds a user; the user code is stored only as its lookup HMAC.
    pub fn add_user(&self, user: &User, at: UnixTime) -> Result<(), StoreError> {
        let username = *user.username();
        if self.db().user_exists(username.as_str())? {
            return Err(StoreError::DuplicateUser(username));
        }
        let lookup = self.keys.user_code_lookup(user.user_code());
        if self.db().lookup_exists(&lookup)? {
            return Err(StoreError::DuplicateUserCode);
        }
        let row = UserRow {
            username: username.as_str().to_owned(),
            phone: user.phone().as_str().to_owned(),
            user_code_lookup: lookup.to_vec(),
            password_phc: user.password().as_phc().to_owned(),
        };
        let audit = admin_audit(at, AuditAction::AddUser, Some(username.as_str()));
        if self.db().insert_user(&row, &audit)? {
            Ok(())
        } else if self.db().user_exists(username.as_str())? {
            // Lost a race with another connection adding the same user.
            Err(StoreError::DuplicateUser(username))
        } else {
            Err(StoreError::DuplicateUserCode)
        }
    }

    pub fn user(&self, username: &TaxCode) -> Result<Option<StoredUser>, StoreError> {
        self.db()
            .user(username.as_str())?
            .map(stored_user)
            .transpose()
    }

    /// The user whose licence card carries `code`: an indexed lookup on the
    /// code's HMAC under the store secret.
    pub fn user_by_user_code(&self, code: &UserCode) -> Result<Option<StoredUser>, StoreError> {
        let lookup = self.keys.user_code_lookup(code);
        self.db()
            .user_by_lookup(&lookup)?
            .map(stored_user)
            .transpose()
    }

    /// Binds a token to a user, with its audit row, if the token is free
    /// (unassigned, or active but unowned; a replaced token is never
    /// reused) and the user holds no active token: the statement checks
    /// both, so a lost race is [`StoreError::Conflict`]. Which rule refused
    /// is the service's to say ([`Service::assign`](crate::service::Service::assign)).
    pub fn assign(
        &self,
        username: &TaxCode,
        serial: Serial,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let audit = AuditInsert {
            serial: Some(serial.as_str()),
            ..admin_audit(at, AuditAction::Assign, Some(username.as_str()))
        };
        if self
            .db()
            .assign(username.as_str(), serial.as_str(), &audit)?
            == 0
        {
            return Err(StoreError::Conflict(serial));
        }
        Ok(())
    }

    /// A token with its key decrypted, ready for the verifier core.
    pub fn token(&self, serial: Serial) -> Result<Option<StoredToken>, StoreError> {
        let Some(row) = self.db().token(serial.as_str())? else {
            return Ok(None);
        };
        let summary = summary(&row)?;
        let algorithm =
            Algorithm::from_str(&row.algorithm).map_err(|_| corrupt(&row.serial, "algorithm"))?;
        let digits = u8::try_from(row.digits)
            .ok()
            .and_then(|d| Digits::new(d).ok())
            .ok_or_else(|| corrupt(&row.serial, "digits"))?;
        let kind = match (row.step, row.t0) {
            (None, None) => TokenKind::Event,
            (Some(step), Some(t0)) => TokenKind::Time(TotpParams {
                step: TimeStep::from_secs(u64_from_sql(step))
                    .map_err(|_| corrupt(&row.serial, "step"))?,
                t0: u64_from_sql(t0),
            }),
            _ => return Err(corrupt(&row.serial, "step/t0")),
        };
        if kind.family() != summary.model.family() {
            return Err(corrupt(&row.serial, "model"));
        }
        let nonce: [u8; NONCE_LEN] = row
            .key_nonce
            .as_slice()
            .try_into()
            .map_err(|_| corrupt(&row.serial, "key nonce"))?;
        let key = self.keys.open_key(
            serial,
            &Sealed {
                ciphertext: row.key_ciphertext,
                nonce,
            },
        )?;
        Ok(Some(StoredToken {
            serial,
            model: summary.model,
            config: TokenConfig::new(algorithm, &key, digits, kind),
            state: summary.state,
            status: summary.status,
            username: summary.username,
        }))
    }

    /// Whether the database answers (for health checks): reads nothing.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.db().ping()
    }

    /// One token as listed: nothing decrypted.
    pub fn token_summary(&self, serial: Serial) -> Result<Option<TokenSummary>, StoreError> {
        self.db()
            .token(serial.as_str())?
            .as_ref()
            .map(summary)
            .transpose()
    }

    /// Every token, or a user's, by serial; nothing is decrypted.
    pub fn tokens(&self, username: Option<&TaxCode>) -> Result<Vec<TokenSummary>, StoreError> {
        self.db()
            .tokens(username.map(TaxCode::as_str))?
            .iter()
            .map(summary)
            .collect()
    }

    /// The serial of the user's active token.
    pub fn active_serial_of(&self, username: &TaxCode) -> Result<Option<Serial>, StoreError> {
        self.db()
            .active_token_of(username.as_str())?
            .as_deref()
            .map(parse_serial)
            .transpose()
    }

    /// Applies a decision with compare-and-set on its `previous` state, and
    /// its audit row in the same transaction: the row is written exactly
    /// when the decision is, so the log never misses a decision nor records
    /// a lost race. [`StoreError::Conflict`] if the token changed since it
    /// was read (or is gone).
    pub fn apply_audited(
        &self,
        serial: Serial,
        decision: &Decision,
        record: &AuditRecord,
    ) -> Result<Applied, StoreError> {
        let changed = self.db().compare_and_set_audited(
            serial.as_str(),
            &decision.previous,
            &decision.new_state,
            &audit_insert(record),
        )?;
        match (changed, decision.changes_state()) {
            (0, _) => Err(StoreError::Conflict(serial)),
            (_, true) => Ok(Applied::Written),
            (_, false) => Ok(Applied::Unchanged),
        }
    }

    /// Carries out a completed replacement's `RetireDevice` and
    /// `BindDevice` effects in one transaction, with one audit row: the
    /// user's active token `old` becomes `replaced`, and `new` (unowned,
    /// still in the `shelf` state its codes were checked against) becomes
    /// the user's active token in the `bound` state those codes established.
    /// [`StoreError::Conflict`] if either row moved meanwhile; then nothing
    /// changed.
    pub fn replace_device(
        &self,
        username: &TaxCode,
        old: Serial,
        new: Serial,
        states: (TokenState, TokenState),
        at: UnixTime,
    ) -> Result<(), StoreError> {
        if self.swap_devices(username, (old, new), states, None, at)? {
            Ok(())
        } else {
            Err(StoreError::Conflict(new))
        }
    }

    /// Runs `work` with the writes it makes committed together: on SQLite
    /// one transaction and one fsync for all of them (each operation a
    /// savepoint in it, so one that fails undoes only itself); on
    /// PostgreSQL each commits on its own. What a server does with a queue
    /// of requests: durability at the cost of one fsync per batch instead
    /// of per request. If `work` panics, the batch is rolled back.
    pub fn batch<T>(&self, work: impl FnOnce(&Store) -> T) -> Result<T, StoreError> {
        struct Open<'a>(&'a dyn Database, bool);
        impl Drop for Open<'_> {
            fn drop(&mut self) {
                if self.1 {
                    let _ = self.0.end_batch(false);
                }
            }
        }
        self.db().begin_batch()?;
        let mut open = Open(self.db(), true);
        let value = work(self);
        open.1 = false;
        self.db().end_batch(true)?;
        Ok(value)
    }

    /// For a long-running server: this connection no longer checkpoints
    /// SQLite's write-ahead log after its commits (a commit that does can
    /// take tens of milliseconds); call [`checkpoint`](Self::checkpoint)
    /// from another connection instead. No-op on PostgreSQL.
    pub fn defer_checkpoints(&self) -> Result<(), StoreError> {
        self.db().defer_checkpoints()
    }

    /// Moves committed WAL pages into the SQLite file without blocking
    /// writers or readers. No-op on PostgreSQL.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.db().checkpoint()
    }

    pub fn append_audit(&self, record: &AuditRecord) -> Result<i64, StoreError> {
        self.db().append_audit(&audit_insert(record))
    }

    /// The newest `limit` audit rows, newest first.
    pub fn audit(&self, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        Ok(self
            .db()
            .audit(limit)?
            .into_iter()
            .map(|r| AuditRow {
                id: r.id,
                at: UnixTime::from_nanos(u64_from_sql(r.at_unix_nanos)),
                action: r.action,
                serial: r.serial,
                username: r.username,
                outcome: r.outcome,
                reason: r.reason,
            })
            .collect())
    }
}

/// An admin action's audit row: done, no reason; callers fill the serial.
fn admin_audit<'a>(
    at: UnixTime,
    action: AuditAction,
    username: Option<&'a str>,
) -> AuditInsert<'a> {
    AuditInsert {
        at_unix_nanos: at.as_nanos(),
        action: action.as_str(),
        serial: None,
        username,
        outcome: AuditOutcome::Done.as_str(),
        reason: None,
    }
}

fn audit_insert(record: &AuditRecord) -> AuditInsert<'_> {
    AuditInsert {
        at_unix_nanos: record.at.as_nanos(),
        action: record.action.as_str(),
        serial: record.serial.as_ref().map(Serial::as_str),
        username: record.username.as_ref().map(TaxCode::as_str),
        outcome: record.outcome.as_str(),
        reason: record.reason,
    }
}

fn corrupt(serial: &str, column: &str) -> StoreError {
    StoreError::Corrupt(format!("token {serial}: bad {column}"))
}

fn parse_serial(s: &str) -> Result<Serial, StoreError> {
    Serial::parse(s).map_err(|_| StoreError::Corrupt(format!("bad serial {s:?}")))
}

fn parse_username(s: &str) -> Result<TaxCode, StoreError> {
    TaxCode::parse(s).map_err(|_| StoreError::Corrupt(format!("bad username {s:?}")))
}

fn summary(row: &TokenRow) -> Result<TokenSummary, StoreError> {
    Ok(TokenSummary {
        serial: parse_serial(&row.serial)?,
        model: Model::from_str(&row.model).map_err(|_| corrupt(&row.serial, "model"))?,
        status: row.status.parse()?,
        username: row.username.as_deref().map(parse_username).transpose()?,
        state: TokenState {
            next_counter: u64_from_sql(row.next_counter),
            drift_steps: row.drift_steps,
            failures: u32::try_from(row.failures).map_err(|_| corrupt(&row.serial, "failures"))?,
            locked: row.locked,
        },
    })
}

fn stored_user(row: UserRow) -> Result<StoredUser, StoreError> {
    Ok(StoredUser {
        username: parse_username(&row.username)?,
        phone: PhoneNumber::parse(&row.phone)
            .map_err(|_| StoreError::Corrupt(format!("user {}: bad phone", row.username)))?,
        password: PasswordHash::from_phc(&row.password_phc).map_err(|_| {
            StoreError::Corrupt(format!("user {}: bad password hash", row.username))
        })?,
    })
}

/// `$XDG_DATA_HOME/tokenrig`, else `~/.local/share/tokenrig`: where the
/// default SQLite store and PostgreSQL key files live. `None` when neither
/// variable holds an absolute path (the XDG spec says to ignore a relative
/// one). Not created here.
pub fn default_data_dir() -> Option<PathBuf> {
    let absolute = |name| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let data = absolute("XDG_DATA_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".local").join("share")))?;
    Some(data.join("tokenrig"))
}

/// A PostgreSQL URL may carry a password; errors show it without one.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests;
