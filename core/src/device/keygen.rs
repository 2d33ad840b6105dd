//! Keys and serials for emulated tokens.
//!
//! Simulations and fixtures need fleets that come out the same on every run,
//! so keys and serials can be derived from a `u64` seed and an index. Such
//! keys are test keys: anyone who knows the seed knows them. Tokens meant to
//! guard anything get [`random_key`].
//!
//! Derivation (stable: fixtures depend on it): the plain ChaCha20 keystream
//! whose 256-bit key is the seed's 8 little-endian bytes followed by a
//! zero-padded domain tag (`tokenrig/key`, `tokenrig/serial/<model>`), so
//! serials, which are public, never reveal key material; the index is the
//! 64-bit nonce (block counter from 0). Any ChaCha20 implementation can
//! reproduce a fleet's keys.

use rand::rngs::SysRng;
use rand::{Rng, SeedableRng, TryRng};
use rand_chacha::ChaCha20Rng;
use zeroize::Zeroizing;

use crate::otp::SecretKey;

use super::model::Model;
use super::serial::Serial;

/// 20 bytes: the SHA-1 output size RFC 4226 §4 recommends, and what vendor
/// fobs ship with.
pub const DEFAULT_KEY_LEN: usize = 20;

/// The operating system could not provide randomness.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct EntropyError(String);

/// 12 digits follow a serial's family prefix.
const SERIAL_BODY_RANGE: u64 = 1_000_000_000_000;

fn derivation(seed: u64, domain: &str, index: u64) -> ChaCha20Rng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    // Domain tags are our own constants, at most 24 bytes.
    bytes[8..8 + domain.len()].copy_from_slice(domain.as_bytes());
    let mut rng = ChaCha20Rng::from_seed(bytes);
    rng.set_stream(index);
    rng
}

/// The `index`-th key of the fleet `seed`, `len` bytes long. Deterministic.
pub fn key_from_seed(seed: u64, index: u64, len: usize) -> SecretKey {
    let mut rng = derivation(seed, "tokenrig/key", index);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    SecretKey::new(bytes)
}

/// A fresh key of `len` bytes straight from the operating system.
pub fn random_key(len: usize) -> Result<SecretKey, EntropyError> {
    // Wrapped before filling, so a half-filled buffer is wiped too.
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| EntropyError(e.to_string()))?;
    Ok(SecretKey::new(std::mem::take(&mut *bytes)))
}

/// The `index`-th serial of a fleet of `model` tokens: the family prefix,
/// then 12 digits counting up from a seed-derived start (wrapping after
/// 10^12), so a fleet's serials look like a vendor batch and indexes below
/// 10^12 never collide within one (model, seed). Deterministic.
pub fn serial_from_seed(model: Model, seed: u64, index: u64) -> Serial {
    let domain = match model {
        Model::C100 => "tokenrig/serial/c100",
        Model::C200 => "tokenrig/serial/c200",
        Model::Usb => "tokenrig/serial/usb",
    };
    let mut rng = derivation(seed, domain, 0);
    // Rejection sampling keeps the start uniform over the 10^12 bodies.
    let limit = u64::MAX - u64::MAX % SERIAL_BODY_RANGE;
    let start = loop {
        let x = rng.next_u64();
        if x < limit {
            break x % SERIAL_BODY_RANGE;
        }
    };
    let body = (start + index % SERIAL_BODY_RANGE) % SERIAL_BODY_RANGE;
    Serial::compose(model.family(), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Family, SerialLayout};

    #[test]
    fn seeded_keys_are_stable_and_distinct_per_index() {
        let key = key_from_seed(7, 0, DEFAULT_KEY_LEN);
        assert_eq!(key.len(), 20);
        assert_eq!(key, key_from_seed(7, 0, DEFAULT_KEY_LEN));
        assert_ne!(key, key_from_seed(7, 1, DEFAULT_KEY_LEN));
        assert_ne!(key, key_from_seed(8, 0, DEFAULT_KEY_LEN));
        // A longer key extends a shorter one from the same stream.
        let long = key_from_seed(7, 0, 32);
        assert_eq!(&long.as_bytes()[..20], key.as_bytes());
        // Pinned: fixtures and recorded simulations depend on these bytes.
        // Cross-checked with Python's `cryptography` ChaCha20 keystream.
        assert_eq!(
            key.to_hex().as_str(),
            "487ecd51e9600dce44d1a870762c4928fa4b95fd"
        );
        assert_eq!(
            key_from_seed(7, 1, DEFAULT_KEY_LEN).to_hex().as_str(),
            "120be561e15422773273beee4e07c52c28d57a84"
        );
    }

    #[test]
    fn random_keys_differ() {
        let a = random_key(DEFAULT_KEY_LEN).expect("OS randomness");
        let b = random_key(DEFAULT_KEY_LEN).expect("OS randomness");
        assert_eq!(a.len(), DEFAULT_KEY_LEN);
        assert_ne!(a, b);
    }

    #[test]
    fn fleet_serials_have_the_model_prefix_and_count_up() {
        for model in Model::ALL {
            let first = serial_from_seed(model, 42, 0);
            let layout = SerialLayout::Provider;
            assert_eq!(layout.family_of(first), Ok(Some(model.family())));
            assert_eq!(first, serial_from_seed(model, 42, 0));
            let serials: std::collections::BTreeSet<_> =
                (0..1000).map(|i| serial_from_seed(model, 42, i)).collect();
            assert_eq!(serials.len(), 1000);
        }
        assert_eq!(
            SerialLayout::Provider.family_of(serial_from_seed(Model::C200, 1, 0)),
            Ok(Some(Family::Time))
        );
        assert_ne!(
            serial_from_seed(Model::C100, 42, 0),
            serial_from_seed(Model::Usb, 42, 0)
        );
    }
}
