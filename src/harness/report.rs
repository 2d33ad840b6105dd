//! The three report formats: a human table with a summary line, JSON, and
//! JUnit XML (what CI systems read). All are pure functions of the results.

use std::fmt::Write as _;

use serde::Serialize;

use super::runner::{CaseResult, Status};

/// Counts by status.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub unsupported: usize,
    pub errors: usize,
}

impl Summary {
    pub fn of(results: &[CaseResult]) -> Summary {
        let count = |s: Status| results.iter().filter(|r| r.status == s).count();
        Summary {
            total: results.len(),
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            unsupported: count(Status::Unsupported),
            errors: count(Status::Error),
        }
    }

    /// Every case ran and passed.
    pub fn all_passed(&self) -> bool {
        self.passed == self.total
    }
}

/// The table: id, result, duration, description, and the reason under a
/// case that did not pass; then the summary line.
pub fn human(target: &str, results: &[CaseResult]) -> String {
    let id_width = results.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let mut out = String::new();
    let _ = writeln!(out, "conformance against {target}");
    let _ = writeln!(
        out,
        "{:<id_width$}  {:<11}  {:>8}  description",
        "id", "result", "ms"
    );
    for r in results {
        let _ = writeln!(
            out,
            "{:<id_width$}  {:<11}  {:>8.1}  {}",
            r.id,
            r.status.as_str(),
            r.duration.as_secs_f64() * 1000.0,
            r.description
        );
        if let Some(detail) = &r.detail {
            let _ = writeln!(out, "{:<id_width$}  ↳ {detail}", "");
            let _ = writeln!(out, "{:<id_width$}    (case at {})", "", r.origin);
        }
    }
    let s = Summary::of(results);
    let _ = writeln!(
        out,
        "{} cases: {} passed, {} failed, {} unsupported, {} errors",
        s.total, s.passed, s.failed, s.unsupported, s.errors
    );
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    target: &'a str,
    seed: u64,
    summary: Summary,
    cases: Vec<JsonCase<'a>>,
}

#[derive(Serialize)]
struct JsonCase<'a> {
    id: &'a str,
    description: &'a str,
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// `file:line` of the case (`embedded:<file>` inside the binary).
    source: &'a str,
    duration_ms: f64,
}

pub fn json(target: &str, seed: u64, results: &[CaseResult]) -> String {
    let report = JsonReport {
        target,
        seed,
        summary: Summary::of(results),
        cases: results
            .iter()
            .map(|r| JsonCase {
                id: &r.id,
                description: &r.description,
                result: r.status.as_str(),
                reason: r.detail.as_deref(),
                source: &r.origin,
                duration_ms: (r.duration.as_secs_f64() * 1e6).round() / 1e3,
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

/// JUnit XML: one testsuite, one testcase per case; a failure or error
/// element with the reason; unsupported cases as `skipped` with theirs.
pub fn junit(target: &str, results: &[CaseResult]) -> String {
    let s = Summary::of(results);
    let total: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"tokenrig conformance\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{total:.3}\">",
        s.total, s.failed, s.errors, s.unsupported
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{total:.3}\">",
        xml(target),
        s.total,
        s.failed,
        s.errors,
        s.unsupported
    );
    for r in results {
        let open = format!(
            "    <testcase classname=\"conformance\" name=\"{} {}\" file=\"{}\" time=\"{:.3}\"",
            xml(&r.id),
            xml(&r.description),
            xml(&r.origin),
            r.duration.as_secs_f64()
        );
        let detail = xml(r.detail.as_deref().unwrap_or(""));
        let _ = match r.status {
            Status::Pass => writeln!(out, "{open}/>"),
            Status::Fail => writeln!(
                out,
                "{open}>\n      <failure message=\"{detail}\"/>\n    </testcase>"
            ),
            Status::Error => writeln!(
                out,
                "{open}>\n      <error message=\"{detail}\"/>\n    </testcase>"
            ),
            Status::Unsupported => writeln!(
                out,
                "{open}>\n      <skipped message=\"unsupported: {detail}\"/>\n    </testcase>"
            ),
        };
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Escapes text for an XML attribute.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}
