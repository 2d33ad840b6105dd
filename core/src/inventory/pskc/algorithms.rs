//! The algorithm URIs a PSKC file names (RFC 6030 §6) and what each does.
//!
//! | URI | what |
//! | --- | --- |
//! | `http://www.w3.org/2001/04/xmlenc#aes{128,192,256}-cbc` | AES-CBC, IV first, PKCS#7; needs a MAC |
//! | `http://www.w3.org/2001/04/xmldsig-more#camellia{128,192,256}-cbc` | Camellia-CBC (RFC 4051); needs a MAC |
//! | `http://www.w3.org/2001/04/xmlenc#tripledes-cbc` | 3DES-CBC, 16- (two-key) or 24-byte key; needs a MAC |
//! | `http://www.w3.org/2001/04/xmlenc#kw-aes{128,192,256}` | AES key wrap (RFC 3394) |
//! | `http://www.w3.org/2009/xmlenc11#kw-aes-{128,192,256}-pad` | AES key wrap with padding (RFC 5649) |
//! | `http://www.w3.org/2001/04/xmldsig-more#kw-camellia{128,192,256}` | Camellia key wrap (RFC 3657) |
//! | `http://www.w3.org/2000/09/xmldsig#hmac-sha1` | HMAC-SHA1 (ValueMAC, PBKDF2 PRF) |
//! | `http://www.w3.org/2001/04/xmldsig-more#hmac-sha{224,256,384,512}` | HMAC-SHA2 (ValueMAC, PBKDF2 PRF) |
//!
//! Key wrap carries its own integrity check, so it needs no MAC. Under a
//! `kw-aes`/`kw-camellia` URI a value that is not RFC 3394 is also tried as
//! RFC 5649: python-pskc pads that way under those URIs when a secret is
//! not a multiple of 8 bytes (a 20-byte HOTP key), and the check value
//! tells the two apart, so nothing unchecked is ever accepted.
//!
//! Known algorithms tokenrig does not implement (3DES key wrap, GCM,
//! ARCFOUR, SEED, HMAC-MD5, HMAC-RIPEMD160) are refused by name. A URI that
//! names a known algorithm in a non-standard way (`hmac-sha1`,
//! `…/xmldsig-more#hmac-sha1`) is refused naming the standard URI.

use aes_kw::{AesKw, AesKwp, InnerInit};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::consts::U16;
use cbc::cipher::{BlockCipherDecrypt, BlockModeDecrypt, KeyInit, KeyIvInit};
use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

/// An encryption algorithm of `EncryptionMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cipher {
    Cbc(BlockCipher),
    /// RFC 3394 (RFC 5649 accepted too, see the module docs).
    KeyWrap(BlockCipher),
    /// RFC 5649 only.
    KeyWrapPad(BlockCipher),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockCipher {
    Aes128,
    Aes192,
    Aes256,
    Camellia128,
    Camellia192,
    Camellia256,
    TripleDes,
}

/// An HMAC of `MACMethod` or of a PBKDF2 `PRF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacAlgorithm {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// Why an `Algorithm` attribute names nothing tokenrig runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UriError {
    /// Not an algorithm of RFC 6030 §6 or the xmlenc/xmldsig registries.
    Unknown,
    /// A known algorithm tokenrig does not implement, by name.
    Unsupported(&'static str),
    /// A known, supported algorithm spelt other than its standard URI.
    NonStandard {
        name: &'static str,
        standard: &'static str,
    },
}

/// Why an encrypted value does not open. Never says anything of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The value's length is not one the algorithm produces.
    Length,
    /// CBC: bad padding (a wrong key, most likely).
    Padding,
    /// Key wrap: the integrity check value does not match.
    Integrity,
}

/// One known algorithm: its standard URI, its name in messages, and what
/// it is when tokenrig runs it.
struct Known<T> {
    uri: &'static str,
    name: &'static str,
    is: Option<T>,
}

const fn known<T>(uri: &'static str, name: &'static str, is: Option<T>) -> Known<T> {
    Known { uri, name, is }
}

/// What follows the `#` of a URI (all of it without one).
fn fragment(uri: &str) -> &str {
    uri.rsplit('#').next().unwrap_or(uri)
}

