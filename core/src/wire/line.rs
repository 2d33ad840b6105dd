//! The serial line protocol, as a sans-IO codec both sides share: the
//! simulator's device side (`tokenrig-simulators`) and the host transport
//! (`tokenrig::transport::SerialDevice`). `docs/protocols.md` is its
//! specification; this module is the one implementation of it.
//!
//! Bytes go into a [`LineReader`], which cuts them into [`Frame`]s however
//! the reads happened to split them; a frame's text is parsed as a
//! [`Request`] (device side) or a [`Response`] (host side). Both encode back
//! to the exact bytes they were parsed from. Nothing here touches a file
//! descriptor or a clock.

use std::collections::VecDeque;
use std::fmt;

use crate::device::{Family, Model, Serial, Token};
use crate::otp::{Code, Digits, TimeStep};

/// The longest line either side accepts, in bytes before its `\r\n`. Every
/// legal line is far shorter (`INFO` answers are under 80); the cap keeps a
/// line's buffer bounded whatever a broken peer sends.
pub const MAX_LINE: usize = 256;

/// What ends every line on the wire.
pub const LINE_END: &str = "\r\n";

/// One line's worth of input, after framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line of printable ASCII, without its line end. May be empty.
    Line(String),
    /// A line grew past [`MAX_LINE`]; its bytes up to the next `\n` are dropped.
    TooLong,
    /// A complete line held a byte outside printable ASCII (binary garbage,
    /// UTF-8, a stray control character).
    NotAscii,
}

/// Cuts a byte stream into [`Frame`]s.
///
/// A line ends at `\n`; one `\r` right before it is part of the line end,
/// so `\r\n` (what both sides send) and a bare `\n` both end a line. A line
/// longer than [`MAX_LINE`] is reported as soon as it overflows, once, and
/// the rest of it is skipped, so memory stays bounded by the cap.
#[derive(Debug, Default)]
pub struct LineReader {
    line: Vec<u8>,
    /// Inside an over-long line: dropping bytes until its `\n`.
    skipping: bool,
    frames: VecDeque<Frame>,
}

impl LineReader {
    pub fn new() -> Self {
        LineReader::default()
    }

    /// Takes the next bytes read from the line, in any split.
    pub fn push(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.push_byte(byte);
        }
    }

    /// The next complete frame, in arrival order.
    pub fn next_frame(&mut self) -> Option<Frame> {
        self.frames.pop_front()
    }

    /// Whether part of a line is buffered (or being skipped), waiting for
    /// its `\n`.
    pub fn has_partial_line(&self) -> bool {
        self.skipping || !self.line.is_empty()
    }

    fn push_byte(&mut self, byte: u8) {
        if self.skipping {
            self.skipping = byte != b'\n';
            return;
        }
        if byte == b'\n' {
            self.end_line();
            return;
        }
        // MAX_LINE bytes plus a `\r` that may still turn out to be the line end.
        if self.line.len() > MAX_LINE {
            self.line.clear();
            self.skipping = true;
            self.frames.push_back(Frame::TooLong);
            return;
        }
        self.line.push(byte);
    }

    fn end_line(&mut self) {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        let frame = if self.line.len() > MAX_LINE {
            Frame::TooLong
        } else if self.line.iter().all(|b| is_printable(*b)) {
            // Checked: every byte is ASCII, so this is valid UTF-8.
            Frame::Line(self.line.iter().map(|&b| char::from(b)).collect())
        } else {
            Frame::NotAscii
        };
        self.line.clear();
        self.frames.push_back(frame);
    }
}

fn is_printable(byte: u8) -> bool {
    (0x20..=0x7e).contains(&byte)
}

/// A command from the host to the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `INFO`: which token this is.
    Info,
    /// `PRESS`: press the button and read the code.
    Press,
    /// `ADVANCE <seconds>`: move the device's test clock forward.
    Advance(u64),
}

