//! privacyIDEA as a peer: a real privacyIDEA (from PyPI, on loopback)
//! runs a fixed subset of the suite through the adapter, once under
//! libfaketime with the harness moving its clock and once on real time.
//! Every case must end exactly as `fixtures/peers/privacyidea.expected`
//! says: a pass that turns into a fail (or the reverse) is a change in
//! privacyIDEA or in the adapter, and either needs a look.
//!
//! Needs `python3` with `venv`, PyPI, and Debian's `faketime`: missing,
//! they fail the test under CI and skip it elsewhere.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use support::privacyidea::{ADMIN_PASSWORD, ADMIN_USER, PrivacyIdeaServer, install};
use tokenrig::clock::{Clock, SystemClock};
use tokenrig::harness::faketime::{self, FakeClock};
use tokenrig::harness::privacyidea::PrivacyIdea;
use tokenrig::harness::{self, CaseResult, Quiet, RunOptions, Target};

const SEED: u64 = 0x7e11;

/// Each case's expected result: (under faketime, on real time).
fn expected() -> BTreeMap<String, (String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/peers/privacyidea.expected");
    let text = std::fs::read_to_string(&path).expect("the expectation list");
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 3, "{}: {line:?}", path.display());
            (
                fields[0].to_owned(),
                (fields[1].to_owned(), fields[2].to_owned()),
            )
        })
        .collect()
}

fn connect(server: &PrivacyIdeaServer, clock: Option<FakeClock>) -> Box<dyn Target> {
    let peer = PrivacyIdea::connect(&server.url, ADMIN_USER, ADMIN_PASSWORD, clock)
        .and_then(|peer| peer.with_users_db(&server.users_db))
        .expect("the adapter connects");
    Box::new(peer)
}

/// Where the venv lives: beside the test binaries, shared with
/// `cargo xtask peers` (`target/peers/venv`).
fn venv_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("peers/venv")
}

/// The cases' results whose status is not what `pick` expects.
fn mismatches(
    mode: &str,
    results: &[CaseResult],
    expected: &BTreeMap<String, (String, String)>,
    pick: fn(&(String, String)) -> &String,
) -> Vec<String> {
    results
        .iter()
        .filter_map(|result| {
            let want = pick(&expected[&result.id]);
            let got = result.status.as_str();
            (want != got).then(|| {
                format!(
                    "{mode} {}: expected {want}, got {got} ({})",
                    result.id,
                    result.detail.as_deref().unwrap_or("")
                )
            })
        })
        .collect()
}

#[test]
fn privacyidea_ends_every_case_as_expected_with_and_without_clock_control() {
    let Some(library) = faketime::find_library() else {
        support::skip_or_fail(
            "libfaketime.so.1 is missing; `cargo xtask ci` installs it (Debian package `faketime`)",
        );
        return;
    };
    let python = match install(&venv_dir()) {
        Ok(python) => python,
        Err(why) => {
            support::skip_or_fail(&format!("cannot install privacyIDEA from PyPI: {why}"));
            return;
        }
    };
    let expected = expected();
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance");
    let mut cases = harness::load(&[suite]).expect("the suite loads");
    cases.retain(|case| expected.contains_key(&case.id));
    assert_eq!(
        cases.len(),
        expected.len(),
        "every expected id is a case of the suite"
    );
    assert!(cases.len() >= 30);
    let options = RunOptions::new(SEED);
    let work = tempfile::tempdir().expect("temp dir");

    let mut wrong = Vec::new();
    {
        let now = SystemClock.now();
        let server = match PrivacyIdeaServer::start(
            &python,
            &work.path().join("faked"),
            Some((&library, now)),
        ) {
            Ok(server) => server,
            Err(why) => {
                support::skip_or_fail(&format!("privacyIDEA does not start: {why}"));
                return;
            }
        };
        let target = connect(&server, server.clock.clone());
        let results = harness::run(vec![target], &cases, &options, &Quiet);
        wrong.extend(mismatches("faketime", &results, &expected, |e| &e.0));
    }
    {
        let server = PrivacyIdeaServer::start(&python, &work.path().join("real"), None)
            .expect("privacyIDEA starts a second time");
        // Two connections: one sync worker serves them in turn, and more
        // would queue requests past the real-time plan's slack.
        let targets = (0..2).map(|_| connect(&server, None)).collect();
        let mut results = harness::run(targets, &cases, &options, &Quiet);
        // A case the loaded machine ran late is an error that says nothing
        // about privacyIDEA: run those once more, alone (fresh serials).
        let late: Vec<_> = cases
            .iter()
            .zip(&results)
            .filter(|(_, r)| {
                r.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("after its planned instant"))
            })
            .map(|(c, _)| c.clone())
            .collect();
        if !late.is_empty() {
            let again = harness::run(
                vec![connect(&server, None)],
                &late,
                &RunOptions::new(SEED ^ 0x5eed),
                &Quiet,
            );
            for rerun in again {
                if let Some(r) = results.iter_mut().find(|r| r.id == rerun.id) {
                    *r = rerun;
                }
            }
        }
        wrong.extend(mismatches("real time", &results, &expected, |e| &e.1));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
