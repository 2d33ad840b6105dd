//! The USB OTP token's HID reports: the report descriptor and a sans-IO
//! codec for every report in it. `docs/protocols.md` ("HID report
//! protocol") specifies them; the emulated token, the uhid simulator and
//! the host's `tokenrig::transport::HidDevice` all go through this module.
//!
//! Every report crosses the wire with its report ID as the first byte, as
//! hidapi and hidraw pass them, so a buffer read from any backend decodes
//! here unchanged.

use crate::device::{Family, Model, SERIAL_MAX_LEN, Serial};
use crate::otp::{Code, Digits, TimeStep};

use super::super::line::DeviceInfo;

/// pid.codes' vendor ID, shared by open hardware projects.
pub const VENDOR_ID: u16 = 0x1209;
/// A pid.codes test product ID: tokenrig's emulated token claims no real
/// product. Real tokens are found by passing their own IDs.
pub const PRODUCT_ID: u16 = 0x0001;

/// Report IDs, one per report; input, output and feature never share one,
/// so an ID alone says what a buffer holds.
pub mod id {
    /// Input: a boot-keyboard-style key report (the keyboard wedge).
    pub const KEYBOARD: u8 = 1;
    /// Feature (get): which token this is.
    pub const INFO: u8 = 2;
    /// Output: a command from the host.
    pub const COMMAND: u8 = 3;
    /// Input after each command, and feature (get) for the last code.
    pub const STATUS: u8 = 4;
}

/// Payload sizes in bytes, after the report ID.
pub const KEYBOARD_LEN: usize = 8;
pub const INFO_LEN: usize = 64;
pub const COMMAND_LEN: usize = 8;
pub const STATUS_LEN: usize = 16;
/// The largest report, ID included: what a reader's buffer must hold.
pub const MAX_REPORT: usize = 1 + INFO_LEN;

/// The version byte of the info report; a host refuses others, since their
/// layout may differ. Version 2 widened the info report from 32 to 64
/// bytes so it holds any serial (up to 40 characters, not 13 digits).
pub const PROTOCOL_VERSION: u8 = 2;

/// The report descriptor: a keyboard collection (modifier byte, reserved
/// byte, six key slots, as a boot keyboard sends) and a vendor collection
/// (page 0xFF00) with the info feature, the command output and the status
/// input/feature. `fixtures/hid/report-descriptor.hex` holds the same bytes.
pub const REPORT_DESCRIPTOR: &[u8] = &[
    0x05, 0x01, // Usage Page (Generic Desktop)
    0x09, 0x06, // Usage (Keyboard)
    0xa1, 0x01, // Collection (Application)
    0x85, 0x01, //   Report ID (1)
    0x05, 0x07, //   Usage Page (Keyboard/Keypad)
    0x19, 0xe0, //   Usage Minimum (Left Control)
    0x29, 0xe7, //   Usage Maximum (Right GUI)
    0x15, 0x00, //   Logical Minimum (0)
    0x25, 0x01, //   Logical Maximum (1)
    0x75, 0x01, //   Report Size (1)
    0x95, 0x08, //   Report Count (8)
    0x81, 0x02, //   Input (Data, Variable, Absolute): modifiers
    0x75, 0x08, //   Report Size (8)
    0x95, 0x01, //   Report Count (1)
    0x81, 0x01, //   Input (Constant): reserved
    0x95, 0x06, //   Report Count (6)
    0x15, 0x00, //   Logical Minimum (0)
    0x26, 0xff, 0x00, //   Logical Maximum (255)
    0x19, 0x00, //   Usage Minimum (0)
    0x2a, 0xff, 0x00, //   Usage Maximum (255)
    0x81, 0x00, //   Input (Data, Array, Absolute): key slots
    0xc0, // End Collection
    0x06, 0x00, 0xff, // Usage Page (Vendor Defined 0xFF00)
    0x09, 0x01, // Usage (1: OTP token)
    0xa1, 0x01, // Collection (Application)
    0x15, 0x00, //   Logical Minimum (0)
    0x26, 0xff, 0x00, //   Logical Maximum (255)
    0x75, 0x08, //   Report Size (8)
    0x85, 0x02, //   Report ID (2)
    0x09, 0x02, //   Usage (2: device info)
    0x95, 0x40, //   Report Count (64)
    0xb1, 0x02, //   Feature (Data, Variable, Absolute)
    0x85, 0x03, //   Report ID (3)
    0x09, 0x03, //   Usage (3: command)
    0x95, 0x08, //   Report Count (8)
    0x91, 0x02, //   Output (Data, Variable, Absolute)
    0x85, 0x04, //   Report ID (4)
    0x09, 0x04, //   Usage (4: status and last code)
    0x95, 0x10, //   Report Count (16)
    0x81, 0x02, //   Input (Data, Variable, Absolute)
    0x09, 0x04, //   Usage (4)
    0xb1, 0x02, //   Feature (Data, Variable, Absolute)
    0xc0, // End Collection
];

