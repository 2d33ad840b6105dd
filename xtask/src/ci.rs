//! `cargo xtask ci`: exactly what CI runs, in order, stopping at the first
//! failure: test tools, fmt, the layer rules, clippy, nextest, doctests, the
//! install test, and every fuzz target for a fixed number of runs on nightly
//! (skipped, saying so, without nightly). `.ci/run` is a one-line wrapper
//! around it.

use crate::process::{cargo_step, cargo_succeeds};
use crate::tools;

pub fn run() -> Result<(), String> {
    tools::install_missing()?;
    // Cheapest checks first: a formatting slip fails in seconds, not after
    // a full test build.
    cargo_step(&["fmt", "--all", "--check"])?;
    crate::layers::run()?;
    cargo_step(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    ensure_nextest()?;
    // `--no-tests=fail`: a filter or feature mistake that selects nothing
    // must not look like a green run.
    cargo_step(&["nextest", "run", "--workspace", "--no-tests=fail"])?;
    // nextest does not run doctests; the examples in docs are tests too.
    cargo_step(&["test", "--workspace", "--doc"])?;
    // The tool as a user installs it, run away from the repository.
    crate::dist::install_test()?;
    crate::fuzz::smoke()?;
    println!("xtask: ci passed");
    Ok(())
}

/// CI images usually lack cargo-nextest; developers usually have it. Build
/// it only when missing (`--locked`: the versions its authors tested).
fn ensure_nextest() -> Result<(), String> {
    if cargo_succeeds(&["nextest", "--version"]) {
        return Ok(());
    }
    cargo_step(&["install", "--locked", "cargo-nextest"])
}
