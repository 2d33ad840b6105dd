//! What the verifier knows about one token: its fixed configuration and the
//! state that changes with every decision.

use crate::device::Family;
use crate::otp::{Algorithm, Code, Digits, OtpKey, SecretKey, TotpParams};

/// How a token moves from code to code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// HOTP: the counter advances on every press.
    Event,
    /// TOTP: the counter is the time step on the token's clock.
    Time(TotpParams),
}

impl TokenKind {
    pub fn family(self) -> Family {
        match self {
            TokenKind::Event => Family::Event,
            TokenKind::Time(_) => Family::Time,
        }
    }
}

/// A token's fixed configuration, as the inventory imported it. The key is
/// kept precomputed ([`OtpKey`]) because every search computes many codes.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub key: OtpKey,
    pub digits: Digits,
    pub kind: TokenKind,
}

impl TokenConfig {
    pub fn new(algorithm: Algorithm, secret: &SecretKey, digits: Digits, kind: TokenKind) -> Self {
        TokenConfig {
            key: OtpKey::new(algorithm, secret),
            digits,
            kind,
        }
    }

    /// The token's code for counter (event) or step (time) `counter`.
    pub fn code_at(&self, counter: u64) -> Code {
        self.key.hotp(counter, self.digits)
    }
}

/// The mutable state of one token: where it is in its code sequence, how
/// far its clock has drifted, and its failure count.
///
/// One representation for both families: RFC 6238 defines a time step as
/// the HOTP counter, so "the first counter not yet spent" is the event
/// token's next counter and the time token's last accepted step + 1. A
/// store therefore compare-and-sets one column, `next_counter`, whatever
/// the kind.
///
/// The verifier never accepts the code for counter `u64::MAX`: there would
/// be no `next_counter` after it. That costs one code in 2^64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenState {
    /// Every counter / step below this is spent: a code for it is a replay.
    pub next_counter: u64,
    /// Time tokens: the token's clock minus the verifier's, in steps (the one
    /// unit, everywhere). Always 0 for event tokens.
    pub drift_steps: i64,
    /// Consecutive failed attempts since the last success or unlock.
    pub failures: u32,
    /// Set when `failures` reaches the policy limit; cleared only by
    /// [`unlock`](super::unlock).
    pub locked: bool,
}

impl TokenState {
    /// An event token whose next press shows the code for `next_counter`
    /// (0 for a fresh token).
    pub fn event(next_counter: u64) -> Self {
        TokenState {
            next_counter,
            ..TokenState::default()
        }
    }

    /// A time token that last had `last_step` accepted (`None`: never) and
    /// whose clock is `drift_steps` ahead of the verifier's.
    pub fn time(last_step: Option<u64>, drift_steps: i64) -> Self {
        TokenState {
            next_counter: last_step.map_or(0, |s| s.saturating_add(1)),
            drift_steps,
            ..TokenState::default()
        }
    }

    /// The last spent counter or step, if any.
    pub fn last_spent(&self) -> Option<u64> {
        self.next_counter.checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::TimeStep;

    #[test]
    fn both_kinds_share_one_position_column() {
        assert_eq!(TokenState::event(7).next_counter, 7);
        assert_eq!(TokenState::event(7).last_spent(), Some(6));
        assert_eq!(TokenState::event(0).last_spent(), None);
        let t = TokenState::time(Some(41), -3);
        assert_eq!((t.next_counter, t.drift_steps), (42, -3));
        assert_eq!(TokenState::time(None, 0), TokenState::default());
    }

    #[test]
    fn kinds_name_their_family() {
        let time = TokenKind::Time(TotpParams::new(TimeStep::SECONDS_60));
        assert_eq!(time.family(), Family::Time);
        assert_eq!(TokenKind::Event.family(), Family::Event);
    }

    #[test]
    fn config_debug_hides_the_key() {
        let secret = SecretKey::new(b"12345678901234567890".to_vec());
        let config = TokenConfig::new(Algorithm::Sha1, &secret, Digits::SIX, TokenKind::Event);
        assert_eq!(config.code_at(0).to_string(), "755224");
        let shown = format!("{config:?}");
        assert!(shown.contains("redacted"), "{shown}");
        assert!(!shown.contains("3132"), "{shown}");
    }
}
