//! Command-line front end: one file per command, errors mapped once in [`run`].
//!
//! This is the only layer allowed to read the system clock (`--now`) and to
//! print; everything it calls takes plain values and a [`tokenrig::clock::Clock`].

mod args;
mod assign;
mod check;
mod conformance;
mod db;
mod demo;
mod devices;
mod import;
mod load;
mod otp;
mod progress;
mod resync;
mod serve;
mod tokens;
mod unlock;
mod user;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Test OTP authentication end to end: verifier, emulated tokens, harness.
///
/// Keys are hex unless --base32 is given. Every error is one line on stderr
/// and a non-zero exit status: 2 for bad input, 1 for anything else.
#[derive(Debug, Parser)]
#[command(name = "tokenrig", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute HOTP (RFC 4226) and TOTP (RFC 6238) codes from a key.
    #[command(subcommand)]
    Otp(otp::OtpCommand),
    /// End to end: serve on a temporary SQLite store, run the conformance suite over HTTP.
    Demo(demo::DemoArgs),
    /// Import token inventories (PSKC, CSV, otpauth URIs): all files or nothing.
    Import(import::ImportArgs),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Bind an unassigned token to a user.
    Assign(assign::AssignArgs),
    /// Clear a token's lockout (counter and drift are kept).
    Unlock(unlock::UnlockArgs),
    /// List tokens: serial, kind, status, counter/offset, failures, lock, user.
    Tokens(tokens::TokensArgs),
    /// Check one OTP: exit 0 accepted, 1 rejected, the reason on stdout.
    #[command(allow_negative_numbers = true)]
    Check(check::CheckArgs),
    /// Resynchronise a token with two consecutive OTPs: exit 0 synchronised, 1 not.
    #[command(allow_negative_numbers = true)]
    Resync(resync::ResyncArgs),
    /// Serve the verifier as an HTTP/JSON API until SIGINT or SIGTERM.
    Serve(serve::ServeArgs),
    /// Load-test a running verifier's /v1/validate: requests/s and latency.
    Load(load::LoadArgs),
    /// Run the conformance suite against a verifier: exit 0 only if every case passes.
    Conformance(conformance::ConformanceArgs),
    /// Tokens on HID and serial lines: list them, press one.
    #[command(subcommand)]
    Devices(devices::DevicesCommand),
    /// Print a shell completion script (e.g. `tokenrig completions bash > /etc/bash_completion.d/tokenrig`).
    Completions {
        #[arg(value_enum)]
        shell: tokenrig::cmdline::Shell,
    },
    /// Write the man pages (tokenrig.1 and one per command) into a directory.
    Man {
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
    },
}

/// Why a command failed. `Usage` is the user's input; `Io` is the world's;
/// a store error is either, see [`db::is_bad_input`].
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] tokenrig::store::StoreError),
    #[error(transparent)]
    Device(#[from] tokenrig::transport::TransportError),
}

impl CliError {
    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Store(e) if db::is_bad_input(e) => ExitCode::from(2),
            CliError::Io(_) | CliError::Store(_) | CliError::Device(_) => ExitCode::FAILURE,
        }
    }
}

pub fn run() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let done = |r: Result<(), CliError>| r.map(|()| ExitCode::SUCCESS);
    let result = match cli.command {
        Command::Otp(cmd) => done(otp::run(cmd)),
        Command::Demo(args) => demo::run(args).map(|all_passed| {
            if all_passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Import(args) => done(import::run(args)),
        Command::User(cmd) => done(user::run(cmd)),
        Command::Assign(args) => done(assign::run(args)),
        Command::Unlock(args) => done(unlock::run(args)),
        Command::Tokens(args) => done(tokens::run(args)),
        Command::Check(args) => check::run(args),
        Command::Resync(args) => resync::run(args),
        Command::Serve(args) => done(serve::run(args)),
        Command::Load(args) => done(load::run(args)),
        Command::Conformance(args) => conformance::run(args).map(|all_passed| {
            if all_passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Devices(cmd) => done(devices::run(cmd)),
        Command::Completions { shell } => {
            let mut out = io::stdout();
            done(
                tokenrig::cmdline::write_completions(&mut Cli::command(), shell, &mut out)
                    .map_err(CliError::from),
            )
        }
        Command::Man { out } => done(
            tokenrig::cmdline::write_man_pages(Cli::command(), &out).map_err(|e| {
                CliError::Io(io::Error::new(e.kind(), format!("{}: {e}", out.display())))
            }),
        ),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`tokenrig otp hotp ... | head`) is the reader saying
        // it has enough, not a failure.
        Err(CliError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokenrig: error: {e}");
            e.exit_code()
        }
    }
}

/// Parses the command line. Help and version go to stdout as usual; a parse
/// error is cut to one line (clap adds usage and a hint below it), so scripts
/// get the one-line error the CLI contract promises.
fn parse() -> Result<Cli, ExitCode> {
    let matches = Cli::command().try_get_matches();
    let parsed = matches.and_then(|m| Cli::from_arg_matches(&m));
    parsed.map_err(|e| {
        use clap::error::ErrorKind;
        match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                }
            }
            _ => {
                eprintln!(
                    "tokenrig: error: {}",
                    tokenrig::cmdline::clap_error_line(&e)
                );
                ExitCode::from(2)
            }
        }
    })
}

/// Writes lines to stdout through one locked, buffered handle.
pub fn write_lines<I, T>(lines: I) -> Result<(), CliError>
where
    I: IntoIterator<Item = T>,
    T: std::fmt::Display,
{
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}
