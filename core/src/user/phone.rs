//! The phone number bound to an account: where the replacement flow sends its
//! SMS code (seed 000). Stored in E.164, the one form an SMS gateway takes.

use std::fmt;
use std::str::FromStr;

/// E.164 allows at most 15 digits, country code included.
pub const MAX_PHONE_DIGITS: usize = 15;

/// Why a string is not an E.164 phone number. Positions count characters
/// from 1 after surrounding whitespace is dropped; digits are never echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number must start with + and the country code")]
    MissingPlus,
    #[error(
        "phone number has a bad character at position {position}: expected a digit, space or dash"
    )]
    BadCharacter { position: usize },
    #[error("phone number has no digits after +")]
    NoDigits,
    #[error("phone number starts with 0 after +, but no country code does")]
    LeadingZero,
    #[error("phone number has {found} digits, at most {MAX_PHONE_DIGITS} allowed (E.164)")]
    TooLong { found: usize },
}

/// A phone number in E.164: `+` and 1–15 digits, the first not 0.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number as people type it: `+39 333 123-4567` is
    /// `+393331234567`. Spaces and dashes may separate digits; the `+` is
    /// required, since a national number alone cannot be routed.
    pub fn parse(s: &str) -> Result<PhoneNumber, PhoneNumberError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let rest = s.strip_prefix('+').ok_or(PhoneNumberError::MissingPlus)?;
        let mut e164 = String::from("+");
        for (i, c) in rest.chars().enumerate() {
            match c {
                '0'..='9' => e164.push(c),
                ' ' | '-' => {}
                // +2: one for the `+`, one to count from 1.
                _ => return Err(PhoneNumberError::BadCharacter { position: i + 2 }),
            }
        }
        let digits = e164.len() - 1;
        if digits == 0 {
            return Err(PhoneNumberError::NoDigits);
        }
        if e164.as_bytes()[1] == b'0' {
            return Err(PhoneNumberError::LeadingZero);
        }
        if digits > MAX_PHONE_DIGITS {
            return Err(PhoneNumberError::TooLong { found: digits });
        }
        Ok(PhoneNumber(e164))
    }

    /// The E.164 form, e.g. `+393331234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhoneNumber::parse(s)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(s: &str) -> String {
        PhoneNumber::parse(s)
            .map_err(|e| e.to_string())
            .unwrap_err()
    }

    #[test]
    fn typed_numbers_become_e164() {
        for typed in [
            "+393331234567",
            "+39 333 1234567",
            "+39-333-123-4567",
            "  +39 333 123 4567\n",
        ] {
            let phone = PhoneNumber::parse(typed).unwrap();
            assert_eq!(phone.to_string(), "+393331234567");
        }
        let short: PhoneNumber = "+1".parse().unwrap();
        assert_eq!(format!("{short:?}"), "PhoneNumber(+1)");
        assert!(PhoneNumber::parse("+123456789012345").is_ok());
    }

    #[test]
    fn each_malformed_number_gets_one_clear_line() {
        assert_eq!(err(""), "phone number is empty");
        assert_eq!(err("   "), "phone number is empty");
        assert_eq!(
            err("3331234567"),
            "phone number must start with + and the country code"
        );
        assert_eq!(
            err("0039 333 1234567"),
            "phone number must start with + and the country code"
        );
        assert_eq!(
            err("+39 (333) 1234567"),
            "phone number has a bad character at position 5: expected a digit, space or dash"
        );
        assert_eq!(
            err("+39+3331234567"),
            "phone number has a bad character at position 4: expected a digit, space or dash"
        );
        assert_eq!(err("+ - "), "phone number has no digits after +");
        assert_eq!(
            err("+0393331234567"),
            "phone number starts with 0 after +, but no country code does"
        );
        assert_eq!(
            err("+39 333 1234 5678 901"),
            "phone number has 16 digits, at most 15 allowed (E.164)"
        );
    }

    proptest! {
        #[test]
        fn e164_round_trips(digits in "[1-9][0-9]{0,14}") {
            let e164 = format!("+{digits}");
            let phone = PhoneNumber::parse(&e164).unwrap();
            prop_assert_eq!(phone.as_str(), e164.as_str());
        }

        #[test]
        fn separators_do_not_change_the_number(
            digits in "[1-9][0-9]{0,14}",
            seps in proptest::collection::vec("[ -]{0,2}", 16),
        ) {
            let typed: String = std::iter::once('+')
                .chain(digits.chars().zip(&seps).flat_map(|(d, sep)| {
                    std::iter::once(d).chain(sep.chars())
                }))
                .collect();
            let phone = PhoneNumber::parse(&typed).unwrap();
            prop_assert_eq!(phone.as_str(), format!("+{digits}"));
        }

        #[test]
        fn arbitrary_input_never_panics(s in any::<String>()) {
            let _ = PhoneNumber::parse(&s);
        }
    }
}
