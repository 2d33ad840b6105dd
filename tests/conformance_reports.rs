//! The three report formats, snapshotted (insta) for a fixed small suite
//! run against the builtin target, and against the same target with its
//! clock control hidden (so one case is `unsupported`). Durations are
//! zeroed: they are the only thing that varies between runs.

use std::path::PathBuf;
use std::time::Duration;

use tokenrig::clock::UnixTime;
use tokenrig::device::Serial;
use tokenrig::harness::{
    self, Builtin, CaseResult, Subject, Target, TargetError, TokenSpec, UserSpec, Verdict, report,
};
use tokenrig::user::TaxCode;
use tokenrig::verifier::Policy;

fn suite() -> Vec<harness::Case> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance/small.toml");
    harness::load(&[path]).expect("the snapshot suite loads")
}

fn zeroed(mut results: Vec<CaseResult>) -> Vec<CaseResult> {
    for r in &mut results {
        r.duration = Duration::ZERO;
    }
    results
}

/// The builtin target without clock control, as an HTTP target on real
/// time would be.
struct NoClock(Builtin);

impl Target for NoClock {
    fn name(&self) -> String {
        "builtin without clock control".to_owned()
    }
    fn clock_control(&self) -> bool {
        false
    }
    fn begin_case(&mut self) -> Result<(), TargetError> {
        self.0.begin_case()
    }
    fn set_time(&mut self, now: UnixTime) -> Result<(), TargetError> {
        self.0.set_time(now)
    }
    fn import(&mut self, tokens: &[TokenSpec]) -> Result<(), TargetError> {
        self.0.import(tokens)
    }
    fn add_user(&mut self, user: &UserSpec) -> Result<(), TargetError> {
        self.0.add_user(user)
    }
    fn assign(&mut self, user: &TaxCode, serial: Serial) -> Result<(), TargetError> {
        self.0.assign(user, serial)
    }
    fn validate(&mut self, subject: &Subject, otp: &str) -> Result<Verdict, TargetError> {
        self.0.validate(subject, otp)
    }
    fn resync(&mut self, s: &Subject, a: &str, b: &str) -> Result<Verdict, TargetError> {
        self.0.resync(s, a, b)
    }
    fn unlock(&mut self, serial: Serial) -> Result<(), TargetError> {
        self.0.unlock(serial)
    }
    fn replace_start(&mut self, u: &TaxCode, p: &str, old: Serial) -> Result<Verdict, TargetError> {
        self.0.replace_start(u, p, old)
    }
    fn latest_sms_code(&mut self, phone: &str) -> Result<String, TargetError> {
        self.0.latest_sms_code(phone)
    }
    fn replace_sms_code(&mut self, a: &str, c: &str) -> Result<Verdict, TargetError> {
        self.0.replace_sms_code(a, c)
    }
    fn replace_device(&mut self, a: &str, s: &str) -> Result<Verdict, TargetError> {
        self.0.replace_device(a, s)
    }
    fn replace_otps(&mut self, a: &str, o: &[String]) -> Result<Verdict, TargetError> {
        self.0.replace_otps(a, o)
    }
}

#[test]
fn reports_of_a_small_suite() {
    let cases = suite();
    let mut builtin = Builtin::new(Policy::default());
    let results = zeroed(harness::run(&mut builtin, &cases, 42, |_| {}));
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
    let mut target = NoClock(Builtin::new(Policy::default()));
    let results = zeroed(harness::run(&mut target, &cases, 42, |_| {}));
    let statuses: Vec<&str> = results.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["pass", "fail", "unsupported", "pass"]);
    assert!(!report::Summary::of(&results).all_passed());
    insta::assert_snapshot!("human_no_clock", report::human(&target.name(), &results));
    insta::assert_snapshot!("junit_no_clock", report::junit(&target.name(), &results));
}
