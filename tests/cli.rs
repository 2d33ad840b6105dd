//! The `tokenrig` binary's contract: `otp hotp` / `otp totp` against the RFC
//! vectors, and one clear stderr line (exit 2, no panic) for every bad input.

mod vectors;

use std::process::{Command, Output};

use tokenrig::otp::Algorithm;

fn tokenrig(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .args(args)
        .output()
        .expect("the tokenrig binary runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

const RFC4226_KEY_HEX: &str = "3132333435363738393031323334353637383930";

#[test]
fn hotp_prints_the_rfc4226_codes_one_per_line() {
    let out = tokenrig(&[
        "otp",
        "hotp",
        "--key",
        RFC4226_KEY_HEX,
        "--counter",
        "0",
        "--count",
        "10",
    ]);
    let expected: Vec<String> = vectors::hotp_vectors()
        .into_iter()
        .map(|v| v.hotp)
        .collect();
    assert_eq!(stdout(&out), expected.join("\n") + "\n");
}

#[test]
fn hotp_defaults_to_one_code() {
    let out = tokenrig(&["otp", "hotp", "--key", RFC4226_KEY_HEX, "--counter", "9"]);
    assert_eq!(stdout(&out), "520489\n");
}

#[test]
fn hotp_reaches_the_last_counter() {
    let max = u64::MAX.to_string();
    let before = (u64::MAX - 1).to_string();
    let out = tokenrig(&[
        "otp",
        "hotp",
        "--key",
        RFC4226_KEY_HEX,
        "--counter",
        &before,
        "--count",
        "2",
    ]);
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    let last = tokenrig(&["otp", "hotp", "--key", RFC4226_KEY_HEX, "--counter", &max]);
    assert_eq!(lines.len(), 2);
    assert_eq!(stdout(&last).trim_end(), lines[1]);
}

#[test]
fn totp_prints_all_rfc6238_rows() {
    for v in vectors::totp_vectors() {
        let key = vectors::rfc6238_key(v.algorithm);
        let key_hex = data_encoding::HEXLOWER.encode(key.as_bytes());
        let time = v.time.to_string();
        let out = tokenrig(&[
            "otp",
            "totp",
            "--key",
            &key_hex,
            "--time",
            &time,
            "--digits",
            "8",
            "--algo",
            v.algorithm.name(),
        ]);
        assert_eq!(
            stdout(&out),
            format!("{}\n", v.totp),
            "{} at {}",
            v.algorithm,
            v.time
        );
    }
}

#[test]
fn totp_now_prints_one_code_of_the_requested_digits() {
    let out = tokenrig(&[
        "otp",
        "totp",
        "--key",
        RFC4226_KEY_HEX,
        "--now",
        "--digits",
        "7",
        "--step",
        "60",
    ]);
    let text = stdout(&out);
    assert_eq!(text.len(), 8, "seven digits and a newline: {text:?}");
    assert!(text.trim_end().bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn base32_key_gives_the_same_codes_as_hex() {
    // "12345678901234567890" in base32, lower case with a space as users paste it.
    let b32 = tokenrig(&[
        "otp",
        "hotp",
        "--base32",
        "--key",
        "gezdgnbvgy3tqojq gezdgnbvgy3tqojq",
        "--counter",
        "0",
    ]);
    assert_eq!(stdout(&b32), "755224\n");
    let totp = tokenrig(&[
        "otp",
        "totp",
        "--base32",
        "--key",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "--time",
        "59",
        "--digits",
        "8",
    ]);
    assert_eq!(stdout(&totp), "94287082\n");
}

#[test]
fn sha256_and_sha512_hotp_follow_the_totp_vectors() {
    // TOTP at time 59 is HOTP at counter 1, so the RFC 6238 rows pin HOTP
    // with the other two hashes as well.
    for (algo, code) in [
        (Algorithm::Sha256, "46119246"),
        (Algorithm::Sha512, "90693936"),
    ] {
        let key_hex = data_encoding::HEXLOWER.encode(vectors::rfc6238_key(algo).as_bytes());
        let out = tokenrig(&[
            "otp",
            "hotp",
            "--key",
            &key_hex,
            "--counter",
            "1",
            "--digits",
            "8",
            "--algo",
            algo.name(),
        ]);
        assert_eq!(stdout(&out), format!("{code}\n"));
    }
}

/// Each bad input, and the words its error must contain.
const BAD_INPUTS: &[(&[&str], &str)] = &[
    (
        &["otp", "hotp", "--key", "31zz", "--counter", "0"],
        "--key: key is not valid hex",
    ),
    (
        &["otp", "hotp", "--key", "313", "--counter", "0"],
        "not a whole number of bytes",
    ),
    (
        &["otp", "hotp", "--key", "", "--counter", "0"],
        "key is empty",
    ),
    (
        &["otp", "hotp", "--base32", "--key", "GEZ1", "--counter", "0"],
        "not valid base32",
    ),
    (
        &["otp", "hotp", "--key", "3132", "--counter", "-1"],
        "--counter <N>",
    ),
    (
        &[
            "otp",
            "hotp",
            "--key",
            "3132",
            "--counter",
            "18446744073709551616",
        ],
        "whole number from 0",
    ),
    (
        &["otp", "hotp", "--key", "3132", "--counter", "abc"],
        "--counter <N>",
    ),
    (&["otp", "hotp", "--key", "3132"], "--counter <N>"),
    (
        &[
            "otp",
            "hotp",
            "--key",
            "3132",
            "--counter",
            "0",
            "--digits",
            "5",
        ],
        "digits must be 6, 7 or 8",
    ),
    (
        &[
            "otp",
            "hotp",
            "--key",
            "3132",
            "--counter",
            "0",
            "--digits",
            "9",
        ],
        "digits must be 6, 7 or 8",
    ),
    (
        &[
            "otp",
            "hotp",
            "--key",
            "3132",
            "--counter",
            "0",
            "--algo",
            "md5",
        ],
        "expected sha1, sha256 or sha512",
    ),
    (
        &[
            "otp",
            "hotp",
            "--key",
            "3132",
            "--counter",
            "0",
            "--count",
            "0",
        ],
        "must be at least 1",
    ),
    (
        &[
            "otp",
            "hotp",
            "--key",
            "3132",
            "--counter",
            "18446744073709551615",
            "--count",
            "2",
        ],
        "runs past the last counter",
    ),
    (
        &[
            "otp", "totp", "--key", "3132", "--time", "59", "--step", "0",
        ],
        "at least 1",
    ),
    (
        &["otp", "totp", "--key", "3132", "--time", "-5"],
        "--time <UNIX_SECONDS>",
    ),
    (&["otp", "totp", "--key", "3132"], "--time"),
    (
        &["otp", "totp", "--key", "3132", "--time", "5", "--now"],
        "cannot be used with",
    ),
    (
        &["otp", "totp", "--key", "3132", "--time", "5", "--t0", "10"],
        "time 5 is before T0 10",
    ),
    (&["otp", "frobnicate"], "unrecognized subcommand"),
];

#[test]
fn bad_input_is_one_line_on_stderr_with_exit_2() {
    for (args, needle) in BAD_INPUTS {
        let out = tokenrig(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err:?}");
        assert!(err.starts_with("tokenrig: error: "), "{args:?}: {err:?}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        assert!(!err.contains("panicked"), "{args:?}: {err:?}");
    }
}

#[test]
fn errors_never_echo_the_key() {
    // Malformed keys are still secrets: one typo away from the real one.
    let secret = "5ec2e75ec2e75ec2e7zz";
    let out = tokenrig(&["otp", "hotp", "--key", secret, "--counter", "0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(!err.contains("5ec2e7"), "{err}");
}

#[test]
fn help_answers_what_the_commands_take() {
    let top = stdout(&tokenrig(&["--help"]));
    assert!(top.contains("otp") && top.contains("demo"), "{top}");
    let hotp = stdout(&tokenrig(&["otp", "hotp", "--help"]));
    for flag in [
        "--key <HEX>",
        "--counter <N>",
        "--count <K>",
        "--digits <6|7|8>",
        "--algo <sha1|sha256|sha512>",
        "--base32",
    ] {
        assert!(hotp.contains(flag), "hotp help lacks {flag}: {hotp}");
    }
    let totp = stdout(&tokenrig(&["otp", "totp", "--help"]));
    for flag in [
        "--time <UNIX_SECONDS>",
        "--now",
        "--step <SECONDS>",
        "--t0 <UNIX_SECONDS>",
    ] {
        assert!(totp.contains(flag), "totp help lacks {flag}: {totp}");
    }
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&tokenrig(&["completions", shell]));
        assert!(script.contains("conformance"), "{shell}: {script}");
        assert!(script.contains("max-wait"), "{shell}");
    }
    let refused = tokenrig(&["completions", "tcsh"]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&refused.stderr).lines().count(), 1);
}

#[test]
fn man_writes_a_page_per_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("man");
    stdout(&tokenrig(&["man", "--out", out.to_str().expect("utf-8")]));
    let page = std::fs::read_to_string(out.join("tokenrig.1")).expect("tokenrig.1");
    assert!(page.starts_with(".ie") || page.contains(".TH"), "{page}");
    let conformance =
        std::fs::read_to_string(out.join("tokenrig-conformance.1")).expect("a page per command");
    assert!(conformance.contains("max\\-wait"), "{conformance}");
}
