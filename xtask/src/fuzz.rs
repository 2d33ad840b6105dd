//! `cargo xtask fuzz [TARGET] [SECONDS]`: runs a libFuzzer target from
//! `fuzz/` (default `line`, the serial line codec; `hid`, the HID reports;
//! `radius`, RADIUS packets and their authenticators) for a while (default 60 s).
//!
//! libFuzzer needs a nightly toolchain and `cargo-fuzz`; cargo-fuzz is
//! installed when missing. Nightly is only checked for, never downloaded:
//! a machine without it gets a one-line error naming what to install. Not
//! part of `cargo xtask ci`, whose codec checks are the property tests.

use std::process::Command;

use crate::process::{cargo_step, cargo_succeeds, repo_root};

const DEFAULT_TARGET: &str = "line";
const DEFAULT_SECONDS: u64 = 60;

pub fn run(args: &[&str]) -> Result<(), String> {
    let (target, seconds) = match args {
        [] => (DEFAULT_TARGET, DEFAULT_SECONDS),
        [target] => (*target, DEFAULT_SECONDS),
        [target, seconds] => (
            *target,
            seconds
                .parse()
                .map_err(|_| format!("seconds must be a whole number, not {seconds:?}"))?,
        ),
        _ => return Err("usage: cargo xtask fuzz [TARGET] [SECONDS]".to_owned()),
    };
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !nightly {
        return Err(
            "fuzzing needs a nightly toolchain (`rustup toolchain install nightly`)".to_owned(),
        );
    }
    if !cargo_succeeds(&["fuzz", "--version"]) {
        cargo_step(&["install", "--locked", "cargo-fuzz"])?;
    }
    let name = format!("cargo fuzz run {target} on nightly (for {seconds} s)");
    println!("xtask: {name}");
    // Through rustup, not `$CARGO`: that is the stable toolchain's own
    // cargo, which would build the fuzz target with stable.
    let status = Command::new("rustup")
        .current_dir(repo_root().join("fuzz"))
        .env_remove("CARGO")
        .args(["run", "nightly", "cargo", "fuzz", "run", target, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .status()
        .map_err(|e| format!("step `{name}` could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "step `{name}` failed ({status}); see fuzz/artifacts/{target}/"
        ))
    }
}
