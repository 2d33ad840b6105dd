//! Plain values the verifier's tests share: the RFC 4226 key as an event
//! and a time token, its codes, and instants at given steps.

use crate::clock::UnixTime;
use crate::otp::{Algorithm, Digits, SecretKey, TimeStep, TotpParams};

use super::state::{TokenConfig, TokenKind};

pub const STEP_60: TimeStep = TimeStep::SECONDS_60;

/// RFC 4226's test key, "12345678901234567890".
pub fn secret() -> SecretKey {
    SecretKey::new(b"12345678901234567890".to_vec())
}

pub fn event_config() -> TokenConfig {
    TokenConfig::new(Algorithm::Sha1, &secret(), Digits::SIX, TokenKind::Event)
}

pub fn time_config(step: TimeStep) -> TokenConfig {
    let kind = TokenKind::Time(TotpParams::new(step));
    TokenConfig::new(Algorithm::Sha1, &secret(), Digits::SIX, kind)
}

/// The event token's code for `counter`, as a user would type it.
pub fn event_code(counter: u64) -> String {
    event_config().code_at(counter).to_string()
}

/// A token's code for counter or step `counter`, as typed.
pub fn time_code(config: &TokenConfig, counter: u64) -> String {
    config.code_at(counter).to_string()
}

/// `secs` seconds into step `n` of `step` (T0 = 0).
pub fn at_step(step: TimeStep, n: u64, secs: u64) -> UnixTime {
    UnixTime::from_secs(n * step.as_secs() + secs)
}
