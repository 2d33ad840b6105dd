//! What the simulator tests share: starting `tokenrig-sim` as a real
//! process, reading the exchanges in `fixtures/serial/`, and finding
//! external tools (the workspace tests' rule, `tests/support/tools.rs`).

#![allow(dead_code)] // each test binary uses its own part

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokenrig::transport::Device;
use tokenrig::transport::hid::{HidBackend, HidDevice, HidapiBackend};
use tokenrig_core::device::Model;
use tokenrig_core::otp::{Algorithm, Digits, OtpKey, SecretKey};
use tokenrig_core::wire::hid::report::{PRODUCT_ID, VENDOR_ID};

#[path = "../../../tests/support/tools.rs"]
mod tools;

// Not every test binary that includes this module finds a tool.
#[allow(unused_imports)]
pub use tools::{require_tool, skip};

/// The test key of RFC 4226 and RFC 6238 in hex (not a secret).
pub const RFC_KEY_HEX: &str = "3132333435363738393031323334353637383930";

/// A running `tokenrig-sim` and the path of its line. Killed on drop, so a
/// failing test leaves no process behind.
pub struct Sim {
    child: Child,
    stderr: Option<ChildStderr>,
    pub path: String,
}

impl Sim {
    /// Starts the simulator with `args` and waits for the first stdout line,
    /// the path of its pseudo-terminal.
    pub fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenrig-sim"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tokenrig-sim starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut path = String::new();
        stdout.read_line(&mut path).expect("stdout is readable");
        let mut stderr = child.stderr.take();
        if path.is_empty() {
            let mut message = String::new();
            if let Some(e) = stderr.as_mut() {
                let _ = e.read_to_string(&mut message);
            }
            panic!("tokenrig-sim {args:?} printed no path: {message}");
        }
        Sim {
            child,
            stderr,
            path: path.trim_end().to_owned(),
        }
    }

    /// Sends `signal` and waits (at most 5 s) for the exit.
    pub fn stop(mut self, signal: Signal) -> ExitStatus {
        kill(Pid::from_raw(self.child.id() as i32), signal).expect("signal delivered");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                return status;
            }
            assert!(Instant::now() < deadline, "tokenrig-sim ignored {signal}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// [`Sim::stop`], then everything it wrote on stderr.
    pub fn stop_with_stderr(mut self, signal: Signal) -> (ExitStatus, String) {
        let stderr = self.stderr.take();
        let status = self.stop(signal);
        let mut text = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut text);
        }
        (status, text)
    }

    pub fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens the kernel HID device of the token `serial` (RFC key) through
/// hidapi, as `tokenrig devices press --hid` does, once it shows (within
/// 10 s), and checks 100 presses from `counter` against the OTP core.
pub fn hidapi_reads_100_codes(serial: &str, counter: u64) {
    let mut backend = HidapiBackend::new(VENDOR_ID, PRODUCT_ID).expect("hidapi starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !backend
        .enumerate()
        .expect("hidapi enumerates")
        .iter()
        .any(|e| e.serial == serial)
    {
        assert!(Instant::now() < deadline, "no hidraw node for {serial}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut device = HidDevice::open(&mut backend, serial).expect("the token opens");
    let info = device.info().expect("the info report");
    assert_eq!((info.model, info.serial.as_str()), (Model::Usb, serial));
    let reference = OtpKey::new(
        Algorithm::Sha1,
        &SecretKey::from_hex(RFC_KEY_HEX).expect("hex key"),
    );
    for counter in counter..counter + 100 {
        let code = device.press().expect("a code");
        assert_eq!(
            code,
            reference.hotp(counter, Digits::SIX),
            "counter {counter}"
        );
    }
}

/// Runs `tokenrig-sim` with each case's arguments and checks its exit
/// code and its whole stderr (one line).
pub fn assert_fails(cases: &[(Vec<&str>, i32, &str)]) {
    for (args, status, stderr) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_tokenrig-sim"))
            .args(args)
            .output()
            .expect("tokenrig-sim runs");
        assert_eq!(out.status.code(), Some(*status), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), *stderr, "{args:?}");
    }
}

/// One exchange of a fixture: the bytes written in one go, and the bytes
/// the device answers to them.
#[derive(Debug)]
pub struct Step {
    pub sent: Vec<u8>,
    pub answer: Vec<u8>,
}

/// A captured exchange from `fixtures/serial/`.
#[derive(Debug)]
pub struct Exchange {
    pub name: String,
    pub path: PathBuf,
    /// The `tokenrig-sim` arguments it was captured with (without `--pty`).
    pub args: Vec<String>,
    pub comments: Vec<String>,
    pub steps: Vec<Step>,
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/serial")
}

pub fn exchanges() -> Vec<Exchange> {
    let mut paths: Vec<PathBuf> = fs::read_dir(fixtures_dir())
        .expect("fixtures/serial exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "exchange"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in fixtures/serial");
    paths.iter().map(|p| Exchange::load(p)).collect()
}

impl Exchange {
    /// Format: `#` comment lines, one `# sim: ARGS` line, then `> BYTES`
    /// lines (one write each) each followed by its `< BYTES` answer lines;
    /// bytes are escaped as `\r`, `\n`, `\\` and `\xHH`.
    pub fn load(path: &Path) -> Exchange {
        let text = fs::read_to_string(path).expect("fixture is readable");
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (mut args, mut comments, mut steps) = (None, Vec::new(), Vec::<Step>::new());
        for line in text.lines() {
            if let Some(sim) = line.strip_prefix("# sim: ") {
                args = Some(sim.split(' ').map(str::to_owned).collect());
            } else if line.starts_with('#') {
                comments.push(line.to_owned());
            } else if let Some(sent) = line.strip_prefix("> ") {
                steps.push(Step {
                    sent: unescape(sent),
                    answer: Vec::new(),
                });
            } else if let Some(answer) = line.strip_prefix("< ") {
                let step = steps.last_mut().expect("an answer follows a request");
                step.answer.extend(unescape(answer));
            } else {
                assert!(line.is_empty(), "{name}: unexpected line {line:?}");
            }
        }
        Exchange {
            name,
            path: path.to_owned(),
            args: args.expect("fixture has a `# sim:` line"),
            comments,
            steps,
        }
    }

    /// The fixture with `answers` in place of its recorded ones.
    pub fn render(&self, answers: &[Vec<u8>]) -> String {
        let mut out = self.comments.join("\n") + "\n";
        out += &format!("# sim: {}\n", self.args.join(" "));
        for (step, answer) in self.steps.iter().zip(answers) {
            out += &format!("> {}\n", escape(&step.sent));
            // One `<` line per answer line, so the file reads like the wire.
            for line in answer.split_inclusive(|&b| b == b'\n') {
                out += &format!("< {}\n", escape(line));
            }
        }
        out
    }
}

fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                out.push(u8::from_str_radix(&hex, 16).expect("two hex digits after \\x"));
            }
            other => panic!("unknown escape \\{other:?} in {s:?}"),
        }
    }
    out
}

fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}
