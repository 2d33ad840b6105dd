//! privacyIDEA's OATH CSV: `serial, key, type, otplen, counter|timeStep`.
//!
//! The headerless layout privacyIDEA imports (`parseOATHcsv` in
//! `privacyidea/lib/importotp.py`, 3.x), and so the one other verifiers'
//! exports meet in practice. One token per line, fields split on commas and
//! trimmed, `#` lines are comments:
//! - `serial`: any serial ([`Serial`](crate::device::Serial)'s rule);
//! - `key`: hex. Its length picks the HMAC, as privacyIDEA reads it:
//!   32 bytes SHA-256, 64 bytes SHA-512, anything else SHA-1 (28 and 48
//!   bytes mean SHA-224 and SHA-384 there, which tokenrig refuses by name);
//! - `type`: `hotp` (the default when absent) or `totp`; they import as a
//!   C100 and a C200;
//! - `otplen`: 6 (default) or 8;
//! - the fifth field: an HOTP token's counter (default 0) or a TOTP
//!   token's `timeStep` in seconds (default 30).
//!
//! A first line `# version: 2` puts three user columns (username,
//! resolver, realm) in front; tokenrig imports the tokens and ignores the
//! users (assign them with `tokenrig assign`). Empty fields take their
//! default, trailing empty fields are allowed (privacyIDEA's own examples
//! end in a comma), anything else past the fifth field refuses the line.

use super::error::{EntryError, InventoryError, Location, Quoted};
use super::{MovingFactor, MovingFields, RawEntry};
use crate::device::Model;
use crate::otp::{Algorithm, SecretKey};

/// The token types privacyIDEA writes in the third field: a line naming
/// one is this layout, even when tokenrig cannot import that type.
const TYPES: [&str; 4] = ["hotp", "totp", "ocra", "tan"];

/// Whether `text` is in this layout: a `# version:` first line, or a first
/// token line whose third field is a token type (or that has two fields,
/// serial and key, the type defaulting to hotp).
pub(super) fn looks_like(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if version_line(text.lines().next().unwrap_or_default()).is_some() {
        return true;
    }
    let Some(first) = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    else {
        return false;
    };
    let fields: Vec<&str> = first.split(',').map(str::trim).collect();
    match fields.as_slice() {
        [_, _] => true,
        [_, _, kind, ..] => TYPES.contains(&kind.to_ascii_lowercase().as_str()),
        _ => false,
    }
}

/// `# version: N` (privacyIDEA's own test: `^#\s*version:\s*(\d+)`).
fn version_line(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('#')?.trim_start();
    let number = rest.strip_prefix("version:")?.trim();
    Some(number)
}

pub(super) fn parse(text: &str) -> Result<Vec<(Location, RawEntry)>, InventoryError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let user_columns = match text.lines().next().and_then(version_line) {
        None | Some("0" | "1") => 0,
        Some("2") => 3,
        Some(other) => {
            return Err(InventoryError::Entry {
                at: Location::Line(1),
                why: EntryError::OathVersion(Quoted::new(other)),
            });
        }
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(i, line)| {
            let at = Location::Line(i + 1);
            match entry(line, user_columns) {
                Ok(entry) => Ok((at, entry)),
                Err(why) => Err(InventoryError::Entry { at, why }),
            }
        })
        .collect()
}

fn entry(line: &str, user_columns: usize) -> Result<RawEntry, EntryError> {
    let mut fields: Vec<&str> = line.split(',').map(str::trim).collect();
    while fields.len() > user_columns + 5 && fields.last() == Some(&"") {
        fields.pop();
    }
    let found = fields.len();
    if found < user_columns + 2 || found > user_columns + 5 {
        return Err(EntryError::OathFieldCount {
            found,
            users: user_columns,
        });
    }
    let fields = &fields[user_columns..];
    let optional = |i: usize| fields.get(i).copied().filter(|v| !v.is_empty());
    let serial = fields[0];
    if serial.is_empty() {
        return Err(EntryError::NoSerial("the serial field is empty"));
    }
    let hex = fields[1];
    let key = SecretKey::from_hex(hex)?;
    let algorithm = match key.len() {
        32 => Algorithm::Sha256,
        64 => Algorithm::Sha512,
        28 => {
            return Err(EntryError::OathKeyHash {
                bytes: 28,
                hash: "SHA-224",
            });
        }
        48 => {
            return Err(EntryError::OathKeyHash {
                bytes: 48,
                hash: "SHA-384",
            });
        }
        _ => Algorithm::Sha1,
    };
    let kind = optional(2).map_or_else(|| "hotp".to_owned(), str::to_ascii_lowercase);
    let model = match kind.as_str() {
        "hotp" => Model::C100,
        "totp" => Model::C200,
        _ => return Err(EntryError::OathType(Quoted::new(&kind))),
    };
    let digits = super::digits(optional(3).unwrap_or("6"))?;
    let fifth = |name| optional(4).map(|v| super::number(name, v)).transpose();
    let (counter, step) = match model {
        Model::C200 => (None, fifth("timeStep")?),
        _ => (fifth("counter")?, None),
    };
    let moving = MovingFactor::from_fields(
        model,
        MovingFields {
            counter: ("counter", counter),
            step: ("timeStep", step),
            t0: ("t0", None),
            default_step: Some(30),
        },
    )?;
    RawEntry::new(serial.to_owned(), model, key, algorithm, digits, moving)
}

