//! The conformance suite shipped inside the binary: the files of
//! `fixtures/conformance/`, embedded at build time (`build.rs`), so an
//! installed tool runs its suite from any directory and can write it out
//! for a QA team to copy and extend.

use std::path::{Path, PathBuf};

use super::scenario::{Case, ScenarioError, SuiteSource, load_suite};

/// File name and text of every suite file, in file-name order.
pub const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/suite.rs"));

/// How a case's source names an embedded file: `embedded:<file name>`.
pub const PREFIX: &str = "embedded:";

/// The embedded suite's cases, in file order.
pub fn cases() -> Result<Vec<Case>, ScenarioError> {
    load_suite(&[SuiteSource::Embedded])
}

/// Writes the embedded files into `dir` (created if missing); refuses to
/// overwrite a file already there. Returns the paths written.
pub fn export(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let paths: Vec<PathBuf> = FILES.iter().map(|(name, _)| dir.join(name)).collect();
    if let Some(taken) = paths.iter().find(|p| p.exists()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists; not overwriting it", taken.display()),
        ));
    }
    for (path, (_, text)) in paths.iter().zip(FILES) {
        std::fs::write(path, text)?;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_suite_is_the_fixtures_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance");
        let on_disk = crate::harness::load(&[dir]).expect("the suite loads");
        let embedded = cases().expect("the embedded suite loads");
        let ids = |cases: &[Case]| cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&embedded), ids(&on_disk));
        assert!(embedded[0].source.to_string_lossy().starts_with(PREFIX));
        assert_eq!(embedded[0].line, on_disk[0].line);
    }

    #[test]
    fn a_file_named_like_an_embedded_one_replaces_it_others_add() {
        let dir = tempfile::tempdir().expect("temp dir");
        let replacing = dir.path().join(FILES[0].0);
        std::fs::write(
            &replacing,
            "[[case]]\nid = \"MINE-1\"\ndescription = \"d\"\ndevices.f = { kind = \"c100\" }\nsteps = [{ do = \"press\", device = \"f\", count = 1 }]\n",
        )
        .expect("write");
        let all = load_suite(&[SuiteSource::Embedded, SuiteSource::Path(replacing.clone())])
            .expect("loads");
        let first_file = crate::harness::scenario::parse(FILES[0].1, Path::new("x"))
            .expect("parses")
            .len();
        assert_eq!(all.len(), cases().expect("embedded").len() - first_file + 1);
        let mine = all.iter().find(|c| c.id == "MINE-1").expect("added");
        assert_eq!(mine.origin(), format!("{}:1", replacing.display()));
    }

    #[test]
    fn export_writes_every_file_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let written = export(dir.path()).expect("exported");
        assert_eq!(written.len(), FILES.len());
        let reread = crate::harness::load(&[dir.path().to_owned()]).expect("reloads");
        assert_eq!(reread.len(), cases().expect("embedded").len());
        let again = export(dir.path()).expect_err("refuses to overwrite");
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
    }
}