/// Why a line is not a [`Request`]; each maps to the `ERR` the device sends.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("expected INFO, PRESS or ADVANCE <seconds>")]
    UnknownCommand,
    #[error("{command} takes no arguments")]
    UnexpectedArgument { command: &'static str },
    #[error("ADVANCE takes one argument: whole seconds from 0 to {}", u64::MAX)]
    BadSeconds,
}

impl RequestError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RequestError::UnknownCommand => ErrorCode::UnknownCommand,
            RequestError::UnexpectedArgument { .. } | RequestError::BadSeconds => {
                ErrorCode::BadArgument
            }
        }
    }
}

impl Request {
    /// Parses one line (without its line end). Commands are upper case and
    /// words are separated by single spaces: the protocol has one spelling
    /// of each request, so a fixture pins it exactly.
    pub fn parse(line: &str) -> Result<Request, RequestError> {
        let (command, argument) = match line.split_once(' ') {
            Some((command, argument)) => (command, Some(argument)),
            None => (line, None),
        };
        match (command, argument) {
            ("INFO", None) => Ok(Request::Info),
            ("PRESS", None) => Ok(Request::Press),
            ("INFO", Some(_)) => Err(RequestError::UnexpectedArgument { command: "INFO" }),
            ("PRESS", Some(_)) => Err(RequestError::UnexpectedArgument { command: "PRESS" }),
            ("ADVANCE", Some(seconds)) => parse_decimal(seconds)
                .map(Request::Advance)
                .ok_or(RequestError::BadSeconds),
            ("ADVANCE", None) => Err(RequestError::BadSeconds),
            _ => Err(RequestError::UnknownCommand),
        }
    }

    /// The request as sent on the wire, line end included.
    pub fn encode(&self) -> String {
        match self {
            Request::Info => format!("INFO{LINE_END}"),
            Request::Press => format!("PRESS{LINE_END}"),
            Request::Advance(seconds) => format!("ADVANCE {seconds}{LINE_END}"),
        }
    }
}

