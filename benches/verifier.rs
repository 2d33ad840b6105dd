//! What the verifier core's most expensive decision costs: an event-token
//! two-OTP resync that scans the whole 1,000-code window.
//!
//! `event_resync_last_pair` finds OTP1/OTP2 at the window's last two
//! counters; `event_resync_not_found` submits a pair from beyond the window,
//! so the scan runs to the end and the replay look-back runs too. The larger
//! of the two is the worst case `cargo xtask bench` reports (target 0.2 ms).
//!
//! And the parts of one `tokenrig simulate` login: a C200 press on its
//! drifting clock (one HOTP), and a validation that finds the code at the
//! window's centre (one HOTP) or at its edge (two HOTPs: the centre is
//! tried first), so the HMAC's share of a decision can be read off.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tokenrig::clock::{ClockOffset, Drift, DriftingClock, UnixTime, VirtualClock};
use tokenrig::device::{C200, Serial, Token};
use tokenrig::otp::{Algorithm, Digits, SecretKey, TimeStep, TotpParams};
use tokenrig::verifier::{Policy, TokenConfig, TokenKind, TokenState, resync, validate};

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

    let now = UnixTime::from_secs(1_799_020_800 + 30);
    let base = VirtualClock::new(now);
    let quartz = DriftingClock::new(
        Arc::new(base.clone()),
        Drift::from_ppm(2.9).expect("valid drift"),
        ClockOffset::ZERO,
    );
    let serial = Serial::parse("2600124809778").expect("vendor serial");
    let mut fob = C200::new(serial, secret.clone(), quartz);
    group.bench_function("c200_press", |b| b.iter(|| fob.press()));
    let params = TotpParams::new(TimeStep::SECONDS_60);
    let time = TokenConfig::new(
        Algorithm::Sha1,
        &secret,
        Digits::SIX,
        TokenKind::Time(params),
    );
    let step = params.counter_at(now.as_secs()).expect("after T0");
    for (name, matched) in [
        ("time_validate_centre", step),
        ("time_validate_edge", step + 1),
    ] {
        let code = time.code_at(matched).to_string();
        group.bench_function(name, |b| {
            b.iter(|| {
                validate(
                    &policy,
                    &time,
                    black_box(TokenState::time(None, 0)),
                    black_box(&code),
                    now,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, verifier);
criterion_main!(benches);