/// Why bytes are not the report expected. Quotes no code digits: a report
/// may hold one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("empty HID report")]
    Empty,
    #[error("HID report {id} is not one the token sends here")]
    UnknownId { id: u8 },
    #[error("HID report {id} has {found} bytes, expected {expected}")]
    WrongLength {
        id: u8,
        found: usize,
        expected: usize,
    },
    #[error(
        "the token speaks HID protocol version {0}, this host knows version {PROTOCOL_VERSION}"
    )]
    Version(u8),
    #[error("the token's info report has a malformed {0}")]
    BadInfo(&'static str),
    #[error("the token's status report has an unknown status {0}")]
    UnknownStatus(u8),
    #[error("the token's status report holds a malformed code")]
    BadCode,
    #[error("unknown command {command:#04x}")]
    UnknownCommand { command: u8, seq: u8 },
}

/// Checks a buffer's ID and length and returns its payload.
fn payload(bytes: &[u8], id: u8, len: usize) -> Result<&[u8], ReportError> {
    match bytes.split_first() {
        None => Err(ReportError::Empty),
        Some((&found, _)) if found != id => Err(ReportError::UnknownId { id: found }),
        Some((_, rest)) if rest.len() != len => Err(ReportError::WrongLength {
            id,
            found: bytes.len(),
            expected: len + 1,
        }),
        Some((_, rest)) => Ok(rest),
    }
}

/// One keyboard input report: modifier bits and up to six keys held down
/// (HID usage IDs of page 7; 0 is an empty slot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyboardReport {
    pub modifiers: u8,
    pub keys: [u8; 6],
}

impl KeyboardReport {
    /// No key held: the report that releases every key.
    pub const RELEASED: KeyboardReport = KeyboardReport {
        modifiers: 0,
        keys: [0; 6],
    };

    /// One key held, no modifier.
    pub fn key(usage: u8) -> KeyboardReport {
        KeyboardReport {
            modifiers: 0,
            keys: [usage, 0, 0, 0, 0, 0],
        }
    }

    pub fn encode(&self) -> [u8; 1 + KEYBOARD_LEN] {
        let mut out = [0u8; 1 + KEYBOARD_LEN];
        out[0] = id::KEYBOARD;
        out[1] = self.modifiers;
        out[3..].copy_from_slice(&self.keys);
        out
    }

    /// The reserved byte is ignored, as boot keyboards leave it undefined.
    pub fn decode(bytes: &[u8]) -> Result<KeyboardReport, ReportError> {
        let p = payload(bytes, id::KEYBOARD, KEYBOARD_LEN)?;
        let mut keys = [0u8; 6];
        keys.copy_from_slice(&p[2..]);
        Ok(KeyboardReport {
            modifiers: p[0],
            keys,
        })
    }
}

fn model_byte(model: Model) -> u8 {
    match model {
        Model::C100 => 1,
        Model::C200 => 2,
        Model::Usb => 3,
    }
}

fn family_byte(family: Family) -> u8 {
    match family {
        Family::Event => 1,
        Family::Time => 2,
    }
}

/// Where the serial sits in the info payload: 40 bytes, the serial's
/// characters then zeros (a serial never holds a zero byte).
const INFO_SERIAL: std::ops::Range<usize> = 12..12 + SERIAL_MAX_LEN;

