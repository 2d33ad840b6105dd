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
