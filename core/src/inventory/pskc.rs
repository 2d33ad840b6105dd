//! RFC 6030 Portable Symmetric Key Container (PSKC) files.
//!
//! What is read, per `KeyPackage`: `DeviceInfo/SerialNo` (else the Key's
//! `Id`, as RFC 6030's figure 2 has no DeviceInfo) and `DeviceInfo/Model` (a
//! model hint, see the [module docs](super)); the Key's `Algorithm` URI;
//! `AlgorithmParameters/ResponseFormat` (`Length` = digits, default 6,
//! `Encoding` DECIMAL) and `Suite` (HMAC-SHA1 unless it says otherwise);
//! `Data/Secret`, `Counter`, `TimeInterval` (default 30 s) and `Time`, read
//! as T0 in Unix seconds (RFC 6030 leaves its meaning to the algorithm
//! profile; time-fob vendors write 0, RFC 6238's default T0).
//!
//! Encrypted values (RFC 6030 §6.1, §6.2) are decrypted with the one
//! algorithm the file names ([`algorithms`] has the URI table): AES-,
//! Camellia- or 3DES-CBC (the IV in front of the ciphertext in
//! `CipherValue`, PKCS#7 padded), or AES or Camellia key wrap (RFC 3394,
//! RFC 5649). The key is given ([`PskcKey::PreShared`]) or derived from a
//! password with PBKDF2 from `EncryptionKey/DerivedKey`
//! ([`PskcKey::Password`]), and its length is checked against the
//! algorithm. CBC has no integrity of its own, so under CBC every encrypted
//! value must carry a `ValueMAC`: an HMAC over IV‖ciphertext under the
//! `MACMethod/MACKey`, itself encrypted with the same key (§6.1.1). Key
//! wrap has its own check and needs no MAC (one given is checked). The MAC
//! is checked before anything is decrypted; a wrong key or an altered byte
//! refuses the file.
//!
//! # The order of errors
//! A file is refused for the first of: its format (XML, root, DTD), its
//! version, an algorithm it names (encryption, MAC, key derivation, PRF),
//! its key (none given, the wrong kind, the wrong length), its MAC key;
//! then each `KeyPackage` in order, with its line: first the typed fields
//! (integers and booleans, wherever the schema has them, even ones
//! tokenrig does not use), then what the entry means. Messages name the
//! field and its line, never a value that could be secret.
//!
//! Element names are matched without their namespace (vendors prefix them
//! freely); the root must be a `KeyContainer` in the PSKC namespace.

mod algorithms;

use roxmltree::{Document, Node};
use zeroize::Zeroizing;

use self::algorithms::{
    Cipher, Failure, MacAlgorithm, SUPPORTED_CIPHERS, SUPPORTED_MACS, UriError,
};
use super::error::{EntryError, InventoryError, KeyOrigin, Location, PskcError, Quoted};
use super::{MovingFactor, MovingFields, PskcKey, RawEntry};
use crate::device::{Family, Model};
use crate::otp::{Algorithm, Digits, SecretKey};

const PSKC_NS: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
const HOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:hotp";
const TOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
const PBKDF2: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2";

/// PBKDF2 rounds above this are refused rather than run: a hostile file
/// could otherwise ask for hours of work. Ten million rounds take seconds.
pub(super) const MAX_ITERATIONS: u64 = 10_000_000;

/// Elements and attributes the PSKC schema types as integers or booleans,
/// checked in every KeyPackage before anything else of it.
const INTEGER_ELEMENTS: &[&str] = &["NumberOfTransactions", "IssueNo"];
const INTEGER_PLAIN_VALUES: &[&str] = &["Counter", "Time", "TimeInterval", "TimeDrift"];
const INTEGER_ATTRIBUTES: &[(&str, &str)] = &[
    ("ResponseFormat", "Length"),
    ("ChallengeFormat", "Min"),
    ("ChallengeFormat", "Max"),
    ("PINPolicy", "MinLength"),
    ("PINPolicy", "MaxLength"),
    ("PINPolicy", "MaxFailedAttempts"),
];
const BOOLEAN_ATTRIBUTES: &[(&str, &str)] = &[
    ("ResponseFormat", "CheckDigits"),
    ("ChallengeFormat", "CheckDigits"),
];