const CIPHERS: &[Known<Cipher>] = {
    use BlockCipher::*;
    use Cipher::*;
    &[
        known(
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            "AES-128-CBC",
            Some(Cbc(Aes128)),
        ),
        known(
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
            "AES-192-CBC",
            Some(Cbc(Aes192)),
        ),
        known(
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            "AES-256-CBC",
            Some(Cbc(Aes256)),
        ),
        known(
            "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
            "3DES-CBC",
            Some(Cbc(TripleDes)),
        ),
        known(
            "http://www.w3.org/2001/04/xmldsig-more#camellia128-cbc",
            "Camellia-128-CBC",
            Some(Cbc(Camellia128)),
        ),
        known(
            "http://www.w3.org/2001/04/xmldsig-more#camellia192-cbc",
            "Camellia-192-CBC",
            Some(Cbc(Camellia192)),
        ),
        known(
            "http://www.w3.org/2001/04/xmldsig-more#camellia256-cbc",
            "Camellia-256-CBC",
            Some(Cbc(Camellia256)),
        ),
        known(
            "http://www.w3.org/2001/04/xmlenc#kw-aes128",
            "AES-128 key wrap",
            Some(KeyWrap(Aes128)),
        ),
        known(
            "http://www.w3.org/2001/04/xmlenc#kw-aes192",
            "AES-192 key wrap",
            Some(KeyWrap(Aes192)),
        ),
        known(
            "http://www.w3.org/2001/04/xmlenc#kw-aes256",
            "AES-256 key wrap",
            Some(KeyWrap(Aes256)),
        ),
        known(
            "http://www.w3.org/2009/xmlenc11#kw-aes-128-pad",
            "AES-128 key wrap with padding",
            Some(KeyWrapPad(Aes128)),
        ),
        known(
            "http://www.w3.org/2009/xmlenc11#kw-aes-192-pad",
            "AES-192 key wrap with padding",
            Some(KeyWrapPad(Aes192)),
        ),
        known(
            "http://www.w3.org/2009/xmlenc11#kw-aes-256-pad",
            "AES-256 key wrap with padding",
            Some(KeyWrapPad(Aes256)),
        ),
        known(
            "http://www.w3.org/2001/04/xmldsig-more#kw-camellia128",
            "Camellia-128 key wrap",
            Some(KeyWrap(Camellia128)),
        ),
        known(
            "http://www.w3.org/2001/04/xmldsig-more#kw-camellia192",
            "Camellia-192 key wrap",
            Some(KeyWrap(Camellia192)),
        ),
        known(
            "http://www.w3.org/2001/04/xmldsig-more#kw-camellia256",
            "Camellia-256 key wrap",
            Some(KeyWrap(Camellia256)),
        ),
        known(
            "http://www.w3.org/2001/04/xmlenc#kw-tripledes",
            "3DES key wrap (RFC 3217)",
            None,
        ),
        known("http://www.w3.org/2001/04/xmlenc#arcfour", "ARCFOUR", None),
        known(
            "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            "AES-128-GCM",
            None,
        ),
        known(
            "http://www.w3.org/2009/xmlenc11#aes192-gcm",
            "AES-192-GCM",
            None,
        ),
        known(
            "http://www.w3.org/2009/xmlenc11#aes256-gcm",
            "AES-256-GCM",
            None,
        ),
        known(
            "http://www.w3.org/2007/05/xmldsig-more#seed128-cbc",
            "SEED-128-CBC",
            None,
        ),
        known(
            "http://www.w3.org/2007/05/xmldsig-more#kw-seed128",
            "SEED-128 key wrap",
            None,
        ),
    ]
};

const MACS: &[Known<MacAlgorithm>] = &[
    known(
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        "HMAC-SHA1",
        Some(MacAlgorithm::Sha1),
    ),
    known(
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha224",
        "HMAC-SHA224",
        Some(MacAlgorithm::Sha224),
    ),
    known(
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        "HMAC-SHA256",
        Some(MacAlgorithm::Sha256),
    ),
    known(
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha384",
        "HMAC-SHA384",
        Some(MacAlgorithm::Sha384),
    ),
    known(
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512",
        "HMAC-SHA512",
        Some(MacAlgorithm::Sha512),
    ),
    known(
        "http://www.w3.org/2001/04/xmldsig-more#hmac-md5",
        "HMAC-MD5",
        None,
    ),
    known(
        "http://www.w3.org/2001/04/xmldsig-more#hmac-ripemd160",
        "HMAC-RIPEMD160",
        None,
    ),
];