/// The info feature report (ID 2): version, model, kind, digits, a time
/// token's step (u64 little-endian, 0 for event tokens), the serial in
/// ASCII padded with zeros to 40 bytes, zero padding.
pub fn encode_info(info: &DeviceInfo) -> [u8; 1 + INFO_LEN] {
    let mut out = [0u8; 1 + INFO_LEN];
    out[0] = id::INFO;
    out[1] = PROTOCOL_VERSION;
    out[2] = model_byte(info.model);
    out[3] = family_byte(info.family());
    out[4] = info.digits.get();
    let step = info.step.map_or(0, TimeStep::as_secs);
    out[5..13].copy_from_slice(&step.to_le_bytes());
    let serial = info.serial.as_str().as_bytes();
    out[1 + INFO_SERIAL.start..][..serial.len()].copy_from_slice(serial);
    out
}

/// Decodes the info feature report; the padding is ignored, every other
/// field must agree with the rest (kind with model, a step exactly for
/// time tokens, a serial by [`Serial`]'s rule and nothing after it).
pub fn decode_info(bytes: &[u8]) -> Result<DeviceInfo, ReportError> {
    let p = payload(bytes, id::INFO, INFO_LEN)?;
    if p[0] != PROTOCOL_VERSION {
        return Err(ReportError::Version(p[0]));
    }
    let model = Model::ALL
        .into_iter()
        .find(|m| model_byte(*m) == p[1])
        .ok_or(ReportError::BadInfo("model"))?;
    if p[2] != family_byte(model.family()) {
        return Err(ReportError::BadInfo("kind"));
    }
    let digits = Digits::new(p[3]).map_err(|_| ReportError::BadInfo("digits"))?;
    let mut step_bytes = [0u8; 8];
    step_bytes.copy_from_slice(&p[4..12]);
    let step = match (model.family(), u64::from_le_bytes(step_bytes)) {
        (Family::Event, 0) => None,
        (Family::Time, secs) => {
            Some(TimeStep::from_secs(secs).map_err(|_| ReportError::BadInfo("step"))?)
        }
        (Family::Event, _) => return Err(ReportError::BadInfo("step")),
    };
    let field = &p[INFO_SERIAL];
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    if field[len..].iter().any(|&b| b != 0) {
        return Err(ReportError::BadInfo("serial"));
    }
    let serial = std::str::from_utf8(&field[..len])
        .ok()
        .and_then(|s| Serial::parse(s).ok())
        .ok_or(ReportError::BadInfo("serial"))?;
    Ok(DeviceInfo {
        model,
        serial,
        digits,
        step,
    })
}

/// A command the host sends in the output report (ID 3): a command byte
/// and a sequence number the token echoes in its status report, so a host
/// can tell the answer to this command from a stale one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Press the button: the token types the code, then reports its status.
    Press { seq: u8 },
}

const PRESS: u8 = 0x01;

impl Command {
    pub fn seq(self) -> u8 {
        match self {
            Command::Press { seq } => seq,
        }
    }

    pub fn encode(self) -> [u8; 1 + COMMAND_LEN] {
        let mut out = [0u8; 1 + COMMAND_LEN];
        out[0] = id::COMMAND;
        match self {
            Command::Press { seq } => {
                out[1] = PRESS;
                out[2] = seq;
            }
        }
        out
    }

    /// Reserved bytes are ignored. An unknown command byte is an error
    /// that still carries the sequence number, so the token can answer it.
    pub fn decode(bytes: &[u8]) -> Result<Command, ReportError> {
        let p = payload(bytes, id::COMMAND, COMMAND_LEN)?;
        match p[0] {
            PRESS => Ok(Command::Press { seq: p[1] }),
            command => Err(ReportError::UnknownCommand { command, seq: p[1] }),
        }
    }
}

/// How the last command went, as the status report (ID 4) says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The press showed this code (and typed it).
    Code(Code),
    /// No press yet: the feature report before the first one.
    NoCode,
    /// An event token past its last counter value.
    Exhausted,
    /// The token cannot show a code now.
    DeviceError,
    /// The command byte was not one the token knows.
    UnknownCommand,
}

