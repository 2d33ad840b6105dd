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
mod simulate;
mod tokens;
mod unlock;
mod user;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tokenrig::error::ErrorKind;

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
    /// End to end: serve on a temporary SQLite store, run the conformance suite and the two seed flows over HTTP.
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
    /// Simulate a fleet of key fobs over years through the verifier core: desync, resyncs, helpdesk calls, risk per policy.
    Simulate(simulate::SimulateArgs),
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

/// Why a command failed. The exit code comes from its
/// [`ErrorKind`](tokenrig::error::ErrorKind), in [`CliError::exit_code`]
/// only: 2 when the user's input is at fault, 1 otherwise.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input the command found itself.
    #[error("{0}")]
    Usage(String),
    /// Bad input, as a typed error from the layer that found it, with
    /// what it was about (a flag, a file) when that helps.
    #[error("{}{source}", context(.what))]
    Input {
        what: Option<String>,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The world failed: a peer, a request, a device.
    #[error("{}{source}", context(.what))]
    Failed {
        what: Option<String>,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] tokenrig::store::StoreError),
    #[error(transparent)]
    Replacement(#[from] tokenrig::service::ReplacementError),
    #[error(transparent)]
    Device(#[from] tokenrig::transport::TransportError),
}

fn context(what: &Option<String>) -> String {
    what.as_ref().map(|w| format!("{w}: ")).unwrap_or_default()
}

impl CliError {
    /// Bad input: `source` is why.
    pub fn input(source: impl std::error::Error + Send + Sync + 'static) -> CliError {
        CliError::Input {
            what: None,
            source: Box::new(source),
        }
    }

    /// The world failed: `source` is how.
    pub fn failure(source: impl std::error::Error + Send + Sync + 'static) -> CliError {
        CliError::Failed {
            what: None,
            source: Box::new(source),
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            CliError::Usage(_) | CliError::Input { .. } => ErrorKind::Invalid,
            CliError::Store(e) => e.kind(),
            CliError::Replacement(e) => e.kind(),
            CliError::Failed { .. } | CliError::Io(_) | CliError::Device(_) => {
                ErrorKind::Unavailable
            }
        }
    }

    fn exit_code(&self) -> ExitCode {
        if self.kind().is_input() {
            ExitCode::from(2)
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Names what a failure was about: `.input("--key")?` for the user's
/// input, `.failed("request")?` for the world's.
pub trait Context<T> {
    fn input(self, what: impl Into<String>) -> Result<T, CliError>;
    fn failed(self, what: impl Into<String>) -> Result<T, CliError>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for Result<T, E> {
    fn input(self, what: impl Into<String>) -> Result<T, CliError> {
        self.map_err(|e| CliError::Input {
            what: Some(what.into()),
            source: Box::new(e),
        })
    }

    fn failed(self, what: impl Into<String>) -> Result<T, CliError> {
        self.map_err(|e| CliError::Failed {
            what: Some(what.into()),
            source: Box::new(e),
        })
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
        Command::Simulate(args) => done(simulate::run(args)),
        Command::Devices(cmd) => done(devices::run(cmd)),
        Command::Completions { shell } => {
            let mut out = io::stdout();
            done(
                tokenrig::cmdline::write_completions(&mut Cli::command(), shell, &mut out)
                    .map_err(CliError::from),
            )
        }
        Command::Man { out } => done(
            tokenrig::cmdline::write_man_pages(Cli::command(), &out)
                .failed(out.display().to_string()),
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
