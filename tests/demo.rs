//! `tokenrig demo` as a newcomer runs it: the real binary, its stdout
//! snapshotted (insta) with what varies between runs redacted: the
//! server's port, the report's directory and timings. Keys, serials and
//! answers follow from `--seed`, so the rest is the same on every run.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `tokenrig demo ARGS` with its data directory in `data`.
fn demo(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .arg("demo")
        .args(args)
        .env("XDG_DATA_HOME", data)
        .output()
        .expect("the tokenrig binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// Snapshots `stdout` with the port, `data` and durations redacted.
fn snapshot(name: &str, stdout: &str, data: &Path) {
    let data = regex_escape(&data.display().to_string());
    insta::with_settings!({filters => vec![
        (r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:[PORT]"),
        (data.as_str(), "[DATA]"),
        (r" +\d+(\.\d)? m?s\b", " [TIME]"),
        // The table's ms column.
        (r" +\d+\.\d  ", " [MS]  "),
    ]}, {
        insta::assert_snapshot!(name, stdout);
    });
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[test]
fn the_demo_says_a_line_per_theme_and_per_seed_flow_and_files_the_table() {
    let data = tempfile::tempdir().expect("temp dir");
    let out = demo(&["--seed", "42"], data.path());
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\nstderr: {}",
        out.status,
        text(&out.stderr)
    );
    let report = data.path().join("tokenrig/demo-report.txt");
    let table = std::fs::read_to_string(&report).expect("the full table is in the data dir");
    let cases = tokenrig::harness::embedded::cases().expect("the embedded suite loads");
    for case in &cases {
        assert!(table.contains(&case.id), "{} not in the table", case.id);
    }
    let total = cases.len();
    assert!(
        table.ends_with(&format!(
            "{total} cases: {total} passed, 0 failed, 0 unsupported, 0 errors\n"
        )),
        "{table}"
    );
    assert!(
        stdout.ends_with(&format!("full table: {}\n", report.display())),
        "{stdout}"
    );
    snapshot("demo", &stdout, data.path());
}

#[test]
fn a_case_that_fails_is_named_on_its_theme_line_and_the_demo_fails() {
    let data = tempfile::tempdir().expect("temp dir");
    // Relative: tests run in the package root.
    let small = "tests/fixtures/conformance/small.toml";
    let out = demo(&["--suite", small, "--verbose"], data.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        !data.path().join("tokenrig").exists(),
        "--verbose alone writes no report file"
    );
    snapshot("demo_failing_verbose", &stdout, data.path());
}