pub(super) fn parse(
    text: &str,
    pskc_key: Option<&PskcKey>,
) -> Result<Vec<(Location, RawEntry)>, InventoryError> {
    let doc = Document::parse(text).map_err(|e| match e {
        roxmltree::Error::DtdDetected => PskcError::Dtd,
        e => PskcError::Xml {
            line: e.pos().row,
            column: e.pos().col,
        },
    })?;
    let container = doc.root_element();
    if container.tag_name().name() != "KeyContainer"
        || container.tag_name().namespace() != Some(PSKC_NS)
    {
        return Err(PskcError::NotKeyContainer.into());
    }
    match container.attribute("Version") {
        Some(v) if v.trim() != "1.0" => return Err(PskcError::Version(Quoted::new(v)).into()),
        _ => {}
    }
    // Keys are only needed, and only asked for, when something is encrypted.
    let protection = if container
        .descendants()
        .any(|n| n.tag_name().name() == "EncryptedValue")
    {
        Some(Protection::new(container, pskc_key)?)
    } else {
        None
    };
    children(container, "KeyPackage")
        .enumerate()
        .map(|(i, package)| {
            let at = location(i + 1, package);
            match typed_fields(package).and_then(|()| key_package(package, protection.as_ref())) {
                Ok(entry) => Ok((at, entry)),
                Err(why) => Err(InventoryError::Entry { at, why }),
            }
        })
        .collect()
}

fn location(index: usize, package: Node) -> Location {
    let key = child(package, "Key");
    Location::KeyPackage {
        index,
        line: line(package),
        serial: child(package, "DeviceInfo")
            .and_then(|d| child(d, "SerialNo"))
            .map(text)
            .filter(|s| !s.is_empty())
            .map(Quoted::new),
        key_id: key
            .and_then(|k| k.attribute("Id"))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Quoted::new),
    }
}

/// The schema's integers and booleans of a KeyPackage, whether tokenrig
/// uses them or not: a file whose `NumberOfTransactions` is `TWELVE` is
/// malformed, and is refused for that rather than for what follows.
fn typed_fields(package: Node) -> Result<(), EntryError> {
    for node in package.descendants().filter(Node::is_element) {
        let name = node.tag_name().name();
        let plain_value = || {
            node.parent_element()
                .map(|p| p.tag_name().name())
                .and_then(|p| INTEGER_PLAIN_VALUES.iter().find(|n| **n == p))
        };
        let integer = |text: &str| {
            let digits = text.strip_prefix('-').unwrap_or(text);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        };
        if let Some(field) = INTEGER_ELEMENTS.iter().find(|n| **n == name) {
            if !integer(text(node)) {
                return Err(PskcError::NotAnInteger {
                    field,
                    line: line(node),
                }
                .into());
            }
        }
        if name == "PlainValue" {
            if let Some(field) = plain_value() {
                if !integer(text(node)) {
                    return Err(PskcError::NotAnInteger {
                        field,
                        line: line(node),
                    }
                    .into());
                }
            }
        }
        for (element, attribute) in INTEGER_ATTRIBUTES {
            if name == *element {
                if let Some(value) = node.attribute(*attribute) {
                    if !integer(value.trim()) {
                        return Err(PskcError::NotAnIntegerAttribute {
                            element,
                            attribute,
                            line: line(node),
                        }
                        .into());
                    }
                }
            }
        }
        for (element, attribute) in BOOLEAN_ATTRIBUTES {
            if name == *element {
                if let Some(value) = node.attribute(*attribute) {
                    if !matches!(value.trim(), "true" | "false" | "1" | "0") {
                        return Err(PskcError::NotABoolean {
                            element,
                            attribute,
                            line: line(node),
                        }
                        .into());
                    }
                }
            }
        }
    }
    Ok(())
}

