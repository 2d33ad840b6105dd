//! `cargo xtask conformance`: the conformance suite against the builtin
//! target, then against a `tokenrig serve --test-clock` on a fresh SQLite
//! store under `target/`, over HTTP. Reports (JUnit and JSON) land in
//! `target/conformance/`.

use std::process::Command;

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

    let server = Serve::start(
        &binary,
        &format!("sqlite:{}", out.join("store.db").display()),
        &["--test-clock"],
        STORE_KEY,
        ADMIN_TOKEN,
    )?;
    let mut failed = Vec::new();
    for (name, target) in [("builtin", "builtin"), ("serve", server.url.as_str())] {
        println!("xtask: conformance against {target}");
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
        if !status.success() {
            failed.push(name);
        }
    }
    drop(server);
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
