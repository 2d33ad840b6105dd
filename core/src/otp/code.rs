//! Codes as users see them: a number of 6 to 8 decimal digits, zero-padded.

use std::fmt;
use std::str::FromStr;

/// How many decimal digits a code has. RFC 4226 §5.3 allows 6 to 8 (more
/// would exceed the 31 bits dynamic truncation yields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digits(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("digits must be 6, 7 or 8, not {0}")]
pub struct DigitsError(pub u64);

impl Digits {
    pub const SIX: Digits = Digits(6);
    pub const SEVEN: Digits = Digits(7);
    pub const EIGHT: Digits = Digits(8);

    pub fn new(n: u8) -> Result<Self, DigitsError> {
        match n {
            6..=8 => Ok(Digits(n)),
            _ => Err(DigitsError(n.into())),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// 10^digits: the modulus of the final reduction.
    pub fn modulus(self) -> u32 {
        10u32.pow(self.0.into())
    }
}

impl Default for Digits {
    fn default() -> Self {
        Digits::SIX
    }
}

impl FromStr for Digits {
    type Err = DigitsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n: u64 = s.trim().parse().map_err(|_| DigitsError(0))?;
        u8::try_from(n)
            .map_err(|_| DigitsError(n))
            .and_then(Digits::new)
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// RFC 4226 §5.3 dynamic truncation: the low nibble of the last byte picks
/// four bytes, read big-endian with the top bit cleared.
///
/// `mac` must be an HMAC output (20, 32 or 64 bytes); the offset is at most
/// 15, so four bytes from it always exist in those.
pub fn truncate(mac: &[u8]) -> u32 {
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bytes = [
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ];
    u32::from_be_bytes(bytes) & 0x7fff_ffff
}

/// A one-time code: its value and how many digits it is shown with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Code {
    value: u32,
    digits: Digits,
}

/// Why a submitted string is not a code. Never echoes the string back: a
/// mistyped code is one keystroke from a valid one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a code must be {expected} digits, this one has {found} characters")]
    WrongLength { expected: u8, found: usize },
    #[error("a code must contain only the digits 0-9")]
    NotDigits,
}

impl Code {
    /// Reduces a truncated HMAC value to `digits` digits.
    pub fn from_truncated(truncated: u32, digits: Digits) -> Self {
        Code {
            value: truncated % digits.modulus(),
            digits,
        }
    }

    /// Parses a code as a user typed it: exactly `digits` ASCII digits.
    pub fn parse(s: &str, digits: Digits) -> Result<Self, CodeError> {
        let expected = digits.get();
        if s.len() != usize::from(expected) {
            return Err(CodeError::WrongLength {
                expected,
                found: s.chars().count(),
            });
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::NotDigits);
        }
        // At most 8 ASCII digits: always fits in u32.
        let value = s.parse().map_err(|_| CodeError::NotDigits)?;
        Ok(Code { value, digits })
    }

    pub fn value(self) -> u32 {
        self.value
    }

    pub fn digits(self) -> Digits {
        self.digits
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:0width$}",
            self.value,
            width = usize::from(self.digits.get())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_digits() -> impl Strategy<Value = Digits> {
        (6u8..=8).prop_map(|n| Digits::new(n).expect("6..=8 is valid"))
    }

    #[test]
    fn rfc4226_truncation_example() {
        // RFC 4226 §5.4: the worked example of dynamic truncation.
        let mac = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(truncate(&mac), 0x50ef7f19);
        assert_eq!(
            Code::from_truncated(truncate(&mac), Digits::SIX).to_string(),
            "872921"
        );
    }

    #[test]
    fn digits_outside_6_to_8_are_refused() {
        for n in [0u8, 1, 5, 9, 10, 255] {
            assert_eq!(Digits::new(n), Err(DigitsError(n.into())));
        }
        assert_eq!("7".parse::<Digits>(), Ok(Digits::SEVEN));
        assert!("x".parse::<Digits>().is_err());
        assert!("300".parse::<Digits>().is_err());
    }

    #[test]
    fn parse_refuses_wrong_length_and_non_digits() {
        assert_eq!(
            Code::parse("12345", Digits::SIX),
            Err(CodeError::WrongLength {
                expected: 6,
                found: 5
            })
        );
        assert_eq!(
            Code::parse("12a456", Digits::SIX),
            Err(CodeError::NotDigits)
        );
        assert_eq!(
            Code::parse("+12345", Digits::SIX),
            Err(CodeError::NotDigits)
        );
        assert_eq!(
            Code::parse("007081", Digits::SIX).map(Code::value),
            Ok(7081)
        );
    }

    proptest! {
        #[test]
        fn truncation_picks_four_bytes_at_the_low_nibble(
            mac in prop_oneof![
                prop::collection::vec(any::<u8>(), 20),
                prop::collection::vec(any::<u8>(), 32),
                prop::collection::vec(any::<u8>(), 64),
            ]
        ) {
            let t = truncate(&mac);
            let o = usize::from(mac[mac.len() - 1] % 16);
            let expected = (u32::from(mac[o] & 0x7f) << 24)
                | (u32::from(mac[o + 1]) << 16)
                | (u32::from(mac[o + 2]) << 8)
                | u32::from(mac[o + 3]);
            prop_assert_eq!(t, expected);
            prop_assert!(t < 1 << 31);
        }

        #[test]
        fn codes_are_zero_padded_to_their_digits(value in any::<u32>(), digits in any_digits()) {
            let code = Code::from_truncated(value & 0x7fff_ffff, digits);
            let shown = code.to_string();
            prop_assert_eq!(shown.len(), usize::from(digits.get()));
            prop_assert!(shown.bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(shown.parse::<u32>().ok(), Some(code.value()));
            prop_assert_eq!(Code::parse(&shown, digits), Ok(code));
        }

        #[test]
        fn shorter_codes_are_suffixes_of_longer_ones(value in 0u32..(1 << 31)) {
            // Reduction modulo 10^d keeps the low digits, so the 6-digit code
            // is the tail of the 8-digit one (a property users rely on when a
            // token is reconfigured from 8 to 6 digits).
            let eight = Code::from_truncated(value, Digits::EIGHT).to_string();
            let seven = Code::from_truncated(value, Digits::SEVEN).to_string();
            let six = Code::from_truncated(value, Digits::SIX).to_string();
            prop_assert!(eight.ends_with(&seven));
            prop_assert!(seven.ends_with(&six));
        }
    }
}
