//! What the admin commands share: `--db`, opening the store, `--time`,
//! reading a secret from stdin, and which store errors are the user's input.

use std::io::{self, Read};

use clap::Args;
use tokenrig::clock::{Clock, SystemClock, UnixTime};
use tokenrig::service::Service;
use tokenrig::store::{Store, default_data_dir};
use tokenrig::verifier::Policy;
use zeroize::Zeroizing;

use super::{CliError, Context};

/// The store every admin command works on.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Store URL: sqlite:PATH, a file path, or postgres://… [default: an
    /// SQLite file under $XDG_DATA_HOME/tokenrig or ~/.local/share/tokenrig]
    #[arg(long, value_name = "URL")]
    db: Option<String>,
}

impl DbArgs {
    /// Opens (creating and migrating) the store, under the default
    /// policy; the default location's directory is created on first use.
    pub fn open(&self) -> Result<Service, CliError> {
        let store = Store::open(&self.url()?)?;
        Ok(Service::new(store, Policy::default()))
    }

    /// The URL given, or the default SQLite file's (its directory created).
    pub fn url(&self) -> Result<String, CliError> {
        match &self.db {
            Some(url) => Ok(url.clone()),
            None => default_db(),
        }
    }
}

/// `tokenrig.db` in the data directory, which is created on first use.
fn default_db() -> Result<String, CliError> {
    let dir = default_data_dir().ok_or_else(|| {
        CliError::Usage("no --db given and neither XDG_DATA_HOME nor HOME is set".to_owned())
    })?;
    std::fs::create_dir_all(&dir).failed(format!("cannot create {}", dir.display()))?;
    Ok(format!("sqlite:{}", dir.join("tokenrig.db").display()))
}

/// `--time UNIX`, in range for [`UnixTime`].
pub fn unix_time(s: &str) -> Result<UnixTime, String> {
    s.parse::<u64>()
        .ok()
        .and_then(UnixTime::checked_from_secs)
        .ok_or_else(|| "must be a whole number of seconds since 1970, at most year 2554".to_owned())
}

/// The instant to decide at: `--time` (QA time travel) or the system clock.
pub fn instant(time: Option<UnixTime>) -> UnixTime {
    time.unwrap_or_else(|| SystemClock.now())
}

/// A secret piped on stdin (`--password-stdin`), without its trailing
/// newline. Zeroised on drop; never echoed.
pub fn secret_from_stdin(what: &str) -> Result<Zeroizing<String>, CliError> {
    let mut text = Zeroizing::new(String::new());
    io::stdin().read_to_string(&mut text).map_err(|e| {
        if e.kind() == io::ErrorKind::InvalidData {
            CliError::Usage(format!("{what} on stdin is not UTF-8"))
        } else {
            CliError::Io(e)
        }
    })?;
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if trimmed.is_empty() {
        return Err(CliError::Usage(format!("{what} on stdin is empty")));
    }
    Ok(Zeroizing::new(trimmed.to_owned()))
}
