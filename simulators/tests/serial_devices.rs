//! `tokenrig-sim` as a real process on a real kernel pseudo-terminal, read
//! through the host's `SerialDevice` (the `serialport` crate opening the
//! PTY by path) and checked against the OTP core.

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{RFC_KEY_HEX, Sim};
use tokenrig::transport::{
    Device, DeviceInfo, Manual, SerialDevice, SerialOptions, TransportError, Virtual,
};
use tokenrig_core::clock::{Clock, ClockOffset, Drift, DriftingClock, UnixTime, VirtualClock};
use tokenrig_core::device::{C100, Model, Serial};
use tokenrig_core::otp::{Algorithm, Code, Digits, OtpKey, SecretKey, TimeStep, TotpParams};
use tokenrig_core::wire::line::ErrorCode;

const C100_SERIAL: &str = "1000133508267";
const C200_SERIAL: &str = "2600124809778";
const USB_SERIAL: &str = "1000000000042";

fn rfc_key() -> OtpKey {
    OtpKey::new(Algorithm::Sha1, &SecretKey::from_hex(RFC_KEY_HEX).unwrap())
}

fn open(sim: &Sim) -> SerialDevice {
    SerialDevice::open(&sim.path, SerialOptions::default()).expect("the simulator's PTY opens")
}

fn presses(device: &mut SerialDevice, n: usize) -> Vec<Code> {
    (0..n).map(|_| device.press().expect("a code")).collect()
}

#[test]
fn event_tokens_give_100_hotp_codes_over_the_pty() {
    for (model, serial) in [("c100", C100_SERIAL), ("usb", USB_SERIAL)] {
        let sim = Sim::start(&[
            model,
            "--serial",
            serial,
            "--key",
            RFC_KEY_HEX,
            "--counter",
            "1000",
            "--pty",
        ]);
        let mut device = open(&sim);
        let info = device.info().unwrap();
        assert_eq!(info.model, model.parse::<Model>().unwrap());
        assert_eq!(
            (info.serial.as_str(), info.digits, info.step),
            (serial, Digits::SIX, None)
        );
        let expected: Vec<Code> = (1000..1100)
            .map(|c| rfc_key().hotp(c, Digits::SIX))
            .collect();
        assert_eq!(presses(&mut device, 100), expected, "{model}");
    }
}

#[test]
fn a_c200_gives_100_totp_codes_as_its_test_clock_advances() {
    let start = 1_767_225_600u64;
    let sim = Sim::start(&[
        "c200",
        "--serial",
        C200_SERIAL,
        "--key",
        RFC_KEY_HEX,
        "--step",
        "30",
        "--test-clock",
        "--start",
        &start.to_string(),
        "--pty",
    ]);
    let mut device = open(&sim);
    assert_eq!(device.info().unwrap().step, Some(TimeStep::SECONDS_30));
    let params = TotpParams::new(TimeStep::SECONDS_30);
    for i in 0..100 {
        let expected = rfc_key().totp(start + i * 30, params, Digits::SIX).unwrap();
        assert_eq!(device.press().unwrap(), expected, "step {i}");
        device.advance(30).unwrap();
    }
}

#[test]
fn c200_codes_follow_its_drifting_clock_after_advance() {
    let start = UnixTime::from_secs(1_700_000_000);
    let sim = Sim::start(&[
        "c200",
        "--serial",
        C200_SERIAL,
        "--key",
        RFC_KEY_HEX,
        "--drift-ppm",
        "-250",
        "--test-clock",
        "--start",
        "1700000000",
        "--pty",
    ]);
    let mut device = open(&sim);
    // The same quartz, modelled here: the simulator must agree with it.
    let base = VirtualClock::new(start);
    let quartz = DriftingClock::new(
        Arc::new(base.clone()),
        Drift::from_ppm(-250.0).unwrap(),
        ClockOffset::ZERO,
    );
    let params = TotpParams::new(TimeStep::SECONDS_60);
    let mut drifted_apart = false;
    for day in 0..40u64 {
        let now = quartz.now().as_secs();
        let expected = rfc_key().totp(now, params, Digits::SIX).unwrap();
        let undrifted = rfc_key()
            .totp(base.now().as_secs(), params, Digits::SIX)
            .unwrap();
        assert_eq!(device.press().unwrap(), expected, "day {day}");
        drifted_apart |= expected != undrifted;
        let by = 86_400 + day * 7;
        device.advance(by).unwrap();
        base.advance(Duration::from_secs(by));
    }
    // 250 ppm is 21.6 s a day: within days the token is steps behind.
    assert!(drifted_apart);
}

