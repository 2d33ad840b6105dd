//! `cargo xtask bench-server`: the HTTP load figure. Builds the release
//! binary, starts `tokenrig serve` on a fresh SQLite store under `target/`
//! (not /tmp, often a tmpfs where fsync costs nothing), and runs `tokenrig
//! load` against it twice: closed loop (the most it sustains) and open loop
//! at 10,000 requests/s (the latency at the target rate), both with
//! 256 clients. Every request is an accept with a durable commit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::process::{cargo_step, repo_root};

const STORE_KEY: &str = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf";
const ADMIN_TOKEN: &str = "bench-server-admin-token";

pub fn run() -> Result<(), String> {
    cargo_step(&["build", "--release", "--bin", "tokenrig"])?;
    let root = repo_root();
    let binary = root.join("target/release/tokenrig");
    let dir = root.join("target/bench-server");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let db = format!("sqlite:{}", dir.join("store.db").display());

    let mut server = Command::new(&binary)
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .env("TOKENRIG_STORE_KEY", STORE_KEY)
        .env("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("tokenrig serve could not start: {e}"))?;
    let mut first = String::new();
    let stdout = server
        .stdout
        .take()
        .ok_or("no stdout from tokenrig serve")?;
    BufReader::new(stdout)
        .read_line(&mut first)
        .map_err(|e| format!("reading serve's address: {e}"))?;
    let url = first.trim().trim_start_matches("listening on ").to_owned();
    println!(
        "xtask: tokenrig serve on {url}, SQLite at {}",
        dir.display()
    );

    let runs: [(&str, &[&str]); 2] = [
        ("closed loop, 256 clients", &[]),
        ("open loop at 10,000/s, 256 clients", &["--rate", "10000"]),
    ];
    let mut result = Ok(());
    for (name, extra) in runs {
        println!("xtask: {name}");
        let status = Command::new(&binary)
            .args([
                "load",
                "--url",
                &url,
                "--clients",
                "256",
                "--tokens",
                "4096",
            ])
            .args(["--duration", "10"])
            .args(extra)
            .env("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN)
            .status()
            .map_err(|e| format!("tokenrig load could not start: {e}"))?;
        if !status.success() {
            result = Err(format!("tokenrig load ({name}) failed: {status}"));
            break;
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    result
}
