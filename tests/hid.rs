//! The HID path end to end in this process: the report descriptor and
//! captured report sessions from `fixtures/hid/`, and a USB token reached
//! through the virtual backend, its typed codes decoded by the keyboard
//! wedge and compared with the OTP core.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use tokenrig::device::{Model, Serial, UsbToken};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};
use tokenrig::transport::hid::report::{REPORT_DESCRIPTOR, Status, id};
use tokenrig::transport::hid::{
    EmulatedToken, HidBackend, HidConnection, HidDevice, HidEntry, HidError, VirtualHid,
};
use tokenrig::transport::{Device, TransportError};

const RFC4226_KEY: &[u8] = b"12345678901234567890";
const SERIAL: &str = "1000133508267";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hid")
}

/// Hex bytes separated by spaces; `#` starts a comment.
fn parse_hex(text: &str) -> Vec<u8> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .map(|byte| u8::from_str_radix(byte, 16).expect("a hex byte"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn usb(counter: u64) -> UsbToken {
    let serial = Serial::parse(SERIAL).unwrap();
    UsbToken::new(serial, SecretKey::new(RFC4226_KEY.to_vec())).with_counter(counter)
}

#[test]
fn the_descriptor_matches_its_fixture() {
    let text = fs::read_to_string(fixtures().join("report-descriptor.hex")).unwrap();
    assert_eq!(hex(&parse_hex(&text)), hex(REPORT_DESCRIPTOR));
}

/// Replays `fixtures/hid/*.reports` into the emulated token: `F <id>` gets
/// a feature report (answer on the `=` line), `>` writes an output report
/// (the `<` lines after it are the input reports it causes). With
/// `TOKENRIG_BLESS=1` the answers are rewritten from what the token sends.
#[test]
fn captured_report_sessions_replay_byte_for_byte() {
    let bless = std::env::var_os("TOKENRIG_BLESS").is_some();
    let mut replayed = 0;
    for entry in fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "reports") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let counter = text
            .lines()
            .find_map(|l| l.strip_prefix("# counter: "))
            .and_then(|c| c.trim().parse().ok())
            .expect("a `# counter:` header");
        let mut token = EmulatedToken::new(usb(counter));
        let mut rendered = String::new();
        for line in text.lines() {
            if line.starts_with("# ") || line.is_empty() {
                rendered.push_str(line);
                rendered.push('\n');
            } else if let Some(report_id) = line.strip_prefix("F ") {
                let report_id = parse_hex(report_id)[0];
                rendered.push_str(&format!("{line}\n"));
                let answer = token.feature(report_id).unwrap_or_default();
                rendered.push_str(&format!("= {}\n", hex(&answer)));
            } else if let Some(bytes) = line.strip_prefix("> ") {
                rendered.push_str(&format!("{line}\n"));
                for input in token.output(&parse_hex(bytes)) {
                    rendered.push_str(&format!("< {}\n", hex(&input)));
                }
            }
        }
        if bless {
            fs::write(&path, &rendered).unwrap();
        } else {
            assert_eq!(text, rendered, "{} differs", path.display());
        }
        replayed += 1;
    }
    assert!(replayed > 0, "no .reports fixtures found");
}

fn virtual_backend(counter: u64) -> VirtualHid {
    let mut backend = VirtualHid::new();
    backend.plug(usb(counter));
    backend
}

#[test]
fn a_hundred_codes_through_the_virtual_backend_match_the_otp_core() {
    let mut backend = virtual_backend(0);
    assert_eq!(
        backend.enumerate().unwrap(),
        [HidEntry {
            serial: SERIAL.to_owned(),
            vendor_id: 0x1209,
            product_id: 0x0001,
            path: "virtual:0".to_owned(),
        }]
    );
    let mut device = HidDevice::open(&mut backend, SERIAL).unwrap();
    let info = device.info().unwrap();
    assert_eq!(
        (info.model, info.serial.as_str(), info.step),
        (Model::Usb, SERIAL, None)
    );
    let reference = OtpKey::new(Algorithm::Sha1, &SecretKey::new(RFC4226_KEY.to_vec()));
    for counter in 0..100 {
        let code = device.press().unwrap();
        assert_eq!(
            code,
            reference.hotp(counter, Digits::SIX),
            "counter {counter}"
        );
        assert_eq!(device.last_status().unwrap().status, Status::Code(code));
    }
    assert!(matches!(
        device.advance(30),
        Err(TransportError::NoTestClock(_))
    ));
}

#[test]
fn two_handles_share_one_token_but_not_their_reports() {
    let mut backend = virtual_backend(0);
    let mut first = HidDevice::open(&mut backend, SERIAL).unwrap();
    let mut second = HidDevice::open(&mut backend, SERIAL).unwrap();
    let a = first.press().unwrap();
    let b = second.press().unwrap();
    assert_eq!(
        (a.to_string(), b.to_string()),
        ("755224".into(), "287082".into())
    );
}

#[test]
fn an_exhausted_token_and_an_unknown_serial_are_one_line_errors() {
    let mut backend = virtual_backend(u64::MAX);
    let mut device = HidDevice::open(&mut backend, SERIAL).unwrap();
    device.press().unwrap();
    assert_eq!(
        device.press().unwrap_err().to_string(),
        "the HID token refused the press: its counter is exhausted"
    );
    let missing = HidDevice::open(&mut backend, "1999999999999").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "no HID token with serial 1999999999999 (virtual)"
    );
}

/// A connection answering every read and feature request with the next of
/// a list of arbitrary buffers: a broken or hostile device.
struct Garbage(Vec<Vec<u8>>);

impl HidConnection for Garbage {
    fn write(&mut self, _report: &[u8]) -> Result<(), HidError> {
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<usize, HidError> {
        let Some(next) = self.0.pop() else {
            return Err(HidError::Timeout {
                request: "a press",
                waited: Duration::ZERO,
            });
        };
        let n = next.len().min(buf.len());
        buf[..n].copy_from_slice(&next[..n]);
        Ok(n)
    }

    fn get_feature(&mut self, buf: &mut [u8]) -> Result<usize, HidError> {
        self.read(buf, Duration::ZERO)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn arbitrary_reports_from_a_device_never_panic(
        reports in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..30),
        first_ids in prop::collection::vec(prop::sample::select(vec![id::KEYBOARD, id::STATUS, 9]), 0..30),
    ) {
        let mut reports = reports;
        for (report, first) in reports.iter_mut().zip(first_ids) {
            if let Some(b) = report.first_mut() {
                *b = first;
            }
        }
        let mut device = HidDevice::new(Box::new(Garbage(reports.clone())))
            .with_timeout(Duration::from_secs(5));
        let _ = device.info();
        let _ = device.press();
        let _ = device.last_status();
    }
}
