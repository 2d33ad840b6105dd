//! `tokenrig devices` through the real binary: listing, pressing an
//! emulated USB token over the virtual HID backend, pressing `tokenrig-sim`
//! on a kernel pseudo-terminal, and one-line errors.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

const RFC4226_KEY_HEX: &str = "3132333435363738393031323334353637383930";
const SERIAL: &str = "1000133508267";

fn tokenrig(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .args(args)
        .output()
        .expect("the tokenrig binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn virtual_usb() -> String {
    format!("{SERIAL}={RFC4226_KEY_HEX}")
}

#[test]
fn list_prints_a_header_and_the_virtual_token() {
    let out = tokenrig(&["devices", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(
        lines
            .next()
            .map(str::split_whitespace)
            .map(Iterator::collect::<Vec<_>>),
        Some(vec!["TRANSPORT", "DEVICE", "MODEL", "KIND", "WHERE"])
    );
    // Whatever this machine has, the search ran and said what it found.
    let rest: Vec<&str> = lines.collect();
    assert!(!rest.is_empty(), "{stdout}");
    assert!(rest == ["no devices found"] || rest.iter().all(|l| !l.contains("no devices")));

    let out = tokenrig(&["devices", "list", "--virtual-usb", &virtual_usb()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("hid"))
        .expect("a hid row")
        .split_whitespace()
        .collect();
    assert_eq!(row, ["hid", SERIAL, "usb", "event", "virtual:0"]);
}

#[test]
fn press_reads_typed_codes_through_the_virtual_hid_backend() {
    let out = tokenrig(&[
        "devices",
        "press",
        "--hid",
        SERIAL,
        "--virtual-usb",
        &virtual_usb(),
        "--count",
        "3",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // RFC 4226 Appendix D, counters 0 to 2.
    assert_eq!(text(&out.stdout), "755224\n287082\n359152\n");
}

#[test]
fn bad_input_and_missing_tokens_are_one_line_errors() {
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["devices", "press", "--hid", "1999999999999"],
            1,
            "tokenrig: error: no HID token with serial 1999999999999 (hidapi, vendor 1209 product 0001)",
        ),
        (
            &["devices", "press", "--hid", "12 3"],
            2,
            "tokenrig: error: --hid: serial has a space, a control or a non-ASCII character at position 3 (serials are printable ASCII)",
        ),
        (
            &[
                "devices",
                "press",
                "--hid",
                SERIAL,
                "--serial-port",
                "/dev/null",
            ],
            2,
            "tokenrig: error: the argument '--hid <SERIAL>' cannot be used with '--serial-port <PATH>'",
        ),
        (
            &["devices", "list", "--virtual-usb", "1000133508267=zz"],
            2,
            "tokenrig: error: --virtual-usb: --key: ",
        ),
        (
            &[
                "devices",
                "press",
                "--serial-port",
                "/nonexistent/tty",
                "--count",
                "1",
            ],
            1,
            "tokenrig: error: cannot open serial port /nonexistent/tty: ",
        ),
    ];
    for (args, status, message) in cases {
        let out = tokenrig(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert!(!stderr.contains(RFC4226_KEY_HEX));
    }
}

/// `tokenrig-sim` sits beside `tokenrig` when the workspace is built
/// (`cargo nextest run --workspace`, `cargo xtask ci`).
fn simulator() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_tokenrig")).with_file_name("tokenrig-sim");
    if path.is_file() {
        return Some(path);
    }
    support::skip_or_fail(
        "tokenrig-sim is not built; run the workspace's tests (cargo nextest run --workspace)",
    );
    None
}

struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn press_reads_codes_from_a_simulator_on_a_serial_line() {
    let Some(sim) = simulator() else { return };
    let mut child = Command::new(sim)
        .args([
            "c100",
            "--serial",
            SERIAL,
            "--key",
            RFC4226_KEY_HEX,
            "--counter",
            "5",
            "--pty",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tokenrig-sim starts");
    let mut path = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut path)
        .expect("the PTY path");
    let _sim = Sim(child);
    let out = tokenrig(&[
        "devices",
        "press",
        "--serial-port",
        path.trim(),
        "--count",
        "3",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // RFC 4226 Appendix D, counters 5 to 7.
    assert_eq!(text(&out.stdout), "254676\n287922\n162583\n");
}
