//! Serial numbers as an inventory records them, and the one provider
//! layout in which a serial also tells the family.
//!
//! A serial is whatever the vendor printed and the inventory says: RFC 6030
//! `SerialNo` is free text. tokenrig accepts 1 to [`SERIAL_MAX_LEN`]
//! printable ASCII characters (no space, no control character), compared
//! exactly: `987654321`, `ZZ9000000001`, `306EUO4-00954` and
//! `1000133508267` are all serials. The bound is the serial column of
//! privacyIDEA and LinOTP (40 characters), so any serial those verifiers
//! hold fits here too.
//!
//! The seed provider's fobs follow a stricter layout, [`SerialLayout::Provider`]:
//! 13 digits whose first names the family (`1` event, `2` time). It is a
//! deployment policy (`Policy::serial_layout`), checked where a typed
//! serial must tell the kind (the replacement flow), never a property of a
//! serial. Everywhere else the kind comes from the inventory. Serials are not
//! secret: errors quote them.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::model::{Family, Model};

/// The longest serial accepted, in characters (privacyIDEA's and LinOTP's
/// serial column).
pub const SERIAL_MAX_LEN: usize = 40;

/// How many digits a serial has in the provider layout.
pub const PROVIDER_SERIAL_LEN: usize = 13;

/// A validated serial: 1 to 40 printable ASCII characters. `Copy`, and
/// kept inline, because serials are keys in every map and message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Serial {
    len: u8,
    /// The characters, then zeros: equal serials have equal bytes.
    bytes: [u8; SERIAL_MAX_LEN],
}

/// Why a string is not a serial, or not one in the provider layout.
/// Positions count characters from 1, as a user reading the back of a
/// token would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    #[error("serial is empty")]
    Empty,
    #[error(
        "serial has a space, a control or a non-ASCII character at position {position} (serials are printable ASCII)"
    )]
    Unprintable { position: usize },
    #[error("serial has {found} characters, at most {SERIAL_MAX_LEN}")]
    TooLong { found: usize },
    #[error("serial has a non-digit at position {position}")]
    NonDigit { position: usize },
    #[error("serial has {found} digits, expected {PROVIDER_SERIAL_LEN}")]
    WrongLength { found: usize },
    #[error("serial starts with {prefix}, expected 1 (event token) or 2 (time token)")]
    UnknownPrefix { prefix: char },
    #[error(transparent)]
    FamilyMismatch(#[from] FamilyMismatch),
}

/// A provider-layout serial of one family given for a model of the other,
/// e.g. a time token's serial typed where a C100 is being registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "serial {serial} starts with {} ({} token) but a {model} is {}",
    .serial.first(),
    .announced,
    .model.family().describe()
)]
pub struct FamilyMismatch {
    pub serial: Serial,
    /// The family the serial's first digit announces.
    pub announced: Family,
    pub model: Model,
}

impl Serial {
    /// Parses any serial an inventory may hold (see the [module docs](self)).
    pub fn parse(s: &str) -> Result<Serial, SerialError> {
        if s.is_empty() {
            return Err(SerialError::Empty);
        }
        if let Some(i) = s.chars().position(|c| !c.is_ascii_graphic()) {
            return Err(SerialError::Unprintable { position: i + 1 });
        }
        // All ASCII from here on, so bytes are characters.
        let found = s.len();
        if found > SERIAL_MAX_LEN {
            return Err(SerialError::TooLong { found });
        }
        let mut bytes = [0u8; SERIAL_MAX_LEN];
        bytes[..found].copy_from_slice(s.as_bytes());
        Ok(Serial {
            // found ≤ 40: the cast cannot truncate.
            len: found as u8,
            bytes,
        })
    }

