//! `cargo xtask conformance`: the conformance suite against the builtin
//! target, then over HTTP against a `tokenrig serve --test-clock` on a
//! fresh SQLite store under `target/`, then against a `tokenrig serve` on
//! real time (no clock control: some cases are unsupported, none may
//! fail). Reports (JUnit and JSON) land in `target/conformance/`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::process::{Serve, cargo_step, repo_root};

const STORE_KEY: &str = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf";
const ADMIN_TOKEN: &str = "conformance-admin-token";

pub fn run() -> Result<(), String> {
    cargo_step(&["build", "--release", "--bin", "tokenrig"])?;
    let root = repo_root();
    let binary = root.join("target/release/tokenrig");
    let out = root.join("target/conformance");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

    let test_clock = Serve::start(
        &binary,
        &format!("sqlite:{}", out.join("store.db").display()),
        &["--test-clock"],
        STORE_KEY,
        ADMIN_TOKEN,
    )?;
    let real_time = Serve::start(
        &binary,
        &format!("sqlite:{}", out.join("real-time.db").display()),
        &[],
        STORE_KEY,
        ADMIN_TOKEN,
    )?;
    let mut failed = Vec::new();
    for (name, target) in [
        ("builtin", "builtin"),
        ("serve", test_clock.url.as_str()),
        ("serve-real-time", real_time.url.as_str()),
    ] {
        println!("xtask: conformance against {target} ({name})");
        let started = Instant::now();
        let status = Command::new(&binary)
            .current_dir(&root)
            .args(["conformance", "--target", target])
            .arg("--junit")
            .arg(out.join(format!("{name}.junit.xml")))
            .arg("--json")
            .arg(out.join(format!("{name}.json")))
            .env("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN)
            .status()
            .map_err(|e| format!("tokenrig conformance could not start: {e}"))?;
        println!("xtask: {name}: {:.0} s", started.elapsed().as_secs_f64());
        // On real time the unsupported cases are expected; a failure or
        // an error never is.
        let ok = if name == "serve-real-time" {
            no_failures(&out.join(format!("{name}.json")))?
        } else {
            status.success()
        };
        if !ok {
            failed.push(name);
        }
    }
    drop((test_clock, real_time));
    println!("xtask: reports in {}", out.display());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "conformance failed against {}",
            failed.join(" and ")
        ))
    }
}

/// Whether a JSON report holds no failed case and no error.
fn no_failures(report: &Path) -> Result<bool, String> {
    let text = std::fs::read_to_string(report).map_err(|e| format!("{}: {e}", report.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", report.display()))?;
    let summary = &value["summary"];
    Ok(summary["failed"] == 0 && summary["errors"] == 0)
}
