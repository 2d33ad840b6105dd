//! `cargo xtask fuzz [TARGET] [SECONDS]`: runs a libFuzzer target from
//! `fuzz/` for a while (default `line` for 60 s); `cargo xtask fuzz TARGET
//! --runs N` runs it for N inputs instead (a campaign's recorded figure).
//!
//! Every run is built without AddressSanitizer (`--sanitizer none`):
//! `tokenrig` and `tokenrig-core` forbid `unsafe` code, so a memory error
//! there cannot happen and a bug shows as a panic; the sanitizer would
//! only slow each input and cost a second instrumented build of the whole
//! dependency tree. Targets: `line` (the
//! serial line codec), `hid` (HID reports and the emulated token),
//! `inventory` (PSKC, both CSV layouts, otpauth URIs), `radius` (RADIUS
//! packets and their authenticators), `scenario` (the conformance suite's
//! TOML, then its plan on every kind of target), `http` (every request
//! body and query, through the real router in process), `usbip` (USB/IP
//! packets and the token's USB side). Each starts from a
//! seed corpus made from `fixtures/` under `target/fuzz-corpus/TARGET/`.
//!
//! `cargo xtask ci` runs every target for [`SMOKE_RUNS`] inputs ([`smoke`]):
//! a crash or a target that no longer builds fails CI; the long campaigns
//! are this command's.
//!
//! libFuzzer needs a nightly toolchain and `cargo-fuzz`; cargo-fuzz is
//! installed when missing. Nightly is only checked for, never downloaded:
//! without it this command fails naming what to install, and the CI step
//! skips saying why.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{cargo_step, cargo_succeeds, repo_root};

const DEFAULT_TARGET: &str = "line";
const DEFAULT_SECONDS: u64 = 60;

/// Every target, with the fixture folders its seeds come from.
const TARGETS: [(&str, &[&str]); 7] = [
    ("line", &["fixtures/serial"]),
    ("hid", &["fixtures/hid"]),
    ("inventory", &["fixtures/inventory"]),
    ("radius", &["fixtures/radius"]),
    ("scenario", &["fixtures/conformance"]),
    ("http", &["fixtures/http"]),
    ("usbip", &["fixtures/usbip"]),
];

/// Inputs per target in CI: enough to exercise every seed and mutate
/// around them, few enough to take seconds once built.
pub const SMOKE_RUNS: u64 = 20_000;

pub fn run(args: &[&str]) -> Result<(), String> {
    if let [target, "--runs", runs] = args {
        let runs: u64 = runs
            .parse()
            .map_err(|_| format!("--runs must be a whole number, not {runs:?}"))?;
        check_target(target)?;
        ensure_fuzzing()?;
        return fuzz(target, &format!("-runs={runs}"), &format!("{runs} runs"));
    }
    let (target, seconds) = match args {
        [] => (DEFAULT_TARGET, DEFAULT_SECONDS),
        [target] => (*target, DEFAULT_SECONDS),
        [target, seconds] => (
            *target,
            seconds
                .parse()
                .map_err(|_| format!("seconds must be a whole number, not {seconds:?}"))?,
        ),
        _ => {
            return Err(
                "usage: cargo xtask fuzz [TARGET] [SECONDS] | cargo xtask fuzz TARGET --runs N"
                    .to_owned(),
            );
        }
    };
    check_target(target)?;
    ensure_fuzzing()?;
    fuzz(
        target,
        &format!("-max_total_time={seconds}"),
        &format!("for {seconds} s"),
    )
}

fn check_target(target: &str) -> Result<(), String> {
    if TARGETS.iter().any(|(name, _)| *name == target) {
        return Ok(());
    }
    let known: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    Err(format!(
        "no fuzz target {target:?}; known: {}",
        known.join(", ")
    ))
}

fn ensure_fuzzing() -> Result<(), String> {
    if !has_nightly() {
        return Err(
            "fuzzing needs a nightly toolchain (`rustup toolchain install nightly`)".to_owned(),
        );
    }
    ensure_cargo_fuzz()
}

/// The CI step: every target for [`SMOKE_RUNS`] inputs, or a printed skip
/// where there is no nightly toolchain.
pub fn smoke() -> Result<(), String> {
    if !has_nightly() {
        println!(
            "xtask: fuzz smoke skipped: no nightly toolchain (`rustup toolchain install nightly`)"
        );
        return Ok(());
    }
    ensure_cargo_fuzz()?;
    for (target, _) in TARGETS {
        fuzz(
            target,
            &format!("-runs={SMOKE_RUNS}"),
            &format!("{SMOKE_RUNS} runs"),
        )?;
    }
    Ok(())
}

fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    if cargo_succeeds(&["fuzz", "--version"]) {
        return Ok(());
    }
    cargo_step(&["install", "--locked", "cargo-fuzz"])
}

fn fuzz(target: &str, limit: &str, told: &str) -> Result<(), String> {
    let corpus = seed_corpus(target)?;
    let name = format!("cargo fuzz run {target} on nightly ({told})");
    println!("xtask: {name}");
    // Through rustup, not `$CARGO`: that is the stable toolchain's own
    // cargo, which would build the fuzz target with stable.
    let status = Command::new("rustup")
        .current_dir(repo_root().join("fuzz"))
        .env_remove("CARGO")
        .args([
            "run",
            "nightly",
            "cargo",
            "fuzz",
            "run",
            "--sanitizer",
            "none",
        ])
        .arg(target)
        .arg(&corpus)
        .arg("--")
        .arg(limit)
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

/// A fresh corpus of the target's fixture files under `target/`. The
/// inventory target reads a format-and-key byte first, so each file goes
/// in once per format and key choice.
fn seed_corpus(target: &str) -> Result<PathBuf, String> {
    let root = repo_root();
    let dir = root.join("target/fuzz-corpus").join(target);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let folders = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map_or(&[][..], |(_, folders)| *folders);
    let mut files = Vec::new();
    for folder in folders {
        collect(&root.join(folder), &mut files)?;
    }
    for (i, file) in files.iter().enumerate() {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        // `.hex` fixtures (RADIUS packets, USB/IP exchanges) hold a packet
        // per line as `name hex bytes…` (the name `>` or `<` for USB/IP):
        // each is a seed of its own, as bytes.
        if file.extension().is_some_and(|e| e == "hex") {
            let text = String::from_utf8_lossy(&bytes);
            for (j, packet) in hex_lines(&text).iter().enumerate() {
                write(&dir.join(format!("seed-{i}-{j}")), packet)?;
                // The usbip target reads a control byte before its session's
                // stream (odd: already imported; the rest: the chunk size):
                // each packet also goes to an imported session whole.
                if target == "usbip" {
                    write(
                        &dir.join(format!("seed-{i}-{j}-imported")),
                        &[&[0xff], &packet[..]].concat(),
                    )?;
                }
            }
            if target == "usbip" {
                // And the client's whole side of the exchange, import first,
                // to a fresh session in 64-byte pieces.
                let client: Vec<&str> = text.lines().filter(|l| l.starts_with('>')).collect();
                let stream = hex_lines(&client.join("\n")).concat();
                write(
                    &dir.join(format!("seed-{i}-client")),
                    &[&[0x80], &stream[..]].concat(),
                )?;
            }
            continue;
        }
        // `fixtures/http/NN-….json`: the body for route NN, sent with each
        // of the parameters that exist (user, serial, attempt).
        if target == "http" {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let Some(route) = name.split('-').next().and_then(|n| n.parse::<u8>().ok()) else {
                continue;
            };
            for param in 0..3u8 {
                let mut seed = vec![route, param];
                seed.extend_from_slice(&bytes);
                write(&dir.join(format!("seed-{i}-{param}")), &seed)?;
            }
            continue;
        }
        // A suite file holds dozens of cases: one seed per `[[case]]`, so
        // inputs stay small and each run is fast.
        if target == "scenario" {
            let text = String::from_utf8_lossy(&bytes);
            for (j, case) in text.split("\n[[case]]").skip(1).enumerate() {
                write(
                    &dir.join(format!("seed-{i}-{j}")),
                    format!("[[case]]{case}").as_bytes(),
                )?;
            }
            continue;
        }
        let choices: &[u8] = if target == "inventory" {
            &[0, 1, 2, 3, 6]
        } else {
            &[]
        };
        if choices.is_empty() {
            write(&dir.join(format!("seed-{i}")), &bytes)?;
        }
        for &choice in choices {
            let mut seed = vec![choice];
            seed.extend_from_slice(&bytes);
            write(&dir.join(format!("seed-{i}-{choice}")), &seed)?;
        }
    }
    Ok(dir)
}

/// The packets of a `.hex` fixture: per line, a name then hex bytes;
/// `#` lines are comments.
fn hex_lines(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let bytes: Option<Vec<u8>> = l
                .split_whitespace()
                .skip(1)
                .map(|b| u8::from_str_radix(b, 16).ok())
                .collect();
            bytes.filter(|b| !b.is_empty())
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            files.push(path);
        }
    }
    files.sort();
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
