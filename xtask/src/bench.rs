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
//! Then the fleet figure (also alone: `cargo xtask bench simulate`): the
//! release `tokenrig simulate` on 10k, 100k and 1M C200s × 3 years × one
//! login a working day, its wall time, decisions/s and peak RSS (VmHWM),
//! against the targets (100k in ≤ 60 s; ≤ 64 bytes a token).
//! All are reported, never asserted: timings vary by machine.

use std::env;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{cargo, cargo_step, repo_root};

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
    for case in LOGIN_CASES {
        println!(
            "{:<50} {:>10.1}",
            format!("simulated login, {case} (ns)"),
            mean_ns(&dir, VERIFIER, case)?
        );
    }
    simulate()
}

/// What one simulated login costs, by part (`benches/verifier.rs`).
const LOGIN_CASES: [&str; 3] = ["c200_press", "time_validate_centre", "time_validate_edge"];
/// Fleet sizes for the scaling figure; the middle one is the target's.
const FLEETS: [u64; 3] = [10_000, 100_000, 1_000_000];
const TARGET_SECS: f64 = 60.0;
const TARGET_BYTES_PER_TOKEN: f64 = 64.0;

/// The fleet figure: `tokenrig simulate` (release) on growing fleets of
/// C200s, 3 years, one login every working day (no holidays or idle
/// spells), on every core.
pub fn simulate() -> Result<(), String> {
    cargo_step(&["build", "--release", "--bin", "tokenrig"])?;
    let binary = repo_root().join("target/release/tokenrig");
    println!();
    println!(
        "{:>9} {:>12} {:>9} {:>8} {:>13} {:>12}",
        "C200s", "decisions", "wall s", "CPU s", "decisions/s", "peak RSS MiB"
    );
    let mut rows = Vec::new();
    for tokens in FLEETS {
        let row = simulate_once(&binary, tokens)?;
        println!(
            "{:>9} {:>12} {:>9.1} {:>8.1} {:>13.0} {:>12.1}",
            tokens,
            row.decisions,
            row.wall.as_secs_f64(),
            row.cpu_secs,
            row.decisions as f64 / row.wall.as_secs_f64(),
            row.peak_kib as f64 / 1024.0
        );
        rows.push((tokens, row));
    }
    if let (Some((small, first)), Some((large, last))) = (rows.first(), rows.last()) {
        let per_token =
            (last.peak_kib as f64 - first.peak_kib as f64) * 1024.0 / (large - small) as f64;
        let verdict = |met: bool| if met { "met" } else { "NOT met" };
        let target_row = rows.iter().find(|(n, _)| *n == 100_000);
        if let Some((_, row)) = target_row {
            let secs = row.wall.as_secs_f64();
            println!(
                "100k C200s × 3 years: {secs:.1} s (target <= {TARGET_SECS} s: {})",
                verdict(secs <= TARGET_SECS)
            );
        }
        println!(
            "memory per token, (peak RSS at {large} − at {small}) / {} tokens: {per_token:.1} bytes (target <= {TARGET_BYTES_PER_TOKEN}: {})",
            large - small,
            verdict(per_token <= TARGET_BYTES_PER_TOKEN)
        );
    }
    Ok(())
}

struct FleetRun {
    decisions: u64,
    wall: Duration,
    /// User + system time, from /proc (last sample before exit): on a
    /// machine shared with other work, wall time alone overstates.
    cpu_secs: f64,
    peak_kib: u64,
}

/// Runs one fleet, polling the process's high-water RSS until it exits.
fn simulate_once(binary: &Path, tokens: u64) -> Result<FleetRun, String> {
    let count = tokens.to_string();
    let args = [
        "simulate",
        "--c200-60",
        &count,
        "--years",
        "3",
        "--holidays",
        "0",
        "--idle-spells-per-year",
        "0",
        "--sample-tokens",
        "0",
    ];
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{} could not start: {e}", binary.display()))?;
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let stat_file = PathBuf::from(format!("/proc/{}/stat", child.id()));
    let (mut peak_kib, mut cpu_secs) = (0, 0.0);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if let Some(kib) = status_kib(&status_file, "VmHWM:") {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(secs) = cpu_seconds(&stat_file) {
            cpu_secs = secs;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = started.elapsed();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    if !status.success() {
        return Err(format!(
            "tokenrig simulate {args:?} failed ({status}): {stderr}"
        ));
    }
    // "tokenrig: N decisions in …", printed by the command.
    let decisions = stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("tokenrig: ")?
                .split_once(" decisions")?
                .0
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("tokenrig simulate did not say how many decisions: {stderr}"))?;
    Ok(FleetRun {
        decisions,
        wall,
        cpu_secs,
        peak_kib,
    })
}

/// utime + stime of a process, in seconds (USER_HZ is 100 on Linux).
fn cpu_seconds(stat: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(stat).ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // the 14th and 15th of the whole line.
    let rest = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

fn status_kib(status: &Path, field: &str) -> Option<u64> {
    std::fs::read_to_string(status)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
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
