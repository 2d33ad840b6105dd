//! What can go wrong reading an inventory, one line per error.
//!
//! Every entry-level error names where the entry is ([`Location`]: a line, or
//! a PSKC `KeyPackage` with its serial and Id) and why it was refused. No
//! message ever quotes a key, a key column or a `secret=` value: key decoding
//! errors say where, never what, as [`KeyError`] does. Serials, Ids, model
//! names and algorithm URIs are not secret and are quoted, escaped so a
//! hostile file cannot break the one-line contract.

use std::fmt;

use crate::device::{Model, ModelError, SerialError};
use crate::otp::{AlgorithmError, DigitsError, KeyError};

/// Why a whole inventory file was refused. Nothing of it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error(
        "cannot tell the inventory format of {name}: expected a .xml/.pskc (PSKC), .csv or \
         .txt/.uri (otpauth URIs) file, or content starting with <?xml, <KeyContainer or otpauth://"
    )]
    UnknownFormat { name: String },
    #[error("inventory is not UTF-8 text: invalid byte at offset {offset}")]
    NotUtf8 { offset: usize },
    #[error("inventory holds no tokens")]
    NoEntries,
    #[error("PSKC: {0}")]
    Pskc(#[from] PskcError),
    #[error("CSV: {0}")]
    CsvHeader(#[from] CsvHeaderError),
    #[error("{at}: {why}")]
    Entry { at: Location, why: EntryError },
    #[error(
        "{second}: a second Key for device {serial}, first at {first}: tokenrig imports one \
         Key per device"
    )]
    SeveralKeys {
        serial: Quoted,
        first: Location,
        second: Location,
    },
    #[error("{second}: serial {serial} appears twice, first at {first}")]
    DuplicateSerial {
        serial: Quoted,
        first: Location,
        second: Location,
    },
}

/// Where an entry sits in its file, as a user looking at the file finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A line of a CSV or otpauth file, counted from 1.
    Line(usize),
    /// The `index`-th `KeyPackage` of a PSKC file (from 1) at its line, with
    /// the serial and Key Id it states, when it states them.
    KeyPackage {
        index: usize,
        line: u32,
        serial: Option<Quoted>,
        key_id: Option<Quoted>,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::KeyPackage {
                index,
                line,
                serial,
                key_id,
            } => {
                write!(f, "KeyPackage {index} at line {line}")?;
                match (serial, key_id) {
                    (Some(s), Some(id)) => write!(f, " (serial {s}, Key Id {id})"),
                    (Some(s), None) => write!(f, " (serial {s})"),
                    (None, Some(id)) => write!(f, " (Key Id {id})"),
                    (None, None) => Ok(()),
                }
            }
        }
    }
}

/// A non-secret string from the file (a serial, an Id, a URI), shown with
/// control characters escaped and cut at 64 characters, so no file can put a
/// newline or a page of text into a one-line error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quoted(Box<str>);

impl Quoted {
    const MAX_CHARS: usize = 64;

