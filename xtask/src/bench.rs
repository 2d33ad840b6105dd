//! `cargo xtask bench`: runs the criterion benches, then reads criterion's
//! estimates back and puts the HOTP cost next to its floor.
//!
//! With the HMAC state precomputed, an HOTP code over SHA-1 needs exactly two
//! compressions (inner and outer hash of one short block each). The ratio of
//! the measured code to two measured compressions shows how much the code path
//! adds on top (cloning states, padding, truncation). Target: at most 1.5.
//! It is reported, never asserted: timings vary by machine.

use std::env;
use std::path::{Path, PathBuf};

use crate::process::{cargo, cargo_step};

/// Criterion's group and benchmark names, as `benches/otp.rs` declares them.
const GROUP: &str = "otp";
const HOTP_SHA1: &str = "hotp_sha1_precomputed";
const SHA1_COMPRESS: &str = "sha1_compress_one_block";
const TARGET_RATIO: f64 = 1.5;

pub fn run() -> Result<(), String> {
    cargo_step(&["bench", "--bench", "otp"])?;

    let dir = criterion_dir()?;
    let code = mean_ns(&dir, HOTP_SHA1)?;
    let compression = mean_ns(&dir, SHA1_COMPRESS)?;
    let ratio = code / (2.0 * compression);
    let verdict = if ratio <= TARGET_RATIO {
        "met"
    } else {
        "NOT met"
    };

    println!();
    println!("{:<50} {:>10}", "measure (criterion mean)", "ns");
    println!(
        "{:<50} {:>10.1}",
        "HOTP code (SHA-1, precomputed key, 6 digits)", code
    );
    println!("{:<50} {:>10.1}", "one SHA-1 compression", compression);
    println!(
        "{:<50} {:>10.1}",
        "two SHA-1 compressions",
        2.0 * compression
    );
    println!(
        "{:<50} {:>10.2}  (target <= {TARGET_RATIO}: {verdict})",
        "ratio code / (2 x compression)", ratio
    );
    Ok(())
}

/// Where criterion writes its results, found the way criterion finds it:
/// `$CRITERION_HOME`, else `criterion/` in cargo's target directory.
fn criterion_dir() -> Result<PathBuf, String> {
    if let Some(home) = env::var_os("CRITERION_HOME") {
        return Ok(PathBuf::from(home));
    }
    if let Some(target) = env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(target).join("criterion"));
    }
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("`cargo metadata` could not start: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("`cargo metadata` printed invalid JSON: {e}"))?;
    metadata["target_directory"]
        .as_str()
        .map(|target| PathBuf::from(target).join("criterion"))
        .ok_or_else(|| "`cargo metadata` did not name a target_directory".to_owned())
}

/// The mean time per iteration, in nanoseconds, of one benchmark of the
/// group, from the run that just finished (`new/`).
fn mean_ns(criterion_dir: &Path, bench: &str) -> Result<f64, String> {
    let path = criterion_dir
        .join(GROUP)
        .join(bench)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let estimates: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    estimates["mean"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{} has no mean.point_estimate", path.display()))
}