impl Status {
    fn byte(self) -> u8 {
        match self {
            Status::Code(_) => 0,
            Status::NoCode => 1,
            Status::Exhausted => 2,
            Status::DeviceError => 3,
            Status::UnknownCommand => 4,
        }
    }
}

/// The status report: the sequence number of the command it answers, the
/// status, and for a code its digit count and ASCII digits (zero padded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusReport {
    pub seq: u8,
    pub status: Status,
}

impl StatusReport {
    pub fn encode(&self) -> [u8; 1 + STATUS_LEN] {
        let mut out = [0u8; 1 + STATUS_LEN];
        out[0] = id::STATUS;
        out[1] = self.seq;
        out[2] = self.status.byte();
        if let Status::Code(code) = self.status {
            let digits = code.to_string();
            out[3] = code.digits().get();
            out[4..4 + digits.len()].copy_from_slice(digits.as_bytes());
        }
        out
    }

    /// A code must be exactly its digit count of ASCII digits followed by
    /// zeros; other statuses carry no code bytes at all.
    pub fn decode(bytes: &[u8]) -> Result<StatusReport, ReportError> {
        let p = payload(bytes, id::STATUS, STATUS_LEN)?;
        let status = match p[1] {
            0 => {
                let digits = Digits::new(p[2]).map_err(|_| ReportError::BadCode)?;
                let n = usize::from(digits.get());
                let (text, rest) = p[3..11].split_at(n);
                if rest.iter().any(|&b| b != 0) {
                    return Err(ReportError::BadCode);
                }
                let text = std::str::from_utf8(text).map_err(|_| ReportError::BadCode)?;
                Status::Code(Code::parse(text, digits).map_err(|_| ReportError::BadCode)?)
            }
            1 => Status::NoCode,
            2 => Status::Exhausted,
            3 => Status::DeviceError,
            4 => Status::UnknownCommand,
            other => return Err(ReportError::UnknownStatus(other)),
        };
        if !matches!(status, Status::Code(_)) && p[2..11].iter().any(|&b| b != 0) {
            return Err(ReportError::BadCode);
        }
        Ok(StatusReport { seq: p[0], status })
    }
}

/// An input report, as a host reads it from the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputReport {
    Keyboard(KeyboardReport),
    Status(StatusReport),
}