    pub fn new(s: &str) -> Self {
        Quoted(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(Self::MAX_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Why one entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error(transparent)]
    Serial(#[from] SerialError),
    #[error("no serial: {0}")]
    NoSerial(&'static str),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the key is empty")]
    EmptyKey,
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Algorithm(#[from] AlgorithmError),
    #[error(transparent)]
    Digits(#[from] DigitsError),
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{0} is not a whole number in range")]
    NotANumber(&'static str),
    #[error("time step must be at least 1 second")]
    ZeroStep,
    #[error("time step {0}s: a c200 uses 30 or 60 s")]
    UnsupportedStep(u64),
    #[error("{field} does not apply to a {model}, {}", .model.family().describe())]
    NotForModel { field: &'static str, model: Model },
    #[error("a {model} is {} but the entry describes {}", .model.family().describe(), .entry.describe())]
    WrongModel {
        model: Model,
        entry: crate::device::Family,
    },
    #[error("has {found} fields but the header names {expected}")]
    FieldCount { found: usize, expected: usize },
    #[error("not well-formed CSV")]
    MalformedCsv,
    #[error("not an otpauth:// URI")]
    NotOtpauth,
    #[error("otpauth type must be hotp or totp")]
    OtpauthType,
    #[error("{0} is not valid percent-encoded UTF-8")]
    PercentEncoding(&'static str),
    #[error("parameter {0} is given twice")]
    DuplicateParameter(&'static str),
    #[error(transparent)]
    Pskc(#[from] PskcError),
    #[error("OATH CSV version {0} is not supported: expected 1 or 2")]
    OathVersion(Quoted),
    #[error(
        "has {found} fields; privacyIDEA's OATH CSV has {} to {} ({}serial, key, type, otplen, counter or timeStep)",
        .users + 2,
        .users + 5,
        if *.users > 0 { "username, resolver, realm, " } else { "" }
    )]
    OathFieldCount { found: usize, users: usize },
    #[error("type {0}: tokenrig imports hotp and totp tokens")]
    OathType(Quoted),
    #[error(
        "a {bytes}-byte key means HMAC-{hash} in privacyIDEA's OATH CSV, which tokenrig does not support"
    )]
    OathKeyHash { bytes: usize, hash: &'static str },
}

/// What is wrong with a CSV header. A header must name the columns
/// `serial,kind,key,digits,step`; it may add `algorithm`, `counter`, `t0`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvHeaderError {
    /// Says which of *our* column names are missing, never what the first
    /// line holds instead: without a header, that line is a token and its key.
    #[error(
        "the first line must be the header serial,kind,key,digits,step[,algorithm,counter,t0]; \
         it lacks {missing}"
    )]
    Missing { missing: String },
    #[error(
        "unknown column {0} in the header (known: serial, kind, key, digits, step, algorithm, \
         counter, t0)"
    )]
    UnknownColumn(Quoted),
    #[error("column {0} is named twice in the header")]
    DuplicateColumn(Quoted),
}

/// Where the key a [`PskcError::KeyLength`] is about came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Given by the user (`--pskc-key`).
    PreShared,
    /// Derived with PBKDF2, as long as its `KeyLength` at `line` says.
    Pbkdf2 { line: u32 },
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyOrigin::PreShared => f.write_str("the pre-shared key"),
            KeyOrigin::Pbkdf2 { line } => write!(f, "PBKDF2 KeyLength at line {line}"),
        }
    }
}

