//! Argument value parsers shared by commands. Each error message names the
//! rule that was broken; clap prefixes it with the flag it came from.

use tokenrig::otp::{Algorithm, Digits, SecretKey, TimeStep};

use super::{CliError, Context};

pub fn digits(s: &str) -> Result<Digits, String> {
    s.parse::<Digits>()
        .map_err(|_| "digits must be 6, 7 or 8".to_owned())
}

pub fn algorithm(s: &str) -> Result<Algorithm, String> {
    s.parse::<Algorithm>()
        .map_err(|_| "expected sha1, sha256 or sha512".to_owned())
}

/// A u64 written in decimal, with a message that says so (Rust's own
/// "invalid digit found in string" does not help someone who typed `-1`).
pub fn unsigned(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| format!("must be a whole number from 0 to {}", u64::MAX))
}

pub fn positive(s: &str) -> Result<u64, String> {
    match unsigned(s)? {
        0 => Err("must be at least 1".to_owned()),
        n => Ok(n),
    }
}

pub fn step(s: &str) -> Result<TimeStep, Box<dyn std::error::Error + Send + Sync>> {
    let secs = s.strip_suffix('s').unwrap_or(s);
    let secs =
        unsigned(secs).map_err(|_| "must be a whole number of seconds, at least 1".to_owned())?;
    Ok(TimeStep::from_secs(secs)?)
}

/// Decodes `--key` after parsing, since `--base32` decides its encoding.
/// The key string itself never appears in an error.
pub fn key(text: &str, base32: bool) -> Result<SecretKey, CliError> {
    let decoded = if base32 {
        SecretKey::from_base32(text)
    } else {
        SecretKey::from_hex(text)
    };
    decoded.input("--key")
}
