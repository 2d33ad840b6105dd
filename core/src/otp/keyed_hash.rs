//! HMAC (RFC 2104) specialised for HOTP's 8-byte message, over the
//! RustCrypto compression functions of SHA-1, SHA-256 and SHA-512.
//!
//! Why not the `hmac` crate: it is correct and general, but each code then
//! clones a buffered hasher, copies the counter through its buffer and pads
//! on finalize, which costs ≈ 1.75× the two compressions a code needs (see
//! `cargo xtask bench`). HOTP's message is always 8 bytes, so both padded
//! blocks are known in advance up to the counter and the inner digest; a code
//! here is two `compress` calls and two block fills. Tests compare every
//! hash and key length against the `hmac` crate.

use sha1::Digest;
use zeroize::Zeroize;

/// A hash function as HMAC sees it: an IV, a compression function over
/// fixed blocks, and Merkle–Damgård padding with a big-endian bit length.
pub(super) trait Compression {
    type State: Copy + Zeroize;
    type Block: Copy + AsRef<[u8]> + AsMut<[u8]> + Zeroize;
    /// The initial hash value (FIPS 180-4 §5.3).
    const IV: Self::State;
    const ZERO_BLOCK: Self::Block;
    /// Digest length in bytes.
    const OUTPUT_LEN: usize;
    fn compress(state: &mut Self::State, block: &Self::Block);
    /// Writes the state big-endian into `out[..OUTPUT_LEN]`.
    fn write_output(state: &Self::State, out: &mut [u8]);
    /// The full hash, for keys longer than a block (RFC 2104 §2).
    fn hash(data: &[u8]) -> Vec<u8>;
}

pub(super) struct Sha1;
pub(super) struct Sha256;
pub(super) struct Sha512;

impl Compression for Sha1 {
    type State = [u32; 5];
    type Block = [u8; 64];
    const IV: [u32; 5] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    const ZERO_BLOCK: [u8; 64] = [0; 64];
    const OUTPUT_LEN: usize = 20;

    #[inline]
    fn compress(state: &mut [u32; 5], block: &[u8; 64]) {
        sha1::block_api::compress(state, std::slice::from_ref(block));
    }

    #[inline]
    fn write_output(state: &[u32; 5], out: &mut [u8]) {
        write_words(state, out);
    }

    fn hash(data: &[u8]) -> Vec<u8> {
        sha1::Sha1::digest(data).to_vec()
    }
}

impl Compression for Sha256 {
    type State = [u32; 8];
    type Block = [u8; 64];
    const IV: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    const ZERO_BLOCK: [u8; 64] = [0; 64];
    const OUTPUT_LEN: usize = 32;

    #[inline]
    fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
        sha2::block_api::compress256(state, std::slice::from_ref(block));
    }

    #[inline]
    fn write_output(state: &[u32; 8], out: &mut [u8]) {
        write_words(state, out);
    }

    fn hash(data: &[u8]) -> Vec<u8> {
        sha2::Sha256::digest(data).to_vec()
    }
}

impl Compression for Sha512 {
    type State = [u64; 8];
    type Block = [u8; 128];
    const IV: [u64; 8] = [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179,
    ];
    const ZERO_BLOCK: [u8; 128] = [0; 128];
    const OUTPUT_LEN: usize = 64;

    #[inline]
    fn compress(state: &mut [u64; 8], block: &[u8; 128]) {
        sha2::block_api::compress512(state, std::slice::from_ref(block));
    }

    #[inline]
    fn write_output(state: &[u64; 8], out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(8).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }

    fn hash(data: &[u8]) -> Vec<u8> {
        sha2::Sha512::digest(data).to_vec()
    }
}

#[inline]
fn write_words(state: &[u32], out: &mut [u8]) {
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
}

/// The inner and outer hash states after absorbing `key ⊕ ipad` and
/// `key ⊕ opad`: everything about the key a code needs. Wiped on drop.
pub(super) struct KeyedHash<H: Compression> {
    inner: H::State,
    outer: H::State,
}

// By hand: a derive would demand `H: Clone` of the marker types.
impl<H: Compression> Clone for KeyedHash<H> {
    fn clone(&self) -> Self {
        KeyedHash {
            inner: self.inner,
            outer: self.outer,
        }
    }
}

