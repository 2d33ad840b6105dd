//! The admin CLI end to end: the real `tokenrig` binary against an SQLite
//! store in a temporary directory. Inventory from `fixtures/inventory/`,
//! codes computed here from the fixture's keys with the OTP core, or by
//! Debian's oathtool for files written by another PSKC implementation.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey, TimeStep, TotpParams};

/// A fixed test secret for the store (64 hex characters).
const STORE_KEY: &str = "7f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a";
const USER: &str = "RSSMRA85T10A562S";
const USER_CODE: &str = "LIC4X7Q9";
const PASSWORD: &str = "correct horse battery staple";
const C100: &str = "1909107966482";
const C200: &str = "2630489071652";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/inventory")
        .join(name)
}

/// The key of `serial` in `fleet.csv` (`serial,kind,key,digits,step`).
fn fleet_key(serial: &str) -> OtpKey {
    let csv = std::fs::read_to_string(fixture("fleet.csv")).expect("fleet.csv reads");
    let hex = csv
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[0] == serial)
        .map(|f| f[2].to_owned())
        .expect("serial in fleet.csv");
    OtpKey::new(
        Algorithm::Sha1,
        &SecretKey::from_hex(&hex).expect("hex key"),
    )
}

fn six() -> Digits {
    "6".parse().expect("6 digits")
}

fn hotp(serial: &str, counter: u64) -> String {
    fleet_key(serial).hotp(counter, six()).to_string()
}

/// One store in a temporary directory, and the binary pointed at it.
struct Rig {
    dir: TempDir,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn db(&self) -> String {
        format!("sqlite:{}", self.dir.path().join("store.db").display())
    }

    /// Runs `tokenrig <command> --db … <args>`, feeding `stdin`.
    fn run_with(&self, command: &[&str], args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenrig"))
            .args(command)
            .args(["--db", &self.db()])
            .args(args)
            .env("TOKENRIG_STORE_KEY", STORE_KEY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the tokenrig binary runs");
        let written = child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(stdin.as_bytes());
        // A command that refuses its arguments exits before reading stdin;
        // the closed pipe is then its answer, not a test failure.
        if let Err(e) = written {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe,
                "stdin written: {e}"
            );
        }
        child.wait_with_output().expect("tokenrig finishes")
    }

