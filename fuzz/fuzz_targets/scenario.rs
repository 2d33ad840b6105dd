//! The conformance suite's TOML (`tokenrig::harness::scenario`) on
//! arbitrary text: parsing never panics, an error names a line inside
//! the text, and every case that parses can be planned against each kind
//! of target (`harness::plan`) without a panic.

#![no_main]

use std::path::Path;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokenrig::harness::plan;
use tokenrig::harness::scenario::{self, ScenarioError};
use tokenrig::harness::target::{ClockControl, Offers};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cases = match scenario::parse(text, Path::new("fuzz.toml")) {
        Ok(cases) => cases,
        Err(ScenarioError::Parse { line, .. }) => {
            assert!(line <= text.lines().count().max(1), "line {line} past the end");
            return;
        }
        Err(_) => return,
    };
    for case in &cases {
        assert!(!case.id.trim().is_empty());
        // 0 when the case is not opened by a `[[case]]` line of its own.
        assert!(case.line <= text.lines().count());
        for clock in [ClockControl::None, ClockControl::Shared, ClockControl::PerCase] {
            let offers = Offers::everything(clock);
            for wait in [0, 120, 900] {
                let _ = plan::schedule(case, &offers, Duration::from_secs(wait));
            }
        }
        for step in &case.steps {
            let _ = (step.name(), step.advance(), step.expected_codes());
        }
    }
});
