//! `tokenrig-sim usb --uhid` as a kernel HID device, opened through
//! hidapi exactly like hardware: 100 codes typed on its keyboard interface
//! compared with the OTP core.
//!
//! Needs /dev/uhid, which most containers and CI machines lack: there the
//! test prints why it skipped and passes, under CI too (nothing CI could
//! install would bring the kernel interface). The HID path itself still
//! runs everywhere through the virtual backend (`tests/hid.rs`).

mod support;

use std::path::Path;

use nix::sys::signal::Signal;
use support::{RFC_KEY_HEX, Sim, assert_fails, hidapi_reads_100_codes, skip};

const SERIAL: &str = "1000133508267";

/// `false` (with the reason on stderr, straight to the stream so nextest
/// shows it) when this machine has no /dev/uhid.
fn uhid_present() -> bool {
    if Path::new("/dev/uhid").exists() {
        return true;
    }
    skip("/dev/uhid not present");
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
    // The hidraw node appears a moment after the device is created.
    hidapi_reads_100_codes(SERIAL, 3);
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
    assert_fails(&cases);
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
