//! Finding the external programs a test drives, and skipping (never
//! silently) where one is missing. Shared with `simulators/tests/support`
//! by `#[path]`, so both crates' tests follow one rule.

use std::env;
use std::path::PathBuf;

/// Finds the program a test drives as a peer, or says why the test cannot run.
///
/// Under CI (`CI` set and not `false`/`0`) a missing program fails the test:
/// `cargo xtask ci` installs it, so its absence means CI itself is broken and
/// a skip would hide that. Elsewhere the reason goes to stderr and the caller
/// returns early, so a developer without the package still gets a green run,
/// but never a silent one.
pub fn require_tool(binary: &str, package: &str) -> Option<PathBuf> {
    let found = env::var_os("PATH").and_then(|path| {
        env::split_paths(&path)
            .map(|dir| dir.join(binary))
            .find(|candidate| candidate.is_file())
    });
    if found.is_some() {
        return found;
    }
    skip_or_fail(&format!(
        "`{binary}` is not on PATH; `cargo xtask ci` installs it (Debian package `{package}`)"
    ));
    None
}

/// A test that cannot run here: under CI a failure, elsewhere a printed
/// skip (the caller then returns early).
pub fn skip_or_fail(reason: &str) {
    if running_in_ci() {
        panic!("{reason}");
    }
    skip(reason);
}

/// A printed skip, under CI too: for what no install step can bring (a
/// kernel interface or module); the caller then returns early.
pub fn skip(reason: &str) {
    // Straight to the stream, not eprintln!: libtest captures the macro's
    // output of passing tests, and this line must be seen.
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("test").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

fn running_in_ci() -> bool {
    env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}
