//! `tokenrig-sim usb --uhid` as a kernel HID device, opened through
//! hidapi exactly like hardware: 100 codes typed on its keyboard interface
//! compared with the OTP core.
//!
//! Needs /dev/uhid, which most containers and CI machines lack: there the
//! test prints why it skipped and passes, under CI too (nothing CI could
//! install would bring the kernel interface). The HID path itself still
//! runs everywhere through the virtual backend (`tests/hid.rs`).

mod support;

use std::io::Write;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{RFC_KEY_HEX, Sim};
use tokenrig::transport::Device;
use tokenrig::transport::hid::{HidBackend, HidDevice, HidapiBackend};
use tokenrig_core::device::Model;
use tokenrig_core::otp::{Algorithm, Digits, OtpKey, SecretKey};
use tokenrig_core::wire::hid::report::{PRODUCT_ID, VENDOR_ID};

const SERIAL: &str = "1000133508267";

/// `false` (with the reason on stderr, straight to the stream so nextest
/// shows it) when this machine has no /dev/uhid.
fn uhid_present() -> bool {
    if Path::new("/dev/uhid").exists() {
        return true;
    }
    let test = thread::current().name().unwrap_or("test").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: /dev/uhid not present");
    false
}

#[test]
fn a_uhid_token_opened_through_hidapi_types_the_otp_cores_codes() {
    if !uhid_present() {
        return;
    }
    let sim = Sim::start(&[
        "usb",
        "--serial",
        SERIAL,
        "--key",
        RFC_KEY_HEX,
        "--counter",
        "3",
        "--uhid",
    ]);
    assert_eq!(sim.path, format!("uhid {SERIAL}"));
    let mut backend = HidapiBackend::new(VENDOR_ID, PRODUCT_ID).expect("hidapi starts");
    // The hidraw node appears a moment after the device is created.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !backend
        .enumerate()
        .expect("hidapi enumerates")
        .iter()
        .any(|e| e.serial == SERIAL)
    {
        assert!(Instant::now() < deadline, "no hidraw node for {SERIAL}");
        thread::sleep(Duration::from_millis(50));
    }
    let mut device = HidDevice::open(&mut backend, SERIAL).expect("the token opens");
    let info = device.info().expect("the info report");
    assert_eq!((info.model, info.serial.as_str()), (Model::Usb, SERIAL));
    let reference = OtpKey::new(
        Algorithm::Sha1,
        &SecretKey::from_hex(RFC_KEY_HEX).expect("hex key"),
    );
    for counter in 3..103 {
        let code = device.press().expect("a code");
        assert_eq!(
            code,
            reference.hotp(counter, Digits::SIX),
            "counter {counter}"
        );
    }
    drop(device);
    assert!(sim.stop(Signal::SIGTERM).success());
}

#[test]
fn uhid_flags_are_checked_and_a_missing_uhid_is_one_line() {
    let sim = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tokenrig-sim"))
            .args(args)
            .output()
            .expect("tokenrig-sim runs")
    };
    let key = ["--key", RFC_KEY_HEX];
    let cases: [(Vec<&str>, i32, &str); 3] = [
        (
            [&["c100", "--serial", SERIAL][..], &key, &["--uhid"]].concat(),
            2,
            "tokenrig-sim: error: --uhid: only the usb token has a HID interface\n",
        ),
        (
            [
                &["c200", "--serial", "2600124809778"][..],
                &key,
                &["--uhid"],
            ]
            .concat(),
            2,
            "tokenrig-sim: error: --uhid: only the usb token has a HID interface\n",
        ),
        (
            [
                &["usb", "--serial", SERIAL][..],
                &key,
                &["--uhid", "--state", "x"],
            ]
            .concat(),
            2,
            "tokenrig-sim: error: the argument '--uhid' cannot be used with '--state <FILE>'\n",
        ),
    ];
    for (args, status, stderr) in cases {
        let out = sim(&args);
        assert_eq!(out.status.code(), Some(status), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), stderr, "{args:?}");
    }
    if !Path::new("/dev/uhid").exists() {
        let out = sim(&[&["usb", "--serial", SERIAL][..], &key, &["--uhid"]].concat());
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "tokenrig-sim: error: uhid: /dev/uhid not present (this kernel or container offers no uhid)\n"
        );
        assert!(out.stdout.is_empty());
    }
}
