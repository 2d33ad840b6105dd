//! `tokenrig resync`: two consecutive OTPs bring a token that ran far
//! ahead back in step, found by serial or by the user code on the licence
//! card. Exit 0 synchronised, 1 not; the verdict on stdout.

use std::process::ExitCode;

use clap::Args;
use tokenrig::clock::UnixTime;
use tokenrig::device::Serial;

use super::CliError;
use super::check::verdict;
use super::db::{DbArgs, instant, unix_time};
use super::user::user_code;

#[derive(Debug, Args)]
#[group(id = "token", required = true, multiple = false, args = ["user_code", "serial"])]
pub struct ResyncArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The user code printed on the licence card
    #[arg(long, value_name = "CODE")]
    user_code: Option<String>,
    /// Resync this token
    #[arg(long, value_name = "S", value_parser = Serial::parse)]
    serial: Option<Serial>,
    /// The first of two consecutive codes
    #[arg(long, value_name = "CODE")]
    otp1: String,
    /// The code right after OTP1
    #[arg(long, value_name = "CODE")]
    otp2: String,
    /// Decide as at this Unix time (QA time travel) instead of now
    #[arg(long, value_name = "UNIX_SECONDS", value_parser = unix_time)]
    time: Option<UnixTime>,
}

pub fn run(a: ResyncArgs) -> Result<ExitCode, CliError> {
    let now = instant(a.time);
    let user_code = a.user_code.as_deref().map(user_code).transpose()?;
    let verifier = a.db.open()?;
    let outcome = match (&user_code, a.serial) {
        (Some(code), _) => verifier.resync_user_code(code, &a.otp1, &a.otp2, now)?,
        (None, Some(serial)) => verifier.resync_serial(serial, &a.otp1, &a.otp2, now)?,
        (None, None) => return Err(CliError::Usage("give --user-code or --serial".to_owned())),
    };
    verdict(&outcome, "synchronised")
}