    fn run(&self, command: &[&str], args: &[&str]) -> Output {
        self.run_with(command, args, "")
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, command: &[&str], args: &[&str]) -> String {
        let out = self.run(command, args);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// The fleet imported and `USER` added, holding the C100.
    fn with_user_and(serial: &str) -> Rig {
        let rig = Rig::new();
        let fleet = fixture("fleet.csv");
        assert_eq!(
            rig.ok(&["import"], &[fleet.to_str().expect("utf-8 path")]),
            "imported 5 tokens\n"
        );
        let out = rig.run_with(
            &["user", "add"],
            &[
                "--username",
                USER,
                "--phone",
                "+393331234567",
                "--user-code",
                USER_CODE,
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        );
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        assert!(!String::from_utf8_lossy(&out.stdout).contains(PASSWORD));
        rig.ok(&["assign"], &["--user", USER, "--serial", serial]);
        rig
    }

    /// `check --serial S --otp CODE`: (exit code, stdout).
    fn check(&self, serial: &str, otp: &str, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["--serial", serial, "--otp", otp];
        args.extend_from_slice(extra);
        verdict(self.run(&["check"], &args))
    }
}

fn verdict(out: Output) -> (i32, String) {
    assert!(out.stderr.is_empty(), "{}", describe(&out));
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
    )
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Exit 2 and exactly one `tokenrig: error:` line on stderr, naming none
/// of `secrets`.
fn assert_bad_input(out: &Output, secrets: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", describe(out));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("tokenrig: error: "), "{stderr}");
    for secret in secrets {
        assert!(!stderr.contains(secret), "{secret:?} echoed: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    }
}

#[test]
fn tokens_lists_the_fleet_and_the_assignment() {
    let rig = Rig::with_user_and(C100);
    let table = rig.ok(&["tokens"], &[]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 6, "{table}");
    assert!(lines[0].starts_with("SERIAL"), "{table}");
    let mine = rig.ok(&["tokens"], &["--user", USER]);
    let rows: Vec<Vec<&str>> = mine
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [[C100, "c100", "active", "0", "0", "no", "rssmra85t10a562s"]]
    );
}

#[test]
fn check_accepts_in_window_rejects_beyond_it_and_replays() {
    let rig = Rig::with_user_and(C100);
    assert_eq!(
        rig.check(C100, &hotp(C100, 40), &[]),
        (1, "rejected: bad_otp\n".to_owned())
    );
    assert_eq!(
        verdict(rig.run(&["check"], &["--user", USER, "--otp", &hotp(C100, 9)])),
        (0, "accepted\n".to_owned())
    );
    assert_eq!(
        rig.check(C100, &hotp(C100, 9), &[]),
        (1, "rejected: replayed\n".to_owned())
    );
    assert_eq!(
        rig.check(C100, &hotp(C100, 3), &[]),
        (1, "rejected: replayed\n".to_owned())
    );
    assert_eq!(
        rig.check(C100, &hotp(C100, 10), &[]),
        (0, "accepted\n".to_owned())
    );
    let listed = rig.ok(&["tokens"], &["--user", USER]);
    assert!(listed.contains(" 11 "), "{listed}");
}

#[test]
fn check_at_a_given_time_evaluates_a_time_token_then() {
    let rig = Rig::with_user_and(C200);
    let at = 1_800_000_000u64;
    let params = TotpParams {
        step: TimeStep::from_secs(60).expect("60 s step"),
        t0: 0,
    };
    let code = fleet_key(C200)
        .totp(at, params, six())
        .expect("totp")
        .to_string();
    let time = at.to_string();
    assert_eq!(
        rig.check(C200, &code, &["--time", &time]),
        (0, "accepted\n".to_owned())
    );
    assert_eq!(
        rig.check(C200, &code, &["--time", &time]),
        (1, "rejected: replayed\n".to_owned())
    );
    // The same code a day later is far outside the window; a day later's
    // own code is accepted then.
    let later = at + 86_400;
    let later_code = fleet_key(C200)
        .totp(later, params, six())
        .expect("totp")
        .to_string();
    let later = later.to_string();
    assert_eq!(
        rig.check(C200, &code, &["--time", &later]),
        (1, "rejected: bad_otp\n".to_owned())
    );
    assert_eq!(
        rig.check(C200, &later_code, &["--time", &later]),
        (0, "accepted\n".to_owned())
    );
}

#[test]
fn ten_failures_lock_the_token_until_unlock() {
    let rig = Rig::with_user_and(C100);
    for i in 0..10 {
        assert_eq!(
            rig.check(C100, &hotp(C100, 100 + i), &[]),
            (1, "rejected: bad_otp\n".to_owned()),
            "failure {i}"
        );
    }
    assert_eq!(
        rig.check(C100, &hotp(C100, 0), &[]),
        (1, "rejected: locked\n".to_owned())
    );
    let listed = rig.ok(&["tokens"], &[]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(C100) && l.contains(" 10 ") && l.contains(" yes ")),
        "{listed}"
    );
    assert_eq!(
        rig.ok(&["unlock"], &["--serial", C100]),
        format!("unlocked {C100}\n")
    );
    assert_eq!(
        rig.check(C100, &hotp(C100, 0), &[]),
        (0, "accepted\n".to_owned())
    );
}

#[test]
fn resync_by_serial_500_presses_ahead() {
    let rig = Rig::with_user_and(C100);
    assert_eq!(
        rig.check(C100, &hotp(C100, 500), &[]),
        (1, "rejected: bad_otp\n".to_owned())
    );
    let out = rig.run(
        &["resync"],
        &[
            "--serial",
            C100,
            "--otp1",
            &hotp(C100, 500),
            "--otp2",
            &hotp(C100, 501),
        ],
    );
    assert_eq!(verdict(out), (0, "synchronised\n".to_owned()));
    assert_eq!(
        rig.check(C100, &hotp(C100, 501), &[]),
        (1, "rejected: replayed\n".to_owned())
    );
    assert_eq!(
        rig.check(C100, &hotp(C100, 502), &[]),
        (0, "accepted\n".to_owned())
    );
}

#[test]
fn resync_by_user_code_500_presses_ahead() {
    let rig = Rig::with_user_and(C100);
    let resync = |otp1: u64, otp2: u64| {
        verdict(rig.run(
            &["resync"],
            &[
                "--user-code",
                USER_CODE,
                "--otp1",
                &hotp(C100, otp1),
                "--otp2",
                &hotp(C100, otp2),
            ],
        ))
    };
    assert_eq!(resync(501, 500), (1, "rejected: reversed\n".to_owned()));
    assert_eq!(resync(500, 501), (0, "synchronised\n".to_owned()));
    assert_eq!(
        verdict(rig.run(&["check"], &["--user", USER, "--otp", &hotp(C100, 502)])),
        (0, "accepted\n".to_owned())
    );
}

#[test]
fn bad_input_is_one_stderr_line_exit_2_and_echoes_no_secret() {
    let rig = Rig::with_user_and(C100);
    let code = hotp(C100, 0);
    assert_bad_input(
        &rig.run(&["check"], &["--serial", "1909107966499", "--otp", &code]),
        &[&code],
    );
    assert_bad_input(
        &rig.run(
            &["check"],
            &["--serial", C100, "--otp", &code, "--time", "soon"],
        ),
        &[&code],
    );
    assert_bad_input(&rig.run(&["check"], &["--otp", &code]), &[&code]);
    assert_bad_input(
        &rig.run(
            &["resync"],
            &["--user-code", "ZZ99ZZ99", "--otp1", &code, "--otp2", &code],
        ),
        &["ZZ99ZZ99", &code],
    );
    assert_bad_input(
        &rig.run(
            &["resync"],
            &["--user-code", "sekr!t99", "--otp1", &code, "--otp2", &code],
        ),
        &["sekr!t99", &code],
    );
    let user_add = |user_code: &str, stdin: &str| {
        rig.run_with(
            &["user", "add"],
            &[
                "--username",
                "BNCGVN80A01F205M",
                "--phone",
                "+393330000000",
                "--user-code",
                user_code,
                "--password-stdin",
            ],
            stdin,
        )
    };
    assert_bad_input(
        &user_add("bad code!", "hunter2hunter2\n"),
        &["bad code!", "hunter2"],
    );
    assert_bad_input(&user_add("GOOD1234", "\n"), &["GOOD1234"]);
    assert_bad_input(
        &user_add(USER_CODE, "hunter2hunter2\n"),
        &[USER_CODE, "hunter2"],
    );
    let fleet = fixture("fleet-encrypted.pskc");
    let fleet = fleet.to_str().expect("utf-8 path");
    assert_bad_input(
        &rig.run(
            &["import"],
            &[fleet, "--pskc-key", "00112233445566778899aabbccddeeZZ"],
        ),
        &["00112233445566778899aabbccddee"],
    );
    assert_bad_input(
        &rig.run(
            &["check"],
            &[
                "--db",
                "postgres://admin:pgsecret@localhost/tokenrig",
                "--serial",
                C100,
                "--otp",
                &code,
            ],
        ),
        &["pgsecret", &code],
    );
    assert_bad_input(
        &rig.run(&["assign"], &["--user", USER, "--serial", "12"]),
        &[],
    );
}

#[test]
fn a_bad_file_imports_nothing_from_any_file() {
    let rig = Rig::new();
    let junk = rig.dir.path().join("inventory.bin");
    std::fs::write(&junk, "not an inventory\n").expect("junk written");
    let fleet = fixture("fleet.csv");
    let fleet = fleet.to_str().expect("utf-8 path");
    for bad in [
        fixture("invalid/bad-key.csv"),
        fixture("invalid/bad-entry.pskc"),
        junk,
    ] {
        let bad = bad.to_str().expect("utf-8 path");
        let out = rig.run(&["import"], &[fleet, bad]);
        assert_bad_input(&out, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(bad), "names the file: {stderr}");
        assert_eq!(
            rig.ok(&["tokens"], &[]).lines().count(),
            1,
            "only the header"
        );
    }
    assert_eq!(rig.ok(&["import"], &[fleet]), "imported 5 tokens\n");
    assert_bad_input(&rig.run(&["import"], &[fleet]), &[]);
    assert_eq!(rig.ok(&["tokens"], &[]).lines().count(), 6);
}

#[test]
fn import_reads_pskc_otpauth_and_encrypted_pskc_with_its_key() {
    // fleet.pskc, fleet-encrypted.pskc and fleet.txt hold one 3-token fleet.
    for name in ["fleet.pskc", "fleet.txt"] {
        let rig = Rig::new();
        let path = fixture(name);
        assert_eq!(
            rig.ok(&["import"], &[path.to_str().expect("utf-8 path")]),
            "imported 3 tokens\n",
            "{name}"
        );
    }
    let rig = Rig::new();
    let path = fixture("fleet-encrypted.pskc");
    let path = path.to_str().expect("utf-8 path");
    let wrong = "00112233445566778899aabbccddeeff";
    assert_bad_input(
        &rig.run(&["import"], &[path, "--pskc-key", wrong]),
        &[wrong],
    );
    assert_bad_input(&rig.run(&["import"], &[path]), &[]);
    assert_eq!(
        rig.ok(&["tokens"], &[]).lines().count(),
        1,
        "only the header"
    );
    let right = "a0b1c2d3e4f5061728394a5b6c7d8e9f";
    assert_eq!(
        rig.ok(&["import"], &[path, "--pskc-key", right]),
        "imported 3 tokens\n"
    );
    assert!(rig.ok(&["tokens"], &[]).contains("1000133508267"));
}

#[test]
fn without_db_the_store_is_created_under_the_data_dir() {
    let data = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .arg("tokens")
        .env("XDG_DATA_HOME", data.path())
        .env("TOKENRIG_STORE_KEY", STORE_KEY)
        .output()
        .expect("the tokenrig binary runs");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(data.path().join("tokenrig/tokenrig.db").is_file());
}

/// Runs oathtool, the independent reference, for one code.
fn oathtool(oathtool: &Path, args: &[&str]) -> String {
    let out = Command::new(oathtool)
        .args(args)
        .output()
        .expect("oathtool runs");
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn files_written_by_python_pskc_import_and_give_oathtool_codes() {
    // fixtures/inventory/python-pskc/: the fleet.csv tokens written by
    // python-pskc, plain, under a pre-shared key and under a password.
    let Some(oathtool_bin) = support::require_tool("oathtool", "oathtool") else {
        return;
    };
    let file = |name: &str| {
        fixture("python-pskc")
            .join(name)
            .to_str()
            .expect("utf-8 path")
            .to_owned()
    };
    let preshared = "12345678123456781234567812345678";
    let password = "correct horse battery staple";

    let plain = Rig::new();
    assert_eq!(
        plain.ok(&["import"], &[&file("fleet-plain.pskc")]),
        "imported 5 tokens\n"
    );
    let keyed = Rig::new();
    assert_eq!(
        keyed.ok(
            &["import"],
            &[&file("fleet-preshared.pskc"), "--pskc-key", preshared]
        ),
        "imported 5 tokens\n"
    );

    let by_password = Rig::new();
    let path = file("fleet-password.pskc");
    let wrong = by_password.run_with(
        &["import"],
        &[&path, "--pskc-password-stdin"],
        "not the password\n",
    );
    assert_bad_input(&wrong, &["not the password"]);
    assert_eq!(
        by_password.ok(&["tokens"], &[]).lines().count(),
        1,
        "a wrong password imports nothing"
    );
    let out = by_password.run_with(
        &["import"],
        &[&path, "--pskc-password-stdin"],
        &format!("{password}\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "imported 5 tokens\n",
        "{}",
        describe(&out)
    );

    // The keys came through: each store accepts oathtool's codes.
    let c100_key = "e0573ff0cea6f5aae891e353ef23448b21b20902";
    let c200_key = "fb629f61551d47bd9593f765f309d18821e1b546";
    let time = "1700000000";
    for rig in [&plain, &keyed, &by_password] {
        let event = oathtool(&oathtool_bin, &["--hotp", "-c", "3", c100_key]);
        assert_eq!(rig.check(C100, &event, &[]), (0, "accepted\n".to_owned()));
        let at = format!("@{time}");
        let timed = oathtool(&oathtool_bin, &["--totp", "-s", "60", "-N", &at, c200_key]);
        assert_eq!(
            rig.check(C200, &timed, &["--time", time]),
            (0, "accepted\n".to_owned())
        );
    }
}

#[test]
fn vendor_serials_and_privacyideas_oath_csv_import_and_give_oathtool_codes() {
    // Serials outside the 13-digit layout (fixtures/inventory/odd-serials.csv)
    // and privacyIDEA's headerless OATH CSV, its defaults and its
    // key-length rule for the hash (fixtures/inventory/privacyidea-oath.csv).
    let Some(oathtool_bin) = support::require_tool("oathtool", "oathtool") else {
        return;
    };
    let rig = Rig::new();
    let odd = fixture("odd-serials.csv");
    let oath = fixture("privacyidea-oath.csv");
    assert_eq!(
        rig.ok(
            &["import"],
            &[odd.to_str().expect("utf-8"), oath.to_str().expect("utf-8")]
        ),
        "imported 9 tokens\n"
    );
    let listed = rig.ok(&["tokens"], &[]);
    for serial in [
        "987654321",
        "ZZ9000000001",
        "306EUO4-00954",
        "TOTP-60-SHA256",
    ] {
        assert!(listed.contains(serial), "{listed}");
    }
    let time = "1700000000";
    let at = format!("@{time}");
    let rfc_key = "3132333435363738393031323334353637383930";
    let cases: [(&str, Vec<&str>, &[&str]); 6] = [
        ("987654321", vec!["--hotp", "-c", "0", rfc_key], &[]),
        (
            "306EUO4-00954",
            vec![
                "--hotp",
                "-d",
                "8",
                "-c",
                "2",
                "fb629f61551d47bd9593f765f309d18821e1b546",
            ],
            &[],
        ),
        (
            "ZZ9000000001",
            vec![
                "--totp",
                "-s",
                "30",
                "-N",
                &at,
                "e0573ff0cea6f5aae891e353ef23448b21b20902",
            ],
            &["--time", time],
        ),
        (
            "OATH0002B",
            vec![
                "--hotp",
                "-d",
                "8",
                "-c",
                "17",
                "e0573ff0cea6f5aae891e353ef23448b21b20902",
            ],
            &[],
        ),
        (
            "TOTP-30",
            vec![
                "--totp",
                "-s",
                "30",
                "-N",
                &at,
                "fb629f61551d47bd9593f765f309d18821e1b546",
            ],
            &["--time", time],
        ),
        (
            "TOTP-60-SHA256",
            vec![
                "--totp=SHA256",
                "-s",
                "60",
                "-N",
                &at,
                "3132333435363738393031323334353637383930313233343536373839303132",
            ],
            &["--time", time],
        ),
    ];
    for (serial, args, extra) in cases {
        let code = oathtool(&oathtool_bin, &args);
        assert_eq!(
            rig.check(serial, &code, extra),
            (0, "accepted\n".to_owned()),
            "{serial}"
        );
    }
}