impl<H: Compression> KeyedHash<H> {
    pub(super) fn new(key: &[u8]) -> Self {
        let mut padded = H::ZERO_BLOCK;
        let block_len = padded.as_ref().len();
        let mut hashed = if key.len() > block_len {
            H::hash(key)
        } else {
            Vec::new()
        };
        let key = if hashed.is_empty() { key } else { &hashed };
        padded.as_mut()[..key.len()].copy_from_slice(key);
        hashed.zeroize();
        let absorb = |pad: u8| {
            let mut block = padded;
            block.as_mut().iter_mut().for_each(|b| *b ^= pad);
            let mut state = H::IV;
            H::compress(&mut state, &block);
            block.zeroize();
            state
        };
        let keyed = KeyedHash {
            inner: absorb(0x36),
            outer: absorb(0x5c),
        };
        padded.zeroize();
        keyed
    }

    /// HMAC(key, counter as 8 big-endian bytes), written to `out`; returns
    /// the MAC length. `out` must hold at least `H::OUTPUT_LEN` bytes.
    #[inline]
    pub(super) fn mac_counter(&self, counter: u64, out: &mut [u8]) -> usize {
        let mut block = H::ZERO_BLOCK;
        let len = block.as_ref().len();
        // Inner: one block of message, 0x80, zeros, bit length of ipad‖message.
        let b = block.as_mut();
        b[..8].copy_from_slice(&counter.to_be_bytes());
        b[8] = 0x80;
        b[len - 8..].copy_from_slice(&(((len + 8) * 8) as u64).to_be_bytes());
        let mut inner = self.inner;
        H::compress(&mut inner, &block);

        // Outer: the inner digest, 0x80, zeros, bit length of opad‖digest.
        let mut block = H::ZERO_BLOCK;
        let b = block.as_mut();
        H::write_output(&inner, &mut b[..H::OUTPUT_LEN]);
        b[H::OUTPUT_LEN] = 0x80;
        b[len - 8..].copy_from_slice(&(((len + H::OUTPUT_LEN) * 8) as u64).to_be_bytes());
        let mut outer = self.outer;
        H::compress(&mut outer, &block);
        H::write_output(&outer, &mut out[..H::OUTPUT_LEN]);
        H::OUTPUT_LEN
    }
}

impl<H: Compression> Drop for KeyedHash<H> {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::hmac::{Hmac, KeyInit, Mac};
    use proptest::prelude::*;

    fn reference<M: Mac + KeyInit>(key: &[u8], counter: u64) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).unwrap();
        mac.update(&counter.to_be_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn ours<H: Compression>(key: &[u8], counter: u64) -> Vec<u8> {
        let mut out = [0u8; 64];
        let n = KeyedHash::<H>::new(key).mac_counter(counter, &mut out);
        out[..n].to_vec()
    }

    proptest! {
        // Key lengths up to 300 bytes cover empty keys, short keys, keys of
        // exactly one block (64 / 128) and keys that must be hashed first.
        #[test]
        fn matches_the_hmac_crate(key in prop::collection::vec(any::<u8>(), 0..300), counter in any::<u64>()) {
            prop_assert_eq!(ours::<Sha1>(&key, counter), reference::<Hmac<sha1::Sha1>>(&key, counter));
            prop_assert_eq!(ours::<Sha256>(&key, counter), reference::<Hmac<sha2::Sha256>>(&key, counter));
            prop_assert_eq!(ours::<Sha512>(&key, counter), reference::<Hmac<sha2::Sha512>>(&key, counter));
        }
    }

    #[test]
    fn block_boundary_keys_match_the_hmac_crate() {
        for len in [63, 64, 65, 127, 128, 129] {
            let key: Vec<u8> = (0..len as u8).collect();
            assert_eq!(
                ours::<Sha1>(&key, 7),
                reference::<Hmac<sha1::Sha1>>(&key, 7),
                "sha1 {len}"
            );
            assert_eq!(
                ours::<Sha256>(&key, 7),
                reference::<Hmac<sha2::Sha256>>(&key, 7),
                "sha256 {len}"
            );
            assert_eq!(
                ours::<Sha512>(&key, 7),
                reference::<Hmac<sha2::Sha512>>(&key, 7),
                "sha512 {len}"
            );
        }
    }
}