fn key_package(package: Node, protection: Option<&Protection>) -> Result<RawEntry, EntryError> {
    let keys = children(package, "Key").count();
    let key = children(package, "Key").next().ok_or(PskcError::NoKey)?;
    if keys > 1 {
        return Err(PskcError::MultipleKeys(keys).into());
    }
    let device = child(package, "DeviceInfo");
    let serial = device
        .and_then(|d| child(d, "SerialNo"))
        .map(text)
        .filter(|s| !s.is_empty())
        .or_else(|| key.attribute("Id").map(str::trim).filter(|s| !s.is_empty()))
        .ok_or(EntryError::NoSerial(
            "neither DeviceInfo/SerialNo nor a Key Id",
        ))?
        .to_owned();

    let data = child(key, "Data").ok_or(EntryError::Missing("Data"))?;
    let secret = secret(
        child(data, "Secret").ok_or(EntryError::Missing("Data/Secret"))?,
        protection,
    )?;
    let number = |name: &'static str| {
        child(data, name)
            .map(|n| integer(n, name, protection))
            .transpose()
    };
    let counter = number("Counter")?;
    let time = number("Time")?;
    let interval = number("TimeInterval")?;

    let family = match key.attribute("Algorithm").map(str::trim) {
        Some(HOTP) => Family::Event,
        Some(TOTP) => Family::Time,
        Some(other) => return Err(PskcError::KeyAlgorithm(Quoted::new(other)).into()),
        None if interval.is_some() || time.is_some() => Family::Time,
        None if counter.is_some() => Family::Event,
        None => return Err(PskcError::UnknownKind.into()),
    };
    let model = model(family, device.and_then(|d| child(d, "Model")).map(text))?;
    let moving = MovingFactor::from_fields(
        model,
        MovingFields {
            counter: ("Counter", counter),
            step: ("TimeInterval", interval),
            t0: ("Time", time),
            // Without a TimeInterval: RFC 6238's default step, 30 s.
            default_step: Some(30),
        },
    )?;

    let parameters = child(key, "AlgorithmParameters");
    let digits = match parameters.and_then(|p| child(p, "ResponseFormat")) {
        Some(format) => {
            match format.attribute("Encoding").map(str::trim) {
                None | Some("DECIMAL") => {}
                Some(other) => return Err(PskcError::ResponseEncoding(Quoted::new(other)).into()),
            }
            super::digits(
                format
                    .attribute("Length")
                    .ok_or(EntryError::Missing("ResponseFormat Length"))?,
            )?
        }
        None => Digits::SIX,
    };
    let algorithm = match parameters.and_then(|p| child(p, "Suite")).map(text) {
        Some(suite) => suite_algorithm(suite)?,
        None => Algorithm::Sha1,
    };
    RawEntry::new(serial, model, secret, algorithm, digits, moving)
}

/// The model of a key of `family`: `DeviceInfo/Model` if it names one of
/// ours, a USB token if it mentions "usb", else the family's fob.
fn model(family: Family, hint: Option<&str>) -> Result<Model, EntryError> {
    let named = hint.and_then(|h| h.parse::<Model>().ok());
    let model = match (named, hint) {
        (Some(model), _) => model,
        (None, Some(h)) if h.to_ascii_lowercase().contains("usb") => Model::Usb,
        _ => match family {
            Family::Event => Model::C100,
            Family::Time => Model::C200,
        },
    };
    if model.family() != family {
        return Err(EntryError::WrongModel {
            model,
            entry: family,
        });
    }
    Ok(model)
}

/// `HMAC-SHA256`, `hmac-sha256`, `SHA256` and the like.
fn suite_algorithm(suite: &str) -> Result<Algorithm, EntryError> {
    let bare = suite
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("hmac-"))
        .map_or(suite, |_| &suite[5..]);
    bare.parse()
        .map_err(|_| PskcError::Suite(Quoted::new(suite)).into())
}

/// What opens the encrypted values of a container: the algorithm, the key
/// and, where there is one, the MAC key.
struct Protection {
    cipher: Cipher,
    key: Zeroizing<Vec<u8>>,
    mac: Option<MacKey>,
}

struct MacKey {
    algorithm: MacAlgorithm,
    key: Zeroizing<Vec<u8>>,
}

