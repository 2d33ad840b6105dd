//! The user code printed on the back of the green licence card, which the
//! re-synchronisation form asks for alongside two OTPs (seed 002).
//!
//! Its real format is not published, so the rule is deliberately loose:
//! 4–32 ASCII letters and digits, case-sensitive. It authenticates a resync,
//! so it is handled as a credential: wiped on drop, redacted in `Debug`,
//! never in an error, compared in constant time.

use std::fmt;
use std::str::FromStr;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The fewest characters a user code may have.
pub const MIN_USER_CODE_LEN: usize = 4;
/// The most characters a user code may have.
pub const MAX_USER_CODE_LEN: usize = 32;

/// Why a string is not a user code. Says where, never what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserCodeError {
    #[error("user code is empty")]
    Empty,
    #[error("user code has a character other than an ASCII letter or digit at position {position}")]
    BadCharacter { position: usize },
    #[error(
        "user code has {found} characters, expected {MIN_USER_CODE_LEN} to {MAX_USER_CODE_LEN}"
    )]
    WrongLength { found: usize },
}

/// A validated user code. Equality runs in constant time for codes of equal
/// length, so a resync attempt cannot learn a code character by character.
#[derive(Clone)]
pub struct UserCode(Zeroizing<String>);

impl UserCode {
    /// Parses a user code; surrounding whitespace is dropped, case is kept.
    pub fn parse(s: &str) -> Result<UserCode, UserCodeError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(UserCodeError::Empty);
        }
        if let Some(i) = s.chars().position(|c| !c.is_ascii_alphanumeric()) {
            return Err(UserCodeError::BadCharacter { position: i + 1 });
        }
        // All ASCII from here on, so bytes are characters.
        if !(MIN_USER_CODE_LEN..=MAX_USER_CODE_LEN).contains(&s.len()) {
            return Err(UserCodeError::WrongLength { found: s.len() });
        }
        Ok(UserCode(Zeroizing::new(s.to_owned())))
    }

    /// The code itself, for the store to persist. Named so that every use
    /// stands out in review.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl PartialEq for UserCode {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for UserCode {}

impl FromStr for UserCode {
    type Err = UserCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UserCode::parse(s)
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserCode(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(s: &str) -> String {
        UserCode::parse(s).map_err(|e| e.to_string()).unwrap_err()
    }

    #[test]
    fn codes_parse_case_sensitively() {
        let code = UserCode::parse(" Ab12cD34 ").unwrap();
        assert_eq!(code.expose_secret(), "Ab12cD34");
        assert_eq!(code, UserCode::parse("Ab12cD34").unwrap());
        assert_ne!(code, UserCode::parse("AB12CD34").unwrap());
        assert_ne!(code, UserCode::parse("Ab12cD345").unwrap());
        assert!(UserCode::parse("1234").is_ok());
        assert!(UserCode::parse(&"z".repeat(32)).is_ok());
    }

    #[test]
    fn debug_is_redacted() {
        let code = UserCode::parse("S3cretCode").unwrap();
        assert_eq!(format!("{code:?}"), "UserCode(redacted)");
    }

    #[test]
    fn each_malformed_code_gets_one_clear_line_without_the_code() {
        assert_eq!(err(""), "user code is empty");
        assert_eq!(err("abc"), "user code has 3 characters, expected 4 to 32");
        assert_eq!(
            err(&"a".repeat(33)),
            "user code has 33 characters, expected 4 to 32"
        );
        assert_eq!(
            err("ab-cd"),
            "user code has a character other than an ASCII letter or digit at position 3"
        );
        assert_eq!(
            err("abcdè"),
            "user code has a character other than an ASCII letter or digit at position 5"
        );
    }

    proptest! {
        #[test]
        fn valid_codes_round_trip(s in "[A-Za-z0-9]{4,32}") {
            let code = UserCode::parse(&s).unwrap();
            prop_assert_eq!(code.expose_secret(), s.as_str());
        }

        #[test]
        fn errors_never_contain_the_input(
            s in "[A-Za-z0-9]{33,40}|[A-Za-z0-9]{2,10}[^A-Za-z0-9[:space:]][A-Za-z0-9]{2,10}"
        ) {
            let e = UserCode::parse(&s).map(|_| ()).unwrap_err().to_string();
            prop_assert!(!e.contains(&s), "{}", e);
        }
    }
}