    /// A provider-layout serial of `family` whose last 12 digits are
    /// `body` (mod 10^12): how seeded fleets number their tokens.
    pub(super) fn compose(family: Family, body: u64) -> Serial {
        let mut digits = [b'0'; PROVIDER_SERIAL_LEN];
        digits[0] = family.serial_prefix() as u8;
        let mut rest = body % 10u64.pow(PROVIDER_SERIAL_LEN as u32 - 1);
        for d in digits[1..].iter_mut().rev() {
            // rest % 10 < 10: the cast cannot truncate.
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let mut bytes = [0u8; SERIAL_MAX_LEN];
        bytes[..PROVIDER_SERIAL_LEN].copy_from_slice(&digits);
        Serial {
            len: PROVIDER_SERIAL_LEN as u8,
            bytes,
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)])
            .expect("a serial is printable ASCII")
    }

    fn first(&self) -> char {
        char::from(self.bytes[0])
    }
}

impl Ord for Serial {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Serial {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
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

/// Which serials a deployment's typed input must follow, and whether a
/// serial tells the family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SerialLayout {
    /// Any serial; the kind always comes from the inventory.
    Any,
    /// The seed provider's fobs: 13 digits, `1` event, `2` time.
    #[default]
    Provider,
}

impl SerialLayout {
    pub const ALL: [SerialLayout; 2] = [SerialLayout::Any, SerialLayout::Provider];

    pub fn name(self) -> &'static str {
        match self {
            SerialLayout::Any => "any",
            SerialLayout::Provider => "provider",
        }
    }

    /// Parses a serial and checks it follows this layout.
    pub fn parse(self, s: &str) -> Result<Serial, SerialError> {
        let serial = Serial::parse(s)?;
        self.family_of(serial)?;
        Ok(serial)
    }

    /// The family a serial announces: `None` under [`Any`](Self::Any),
    /// where no serial announces one; an error for a serial outside the
    /// provider layout.
    pub fn family_of(self, serial: Serial) -> Result<Option<Family>, SerialError> {
        if self == SerialLayout::Any {
            return Ok(None);
        }
        let s = serial.as_str();
        if let Some(i) = s.chars().position(|c| !c.is_ascii_digit()) {
            return Err(SerialError::NonDigit { position: i + 1 });
        }
        if s.len() != PROVIDER_SERIAL_LEN {
            return Err(SerialError::WrongLength { found: s.len() });
        }
        let prefix = serial.first();
        Family::from_serial_prefix(prefix)
            .map(Some)
            .ok_or(SerialError::UnknownPrefix { prefix })
    }