impl Protection {
    /// Checks the container's algorithms, then its key, then its MAC key,
    /// in that order, so the first error is the first thing to fix.
    fn new(container: Node, pskc_key: Option<&PskcKey>) -> Result<Protection, PskcError> {
        // Algorithms: every one the file names, before any key is asked for.
        let cipher = file_cipher(container)?;
        let derived = child(container, "EncryptionKey").and_then(|e| child(e, "DerivedKey"));
        let prf = derived.map(derivation_prf).transpose()?;
        // python-pskc writes an empty `<MACMethod>` (a MAC key, no
        // Algorithm) under key wrap: no MAC, unless CBC needs one.
        let method = child(container, "MACMethod");
        let mac_algorithm = method
            .filter(|m| m.attribute("Algorithm").is_some())
            .map(|m| algorithm(m, "MACMethod", MacAlgorithm::from_uri, SUPPORTED_MACS))
            .transpose()?;

        // The key.
        let pskc_key = pskc_key.ok_or(PskcError::NoDecryptionKey)?;
        let key = match (derived.zip(prf), pskc_key) {
            (Some((derived, prf)), PskcKey::Password(password)) => {
                derive_key(derived, prf, cipher, password)?
            }
            (Some(_), PskcKey::PreShared(_)) => return Err(PskcError::WantsPassword),
            (None, PskcKey::PreShared(key)) => {
                if !cipher.key_lengths().contains(&key.len()) {
                    return Err(PskcError::KeyLength {
                        cipher: cipher.name(),
                        needs: cipher.key_lengths_text(),
                        got: key.len() as u64,
                        what: KeyOrigin::PreShared,
                    });
                }
                Zeroizing::new(key.as_bytes().to_vec())
            }
            (None, PskcKey::Password(_)) => return Err(PskcError::WantsPreSharedKey),
        };

        // The MAC: required under CBC, checked wherever it is given.
        let mac = match (method, mac_algorithm) {
            (Some(method), Some(algorithm)) => {
                let mac_key =
                    child(method, "MACKey").ok_or(PskcError::NoMacKey { line: line(method) })?;
                let encrypted = cipher_value(mac_key, "MACKey")?;
                // Nothing authenticates the MAC key itself under CBC: a wrong
                // key shows here as bad padding, or later as a MAC mismatch.
                let key = cipher
                    .decrypt(&key, &encrypted)
                    .map_err(|e| wrong_key(e, cipher, "MACKey", line(mac_key)))?;
                Some(MacKey { algorithm, key })
            }
            _ => None,
        };
        if mac.is_none() {
            if let Some(method) = method.filter(|_| cipher.needs_mac()) {
                return Err(PskcError::NoAlgorithm {
                    field: "MACMethod",
                    line: line(method),
                });
            }
            if cipher.needs_mac() {
                return Err(PskcError::NoMacMethod {
                    cipher: cipher.name(),
                });
            }
            if let Some(value_mac) = container
                .descendants()
                .find(|n| n.tag_name().name() == "ValueMAC")
            {
                return Err(PskcError::ValueMacWithoutMethod {
                    line: line(value_mac),
                });
            }
        }
        let protection = Protection { cipher, key, mac };
        if !cipher.needs_mac() && protection.mac.is_none() {
            // Key wrap checks itself: open the first value now, so a wrong
            // key is told as such and not as the first entry's fault.
            if let Some(value) = container
                .descendants()
                .find(|n| n.tag_name().name() == "EncryptedValue")
            {
                let encrypted = cipher_value(value, "EncryptedValue")?;
                cipher
                    .decrypt(&protection.key, &encrypted)
                    .map_err(|e| wrong_key(e, cipher, "EncryptedValue", line(value)))?;
            }
        }
        Ok(protection)
    }

    /// Checks the ValueMAC of an encrypted value, then decrypts it.
    fn open(&self, value: Node, what: &'static str) -> Result<Zeroizing<Vec<u8>>, PskcError> {
        let encrypted = cipher_value(
            child(value, "EncryptedValue").ok_or(PskcError::Missing(what))?,
            what,
        )?;
        match (&self.mac, child(value, "ValueMAC")) {
            (Some(mac), Some(tag)) => {
                let tag = base64(text(tag), "ValueMAC")?;
                if !mac.algorithm.verify(&mac.key, &encrypted, &tag) {
                    return Err(PskcError::MacMismatch(what));
                }
            }
            (Some(_), None) if self.cipher.needs_mac() => {
                return Err(PskcError::NoValueMac {
                    what,
                    cipher: self.cipher.name(),
                });
            }
            // Key wrap without a ValueMAC: its own check is the integrity.
            // A ValueMAC without a MACMethod was refused by `new`.
            _ => {}
        }
        self.cipher
            .decrypt(&self.key, &encrypted)
            .map_err(|e| match e {
                Failure::Length => PskcError::CipherLength {
                    what,
                    cipher: self.cipher.name(),
                },
                Failure::Padding => PskcError::Decryption(what),
                Failure::Integrity => PskcError::Integrity(what),
            })
    }
}

/// A value the container-level checks open failed to: a length the cipher
/// cannot produce, or (bad padding, a failed key wrap check) a wrong key.
fn wrong_key(failure: Failure, cipher: Cipher, what: &'static str, line: u32) -> PskcError {
    match failure {
        Failure::Length => PskcError::CipherLength {
            what,
            cipher: cipher.name(),
        },
        Failure::Padding | Failure::Integrity => PskcError::WrongKey { what, line },
    }
}

