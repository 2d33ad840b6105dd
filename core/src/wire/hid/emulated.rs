//! The USB OTP token's HID side, sans-IO: report bytes from the host in,
//! report bytes out. The virtual backend runs it in this process and
//! `tokenrig-sim usb --uhid` behind a kernel HID device, so both answer
//! exactly alike.

use crate::device::{DeviceError, Token};

use super::super::line::DeviceInfo;
use super::keyboard::type_code;
use super::report::{self, Command, ReportError, Status, StatusReport, id};

/// A token model behind the HID reports of `docs/protocols.md`.
#[derive(Debug)]
pub struct EmulatedToken {
    token: Box<dyn Token>,
    /// The answer to the last command, also the status feature report.
    last: StatusReport,
}

impl EmulatedToken {
    pub fn new(token: impl Token + 'static) -> Self {
        EmulatedToken {
            token: Box::new(token),
            last: StatusReport {
                seq: 0,
                status: Status::NoCode,
            },
        }
    }

    pub fn info(&self) -> DeviceInfo {
        DeviceInfo::of(self.token.as_ref())
    }

    /// Takes one output report and returns the input reports it causes, in
    /// the order the token sends them: for a press, the code's keystrokes,
    /// then the status report. A report that is not a command is ignored,
    /// as a USB device drops what it cannot parse.
    pub fn output(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let (seq, status) = match Command::decode(bytes) {
            Ok(Command::Press { seq }) => (seq, self.press()),
            Err(ReportError::UnknownCommand { seq, .. }) => (seq, Status::UnknownCommand),
            Err(_) => return Vec::new(),
        };
        let mut inputs: Vec<Vec<u8>> = match status {
            Status::Code(code) => type_code(code)
                .iter()
                .map(|k| k.encode().to_vec())
                .collect(),
            _ => Vec::new(),
        };
        self.last = StatusReport { seq, status };
        inputs.push(self.last.encode().to_vec());
        inputs
    }

    /// Answers a get-feature request; `None` for an ID without a feature
    /// report (a real device stalls the request).
    pub fn feature(&self, report_id: u8) -> Option<Vec<u8>> {
        match report_id {
            id::INFO => Some(report::encode_info(&self.info()).to_vec()),
            id::STATUS => Some(self.last.encode().to_vec()),
            _ => None,
        }
    }

    fn press(&mut self) -> Status {
        match self.token.press() {
            Ok(code) => Status::Code(code),
            Err(DeviceError::CounterExhausted { .. }) => Status::Exhausted,
            Err(_) => Status::DeviceError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Serial, UsbToken};
    use crate::otp::SecretKey;

    fn token(counter: u64) -> EmulatedToken {
        let serial = Serial::parse("1000133508267").unwrap();
        let key = SecretKey::new(b"12345678901234567890".to_vec());
        EmulatedToken::new(UsbToken::new(serial, key).with_counter(counter))
    }

    #[test]
    fn a_press_types_the_code_then_reports_it() {
        let mut usb = token(0);
        assert_eq!(
            usb.feature(id::STATUS).map(|r| StatusReport::decode(&r)),
            Some(Ok(StatusReport {
                seq: 0,
                status: Status::NoCode
            }))
        );
        let inputs = usb.output(&Command::Press { seq: 5 }.encode());
        // Six digits and Enter, each down and up, then the status.
        assert_eq!(inputs.len(), 15);
        let status = StatusReport::decode(inputs.last().unwrap()).unwrap();
        assert_eq!(status.seq, 5);
        assert!(matches!(status.status, Status::Code(c) if c.to_string() == "755224"));
        assert_eq!(usb.feature(id::STATUS), inputs.last().cloned());
        assert_eq!(usb.feature(id::KEYBOARD), None);
    }

    #[test]
    fn exhaustion_unknown_commands_and_garbage() {
        let mut usb = token(u64::MAX);
        assert_eq!(usb.output(&Command::Press { seq: 1 }.encode()).len(), 15);
        let refused = usb.output(&Command::Press { seq: 2 }.encode());
        assert_eq!(
            refused
                .iter()
                .map(|r| StatusReport::decode(r))
                .collect::<Vec<_>>(),
            [Ok(StatusReport {
                seq: 2,
                status: Status::Exhausted
            })]
        );
        let mut unknown = Command::Press { seq: 3 }.encode();
        unknown[1] = 0x7f;
        assert_eq!(
            StatusReport::decode(&usb.output(&unknown)[0]).map(|s| s.status),
            Ok(Status::UnknownCommand)
        );
        assert!(usb.output(&[]).is_empty());
        assert!(usb.output(&[id::COMMAND, 1]).is_empty());
    }
}
