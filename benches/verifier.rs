//! What the verifier core's most expensive decision costs: an event-token
//! two-OTP resync that scans the whole 1,000-code window.
//!
//! `event_resync_last_pair` finds OTP1/OTP2 at the window's last two
//! counters; `event_resync_not_found` submits a pair from beyond the window,
//! so the scan runs to the end and the replay look-back runs too. The larger
//! of the two is the worst case `cargo xtask bench` reports (target 0.2 ms).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tokenrig::clock::UnixTime;
use tokenrig::otp::{Algorithm, Digits, SecretKey};
use tokenrig::verifier::{Policy, TokenConfig, TokenKind, TokenState, resync};

fn verifier(c: &mut Criterion) {
    let policy = Policy::default();
    let secret = SecretKey::new(b"12345678901234567890".to_vec());
    let config = TokenConfig::new(Algorithm::Sha1, &secret, Digits::SIX, TokenKind::Event);
    let state = TokenState::event(1_000);
    let last = state.next_counter + policy.event_resync_window - 1;
    let pair = |first: u64| {
        (
            config.code_at(first).to_string(),
            config.code_at(first + 1).to_string(),
        )
    };

    let mut group = c.benchmark_group("verifier");
    for (name, (otp1, otp2)) in [
        ("event_resync_last_pair", pair(last - 1)),
        ("event_resync_not_found", pair(last + 500)),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                resync(
                    &policy,
                    &config,
                    black_box(state),
                    black_box(&otp1),
                    black_box(&otp2),
                    UnixTime::EPOCH,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, verifier);
criterion_main!(benches);