/// What is wrong in a PSKC file (RFC 6030), about the container or one key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PskcError {
    #[error("not well-formed XML (line {line}, column {column})")]
    Xml { line: u32, column: u32 },
    #[error("XML with a DTD is refused")]
    Dtd,
    #[error("the root element is not a KeyContainer in urn:ietf:params:xml:ns:keyprov:pskc")]
    NotKeyContainer,
    #[error("KeyContainer Version {0} is not supported: expected 1.0")]
    Version(Quoted),
    #[error("the secrets are encrypted: give the pre-shared key or the password")]
    NoDecryptionKey,
    #[error("the file derives its key from a password (PBKDF2): give the password, not a key")]
    WantsPassword,
    #[error("the file uses a pre-shared key: give the key, not a password")]
    WantsPreSharedKey,
    #[error("{field} Algorithm at line {line} is missing")]
    NoAlgorithm { field: &'static str, line: u32 },
    #[error("{field} Algorithm {uri} at line {line} is unknown; supported: {supported}")]
    UnknownAlgorithm {
        field: &'static str,
        line: u32,
        uri: Quoted,
        supported: &'static str,
    },
    #[error("{field} Algorithm at line {line} is not supported: {name}")]
    UnsupportedAlgorithm {
        field: &'static str,
        line: u32,
        name: &'static str,
    },
    #[error("{field} Algorithm {uri} at line {line} is not a standard URI: {name} is {standard}")]
    NonStandardUri {
        field: &'static str,
        line: u32,
        uri: Quoted,
        name: &'static str,
        standard: &'static str,
    },
    #[error("{what} at line {line} has no EncryptionMethod")]
    NoEncryptionMethod { what: &'static str, line: u32 },
    #[error(
        "the file mixes {first} (line {first_line}) and {second} (line {second_line}): \
         one encryption algorithm per file is supported"
    )]
    MixedCiphers {
        first: &'static str,
        first_line: u32,
        second: &'static str,
        second_line: u32,
    },
    #[error("key derivation {uri} at line {line} is not supported: expected PBKDF2")]
    KeyDerivation { line: u32, uri: Quoted },
    #[error(
        "PBKDF2 PRF at line {line} names its algorithm as text: RFC 6030 section 6.2 puts it in \
         an Algorithm attribute"
    )]
    PrfAsText { line: u32 },
    #[error("{cipher} needs a {needs} key, got {got} ({what})")]
    KeyLength {
        cipher: &'static str,
        needs: &'static str,
        got: u64,
        what: KeyOrigin,
    },
    #[error("PBKDF2 IterationCount {0} is not between 1 and {max}", max = super::pskc::MAX_ITERATIONS)]
    Iterations(u64),
    #[error(
        "{cipher} has no integrity check of its own: encrypted values need a MACMethod with a \
         MACKey (RFC 6030 section 6.1.1)"
    )]
    NoMacMethod { cipher: &'static str },
    #[error("MACMethod at line {line} has no MACKey (a MACKeyReference is not supported)")]
    NoMacKey { line: u32 },
    #[error("ValueMAC at line {line} but the file has no MACMethod to check it with")]
    ValueMacWithoutMethod { line: u32 },
    #[error(
        "the {what} at line {line} does not decrypt: wrong pre-shared key or password, or altered \
         file"
    )]
    WrongKey { what: &'static str, line: u32 },
    #[error("{0} is not valid base64")]
    Base64(&'static str),
    #[error("{what} has a length {cipher} cannot produce")]
    CipherLength {
        what: &'static str,
        cipher: &'static str,
    },
    #[error("{what} is encrypted with {cipher} but has no ValueMAC")]
    NoValueMac {
        what: &'static str,
        cipher: &'static str,
    },
    #[error("{0}: MAC check failed (wrong pre-shared key or password, or altered file)")]
    MacMismatch(&'static str),
    #[error(
        "{0}: key wrap integrity check failed (wrong pre-shared key or password, or altered file)"
    )]
    Integrity(&'static str),
    #[error("{0} does not decrypt (bad padding)")]
    Decryption(&'static str),
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{0} is not a whole number in range")]
    NotANumber(&'static str),
    #[error("has no Key")]
    NoKey,
    #[error("holds {0} Keys: tokenrig imports one Key per KeyPackage (one token per device)")]
    MultipleKeys(usize),
    #[error("{field} at line {line} is not an integer")]
    NotAnInteger { field: &'static str, line: u32 },
    #[error("{element} {attribute} at line {line} is not an integer")]
    NotAnIntegerAttribute {
        element: &'static str,
        attribute: &'static str,
        line: u32,
    },
    #[error("{element} {attribute} at line {line} is not a boolean (true, false, 1 or 0)")]
    NotABoolean {
        element: &'static str,
        attribute: &'static str,
        line: u32,
    },
    #[error(
        "key algorithm {0} is not supported: expected urn:ietf:params:xml:ns:keyprov:pskc:hotp or :totp"
    )]
    KeyAlgorithm(Quoted),
    #[error("has no Algorithm and no Counter or TimeInterval to tell event from time")]
    UnknownKind,
    #[error("ResponseFormat Encoding {0} is not supported: expected DECIMAL")]
    ResponseEncoding(Quoted),
    #[error("Suite {0} is not supported: expected HMAC-SHA1, -SHA256 or -SHA512")]
    Suite(Quoted),
}