/// Plain decimal digits only: no sign, no spaces, fits a `u64`.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The machine-readable part of an `ERR` line. The wire names are stable:
/// hosts match on them, people read the message after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The line is not a known command.
    UnknownCommand,
    /// A known command with missing, extra or malformed arguments.
    BadArgument,
    /// The line grew past [`MAX_LINE`] bytes.
    LineTooLong,
    /// The line held bytes outside printable ASCII.
    NotAscii,
    /// `ADVANCE` on a device whose clock is real time.
    NoTestClock,
    /// An event token past its last counter value: it shows no more codes.
    Exhausted,
    /// The device cannot show a code now (e.g. its clock reads before T0).
    Device,
    /// The device could not record its counter durably, so it showed no code.
    Storage,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::UnknownCommand,
        ErrorCode::BadArgument,
        ErrorCode::LineTooLong,
        ErrorCode::NotAscii,
        ErrorCode::NoTestClock,
        ErrorCode::Exhausted,
        ErrorCode::Device,
        ErrorCode::Storage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::UnknownCommand => "unknown-command",
            ErrorCode::BadArgument => "bad-argument",
            ErrorCode::LineTooLong => "line-too-long",
            ErrorCode::NotAscii => "not-ascii",
            ErrorCode::NoTestClock => "no-test-clock",
            ErrorCode::Exhausted => "exhausted",
            ErrorCode::Device => "device",
            ErrorCode::Storage => "storage",
        }
    }

    fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a device says about itself in answer to `INFO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub model: Model,
    pub serial: Serial,
    pub digits: Digits,
    /// The time step of a time token; `None` for event tokens.
    pub step: Option<TimeStep>,
}

impl DeviceInfo {
    /// What a token model would answer to `INFO`.
    pub fn of(token: &(impl Token + ?Sized)) -> DeviceInfo {
        DeviceInfo {
            model: token.model(),
            serial: *token.serial(),
            digits: token.digits(),
            step: token.time_step(),
        }
    }

    pub fn family(&self) -> Family {
        self.model.family()
    }
}

/// An answer from the device to the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `OK model=… serial=… kind=… digits=…[ step=…]`, the answer to `INFO`.
    Info(DeviceInfo),
    /// `OTP <code>`, the answer to `PRESS`.
    Otp(Code),
    /// `OK`, the answer to `ADVANCE`.
    Ok,
    /// `ERR <code> <message>`.
    Err { code: ErrorCode, message: String },
}

/// Why a line from a device is not a [`Response`]. Quotes no device output:
/// a broken line could hold anything.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("the device's answer starts with no known word (expected OK, OTP or ERR)")]
    UnknownKind,
    #[error("the device's OTP answer does not hold a 6 to 8 digit code")]
    BadCode,
    #[error("the device's ERR answer has an unknown error code")]
    UnknownErrorCode,
    #[error("the device's INFO answer is missing {0}=")]
    MissingField(&'static str),
    #[error("the device's INFO answer has a malformed {0}=")]
    BadField(&'static str),
    #[error("the device's INFO answer is not a list of key=value fields")]
    NotFields,
}

impl Response {
    /// An `ERR` answer. The message is made safe for the wire: anything
    /// outside printable ASCII becomes `?` and it is cut to fit the line cap.
    pub fn error(code: ErrorCode, message: impl fmt::Display) -> Response {
        let room = MAX_LINE - "ERR ".len() - code.name().len() - 1;
        let message = message
            .to_string()
            .chars()
            .map(|c| {
                if c.is_ascii() && is_printable(c as u8) {
                    c
                } else {
                    '?'
                }
            })
            .take(room)
            .collect();
        Response::Err { code, message }
    }

    pub fn parse(line: &str) -> Result<Response, ResponseError> {
        let (word, rest) = match line.split_once(' ') {
            Some((word, rest)) => (word, Some(rest)),
            None => (line, None),
        };
        match (word, rest) {
            ("OK", None) => Ok(Response::Ok),
            ("OK", Some(fields)) => parse_info(fields).map(Response::Info),
            ("OTP", Some(code)) => {
                let digits = u8::try_from(code.len())
                    .ok()
                    .and_then(|n| Digits::new(n).ok())
                    .ok_or(ResponseError::BadCode)?;
                Code::parse(code, digits)
                    .map(Response::Otp)
                    .map_err(|_| ResponseError::BadCode)
            }
            ("ERR", Some(rest)) => {
                let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
                let code = ErrorCode::from_name(code).ok_or(ResponseError::UnknownErrorCode)?;
                Ok(Response::Err {
                    code,
                    message: message.to_owned(),
                })
            }
            ("OTP", None) => Err(ResponseError::BadCode),
            ("ERR", None) => Err(ResponseError::UnknownErrorCode),
            _ => Err(ResponseError::UnknownKind),
        }
    }

    /// The answer as sent on the wire, line end included.
    pub fn encode(&self) -> String {
        match self {
            Response::Info(info) => {
                let mut line = format!(
                    "OK model={} serial={} kind={} digits={}",
                    info.model,
                    info.serial,
                    info.family(),
                    info.digits
                );
                if let Some(step) = info.step {
                    line.push_str(&format!(" step={}", step.as_secs()));
                }
                line + LINE_END
            }
            Response::Otp(code) => format!("OTP {code}{LINE_END}"),
            Response::Ok => format!("OK{LINE_END}"),
            Response::Err { code, message } if message.is_empty() => {
                format!("ERR {code}{LINE_END}")
            }
            Response::Err { code, message } => format!("ERR {code} {message}{LINE_END}"),
        }
    }
}

/// `model=c100 serial=… kind=event digits=6[ step=30]`, in any order;
/// unknown keys are skipped so a newer device can say more.
fn parse_info(fields: &str) -> Result<DeviceInfo, ResponseError> {
    let (mut model, mut serial, mut kind, mut digits, mut step) = (None, None, None, None, None);
    for field in fields.split(' ') {
        let (key, value) = field.split_once('=').ok_or(ResponseError::NotFields)?;
        match key {
            "model" => model = Some(value),
            "serial" => serial = Some(value),
            "kind" => kind = Some(value),
            "digits" => digits = Some(value),
            "step" => step = Some(value),
            _ => {}
        }
    }
    let model: Model = model
        .ok_or(ResponseError::MissingField("model"))?
        .parse()
        .map_err(|_| ResponseError::BadField("model"))?;
    let serial = Serial::parse(serial.ok_or(ResponseError::MissingField("serial"))?)
        .map_err(|_| ResponseError::BadField("serial"))?;
    if kind.ok_or(ResponseError::MissingField("kind"))? != model.family().name() {
        return Err(ResponseError::BadField("kind"));
    }
    let digits: Digits = digits
        .ok_or(ResponseError::MissingField("digits"))?
        .parse()
        .map_err(|_| ResponseError::BadField("digits"))?;
    let step = match (model.family(), step) {
        (Family::Event, None) => None,
        (Family::Event, Some(_)) => return Err(ResponseError::BadField("step")),
        (Family::Time, None) => return Err(ResponseError::MissingField("step")),
        (Family::Time, Some(secs)) => Some(
            parse_decimal(secs)
                .and_then(|s| TimeStep::from_secs(s).ok())
                .ok_or(ResponseError::BadField("step"))?,
        ),
    };
    Ok(DeviceInfo {
        model,
        serial,
        digits,
        step,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut reader = LineReader::new();
        reader.push(input);
        std::iter::from_fn(|| reader.next_frame()).collect()
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.to_owned())
    }

    fn c100_info() -> DeviceInfo {
        DeviceInfo {
            model: Model::C100,
            serial: Serial::parse("1000133508267").unwrap(),
            digits: Digits::SIX,
            step: None,
        }
    }

    #[test]
    fn crlf_and_bare_lf_end_lines_and_a_partial_line_waits() {
        let mut reader = LineReader::new();
        reader.push(b"INFO\r\nPRE");
        assert_eq!(reader.next_frame(), Some(line("INFO")));
        assert_eq!(reader.next_frame(), None);
        assert!(reader.has_partial_line());
        reader.push(b"SS\r");
        assert_eq!(reader.next_frame(), None);
        reader.push(b"\n\n");
        assert_eq!(reader.next_frame(), Some(line("PRESS")));
        assert_eq!(reader.next_frame(), Some(line("")));
        assert!(!reader.has_partial_line());
    }

    #[test]
    fn binary_and_stray_carriage_returns_are_not_ascii() {
        assert_eq!(frames(b"\x00\xff\x7f\r\n"), [Frame::NotAscii]);
        assert_eq!(frames("caf\u{e9}\r\n".as_bytes()), [Frame::NotAscii]);
        assert_eq!(frames(b"IN\rFO\r\n"), [Frame::NotAscii]);
        assert_eq!(frames(b"INFO\r\r\n"), [Frame::NotAscii]);
        assert_eq!(frames(b"\tINFO\n"), [Frame::NotAscii]);
    }

    #[test]
    fn the_cap_is_exact_and_an_over_long_line_is_reported_once() {
        let longest = "A".repeat(MAX_LINE);
        assert_eq!(
            frames(format!("{longest}\r\n").as_bytes()),
            [line(&longest)]
        );
        assert_eq!(frames(format!("{longest}\n").as_bytes()), [line(&longest)]);
        assert_eq!(
            frames(format!("{longest}B\r\n").as_bytes()),
            [Frame::TooLong]
        );
        let flood = vec![b'x'; 10 * MAX_LINE];
        let mut input = flood.clone();
        input.extend_from_slice(b"\r\nINFO\r\n");
        assert_eq!(frames(&input), [Frame::TooLong, line("INFO")]);
        let mut reader = LineReader::new();
        reader.push(&flood);
        assert_eq!(reader.next_frame(), Some(Frame::TooLong));
        assert!(reader.has_partial_line());
    }

    #[test]
    fn requests_have_one_spelling() {
        assert_eq!(Request::parse("INFO"), Ok(Request::Info));
        assert_eq!(Request::parse("PRESS"), Ok(Request::Press));
        assert_eq!(Request::parse("ADVANCE 90"), Ok(Request::Advance(90)));
        assert_eq!(
            Request::parse("ADVANCE 18446744073709551615"),
            Ok(Request::Advance(u64::MAX))
        );
        for bad in ["info", "", " INFO", "PRESSX", "HELLO WORLD"] {
            assert_eq!(
                Request::parse(bad),
                Err(RequestError::UnknownCommand),
                "{bad:?}"
            );
        }
        for bad in [
            "ADVANCE",
            "ADVANCE ",
            "ADVANCE -1",
            "ADVANCE +1",
            "ADVANCE 1 2",
            "ADVANCE 18446744073709551616",
        ] {
            assert_eq!(
                Request::parse(bad),
                Err(RequestError::BadSeconds),
                "{bad:?}"
            );
        }
        assert_eq!(
            Request::parse("PRESS 2").map_err(|e| (e.code(), e.to_string())),
            Err((
                ErrorCode::BadArgument,
                "PRESS takes no arguments".to_owned()
            ))
        );
    }

    #[test]
    fn responses_encode_as_documented() {
        assert_eq!(
            Response::Info(c100_info()).encode(),
            "OK model=c100 serial=1000133508267 kind=event digits=6\r\n"
        );
        let c200 = DeviceInfo {
            model: Model::C200,
            serial: Serial::parse("2600124809778").unwrap(),
            digits: Digits::SIX,
            step: Some(TimeStep::SECONDS_30),
        };
        assert_eq!(
            Response::Info(c200).encode(),
            "OK model=c200 serial=2600124809778 kind=time digits=6 step=30\r\n"
        );
        let code = Code::parse("005924", Digits::SIX).unwrap();
        assert_eq!(Response::Otp(code).encode(), "OTP 005924\r\n");
        assert_eq!(Response::Ok.encode(), "OK\r\n");
        assert_eq!(
            Response::error(ErrorCode::NoTestClock, "caf\u{e9}\r\n").encode(),
            "ERR no-test-clock caf???\r\n"
        );
        let long = Response::error(ErrorCode::Device, "x".repeat(1000)).encode();
        assert_eq!(long.len(), MAX_LINE + LINE_END.len());
    }

    #[test]
    fn info_answers_are_checked_field_by_field() {
        let parse = |s: &str| Response::parse(s).map_err(|e| e.to_string());
        assert_eq!(
            parse("OK digits=6 kind=event serial=1000133508267 model=C100 color=red"),
            Ok(Response::Info(c100_info()))
        );
        assert_eq!(
            parse("OK model=c100 serial=1000133508267 kind=time digits=6"),
            Err("the device's INFO answer has a malformed kind=".to_owned())
        );
        assert_eq!(
            parse("OK model=c200 serial=2600124809778 kind=time digits=6"),
            Err("the device's INFO answer is missing step=".to_owned())
        );
        assert_eq!(
            parse("OK model=c200 serial= kind=time digits=6 step=30"),
            Err("the device's INFO answer has a malformed serial=".to_owned())
        );
        // Any serial an inventory may hold, whatever its first character.
        let Ok(Response::Info(info)) =
            Response::parse("OK model=c200 serial=ZZ90-0001 kind=time digits=6 step=30")
        else {
            panic!("an INFO answer with a free-text serial parses");
        };
        assert_eq!(info.serial.as_str(), "ZZ90-0001");
        assert_eq!(
            parse("OK model"),
            Err("the device's INFO answer is not a list of key=value fields".to_owned())
        );
        assert_eq!(
            parse("OTP 12345"),
            Err("the device's OTP answer does not hold a 6 to 8 digit code".to_owned())
        );
        assert_eq!(
            parse("ERR nope x"),
            Err("the device's ERR answer has an unknown error code".to_owned())
        );
        assert_eq!(
            parse("HELLO"),
            Err(
                "the device's answer starts with no known word (expected OK, OTP or ERR)"
                    .to_owned()
            )
        );
    }

    fn request() -> impl Strategy<Value = Request> {
        prop_oneof![
            Just(Request::Info),
            Just(Request::Press),
            any::<u64>().prop_map(Request::Advance),
        ]
    }

    fn response() -> impl Strategy<Value = Response> {
        let info = (
            prop::sample::select(Model::ALL.to_vec()),
            0u64..1_000_000_000_000,
            6u8..=8,
            prop_oneof![Just(TimeStep::SECONDS_30), Just(TimeStep::SECONDS_60)],
        )
            .prop_map(|(model, body, digits, step)| {
                let serial = format!("{}{body:012}", model.family().serial_prefix());
                DeviceInfo {
                    model,
                    serial: Serial::parse(&serial).unwrap(),
                    digits: Digits::new(digits).unwrap(),
                    step: (model.family() == Family::Time).then_some(step),
                }
            });
        let code = (6u8..=8, any::<u32>())
            .prop_map(|(digits, value)| Code::from_truncated(value, Digits::new(digits).unwrap()));
        let error = (
            prop::sample::select(ErrorCode::ALL.to_vec()),
            "[ -~]{0,300}",
        )
            .prop_map(|(code, message)| Response::error(code, message));
        prop_oneof![
            info.prop_map(Response::Info),
            code.prop_map(Response::Otp),
            Just(Response::Ok),
            error,
        ]
    }

    /// Feeds `bytes` to a fresh reader in the pieces `cuts` makes.
    fn frames_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<Frame> {
        let mut reader = LineReader::new();
        let mut at = 0;
        for &cut in cuts {
            let cut = cut.min(bytes.len()).max(at);
            reader.push(&bytes[at..cut]);
            at = cut;
        }
        reader.push(&bytes[at..]);
        std::iter::from_fn(|| reader.next_frame()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn arbitrary_bytes_never_panic_and_frames_are_safe(
            bytes in prop::collection::vec(any::<u8>(), 0..2_000),
            mut cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let cuts: Vec<usize> = {
                let mut c: Vec<usize> = cuts.drain(..).map(|i| i.index(bytes.len() + 1)).collect();
                c.sort_unstable();
                c
            };
            let frames = frames_in_pieces(&bytes, &cuts);
            // However the bytes were split, the frames are the same.
            prop_assert_eq!(&frames, &frames_in_pieces(&bytes, &[]));
            let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
            prop_assert!(frames.len() <= newlines + bytes.len() / MAX_LINE + 1);
            for frame in frames {
                if let Frame::Line(text) = frame {
                    prop_assert!(text.len() <= MAX_LINE);
                    prop_assert!(text.bytes().all(is_printable));
                    // Parsing anything never panics either.
                    let _ = Request::parse(&text);
                    let _ = Response::parse(&text);
                }
            }
        }

        #[test]
        fn requests_round_trip_in_any_split(requests in prop::collection::vec(request(), 1..10), cut in any::<prop::sample::Index>()) {
            let wire: String = requests.iter().map(Request::encode).collect();
            let frames = frames_in_pieces(wire.as_bytes(), &[cut.index(wire.len() + 1)]);
            let decoded: Vec<Request> = frames
                .into_iter()
                .map(|f| match f {
                    Frame::Line(text) => Request::parse(&text).unwrap(),
                    other => panic!("{other:?}"),
                })
                .collect();
            prop_assert_eq!(decoded, requests);
        }

        #[test]
        fn responses_round_trip_in_any_split(responses in prop::collection::vec(response(), 1..10), cut in any::<prop::sample::Index>()) {
            let wire: String = responses.iter().map(Response::encode).collect();
            let frames = frames_in_pieces(wire.as_bytes(), &[cut.index(wire.len() + 1)]);
            let decoded: Vec<Response> = frames
                .into_iter()
                .map(|f| match f {
                    Frame::Line(text) => Response::parse(&text).unwrap(),
                    other => panic!("{other:?}"),
                })
                .collect();
            prop_assert_eq!(decoded, responses);
        }
    }
}
