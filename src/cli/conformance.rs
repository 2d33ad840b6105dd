//! `tokenrig conformance`: run the scenario suite against a verifier.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokenrig::harness::faketime::FakeClock;
use tokenrig::harness::privacyidea::PrivacyIdea;
use tokenrig::harness::{self, Builtin, ClockControl, RunOptions, SuiteSource, Target, report};
use tokenrig::verifier::Policy;

use super::progress::Progress;
use super::{CliError, Context};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tokenrig conformance                                  # the suite inside the binary, builtin target
  tokenrig conformance --filter 'RSY-*' --junit junit.xml
  tokenrig conformance --target http://127.0.0.1:8080 --admin-token \"$TOKEN\"
  tokenrig conformance --list
  tokenrig conformance --target privacyidea+http://127.0.0.1:5001 --peer-password-stdin --jobs 4
  tokenrig conformance --target radius://SECRET@127.0.0.1:1812 --setup http://127.0.0.1:8080 --admin-token \"$TOKEN\"
  tokenrig conformance --export my-suite                # write the suite out to copy and extend
  tokenrig conformance --suite embedded --suite my-cases/   # the suite plus your own cases

Exit 0 only when every selected case passed; unsupported cases are not passes.

Time: with clock control (builtin, `tokenrig serve --test-clock`) every case
runs at its own instants. On a verifier that runs on real time, a case that
pins an instant (an RFC vector's T, a reading at a step's start) or moves the
clock further than --max-wait is unsupported, never failed; the others run
on the wall clock, waiting out their advances, many at once (--jobs).
Scenario format: docs/conformance.md.")]
pub struct ConformanceArgs {
    /// `builtin` (tokenrig's verifier in process, virtual clock), the base
    /// URL of a tokenrig-compatible HTTP verifier, or
    /// `privacyidea+http://HOST:PORT` (docs/peers.md), or
    /// `radius://SECRET@HOST:PORT` with --setup (docs/radius.md)
    #[arg(long, default_value = "builtin")]
    target: String,
    /// A radius:// target's set-up: the http(s):// or privacyidea+http(s)://
    /// target that creates its tokens and users (the same server)
    #[arg(long, value_name = "URL")]
    setup: Option<String>,
    /// Suite files or directories of .toml files; `embedded` is the suite
    /// inside the binary. A file named like an embedded one replaces it
    #[arg(long = "suite", value_name = "PATH", default_value = "embedded")]
    suites: Vec<SuiteSource>,
    /// Write the embedded suite's files into DIR (to copy and extend) and exit
    #[arg(long, value_name = "DIR", conflicts_with_all = ["list", "junit", "json"])]
    export: Option<PathBuf>,
    /// Run only cases whose id matches (`*` matches any run of characters)
    #[arg(long, value_name = "PATTERN")]
    filter: Option<String>,
    /// Write a JUnit XML report here
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a JSON report here
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print the selected cases (id and description) and exit
    #[arg(long)]
    list: bool,
    /// How --list prints: `text` (one case a line) or `markdown` (by
    /// theme, with the rules each theme's file states: docs/cases.md)
    #[arg(long, value_name = "FORMAT", default_value = "text", requires = "list")]
    format: ListFormat,
    /// Seed for keys and codes [default: random, printed]
    #[arg(long)]
    seed: Option<u64>,
    /// Names this run's serials and users [default: random, printed]; with
    /// --seed it replays a run exactly, and a new one lets the same seed
    /// run again against a verifier that keeps the last run's tokens
    #[arg(long, value_name = "N")]
    run_id: Option<u64>,
    /// Cases run at once [default: 32 on real time, the CPUs on builtin; 1
    /// when the target has one clock the harness sets]
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Without clock control, the longest a case may wait for the wall
    /// clock (its `advance`s in all); cases that move it further are
    /// unsupported
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    max_wait: u64,
    /// privacyIDEA target: the admin to log in as
    #[arg(long, value_name = "USER", default_value = "admin")]
    peer_user: String,
    /// privacyIDEA target: read the admin's password from stdin's first
    /// line [default: $TOKENRIG_PEER_PASSWORD]
    #[arg(long)]
    peer_password_stdin: bool,
    /// privacyIDEA target: the libfaketime control file the server runs
    /// under, so the harness sets its clock (clock control)
    #[arg(long, value_name = "FILE")]
    peer_clock_file: Option<PathBuf>,
    /// privacyIDEA target: an SQLite users file on the server's machine to
    /// create realm `tokenrig` over when it is missing
    #[arg(long, value_name = "PATH")]
    peer_users_db: Option<String>,
    /// Bearer token of the HTTP target's admin API [default: $TOKENRIG_ADMIN_TOKEN]
    #[arg(long, env = "TOKENRIG_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// `*` matches any run of characters; everything else literally.
fn matches(pattern: &str, id: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == id,
        Some((head, rest)) => {
            let Some(tail) = id.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| matches(rest, &tail[i..]))
        }
    }
}

