//! `tokenrig demo`: the whole rig end to end, told in a screen. A
//! `tokenrig serve` on a fresh SQLite store (in a temporary directory, test
//! clock on); the conformance suite run against it over HTTP with virtual
//! tokens, told as a line per theme (`themes.rs`); then the two seed flows
//! against the same server, a line of answers each (`flows.rs`). The full
//! table goes to a file whose path is printed, or with `--verbose` to the
//! terminal.
//!
//! `--quartz` shows instead the motivation in miniature (`quartz.rs`).

mod flows;
mod quartz;
mod themes;

use std::path::PathBuf;

use clap::Args;
use tokenrig::clock::UnixTime;
use tokenrig::device::Serial;
use tokenrig::harness::{self, RunOptions, SuiteSource, http::Http, report};
use tokenrig::server::{self, ServeConfig};
use tokenrig::store::{SecretSource, StoreSecret, default_data_dir};
use tokenrig::verifier::Policy;
use zeroize::Zeroizing;

use self::flows::SeedFlows;
use super::progress::Progress;
use super::{CliError, Context, write_lines};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed for the tokens' keys and serials (same seed, same codes)
    #[arg(long, default_value = "42", value_parser = super::args::unsigned)]
    seed: u64,
    /// Conformance suite files or directories for the end-to-end run;
    /// `embedded` is the suite inside the binary
    #[arg(long = "suite", value_name = "PATH", default_value = "embedded")]
    suites: Vec<SuiteSource>,
    /// Write the full table to PATH [default: demo-report.txt in
    /// $XDG_DATA_HOME/tokenrig or ~/.local/share/tokenrig]
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Print the full table on the terminal instead of filing it (filed too if --report is given)
    #[arg(long, short)]
    verbose: bool,
    /// Show a C100 and a drifting C200 on a virtual clock instead
    #[arg(long)]
    quartz: bool,
    /// How fast the C200's quartz runs, in parts per million (negative: slow)
    #[arg(
        long,
        value_name = "PPM",
        default_value = "20",
        allow_negative_numbers = true
    )]
    drift_ppm: f64,
}

/// 2026-01-01 00:00 UTC: where the virtual clock starts.
const START: UnixTime = UnixTime::from_secs(1_767_225_600);
/// Serials as printed on real fobs (DESIGN.md, "facts from the field").
const C100_SERIAL: &str = "1000133508267";
const C200_SERIAL: &str = "2600124809778";

fn serial(s: &str) -> Serial {
    Serial::parse(s).expect("the demo's serials are valid")
}

pub fn run(args: DemoArgs) -> Result<bool, CliError> {
    if args.quartz {
        return quartz::run(args.seed, args.drift_ppm).map(|()| true);
    }
    end_to_end(&args)
}

/// Serve on a temporary SQLite store with the test clock, run the suite
/// against it over HTTP, then the two seed flows; print a line per theme
/// and per flow, the full table to its file (or the terminal). True when
/// every case passed and both flows went through.
fn end_to_end(args: &DemoArgs) -> Result<bool, CliError> {
    let cases = harness::load_suite(&args.suites).map_err(CliError::input)?;
    let report_file = match (&args.report, args.verbose) {
        (Some(path), _) => Some(path.clone()),
        (None, false) => Some(default_report()?),
        (None, true) => None,
    };
    let dir = tempfile::tempdir()?;
    let db = format!("sqlite:{}", dir.path().join("demo.db").display());
    let admin_token = data_encoding::HEXLOWER.encode(&rand::random::<[u8; 16]>());
    let secret = StoreSecret::generate()?;
    let state = server::open(ServeConfig {
        db_url: db,
        secret: SecretSource::Given(secret),
        policy: Policy::default(),
        admin_token: Some(Zeroizing::new(admin_token.clone())),
        fast_workers: None,
        queue_depth: None,
        rate_limit: None,
        sms: None,
        test_clock: true,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(server::serve(listener, None, state, async {
        let _ = stopped.await;
    }));
    write_lines([
        format!("tokenrig demo: tokenrig serve on {url}, a temporary SQLite store, test clock"),
        format!(
            "virtual tokens (seed {}) over HTTP: the conformance suite, then the two seed flows",
            args.seed
        ),
        String::new(),
    ])?;
    let target = Http::new(&url, &admin_token).map_err(CliError::failure)?;
    let progress = Progress::new(cases.len());
    let results = harness::run(
        vec![Box::new(target)],
        &cases,
        &RunOptions::new(args.seed),
        &progress,
    );
    progress.finish();
    let table = report::human(&url, &results);
    match &report_file {
        Some(path) => std::fs::write(path, &table).failed(format!("{}", path.display()))?,
        None => write_lines([table.trim_end(), ""])?,
    }
    write_lines(
        [format!(
            "conformance suite, {} cases by theme:",
            cases.len()
        )]
        .into_iter()
        .chain(themes::summary(&results)),
    )?;

    let mut flows = SeedFlows::set_up(&url, &admin_token, args.seed)?;
    let told = [flows.resync(), flows.replacement()];
    let _ = stop.send(());
    let _ = runtime.block_on(serving);
    let summary = report::Summary::of(&results);
    let flows_done = told.iter().filter(|t| t.done).count();
    let mut lines = vec![
        String::new(),
        "the two seed flows, live on the same server:".to_owned(),
    ];
    for t in &told {
        lines.push(format!("  {}:", t.title));
        lines.push(format!("    {}", t.steps));
    }
    lines.push(String::new());
    let cases_said = if summary.all_passed() {
        format!("all {} cases passed", summary.total)
    } else {
        format!(
            "{}/{} cases passed ({} failed, {} unsupported, {} errors)",
            summary.passed, summary.total, summary.failed, summary.unsupported, summary.errors
        )
    };
    let flows_said = match flows_done {
        2 => "both seed flows went through".to_owned(),
        n => format!("{n} of 2 seed flows went through"),
    };
    let elapsed: std::time::Duration = results.iter().map(|r| r.duration).sum();
    let table_said = match &report_file {
        Some(path) => format!("full table: {}", path.display()),
        None => "full table above".to_owned(),
    };
    lines.push(format!(
        "{cases_said} in {}; {flows_said}",
        themes::duration(elapsed)
    ));
    lines.push(table_said);
    write_lines(lines)?;
    Ok(summary.all_passed() && flows_done == told.len())
}

/// `demo-report.txt` in the data directory (next to `tokenrig.db`, which
/// the demo leaves alone), or in the current directory where there is
/// none.
fn default_report() -> Result<PathBuf, CliError> {
    match default_data_dir() {
        Some(dir) => {
            std::fs::create_dir_all(&dir).failed(format!("cannot create {}", dir.display()))?;
            Ok(dir.join("demo-report.txt"))
        }
        None => Ok(PathBuf::from("tokenrig-demo-report.txt")),
    }
}
