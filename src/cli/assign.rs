//! `tokenrig assign`: bind an unassigned token to a user.

use clap::Args;
use tokenrig::device::Serial;
use tokenrig::user::TaxCode;

use super::db::{DbArgs, instant};
use super::user::tax_code;
use super::{CliError, write_lines};

#[derive(Debug, Args)]
pub struct AssignArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The user's tax code
    #[arg(long, value_name = "CF", value_parser = tax_code)]
    user: TaxCode,
    /// The token's 13-digit serial
    #[arg(long, value_name = "S", value_parser = serial)]
    serial: Serial,
}

pub fn serial(s: &str) -> Result<Serial, String> {
    Serial::parse(s).map_err(|e| e.to_string())
}

pub fn run(a: AssignArgs) -> Result<(), CliError> {
    a.db.open()?.assign(&a.user, a.serial, instant(None))?;
    write_lines([format!(
        "assigned {} to {}",
        a.serial.as_str(),
        a.user.as_str()
    )])
}
