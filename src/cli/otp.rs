//! `tokenrig otp hotp|totp`: codes straight from the OTP core, for checking a
//! token or a verifier by hand and for scripts that need reference codes.

use clap::{Args, Subcommand};
use tokenrig::clock::{Clock, SystemClock};
use tokenrig::otp::{Algorithm, Digits, OtpKey, TimeStep, TotpParams};

use super::{CliError, args, write_lines};

#[derive(Debug, Subcommand)]
pub enum OtpCommand {
    /// Event-based codes (RFC 4226): K consecutive codes from counter N, one per line.
    #[command(
        allow_negative_numbers = true,
        after_help = "Example (RFC 4226 Appendix D, key \"12345678901234567890\"):\n  \
            tokenrig otp hotp --key 3132333435363738393031323334353637383930 --counter 0 --count 3\n  \
            755224\n  287082\n  359152"
    )]
    Hotp(HotpArgs),
    /// Time-based code (RFC 6238) at a Unix time, or now.
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  \
            tokenrig otp totp --key 3132333435363738393031323334353637383930 --time 59 --digits 8\n  \
            94287082\n  \
            tokenrig otp totp --base32 --key GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ --now --step 60"
    )]
    Totp(TotpArgs),
}

/// The key and code shape both commands share.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Shared secret, hex (e.g. 3132333435363738393031323334353637383930)
    #[arg(long, value_name = "HEX")]
    key: String,
    /// Read --key as base32, as in otpauth:// URIs (case, spaces and '=' padding ignored)
    #[arg(long)]
    base32: bool,
    /// Digits per code
    #[arg(long, value_name = "6|7|8", default_value = "6", value_parser = args::digits)]
    digits: Digits,
    /// HMAC hash function
    #[arg(long, value_name = "sha1|sha256|sha512", default_value = "sha1", value_parser = args::algorithm)]
    algo: Algorithm,
}

impl KeyArgs {
    fn otp_key(&self) -> Result<OtpKey, CliError> {
        Ok(OtpKey::new(self.algo, &args::key(&self.key, self.base32)?))
    }
}

#[derive(Debug, Args)]
pub struct HotpArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Counter of the first code (0 to 2^64-1)
    #[arg(long, value_name = "N", value_parser = args::unsigned)]
    counter: u64,
    /// How many consecutive codes to print
    #[arg(long, value_name = "K", default_value = "1", value_parser = args::positive)]
    count: u64,
}

#[derive(Debug, Args)]
#[group(id = "when", required = true, multiple = false, args = ["time", "now"])]
pub struct TotpArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Unix time in seconds
    #[arg(long, value_name = "UNIX_SECONDS", value_parser = args::unsigned)]
    time: Option<u64>,
    /// Use the system clock
    #[arg(long)]
    now: bool,
    /// Time step in seconds (C200 key fobs use 60)
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = args::step)]
    step: TimeStep,
    /// Unix time at which step 0 begins (RFC 6238 T0)
    #[arg(long, value_name = "UNIX_SECONDS", default_value = "0", value_parser = args::unsigned)]
    t0: u64,
}

pub fn run(cmd: OtpCommand) -> Result<(), CliError> {
    match cmd {
        OtpCommand::Hotp(a) => hotp(a),
        OtpCommand::Totp(a) => totp(a),
    }
}

fn hotp(a: HotpArgs) -> Result<(), CliError> {
    let key = a.key.otp_key()?;
    let last = a.counter.checked_add(a.count - 1).ok_or_else(|| {
        CliError::Usage(format!(
            "--count {} from --counter {} runs past the last counter 2^64-1",
            a.count, a.counter
        ))
    })?;
    let digits = a.key.digits;
    write_lines((a.counter..=last).map(|c| key.hotp(c, digits)))
}

fn totp(a: TotpArgs) -> Result<(), CliError> {
    let key = a.key.otp_key()?;
    let time = match a.time {
        Some(t) => t,
        None => SystemClock.now().as_secs(),
    };
    let params = TotpParams {
        step: a.step,
        t0: a.t0,
    };
    let code = key
        .totp(time, params, a.key.digits)
        .map_err(CliError::input)?;
    write_lines([code])
}
