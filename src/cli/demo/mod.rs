//! `tokenrig demo`: the whole rig end to end. A `tokenrig serve` on a fresh
//! SQLite store (in a temporary directory, test clock on), the conformance
//! suite run against it over HTTP with virtual tokens, and the report.
//!
//! `--quartz` shows instead the motivation in miniature (`quartz.rs`).

mod quartz;

use clap::Args;
use tokenrig::clock::UnixTime;
use tokenrig::device::Serial;
use tokenrig::harness::{self, RunOptions, SuiteSource, http::Http, report};
use tokenrig::server::{self, ServeConfig};
use tokenrig::store::{SecretSource, StoreSecret};
use tokenrig::verifier::Policy;
use zeroize::Zeroizing;

use super::progress::Progress;
use super::{CliError, write_lines};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed for the tokens' keys and serials (same seed, same codes)
    #[arg(long, default_value = "42", value_parser = super::args::unsigned)]
    seed: u64,
    /// Conformance suite files or directories for the end-to-end run;
    /// `embedded` is the suite inside the binary
    #[arg(long = "suite", value_name = "PATH", default_value = "embedded")]
    suites: Vec<SuiteSource>,
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
/// against it over HTTP, print the report; true when every case passed.
fn end_to_end(args: &DemoArgs) -> Result<bool, CliError> {
    let cases = harness::load_suite(&args.suites).map_err(CliError::input)?;
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
        sms: None,
        test_clock: true,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    write_lines([
        format!(
            "tokenrig demo: serve on {url} (SQLite in {}, test clock)",
            dir.path().display()
        ),
        format!(
            "running {} conformance case(s) over HTTP with virtual tokens (seed {})",
            cases.len(),
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
    let _ = stop.send(());
    let _ = runtime.block_on(serving);
    write_lines([report::human(&url, &results).trim_end()])?;
    Ok(report::Summary::of(&results).all_passed())
}