/// Other spellings of a fragment seen in files (the ones python-pskc
/// normalises), mapped to the standard fragment.
const ALIASES: &[(&str, &str)] = &[
    ("3des-cbc", "tripledes-cbc"),
    ("3des112-cbc", "tripledes-cbc"),
    ("3des168-cbc", "tripledes-cbc"),
    ("kw-3des", "kw-tripledes"),
    ("rc4", "arcfour"),
    ("kw-aes128-pad", "kw-aes-128-pad"),
    ("kw-aes192-pad", "kw-aes-192-pad"),
    ("kw-aes256-pad", "kw-aes-256-pad"),
    ("camellia128", "camellia128-cbc"),
    ("camellia192", "camellia192-cbc"),
    ("camellia256", "camellia256-cbc"),
    ("hmac-sha-1", "hmac-sha1"),
    ("hmac-sha-224", "hmac-sha224"),
    ("hmac-sha-256", "hmac-sha256"),
    ("hmac-sha-384", "hmac-sha384"),
    ("hmac-sha-512", "hmac-sha512"),
    ("hmac-ripemd-160", "hmac-ripemd160"),
];

/// The supported encryption algorithms, for "unknown algorithm" messages.
pub(crate) const SUPPORTED_CIPHERS: &str = "aes128/192/256-cbc, kw-aes128/192/256, \
     kw-aes-128/192/256-pad, camellia128/192/256-cbc, kw-camellia128/192/256, tripledes-cbc";

/// The supported MACs, for "unknown algorithm" messages.
pub(crate) const SUPPORTED_MACS: &str = "hmac-sha1, hmac-sha224/256/384/512";

fn lookup<T: Copy>(table: &[Known<T>], uri: &str) -> Result<T, UriError> {
    if let Some(k) = table.iter().find(|k| k.uri == uri) {
        return k.is.ok_or(UriError::Unsupported(k.name));
    }
    let given = fragment(uri).to_ascii_lowercase();
    let given = ALIASES
        .iter()
        .find(|(alias, _)| *alias == given)
        .map_or(given.as_str(), |(_, standard)| standard);
    match table.iter().find(|k| fragment(k.uri) == given) {
        Some(Known { is: None, name, .. }) => Err(UriError::Unsupported(name)),
        Some(k) => Err(UriError::NonStandard {
            name: k.name,
            standard: k.uri,
        }),
        None => Err(UriError::Unknown),
    }
}

impl Cipher {
    pub(crate) fn from_uri(uri: &str) -> Result<Cipher, UriError> {
        lookup(CIPHERS, uri)
    }

    /// The name messages use, e.g. "AES-256-CBC", "AES-128 key wrap".
    pub(crate) fn name(self) -> &'static str {
        CIPHERS
            .iter()
            .find(|k| k.is == Some(self))
            .map_or("", |k| k.name)
    }

    /// CBC has no integrity of its own: RFC 6030 §6.1.1 then requires a
    /// MACMethod and a ValueMAC on every encrypted value. Key wrap does not.
    pub(crate) fn needs_mac(self) -> bool {
        matches!(self, Cipher::Cbc(_))
    }

    fn block(self) -> BlockCipher {
        match self {
            Cipher::Cbc(b) | Cipher::KeyWrap(b) | Cipher::KeyWrapPad(b) => b,
        }
    }

    /// The key lengths the algorithm takes, in bytes.
    pub(crate) fn key_lengths(self) -> &'static [usize] {
        match self.block() {
            BlockCipher::Aes128 | BlockCipher::Camellia128 => &[16],
            BlockCipher::Aes192 | BlockCipher::Camellia192 => &[24],
            BlockCipher::Aes256 | BlockCipher::Camellia256 => &[32],
            BlockCipher::TripleDes => &[16, 24],
        }
    }

    /// "32-byte", "16- or 24-byte": the key the algorithm needs, for messages.
    pub(crate) fn key_lengths_text(self) -> &'static str {
        match self.key_lengths() {
            [16] => "16-byte",
            [24] => "24-byte",
            [32] => "32-byte",
            _ => "16- or 24-byte",
        }
    }

    /// Decrypts a `CipherValue` (for CBC: IV‖ciphertext). The key's length
    /// has been checked against [`Cipher::key_lengths`].
    pub(crate) fn decrypt(self, key: &[u8], value: &[u8]) -> Result<Zeroizing<Vec<u8>>, Failure> {
        use BlockCipher as B;
        match self {
            Cipher::Cbc(B::Aes128) => cbc::<aes::Aes128>(key, value),
            Cipher::Cbc(B::Aes192) => cbc::<aes::Aes192>(key, value),
            Cipher::Cbc(B::Aes256) => cbc::<aes::Aes256>(key, value),
            Cipher::Cbc(B::Camellia128) => cbc::<camellia::Camellia128>(key, value),
            Cipher::Cbc(B::Camellia192) => cbc::<camellia::Camellia192>(key, value),
            Cipher::Cbc(B::Camellia256) => cbc::<camellia::Camellia256>(key, value),
            Cipher::Cbc(B::TripleDes) if key.len() == 16 => cbc::<des::TdesEde2>(key, value),
            Cipher::Cbc(B::TripleDes) => cbc::<des::TdesEde3>(key, value),
            Cipher::KeyWrap(b) | Cipher::KeyWrapPad(b) => {
                let padded_only = matches!(self, Cipher::KeyWrapPad(_));
                match b {
                    B::Aes128 => unwrap::<aes::Aes128>(key, value, padded_only),
                    B::Aes192 => unwrap::<aes::Aes192>(key, value, padded_only),
                    B::Aes256 => unwrap::<aes::Aes256>(key, value, padded_only),
                    B::Camellia128 => unwrap::<camellia::Camellia128>(key, value, padded_only),
                    B::Camellia192 => unwrap::<camellia::Camellia192>(key, value, padded_only),
                    B::Camellia256 => unwrap::<camellia::Camellia256>(key, value, padded_only),
                    // Not in the table: 3DES key wrap is refused by name.
                    B::TripleDes => Err(Failure::Integrity),
                }
            }
        }
    }
}

