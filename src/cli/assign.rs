//! `tokenrig assign`: bind an unassigned token to a user.

use clap::Args;
use tokenrig::device::Serial;
use tokenrig::user::TaxCode;

use super::db::{DbArgs, instant};
use super::{CliError, write_lines};

#[derive(Debug, Args)]
pub struct AssignArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The user's tax code
    #[arg(long, value_name = "CF", value_parser = TaxCode::parse)]
    user: TaxCode,
    /// The token's serial, as the inventory has it
    #[arg(long, value_name = "S", value_parser = Serial::parse)]
    serial: Serial,
}

pub fn run(a: AssignArgs) -> Result<(), CliError> {
    a.db.open()?.assign(&a.user, a.serial, instant(None))?;
    write_lines([format!(
        "assigned {} to {}",
        a.serial.as_str(),
        a.user.as_str()
    )])
}
