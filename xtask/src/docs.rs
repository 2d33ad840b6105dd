//! `cargo xtask docs`: the pages generated from the code and the suite,
//! written into `docs/` (tests hold the committed files equal, so a
//! change to the code or the suite that forgets them fails CI).

use crate::process::repo_root;
use tokenrig::harness::{SuiteSource, catalogue, load_suite};

pub fn run() -> Result<(), String> {
    let cases = load_suite(&[SuiteSource::Embedded]).map_err(|e| e.to_string())?;
    for (file, text) in [
        ("docs/reasons.md", catalogue::reasons_markdown(&cases)),
        ("docs/cases.md", catalogue::cases_markdown(&cases)),
        (
            "docs/policy.md",
            catalogue::policy_markdown(&tokenrig::verifier::Policy::default()),
        ),
    ] {
        let path = repo_root().join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("xtask: wrote {}", path.display());
    }
    Ok(())
}
