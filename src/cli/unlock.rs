//! `tokenrig unlock`: the admin unlock of a token locked after too many
//! failures; its counter and drift stay as they were.

use clap::Args;
use tokenrig::device::Serial;

use super::db::{DbArgs, instant};
use super::{CliError, write_lines};

#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The token's serial, as the inventory has it
    #[arg(long, value_name = "S", value_parser = Serial::parse)]
    serial: Serial,
}

pub fn run(a: UnlockArgs) -> Result<(), CliError> {
    a.db.open()?.unlock(a.serial, instant(None))?;
    write_lines([format!("unlocked {}", a.serial.as_str())])
}
