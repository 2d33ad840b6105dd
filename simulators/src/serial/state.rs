//! An event token's counter on disk, so a restarted simulator carries on
//! where it stopped and a C100 never shows a code twice.
//!
//! The file is small text (`serial=…` and `next_counter=…` lines). It is
//! replaced whole, never edited in place: the new content goes to a
//! temporary file beside it, is fsynced, renamed over the old one, and the
//! directory is fsynced, so after a crash the file holds the old or the new
//! counter, never a torn one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tokenrig_core::device::Serial;

/// The state file of one token.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    serial: Serial,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("state file {path} belongs to token {found}, not {expected}")]
    OtherToken {
        path: String,
        found: String,
        expected: Serial,
    },
    #[error("state file {path} is not a tokenrig-sim state file (line {line})")]
    Malformed { path: String, line: usize },
}

/// What the counter line holds once the code for `u64::MAX` was shown.
const EXHAUSTED: &str = "exhausted";

impl StateFile {
    pub fn new(path: impl Into<PathBuf>, serial: Serial) -> Self {
        StateFile {
            path: path.into(),
            serial,
        }
    }

    fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// The recorded next counter: `Ok(None)` if there is no file yet,
    /// `Ok(Some(None))` if the token is exhausted.
    pub fn load(&self) -> Result<Option<Option<u64>>, StateError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    path: self.display(),
                    source,
                });
            }
        };
        let (mut serial, mut next) = (None, None);
        for (i, line) in text.lines().enumerate() {
            let malformed = || StateError::Malformed {
                path: self.display(),
                line: i + 1,
            };
            match line.split_once('=') {
                Some(("serial", value)) => serial = Some(value),
                Some(("next_counter", EXHAUSTED)) => next = Some(None),
                Some(("next_counter", value)) => {
                    next = Some(Some(value.parse::<u64>().map_err(|_| malformed())?))
                }
                _ if line.starts_with('#') => {}
                _ => return Err(malformed()),
            }
        }
        let lines = text.lines().count();
        let malformed = StateError::Malformed {
            path: self.display(),
            line: lines + 1,
        };
        match (serial, next) {
            (Some(s), Some(next)) if s == self.serial.as_str() => Ok(Some(next)),
            (Some(s), Some(_)) => Err(StateError::OtherToken {
                path: self.display(),
                found: s.chars().take(32).collect(),
                expected: self.serial,
            }),
            _ => Err(malformed),
        }
    }

    /// Records durably that the next press uses `next` (`None`: the token
    /// is exhausted). Returns only once the new value is on disk.
    pub fn record(&self, next: Option<u64>) -> Result<(), StateError> {
        let io_error = |source| StateError::Io {
            path: self.display(),
            source,
        };
        let next = next.map_or_else(|| EXHAUSTED.to_owned(), |n| n.to_string());
        let content = format!(
            "# tokenrig-sim state: the counter the next press uses\nserial={}\nnext_counter={next}\n",
            self.serial
        );
        let mut temp_name = self.path.file_name().unwrap_or_default().to_owned();
        temp_name.push(".tmp");
        let temp = self.path.with_file_name(temp_name);
        let mut file = File::create(&temp).map_err(io_error)?;
        file.write_all(content.as_bytes()).map_err(io_error)?;
        file.sync_all().map_err(io_error)?;
        drop(file);
        fs::rename(&temp, &self.path).map_err(io_error)?;
        // The rename is durable only once the directory entry is.
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial() -> Serial {
        Serial::parse("1000133508267").unwrap()
    }

    #[test]
    fn records_load_back_and_replace_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateFile::new(dir.path().join("c100.state"), serial());
        assert_eq!(state.load().unwrap(), None);
        state.record(Some(7)).unwrap();
        state.record(Some(8)).unwrap();
        assert_eq!(state.load().unwrap(), Some(Some(8)));
        state.record(None).unwrap();
        assert_eq!(state.load().unwrap(), Some(None));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c100.state"]);
    }

    #[test]
    fn another_tokens_file_or_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        StateFile::new(&path, Serial::parse("1999999999999").unwrap())
            .record(Some(1))
            .unwrap();
        let state = StateFile::new(&path, serial());
        assert_eq!(
            state.load().unwrap_err().to_string(),
            format!(
                "state file {} belongs to token 1999999999999, not 1000133508267",
                path.display()
            )
        );
        fs::write(&path, "serial=1000133508267\nnext_counter=-1\n").unwrap();
        assert_eq!(
            state.load().unwrap_err().to_string(),
            format!(
                "state file {} is not a tokenrig-sim state file (line 2)",
                path.display()
            )
        );
        fs::write(&path, "\u{0}\u{1}").unwrap();
        assert!(matches!(
            state.load(),
            Err(StateError::Malformed { line: 1, .. })
        ));
    }
}
