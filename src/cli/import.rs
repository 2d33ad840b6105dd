//! `tokenrig import FILE…`: vendor inventories into the store, all or
//! nothing across every file given.

use std::path::PathBuf;

use clap::Args;
use tokenrig::inventory::{self, Format, PskcKey};
use tokenrig::otp::SecretKey;

use super::db::{DbArgs, instant, secret_from_stdin};
use super::{CliError, Context, write_lines};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Inventory files: PSKC (RFC 6030), CSV (ours, with a header, or privacyIDEA's OATH CSV) or otpauth:// URIs, detected per file; any serial of 1–40 printable ASCII characters
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Pre-shared key of encrypted PSKC files, hex (as long as the file's algorithm needs)
    #[arg(long, value_name = "HEX", conflicts_with = "pskc_password_stdin")]
    pskc_key: Option<String>,
    /// Read the PBKDF2 password of encrypted PSKC files from stdin
    #[arg(long)]
    pskc_password_stdin: bool,
}

pub fn run(a: ImportArgs) -> Result<(), CliError> {
    let key = match (&a.pskc_key, a.pskc_password_stdin) {
        (Some(hex), _) => Some(PskcKey::PreShared(
            SecretKey::from_hex(hex).input("--pskc-key")?,
        )),
        (None, true) => Some(PskcKey::Password(secret_from_stdin("PSKC password")?)),
        (None, false) => None,
    };
    // Every file is parsed before the store is touched, and the store
    // imports the lot in one transaction: one bad entry anywhere, nothing in.
    let mut entries = Vec::new();
    for path in &a.files {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).failed(&name)?;
        let format = Format::detect(path, &bytes).input(&name)?;
        entries.extend(inventory::parse(&bytes, format, key.as_ref()).input(&name)?);
    }
    let store = a.db.open()?;
    let n = store.import(&entries, instant(None))?;
    write_lines([format!(
        "imported {n} token{}",
        if n == 1 { "" } else { "s" }
    )])
}
