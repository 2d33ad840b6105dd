//! The one small trait every HID backend implements, and what can go wrong
//! below the report codec. Backends move report bytes; they know nothing
//! of what the reports mean.

use std::time::Duration;

/// A HID token a backend can see: its USB identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HidEntry {
    /// The USB serial number string; a token reports its serial.
    pub serial: String,
    pub vendor_id: u16,
    pub product_id: u16,
    /// Where the backend found it: a hidraw node, or `virtual:N`.
    pub path: String,
}

/// How the host finds and opens HID tokens: real ones through hidapi, the
/// kernel's uhid devices the same way, emulated ones in this process.
pub trait HidBackend {
    /// The backend's name, for messages and `tokenrig devices list`.
    fn name(&self) -> &'static str;
    /// Every token the backend can reach now.
    fn enumerate(&mut self) -> Result<Vec<HidEntry>, HidError>;
    /// Opens the token whose USB serial number is `serial`.
    fn open(&mut self, serial: &str) -> Result<Box<dyn HidConnection>, HidError>;
}

/// An open token. Every report starts with its report ID, as hidapi and
/// hidraw pass them.
pub trait HidConnection {
    /// Sends an output report.
    fn write(&mut self, report: &[u8]) -> Result<(), HidError>;
    /// Reads the next input report into `buf`, waiting at most `timeout`;
    /// `Ok(0)` when none came.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, HidError>;
    /// Gets the feature report whose ID is in `buf[0]`; returns its length.
    fn get_feature(&mut self, buf: &mut [u8]) -> Result<usize, HidError>;
}

/// Below the report codec: finding, opening and moving bytes.
#[derive(Debug, thiserror::Error)]
pub enum HidError {
    #[error("no HID token with serial {serial} ({searched})")]
    NotFound { serial: String, searched: String },
    #[error("{backend}: {reason}")]
    Backend {
        backend: &'static str,
        reason: String,
    },
    #[error("the HID token has no feature report {0}")]
    NoFeature(u8),
    #[error("the HID token did not answer {request} within {waited:?}")]
    Timeout {
        request: &'static str,
        waited: Duration,
    },
    #[error("the HID token refused the press: {0}")]
    Refused(&'static str),
    #[error("the HID token typed something other than the code it reported")]
    WedgeMismatch,
    #[error(transparent)]
    Report(#[from] super::report::ReportError),
}
