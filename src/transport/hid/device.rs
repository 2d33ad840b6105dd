//! [`HidDevice`]: the host's [`Device`] over any HID backend. A press
//! sends the press command, decodes the keystrokes the token types through
//! the keyboard wedge, and checks them against the status report.

use std::time::{Duration, Instant};

use crate::otp::Code;

use super::super::line::DeviceInfo;
use super::super::{Device, TransportError};
use super::backend::{HidBackend, HidConnection, HidError};
use super::keyboard::{KeyboardWedge, Typed};
use super::report::{
    self, Command, InputReport, MAX_REPORT, ReportError, Status, StatusReport, id,
};

/// A USB OTP token reached through HID reports.
pub struct HidDevice {
    connection: Box<dyn HidConnection>,
    timeout: Duration,
    /// The sequence number of the last command sent.
    seq: u8,
    wedge: KeyboardWedge,
}

impl std::fmt::Debug for HidDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HidDevice")
            .field("timeout", &self.timeout)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl HidDevice {
    /// How long a press may take: typing 8 digits and Enter at a USB
    /// keyboard's pace takes well under a second.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    pub fn new(connection: Box<dyn HidConnection>) -> Self {
        HidDevice {
            connection,
            timeout: Self::DEFAULT_TIMEOUT,
            seq: 0,
            wedge: KeyboardWedge::new(),
        }
    }

    /// Opens the token with USB serial `serial` on `backend`.
    pub fn open(backend: &mut dyn HidBackend, serial: &str) -> Result<HidDevice, TransportError> {
        Ok(HidDevice::new(backend.open(serial)?))
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The status of the last press, read from the feature report without
    /// pressing: its code, or why there is none.
    pub fn last_status(&mut self) -> Result<StatusReport, TransportError> {
        let bytes = self.feature(id::STATUS)?;
        Ok(StatusReport::decode(&bytes).map_err(HidError::from)?)
    }

    fn feature(&mut self, report_id: u8) -> Result<Vec<u8>, HidError> {
        let mut buf = [0u8; MAX_REPORT];
        buf[0] = report_id;
        let n = self.connection.get_feature(&mut buf)?;
        Ok(buf[..n.min(buf.len())].to_vec())
    }

    /// Reads input reports until the status answering `seq`, feeding the
    /// keystrokes before it to the wedge.
    fn await_status(&mut self, seq: u8) -> Result<StatusReport, HidError> {
        let deadline = Instant::now() + self.timeout;
        let mut buf = [0u8; MAX_REPORT];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(HidError::Timeout {
                    request: "a press",
                    waited: self.timeout,
                });
            }
            let n = self.connection.read(&mut buf, remaining)?;
            if n == 0 {
                continue;
            }
            match InputReport::decode(&buf[..n.min(buf.len())]) {
                Ok(InputReport::Keyboard(keys)) => self.wedge.push(&keys),
                Ok(InputReport::Status(status)) if status.seq == seq => return Ok(status),
                // The answer to an earlier command that timed out: what
                // was typed before it belongs to that one.
                Ok(InputReport::Status(_)) => self.wedge.clear(),
                // Reports this protocol does not define; a token may add some.
                Err(ReportError::UnknownId { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Device for HidDevice {
    fn info(&mut self) -> Result<DeviceInfo, TransportError> {
        let bytes = self.feature(id::INFO)?;
        Ok(report::decode_info(&bytes).map_err(HidError::from)?)
    }

    fn press(&mut self) -> Result<Code, TransportError> {
        self.seq = self.seq.wrapping_add(1);
        self.wedge.clear();
        self.connection
            .write(&Command::Press { seq: self.seq }.encode())?;
        let status = self.await_status(self.seq)?;
        let code = match status.status {
            Status::Code(code) => code,
            Status::Exhausted => return Err(HidError::Refused("its counter is exhausted").into()),
            Status::DeviceError => {
                return Err(HidError::Refused("it cannot show a code now").into());
            }
            Status::NoCode | Status::UnknownCommand => {
                return Err(HidError::Refused("it did not take the command").into());
            }
        };
        // What was typed must be the code reported, and nothing else.
        match (self.wedge.next_typed(), self.wedge.next_typed()) {
            (Some(Typed::Digits(digits)), None) if digits == code.to_string() => Ok(code),
            _ => Err(HidError::WedgeMismatch.into()),
        }
    }

    fn advance(&mut self, _seconds: u64) -> Result<(), TransportError> {
        Err(TransportError::NoTestClock("a HID token"))
    }
}
