//! Inventory import, the parsing half: the files a token vendor ships to the
//! verifier (serials and keys), read into [`InventoryEntry`] values.
//!
//! Three formats, one file per format:
//! - `pskc.rs`: RFC 6030 PSKC XML, plain or encrypted (AES, Camellia or
//!   3DES-CBC with a checked ValueMAC; AES or Camellia key wrap) under a
//!   pre-shared key or a PBKDF2 password.
//! - `csv.rs`: `serial,kind,key,digits,step[,algorithm,counter,t0]`, as
//!   `tokenrig-sim fleet` prints it; `oathcsv.rs`: privacyIDEA's headerless
//!   OATH CSV (`serial, key, type, otplen, counter|timeStep`), the layout
//!   other verifiers' exports meet. Both are the `csv` format.
//! - `otpauth.rs`: `otpauth://` Key URIs, one per line.
//!
//! Parsing is pure (bytes in, entries out) and **all or nothing**: one bad
//! entry, or one serial given twice, refuses the whole file with an error
//! naming the entry ([`Location`]) and why; nothing is returned for the rest,
//! so an import can never leave half a shipment in the store.
//!
//! # Kinds
//! The model comes from what the file says, never from the serial, which
//! is free text ([`Serial`]; the provider layout's `1`/`2` prefix is a
//! deployment policy the replacement flow applies, not an import rule):
//! - CSV: the `kind` column (`c100`, `c200`, `usb`).
//! - PSKC: the Key's `Algorithm` URI (`…:pskc:hotp` event, `…:pskc:totp`
//!   time; without one, a `Counter` or a `TimeInterval`/`Time`). A
//!   `DeviceInfo/Model` naming a model (`c100`, `c200`, `usb`) sets it;
//!   otherwise one containing "usb" (any case) makes an event key a USB token.
//! - otpauth: the type (`hotp` event, `totp` time); a `model=` parameter
//!   (`c100`, `c200`, `usb`) sets the model.
//!
//! Neither PSKC nor otpauth can otherwise tell a USB token from a C100 (both
//! are HOTP with event serials), so an event token without such a hint is a
//! C100.
//!
//! # Serials
//! Any serial a file gives is kept as written, held only to [`Serial`]'s
//! rule (1 to 40 printable ASCII characters, compared exactly), so RFC 6030's
//! own examples (serial `987654321`) import unchanged.

mod csv;
mod error;
mod oathcsv;
mod otpauth;
mod pskc;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::device::{Family, Model, Serial};
use crate::otp::{Algorithm, Digits, SecretKey, TimeStep, TotpParams};

pub use error::{
    CsvHeaderError, EntryError, InventoryError, KeyOrigin, Location, PskcError, Quoted,
};

/// One token of an inventory: what the verifier needs to check its codes.
///
/// `S` is the serial: a validated [`Serial`] for entries from [`parse`], the
/// string the file states for a [`RawEntry`] a parser yields. Either way the model's family
/// matches the [`MovingFactor`] and the key is not empty. `Debug` shows the
/// key's length only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryEntry<S = Serial> {
    serial: S,
    model: Model,
    key: SecretKey,
    algorithm: Algorithm,
    digits: Digits,
    moving: MovingFactor,
}

/// An entry as a format's parser reads it, before its serial is checked.
pub type RawEntry = InventoryEntry<String>;

/// What moves a token from one code to the next, and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovingFactor {
    /// HOTP: the counter of the next code the token will show.
    Event { counter: u64 },
    /// TOTP: the time step and T0.
    Time(TotpParams),
}

impl MovingFactor {
    pub fn family(self) -> Family {
        match self {
            MovingFactor::Event { .. } => Family::Event,
            MovingFactor::Time(_) => Family::Time,
        }
    }