fn cbc<C: BlockCipherDecrypt + KeyInit>(
    key: &[u8],
    value: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let block = C::block_size();
    // PKCS#7 always pads, so there is at least one block after the IV.
    if value.len() < 2 * block || value.len() % block != 0 {
        return Err(Failure::Length);
    }
    let (iv, ciphertext) = value.split_at(block);
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| Failure::Length)?;
    let len = decryptor
        .decrypt_padded::<Pkcs7>(&mut buffer)
        .map_err(|_| Failure::Padding)?
        .len();
    buffer.truncate(len);
    Ok(buffer)
}

fn unwrap<C: BlockCipherDecrypt<BlockSize = U16> + KeyInit>(
    key: &[u8],
    value: &[u8],
    padded_only: bool,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    // RFC 5649's shortest output is two 64-bit blocks, RFC 3394's three.
    if value.len() < 16 || value.len() % 8 != 0 {
        return Err(Failure::Length);
    }
    let cipher = C::new_from_slice(key).map_err(|_| Failure::Length)?;
    let mut buffer = Zeroizing::new(vec![0u8; value.len() - 8]);
    if !padded_only && value.len() >= 24 {
        if let Ok(plain) =
            AesKw::<C>::inner_init(C::new_from_slice(key).map_err(|_| Failure::Length)?)
                .unwrap_key(value, &mut buffer)
        {
            let len = plain.len();
            buffer.truncate(len);
            return Ok(buffer);
        }
    }
    match AesKwp::inner_init(cipher).unwrap_key(value, &mut buffer) {
        Ok(plain) => {
            let len = plain.len();
            buffer.truncate(len);
            Ok(buffer)
        }
        Err(_) => Err(Failure::Integrity),
    }
}

impl MacAlgorithm {
    pub(crate) fn from_uri(uri: &str) -> Result<MacAlgorithm, UriError> {
        lookup(MACS, uri)
    }

