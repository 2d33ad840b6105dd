//! The conformance suite in `fixtures/conformance/` passes against
//! tokenrig's own verifier: in process (builtin target) and over HTTP
//! against the real `tokenrig serve --test-clock`. And `tokenrig
//! conformance` itself: exit codes, --list, --filter, reports on disk.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::Duration;
use support::server::{ADMIN_TOKEN, Server};

use tokenrig::harness::{
    self, Builtin, ClockControl, Quiet, RunOptions, Status, Target, http::Http, report,
};
use tokenrig::verifier::Policy;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance")
}

fn assert_all_pass(results: &[harness::CaseResult], target: &str) {
    let summary = report::Summary::of(results);
    assert!(summary.all_passed(), "{}", report::human(target, results));
}

/// `jobs` connections to one HTTP verifier.
fn http_targets(url: &str, jobs: usize) -> Vec<Box<dyn Target>> {
    (0..jobs)
        .map(|_| Box::new(Http::new(url, ADMIN_TOKEN).expect("connects")) as Box<dyn Target>)
        .collect()
}

#[test]
fn the_suite_passes_against_the_builtin_verifier() {
    let cases = harness::load(&[suite_dir()]).expect("the suite loads");
    assert!(cases.len() >= 80, "the suite has {} cases", cases.len());
    // Four cases at once, each on its own store and clock.
    let targets: Vec<Box<dyn Target>> = (0..4)
        .map(|_| Box::new(Builtin::new(Policy::default())) as Box<dyn Target>)
        .collect();
    let results = harness::run(targets, &cases, &RunOptions::new(7), &Quiet);
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
    // The server has one clock: the runner takes one connection of these.
    let results = harness::run(
        http_targets(&server.url, 4),
        &cases,
        &RunOptions::new(11),
        &Quiet,
    );
    assert_all_pass(&results, &server.url);
}

/// One seed twice against one long-lived `serve`: with a new run id the
/// second run imports fresh serials and users and passes like the first;
/// the same run id replays the first run exactly, so its imports collide.
#[test]
fn one_seed_runs_twice_against_one_server() {
    let cases: Vec<_> = harness::load(&[suite_dir()])
        .expect("the suite loads")
        .into_iter()
        .filter(|case| case.id.starts_with("VAL-EVT-") || case.id.starts_with("REP-"))
        .collect();
    assert!(cases.len() >= 10, "{} cases", cases.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("twice.db").display());
    let server = Server::start_full(
        &db,
        &["--test-clock"],
        &[("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    let run = |run_id: u64| {
        let options = RunOptions {
            run_id,
            ..RunOptions::new(17)
        };
        harness::run(http_targets(&server.url, 1), &cases, &options, &Quiet)
    };
    assert_all_pass(&run(1), &server.url);
    assert_all_pass(&run(2), &server.url);
    let replayed = run(1);
    let summary = report::Summary::of(&replayed);
    assert_eq!(
        summary.errors,
        cases.len(),
        "{}",
        report::human(&server.url, &replayed)
    );
    assert!(
        replayed.iter().all(|r| r
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("already in the store")),
        "{}",
        report::human(&server.url, &replayed)
    );
}

/// The whole suite against `tokenrig serve` on real time: no case fails
/// (a correct verifier is never reported broken), each unsupported one
/// says why, and they are exactly the cases that pin an instant, move the
/// clock past the wait bound, or read a time step at an instant the wall
/// clock cannot be trusted to give.
#[test]
fn on_real_time_no_case_fails_and_the_unsupported_say_why() {
    let cases = harness::load(&[suite_dir()]).expect("the suite loads");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("realtime.db").display());
    let server = Server::start(&db);
    let targets = http_targets(&server.url, 32);
    assert_eq!(targets[0].offers().clock, ClockControl::None);
    let mut options = RunOptions::new(3);
    options.max_wait = Duration::from_secs(60);
    let results = harness::run(targets, &cases, &options, &Quiet);
    let report = report::human(&server.url, &results);
    let summary = report::Summary::of(&results);
    assert_eq!((summary.failed, summary.errors), (0, 0), "{report}");
    for (case, result) in cases.iter().zip(&results) {
        let pinned = case.start.is_some();
        let long = case.steps.iter().map(|s| s.advance()).sum::<Duration>() > options.max_wait;
        let detail = result.detail.as_deref().unwrap_or("");
        match result.status {
            Status::Pass => assert!(!pinned && !long, "{}: passed on real time", case.id),
            Status::Unsupported if pinned => {
                assert!(detail.contains("pins the instant"), "{detail}")
            }
            Status::Unsupported if long => assert!(detail.contains("--max-wait"), "{detail}"),
            Status::Unsupported => {
                assert!(
                    detail.contains("step boundary") || detail.contains("lifetime"),
                    "{}: {detail}",
                    case.id
                )
            }
            other => panic!("{}: {other:?}", case.id),
        }
    }
    // Most of the suite runs: everything but the pinned RFC instants,
    // drift over months and waits past a minute.
    assert!(summary.passed * 100 >= results.len() * 65, "{report}");
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

    // The suite is inside the binary: it lists, runs and exports from
    // any directory.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let in_dir = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tokenrig"))
            .current_dir(elsewhere.path())
            .arg("conformance")
            .args(args)
            .output()
            .expect("tokenrig runs")
    };
    let listed_elsewhere = in_dir(&["--list"]);
    assert!(listed_elsewhere.status.success());
    assert_eq!(listed_elsewhere.stdout, listed.stdout);
    let ran = in_dir(&["--filter", "RSY-EVT-00*", "--json", "r.json"]);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(elsewhere.path().join("r.json")).expect("json"))
            .expect("json");
    let source = report["cases"][0]["source"].as_str().expect("source");
    assert!(source.starts_with("embedded:40-resync.toml:"), "{source}");
    let exported = in_dir(&["--export", "mine"]);
    assert!(exported.status.success());
    let copy = in_dir(&["--suite", "mine", "--list"]);
    assert_eq!(copy.stdout, listed.stdout);
    let again = in_dir(&["--export", "mine"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not overwriting"));

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