    /// The one rule every format shares: an event token takes a counter
    /// (default 0) and no step or T0; a time token takes a step (the
    /// format's default, if it has one) and T0 (default 0) and no counter.
    /// Each field comes with the name its format uses, for the error.
    fn from_fields(model: Model, fields: MovingFields) -> Result<MovingFactor, EntryError> {
        let MovingFields {
            counter,
            step,
            t0,
            default_step,
        } = fields;
        let given = |(name, value): (&'static str, Option<u64>)| value.map(|_| name);
        match model.family() {
            Family::Event => match given(step).or_else(|| given(t0)) {
                Some(field) => Err(EntryError::NotForModel { field, model }),
                None => Ok(MovingFactor::Event {
                    counter: counter.1.unwrap_or(0),
                }),
            },
            Family::Time => {
                if let Some(field) = given(counter) {
                    return Err(EntryError::NotForModel { field, model });
                }
                let secs = step.1.or(default_step).ok_or(EntryError::Missing(step.0))?;
                let step = TimeStep::from_secs(secs).map_err(|_| EntryError::ZeroStep)?;
                Ok(MovingFactor::Time(TotpParams {
                    step,
                    t0: t0.1.unwrap_or(0),
                }))
            }
        }
    }
}

/// The moving-factor fields of one entry as a format gives them: each with
/// the name that format uses for it.
struct MovingFields {
    counter: (&'static str, Option<u64>),
    step: (&'static str, Option<u64>),
    t0: (&'static str, Option<u64>),
    /// The step a format assumes when none is given (`None`: required).
    default_step: Option<u64>,
}

impl<S> InventoryEntry<S> {
    /// Checks what every entry must satisfy whatever its serial: the model's
    /// family matches the moving factor, and there is a key.
    fn new(
        serial: S,
        model: Model,
        key: SecretKey,
        algorithm: Algorithm,
        digits: Digits,
        moving: MovingFactor,
    ) -> Result<Self, EntryError> {
        if model.family() != moving.family() {
            return Err(EntryError::WrongModel {
                model,
                entry: moving.family(),
            });
        }
        if key.is_empty() {
            return Err(EntryError::EmptyKey);
        }
        Ok(InventoryEntry {
            serial,
            model,
            key,
            algorithm,
            digits,
            moving,
        })
    }

    pub fn serial(&self) -> &S {
        &self.serial
    }

    pub fn model(&self) -> Model {
        self.model
    }

    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn digits(&self) -> Digits {
        self.digits
    }

    pub fn moving_factor(&self) -> MovingFactor {
        self.moving
    }
}

impl RawEntry {
    /// Holds the entry to tokenrig's fleet: a serial (any, see
    /// [`Serial`]) and a C200 step of 30 or 60 s.
    fn validate(self) -> Result<InventoryEntry, EntryError> {
        let serial = Serial::parse(&self.serial)?;
        if let MovingFactor::Time(params) = self.moving {
            let secs = params.step.as_secs();
            if secs != 30 && secs != 60 {
                return Err(EntryError::UnsupportedStep(secs));
            }
        }
        Ok(InventoryEntry {
            serial,
            model: self.model,
            key: self.key,
            algorithm: self.algorithm,
            digits: self.digits,
            moving: self.moving,
        })
    }
}

/// The key that unlocks an encrypted PSKC file.
pub enum PskcKey {
    /// A pre-shared key (RFC 6030 §6.1) as long as the file's algorithm needs,
    /// e.g. from `--pskc-key HEX`.
    PreShared(SecretKey),
    /// A password the AES key is derived from with PBKDF2 (RFC 6030 §6.2).
    Password(Zeroizing<String>),
}

impl fmt::Debug for PskcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PskcKey::PreShared(key) => write!(f, "PskcKey::PreShared({key:?})"),
            PskcKey::Password(_) => f.write_str("PskcKey::Password(redacted)"),
        }
    }
}

/// The inventory formats tokenrig reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RFC 6030 Portable Symmetric Key Container (XML).
    Pskc,
    /// `serial,kind,key,digits,step[,algorithm,counter,t0]` with a header.
    Csv,
    /// `otpauth://` Key URIs, one per line; blank lines and `#` comments skipped.
    Otpauth,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Pskc, Format::Csv, Format::Otpauth];

    pub fn name(self) -> &'static str {
        match self {
            Format::Pskc => "pskc",
            Format::Csv => "csv",
            Format::Otpauth => "otpauth",
        }
    }

    /// The format of a file, from its content when that is conclusive (an
    /// XML start, an `otpauth://` first line, a CSV header naming `serial`,
    /// a line in privacyIDEA's OATH CSV layout),
    /// else from its extension (`.xml`/`.pskc`, `.csv`, `.txt`/`.uri`).
    /// Content wins because vendors ship CSV as `.txt` as often as not.
    pub fn detect(path: &Path, bytes: &[u8]) -> Result<Format, InventoryError> {
        if let Some(format) = Format::sniff(bytes) {
            return Ok(format);
        }
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("xml" | "pskc" | "pskcxml") => Ok(Format::Pskc),
            Some("csv") => Ok(Format::Csv),
            Some("txt" | "uri") => Ok(Format::Otpauth),
            _ => Err(InventoryError::UnknownFormat {
                name: path.display().to_string(),
            }),
        }
    }

    fn sniff(bytes: &[u8]) -> Option<Format> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
        let text = &bytes[start..];
        if text.starts_with(b"<?xml") || text.starts_with(b"<KeyContainer") {
            return Some(Format::Pskc);
        }
        // A prefixed root, e.g. `<pskc:KeyContainer`.
        let first_tag = text.strip_prefix(b"<").map(|t| {
            let end = t
                .iter()
                .position(|b| b.is_ascii_whitespace() || *b == b'>')
                .unwrap_or(t.len());
            &t[..end]
        });
        if first_tag.is_some_and(|tag| tag.ends_with(b":KeyContainer")) {
            return Some(Format::Pskc);
        }
        let first_line = text
            .split(|b| *b == b'\n')
            .map(|l| l.trim_ascii())
            .find(|l| !l.is_empty() && !l.starts_with(b"#"))?;
        if first_line.len() >= 10 && first_line[..10].eq_ignore_ascii_case(b"otpauth://") {
            return Some(Format::Otpauth);
        }
        if first_line
            .split(|b| *b == b',')
            .any(|field| field.trim_ascii().eq_ignore_ascii_case(b"serial"))
        {
            return Some(Format::Csv);
        }
        std::str::from_utf8(text)
            .is_ok_and(oathcsv::looks_like)
            .then_some(Format::Csv)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads an inventory and holds every entry to tokenrig's fleet (serials