    /// Whether `tag` is the HMAC of `data` under `key`, in constant time.
    pub(crate) fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        fn check<M: Mac + hmac::KeyInit>(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
            match <M as hmac::KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(data);
                    mac.verify_slice(tag).is_ok()
                }
                Err(_) => false,
            }
        }
        match self {
            MacAlgorithm::Sha1 => check::<Hmac<sha1::Sha1>>(key, data, tag),
            MacAlgorithm::Sha224 => check::<Hmac<sha2::Sha224>>(key, data, tag),
            MacAlgorithm::Sha256 => check::<Hmac<sha2::Sha256>>(key, data, tag),
            MacAlgorithm::Sha384 => check::<Hmac<sha2::Sha384>>(key, data, tag),
            MacAlgorithm::Sha512 => check::<Hmac<sha2::Sha512>>(key, data, tag),
        }
    }

    /// PBKDF2 (RFC 8018) with this HMAC as its PRF.
    pub(crate) fn pbkdf2(self, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
        use pbkdf2::pbkdf2_hmac;
        match self {
            MacAlgorithm::Sha1 => pbkdf2_hmac::<sha1::Sha1>(password, salt, rounds, out),
            MacAlgorithm::Sha224 => pbkdf2_hmac::<sha2::Sha224>(password, salt, rounds, out),
            MacAlgorithm::Sha256 => pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, out),
            MacAlgorithm::Sha384 => pbkdf2_hmac::<sha2::Sha384>(password, salt, rounds, out),
            MacAlgorithm::Sha512 => pbkdf2_hmac::<sha2::Sha512>(password, salt, rounds, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_uri_is_recognised_and_named() {
        for k in CIPHERS.iter().filter(|k| k.is.is_some()) {
            assert_eq!(Cipher::from_uri(k.uri).ok(), k.is, "{}", k.uri);
            assert_eq!(k.is.map(Cipher::name), Some(k.name));
        }
        for k in MACS.iter().filter(|k| k.is.is_some()) {
            assert_eq!(MacAlgorithm::from_uri(k.uri).ok(), k.is, "{}", k.uri);
        }
        assert_eq!(CIPHERS.iter().filter(|k| k.is.is_some()).count(), 16);
        assert_eq!(MACS.iter().filter(|k| k.is.is_some()).count(), 5);
    }

    #[test]
    fn other_spellings_are_refused_with_the_reason() {
        let sha1 = UriError::NonStandard {
            name: "HMAC-SHA1",
            standard: "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        };
        assert_eq!(MacAlgorithm::from_uri("hmac-sha1"), Err(sha1));
        assert_eq!(
            MacAlgorithm::from_uri("http://www.w3.org/2001/04/xmldsig-more#hmac-sha1"),
            Err(sha1)
        );
        assert_eq!(MacAlgorithm::from_uri("HMAC-SHA-1"), Err(sha1));
        assert_eq!(
            Cipher::from_uri("http://www.w3.org/2001/04/xmlenc#kw-tripledes"),
            Err(UriError::Unsupported("3DES key wrap (RFC 3217)"))
        );
        assert_eq!(
            Cipher::from_uri("3des-cbc"),
            Err(UriError::NonStandard {
                name: "3DES-CBC",
                standard: "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"
            })
        );
        assert_eq!(
            MacAlgorithm::from_uri("http://www.w3.org/2000/09/xmldsig#hmac-zha9"),
            Err(UriError::Unknown)
        );
    }

    #[test]
    fn key_wrap_follows_rfc3394_and_rfc5649() {
        // RFC 3394 section 4.1: 128 bits of key data under a 128-bit KEK.
        let kek = data_encoding::HEXLOWER
            .decode(b"000102030405060708090a0b0c0d0e0f")
            .unwrap();
        let wrapped = data_encoding::HEXLOWER
            .decode(b"1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5")
            .unwrap();
        let plain = Cipher::KeyWrap(BlockCipher::Aes128)
            .decrypt(&kek, &wrapped)
            .unwrap();
        assert_eq!(
            data_encoding::HEXLOWER.encode(&plain),
            "00112233445566778899aabbccddeeff"
        );
        // RFC 5649 section 6: 7 octets under a 192-bit KEK.
        let kek = data_encoding::HEXLOWER
            .decode(b"5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
            .unwrap();
        let wrapped = data_encoding::HEXLOWER
            .decode(b"afbeb0f07dfbf5419200f2ccb50bb24f")
            .unwrap();
        let plain = Cipher::KeyWrapPad(BlockCipher::Aes192)
            .decrypt(&kek, &wrapped)
            .unwrap();
        assert_eq!(data_encoding::HEXLOWER.encode(&plain), "466f7250617369");
        // The same bytes under the RFC 3394 URI: accepted as python-pskc writes them.
        assert!(
            Cipher::KeyWrap(BlockCipher::Aes192)
                .decrypt(&kek, &wrapped)
                .is_ok()
        );
        let mut altered = wrapped.clone();
        altered[3] ^= 1;
        assert_eq!(
            Cipher::KeyWrapPad(BlockCipher::Aes192).decrypt(&kek, &altered),
            Err(Failure::Integrity)
        );
        assert_eq!(
            Cipher::KeyWrap(BlockCipher::Aes192).decrypt(&kek, &wrapped[..12]),
            Err(Failure::Length)
        );
    }
}
