//! `cargo xtask bench`: runs the criterion benches, then reads criterion's
//! estimates back and puts the HOTP cost next to its floor.
//!
//! With the HMAC state precomputed, an HOTP code over SHA-1 needs exactly two
//! compressions (inner and outer hash of one short block each). The ratio of
//! the measured code to two measured compressions shows how much the code path
//! adds on top (cloning states, padding, truncation). Target: at most 1.5.
//! Next to it, the verifier core's worst case: an event resync scanning the
//! whole 1,000-code window (target: at most 0.2 ms).
//! And durable validations per second: one accept committed (compare-and-set
//! plus audit row) on SQLite with `synchronous=FULL`, one connection.
//! All are reported, never asserted: timings vary by machine.

use std::env;
use std::path::{Path, PathBuf};

use crate::process::{cargo, cargo_step};

/// Criterion's group and benchmark names, as `benches/*.rs` declare them.
const OTP: &str = "otp";
const HOTP_SHA1: &str = "hotp_sha1_precomputed";
const SHA1_COMPRESS: &str = "sha1_compress_one_block";
const TARGET_RATIO: f64 = 1.5;
const VERIFIER: &str = "verifier";
const RESYNC_CASES: [&str; 2] = ["event_resync_last_pair", "event_resync_not_found"];
const TARGET_RESYNC_MS: f64 = 0.2;
const STORE: &str = "store";
const VALIDATE_COMMIT: &str = "validate_commit_sqlite_fsync";

pub fn run() -> Result<(), String> {
    cargo_step(&[
        "bench", "--bench", "otp", "--bench", "verifier", "--bench", "store",
    ])?;

    let dir = criterion_dir()?;
    let code = mean_ns(&dir, OTP, HOTP_SHA1)?;
    let compression = mean_ns(&dir, OTP, SHA1_COMPRESS)?;
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

    let mut worst_ms: f64 = 0.0;
    for case in RESYNC_CASES {
        let ms = mean_ns(&dir, VERIFIER, case)? / 1e6;
        worst_ms = worst_ms.max(ms);
        println!("{:<50} {:>10.4}  ms", format!("event resync, {case}"), ms);
    }
    let verdict = if worst_ms <= TARGET_RESYNC_MS {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "{:<50} {:>10.4}  ms (target <= {TARGET_RESYNC_MS} ms: {verdict})",
        "event resync, worst case", worst_ms
    );

    let commit_ns = mean_ns(&dir, STORE, VALIDATE_COMMIT)?;
    println!(
        "{:<50} {:>10.0}  /s ({:.0} us each, SQLite, fsync on, one connection)",
        "validate + commit",
        1e9 / commit_ns,
        commit_ns / 1e3
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

/// The mean time per iteration, in nanoseconds, of one benchmark of a
/// group, from the run that just finished (`new/`).
fn mean_ns(criterion_dir: &Path, group: &str, bench: &str) -> Result<f64, String> {
    let path = criterion_dir
        .join(group)
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
