//! The device side of the line protocol, sans-IO: bytes from the host go
//! in, the bytes of the answers come out. The binary wraps it around a
//! pseudo-terminal or a serial port; the fixture tests replay captured
//! exchanges straight into it.

use std::time::Duration;

use tokenrig_core::device::DeviceError;
use tokenrig_core::wire::line::{
    DeviceInfo, ErrorCode, Frame, LineReader, MAX_LINE, Request, Response,
};

use super::spec::{Sim, SimToken};
use super::state::{StateError, StateFile};

/// Where an event token's counter is recorded before a code is shown.
pub trait CounterLog {
    /// Returns once `next` (the counter after this press; `None` when the
    /// press uses the last value) would survive a crash.
    fn record(&mut self, next: Option<u64>) -> Result<(), StateError>;
}

/// No state file: the counter lives only as long as the process.
#[derive(Debug, Default)]
pub struct Volatile;

impl CounterLog for Volatile {
    fn record(&mut self, _next: Option<u64>) -> Result<(), StateError> {
        Ok(())
    }
}

impl CounterLog for StateFile {
    fn record(&mut self, next: Option<u64>) -> Result<(), StateError> {
        StateFile::record(self, next)
    }
}

/// One token answering the line protocol.
#[derive(Debug)]
pub struct LineEngine<L> {
    sim: Sim,
    log: L,
    reader: LineReader,
}

impl<L: CounterLog> LineEngine<L> {
    pub fn new(sim: Sim, log: L) -> Self {
        LineEngine {
            sim,
            log,
            reader: LineReader::new(),
        }
    }

    /// Takes bytes as they arrived and appends the answers to every line
    /// they complete to `out`, one answer per non-empty line, in order.
    pub fn receive(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.reader.push(bytes);
        while let Some(frame) = self.reader.next_frame() {
            if let Some(answer) = self.answer(frame) {
                out.extend_from_slice(answer.encode().as_bytes());
            }
        }
    }

    fn answer(&mut self, frame: Frame) -> Option<Response> {
        let line = match frame {
            // A terminal user pressing Enter, or a host resynchronising:
            // nothing was asked, nothing is answered.
            Frame::Line(line) if line.is_empty() => return None,
            Frame::Line(line) => line,
            Frame::TooLong => {
                return Some(Response::error(
                    ErrorCode::LineTooLong,
                    format!("lines end within {MAX_LINE} bytes; skipped to the next newline"),
                ));
            }
            Frame::NotAscii => {
                return Some(Response::error(
                    ErrorCode::NotAscii,
                    "lines hold printable ASCII only",
                ));
            }
        };
        Some(match Request::parse(&line) {
            Ok(Request::Info) => Response::Info(DeviceInfo::of(self.sim.token.token())),
            Ok(Request::Press) => self.press(),
            Ok(Request::Advance(seconds)) => match &self.sim.test_clock {
                Some(clock) => {
                    clock.advance(Duration::from_secs(seconds));
                    Response::Ok
                }
                None => Response::error(
                    ErrorCode::NoTestClock,
                    "this device runs on real time; start it with --test-clock",
                ),
            },
            Err(e) => Response::error(e.code(), e),
        })
    }

    fn press(&mut self) -> Response {
        if let Some(Some(counter)) = self.sim.token.counter() {
            // Durable before the code exists outside this process: a crash
            // after this point skips a code, never repeats one.
            if let Err(e) = self.log.record(counter.checked_add(1)) {
                return Response::error(
                    ErrorCode::Storage,
                    format!("no code shown: {}", storage_reason(&e)),
                );
            }
        }
        match self.sim.token.token_mut().press() {
            Ok(code) => Response::Otp(code),
            Err(e @ DeviceError::CounterExhausted { .. }) => {
                Response::error(ErrorCode::Exhausted, e)
            }
            Err(e) => Response::error(ErrorCode::Device, e),
        }
    }

    pub fn token(&self) -> &SimToken {
        &self.sim.token
    }
}

/// What went wrong with the state file, without its path: the host on the
/// other end of the line has no business knowing the simulator's files.
fn storage_reason(e: &StateError) -> String {
    match e {
        StateError::Io { source, .. } => format!("the counter could not be recorded ({source})"),
        _ => "the counter could not be recorded".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::spec::SimSpec;
    use std::sync::Arc;
    use tokenrig_core::clock::SystemClock;
    use tokenrig_core::device::Model;
    use tokenrig_core::otp::SecretKey;

    fn spec(model: Model, serial: &str) -> SimSpec {
        SimSpec {
            model,
            serial: serial.to_owned(),
            key: SecretKey::new(b"12345678901234567890".to_vec()),
            counter: 0,
            step_secs: 30,
            drift_ppm: 0.0,
            test_clock: None,
        }
    }

    fn talk<L: CounterLog>(engine: &mut LineEngine<L>, input: &[u8]) -> String {
        let mut out = Vec::new();
        engine.receive(input, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn c100() -> LineEngine<Volatile> {
        let sim = spec(Model::C100, "1000133508267")
            .build(Arc::new(SystemClock))
            .unwrap();
        LineEngine::new(sim, Volatile)
    }

    #[test]
    fn answers_each_line_and_waits_for_partial_ones() {
        let mut engine = c100();
        assert_eq!(talk(&mut engine, b"PRE"), "");
        assert_eq!(
            talk(&mut engine, b"SS\r\n\r\nPRESS\r\nADV"),
            "OTP 755224\r\nOTP 287082\r\n"
        );
        assert_eq!(
            talk(&mut engine, b"ANCE 30\r\n"),
            "ERR no-test-clock this device runs on real time; start it with --test-clock\r\n"
        );
    }

    #[test]
    fn an_exhausted_token_says_so_every_time() {
        let mut spec = spec(Model::Usb, "1000133508267");
        spec.counter = u64::MAX;
        let mut engine = LineEngine::new(spec.build(Arc::new(SystemClock)).unwrap(), Volatile);
        assert!(talk(&mut engine, b"PRESS\r\n").starts_with("OTP "));
        assert_eq!(
            talk(&mut engine, b"PRESS\r\n"),
            "ERR exhausted token 1000133508267 has shown the code for its last counter value and can show no more\r\n"
        );
    }

    struct Failing;
    impl CounterLog for Failing {
        fn record(&mut self, _: Option<u64>) -> Result<(), StateError> {
            Err(StateError::Io {
                path: "/secret/place".to_owned(),
                source: std::io::Error::from(std::io::ErrorKind::StorageFull),
            })
        }
    }

    #[test]
    fn no_code_leaves_the_device_unless_its_counter_is_recorded() {
        let sim = spec(Model::C100, "1000133508267")
            .build(Arc::new(SystemClock))
            .unwrap();
        let mut engine = LineEngine::new(sim, Failing);
        assert_eq!(
            talk(&mut engine, b"PRESS\r\n"),
            "ERR storage no code shown: the counter could not be recorded (no storage space)\r\n"
        );
        assert_eq!(engine.token().counter(), Some(Some(0)));
    }
}
