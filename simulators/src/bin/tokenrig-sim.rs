//! `tokenrig-sim`: run emulated tokens as devices.
//!
//! Today: `tokenrig-sim fleet` writes the inventory of a seeded fleet (the
//! file a vendor ships to the verifier). The serial-line and HID devices
//! join as further subcommands.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tokenrig::clock::UnixTime;
use tokenrig::otp::TimeStep;
use tokenrig_simulators::fleet::{Fleet, FleetSpec};

/// Emulated OTP tokens as devices.
#[derive(Debug, Parser)]
#[command(name = "tokenrig-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the inventory CSV (serial,kind,key,digits,step) of a seeded fleet.
    ///
    /// The same seed always gives the same serials and keys, so a test rig
    /// can import the inventory into a verifier and later regenerate the
    /// tokens that match it. The output contains keys: test seeds only.
    Fleet(FleetArgs),
}

#[derive(Debug, Args)]
struct FleetArgs {
    /// Seed for serials, keys and drifts
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of C100 event key fobs
    #[arg(long, default_value_t = 1)]
    c100: u64,
    /// Number of C200 time key fobs
    #[arg(long, default_value_t = 1)]
    c200: u64,
    /// Number of USB OTP tokens
    #[arg(long, default_value_t = 0)]
    usb: u64,
    /// Time step of the C200s in seconds
    #[arg(long, value_name = "30|60", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    step: u64,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!(
                "tokenrig-sim: error: {}",
                tokenrig::cmdline::clap_error_line(&e)
            );
            return ExitCode::from(2);
        }
    };
    let Command::Fleet(args) = cli.command;
    match fleet(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokenrig-sim: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn fleet(args: FleetArgs) -> io::Result<()> {
    let step = TimeStep::from_secs(args.step).map_err(io::Error::other)?;
    let spec = FleetSpec {
        seed: args.seed,
        c100: args.c100,
        c200: args.c200,
        usb: args.usb,
        c200_step: step,
        ..FleetSpec::default()
    };
    // The inventory does not depend on the start time; 0 keeps it explicit.
    let fleet = Fleet::generate(&spec, UnixTime::EPOCH).map_err(io::Error::other)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    fleet.write_inventory(&mut out)?;
    out.flush()
}
