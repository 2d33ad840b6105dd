//! `cargo xtask`: the project's automation, in Rust so it runs the same on a
//! laptop and in CI (no shell scripts, no Makefile).
//!
//! - [`ci`]: `cargo xtask ci`, everything CI runs: test tools, fmt, the
//!   layer rules, clippy, nextest, doctests.
//! - [`bench`]: `cargo xtask bench`, the criterion benches and the HOTP cost
//!   against its floor of two SHA-1 compressions; the `tokenrig simulate`
//!   fleet figure (also alone, `cargo xtask bench simulate`).
//! - [`bench_server`]: `cargo xtask bench-server`, `tokenrig load` against a
//!   `tokenrig serve` on SQLite: validations/s and latency percentiles.
//! - [`conformance`]: `cargo xtask conformance`, the suite against the
//!   builtin target and against a `tokenrig serve --test-clock` over HTTP.
//! - [`dist`]: `cargo xtask dist`, man pages and shell completions from
//!   the binaries; `cargo xtask install-test`, the installed tool run
//!   outside the repository (a CI step).
//! - [`fuzz`]: `cargo xtask fuzz`, libFuzzer on the wire codecs and the
//!   inventory parsers (nightly); a short run of each is a `ci` step.
//! - [`layers`]: `cargo xtask layers`, `tokenrig-core` reaches no I/O crate
//!   and reads the clock only in `SystemClock` (a `ci` step).
//! - [`peers`]: `cargo xtask peers`, the suite against privacyIDEA (under
//!   faketime and on real time), throughput side by side, `docs/peers.md`.
//! - [`tools`]: the external programs the tests start, installed on demand.
//! - [`process`]: running commands as named steps that fail with one line.

mod bench;
mod bench_radius;
mod bench_server;
mod ci;
mod conformance;
mod dist;
mod docs;
mod fuzz;
mod layers;
mod peers;
mod process;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci     install test tools, then fmt, clippy, nextest and doctests (what CI runs)
  bench  run the criterion benches and print ns per HOTP code vs SHA-1 compressions, then the simulate fleet figure
  bench simulate  only the fleet figure: tokenrig simulate (release) on 10k/100k/1M C200s x 3 years, wall time, decisions/s, peak RSS
  bench-server  [--serve BINARY]: start tokenrig serve (release, SQLite) and load it, up to above saturation: validations/s, p50/p99, shed, RSS, then RADIUS Access-Requests/s; accepts vs audit
  conformance   run the conformance suite against the builtin target and a tokenrig serve it starts
  docs   write the generated pages of docs/ (reason codes) from the code and the suite
  dist   build release binaries, then man pages and shell completions into target/dist
  install-test  cargo install both binaries into target/, run them outside the repository
  layers fail if tokenrig-core reaches an I/O crate or reads the clock outside SystemClock
  fuzz   [TARGET] [SECONDS]: run a fuzz target from fuzz/ (line, hid, inventory, radius, scenario, http, usbip; default: line, 60 s; needs nightly)
  fuzz   TARGET --runs N: run it for N inputs (a recorded campaign)
  fuzz   --smoke: every target for a fixed number of runs, as ci does
  peers  run the suite against privacyIDEA (faketime, then real time), compare throughput, write docs/peers.md";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["ci"] => ci::run(),
        ["bench"] => bench::run(),
        ["bench", "simulate"] => bench::simulate(),
        ["bench-server"] => bench_server::run(None),
        ["bench-server", "--serve", binary] => bench_server::run(Some(binary)),
        ["conformance"] => conformance::run(),
        ["dist"] => dist::run(),
        ["docs"] => docs::run(),
        ["install-test"] => dist::install_test(),
        ["layers"] => layers::run(),
        ["fuzz", "--smoke"] => fuzz::smoke(),
        ["fuzz", ref rest @ ..] => fuzz::run(rest),
        ["peers"] => peers::run(),
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown arguments {args:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}
