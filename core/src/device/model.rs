//! Which token a device is, and which family of OTP it speaks.

use std::fmt;
use std::str::FromStr;

/// How a token moves from one code to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// HOTP: a counter that advances on every press.
    Event,
    /// TOTP: the number of time steps on the token's clock.
    Time,
}

impl Family {
    /// The first digit of this family's serials.
    pub fn serial_prefix(self) -> char {
        match self {
            Family::Event => '1',
            Family::Time => '2',
        }
    }

    /// The family a serial's first digit announces, if any.
    pub fn from_serial_prefix(prefix: char) -> Option<Family> {
        match prefix {
            '1' => Some(Family::Event),
            '2' => Some(Family::Time),
            _ => None,
        }
    }

    /// "an event token" / "a time token", for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Family::Event => "an event token",
            Family::Time => "a time token",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Event => "event",
            Family::Time => "time",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A token model, by the name users and inventories give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    C100,
    C200,
    Usb,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token model {0:?}: expected c100, c200 or usb")]
pub struct ModelError(pub String);

impl Model {
    pub const ALL: [Model; 3] = [Model::C100, Model::C200, Model::Usb];

    pub fn family(self) -> Family {
        match self {
            Model::C100 | Model::Usb => Family::Event,
            Model::C200 => Family::Time,
        }
    }

    /// The name on the command line, in scenario files and inventories.
    pub fn name(self) -> &'static str {
        match self {
            Model::C100 => "c100",
            Model::C200 => "c200",
            Model::Usb => "usb",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Model {
    type Err = ModelError;

    /// Case-insensitive: vendor paperwork writes "C100".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Model::ALL
            .into_iter()
            .find(|m| s.eq_ignore_ascii_case(m.name()))
            .ok_or_else(|| ModelError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for model in Model::ALL {
            assert_eq!(model.to_string().parse::<Model>(), Ok(model));
        }
        assert_eq!("C200".parse::<Model>(), Ok(Model::C200));
        assert_eq!(
            "c300".parse::<Model>().map_err(|e| e.to_string()),
            Err("unknown token model \"c300\": expected c100, c200 or usb".to_owned())
        );
    }

    #[test]
    fn families() {
        assert_eq!(Model::C100.family(), Family::Event);
        assert_eq!(Model::Usb.family(), Family::Event);
        assert_eq!(Model::C200.family(), Family::Time);
        for family in [Family::Event, Family::Time] {
            assert_eq!(
                Family::from_serial_prefix(family.serial_prefix()),
                Some(family)
            );
        }
        assert_eq!(Family::from_serial_prefix('3'), None);
    }
}
