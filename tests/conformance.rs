//! The conformance suite in `fixtures/conformance/` passes against
//! tokenrig's own verifier: in process (builtin target) and over HTTP
//! against the real `tokenrig serve --test-clock`. And `tokenrig
//! conformance` itself: exit codes, --list, --filter, reports on disk.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::server::{ADMIN_TOKEN, Server};
use tokenrig::harness::{self, Builtin, Status, http::Http, report};
use tokenrig::verifier::Policy;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance")
}

fn assert_all_pass(results: &[harness::CaseResult], target: &str) {
    let summary = report::Summary::of(results);
    assert!(summary.all_passed(), "{}", report::human(target, results));
}

#[test]
fn the_suite_passes_against_the_builtin_verifier() {
    let cases = harness::load(&[suite_dir()]).expect("the suite loads");
    assert!(cases.len() >= 80, "the suite has {} cases", cases.len());
    let mut target = Builtin::new(Policy::default());
    let results = harness::run(&mut target, &cases, 7, |_| {});
    assert_all_pass(&results, "builtin");
}

#[test]
fn the_suite_passes_against_serve_over_http() {
    let cases = harness::load(&[suite_dir()]).expect("the suite loads");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("conformance.db").display());
    let server = Server::start_full(
        &db,
        &["--test-clock"],
        &[("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    let mut target = Http::new(&server.url, ADMIN_TOKEN).expect("connects");
    let results = harness::run(&mut target, &cases, 11, |_| {});
    assert_all_pass(&results, &server.url);
}

#[test]
fn without_test_clock_clock_cases_are_unsupported_never_passed() {
    let cases = harness::load(&[suite_dir()]).expect("the suite loads");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("realtime.db").display());
    let server = Server::start(&db);
    let mut target = Http::new(&server.url, ADMIN_TOKEN).expect("connects");
    let moving: Vec<_> = cases
        .iter()
        .filter(|c| {
            c.steps
                .iter()
                .any(|s| matches!(s, harness::scenario::Step::Advance { .. }))
        })
        .cloned()
        .collect();
    assert!(!moving.is_empty());
    let results = harness::run(&mut target, &moving, 3, |_| {});
    assert!(results.iter().all(|r| r.status == Status::Unsupported));
}

#[test]
fn the_command_lists_filters_reports_and_exits_by_result() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tokenrig"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("conformance")
            .args(args)
            .output()
            .expect("tokenrig runs")
    };
    let listed = run(&["--list"]);
    assert!(listed.status.success());
    let list = String::from_utf8_lossy(&listed.stdout);
    assert!(list.lines().count() >= 80, "{list}");
    assert!(list.contains("VAL-EVT-001  "), "{list}");

    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let out = run(&[
        "--filter",
        "VAL-EVT-00*",
        "--seed",
        "5",
        "--junit",
        junit.to_str().expect("utf-8"),
        "--json",
        json.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 failed, 0 unsupported, 0 errors"), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("json");
    assert_eq!(report["seed"], 5);
    assert!(
        std::fs::read_to_string(&junit)
            .expect("junit")
            .contains("<testsuites")
    );

    // A failing suite exits 1; a bad one exits 2 naming the file and line.
    let failing = run(&["--suite", "tests/fixtures/conformance/small.toml"]);
    assert_eq!(failing.status.code(), Some(1));
    let bad_dir = tempfile::tempdir().expect("temp dir");
    let bad = bad_dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[case]]\nid = \"B-1\"\ndescription = \"d\"\nsteps = 3\n",
    )
    .expect("write");
    let refused = run(&["--suite", bad.to_str().expect("utf-8")]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("bad.toml:4:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