/// The one encryption algorithm of a container: every `EncryptionMethod`
/// (of the MAC key and of each value) must name it.
fn file_cipher(container: Node) -> Result<Cipher, PskcError> {
    let mut found: Option<(Cipher, u32)> = None;
    for value in container
        .descendants()
        .filter(|n| matches!(n.tag_name().name(), "EncryptedValue" | "MACKey"))
    {
        let what = value.tag_name().name();
        let method = child(value, "EncryptionMethod").ok_or(PskcError::NoEncryptionMethod {
            what: if what == "MACKey" {
                "MACKey"
            } else {
                "EncryptedValue"
            },
            line: line(value),
        })?;
        let cipher = algorithm(
            method,
            "EncryptionMethod",
            Cipher::from_uri,
            SUPPORTED_CIPHERS,
        )?;
        match found {
            Some((first, first_line)) if first != cipher => {
                return Err(PskcError::MixedCiphers {
                    first: first.name(),
                    first_line,
                    second: cipher.name(),
                    second_line: line(method),
                });
            }
            Some(_) => {}
            None => found = Some((cipher, line(method))),
        }
    }
    // `parse` only builds a protection when there is an EncryptedValue.
    found
        .map(|(cipher, _)| cipher)
        .ok_or(PskcError::Missing("EncryptionMethod"))
}

/// The algorithm an element's `Algorithm` attribute names, or why not.
fn algorithm<T>(
    node: Node,
    field: &'static str,
    from_uri: fn(&str) -> Result<T, UriError>,
    supported: &'static str,
) -> Result<T, PskcError> {
    let at = line(node);
    let uri = node
        .attribute("Algorithm")
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or(PskcError::NoAlgorithm { field, line: at })?;
    from_uri(uri).map_err(|e| match e {
        UriError::Unknown => PskcError::UnknownAlgorithm {
            field,
            line: at,
            uri: Quoted::new(uri),
            supported,
        },
        UriError::Unsupported(name) => PskcError::UnsupportedAlgorithm {
            field,
            line: at,
            name,
        },
        UriError::NonStandard { name, standard } => PskcError::NonStandardUri {
            field,
            line: at,
            uri: Quoted::new(uri),
            name,
            standard,
        },
    })
}

/// The key derivation's algorithm and PRF (RFC 6030 §6.2): PBKDF2 over
/// one of the HMACs; an empty `<PRF/>`, as in RFC 6030's figure 7, means
/// the default, HMAC-SHA1.
fn derivation_prf(derived: Node) -> Result<MacAlgorithm, PskcError> {
    let method = child(derived, "KeyDerivationMethod")
        .ok_or(PskcError::Missing("DerivedKey/KeyDerivationMethod"))?;
    let uri = method.attribute("Algorithm").unwrap_or("").trim();
    if uri != PBKDF2 {
        return Err(PskcError::KeyDerivation {
            line: line(method),
            uri: Quoted::new(uri),
        });
    }
    match child(method, "PBKDF2-params").and_then(|p| child(p, "PRF")) {
        Some(prf) if prf.attribute("Algorithm").is_some() => {
            algorithm(prf, "PBKDF2 PRF", MacAlgorithm::from_uri, SUPPORTED_MACS)
        }
        // `<PRF>uri</PRF>`, as python-pskc 1.4 writes (and cannot read
        // back): the PRF is not HMAC-SHA1, and not where the schema puts it.
        Some(prf) if !text(prf).is_empty() => Err(PskcError::PrfAsText { line: line(prf) }),
        _ => Ok(MacAlgorithm::Sha1),
    }
}

/// RFC 6030 §6.2: the key from a password, by the PBKDF2 parameters of
/// `EncryptionKey/DerivedKey` (RFC 8018's `PBKDF2-params`), as long as
/// `cipher` needs (`KeyLength`, if given, must be one it takes).
fn derive_key(
    derived: Node,
    prf: MacAlgorithm,
    cipher: Cipher,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    let params = child(derived, "KeyDerivationMethod")
        .and_then(|m| child(m, "PBKDF2-params"))
        .ok_or(PskcError::Missing("PBKDF2-params"))?;
    let length = match child(params, "KeyLength") {
        Some(node) => {
            let length = pbkdf2_number(text(node), "PBKDF2 KeyLength")?;
            if !usize::try_from(length).is_ok_and(|n| cipher.key_lengths().contains(&n)) {
                return Err(PskcError::KeyLength {
                    cipher: cipher.name(),
                    needs: cipher.key_lengths_text(),
                    got: length,
                    what: KeyOrigin::Pbkdf2 { line: line(node) },
                });
            }
            length as usize
        }
        // The longest the cipher takes (3DES: three keys).
        None => cipher.key_lengths().iter().copied().max().unwrap_or(16),
    };
    let salt = child(params, "Salt")
        .and_then(|s| child(s, "Specified"))
        .ok_or(PskcError::Missing("PBKDF2 Salt/Specified"))?;
    let salt = base64(text(salt), "PBKDF2 Salt")?;
    let iterations = child(params, "IterationCount")
        .ok_or(PskcError::Missing("PBKDF2 IterationCount"))
        .and_then(|n| pbkdf2_number(text(n), "PBKDF2 IterationCount"))?;
    let iterations = u32::try_from(iterations)
        .ok()
        .filter(|n| (1..=MAX_ITERATIONS).contains(&u64::from(*n)))
        .ok_or(PskcError::Iterations(iterations))?;
    let mut key = Zeroizing::new(vec![0u8; length]);
    prf.pbkdf2(password.as_bytes(), &salt, iterations, &mut key);
    Ok(key)
}