/// What `--list` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Markdown,
}

pub fn run(a: ConformanceArgs) -> Result<bool, CliError> {
    if let Some(dir) = &a.export {
        let written = harness::embedded::export(dir).map_err(|e| {
            let message = format!("--export {}: {e}", dir.display());
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                CliError::Usage(message)
            } else {
                CliError::Io(std::io::Error::new(e.kind(), message))
            }
        })?;
        return super::write_lines(written.iter().map(|p| p.display().to_string())).map(|()| true);
    }
    let mut cases = harness::load_suite(&a.suites).map_err(CliError::input)?;
    if let Some(pattern) = &a.filter {
        cases.retain(|c| matches(pattern, &c.id));
        if cases.is_empty() {
            return Err(CliError::Usage(format!(
                "--filter {pattern:?} selects no case"
            )));
        }
    }
    if a.list {
        match a.format {
            ListFormat::Text => {
                super::write_lines(cases.iter().map(|c| format!("{}  {}", c.id, c.description)))?
            }
            ListFormat::Markdown => {
                print!("{}", harness::catalogue::cases_markdown(&cases));
            }
        }
        return Ok(true);
    }
    if a.jobs == Some(0) {
        return Err(CliError::Usage("--jobs must be at least 1".to_owned()));
    }
    let first = connect(&a, true)?;
    let offers = first.offers();
    let jobs = match offers.clock {
        // One clock for every case: they take turns.
        ClockControl::Shared => 1,
        ClockControl::PerCase => a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        // Cases mostly wait for the wall clock: run many at once.
        ClockControl::None => a.jobs.unwrap_or(REAL_TIME_JOBS),
    }
    .min(cases.len())
    .max(1);
    let mut targets = vec![first];
    for _ in 1..jobs {
        targets.push(connect(&a, false)?);
    }
    let seed = a.seed.unwrap_or_else(rand::random);
    let run_id = a.run_id.unwrap_or_else(rand::random);
    let options = RunOptions {
        seed,
        run_id,
        max_wait: Duration::from_secs(a.max_wait),
    };
    let name = targets[0].name();
    eprintln!(
        "tokenrig: running {} case(s) against {name} (seed {seed}, run id {run_id}; {})",
        cases.len(),
        clock_note(offers.clock, jobs, a.max_wait)
    );
    let progress = Progress::new(cases.len());
    let results = harness::run(targets, &cases, &options, &progress);
    progress.finish();
    if let Some(path) = &a.json {
        write_file(path, &report::json(&name, seed, &results))?;
    }
    if let Some(path) = &a.junit {
        write_file(path, &report::junit(&name, &results))?;
    }
    let text = report::human(&name, &results);
    super::write_lines([text.trim_end()])?;
    Ok(report::Summary::of(&results).all_passed())
}

/// A target that could not be reached. The first connection's failure is
/// the user's input (a wrong URL or token); a later one's is the world's.
fn refused(first: bool) -> impl Fn(harness::TargetError) -> CliError + Copy {
    move |e| {
        let message = format!("--target: {e}");
        if first {
            CliError::Usage(message)
        } else {
            CliError::Io(std::io::Error::other(message))
        }
    }
}