/// by [`Serial`]'s rule, C200 steps of 30 or 60 s). All or nothing:
/// the first bad entry is the error and no entry is returned.
///
/// `pskc_key` unlocks encrypted PSKC files; other formats ignore it.
pub fn parse(
    bytes: &[u8],
    format: Format,
    pskc_key: Option<&PskcKey>,
) -> Result<Vec<InventoryEntry>, InventoryError> {
    located(bytes, format, pskc_key)?
        .into_iter()
        .map(|(at, raw)| {
            raw.validate()
                .map_err(|why| InventoryError::Entry { at, why })
        })
        .collect()
}

/// The entries of a file with where each was found, checked for duplicate
/// serials and for being non-empty.
fn located(
    bytes: &[u8],
    format: Format,
    pskc_key: Option<&PskcKey>,
) -> Result<Vec<(Location, RawEntry)>, InventoryError> {
    let text = std::str::from_utf8(bytes).map_err(|e| InventoryError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let entries = match format {
        Format::Pskc => pskc::parse(text, pskc_key)?,
        Format::Csv => csv::parse(text)?,
        Format::Otpauth => otpauth::parse(text)?,
    };
    if entries.is_empty() {
        return Err(InventoryError::NoEntries);
    }
    let mut seen: HashMap<&str, &Location> = HashMap::new();
    for (at, entry) in &entries {
        if let Some(first) = seen.insert(entry.serial.as_str(), at) {
            // RFC 6030 figure 10: two KeyPackages, one device, two Keys.
            if let (
                Location::KeyPackage {
                    key_id: Some(a), ..
                },
                Location::KeyPackage {
                    key_id: Some(b), ..
                },
            ) = (first, at)
            {
                if a != b {
                    return Err(InventoryError::SeveralKeys {
                        serial: Quoted::new(&entry.serial),
                        first: first.clone(),
                        second: at.clone(),
                    });
                }
            }
            return Err(InventoryError::DuplicateSerial {
                serial: Quoted::new(&entry.serial),
                first: first.clone(),
                second: at.clone(),
            });
        }
    }
    Ok(entries)
}

/// Reads one whole number of an entry, naming the field when it is not one.
fn number(field: &'static str, text: &str) -> Result<u64, EntryError> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EntryError::NotANumber(field));
    }
    text.parse().map_err(|_| EntryError::NotANumber(field))
}

