//! No secret leaks: the whole conformance suite runs against `tokenrig
//! serve --test-clock` with its log at `trace`, through a target that
//! records every secret the run hands the verifier or reads from it (token
//! keys, passwords, user codes, SMS codes). Then the log, the audit table,
//! the run's report and the error bodies of bad requests carrying secrets
//! are searched for each, keys in hex and in base32. None is found.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::json;
use support::server::{ADMIN_TOKEN, Server};
use tokenrig::clock::UnixTime;
use tokenrig::device::Serial;
use tokenrig::harness::http::Http;
use tokenrig::harness::target::{Offers, Started, Subject, TokenSpec, UserSpec, Verdict};
use tokenrig::harness::{Quiet, RunOptions, Status, Target, TargetError, embedded, report, run};
use tokenrig::user::TaxCode;

/// The secrets a run used, as they could appear in text.
type Seen = Arc<Mutex<BTreeSet<String>>>;

/// A target that passes everything to the real HTTP target and keeps
/// every secret it sees on the way.
struct Recording {
    inner: Http,
    seen: Seen,
}

impl Recording {
    fn keep(&self, secret: &str) {
        self.seen.lock().expect("lock").insert(secret.to_owned());
    }
}

impl Target for Recording {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn offers(&self) -> Offers {
        self.inner.offers()
    }
    fn begin_case(&mut self) -> Result<(), TargetError> {
        self.inner.begin_case()
    }
    fn set_time(&mut self, now: UnixTime) -> Result<(), TargetError> {
        self.inner.set_time(now)
    }
    fn import(&mut self, tokens: &[TokenSpec]) -> Result<(), TargetError> {
        for token in tokens {
            self.keep(&token.key_hex);
            let bytes = data_encoding::HEXLOWER
                .decode(token.key_hex.as_bytes())
                .expect("hex key");
            self.keep(&data_encoding::BASE32_NOPAD.encode(&bytes));
        }
        self.inner.import(tokens)
    }
    fn add_user(&mut self, user: &UserSpec) -> Result<(), TargetError> {
        self.keep(&user.password);
        self.keep(&user.user_code);
        self.inner.add_user(user)
    }
    fn assign(&mut self, user: &TaxCode, serial: Serial) -> Result<(), TargetError> {
        self.inner.assign(user, serial)
    }
    fn validate(&mut self, subject: &Subject, otp: &str) -> Result<Verdict, TargetError> {
        self.inner.validate(subject, otp)
    }
    fn resync(
        &mut self,
        subject: &Subject,
        otp1: &str,
        otp2: &str,
    ) -> Result<Verdict, TargetError> {
        // A user code typed here is the user's (kept at add_user) or a
        // case's made-up one, which its description names on purpose.
        self.inner.resync(subject, otp1, otp2)
    }
    fn unlock(&mut self, serial: Serial) -> Result<(), TargetError> {
        self.inner.unlock(serial)
    }
    fn replace_start(
        &mut self,
        user: &TaxCode,
        password: &str,
        old: Serial,
    ) -> Result<Started, TargetError> {
        // Right passwords were kept at add_user; wrong ones are the case's.
        self.inner.replace_start(user, password, old)
    }
    fn latest_sms_code(&mut self, phone: &str) -> Result<String, TargetError> {
        let code = self.inner.latest_sms_code(phone)?;
        self.keep(&code);
        Ok(code)
    }
    fn replace_sms_code(&mut self, attempt: &str, code: &str) -> Result<Verdict, TargetError> {
        self.inner.replace_sms_code(attempt, code)
    }
    fn replace_device(&mut self, attempt: &str, serial: &str) -> Result<Verdict, TargetError> {
        self.inner.replace_device(attempt, serial)
    }
    fn replace_otps(&mut self, attempt: &str, otps: &[String]) -> Result<Verdict, TargetError> {
        self.inner.replace_otps(attempt, otps)
    }
}

/// Where `secret` occurs in `text` as a whole token: six-digit SMS codes
/// would otherwise match inside any longer number of a trace log.
fn occurs(text: &str, secret: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(secret).any(|(at, _)| {
        !alnum(text[..at].chars().next_back()) && !alnum(text[at + secret.len()..].chars().next())
    })
}

#[test]
fn a_whole_suite_at_trace_leaves_no_secret_in_logs_audit_report_or_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("scan.db").display());
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let server = Server::start_logged(
        &db,
        &["--test-clock"],
        &[("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN), ("RUST_LOG", "trace")],
        log,
    );
    let seen: Seen = Arc::default();
    let target = Recording {
        inner: Http::new(&server.url, ADMIN_TOKEN).expect("HTTP target"),
        seen: Arc::clone(&seen),
    };
    let cases = embedded::cases().expect("the embedded suite");
    let results = run(vec![Box::new(target)], &cases, &RunOptions::new(7), &Quiet);
    assert!(
        results.iter().all(|r| r.status == Status::Pass),
        "{}",
        report::human("scan", &results)
    );

    // Bad requests carrying secrets in the wrong places.
    let secrets: Vec<String> = seen.lock().expect("lock").iter().cloned().collect();
    let sample: Vec<&String> = secrets.iter().take(20).collect();
    let mut bodies = String::new();
    for secret in &sample {
        for body in [
            json!({"serial": secret, "otp": secret}),
            json!({"user": secret, "otp": "123456"}),
            json!({"user_code": secret, "otp1": secret, "otp2": secret}),
        ] {
            let (_, answer) = server.post("/v1/validate", &body);
            bodies.push_str(&answer.to_string());
            let (_, answer) = server.post("/v1/resync", &body);
            bodies.push_str(&answer.to_string());
        }
        let (_, answer) = server.post(
            "/v1/replacements",
            &json!({"user": "rssmra85t10a562s", "password": secret, "old_serial": "1000000000001"}),
        );
        bodies.push_str(&answer.to_string());
    }

    let (_, audit) = server.as_admin("GET", "/v1/admin/audit?limit=10000", None);
    let audit = audit.to_string();
    let report = report::json("scan", 7, &results);
    drop(server);
    let log = std::fs::read_to_string(&log_path).expect("log");
    println!(
        "{} log lines searched for {} secrets",
        log.lines().count(),
        secrets.len()
    );
    // Every line is at trace or above: the filter took, and whatever the
    // server says at its most verbose is in `log`.
    assert!(log.contains(" TRACE "), "the log is not at trace level");
    assert!(
        secrets.len() > 500,
        "only {} secrets recorded",
        secrets.len()
    );
    for secret in &secrets {
        for (name, text) in [
            ("the trace log", &log),
            ("the audit table", &audit),
            ("the run's report", &report),
            ("the error bodies", &bodies),
        ] {
            assert!(
                !occurs(text, secret),
                "a secret ({} chars) appears in {name}",
                secret.len()
            );
        }
    }
}
