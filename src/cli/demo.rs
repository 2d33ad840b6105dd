//! `tokenrig demo`: the whole rig end to end. A `tokenrig serve` on a fresh
//! SQLite store (in a temporary directory, test clock on), the conformance
//! suite run against it over HTTP with virtual tokens, and the report.
//!
//! `--quartz` shows instead the motivation in miniature: a C100 and a C200
//! pressed on a virtual clock, event codes that never repeat and a time
//! token whose quartz drifts away from the verifier's clock over a year.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokenrig::clock::{Clock, ClockOffset, Drift, DriftingClock, UnixTime, VirtualClock};
use tokenrig::device::{C100, C200, Serial, Token, keygen};
use tokenrig::harness::{self, RunOptions, SuiteSource, http::Http, report};
use tokenrig::otp::{Algorithm, Digits, OtpKey, TotpParams};
use tokenrig::server::{self, ServeConfig};
use tokenrig::store::{SecretSource, StoreSecret};
use tokenrig::verifier::Policy;
use zeroize::Zeroizing;

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
const DAY: u64 = 86_400;

pub fn run(args: DemoArgs) -> Result<bool, CliError> {
    if args.quartz {
        return quartz(&args).map(|()| true);
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

fn quartz(args: &DemoArgs) -> Result<(), CliError> {
    let drift = Drift::from_ppm(args.drift_ppm).input("--drift-ppm")?;
    let clock = VirtualClock::new(START);
    let mut lines = vec![format!(
        "tokenrig demo: virtual tokens on a virtual clock starting 2026-01-01 00:00 UTC (keys from seed {})",
        args.seed
    )];
    lines.extend(c100_presses(args.seed)?);
    lines.extend(c200_over_a_year(args.seed, drift, &clock)?);
    write_lines(lines)
}

fn serial(s: &str) -> Serial {
    Serial::parse(s).expect("the demo's serials are valid")
}

/// Five presses of a C100: each shows the next counter's code.
fn c100_presses(seed: u64) -> Result<Vec<String>, CliError> {
    let mut fob = C100::new(
        serial(C100_SERIAL),
        keygen::key_from_seed(seed, 0, keygen::DEFAULT_KEY_LEN),
    )
    .map_err(CliError::input)?;
    let mut lines = vec![
        String::new(),
        format!(
            "C100 event key fob {}, {} digits",
            fob.serial(),
            fob.digits()
        ),
        "  press  counter  code".to_owned(),
    ];
    for press in 1..=5 {
        let counter = fob.counter().unwrap_or(u64::MAX);
        let code = fob.press().map_err(CliError::input)?;
        lines.push(format!("  {press:>5}  {counter:>7}  {code}"));
    }
    Ok(lines)
}

/// A C200 whose quartz runs `drift` fast, pressed on days 0, 1, 30, 182 and
/// 365, next to the code a verifier with an exact clock would expect.
fn c200_over_a_year(
    seed: u64,
    drift: Drift,
    clock: &VirtualClock,
) -> Result<Vec<String>, CliError> {
    let key = keygen::key_from_seed(seed, 1, keygen::DEFAULT_KEY_LEN);
    let exact = OtpKey::new(Algorithm::Sha1, &key);
    let quartz = DriftingClock::new(Arc::new(clock.clone()), drift, ClockOffset::ZERO);
    let mut fob = C200::new(serial(C200_SERIAL), key, quartz).map_err(CliError::input)?;
    let params = TotpParams::new(fob.step());
    let step = fob.step().as_secs() as f64;
    let mut lines = vec![
        String::new(),
        format!(
            "C200 time key fob {}, {} step, quartz {:+} ppm",
            fob.serial(),
            fob.step(),
            drift.as_ppm()
        ),
        "    day  token clock ahead  steps ahead  token shows  exact clock expects".to_owned(),
    ];
    let mut day = 0;
    for target in [0, 1, 30, 182, 365] {
        clock.advance(Duration::from_secs((target - day) * DAY));
        day = target;
        let now = clock.now();
        let ahead = fob.clock().now().as_nanos() as f64 / 1e9 - now.as_nanos() as f64 / 1e9;
        let shown = fob.press().map_err(CliError::input)?;
        let expected = exact
            .totp(now.as_secs(), params, Digits::SIX)
            .map_err(CliError::input)?;
        lines.push(format!(
            "  {day:>5}  {ahead:>15.1} s  {:>11.1}  {:>11}  {:>19}",
            ahead / step,
            shown.to_string(),
            expected.to_string(),
        ));
    }
    lines.push(String::new());
    lines.push(
        "A verifier looking only ±1 step around an exact clock rejects this token within"
            .to_owned(),
    );
    lines.push("months; a verifier that learns each token's drift keeps accepting it.".to_owned());
    Ok(lines)
}