    /// Whether `serial` may belong to a `model` under this layout: always
    /// under [`Any`](Self::Any); under the provider layout, when its first
    /// digit announces the model's family.
    pub fn check_model(self, serial: Serial, model: Model) -> Result<(), SerialError> {
        match self.family_of(serial)? {
            Some(announced) if announced != model.family() => Err(FamilyMismatch {
                serial,
                announced,
                model,
            }
            .into()),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for SerialLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SerialLayout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SerialLayout::ALL
            .into_iter()
            .find(|layout| layout.name() == s)
            .ok_or_else(|| format!("serial layout {s:?}: expected any or provider"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(s: &str) -> String {
        Serial::parse(s).map_err(|e| e.to_string()).unwrap_err()
    }

    fn provider_err(s: &str) -> String {
        SerialLayout::Provider
            .parse(s)
            .map_err(|e| e.to_string())
            .unwrap_err()
    }

    #[test]
    fn serials_vendors_ship_parse_as_typed() {
        for s in [
            "1000133508267",
            "2600124809778",
            "987654321",
            "ZZ9000000001",
            "306EUO4-00954",
            "UBAM01234567_1",
            "a",
            &"X".repeat(SERIAL_MAX_LEN),
        ] {
            let serial = Serial::parse(s).unwrap();
            assert_eq!(serial.as_str(), s);
            assert_eq!(serial.to_string(), s);
        }
        assert_eq!(
            format!("{:?}", Serial::parse("987654321").unwrap()),
            "Serial(987654321)"
        );
    }

    #[test]
    fn serials_compare_exactly() {
        let lower = Serial::parse("zz9000000001").unwrap();
        let upper = Serial::parse("ZZ9000000001").unwrap();
        assert_ne!(lower, upper);
        assert_ne!(
            Serial::parse("0987654321").unwrap(),
            Serial::parse("987654321").unwrap()
        );
        // Ordered as text, not by length first.
        assert!(Serial::parse("10").unwrap() < Serial::parse("9").unwrap());
    }

    #[test]
    fn each_malformed_serial_gets_one_clear_line() {
        assert_eq!(err(""), "serial is empty");
        assert_eq!(
            err("1000 133508267"),
            "serial has a space, a control or a non-ASCII character at position 5 (serials are printable ASCII)"
        );
        assert!(err("ü000133508267").contains("at position 1"));
        assert!(err("1000133508267\n").contains("at position 14"));
        assert_eq!(
            err(&"1".repeat(SERIAL_MAX_LEN + 1)),
            "serial has 41 characters, at most 40"
        );
    }

    #[test]
    fn the_provider_layout_is_13_digits_with_a_family_prefix() {
        let layout = SerialLayout::Provider;
        assert_eq!(
            layout.family_of(Serial::parse("1000133508267").unwrap()),
            Ok(Some(Family::Event))
        );
        assert_eq!(
            layout.family_of(Serial::parse("2600124809778").unwrap()),
            Ok(Some(Family::Time))
        );
        assert_eq!(
            provider_err("10001335O8267"),
            "serial has a non-digit at position 9"
        );
        assert_eq!(
            provider_err("100013350826"),
            "serial has 12 digits, expected 13"
        );
        assert_eq!(
            provider_err("987654321"),
            "serial has 9 digits, expected 13"
        );
        assert_eq!(
            provider_err("3000133508267"),
            "serial starts with 3, expected 1 (event token) or 2 (time token)"
        );
        // The free-text rule comes first.
        assert_eq!(provider_err(""), "serial is empty");
    }

    #[test]
    fn any_layout_announces_no_family() {
        for s in ["2600124809778", "ZZ9000000001", "3000133508267"] {
            let serial = Serial::parse(s).unwrap();
            assert_eq!(SerialLayout::Any.family_of(serial), Ok(None));
            for model in Model::ALL {
                assert_eq!(SerialLayout::Any.check_model(serial, model), Ok(()));
            }
        }
    }

    #[test]
    fn check_model_under_the_provider_layout() {
        let check = |model, s| {
            SerialLayout::Provider
                .check_model(Serial::parse(s).unwrap(), model)
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            check(Model::C100, "2600124809778"),
            Err(
                "serial 2600124809778 starts with 2 (time token) but a c100 is an event token"
                    .to_owned()
            )
        );
        assert_eq!(
            check(Model::C200, "1000133508267"),
            Err(
                "serial 1000133508267 starts with 1 (event token) but a c200 is a time token"
                    .to_owned()
            )
        );
        assert_eq!(check(Model::Usb, "1000133508267"), Ok(()));
        assert_eq!(check(Model::C200, "2600124809778"), Ok(()));
        assert_eq!(
            check(Model::C200, "ZZ9000000001"),
            Err("serial has a non-digit at position 1".to_owned())
        );
    }

    #[test]
    fn layouts_parse_by_name() {
        for layout in SerialLayout::ALL {
            assert_eq!(layout.name().parse(), Ok(layout));
        }
        assert!("strict".parse::<SerialLayout>().is_err());
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
        fn printable_ascii_round_trips(s in "[!-~]{1,40}") {
            let serial = Serial::parse(&s).unwrap();
            prop_assert_eq!(serial.as_str(), s.as_str());
        }

        #[test]
        fn arbitrary_strings_are_accepted_only_as_printable_ascii(s in any::<String>()) {
            let rule = !s.is_empty()
                && s.len() <= SERIAL_MAX_LEN
                && s.bytes().all(|b| b.is_ascii_graphic());
            prop_assert_eq!(Serial::parse(&s).is_ok(), rule);
        }

        #[test]
        fn the_provider_layout_accepts_exactly_its_shape(s in "[0-9]{0,20}|[0-9]{0,12}[!-~][0-9]{0,12}") {
            let layout = s.len() == PROVIDER_SERIAL_LEN
                && (s.starts_with('1') || s.starts_with('2'))
                && s.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(SerialLayout::Provider.parse(&s).is_ok(), layout);
        }
    }
}
