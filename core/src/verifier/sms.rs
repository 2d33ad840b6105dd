//! The one-time code the replacement flow sends to the user's phone.

use std::fmt;

use crate::otp::{Code, Digits};

/// A 6-digit SMS code. The caller draws it from its RNG (the core has none)
/// with e.g. `rng.random_range(0..1_000_000)`, which has no modulo bias.
///
/// `Display` shows the digits, for the message itself; `Debug` does not, so
/// a replacement attempt can be logged whole.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SmsCode(u32);

/// A number too large for six digits: a bug in the caller's generator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an SMS code has 6 digits: it must be below 1000000")]
pub struct SmsCodeError;

impl SmsCode {
    pub const DIGITS: Digits = Digits::SIX;

    pub fn new(value: u32) -> Result<SmsCode, SmsCodeError> {
        if value < Self::DIGITS.modulus() {
            Ok(SmsCode(value))
        } else {
            Err(SmsCodeError)
        }
    }

    /// The SMS itself: a fixed text around the code. "5 minutes" is
    /// [`ReplacementPolicy`](super::ReplacementPolicy)'s default validity.
    pub fn message_text(self) -> String {
        format!("tokenrig: your device replacement code is {self}. It expires in 5 minutes.")
    }

    /// Whether the user typed this code.
    pub fn matches(self, typed: Code) -> bool {
        typed.digits() == Self::DIGITS && typed.value() == self.0
    }
}

impl fmt::Display for SmsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl fmt::Debug for SmsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmsCode(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_zero_padded_and_redacted_in_debug() {
        let code = SmsCode::new(4_207).expect("below 10^6");
        assert_eq!(code.to_string(), "004207");
        assert_eq!(format!("{code:?}"), "SmsCode(redacted)");
        assert_eq!(SmsCode::new(1_000_000), Err(SmsCodeError));
        assert!(SmsCode::new(999_999).is_ok());
        assert_eq!(
            code.message_text(),
            "tokenrig: your device replacement code is 004207. It expires in 5 minutes."
        );
    }

    #[test]
    fn matches_the_typed_code_only() {
        let code = SmsCode::new(4_207).expect("below 10^6");
        let typed = |s| Code::parse(s, Digits::SIX).expect("six digits");
        assert!(code.matches(typed("004207")));
        assert!(!code.matches(typed("004208")));
        let eight = Code::parse("00004207", Digits::EIGHT).expect("eight digits");
        assert!(!code.matches(eight));
    }
}
