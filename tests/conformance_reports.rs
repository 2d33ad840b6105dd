//! The three report formats, snapshotted (insta) for a fixed small suite
//! run against the builtin target, and against the same verifier on the
//! wall clock (so the case that moves the clock a day is `unsupported`). Durations are
//! zeroed: they are the only thing that varies between runs.

use std::path::PathBuf;
use std::time::Duration;

use tokenrig::harness::{self, Builtin, CaseResult, Quiet, RunOptions, Target, report};
use tokenrig::verifier::Policy;

fn suite() -> Vec<harness::Case> {
    // Relative (tests run in the package root), so the reports' `file:line`
    // is the same on every machine.
    let path = PathBuf::from("tests/fixtures/conformance/small.toml");
    harness::load(&[path]).expect("the snapshot suite loads")
}

fn zeroed(mut results: Vec<CaseResult>) -> Vec<CaseResult> {
    for r in &mut results {
        r.duration = Duration::ZERO;
    }
    results
}

#[test]
fn reports_of_a_small_suite() {
    let cases = suite();
    let builtin: Box<dyn Target> = Box::new(Builtin::new(Policy::default()));
    let results = zeroed(harness::run(
        vec![builtin],
        &cases,
        &RunOptions::new(42),
        &Quiet,
    ));
    let statuses: Vec<&str> = results.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["pass", "fail", "pass", "pass"]);
    insta::assert_snapshot!("human", report::human("builtin", &results));
    insta::assert_snapshot!("json", report::json("builtin", 42, &results));
    let junit = report::junit("builtin", &results);
    let doc = roxmltree::Document::parse(&junit).expect("JUnit XML is well-formed");
    let testcases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(testcases, 4);
    insta::assert_snapshot!("junit", junit);
}

#[test]
fn a_target_without_clock_control_reports_clock_cases_unsupported() {
    let cases = suite();
    let target: Box<dyn Target> = Box::new(Builtin::on_wall_clock(Policy::default()));
    let name = "builtin without clock control";
    let results = zeroed(harness::run(
        vec![target],
        &cases,
        &RunOptions::new(42),
        &Quiet,
    ));
    let statuses: Vec<&str> = results.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["pass", "fail", "unsupported", "pass"]);
    assert!(!report::Summary::of(&results).all_passed());
    insta::assert_snapshot!("human_no_clock", report::human(name, &results));
    insta::assert_snapshot!("junit_no_clock", report::junit(name, &results));
}
