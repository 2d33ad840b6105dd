//! The RFC test vectors in `fixtures/rfc/`, loaded for the tests that assert them.
// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use tokenrig::otp::{Algorithm, SecretKey};

/// One row of RFC 4226 Appendix D.
pub struct HotpVector {
    pub counter: u64,
    pub hmac_hex: String,
    pub truncated: u32,
    pub hotp: String,
}

/// One row of RFC 6238 Appendix B.
pub struct TotpVector {
    pub time: u64,
    pub step_counter: u64,
    pub totp: String,
    pub algorithm: Algorithm,
}

/// The RFC 4226 key, ASCII "12345678901234567890".
pub fn rfc4226_key() -> SecretKey {
    SecretKey::new(b"12345678901234567890".to_vec())
}

/// RFC 6238's reference code seeds, one per hash: the 20-byte RFC 4226 key
/// repeated to the hash's output length.
pub fn rfc6238_key(algorithm: Algorithm) -> SecretKey {
    let len = match algorithm {
        Algorithm::Sha1 => 20,
        Algorithm::Sha256 => 32,
        Algorithm::Sha512 => 64,
    };
    SecretKey::new(b"1234567890".iter().copied().cycle().take(len).collect())
}

pub fn hotp_vectors() -> Vec<HotpVector> {
    rows("rfc4226-hotp.csv")
        .into_iter()
        .map(|f| HotpVector {
            counter: f[0].parse().expect("counter"),
            hmac_hex: f[1].clone(),
            truncated: f[2].parse().expect("truncated value"),
            hotp: f[3].clone(),
        })
        .collect()
}

pub fn totp_vectors() -> Vec<TotpVector> {
    rows("rfc6238-totp.csv")
        .into_iter()
        .map(|f| TotpVector {
            time: f[0].parse().expect("time"),
            step_counter: u64::from_str_radix(&f[2], 16).expect("T in hex"),
            totp: f[3].clone(),
            algorithm: f[4].parse().expect("mode"),
        })
        .collect()
}

/// Data rows of a fixture CSV: comment lines (`#`) and the header skipped.
fn rows(name: &str) -> Vec<Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rfc")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}
