//! Two-OTP resynchronisation: a token that drifted far out of the
//! validation window is found again from two consecutive codes.
//!
//! Two codes in a row over a wide window are about as hard to guess as one
//! code over a narrow one (1,000 candidate pairs in 10^12 for six digits),
//! which is what makes the wide window safe.
//!
//! - Event: OTP 1 and OTP 2 at counters `c` and `c + 1`, both inside
//!   `next_counter ..= next_counter + event_resync_window - 1`; afterwards
//!   `next_counter = c + 2`.
//! - Time: at steps `s` and `s + 1`, both within `time_resync_span` of
//!   `step(now)`; afterwards the last spent step is `s + 1` and the drift is
//!   re-learned as `s + 1 - step(now)`. The window is centred on `now`, not
//!   on the stored drift: resync is the recovery path and must not trust
//!   the state it repairs, and ±24 h dwarfs the 7–8 steps of drift seen on
//!   tokens left unused for years.

use crate::clock::UnixTime;
use crate::otp::{Code, Digits};

use super::decision::Decision;
use super::lockout::{accept, reject};
use super::policy::Policy;
use super::reason::{Field, Reason};
use super::state::{TokenConfig, TokenKind, TokenState};
use super::validate::drift_steps;
use super::window::{Pair, Single, Span, find_pair, find_single};

/// Where a token was found, before any failure accounting. Shared with the
/// replacement flow, which establishes a new token the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Landing {
    /// The counter or step of the last code submitted.
    pub matched: u64,
    pub next_counter: u64,
    pub drift_steps: i64,
}

/// Resynchronises a token from two consecutive codes typed at `now`.
///
/// A locked token stays locked (see [`lockout`](super::lockout)): the
/// result is `Locked` without computing a code. A success resets the
/// failure count; every rejection counts toward lockout.
pub fn resync(
    policy: &Policy,
    config: &TokenConfig,
    state: TokenState,
    otp1: &str,
    otp2: &str,
    now: UnixTime,
) -> Decision {
    if state.locked {
        return reject(policy, state, Reason::Locked);
    }
    let landing = parse_pair(config.digits, otp1, otp2)
        .and_then(|(first, second)| locate_pair(policy, config, state, first, second, now));
    match landing {
        Ok(l) => accept(state, l.matched, l.next_counter, l.drift_steps),
        Err(reason) => reject(policy, state, reason),
    }
}

/// Parses both codes once; the same code twice is refused before any search.
pub(super) fn parse_pair(digits: Digits, otp1: &str, otp2: &str) -> Result<(u32, u32), Reason> {
    let parse = |typed: &str, field: Field| {
        Code::parse(typed, digits)
            .map(Code::value)
            .map_err(|error| Reason::Malformed { field, error })
    };
    let first = parse(otp1, Field::Otp1)?;
    let second = parse(otp2, Field::Otp2)?;
    if first == second {
        return Err(Reason::SameCode);
    }
    Ok((first, second))
}

/// Finds `first` immediately followed by `second` in the resync window.
pub(super) fn locate_pair(
    policy: &Policy,
    config: &TokenConfig,
    state: TokenState,
    first: u32,
    second: u32,
    now: UnixTime,
) -> Result<Landing, Reason> {
    let spent_below = state.next_counter;
    let (span, now_step) = match config.kind {
        TokenKind::Event => {
            let ahead = Span::forward(spent_below, policy.event_resync_window)
                .ok_or_else(|| exhausted_or_outside(policy.event_resync_window))?;
            // Scan a little behind too, only to name a replayed pair as such.
            let lo = spent_below.saturating_sub(policy.event_window);
            (Span { lo, hi: ahead.hi }, None)
        }
        TokenKind::Time(params) => {
            let now_step = params
                .counter_at(now.as_secs())
                .map_err(|_| Reason::ClockBeforeT0)?;
            let radius = policy.time_resync_steps(params.step);
            let span = Span::around(i128::from(now_step), radius).ok_or(Reason::OutsideWindow)?;
            (span, Some(now_step))
        }
    };
    match find_pair(config, span, spent_below, first, second) {
        Pair::Fresh(counter) => {
            // counter + 1 <= LAST_ACCEPTABLE: both additions fit.
            let matched = counter + 1;
            Ok(Landing {
                matched,
                next_counter: matched + 1,
                drift_steps: now_step.map_or(0, |now| drift_steps(matched, now)),
            })
        }
        Pair::Spent => Err(Reason::Replayed),
        Pair::Reversed => Err(Reason::Reversed),
        Pair::Apart => Err(Reason::NotConsecutive),
        Pair::NotFound => Err(Reason::OutsideWindow),
    }
}