/// Reads a digit count (6 to 8).
fn digits(text: &str) -> Result<Digits, EntryError> {
    let n = number("digits", text)?;
    let n = u8::try_from(n).map_err(|_| crate::otp::DigitsError(n))?;
    Ok(Digits::new(n)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(super) fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/inventory")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn err(name: &str, format: Format) -> String {
        parse(&fixture(name), format, None).unwrap_err().to_string()
    }

    #[test]
    fn formats_are_detected_by_content_then_extension() {
        let detect = |name: &str, bytes: &[u8]| Format::detect(Path::new(name), bytes);
        for (name, format) in [
            ("rfc6030-figure2.xml", Format::Pskc),
            ("rfc6030-figure7.xml", Format::Pskc),
            ("fleet.pskc", Format::Pskc),
            ("fleet.csv", Format::Csv),
            ("fleet.txt", Format::Otpauth),
        ] {
            assert_eq!(detect("upload", &fixture(name)), Ok(format), "{name}");
        }
        assert_eq!(
            detect("x", b"  <pskc:KeyContainer xmlns:pskc='x'/>"),
            Ok(Format::Pskc)
        );
        assert_eq!(detect("tokens.TXT", b""), Ok(Format::Otpauth));
        assert_eq!(detect("tokens.uri", b"garbage"), Ok(Format::Otpauth));
        assert_eq!(detect("vendor.pskc", b"garbage"), Ok(Format::Pskc));
        assert_eq!(detect("vendor.txt", &fixture("fleet.csv")), Ok(Format::Csv));
        assert_eq!(
            detect("a.bin", b"\x00\x01").map_err(|e| e.to_string()),
            Err(InventoryError::UnknownFormat {
                name: "a.bin".into()
            }
            .to_string())
        );
    }

    #[test]
    fn the_three_formats_agree_on_the_same_tokens() {
        let psk =
            PskcKey::PreShared(SecretKey::from_hex("a0b1c2d3e4f5061728394a5b6c7d8e9f").unwrap());
        let plain = parse(&fixture("fleet.pskc"), Format::Pskc, None).unwrap();
        let encrypted = parse(&fixture("fleet-encrypted.pskc"), Format::Pskc, Some(&psk)).unwrap();
        let uris = parse(&fixture("fleet.txt"), Format::Otpauth, None).unwrap();
        assert_eq!(plain, encrypted);
        assert_eq!(plain, uris);

        let summary: Vec<_> = plain
            .iter()
            .map(|e| (e.serial().as_str(), e.model(), e.moving_factor()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "1000133508267",
                    Model::C100,
                    MovingFactor::Event { counter: 5 }
                ),
                (
                    "2600124809778",
                    Model::C200,
                    MovingFactor::Time(TotpParams::new(crate::otp::TimeStep::SECONDS_60))
                ),
                (
                    "1400000000017",
                    Model::Usb,
                    MovingFactor::Event { counter: 0 }
                ),
            ]
        );
        let c100 = &plain[0];
        assert_eq!(c100.key().as_bytes(), b"12345678901234567890");
        assert_eq!(
            plain[1].key().to_hex().as_str(),
            "2cbb5c8714c00e9c7863c1af0044970040067572"
        );
        assert_eq!(
            plain[2].key().to_hex().as_str(),
            "9bfee67327db5698418829828b6a368980e2d897"
        );
        assert!(plain.iter().all(|e| e.digits() == Digits::SIX));
        assert!(plain.iter().all(|e| e.algorithm() == Algorithm::Sha1));
    }

    #[test]
    fn debug_output_hides_keys_and_passwords() {
        let entries = parse(&fixture("fleet.csv"), Format::Csv, None).unwrap();
        let shown = format!("{entries:?}");
        assert!(shown.contains("SecretKey(20 bytes, redacted)"), "{shown}");
        assert!(!shown.contains("e0573ff0"), "{shown}");
        let password = PskcKey::Password(Zeroizing::new("qwerty".to_owned()));
        assert_eq!(format!("{password:?}"), "PskcKey::Password(redacted)");
        let key = PskcKey::PreShared(SecretKey::from_hex("00112233").unwrap());
        assert_eq!(
            format!("{key:?}"),
            "PskcKey::PreShared(SecretKey(4 bytes, redacted))"
        );
    }

    #[test]
    fn rfc_serials_import_as_written() {
        let bytes = fixture("rfc6030-figure2.xml");
        let entries = parse(&bytes, Format::Pskc, None).unwrap();
        assert_eq!(entries[0].serial().as_str(), "12345678");
    }

    #[test]
    fn a_serial_outside_the_rule_names_its_entry() {
        let text = "serial,kind,key,digits,step\nAB 12,c100,3132,6,\n";
        assert_eq!(
            parse(text.as_bytes(), Format::Csv, None)
                .unwrap_err()
                .to_string(),
            "line 2: serial has a space, a control or a non-ASCII character at position 3 (serials are printable ASCII)"
        );
    }

    #[test]
    fn a_serial_given_twice_refuses_the_file() {
        assert_eq!(
            err("invalid/duplicate-serial.csv", Format::Csv),
            "line 4: serial 1909107966482 appears twice, first at line 2"
        );
        assert_eq!(
            err("invalid/duplicate-serial.pskc", Format::Pskc),
            "KeyPackage 2 at line 26 (serial 1000133508267, Key Id 1000133508267): serial \
             1000133508267 appears twice, first at KeyPackage 1 at line 6 (serial \
             1000133508267, Key Id 1000133508267)"
        );
    }

    #[test]
    fn any_serial_imports_with_the_kind_the_file_gives() {
        let text = fixture("odd-serials.csv");
        let entries = parse(&text, Format::Csv, None).expect("odd serials import");
        let got: Vec<(&str, Model)> = entries
            .iter()
            .map(|e| (e.serial().as_str(), e.model()))
            .collect();
        // The last one starts with 1, the event prefix, yet is a C200:
        // only the provider layout reads a kind into a serial.
        assert_eq!(
            got,
            [
                ("987654321", Model::C100),
                ("ZZ9000000001", Model::C200),
                ("306EUO4-00954", Model::Usb),
                ("1630489071652", Model::C200),
            ]
        );
    }

    #[test]
    fn a_file_without_tokens_is_refused() {
        assert_eq!(
            parse(b"serial,kind,key,digits,step\n", Format::Csv, None),
            Err(InventoryError::NoEntries)
        );
        assert_eq!(
            parse(b"# nothing\n\n", Format::Otpauth, None),
            Err(InventoryError::NoEntries)
        );
        assert_eq!(
            parse(b"\xff", Format::Csv, None),
            Err(InventoryError::NotUtf8 { offset: 0 })
        );
    }

    #[test]
    fn quoted_strings_stay_on_one_short_line() {
        assert_eq!(Quoted::new("a\nb").to_string(), "a\\nb");
        assert_eq!(
            Quoted::new(&"9".repeat(70)).to_string(),
            "9".repeat(64) + "…"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let psk = PskcKey::PreShared(SecretKey::new(vec![7; 16]));
            for format in Format::ALL {
                let _ = parse(&bytes, format, Some(&psk));
                let _ = parse(&bytes, format, None);
            }
            let _ = Format::detect(Path::new("f"), &bytes);
        }

        #[test]
        fn arbitrary_lines_after_a_valid_start_never_panic(tail in "[ -~\n]{0,300}") {
            let _ = parse(format!("serial,kind,key,digits,step,counter,t0,algorithm\n{tail}").as_bytes(), Format::Csv, None);
            let _ = parse(format!("otpauth://{tail}").as_bytes(), Format::Otpauth, None);
            let _ = parse(format!("<KeyContainer xmlns='urn:ietf:params:xml:ns:keyprov:pskc'>{tail}").as_bytes(), Format::Pskc, None);
        }

        #[test]
        fn corrupted_pskc_files_never_panic(at in 0usize..4000, byte in any::<u8>(), cut in any::<bool>()) {
            let psk = PskcKey::PreShared(
                SecretKey::from_hex("a0b1c2d3e4f5061728394a5b6c7d8e9f").unwrap(),
            );
            let mut bytes = fixture("fleet-encrypted.pskc");
            let at = at % bytes.len();
            if cut {
                bytes.truncate(at);
            } else {
                bytes[at] = byte;
            }
            let _ = parse(&bytes, Format::Pskc, Some(&psk));
        }
    }
}
