//! `cargo xtask bench-server`: the HTTP load figure. Builds the release
//! binary, starts `tokenrig serve` on a fresh SQLite store under `target/`
//! (not /tmp, often a tmpfs where fsync costs nothing), and runs `tokenrig
//! load` against it three times: closed loop with 256 clients (the most it
//! sustains), open loop at 10,000 requests/s with 256 clients (the latency
//! at the target rate), and closed loop with 8,192 clients, many
//! more than the default queue of 1,024 holds, so it must shed. (Open loop
//! cannot overload the queue: each client has one request in flight.) Every request is an accept with a durable commit.
//! Then the same server answers RADIUS Access-Requests in closed loop
//! (`bench_radius.rs`: 256 clients like the first HTTP run, fresh valid codes), printed next to
//! the first `/v1/validate` figure.
//!
//! During the runs the server's RSS is sampled from /proc; afterwards the
//! store's audit log must hold exactly as many accepted validations as the
//! load tool heard (an accept lost or doubled shows here).
//! `--serve PATH` serves with another binary (e.g. one built from `main`)
//! under the same load tool, for a before/after comparison.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokenrig::store::{SecretSource, Store, StoreSecret};

use crate::bench_radius;
use crate::process::{Serve, cargo_step, repo_root};

const STORE_KEY: &str = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf";
const ADMIN_TOKEN: &str = "bench-server-admin-token";

pub fn run(serve_binary: Option<&str>) -> Result<(), String> {
    cargo_step(&["build", "--release", "--bin", "tokenrig"])?;
    let root = repo_root();
    let binary = root.join("target/release/tokenrig");
    let served = serve_binary.map_or_else(|| binary.clone(), PathBuf::from);
    let dir = root.join("target/bench-server");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let db = format!("sqlite:{}", dir.join("store.db").display());

    let (accounts, clients) = bench_radius::prepare(&db, STORE_KEY, &dir)?;
    let server = Serve::start(
        &served,
        &db,
        &["--radius", "127.0.0.1:0", "--radius-clients", &clients],
        STORE_KEY,
        ADMIN_TOKEN,
    )?;
    let url = server.url.clone();
    println!(
        "xtask: {} serve on {url}, SQLite at {}",
        served.display(),
        dir.display()
    );

    let runs: [(&str, &[&str]); 3] = [
        (
            "closed loop, 256 clients",
            &["--clients", "256", "--tokens", "4096"],
        ),
        (
            "open loop at 10,000/s, 256 clients",
            &["--clients", "256", "--tokens", "4096", "--rate", "10000"],
        ),
        (
            "closed loop, 8,192 clients (above saturation)",
            &["--clients", "8192", "--tokens", "8192"],
        ),
    ];
    let mut accepted = 0;
    let mut validate_rate = None;
    for (name, extra) in runs {
        println!("xtask: {name}");
        let rss = RssSampler::start(server.pid());
        let output = Command::new(&binary)
            .args(["load", "--url", &url, "--duration", "10"])
            .args(extra)
            .env("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN)
            .output()
            .map_err(|e| format!("tokenrig load could not start: {e}"))?;
        let (start_kib, peak_kib) = rss.stop();
        let stdout = String::from_utf8_lossy(&output.stdout);
        print!("{stdout}");
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        println!(
            "server RSS MiB: {:.1} before, {:.1} peak",
            start_kib as f64 / 1024.0,
            peak_kib as f64 / 1024.0
        );
        if !output.status.success() {
            return Err(format!("tokenrig load ({name}) failed: {}", output.status));
        }
        if validate_rate.is_none() {
            validate_rate = stdout
                .lines()
                .find(|l| l.contains("validations/s"))
                .and_then(|l| l.split(" (").next())
                .map(str::to_owned);
        }
        accepted += accepted_in_all(&stdout)
            .ok_or_else(|| format!("tokenrig load ({name}) did not say how many it accepted"))?;
    }
    println!(
        "xtask: RADIUS, closed loop, {} clients (each its own user and C100)",
        bench_radius::CLIENTS
    );
    let radius = server
        .radius
        .ok_or("tokenrig serve printed no RADIUS address")?;
    accepted += bench_radius::run(radius, accounts, 10)?;
    println!(
        "xtask: side by side: /v1/validate {} (closed loop, 256 clients); RADIUS above",
        validate_rate.as_deref().unwrap_or("?")
    );
    drop(server);
    check_audit(&db, accepted)
}

/// The count on `tokenrig load`'s "accepted in all" line.
fn accepted_in_all(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("accepted in all (warm-up included): "))
        .and_then(|n| n.trim().parse().ok())
}

/// Every accept the load tool heard is in the audit log, once, and no
/// validation was refused there (a refused request that had been written
/// would make its retried code a replay).
fn check_audit(db: &str, heard: u64) -> Result<(), String> {
    let secret = StoreSecret::from_hex(STORE_KEY).ok_or("the bench store key is not hex")?;
    let store = Store::open_with(db, &SecretSource::Given(secret)).map_err(|e| e.to_string())?;
    let rows = store.audit(u32::MAX).map_err(|e| e.to_string())?;
    let validations = rows.iter().filter(|r| r.action == "check");
    let (logged, other): (Vec<_>, Vec<_>) = validations.partition(|r| r.outcome == "accepted");
    println!(
        "audit: {} accepted validations logged, {heard} heard by the load tool, {} not accepted",
        logged.len(),
        other.len()
    );
    if logged.len() as u64 != heard || !other.is_empty() {
        return Err("the audit log and the load tool disagree".to_owned());
    }
    Ok(())
}

/// Samples a process's VmRSS every 100 ms on a thread until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    start: u64,
    thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let status = PathBuf::from(format!("/proc/{pid}/status"));
        let start = vm_rss_kib(&status).unwrap_or(0);
        let (stop, peak) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(start)),
        );
        let thread = {
            let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kib) = vm_rss_kib(&status) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        RssSampler {
            stop,
            peak,
            start,
            thread,
        }
    }

    /// (RSS when started, peak), KiB.
    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        (self.start, self.peak.load(Ordering::Relaxed))
    }
}

fn vm_rss_kib(status: &Path) -> Option<u64> {
    std::fs::read_to_string(status)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