/// Finds one time-token code within the replacement's `time_otp_steps` of
/// `now`, nearest first (the replacement flow asks a time token for one code
/// only, so the window is far narrower than a two-code resync's).
pub(super) fn locate_single_time(
    policy: &Policy,
    config: &TokenConfig,
    state: TokenState,
    value: u32,
    now: UnixTime,
) -> Result<Landing, Reason> {
    let TokenKind::Time(params) = config.kind else {
        return Err(Reason::OutsideWindow);
    };
    let now_step = params
        .counter_at(now.as_secs())
        .map_err(|_| Reason::ClockBeforeT0)?;
    let centre = i128::from(now_step);
    let radius = policy.replacement.time_otp_steps;
    let span = Span::around(centre, radius).ok_or(Reason::OutsideWindow)?;
    match find_single(
        config,
        span.nearest_first(centre),
        state.next_counter,
        value,
    ) {
        Single::Fresh(matched) => Ok(Landing {
            matched,
            next_counter: matched + 1,
            drift_steps: drift_steps(matched, now_step),
        }),
        Single::Spent => Err(Reason::Replayed),
        Single::NotFound => Err(Reason::OutsideWindow),
    }
}

fn exhausted_or_outside(window: u64) -> Reason {
    if window == 0 {
        Reason::OutsideWindow
    } else {
        Reason::CounterExhausted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::TimeStep;
    use crate::verifier::testkit::{
        STEP_60, at_step, event_code, event_config, time_code, time_config,
    };
    use crate::verifier::{Outcome, validate};

    const NEXT: u64 = 37;
    const NOW_STEP: u64 = 28_000_000;

    fn event_resync(state: TokenState, otp1: &str, otp2: &str) -> Decision {
        let policy = Policy::default();
        resync(&policy, &event_config(), state, otp1, otp2, UnixTime::EPOCH)
    }

    fn rejected(reason: Reason) -> Outcome {
        Outcome::Rejected(reason)
    }

    /// "N codes ahead": OTP 2 is the code for `NEXT + N`, OTP 1 the one
    /// before it. The window is NEXT ..= NEXT + 999, so N = 999 is the last
    /// accepted (OTP 2 on the window's last counter) and N = 1000 the first
    /// refused.
    fn ahead(n: u64) -> Decision {
        let state = TokenState::event(NEXT);
        event_resync(state, &event_code(NEXT + n - 1), &event_code(NEXT + n))
    }

    #[test]
    fn event_resync_reaches_the_last_code_of_the_window() {
        for n in [1, 50, 500, 999] {
            let d = ahead(n);
            assert_eq!(d.outcome, Outcome::Accepted { matched: NEXT + n }, "{n}");
            assert_eq!(d.new_state.next_counter, NEXT + n + 1);
            // The code right after OTP 2 validates; OTP 2 itself is spent.
            let policy = Policy::default();
            let config = event_config();
            let next = event_code(NEXT + n + 1);
            let after = validate(&policy, &config, d.new_state, &next, UnixTime::EPOCH);
            assert_eq!(
                after.outcome,
                Outcome::Accepted {
                    matched: NEXT + n + 1
                }
            );
            let otp2 = event_code(NEXT + n);
            let spent = validate(&policy, &config, d.new_state, &otp2, UnixTime::EPOCH);
            assert_eq!(spent.outcome, rejected(Reason::Replayed));
        }
    }

    #[test]
    fn event_resync_refuses_the_first_code_past_the_window() {
        for n in [1_000, 1_001] {
            let d = ahead(n);
            assert_eq!(d.outcome, rejected(Reason::OutsideWindow), "{n}");
            assert_eq!(d.new_state.failures, 1);
            assert_eq!(d.new_state.next_counter, NEXT);
        }
    }

    #[test]
    fn every_event_reject_reason() {
        let state = TokenState::event(NEXT);
        let code = |c: u64| event_code(NEXT + c);
        let cases = [
            (code(5), code(5), Reason::SameCode),
            (code(6), code(5), Reason::Reversed),
            (code(5), code(7), Reason::NotConsecutive),
            (code(1_000), code(1_001), Reason::OutsideWindow),
            (event_code(NEXT - 3), event_code(NEXT - 2), Reason::Replayed),
            // OTP 1 is the last spent code: the pair is spent.
            (event_code(NEXT - 1), event_code(NEXT), Reason::Replayed),
        ];
        for (otp1, otp2, reason) in cases {
            let d = event_resync(state, &otp1, &otp2);
            assert_eq!(d.outcome, rejected(reason.clone()), "{reason:?}");
            assert_eq!(d.new_state.failures, 1, "{reason:?} counts");
        }
        for (otp1, otp2, field) in [
            ("12345", "123456", Field::Otp1),
            ("123456", "12e456", Field::Otp2),
        ] {
            let d = event_resync(state, otp1, otp2);
            assert!(
                matches!(&d.outcome, Outcome::Rejected(Reason::Malformed { field: f, .. }) if *f == field),
                "{:?}",
                d.outcome
            );
        }
    }

    #[test]
    fn an_accepted_pair_cannot_be_replayed() {
        let state = TokenState::event(NEXT);
        let (otp1, otp2) = (event_code(NEXT + 400), event_code(NEXT + 401));
        let first = event_resync(state, &otp1, &otp2);
        assert!(first.is_accepted());
        let again = event_resync(first.new_state, &otp1, &otp2);
        assert_eq!(again.outcome, rejected(Reason::Replayed));
    }

    #[test]
    fn resync_resets_failures_but_does_not_unlock() {
        let mut state = TokenState::event(NEXT);
        state.failures = 9;
        let d = event_resync(state, &event_code(NEXT + 60), &event_code(NEXT + 61));
        assert_eq!((d.new_state.failures, d.new_state.locked), (0, false));

        let locked = TokenState {
            failures: 10,
            locked: true,
            ..TokenState::event(NEXT)
        };
        let d = event_resync(locked, &event_code(NEXT + 60), &event_code(NEXT + 61));
        assert_eq!(d.outcome, rejected(Reason::Locked));
        assert_eq!(d.new_state, locked);
        let d = event_resync(locked, "x", "y");
        assert_eq!(d.outcome, rejected(Reason::Locked));
    }

    fn time_resync(step: TimeStep, state: TokenState, s1: u64, s2: u64) -> Decision {
        let config = time_config(step);
        let now = at_step(step, NOW_STEP, 20);
        let (otp1, otp2) = (time_code(&config, s1), time_code(&config, s2));
        resync(&Policy::default(), &config, state, &otp1, &otp2, now)
    }

    #[test]
    fn time_resync_reaches_24_hours_either_side() {
        for (step, radius) in [(STEP_60, 1_440), (TimeStep::SECONDS_30, 2_880)] {
            let fresh = TokenState::time(None, 0);
            let (lo, hi) = (NOW_STEP - radius, NOW_STEP + radius);
            let accepted = [(lo, lo + 1), (hi - 1, hi)];
            for (s1, s2) in accepted {
                let d = time_resync(step, fresh, s1, s2);
                assert_eq!(d.outcome, Outcome::Accepted { matched: s2 }, "{step} {s1}");
                assert_eq!(d.new_state.next_counter, s2 + 1);
                assert_eq!(d.new_state.drift_steps, drift_steps(s2, NOW_STEP));
            }
            for (s1, s2) in [(lo - 1, lo), (hi, hi + 1)] {
                let d = time_resync(step, fresh, s1, s2);
                assert_eq!(d.outcome, rejected(Reason::OutsideWindow), "{step} {s1}");
            }
        }
    }

    #[test]
    fn time_resync_learns_drift_and_the_next_code_validates() {
        // Stored drift is garbage; the window is centred on now regardless.
        let state = TokenState::time(Some(NOW_STEP - 9_000), 5_000);
        let d = time_resync(STEP_60, state, NOW_STEP + 7, NOW_STEP + 8);
        assert_eq!(
            d.outcome,
            Outcome::Accepted {
                matched: NOW_STEP + 8
            }
        );
        assert_eq!(d.new_state.drift_steps, 8);
        assert_eq!(d.new_state.last_spent(), Some(NOW_STEP + 8));

        let config = time_config(STEP_60);
        let policy = Policy::default();
        let next_minute = at_step(STEP_60, NOW_STEP + 1, 20);
        let next = time_code(&config, NOW_STEP + 9);
        let v = validate(&policy, &config, d.new_state, &next, next_minute);
        assert_eq!(
            v.outcome,
            Outcome::Accepted {
                matched: NOW_STEP + 9
            }
        );
        let otp2 = time_code(&config, NOW_STEP + 8);
        let v = validate(&policy, &config, d.new_state, &otp2, next_minute);
        assert_eq!(v.outcome, rejected(Reason::Replayed));
    }

    #[test]
    fn every_time_reject_reason() {
        let state = TokenState::time(Some(NOW_STEP), 0);
        let cases = [
            (NOW_STEP + 5, NOW_STEP + 5, Reason::SameCode),
            (NOW_STEP + 6, NOW_STEP + 5, Reason::Reversed),
            (NOW_STEP + 5, NOW_STEP + 9, Reason::NotConsecutive),
            (NOW_STEP + 1_441, NOW_STEP + 1_442, Reason::OutsideWindow),
            (NOW_STEP - 1, NOW_STEP, Reason::Replayed),
            (NOW_STEP, NOW_STEP + 1, Reason::Replayed),
        ];
        for (s1, s2, reason) in cases {
            let d = time_resync(STEP_60, state, s1, s2);
            assert_eq!(d.outcome, rejected(reason.clone()), "{reason:?}");
        }
        let locked = TokenState {
            locked: true,
            ..state
        };
        let d = time_resync(STEP_60, locked, NOW_STEP + 5, NOW_STEP + 6);
        assert_eq!(d.outcome, rejected(Reason::Locked));
    }

    #[test]
    fn the_resync_window_stops_short_of_u64_max() {
        let state = TokenState::event(u64::MAX - 3);
        let d = event_resync(state, &event_code(u64::MAX - 2), &event_code(u64::MAX - 1));
        assert_eq!(
            d.outcome,
            Outcome::Accepted {
                matched: u64::MAX - 1
            }
        );
        assert_eq!(d.new_state.next_counter, u64::MAX);
        let d = event_resync(d.new_state, &event_code(1), &event_code(2));
        assert_eq!(d.outcome, rejected(Reason::CounterExhausted));
    }
}
