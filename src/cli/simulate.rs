//! `tokenrig simulate`: a fleet over years through the verifier core, a
//! policy or a grid of them; the table on stdout, JSON, CSV and plots on
//! request, a progress bar on stderr.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokenrig::simulate::fleet::{
    CountDistribution, DayRange, DriftDistribution, Fleet, FleetFile, TokenCounts, set,
};
use tokenrig::simulate::grid::Grid;
use tokenrig::simulate::{engine, plot, report::Report};

use super::{CliError, Context};

/// Which verifier windows, drift learning and resync reach keep a fleet of
/// key fobs usable for years, and what each costs in guessing risk.
///
/// Every login of every token is decided by the verifier core the server
/// runs, with codes from the device models on a virtual clock; a refused
/// user tries the next code, then a two-OTP resync, then calls the
/// helpdesk. Give several values to a policy flag (--time-window 0,1,2)
/// to compare every combination on the same fleet and the same users.
/// The same seed and flags print the same table and JSON byte for byte.
/// Distributions: normal:MEAN:SIGMA, uniform:MIN:MAX, list:A,B,C or one
/// value (drift, ppm); N, poisson:MEAN, uniform:MIN:MAX, geometric:MEAN
/// (counts); N or MIN..MAX (days). See docs/simulate.md.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct SimulateArgs {
    /// A run file (TOML, see docs/simulate.md); flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Seeds keys, drift and every user's calendar [default: 1].
    #[arg(long)]
    seed: Option<u64>,
    /// How long the fleet is used, in 365-day years [default: 3].
    #[arg(long)]
    years: Option<u32>,
    /// C100 event fobs. Any of the four count flags makes the fleet exactly
    /// what they give [default fleet: 1000 C200 of 60 s].
    #[arg(long, value_name = "N")]
    c100: Option<u64>,
    /// C200 time fobs with a 30 s step.
    #[arg(long = "c200-30", value_name = "N")]
    c200_30: Option<u64>,
    /// C200 time fobs with a 60 s step, as the vendor ships them.
    #[arg(long = "c200-60", value_name = "N")]
    c200_60: Option<u64>,
    /// USB event tokens.
    #[arg(long, value_name = "N")]
    usb: Option<u64>,
    /// The C200s' quartz drift in ppm, positive fast [default: normal:0:3].
    #[arg(long, value_name = "DIST")]
    drift_ppm: Option<DriftDistribution>,
    /// Days between the factory setting the clock and first use [default: 0..180].
    #[arg(long, value_name = "DAYS")]
    shelf_days: Option<DayRange>,
    /// Logins on each working day a person is in [default: 1].
    #[arg(long, value_name = "DIST")]
    logins_per_day: Option<CountDistribution>,
    /// Working days off a year, per person [default: 10].
    #[arg(long, value_name = "N")]
    holidays: Option<u32>,
    /// Presses of an event token between logins that no verifier sees [default: geometric:1].
    #[arg(long, value_name = "DIST")]
    stray_presses: Option<CountDistribution>,
    /// Spells a year a token lies unused [default: 0.1].
    #[arg(long, value_name = "RATE")]
    idle_spells_per_year: Option<f64>,
    /// How long an idle spell lasts [default: 30..120].
    #[arg(long, value_name = "DAYS")]
    idle_days: Option<DayRange>,
    /// Seconds between reading a code and the verifier deciding [default: 0].
    #[arg(long, value_name = "SECONDS")]
    typing_seconds: Option<u32>,
    /// Time tokens whose drift is traced for the plot, at most 64 [default: 8].
    #[arg(long, value_name = "N")]
    sample_tokens: Option<u32>,
    /// Time window(s), ± steps around the expected step [default: 1].
    #[arg(long, value_name = "STEPS", value_delimiter = ',')]
    time_window: Option<Vec<u64>>,
    /// Drift learning on accepted time codes: on, off, or on,off [default: on].
    #[arg(long, value_name = "on|off", value_delimiter = ',', value_parser = on_off)]
    learn_drift: Option<Vec<bool>>,
    /// Event look-ahead window(s), in codes [default: 10].
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    event_window: Option<Vec<u64>>,
    /// Event two-OTP resync window(s), in codes [default: 1000].
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    event_resync_window: Option<Vec<u64>>,
    /// Time two-OTP resync span(s), ± hours around now [default: 24].
    #[arg(long, value_name = "HOURS", value_delimiter = ',')]
    time_resync_hours: Option<Vec<u64>>,
    /// Consecutive failures that lock a token [default: 10].
    #[arg(long, value_name = "N", value_delimiter = ',')]
    max_failures: Option<Vec<u32>>,
    /// Also write the full result as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write a row per policy and kind as CSV.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write desync.svg, drift.svg and risk.svg into this directory.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Worker threads, 1 to 256 [default: every core]; the result does not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err("expected on or off".to_owned()),
    }
}

