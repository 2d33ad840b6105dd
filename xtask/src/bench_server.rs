//! `cargo xtask bench-server`: the HTTP load figure. Builds the release
//! binary, starts `tokenrig serve` on a fresh SQLite store under `target/`
//! (not /tmp, often a tmpfs where fsync costs nothing), and runs `tokenrig
//! load` against it (see [`RUNS`]): closed loop with 256 clients (the most
//! it sustains), open loop at 10,000 requests/s (the latency at the issue's
//! target rate), closed loop above saturation with 2,048 to 8,192 clients,
//! more than the default queue of 1,024 holds, so it must shed; then the
//! same 8,192 clients against a queue of a million, the unbounded queue of
//! before, for contrast. (Open loop cannot overload the queue: each client
//! has one request in flight.) Every request is an accept with a durable
//! commit. The default-depth server also answers RADIUS Access-Requests in
//! closed loop (`bench_radius.rs`: 256 clients like the first HTTP run,
//! fresh valid codes), printed next to the first `/v1/validate` figure.
//!
//! During the runs the server's RSS is sampled from /proc; afterwards each
//! store's audit log must hold exactly as many accepted validations as the
//! load tool heard (an accept lost or doubled shows here). A closing table
//! puts the runs' throughput, p99 and peak RSS side by side.
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

/// One `tokenrig load` run: its name, the queue depth of the server it
/// runs against (`None`: serve's default) and its own flags.
struct Run {
    name: &'static str,
    queue_depth: Option<&'static str>,
    load: &'static [&'static str],
}

/// Closed loop at 256 clients finds the throughput; open loop at 10,000/s
/// the latency at the target rate. Then closed loop above saturation with
/// 2, 4 and 8 times the default queue (1,024 on SQLite) in clients: the
/// queue is full, so a bounded queue keeps an accepted request's p99 near
/// `depth / throughput` whatever the load, sheds the rest, and keeps its
/// memory. The last run is the contrast: 8,192 clients against a queue of
/// a million, effectively the unbounded queue of before, where every
/// client waits in line and p99 grows with the load.
const RUNS: [Run; 6] = [
    Run {
        name: "closed loop, 256 clients",
        queue_depth: None,
        load: &["--clients", "256", "--tokens", "4096"],
    },
    Run {
        name: "open loop at 10,000/s, 256 clients",
        queue_depth: None,
        load: &["--clients", "256", "--tokens", "4096", "--rate", "10000"],
    },
    Run {
        name: "closed loop, 2,048 clients (above saturation)",
        queue_depth: None,
        load: &["--clients", "2048", "--tokens", "4096"],
    },
    Run {
        name: "closed loop, 4,096 clients (above saturation)",
        queue_depth: None,
        load: &["--clients", "4096", "--tokens", "4096"],
    },
    Run {
        name: "closed loop, 8,192 clients (above saturation)",
        queue_depth: None,
        load: &["--clients", "8192", "--tokens", "8192"],
    },
    Run {
        name: "closed loop, 8,192 clients, queue of 1,000,000 (unbounded, for contrast)",
        queue_depth: Some("1000000"),
        load: &["--clients", "8192", "--tokens", "8192"],
    },
];

/// What one run measured, for the closing table.
struct Measured {
    name: &'static str,
    throughput: String,
    latency: String,
    /// p99 of accepted validations inside the server, from its histogram.
    server_p99_ms: Option<f64>,
    shed: String,
    rss_mib: (f64, f64),
}