/// One connection to the `--target` (and, for a RADIUS one, its `--setup`).
fn connect(a: &ConformanceArgs, first: bool) -> Result<Box<dyn Target>, CliError> {
    if a.target.starts_with("radius://") {
        let setup = a.setup.as_deref().ok_or_else(|| {
            CliError::Usage(
                "a radius:// target needs --setup URL: the target that creates its tokens and users"
                    .to_owned(),
            )
        })?;
        if setup.starts_with("radius://") || setup == "builtin" {
            return Err(CliError::Usage(
                "--setup: expected an http(s):// URL or privacyidea+http(s)://… of the same server"
                    .to_owned(),
            ));
        }
        let setup = connect_to(a, setup, first)?;
        return Ok(Box::new(
            harness::radius::Radius::new(&a.target, setup).map_err(refused(first))?,
        ));
    }
    connect_to(a, &a.target, first)
}

/// A connection to the target at `target` (the `--target`, or a RADIUS
/// target's `--setup`).
fn connect_to(a: &ConformanceArgs, target: &str, first: bool) -> Result<Box<dyn Target>, CliError> {
    let refused = refused(first);
    if target == "builtin" {
        return Ok(Box::new(Builtin::new(Policy::default())));
    }
    if target.starts_with("http://") || target.starts_with("https://") {
        let token = a.admin_token.as_deref().ok_or_else(|| {
            CliError::Usage(
                "an HTTP target needs --admin-token or TOKENRIG_ADMIN_TOKEN (to import tokens and read SMS codes)"
                    .to_owned(),
            )
        })?;
        return Ok(Box::new(
            harness::http::Http::new(target, token).map_err(refused)?,
        ));
    }
    if let Some(url) = target.strip_prefix("privacyidea+") {
        let password = peer_password(a)?;
        let clock = a.peer_clock_file.clone().map(FakeClock::new);
        let peer = PrivacyIdea::connect(url, &a.peer_user, &password, clock).map_err(refused)?;
        let peer = match &a.peer_users_db {
            Some(db) => peer.with_users_db(db).map_err(refused)?,
            None => peer,
        };
        return Ok(Box::new(peer));
    }
    Err(CliError::Usage(format!(
        "--target {target:?}: expected builtin, an http(s):// URL, privacyidea+http(s)://… or radius://SECRET@HOST:PORT"
    )))
}

/// The peer admin's password: stdin's first line with
/// --peer-password-stdin (read once, for every connection), else
/// $TOKENRIG_PEER_PASSWORD.
fn peer_password(a: &ConformanceArgs) -> Result<String, CliError> {
    static STDIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if a.peer_password_stdin {
        if let Some(p) = STDIN.get() {
            return Ok(p.clone());
        }
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        return Ok(STDIN.get_or_init(|| password).clone());
    }
    std::env::var("TOKENRIG_PEER_PASSWORD").map_err(|_| {
        CliError::Usage(
            "a privacyIDEA target needs --peer-password-stdin or TOKENRIG_PEER_PASSWORD".to_owned(),
        )
    })
}

/// Cases run at once on real time when `--jobs` is not given: most of a
/// real-time case is waiting for the wall clock.
const REAL_TIME_JOBS: usize = 32;

/// How the run will go, for its first line.
fn clock_note(clock: ClockControl, jobs: usize, max_wait: u64) -> String {
    match clock {
        ClockControl::Shared => "clock control, one case at a time".to_owned(),
        ClockControl::PerCase => format!("clock control, {jobs} at a time"),
        ClockControl::None => format!(
            "real time: no clock control, waits up to {max_wait} s per case, {jobs} at a time"
        ),
    }
}

fn write_file(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).failed(path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn glob_patterns() {
        assert!(matches("RSY-*", "RSY-EVT-001"));
        assert!(matches("*-001", "RSY-EVT-001"));
        assert!(matches("*EVT*", "RSY-EVT-001"));
        assert!(matches("RSY-EVT-001", "RSY-EVT-001"));
        assert!(!matches("RSY-*", "VAL-EVT-001"));
        assert!(!matches("RSY", "RSY-EVT-001"));
    }
}