#[test]
fn a_restart_with_state_never_repeats_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("c100.state");
    let state = state.to_str().unwrap();
    let args = [
        "c100",
        "--serial",
        C100_SERIAL,
        "--key",
        RFC_KEY_HEX,
        "--state",
        state,
        "--pty",
    ];
    let mut seen = Vec::new();
    // A clean stop, then a kill with no chance to clean up: the counter
    // was on disk before each code left the simulator either way.
    for signal in [Signal::SIGTERM, Signal::SIGKILL, Signal::SIGINT] {
        let sim = Sim::start(&args);
        seen.extend(presses(&mut open(&sim), 5));
        let status = sim.stop(signal);
        if signal != Signal::SIGKILL {
            assert!(status.success(), "{signal}: {status}");
        }
    }
    let expected: Vec<Code> = (0..15).map(|c| rfc_key().hotp(c, Digits::SIX)).collect();
    assert_eq!(seen, expected);
    // --counter below the recorded one does not wind the token back.
    let mut back = args.to_vec();
    back.extend(["--counter", "3"]);
    let sim = Sim::start(&back);
    assert_eq!(open(&sim).press().unwrap(), rfc_key().hotp(15, Digits::SIX));
}

#[test]
fn garbage_gets_err_and_the_simulator_keeps_serving() {
    let sim = Sim::start(&["usb", "--serial", USB_SERIAL, "--key", RFC_KEY_HEX, "--pty"]);
    let mut line = serialport::new(&sim.path, 9_600)
        .timeout(Duration::from_secs(2))
        .open()
        .unwrap();
    // Deterministic noise: every byte value, newlines included, and
    // stretches long enough to overflow a line.
    let mut noise = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for i in 0..3_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        noise.push(if i % 700 == 0 { b'\n' } else { (x >> 16) as u8 });
    }
    noise.extend_from_slice(b"\r\nINFO\r\n");
    line.write_all(&noise).unwrap();
    let mut reader = BufReader::new(line);
    let mut errors = 0;
    loop {
        let mut answer = String::new();
        reader.read_line(&mut answer).expect("an answer line");
        if answer.starts_with("OK model=usb") {
            break;
        }
        assert!(answer.starts_with("ERR "), "{answer:?}");
        let code = answer.split(' ').nth(1).unwrap();
        assert!(
            [
                ErrorCode::NotAscii,
                ErrorCode::LineTooLong,
                ErrorCode::UnknownCommand
            ]
            .iter()
            .any(|c| c.name() == code),
            "{answer:?}"
        );
        errors += 1;
    }
    assert!(errors >= 5, "{errors} errors");
    drop(reader);
    // And the protocol still works through the host transport.
    let mut device = open(&sim);
    assert_eq!(device.press().unwrap(), rfc_key().hotp(0, Digits::SIX));
    match device.advance(1) {
        Err(TransportError::Refused {
            code: ErrorCode::NoTestClock,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_signal_ends_the_simulator_cleanly_and_bad_flags_get_one_line() {
    let sim = Sim::start(&[
        "c100",
        "--serial",
        C100_SERIAL,
        "--key",
        RFC_KEY_HEX,
        "--pty",
    ]);
    let status = sim.stop(Signal::SIGINT);
    assert!(status.success(), "{status}");

    for (args, message) in [
        (
            &["c100", "--serial", "ZZ 90", "--key", "31", "--pty"][..],
            "tokenrig-sim: error: --serial: serial has a space, a control or a non-ASCII character at position 3 (serials are printable ASCII)\n",
        ),
        (
            &[
                "c200",
                "--serial",
                C200_SERIAL,
                "--key",
                "31",
                "--step",
                "45",
                "--pty",
            ][..],
            "tokenrig-sim: error: --step: a c200 uses a 30s or 60s time step, not 45s\n",
        ),
        (
            &[
                "usb",
                "--serial",
                USB_SERIAL,
                "--key",
                "31",
                "--pty",
                "--port",
                "/dev/null",
            ][..],
            "tokenrig-sim: error: the argument '--pty' cannot be used with '--port <PATH>'\n",
        ),
        (
            &[
                "c100",
                "--serial",
                C100_SERIAL,
                "--key",
                "31",
                "--start",
                "5",
                "--pty",
            ][..],
            "tokenrig-sim: error: the following required arguments were not provided: --test-clock\n",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tokenrig-sim"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), message, "{args:?}");
        assert!(out.stdout.is_empty());
    }
    // A key typed wrong is named, never shown.
    let out = Command::new(env!("CARGO_BIN_EXE_tokenrig-sim"))
        .args([
            "c100",
            "--serial",
            C100_SERIAL,
            "--key",
            "deadbeefXY",
            "--pty",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("tokenrig-sim: error: --key: ") && !stderr.contains("deadbeef"),
        "{stderr}"
    );
}

#[test]
fn a_closed_simulator_is_a_one_line_error_not_a_hang() {
    let sim = Sim::start(&[
        "c100",
        "--serial",
        C100_SERIAL,
        "--key",
        RFC_KEY_HEX,
        "--pty",
    ]);
    let mut device = SerialDevice::open(
        &sim.path,
        SerialOptions {
            timeout: Duration::from_millis(300),
            ..SerialOptions::default()
        },
    )
    .unwrap();
    let path = sim.path.clone();
    sim.stop(Signal::SIGTERM);
    let message = device.press().unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("serial port {path}")),
        "{message}"
    );
    assert!(!message.contains('\n'));
    let missing = SerialDevice::open("/dev/tokenrig-no-such-tty", SerialOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        missing.starts_with("cannot open serial port /dev/tokenrig-no-such-tty: "),
        "{missing}"
    );
}

/// `--port`: the simulator opens a tty by path with `serialport`, as it
/// would a real line. Here the tty is a PTY slave and this test is the
/// host on its master side.
#[test]
fn the_simulator_sits_on_a_tty_given_by_path() {
    use std::os::fd::FromRawFd;
    let pair = nix::pty::openpty(None, None).unwrap();
    // SAFETY: fresh descriptors from openpty, owned by nothing else.
    let (mut host, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(pair.master),
            std::fs::File::from_raw_fd(pair.slave),
        )
    };
    let tty = nix::unistd::ttyname(std::os::fd::AsRawFd::as_raw_fd(&slave)).unwrap();
    let tty = tty.to_str().unwrap();
    let sim = Sim::start(&[
        "c100",
        "--serial",
        C100_SERIAL,
        "--key",
        RFC_KEY_HEX,
        "--port",
        tty,
        "--baud",
        "115200",
    ]);
    assert_eq!(sim.path, tty);
    let mut answers = String::new();
    host.write_all(b"PRESS\r\nINFO\r\n").unwrap();
    let mut buf = [0u8; 256];
    while answers.matches("\r\n").count() < 2 {
        let n = host.read(&mut buf).unwrap();
        answers.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert_eq!(
        answers,
        format!(
            "OTP {}\r\nOK model=c100 serial={C100_SERIAL} kind=event digits=6\r\n",
            rfc_key().hotp(0, Digits::SIX)
        )
    );
    drop(slave);
    assert!(sim.stop(Signal::SIGTERM).success());
}

/// A person at a terminal: the prompt goes to a real PTY's slave, the
/// person (this test) reads it on the master side and types the code off a
/// C100 with Enter, which the terminal's line discipline turns into `\n`.
#[test]
fn the_manual_transport_prompts_and_reads_through_a_terminal() {
    let pair = nix::pty::openpty(None, None).unwrap();
    use std::os::fd::FromRawFd;
    // SAFETY: fresh descriptors from openpty, owned by nothing else.
    let (mut master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(pair.master),
            std::fs::File::from_raw_fd(pair.slave),
        )
    };
    let serial = Serial::parse(C100_SERIAL).unwrap();
    let mut fob = Virtual::new(C100::new(serial, SecretKey::from_hex(RFC_KEY_HEX).unwrap()));
    let info: DeviceInfo = fob.info().unwrap();
    // The person's end stays open until the presses are read: closing a
    // PTY master hangs up the terminal and drops what was typed.
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let person = std::thread::spawn(move || {
        let mut seen = String::new();
        let mut buf = [0u8; 256];
        for _ in 0..2 {
            while !seen.ends_with("code: ") {
                let n = master.read(&mut buf).expect("the prompt arrives");
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            let code = fob.press().unwrap().to_string();
            master.write_all(format!("{code}\r").as_bytes()).unwrap();
            seen.push_str(" | ");
        }
        let _ = finished.recv();
        seen
    });
    let mut manual = Manual::new(info, BufReader::new(slave.try_clone().unwrap()), slave);
    let codes = [manual.press().unwrap(), manual.press().unwrap()];
    done.send(()).unwrap();
    let transcript = person.join().unwrap();
    assert_eq!(
        codes,
        [
            rfc_key().hotp(0, Digits::SIX),
            rfc_key().hotp(1, Digits::SIX)
        ]
    );
    assert!(
        transcript
            .starts_with("Press the button on c100 1000133508267 and type the 6-digit code: "),
        "{transcript}"
    );
    assert_eq!(HashSet::<Code>::from(codes).len(), 2);
}