pub fn run(serve_binary: Option<&str>) -> Result<(), String> {
    cargo_step(&["build", "--release", "--bin", "tokenrig"])?;
    let root = repo_root();
    let binary = root.join("target/release/tokenrig");
    let served = serve_binary.map_or_else(|| binary.clone(), PathBuf::from);
    let dir = root.join("target/bench-server");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let mut measured = Vec::new();
    let depths: Vec<Option<&str>> = vec![None, Some("1000000")];
    for depth in depths {
        let db = format!(
            "sqlite:{}",
            dir.join(format!("store-{}.db", depth.unwrap_or("default")))
                .display()
        );
        // The default server also answers RADIUS: its users, tokens and
        // clients file come first.
        let radius_setup = match depth {
            None => Some(bench_radius::prepare(&db, STORE_KEY, &dir)?),
            Some(_) => None,
        };
        let mut flags: Vec<&str> = depth.map_or_else(Vec::new, |d| vec!["--queue-depth", d]);
        if let Some((_, clients)) = &radius_setup {
            flags.extend([
                "--radius",
                "127.0.0.1:0",
                "--radius-clients",
                clients.as_str(),
            ]);
        }
        let server = Serve::start(&served, &db, &flags, STORE_KEY, ADMIN_TOKEN)?;
        let url = server.url.clone();
        println!(
            "xtask: {} serve {} on {url}, SQLite at {}",
            served.display(),
            flags.join(" "),
            dir.display()
        );
        let mut accepted = 0;
        for run in RUNS.iter().filter(|r| r.queue_depth == depth) {
            println!("xtask: {}", run.name);
            let rss = RssSampler::start(server.pid());
            let before = validate_histogram(&url)?;
            let output = Command::new(&binary)
                .args(["load", "--url", &url, "--duration", "10"])
                .args(run.load)
                .env("TOKENRIG_ADMIN_TOKEN", ADMIN_TOKEN)
                .output()
                .map_err(|e| format!("tokenrig load could not start: {e}"))?;
            let (start_kib, peak_kib) = rss.stop();
            let server_p99_ms = p99_ms(&before, &validate_histogram(&url)?);
            let stdout = String::from_utf8_lossy(&output.stdout);
            print!("{stdout}");
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            let rss_mib = (start_kib as f64 / 1024.0, peak_kib as f64 / 1024.0);
            println!(
                "server RSS MiB: {:.1} before, {:.1} peak",
                rss_mib.0, rss_mib.1
            );
            if !output.status.success() {
                return Err(format!(
                    "tokenrig load ({}) failed: {}",
                    run.name, output.status
                ));
            }
            accepted += accepted_in_all(&stdout).ok_or_else(|| {
                format!(
                    "tokenrig load ({}) did not say how many it accepted",
                    run.name
                )
            })?;
            let line = |prefix: &str| {
                stdout
                    .lines()
                    .find(|l| l.starts_with(prefix))
                    .unwrap_or_default()
                    .to_owned()
            };
            measured.push(Measured {
                name: run.name,
                throughput: stdout
                    .lines()
                    .find(|l| l.contains(" validations/s ("))
                    .and_then(|l| l.split(" (").next())
                    .unwrap_or_default()
                    .to_owned(),
                latency: line("latency ms:")
                    .trim_start_matches("latency ms: ")
                    .to_owned(),
                server_p99_ms,
                shed: line("shed (503").to_owned(),
                rss_mib,
            });
        }
        if let Some((accounts, _)) = radius_setup {
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
                measured.first().map_or("?", |m| m.throughput.as_str())
            );
        }
        drop(server);
        check_audit(&db, accepted)?;
    }
    println!(
        "\nxtask: summary (accepted requests' latency at the client, p99 inside the server \
         (≤ the bucket bound), RSS of the server)"
    );
    for m in &measured {
        let inside = m
            .server_p99_ms
            .map_or_else(|| "none".to_owned(), |ms| format!("≤ {ms:.1}"));
        println!(
            "  {}\n    {}; client latency ms {}; server p99 ms {inside}; {}; RSS MiB {:.1} → {:.1} peak",
            m.name, m.throughput, m.latency, m.shed, m.rss_mib.0, m.rss_mib.1
        );
    }
    Ok(())
}

/// The server's latency histogram of accepted validations (route
/// `/v1/validate`, status 200) from its `/metrics`: (bucket bound in
/// seconds, cumulative count), ascending.
fn validate_histogram(url: &str) -> Result<Vec<(f64, u64)>, String> {
    let text = ureq::get(&format!("{url}/metrics"))
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
        .map_err(|e| format!("GET /metrics: {e}"))?;
    let mut buckets: Vec<(f64, u64)> = text
        .lines()
        .filter(|l| l.starts_with("tokenrig_http_request_duration_seconds_bucket{"))
        .filter(|l| l.contains("route=\"/v1/validate\"") && l.contains("status=\"200\""))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            let count = l.rsplit(' ').next()?.parse().ok()?;
            Some((bound, count))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(buckets)
}

/// The bound of the bucket holding the 99th percentile of the requests
/// between two scrapes, in ms; `None` when none was accepted.
fn p99_ms(before: &[(f64, u64)], after: &[(f64, u64)]) -> Option<f64> {
    let earlier = |bound: f64| {
        before
            .iter()
            .find(|(b, _)| *b == bound)
            .map_or(0, |(_, c)| *c)
    };
    let deltas: Vec<(f64, u64)> = after
        .iter()
        .map(|&(bound, count)| (bound, count - earlier(bound).min(count)))
        .collect();
    let total = deltas.last()?.1;
    if total == 0 {
        return None;
    }
    let wanted = total - total / 100;
    deltas
        .iter()
        .find(|(_, count)| *count >= wanted)
        .map(|(bound, _)| bound * 1000.0)
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