#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::super::{Format, InventoryEntry, parse as parse_inventory};
    use super::*;
    use crate::otp::{Digits, TimeStep, TotpParams};

    fn parse_text(text: &str) -> Result<Vec<InventoryEntry>, String> {
        parse_inventory(text.as_bytes(), Format::Csv, None).map_err(|e| e.to_string())
    }

    #[test]
    fn privacyideas_layout_imports_with_its_defaults() {
        let entries = parse_inventory(&fixture("privacyidea-oath.csv"), Format::Csv, None)
            .expect("the privacyIDEA OATH CSV imports");
        let got: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    e.serial().as_str().to_owned(),
                    e.model(),
                    e.algorithm(),
                    e.digits(),
                    e.moving_factor(),
                )
            })
            .collect();
        let time = |secs| MovingFactor::Time(TotpParams::new(TimeStep::from_secs(secs).unwrap()));
        assert_eq!(
            got,
            [
                (
                    "OATH0001A".to_owned(),
                    Model::C100,
                    Algorithm::Sha1,
                    Digits::SIX,
                    MovingFactor::Event { counter: 0 }
                ),
                (
                    "OATH0002B".to_owned(),
                    Model::C100,
                    Algorithm::Sha1,
                    Digits::EIGHT,
                    MovingFactor::Event { counter: 17 }
                ),
                (
                    "TOTP-30".to_owned(),
                    Model::C200,
                    Algorithm::Sha1,
                    Digits::SIX,
                    time(30)
                ),
                (
                    "TOTP-60-SHA256".to_owned(),
                    Model::C200,
                    Algorithm::Sha256,
                    Digits::SIX,
                    time(60)
                ),
                (
                    "OATH-SHA512".to_owned(),
                    Model::C100,
                    Algorithm::Sha512,
                    Digits::SIX,
                    MovingFactor::Event { counter: 0 }
                ),
            ]
        );
    }

    #[test]
    fn version_2_puts_users_first() {
        let text = "# version: 2\n\
                    anna,resolver1,realm1,HOTP0001,3132333435363738393031323334353637383930,hotp,6,5\n\
                    ,,,TOTP0001,3132333435363738393031323334353637383930,totp,6,60\n";
        let entries = parse_text(text).expect("version 2");
        assert_eq!(entries[0].serial().as_str(), "HOTP0001");
        assert_eq!(
            entries[0].moving_factor(),
            MovingFactor::Event { counter: 5 }
        );
        assert_eq!(entries[1].model(), Model::C200);
    }

    #[test]
    fn each_refusal_names_its_line_and_reason_never_the_key() {
        let key = "3132333435363738393031323334353637383930";
        let cases = [
            (
                format!("A1,{key},ocra,OCRA-1:HOTP-SHA1-6:QN08\n"),
                "line 1: type ocra: tokenrig imports hotp and totp tokens",
            ),
            (
                format!("A1,{key}\nA2,{key},totp,6,45\n"),
                "line 2: time step 45s: a c200 uses 30 or 60 s",
            ),
            (
                format!("A1,{key},hotp,6,0,x\n"),
                "line 1: has 6 fields; privacyIDEA's OATH CSV has 2 to 5 (serial, key, type, otplen, counter or timeStep)",
            ),
            (
                format!("A1,{key},hotp,7x\n"),
                "line 1: digits is not a whole number in range",
            ),
            (
                format!("A1,{key},totp,6,soon\n"),
                "line 1: timeStep is not a whole number in range",
            ),
            (
                format!(",{key},hotp\n"),
                "line 1: no serial: the serial field is empty",
            ),
            (
                format!("A 1,{key},hotp\n"),
                "line 1: serial has a space, a control or a non-ASCII character at position 2 (serials are printable ASCII)",
            ),
            (
                format!("A1,{},hotp\n", "ab".repeat(28)),
                "line 1: a 28-byte key means HMAC-SHA-224 in privacyIDEA's OATH CSV, which tokenrig does not support",
            ),
            (
                format!("# version: 3\nA1,{key}\n"),
                "line 1: OATH CSV version 3 is not supported: expected 1 or 2",
            ),
            (
                format!("A1,{key},hotp\nA1,{key},hotp\n"),
                "line 2: serial A1 appears twice, first at line 1",
            ),
        ];
        for (text, expected) in cases {
            let message = parse_text(&text).expect_err(expected);
            assert_eq!(message, expected);
            assert!(!message.contains(key), "{message}");
        }
    }

    #[test]
    fn only_lines_in_the_layout_are_taken_for_it() {
        assert!(looks_like("A1,3132\n"));
        assert!(looks_like("# comment\nA1,3132,TOTP,6,30\n"));
        assert!(looks_like("# version: 2\n"));
        // Ours: a header, or a headerless row whose third field is a key.
        assert!(!looks_like("serial,kind,key,digits,step\n"));
        assert!(!looks_like(
            "1909107966482,c100,e0573ff0cea6f5aae891e353ef23448b21b20902,6,\n"
        ));
        assert!(!looks_like("otpauth://totp/x?secret=AA\n"));
    }
}
