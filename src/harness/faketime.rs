//! A peer's clock moved through libfaketime: a process started with
//! [`FakeClock::process_env`] reads its time from a control file, which
//! [`FakeClock::set`] rewrites. That is how the harness gets clock control
//! over a verifier it cannot change (privacyIDEA).
//!
//! The file holds an absolute instant (`2026-01-01 00:00:00.250000`), so
//! the peer's clock is frozen there until the next `set`, exactly as a
//! case's virtual clock is. libfaketime reads it as local time: the peer
//! runs with `TZ=UTC`, which `process_env` sets.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::clock::UnixTime;

/// Where Debian's `libfaketime` package puts the library, per architecture.
const LIBRARY_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/faketime",
    "/usr/lib/aarch64-linux-gnu/faketime",
    "/usr/lib/faketime",
    "/usr/local/lib/faketime",
];

#[derive(Debug, thiserror::Error)]
pub enum FakeClockError {
    #[error("cannot write the faketime control file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The control file of a peer running under libfaketime.
#[derive(Debug, Clone)]
pub struct FakeClock {
    path: PathBuf,
}

impl FakeClock {
    /// A clock over `path`; nothing is written until [`set`](Self::set).
    pub fn new(path: impl Into<PathBuf>) -> FakeClock {
        FakeClock { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Freezes the peer's clock at `now`. Written to a sibling file and
    /// renamed over the control file, so the peer never reads half a line.
    pub fn set(&self, now: UnixTime) -> Result<(), FakeClockError> {
        let write_error = |source| FakeClockError::Write {
            path: self.path.clone(),
            source,
        };
        let mut staging = self.path.clone().into_os_string();
        staging.push(".new");
        let staging = PathBuf::from(staging);
        std::fs::write(&staging, format!("{}\n", timestamp(now))).map_err(write_error)?;
        std::fs::rename(&staging, &self.path).map_err(write_error)
    }

    /// The environment that puts a process under this clock, given the
    /// library ([`find_library`]). `FAKETIME_NO_CACHE` makes it read the
    /// file at every clock call, so a `set` applies to the next request.
    pub fn process_env(&self, library: &Path) -> Vec<(&'static str, OsString)> {
        vec![
            ("LD_PRELOAD", library.as_os_str().to_owned()),
            ("FAKETIME_TIMESTAMP_FILE", self.path.as_os_str().to_owned()),
            ("FAKETIME_NO_CACHE", "1".into()),
            ("TZ", "UTC".into()),
        ]
    }
}

/// `libfaketime.so.1` where the Debian package installs it, if it does.
pub fn find_library() -> Option<PathBuf> {
    LIBRARY_DIRS
        .iter()
        .map(|dir| Path::new(dir).join("libfaketime.so.1"))
        .find(|path| path.is_file())
}

/// `YYYY-MM-DD hh:mm:ss.ffffff` in UTC, libfaketime's absolute format.
fn timestamp(t: UnixTime) -> String {
    // UnixTime ends in 2554, well inside `time`'s range.
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_nanos())) {
        Ok(at) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.microsecond()
        ),
        Err(_) => "9999-12-31 23:59:59.999999".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_microseconds() {
        assert_eq!(timestamp(UnixTime::EPOCH), "1970-01-01 00:00:00.000000");
        assert_eq!(
            timestamp(UnixTime::from_secs(59)),
            "1970-01-01 00:00:59.000000"
        );
        // RFC 6238 Appendix B instants.
        assert_eq!(
            timestamp(UnixTime::from_secs(1_111_111_109)),
            "2005-03-18 01:58:29.000000"
        );
        assert_eq!(
            timestamp(UnixTime::from_secs(2_000_000_000)),
            "2033-05-18 03:33:20.000000"
        );
        assert_eq!(
            timestamp(UnixTime::from_secs(16_000_000_000)),
            "2477-01-07 04:26:40.000000"
        );
        assert_eq!(
            timestamp(UnixTime::from_nanos(1_767_225_600_250_000_000)),
            "2026-01-01 00:00:00.250000"
        );
        // A leap day.
        assert_eq!(
            timestamp(UnixTime::from_secs(951_782_400)),
            "2000-02-29 00:00:00.000000"
        );
    }

    #[test]
    fn set_replaces_the_control_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = FakeClock::new(dir.path().join("clock"));
        clock.set(UnixTime::from_secs(59)).expect("set");
        clock.set(UnixTime::from_secs(60)).expect("set again");
        let text = std::fs::read_to_string(clock.path()).expect("read");
        assert_eq!(text, "1970-01-01 00:01:00.000000\n");
        assert!(!dir.path().join("clock.new").exists());
    }
}