pub fn run(args: SimulateArgs) -> Result<(), CliError> {
    let (fleet, grid) = describe(&args)?;
    fleet.check().map_err(CliError::Usage)?;
    let policies = grid.policies().map_err(CliError::Usage)?;
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );

    let bar = progress(fleet.tokens.total());
    let started = Instant::now();
    let outcome =
        engine::run(&fleet, &policies, threads, &|n| bar.inc(n)).map_err(CliError::input)?;
    let elapsed = started.elapsed();
    bar.finish_and_clear();

    let report = Report::new(&fleet, &grid, &policies, &outcome);
    super::write_lines([report.table().trim_end()])?;
    let decisions: u64 = outcome.tallies.iter().flatten().map(|t| t.decisions).sum();
    eprintln!(
        "tokenrig: {decisions} decisions in {:.1} s on {threads} threads ({:.2} M/s)",
        elapsed.as_secs_f64(),
        decisions as f64 / elapsed.as_secs_f64().max(1e-9) / 1e6
    );
    if let Some(path) = &args.json {
        std::fs::write(path, report.json()).failed(path.display().to_string())?;
        eprintln!("tokenrig: JSON in {}", path.display());
    }
    if let Some(path) = &args.csv {
        std::fs::write(path, report.csv()).failed(path.display().to_string())?;
        eprintln!("tokenrig: CSV in {}", path.display());
    }
    if let Some(dir) = &args.plot {
        std::fs::create_dir_all(dir).failed(dir.display().to_string())?;
        for path in plot::write_all(&report, dir).map_err(CliError::failure)? {
            eprintln!("tokenrig: plot in {}", path.display());
        }
    }
    Ok(())
}

/// Defaults, then the file, then the flags.
fn describe(args: &SimulateArgs) -> Result<(Fleet, Grid), CliError> {
    let mut fleet = Fleet::default();
    let mut grid = Grid::default();
    if let Some(path) = &args.config {
        let what = path.display().to_string();
        let text = std::fs::read_to_string(path).input(what.clone())?;
        let file = FleetFile::parse(&text).input(what)?;
        file.apply(&mut fleet);
        file.policy.apply(&mut grid);
    }
    let counts = [args.c100, args.c200_30, args.c200_60, args.usb];
    if counts.iter().any(Option::is_some) {
        fleet.tokens = TokenCounts {
            c100: args.c100.unwrap_or(0),
            c200_30: args.c200_30.unwrap_or(0),
            c200_60: args.c200_60.unwrap_or(0),
            usb: args.usb.unwrap_or(0),
        };
    }
    set(&mut fleet.seed, args.seed);
    set(&mut fleet.years, args.years);
    set(&mut fleet.drift_ppm, args.drift_ppm.clone());
    set(&mut fleet.shelf_days, args.shelf_days);
    set(&mut fleet.sample_tokens, args.sample_tokens);
    let usage = &mut fleet.usage;
    set(&mut usage.logins_per_day, args.logins_per_day.clone());
    set(&mut usage.holidays_per_year, args.holidays);
    set(&mut usage.stray_presses, args.stray_presses.clone());
    set(&mut usage.idle_spells_per_year, args.idle_spells_per_year);
    set(&mut usage.idle_days, args.idle_days);
    set(&mut usage.typing_seconds, args.typing_seconds);
    set(&mut grid.time_window, args.time_window.clone());
    set(&mut grid.learn_drift, args.learn_drift.clone());
    set(&mut grid.event_window, args.event_window.clone());
    set(
        &mut grid.event_resync_window,
        args.event_resync_window.clone(),
    );
    set(&mut grid.time_resync_hours, args.time_resync_hours.clone());
    set(&mut grid.max_failures, args.max_failures.clone());
    Ok((fleet, grid))
}

/// Tokens done out of the fleet; hidden where stderr is not a terminal.
fn progress(tokens: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(tokens), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed:>4} [{bar:30}] {human_pos}/{human_len} tokens  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}
