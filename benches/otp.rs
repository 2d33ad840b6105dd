//! What an HOTP code costs, next to what it cannot cost less than.
//!
//! With the HMAC state precomputed ([`OtpKey::new`]), a SHA-1 code is two
//! compressions plus bookkeeping; `sha1_compress_one_block` measures one raw
//! compression so `cargo xtask bench` can print the ratio. The
//! `_with_key_setup` variant shows what precomputing the key saves.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokenrig::otp::{Algorithm, Digits, OtpKey, SecretKey};

/// RFC 6238's key sizes: one hash output long, as tokens ship them.
fn key_for(algorithm: Algorithm) -> SecretKey {
    let len = match algorithm {
        Algorithm::Sha1 => 20,
        Algorithm::Sha256 => 32,
        Algorithm::Sha512 => 64,
    };
    SecretKey::new((0..len).map(|i| i as u8 ^ 0x5c).collect())
}

fn otp(c: &mut Criterion) {
    let mut group = c.benchmark_group("otp");

    for (name, algorithm) in [
        ("hotp_sha1_precomputed", Algorithm::Sha1),
        ("hotp_sha256_precomputed", Algorithm::Sha256),
        ("hotp_sha512_precomputed", Algorithm::Sha512),
    ] {
        let key = OtpKey::new(algorithm, &key_for(algorithm));
        // A new counter each iteration, as a resync window scan does.
        let mut counter = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                counter = counter.wrapping_add(1);
                key.hotp(black_box(counter), Digits::SIX)
            })
        });
    }

    let secret = key_for(Algorithm::Sha1);
    let mut counter = 0u64;
    group.bench_function("hotp_sha1_with_key_setup", |b| {
        b.iter(|| {
            counter = counter.wrapping_add(1);
            OtpKey::new(Algorithm::Sha1, black_box(&secret)).hotp(black_box(counter), Digits::SIX)
        })
    });

    // SHA-1's initial state (FIPS 180-4 §5.3.1); the block content does not
    // change the cost of a compression.
    let mut state: [u32; 5] = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    let blocks = [[0x36u8; 64]];
    group.bench_function("sha1_compress_one_block", |b| {
        b.iter(|| {
            sha1::block_api::compress(black_box(&mut state), black_box(&blocks));
            state[0]
        })
    });

    group.finish();
}

criterion_group!(benches, otp);
criterion_main!(benches);