fn pbkdf2_number(text: &str, what: &'static str) -> Result<u64, PskcError> {
    super::number(what, text).map_err(|_| PskcError::NotANumber(what))
}

/// The `CipherValue` of an xenc `CipherData` (for CBC: IV‖ciphertext).
/// Not secret: it is what the MAC covers. Its `EncryptionMethod` was
/// checked by [`file_cipher`].
fn cipher_value(node: Node, what: &'static str) -> Result<Vec<u8>, PskcError> {
    let value = child(node, "CipherData")
        .and_then(|d| child(d, "CipherValue"))
        .ok_or(PskcError::Missing("CipherData/CipherValue"))?;
    let mut bytes = base64(text(value), what)?;
    Ok(std::mem::take(&mut *bytes))
}

/// A `Data/Secret`: base64 in `PlainValue`, or an `EncryptedValue`.
fn secret(node: Node, protection: Option<&Protection>) -> Result<SecretKey, EntryError> {
    let mut bytes = match child(node, "PlainValue") {
        Some(plain) => base64(text(plain), "Secret")?,
        None => open(node, "Secret", protection)?,
    };
    Ok(SecretKey::new(std::mem::take(&mut *bytes)))
}

/// A `Data/Counter`, `Time` or `TimeInterval`: decimal in `PlainValue`, or
/// an `EncryptedValue` holding the number big-endian.
fn integer(
    node: Node,
    what: &'static str,
    protection: Option<&Protection>,
) -> Result<u64, EntryError> {
    match child(node, "PlainValue") {
        Some(plain) => super::number(what, text(plain)),
        None => {
            let bytes = open(node, what, protection)?;
            if bytes.len() > 8 {
                return Err(EntryError::NotANumber(what));
            }
            Ok(bytes.iter().fold(0u64, |n, b| n << 8 | u64::from(*b)))
        }
    }
}

fn open(
    node: Node,
    what: &'static str,
    protection: Option<&Protection>,
) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    if child(node, "EncryptedValue").is_none() {
        return Err(PskcError::Missing(what));
    }
    // `parse` builds the protection whenever any EncryptedValue exists.
    protection
        .ok_or(PskcError::NoDecryptionKey)?
        .open(node, what)
}

