//! Serial numbers as printed on the back of a token.
//!
//! Thirteen ASCII digits; the first names the family (`1` event, `2` time),
//! see the [module docs](super). Serials are not secret: errors quote them.

use std::fmt;
use std::str::FromStr;

use super::model::{Family, Model};

/// How many digits every serial has.
pub const SERIAL_LEN: usize = 13;

/// A validated serial: exactly 13 ASCII digits starting with `1` or `2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial([u8; SERIAL_LEN]);

/// Why a string is not a serial. Positions count characters from 1, as a
/// user reading the back of a token would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    #[error("serial is empty")]
    Empty,
    #[error("serial has a non-digit at position {position}")]
    NonDigit { position: usize },
    #[error("serial has {found} digits, expected {SERIAL_LEN}")]
    WrongLength { found: usize },
    #[error("serial starts with {prefix}, expected 1 (event token) or 2 (time token)")]
    UnknownPrefix { prefix: char },
    #[error(transparent)]
    FamilyMismatch(#[from] FamilyMismatch),
}

/// A serial of one family given for a model of the other, e.g. a time
/// token's serial typed where a C100 is being registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "serial {serial} starts with {} ({} token) but a {model} is {}",
    .serial.prefix(),
    .serial.family(),
    .model.family().describe()
)]
pub struct FamilyMismatch {
    pub serial: Serial,
    pub model: Model,
}

impl Serial {
    pub fn parse(s: &str) -> Result<Serial, SerialError> {
        if s.is_empty() {
            return Err(SerialError::Empty);
        }
        if let Some(i) = s.chars().position(|c| !c.is_ascii_digit()) {
            return Err(SerialError::NonDigit { position: i + 1 });
        }
        // All ASCII from here on, so bytes are characters.
        let digits: [u8; SERIAL_LEN] = s
            .as_bytes()
            .try_into()
            .map_err(|_| SerialError::WrongLength { found: s.len() })?;
        let prefix = char::from(digits[0]);
        if Family::from_serial_prefix(prefix).is_none() {
            return Err(SerialError::UnknownPrefix { prefix });
        }
        Ok(Serial(digits))
    }

    /// Parses a serial and checks it belongs to `model`'s family.
    pub fn parse_for(model: Model, s: &str) -> Result<Serial, SerialError> {
        let serial = Serial::parse(s)?;
        serial.check_model(model)?;
        Ok(serial)
    }

    /// Whether this serial can belong to a `model` (same family).
    pub fn check_model(self, model: Model) -> Result<(), FamilyMismatch> {
        if self.family() == model.family() {
            Ok(())
        } else {
            Err(FamilyMismatch {
                serial: self,
                model,
            })
        }
    }

    /// A serial of `family` whose last 12 digits are `body` (mod 10^12).
    pub(super) fn compose(family: Family, body: u64) -> Serial {
        let mut digits = [b'0'; SERIAL_LEN];
        digits[0] = family.serial_prefix() as u8;
        let mut rest = body % 10u64.pow(SERIAL_LEN as u32 - 1);
        for d in digits[1..].iter_mut().rev() {
            // rest % 10 < 10: the cast cannot truncate.
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        Serial(digits)
    }

    pub fn family(self) -> Family {
        match self.0[0] {
            b'1' => Family::Event,
            _ => Family::Time,
        }
    }

    pub fn prefix(self) -> char {
        char::from(self.0[0])
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a serial is ASCII digits")
    }
}

impl FromStr for Serial {
    type Err = SerialError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Serial::parse(s)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(s: &str) -> String {
        Serial::parse(s).map_err(|e| e.to_string()).unwrap_err()
    }

    #[test]
    fn vendor_serials_parse_with_their_family() {
        let event = Serial::parse("1000133508267").unwrap();
        assert_eq!(event.family(), Family::Event);
        assert_eq!(event.to_string(), "1000133508267");
        let time: Serial = "2600124809778".parse().unwrap();
        assert_eq!(time.family(), Family::Time);
        assert_eq!(format!("{time:?}"), "Serial(2600124809778)");
    }

    #[test]
    fn each_malformed_serial_gets_one_clear_line() {
        assert_eq!(err(""), "serial is empty");
        assert_eq!(err("10001335O8267"), "serial has a non-digit at position 9");
        assert_eq!(
            err("1000 133508267"),
            "serial has a non-digit at position 5"
        );
        assert_eq!(err("ü000133508267"), "serial has a non-digit at position 1");
        assert_eq!(err("100013350826"), "serial has 12 digits, expected 13");
        assert_eq!(err("10001335082670"), "serial has 14 digits, expected 13");
        assert_eq!(
            err("3000133508267"),
            "serial starts with 3, expected 1 (event token) or 2 (time token)"
        );
    }

    #[test]
    fn parse_for_checks_the_family() {
        assert_eq!(
            Serial::parse_for(Model::C100, "2600124809778").map_err(|e| e.to_string()),
            Err(
                "serial 2600124809778 starts with 2 (time token) but a c100 is an event token"
                    .to_owned()
            )
        );
        assert_eq!(
            Serial::parse_for(Model::C200, "1000133508267").map_err(|e| e.to_string()),
            Err(
                "serial 1000133508267 starts with 1 (event token) but a c200 is a time token"
                    .to_owned()
            )
        );
        assert!(Serial::parse_for(Model::Usb, "1000133508267").is_ok());
        assert!(Serial::parse_for(Model::C200, "2600124809778").is_ok());
    }

    #[test]
    fn compose_pads_the_body() {
        assert_eq!(Serial::compose(Family::Event, 42).as_str(), "1000000000042");
        assert_eq!(
            Serial::compose(Family::Time, 1_000_000_000_000 + 7).as_str(),
            "2000000000007"
        );
    }

    proptest! {
        #[test]
        fn valid_serials_round_trip(s in "[12][0-9]{12}") {
            let serial = Serial::parse(&s).unwrap();
            prop_assert_eq!(serial.as_str(), s.as_str());
        }

        #[test]
        fn arbitrary_strings_are_accepted_only_in_the_serial_layout(s in any::<String>()) {
            let layout = s.len() == SERIAL_LEN
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s.starts_with('1') || s.starts_with('2'));
            prop_assert_eq!(Serial::parse(&s).is_ok(), layout);
        }

        #[test]
        fn near_misses_are_rejected(s in "[0-9]{0,20}|[0-9]{0,12}[^0-9][0-9]{0,12}") {
            let layout = s.len() == SERIAL_LEN && (s.starts_with('1') || s.starts_with('2'))
                && s.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(Serial::parse(&s).is_ok(), layout);
        }
    }
}
