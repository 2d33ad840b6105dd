//! The suite's results by theme, one line each: what a newcomer reads
//! instead of the whole table.
//!
//! A case's theme is its id's first word (`VAL-EVT-003` → `VAL`), the
//! convention every file of `fixtures/conformance/` follows: one theme per
//! file, the two validation files sharing one. A case whose id fits none
//! (a suite of one's own, `--suite`) is counted under "other".

use std::fmt::Write as _;
use std::time::Duration;

use tokenrig::harness::{CaseResult, Status};

/// Id prefix → theme, in the order the summary shows them.
const THEMES: [(&str, &str); 7] = [
    ("VAL", "validation windows"),
    ("RPL", "replay"),
    ("LCK", "lockout"),
    ("RSY", "resync"),
    ("REP", "replacement"),
    ("DRF", "drift"),
    ("RFC", "RFC vectors"),
];

const OTHER: &str = "other";

/// At most this many ids of cases that did not pass, on a theme's line.
const NAMED: usize = 3;

/// The theme a case id belongs to.
pub fn of(id: &str) -> &'static str {
    let prefix = id.split('-').next().unwrap_or(id);
    THEMES
        .iter()
        .find(|(p, _)| *p == prefix)
        .map_or(OTHER, |(_, theme)| *theme)
}

/// One line per theme with cases: passed/total, time, and the cases that
/// did not pass.
pub fn summary(results: &[CaseResult]) -> Vec<String> {
    let names = THEMES.iter().map(|(_, t)| *t).chain([OTHER]);
    let groups: Vec<(&str, Vec<&CaseResult>)> = names
        .map(|theme| {
            (
                theme,
                results.iter().filter(|r| of(&r.id) == theme).collect(),
            )
        })
        .filter(|(_, cases): &(_, Vec<_>)| !cases.is_empty())
        .collect();
    let width = groups.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    let count_width = groups
        .iter()
        .map(|(_, c)| 2 * c.len().to_string().len() + 1)
        .max()
        .unwrap_or(0);
    groups
        .iter()
        .map(|(theme, cases)| {
            let passed = cases.iter().filter(|r| r.status == Status::Pass).count();
            let time: Duration = cases.iter().map(|r| r.duration).sum();
            let mut line = format!(
                "  {theme:<width$}  {:>count_width$} passed  {:>7}",
                format!("{passed}/{}", cases.len()),
                duration(time)
            );
            let not_passed: Vec<&&CaseResult> =
                cases.iter().filter(|r| r.status != Status::Pass).collect();
            if !not_passed.is_empty() {
                let named: Vec<String> = not_passed
                    .iter()
                    .take(NAMED)
                    .map(|r| format!("{} {}", r.id, r.status.as_str()))
                    .collect();
                let _ = write!(line, "  ✗ {}", named.join(", "));
                if not_passed.len() > NAMED {
                    let _ = write!(line, " and {} more", not_passed.len() - NAMED);
                }
            }
            line
        })
        .collect()
}

/// `850 ms`, `2.4 s`.
pub fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, status: Status, ms: u64) -> CaseResult {
        CaseResult {
            id: id.to_owned(),
            description: String::new(),
            status,
            detail: None,
            origin: String::new(),
            duration: Duration::from_millis(ms),
        }
    }

    #[test]
    fn every_embedded_case_has_a_theme_and_every_theme_cases() {
        let cases = tokenrig::harness::embedded::cases().expect("the embedded suite loads");
        let homeless: Vec<&str> = cases
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| of(id) == OTHER)
            .collect();
        assert!(homeless.is_empty(), "cases without a theme: {homeless:?}");
        for (_, theme) in THEMES {
            assert!(
                cases.iter().any(|c| of(&c.id) == theme),
                "no embedded case for {theme}"
            );
        }
    }

    #[test]
    fn a_line_per_theme_in_order_with_what_did_not_pass() {
        let results = [
            result("RFC-HOTP-000", Status::Pass, 2),
            result("VAL-EVT-001", Status::Pass, 400),
            result("VAL-TIM-001", Status::Fail, 700),
            result("MINE-1", Status::Unsupported, 5),
        ];
        assert_eq!(
            summary(&results),
            [
                "  validation windows  1/2 passed    1.1 s  ✗ VAL-TIM-001 fail",
                "  RFC vectors         1/1 passed     2 ms",
                "  other               0/1 passed     5 ms  ✗ MINE-1 unsupported",
            ]
        );
    }

    #[test]
    fn past_three_the_rest_is_counted() {
        let results: Vec<CaseResult> = (1..=5)
            .map(|i| result(&format!("LCK-00{i}"), Status::Error, 0))
            .collect();
        let lines = summary(&results);
        assert_eq!(
            lines,
            [
                "  lockout  0/5 passed     0 ms  ✗ LCK-001 error, LCK-002 error, LCK-003 error and 2 more"
            ]
        );
    }
}
