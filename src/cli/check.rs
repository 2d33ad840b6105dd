//! `tokenrig check`: one OTP against a user's active token or a serial.
//! Exit 0 accepted, 1 rejected; the verdict on stdout.

use std::process::ExitCode;

use clap::Args;
use tokenrig::clock::UnixTime;
use tokenrig::device::Serial;
use tokenrig::user::TaxCode;
use tokenrig::verifier::Outcome;

use super::db::{DbArgs, instant, unix_time};
use super::{CliError, write_lines};

#[derive(Debug, Args)]
#[group(id = "token", required = true, multiple = false, args = ["user", "serial"])]
pub struct CheckArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Check against this user's active token
    #[arg(long, value_name = "CF", value_parser = TaxCode::parse)]
    user: Option<TaxCode>,
    /// Check against this token
    #[arg(long, value_name = "S", value_parser = Serial::parse)]
    serial: Option<Serial>,
    /// The code the token shows
    #[arg(long, value_name = "CODE")]
    otp: String,
    /// Decide as at this Unix time (QA time travel) instead of now
    #[arg(long, value_name = "UNIX_SECONDS", value_parser = unix_time)]
    time: Option<UnixTime>,
}

pub fn run(a: CheckArgs) -> Result<ExitCode, CliError> {
    let now = instant(a.time);
    let verifier = a.db.open()?;
    let outcome = match (&a.user, a.serial) {
        (Some(user), _) => verifier.check_user(user, &a.otp, now)?,
        (None, Some(serial)) => verifier.check_serial(serial, &a.otp, now)?,
        (None, None) => return Err(CliError::Usage("give --user or --serial".to_owned())),
    };
    verdict(&outcome, "accepted")
}

/// `ok` or `rejected: <reason code>` on stdout, and the exit status.
pub fn verdict(outcome: &Outcome, ok: &str) -> Result<ExitCode, CliError> {
    match outcome {
        Outcome::Accepted { .. } => {
            write_lines([ok])?;
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Rejected(reason) => {
            write_lines([format!("rejected: {}", reason.code())])?;
            Ok(ExitCode::FAILURE)
        }
    }
}