impl InputReport {
    pub fn decode(bytes: &[u8]) -> Result<InputReport, ReportError> {
        match bytes.first() {
            None => Err(ReportError::Empty),
            Some(&id::KEYBOARD) => KeyboardReport::decode(bytes).map(InputReport::Keyboard),
            Some(&id::STATUS) => StatusReport::decode(bytes).map(InputReport::Status),
            Some(&id) => Err(ReportError::UnknownId { id }),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            InputReport::Keyboard(k) => k.encode().to_vec(),
            InputReport::Status(s) => s.encode().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn info_strategy() -> impl Strategy<Value = DeviceInfo> {
        (
            prop::sample::select(Model::ALL.to_vec()),
            "[!-~]{1,40}",
            6u8..=8,
            1u64..=u64::MAX,
        )
            .prop_map(|(model, serial, digits, step)| DeviceInfo {
                model,
                serial: Serial::parse(&serial).expect("printable ASCII"),
                digits: Digits::new(digits).expect("6 to 8"),
                step: (model.family() == Family::Time)
                    .then(|| TimeStep::from_secs(step).expect("not zero")),
            })
    }

    fn status_strategy() -> impl Strategy<Value = StatusReport> {
        let code = (6u8..=8, any::<u32>()).prop_map(|(d, v)| {
            Status::Code(Code::from_truncated(v, Digits::new(d).expect("6 to 8")))
        });
        let status = prop_oneof![
            code,
            Just(Status::NoCode),
            Just(Status::Exhausted),
            Just(Status::DeviceError),
            Just(Status::UnknownCommand),
        ];
        (any::<u8>(), status).prop_map(|(seq, status)| StatusReport { seq, status })
    }

    #[test]
    fn the_descriptor_declares_every_report_size() {
        // Report Count items in order: modifiers, reserved, keys, then the
        // vendor reports; the codec's lengths must match them.
        assert!(
            REPORT_DESCRIPTOR
                .windows(2)
                .any(|w| w == [0x95, INFO_LEN as u8])
        );
        assert!(
            REPORT_DESCRIPTOR
                .windows(2)
                .any(|w| w == [0x95, COMMAND_LEN as u8])
        );
        assert!(
            REPORT_DESCRIPTOR
                .windows(2)
                .any(|w| w == [0x95, STATUS_LEN as u8])
        );
    }

    #[test]
    fn the_info_report_holds_any_serial_and_nothing_after_it() {
        let info = |serial: &str| DeviceInfo {
            model: Model::Usb,
            serial: Serial::parse(serial).expect("a serial"),
            digits: Digits::SIX,
            step: None,
        };
        let longest = "Z".repeat(SERIAL_MAX_LEN);
        for serial in ["1000133508267", "987654321", longest.as_str()] {
            let bytes = encode_info(&info(serial));
            assert_eq!(decode_info(&bytes), Ok(info(serial)));
        }
        let mut bytes = encode_info(&info("987654321"));
        bytes[1 + 12 + 10] = b'X';
        assert_eq!(decode_info(&bytes), Err(ReportError::BadInfo("serial")));
        let mut bytes = encode_info(&info("987654321"));
        bytes[1 + 12] = 0;
        assert_eq!(decode_info(&bytes), Err(ReportError::BadInfo("serial")));
    }

    #[test]
    fn a_status_with_stray_code_bytes_is_refused() {
        let mut bytes = StatusReport {
            seq: 9,
            status: Status::Exhausted,
        }
        .encode();
        bytes[5] = b'1';
        assert_eq!(StatusReport::decode(&bytes), Err(ReportError::BadCode));
    }

    #[test]
    fn an_unknown_command_keeps_its_sequence_number() {
        let mut bytes = Command::Press { seq: 7 }.encode();
        bytes[1] = 0x42;
        assert_eq!(
            Command::decode(&bytes),
            Err(ReportError::UnknownCommand {
                command: 0x42,
                seq: 7
            })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            let _ = KeyboardReport::decode(&bytes);
            let _ = decode_info(&bytes);
            let _ = Command::decode(&bytes);
            let _ = StatusReport::decode(&bytes);
            let _ = InputReport::decode(&bytes);
        }

        #[test]
        fn a_decoded_status_encodes_back_to_its_bytes_but_the_reserved_ones(
            seq in any::<u8>(),
            status in 0u8..6,
            digits in prop_oneof![Just(0u8), 5u8..10],
            code in prop::collection::vec(prop::sample::select(b"0123456789".to_vec()), 0..=8),
            reserved in any::<[u8; 5]>(),
        ) {
            // Near-valid reports, so that many decode: a code of some
            // length, zero padded, under any status and digit count.
            let mut bytes = vec![id::STATUS, seq, status, digits];
            bytes.extend(&code);
            bytes.resize(12, 0);
            bytes.extend(reserved);
            if let Ok(decoded) = StatusReport::decode(&bytes) {
                bytes[12..].fill(0);
                prop_assert_eq!(decoded.encode().to_vec(), bytes);
            }
        }

        #[test]
        fn info_round_trips(info in info_strategy()) {
            prop_assert_eq!(decode_info(&encode_info(&info)), Ok(info));
        }

        #[test]
        fn status_round_trips(status in status_strategy()) {
            prop_assert_eq!(StatusReport::decode(&status.encode()), Ok(status));
            prop_assert_eq!(InputReport::decode(&status.encode()), Ok(InputReport::Status(status)));
        }

        #[test]
        fn keyboard_and_command_round_trip(modifiers in any::<u8>(), keys in any::<[u8; 6]>(), seq in any::<u8>()) {
            let report = KeyboardReport { modifiers, keys };
            prop_assert_eq!(KeyboardReport::decode(&report.encode()), Ok(report));
            let command = Command::Press { seq };
            prop_assert_eq!(Command::decode(&command.encode()), Ok(command));
        }
    }
}
