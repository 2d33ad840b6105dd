//! `tokenrig user add`: a user with a tax code, a phone, the user code on
//! their licence card and a password read from stdin.

use clap::{Args, Subcommand};
use tokenrig::user::{PasswordHash, PhoneNumber, TaxCode, User, UserCode};

use super::db::{DbArgs, instant, secret_from_stdin};
use super::{CliError, Context, write_lines};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from stdin, never from the command line.
    Add(UserAddArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Username: the Italian tax code (codice fiscale)
    #[arg(long, value_name = "CF", value_parser = TaxCode::parse)]
    username: TaxCode,
    /// Phone number for SMS codes, E.164 (+39…)
    #[arg(long, value_name = "+NUMBER", value_parser = PhoneNumber::parse)]
    phone: PhoneNumber,
    /// The user code printed on the licence card (used by resync)
    #[arg(long, value_name = "CODE")]
    user_code: String,
    /// Read the password from stdin (required; a trailing newline is dropped)
    #[arg(long, required = true)]
    password_stdin: bool,
}

/// Parsed after clap, whose own errors quote the value: a user code is a
/// secret. [`UserCode`]'s errors name a position or a length, never the code.
pub fn user_code(s: &str) -> Result<UserCode, CliError> {
    UserCode::parse(s).input("--user-code")
}

pub fn run(cmd: UserCommand) -> Result<(), CliError> {
    match cmd {
        UserCommand::Add(a) => add(a),
    }
}

fn add(a: UserAddArgs) -> Result<(), CliError> {
    let user_code = user_code(&a.user_code)?;
    let password = secret_from_stdin("password")?;
    let hash = PasswordHash::new(&password).map_err(CliError::input)?;
    let store = a.db.open()?;
    store.add_user(
        &User::new(a.username, a.phone, user_code, hash),
        instant(None),
    )?;
    write_lines([format!("added user {}", a.username.as_str())])
}
