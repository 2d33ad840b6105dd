//! The reason codes are one closed list (`src/service/reasons.rs`): the
//! OpenAPI document enumerates exactly it, `docs/reasons.md` is generated
//! from it and the suite, every code some case expects is listed, and
//! every listed code is expected by some case unless the list says why not.

use std::path::Path;

use tokenrig::harness::{SuiteSource, catalogue, load_suite};
use tokenrig::service::REASONS;

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_openapi_document_enumerates_exactly_the_list() {
    let text = std::fs::read_to_string(repo("openapi/tokenrig.json")).expect("openapi");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let listed: Vec<&str> = doc["components"]["schemas"]["Reason"]["enum"]
        .as_array()
        .expect("Reason has an enum")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect();
    let codes: Vec<&str> = REASONS.iter().map(|r| r.code).collect();
    assert_eq!(listed, codes);
}

#[test]
fn docs_reasons_md_is_generated_from_the_list_and_the_suite() {
    let cases = load_suite(&[SuiteSource::Embedded]).expect("the suite loads");
    let committed = std::fs::read_to_string(repo("docs/reasons.md")).expect("docs/reasons.md");
    assert!(
        committed == catalogue::reasons_markdown(&cases),
        "docs/reasons.md is stale: run `cargo xtask docs`"
    );
}

#[test]
fn docs_cases_md_is_the_catalogue_the_command_prints() {
    let cases = load_suite(&[SuiteSource::Embedded]).expect("the suite loads");
    let generated = catalogue::cases_markdown(&cases);
    let committed = std::fs::read_to_string(repo("docs/cases.md")).expect("docs/cases.md");
    assert!(
        committed == generated,
        "docs/cases.md is stale: run `cargo xtask docs`"
    );
    for case in &cases {
        assert!(
            generated.contains(&format!("| {} |", case.id)),
            "{} missing",
            case.id
        );
    }
    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .args(["conformance", "--list", "--format", "markdown"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("tokenrig runs");
    assert!(printed.status.success());
    assert_eq!(String::from_utf8_lossy(&printed.stdout), generated);
}

#[test]
fn docs_policy_md_is_generated_from_the_policy_and_names_real_cases() {
    let committed = std::fs::read_to_string(repo("docs/policy.md")).expect("docs/policy.md");
    assert!(
        committed == catalogue::policy_markdown(&tokenrig::verifier::Policy::default()),
        "docs/policy.md is stale: run `cargo xtask docs`"
    );
    let cases = load_suite(&[SuiteSource::Embedded]).expect("the suite loads");
    for id in catalogue::policy_case_ids() {
        assert!(
            cases.iter().any(|c| c.id == id),
            "docs/policy.md names {id}, which is no case"
        );
    }
}

#[test]
fn each_code_is_expected_by_a_case_or_says_why_not() {
    let cases = load_suite(&[SuiteSource::Embedded]).expect("the suite loads");
    let expected = catalogue::expected_reasons(&cases);
    for code in expected.keys() {
        assert!(
            REASONS.iter().any(|r| r.code == code),
            "a case expects {code:?}, which no answer carries"
        );
    }
    for reason in REASONS {
        match (expected.get(reason.code), reason.untested) {
            (Some(_), None) | (None, Some(_)) => {}
            (None, None) => panic!("no case expects {:?}", reason.code),
            (Some((_, ids)), Some(why)) => panic!(
                "{:?} says {why:?}, but {} expect it",
                reason.code,
                ids.join(", ")
            ),
        }
    }
}