/// Base64 as XML carries it: line breaks and indentation ignored.
fn base64(text: &str, what: &'static str) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    let compact: Zeroizing<Vec<u8>> =
        Zeroizing::new(text.bytes().filter(|b| !b.is_ascii_whitespace()).collect());
    data_encoding::BASE64
        .decode(&compact)
        .map(Zeroizing::new)
        .map_err(|_| PskcError::Base64(what))
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The line of a node, counted from 1, for messages.
fn line(node: Node) -> u32 {
    node.document().text_pos_at(node.range().start).row
}

/// The trimmed text of an element.
fn text<'a>(node: Node<'a, '_>) -> &'a str {
    node.text().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::super::{Format, InventoryEntry, parse};
    use super::*;

    const RFC_PRE_SHARED_KEY: &str = "12345678901234567890123456789012";
    const FLEET_PRE_SHARED_KEY: &str = "a0b1c2d3e4f5061728394a5b6c7d8e9f";
    /// RFC 6030's secret in every encrypted example: "12345678901234567890".
    const RFC_SECRET: &str = "3132333435363738393031323334353637383930";

    fn pre_shared(hex: &str) -> PskcKey {
        PskcKey::PreShared(SecretKey::from_hex(hex).unwrap())
    }

    fn password(p: &str) -> PskcKey {
        PskcKey::Password(Zeroizing::new(p.to_owned()))
    }

    fn raw(name: &str, key: Option<&PskcKey>) -> Result<Vec<InventoryEntry>, String> {
        parse(&fixture(name), Format::Pskc, key).map_err(|e| e.to_string())
    }

    #[test]
    fn rfc6030_figure2_plain_value() {
        let entries = raw("rfc6030-figure2.xml", None).unwrap();
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.serial().as_str(), "12345678");
        assert_eq!(e.key().as_bytes(), b"1234");
        assert_eq!(e.model(), Model::C100);
        assert_eq!(e.digits(), Digits::SIX);
        assert_eq!(e.moving_factor(), MovingFactor::Event { counter: 0 });
    }

    #[test]
    fn rfc6030_figure6_pre_shared_key() {
        let entries = raw("rfc6030-figure6.xml", Some(&pre_shared(RFC_PRE_SHARED_KEY))).unwrap();
        let e = &entries[0];
        assert_eq!(e.serial().as_str(), "987654321");
        assert_eq!(e.key().to_hex().as_str(), RFC_SECRET);
        assert_eq!(e.digits(), Digits::EIGHT);
        assert_eq!(e.moving_factor(), MovingFactor::Event { counter: 0 });
    }

    #[test]
    fn rfc6030_figure7_pbkdf2_password() {
        let entries = raw("rfc6030-figure7.xml", Some(&password("qwerty"))).unwrap();
        let e = &entries[0];
        assert_eq!(e.serial().as_str(), "987654321");
        assert_eq!(e.key().to_hex().as_str(), RFC_SECRET);
        assert_eq!(e.digits(), Digits::EIGHT);
    }

    #[test]
    fn a_wrong_key_or_password_imports_nothing() {
        let wrong = pre_shared("12345678901234567890123456789013");
        assert_eq!(
            raw("rfc6030-figure6.xml", Some(&wrong)).unwrap_err(),
            "PSKC: the MACKey at line 10 does not decrypt: wrong pre-shared key or \
             password, or altered file"
        );
        assert_eq!(
            raw("rfc6030-figure7.xml", Some(&password("qwertz"))).unwrap_err(),
            "PSKC: the MACKey at line 30 does not decrypt: wrong pre-shared key or \
             password, or altered file"
        );
        let wrong = pre_shared("00000000000000000000000000000000");
        assert!(raw("fleet-encrypted.pskc", Some(&wrong)).is_err());
    }

    #[test]
    fn a_key_that_decrypts_the_mac_key_to_garbage_fails_the_mac_check() {
        // Under this key the RFC's MAC key happens to decrypt with valid
        // padding (found by search), so the failure is the MAC check's.
        let lucky = pre_shared("0000000000000000000000000000011a");
        let err = raw("rfc6030-figure6.xml", Some(&lucky)).unwrap_err();
        assert_eq!(
            err,
            "KeyPackage 1 at line 20 (serial 987654321, Key Id 12345678): Secret: MAC check failed \
             (wrong pre-shared key or password, or altered file)"
        );
    }

    #[test]
    fn a_tampered_cipher_value_fails_the_mac_check() {
        let text = String::from_utf8(fixture("fleet-encrypted.pskc")).unwrap();
        // Flip one character of the second token's ciphertext.
        let original = "20pNMyL9FWr6iO0fHA//NDnWwaiAhgd7ot8gUKqJIJt9PGFiq2OBsQP4LzyqOYu5";
        let tampered = original.replacen("20pN", "20pM", 1);
        assert!(text.contains(original));
        let text = text.replace(original, &tampered);
        let err = parse(
            text.as_bytes(),
            Format::Pskc,
            Some(&pre_shared(FLEET_PRE_SHARED_KEY)),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "KeyPackage 2 at line 48 (serial 2600124809778, Key Id 2600124809778): Secret: \
             MAC check failed (wrong pre-shared key or password, or altered file)"
        );
    }

    #[test]
    fn the_kind_of_key_must_fit_the_file() {
        assert_eq!(
            raw("rfc6030-figure6.xml", None).unwrap_err(),
            "PSKC: the secrets are encrypted: give the pre-shared key or the password"
        );
        assert_eq!(
            raw("rfc6030-figure7.xml", Some(&pre_shared(RFC_PRE_SHARED_KEY))).unwrap_err(),
            "PSKC: the file derives its key from a password (PBKDF2): give the password, not a key"
        );
        assert_eq!(
            raw("rfc6030-figure6.xml", Some(&password("qwerty"))).unwrap_err(),
            "PSKC: the file uses a pre-shared key: give the key, not a password"
        );
        assert_eq!(
            raw("rfc6030-figure6.xml", Some(&pre_shared("0011"))).unwrap_err(),
            "PSKC: AES-128-CBC needs a 16-byte key, got 2 (the pre-shared key)"
        );
        // A plain file ignores a key it does not need.
        assert!(raw("rfc6030-figure2.xml", Some(&password("x"))).is_ok());
    }

    #[test]
    fn one_bad_key_package_refuses_the_file() {
        let err = parse(&fixture("invalid/bad-entry.pskc"), Format::Pskc, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "KeyPackage 2 at line 26 (serial 2600124809778, Key Id 2600124809778): \
             ResponseFormat Encoding HEXADECIMAL is not supported: expected DECIMAL"
        );
    }

    #[test]
    fn model_hints_and_kinds_are_cross_checked() {
        assert_eq!(model(Family::Event, None), Ok(Model::C100));
        assert_eq!(model(Family::Event, Some("C100")), Ok(Model::C100));
        assert_eq!(
            model(Family::Event, Some("Acme USB OTP Key")),
            Ok(Model::Usb)
        );
        assert_eq!(model(Family::Event, Some("Acme keyfob")), Ok(Model::C100));
        assert_eq!(model(Family::Time, Some("keyfob")), Ok(Model::C200));
        assert_eq!(
            model(Family::Time, Some("usb")).map_err(|e| e.to_string()),
            Err("a usb is an event token but the entry describes a time token".to_owned())
        );
        assert_eq!(
            model(Family::Event, Some("c200")).map_err(|e| e.to_string()),
            Err("a c200 is a time token but the entry describes an event token".to_owned())
        );
        assert_eq!(suite_algorithm("HMAC-SHA256"), Ok(Algorithm::Sha256));
        assert_eq!(suite_algorithm("sha512"), Ok(Algorithm::Sha512));
        assert!(suite_algorithm("HMAC-MD5").is_err());
    }

    #[test]
    fn malformed_containers_get_one_line() {
        let err = |text: &str| {
            parse(text.as_bytes(), Format::Pskc, None)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("<KeyContainer>\n  </KeyPackage>"),
            "PSKC: not well-formed XML (line 2, column 3)"
        );
        assert_eq!(
            err("<KeyContainer/>"),
            "PSKC: the root element is not a KeyContainer in urn:ietf:params:xml:ns:keyprov:pskc"
        );
        assert_eq!(
            err("<!DOCTYPE x [<!ENTITY a 'b'>]><KeyContainer/>"),
            "PSKC: XML with a DTD is refused"
        );
        assert_eq!(
            err("<KeyContainer Version='2.0' xmlns='urn:ietf:params:xml:ns:keyprov:pskc'/>"),
            "PSKC: KeyContainer Version 2.0 is not supported: expected 1.0"
        );
    }

    #[test]
    fn errors_name_the_real_reason_in_order() {
        let corpus =
            |name: &str| String::from_utf8(fixture(&format!("pskc-corpus/{name}"))).unwrap();
        let err = |text: &str, key: Option<&PskcKey>| {
            parse(text.as_bytes(), Format::Pskc, key)
                .unwrap_err()
                .to_string()
        };
        // Key wrap needs no MAC: it imports without one.
        let kw = pre_shared("0e151c232a31383f464d545b62697077");
        assert_eq!(
            parse(corpus("kw-aes128.pskc").as_bytes(), Format::Pskc, Some(&kw))
                .unwrap()
                .len(),
            3
        );
        // The key's length is checked against the algorithm the file names.
        let camellia = corpus("camellia256-cbc-hmac-sha1.pskc");
        assert_eq!(
            err(&camellia, Some(&pre_shared(RFC_PRE_SHARED_KEY))),
            "PSKC: Camellia-256-CBC needs a 32-byte key, got 16 (the pre-shared key)"
        );
        // A non-standard spelling of a supported URI names the standard one.
        let sha1 = corpus("aes128-cbc-hmac-sha1.pskc").replace(
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha1",
        );
        assert_eq!(
            err(&sha1, None),
            "PSKC: MACMethod Algorithm http://www.w3.org/2001/04/xmldsig-more#hmac-sha1 at line 4 \
             is not a standard URI: HMAC-SHA1 is http://www.w3.org/2000/09/xmldsig#hmac-sha1"
        );
        // Algorithms come before the key: no key given, still the algorithm.
        let unsupported = camellia.replace(
            "http://www.w3.org/2001/04/xmldsig-more#camellia256-cbc",
            "http://www.w3.org/2001/04/xmlenc#kw-tripledes",
        );
        assert_eq!(
            err(&unsupported, None),
            "PSKC: EncryptionMethod Algorithm at line 6 is not supported: 3DES key wrap (RFC 3217)"
        );
        // An integer field holding text is that, not a missing serial.
        assert_eq!(
            err(
                "<KeyContainer Version='1.0' xmlns='urn:ietf:params:xml:ns:keyprov:pskc'>\n\
                 <KeyPackage><Key><Policy>\n\
                 <NumberOfTransactions>TWELVE</NumberOfTransactions>\n\
                 </Policy></Key></KeyPackage></KeyContainer>",
                None
            ),
            "KeyPackage 1 at line 2: NumberOfTransactions at line 3 is not an integer"
        );
    }
}
