//! Token secrets and the keyed HMAC state computed from them.

use std::fmt;
use std::str::FromStr;

use zeroize::Zeroizing;

use super::code::{Code, Digits, truncate};
use super::keyed_hash::{Compression, KeyedHash, Sha1, Sha256, Sha512};

/// The HMAC hash function of a token (RFC 6238 §1.2 names all three).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    #[default]
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown algorithm {0:?}: expected sha1, sha256 or sha512")]
pub struct AlgorithmError(pub String);

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// The name used on the command line, in otpauth URIs (upper-cased) and
    /// by oathtool's `--totp=` option.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
}

impl FromStr for Algorithm {
    type Err = AlgorithmError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "sha1" => Ok(Algorithm::Sha1),
            "sha256" => Ok(Algorithm::Sha256),
            "sha512" => Ok(Algorithm::Sha512),
            _ => Err(AlgorithmError(s.to_owned())),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A token's shared secret. Wiped from memory on drop; `Debug` prints its
/// length only, so a stray `{:?}` never puts a key in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Zeroizing<Vec<u8>>);

/// Why a key string could not be decoded. Says where, never what: the
/// characters of a key are secret even when the key is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key is empty")]
    Empty,
    #[error("key is not valid hex: {0}")]
    Hex(String),
    #[error("key is not valid base32: {0}")]
    Base32(String),
}

impl SecretKey {
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretKey(Zeroizing::new(bytes))
    }

    /// Decodes a hex key (either case; whitespace is not allowed).
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        if s.is_empty() {
            return Err(KeyError::Empty);
        }
        decode(
            &data_encoding::HEXLOWER_PERMISSIVE,
            s.as_bytes(),
            KeyError::Hex,
        )
    }

    /// Decodes a base32 key as found in otpauth URIs: either case, optional
    /// `=` padding, spaces and dashes ignored (authenticator apps print keys
    /// in groups).
    pub fn from_base32(s: &str) -> Result<Self, KeyError> {
        let cleaned: Zeroizing<Vec<u8>> = Zeroizing::new(
            s.bytes()
                .filter(|b| !matches!(b, b' ' | b'-' | b'='))
                .map(|b| b.to_ascii_uppercase())
                .collect(),
        );
        if cleaned.is_empty() {
            return Err(KeyError::Empty);
        }
        decode(&data_encoding::BASE32_NOPAD, &cleaned, KeyError::Base32)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Lower-case hex, for export formats that carry keys (inventories).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::HEXLOWER.encode(&self.0))
    }
}

fn decode(
    encoding: &data_encoding::Encoding,
    input: &[u8],
    wrap: fn(String) -> KeyError,
) -> Result<SecretKey, KeyError> {
    encoding.decode(input).map(SecretKey::new).map_err(|e| {
        let why = match e.kind {
            data_encoding::DecodeKind::Length => {
                format!("{} characters is not a whole number of bytes", input.len())
            }
            _ => format!("unexpected character at position {}", e.position + 1),
        };
        wrap(why)
    })
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({} bytes, redacted)", self.0.len())
    }
}

/// A secret with its HMAC state precomputed: the inner and outer hash states
/// after absorbing `key ⊕ ipad` and `key ⊕ opad`.
///
/// Computing a code copies those states and runs the two compressions
/// RFC 4226's HMAC needs for an 8-byte message. Building an `OtpKey` is the
/// only place the key itself is processed.
#[derive(Clone)]
pub struct OtpKey {
    mac: KeyedMac,
}

#[derive(Clone)]
enum KeyedMac {
    Sha1(KeyedHash<Sha1>),
    Sha256(KeyedHash<Sha256>),
    Sha512(KeyedHash<Sha512>),
}

impl OtpKey {
    /// Any key length is accepted: HMAC hashes keys longer than a block and
    /// pads shorter ones (RFC 2104 §2).
    pub fn new(algorithm: Algorithm, key: &SecretKey) -> Self {
        let key = key.as_bytes();
        let mac = match algorithm {
            Algorithm::Sha1 => KeyedMac::Sha1(KeyedHash::new(key)),
            Algorithm::Sha256 => KeyedMac::Sha256(KeyedHash::new(key)),
            Algorithm::Sha512 => KeyedMac::Sha512(KeyedHash::new(key)),
        };
        OtpKey { mac }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.mac {
            KeyedMac::Sha1(_) => Algorithm::Sha1,
            KeyedMac::Sha256(_) => Algorithm::Sha256,
            KeyedMac::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// RFC 4226 HOTP: the code for `counter`.
    #[inline]
    pub fn hotp(&self, counter: u64, digits: Digits) -> Code {
        let truncated = match &self.mac {
            KeyedMac::Sha1(keyed) => truncated_mac(keyed, counter),
            KeyedMac::Sha256(keyed) => truncated_mac(keyed, counter),
            KeyedMac::Sha512(keyed) => truncated_mac(keyed, counter),
        };
        Code::from_truncated(truncated, digits)
    }
}

/// One HOTP computation for any of the three hashes: HMAC of the counter,
/// then dynamic truncation.
#[inline]
fn truncated_mac<H: Compression>(keyed: &KeyedHash<H>, counter: u64) -> u32 {
    let mut mac = [0u8; 64];
    let len = keyed.mac_counter(counter, &mut mac);
    truncate(&mac[..len])
}

impl fmt::Debug for OtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtpKey({}, redacted)", self.algorithm())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base32_decode_the_same_key() {
        // RFC 4226's key "12345678901234567890" in both encodings.
        let hex = SecretKey::from_hex("3132333435363738393031323334353637383930").unwrap();
        let b32 = SecretKey::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap();
        assert_eq!(hex, b32);
        assert_eq!(hex.as_bytes(), b"12345678901234567890");
        assert_eq!(
            SecretKey::from_base32("GEZDGNBVGY3TQOJQ======")
                .unwrap()
                .as_bytes(),
            b"1234567890"
        );
    }

    #[test]
    fn decoding_errors_name_the_place_not_the_content() {
        let err = SecretKey::from_hex("31zz").unwrap_err();
        assert_eq!(
            err.to_string(),
            "key is not valid hex: unexpected character at position 3"
        );
        let err = SecretKey::from_hex("313").unwrap_err();
        assert_eq!(
            err.to_string(),
            "key is not valid hex: 3 characters is not a whole number of bytes"
        );
        assert_eq!(SecretKey::from_hex(""), Err(KeyError::Empty));
        assert_eq!(SecretKey::from_base32(" = "), Err(KeyError::Empty));
        assert!(matches!(
            SecretKey::from_base32("GEZ1"),
            Err(KeyError::Base32(_))
        ));
    }

    #[test]
    fn debug_output_hides_the_key() {
        let key = SecretKey::from_hex("deadbeefcafe").unwrap();
        let shown = format!("{key:?} {:?}", OtpKey::new(Algorithm::Sha256, &key));
        assert_eq!(
            shown,
            "SecretKey(6 bytes, redacted) OtpKey(sha256, redacted)"
        );
    }

    #[test]
    fn algorithm_names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.name().parse::<Algorithm>(), Ok(alg));
            assert_eq!(alg.name().to_uppercase().parse::<Algorithm>(), Ok(alg));
        }
        assert_eq!("SHA-256".parse::<Algorithm>(), Ok(Algorithm::Sha256));
        assert!("md5".parse::<Algorithm>().is_err());
    }
}
