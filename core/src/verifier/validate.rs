//! Validating one submitted code.
//!
//! Event tokens are searched forward only, `next_counter ..= next_counter +
//! event_window - 1`: a token's counter never goes back, so a code behind it
//! can only be a replay. Time tokens are searched on both sides of the step
//! they are expected at, `step(now) + drift_steps`, and every acceptance
//! re-learns the drift (unless [`Policy::learn_drift`] is off), so a fast
//! quartz is followed step by step for years.

use crate::clock::UnixTime;
use crate::otp::Code;

use super::decision::Decision;
use super::lockout::{accept, reject};
use super::policy::Policy;
use super::reason::{Field, Reason};
use super::state::{TokenConfig, TokenKind, TokenState};
use super::window::{Single, Span, find_single};

/// Decides on one code typed for a token at `now`.
///
/// A locked token is rejected before the code is even parsed. Otherwise a
/// correct code for a spent counter or step is `Replayed`, not `BadOtp`,
/// so the audit log shows the attack; both count toward lockout.
pub fn validate(
    policy: &Policy,
    config: &TokenConfig,
    state: TokenState,
    submitted: &str,
    now: UnixTime,
) -> Decision {
    if state.locked {
        return reject(policy, state, Reason::Locked);
    }
    let value = match Code::parse(submitted, config.digits) {
        Ok(code) => code.value(),
        Err(error) => {
            let field = Field::Otp;
            return reject(policy, state, Reason::Malformed { field, error });
        }
    };
    match config.kind {
        TokenKind::Event => validate_event(policy, config, state, value),
        TokenKind::Time(params) => {
            let Ok(now_step) = params.counter_at(now.as_secs()) else {
                return reject(policy, state, Reason::ClockBeforeT0);
            };
            validate_time(policy, config, state, value, now_step)
        }
    }
}

fn validate_event(
    policy: &Policy,
    config: &TokenConfig,
    state: TokenState,
    value: u32,
) -> Decision {
    let next = state.next_counter;
    let Some(ahead) = Span::forward(next, policy.event_window) else {
        let reason = if policy.event_window == 0 {
            Reason::BadOtp
        } else {
            Reason::CounterExhausted
        };
        return reject(policy, state, reason);
    };
    if let Single::Fresh(matched) = find_single(config, ahead.ascending(), next, value) {
        // matched <= LAST_ACCEPTABLE, so + 1 cannot overflow.
        return accept(state, matched, matched + 1, state.drift_steps);
    }
    // Looking back as far as forward: a replay older than that is still
    // rejected, only less precisely (as a bad code).
    let behind = Span::before(next, policy.event_window);
    let replayed = behind
        .is_some_and(|span| find_single(config, span.ascending(), next, value) == Single::Spent);
    let reason = if replayed {
        Reason::Replayed
    } else {
        Reason::BadOtp
    };
    reject(policy, state, reason)
}

fn validate_time(
    policy: &Policy,
    config: &TokenConfig,
    state: TokenState,
    value: u32,
    now_step: u64,
) -> Decision {
    let expected = i128::from(now_step) + i128::from(state.drift_steps);
    let Some(window) = Span::around(expected, policy.time_window) else {
        return reject(policy, state, Reason::BadOtp);
    };
    let candidates = window.nearest_first(expected);
    match find_single(config, candidates, state.next_counter, value) {
        Single::Fresh(matched) => {
            let drift = if policy.learn_drift {
                drift_steps(matched, now_step)
            } else {
                state.drift_steps
            };
            accept(state, matched, matched + 1, drift)
        }
        Single::Spent => reject(policy, state, Reason::Replayed),
        Single::NotFound => reject(policy, state, Reason::BadOtp),
    }
}

/// The token's clock minus the verifier's, in steps. Saturates: a real
/// token is never within a factor of 2^63 steps of either end.
pub(super) fn drift_steps(matched: u64, now_step: u64) -> i64 {
    let drift = i128::from(matched) - i128::from(now_step);
    i64::try_from(drift).unwrap_or(if drift < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{TimeStep, TotpParams};
    use crate::verifier::testkit::{
        STEP_60, at_step, event_code, event_config, time_code, time_config,
    };
    use crate::verifier::{Outcome, unlock};

    fn check(config: &TokenConfig, state: TokenState, code: &str) -> Decision {
        validate(&Policy::default(), config, state, code, UnixTime::EPOCH)
    }

    fn rejected(reason: Reason) -> Outcome {
        Outcome::Rejected(reason)
    }

    #[test]
    fn event_window_is_next_counter_to_plus_nine() {
        let config = event_config();
        for next in [0, 100] {
            let state = TokenState::event(next);
            for ahead in 0..10 {
                let d = check(&config, state, &event_code(next + ahead));
                assert_eq!(
                    d.outcome,
                    Outcome::Accepted {
                        matched: next + ahead
                    }
                );
                assert_eq!(d.new_state.next_counter, next + ahead + 1);
            }
            let d = check(&config, state, &event_code(next + 10));
            assert_eq!(d.outcome, rejected(Reason::BadOtp));
            assert_eq!(d.new_state.failures, 1);
            assert_eq!(d.new_state.next_counter, next);
        }
    }

    #[test]
    fn every_accepted_event_code_is_then_a_replay() {
        let config = event_config();
        let mut state = TokenState::event(0);
        let mut accepted = Vec::new();
        // Skipping some presses, as users do.
        for counter in [0, 1, 4, 5, 13, 14, 20, 29] {
            let d = check(&config, state, &event_code(counter));
            assert!(d.is_accepted(), "counter {counter}");
            state = d.new_state;
            accepted.push(counter);
            let replay = check(&config, state, &event_code(counter));
            assert_eq!(replay.outcome, rejected(Reason::Replayed));
            assert_eq!(replay.new_state.failures, 1, "a replay counts");
        }
        // Every earlier code is still refused; within the look-back (10
        // codes behind 30) as a replay, older ones as bad codes.
        for counter in accepted {
            let d = check(&config, state, &event_code(counter));
            let expected = if counter >= 20 {
                Reason::Replayed
            } else {
                Reason::BadOtp
            };
            assert_eq!(d.outcome, rejected(expected), "counter {counter}");
        }
        // A skipped code behind the counter is spent too.
        let skipped = check(&config, state, &event_code(28));
        assert_eq!(skipped.outcome, rejected(Reason::Replayed));
    }

    #[test]
    fn counter_near_u64_max_does_not_overflow() {
        let config = event_config();
        let mut state = TokenState::event(u64::MAX - 2);
        let top = check(&config, state, &event_code(u64::MAX));
        assert_eq!(top.outcome, rejected(Reason::BadOtp));
        for counter in [u64::MAX - 2, u64::MAX - 1] {
            let d = check(&config, state, &event_code(counter));
            assert_eq!(d.outcome, Outcome::Accepted { matched: counter });
            state = d.new_state;
        }
        assert_eq!(state.next_counter, u64::MAX);
        let d = check(&config, state, &event_code(u64::MAX));
        assert_eq!(d.outcome, rejected(Reason::CounterExhausted));
        assert!(!d.changes_state());
    }

    #[test]
    fn malformed_codes_are_rejected_and_counted() {
        let config = event_config();
        for typed in ["", "12345", "1234567", "12a456", " 12345", "１２３４５６"] {
            let d = check(&config, TokenState::event(0), typed);
            assert!(
                matches!(
                    &d.outcome,
                    Outcome::Rejected(Reason::Malformed {
                        field: Field::Otp,
                        ..
                    })
                ),
                "{typed:?}: {:?}",
                d.outcome
            );
            assert_eq!(d.new_state.failures, 1);
        }
    }

    #[test]
    fn ten_failures_lock_and_a_locked_token_does_not_evaluate() {
        let config = event_config();
        let mut state = TokenState::event(0);
        for n in 1..=10 {
            state = check(&config, state, "000000").new_state;
            assert_eq!(state.locked, n == 10, "after {n}");
        }
        let right = check(&config, state, &event_code(0));
        let wrong = check(&config, state, "000000");
        let garbage = check(&config, state, "x");
        for d in [&right, &wrong, &garbage] {
            assert_eq!(d.outcome, rejected(Reason::Locked));
            assert_eq!(d.new_state, state);
        }
        let d = check(&config, unlock(state), &event_code(0));
        assert!(d.is_accepted());
        assert_eq!((d.new_state.failures, d.new_state.locked), (0, false));
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let config = event_config();
        let mut state = TokenState::event(0);
        for _ in 0..9 {
            state = check(&config, state, "000000").new_state;
        }
        assert_eq!(state.failures, 9);
        state = check(&config, state, &event_code(0)).new_state;
        assert_eq!(state.failures, 0);
        for _ in 0..9 {
            state = check(&config, state, "000000").new_state;
        }
        assert!(!state.locked);
    }

    #[test]
    fn time_window_is_one_step_either_side_of_the_drift() {
        let config = time_config(STEP_60);
        let now_step = 28_000_000;
        let now = at_step(STEP_60, now_step, 30);
        let policy = Policy::default();
        for drift in [0i64, 5, -7] {
            let state = TokenState::time(None, drift);
            let expected = now_step.saturating_add_signed(drift);
            for offset in [-1i64, 0, 1] {
                let step = expected.saturating_add_signed(offset);
                let d = validate(&policy, &config, state, &time_code(&config, step), now);
                assert_eq!(d.outcome, Outcome::Accepted { matched: step });
                assert_eq!(d.new_state.next_counter, step + 1);
                assert_eq!(d.new_state.drift_steps, drift + offset, "drift re-learned");
            }
            for offset in [-2i64, 2] {
                let step = expected.saturating_add_signed(offset);
                let d = validate(&policy, &config, state, &time_code(&config, step), now);
                assert_eq!(d.outcome, rejected(Reason::BadOtp), "offset {offset}");
            }
        }
    }

    #[test]
    fn without_drift_learning_the_window_stays_where_resync_put_it() {
        let config = time_config(STEP_60);
        let now_step = 28_000_000;
        let now = at_step(STEP_60, now_step, 30);
        let policy = Policy {
            learn_drift: false,
            ..Policy::default()
        };
        let state = TokenState::time(None, 3);
        let ahead = now_step + 4;
        let d = validate(&policy, &config, state, &time_code(&config, ahead), now);
        assert_eq!(d.outcome, Outcome::Accepted { matched: ahead });
        assert_eq!(d.new_state.drift_steps, 3, "the drift is not re-learned");
        assert_eq!(
            d.new_state.next_counter,
            ahead + 1,
            "the step is still spent"
        );
        // A step later the window is still centred on +3: +5 is too far.
        let later = at_step(STEP_60, now_step + 1, 0);
        let far = time_code(&config, now_step + 1 + 5);
        let d = validate(&policy, &config, d.new_state, &far, later);
        assert_eq!(d.outcome, rejected(Reason::BadOtp));
        // A resync still sets it: the recovery path finds the token anywhere.
        let (s1, s2) = (now_step + 1 + 5, now_step + 1 + 6);
        let d = crate::verifier::resync(
            &policy,
            &config,
            d.new_state,
            &time_code(&config, s1),
            &time_code(&config, s2),
            later,
        );
        assert_eq!(d.outcome, Outcome::Accepted { matched: s2 });
        assert_eq!(d.new_state.drift_steps, 6);
    }

    #[test]
    fn every_accepted_time_code_is_then_a_replay() {
        let config = time_config(STEP_60);
        let policy = Policy::default();
        let mut state = TokenState::time(None, 0);
        for step in 28_000_000..28_000_020 {
            let now = at_step(STEP_60, step, 10);
            let code = time_code(&config, step);
            let d = validate(&policy, &config, state, &code, now);
            assert_eq!(d.outcome, Outcome::Accepted { matched: step });
            state = d.new_state;
            // Later in the same step, and one step later (still in window).
            for later in [at_step(STEP_60, step, 59), at_step(STEP_60, step + 1, 0)] {
                let replay = validate(&policy, &config, state, &code, later);
                assert_eq!(replay.outcome, rejected(Reason::Replayed));
            }
        }
    }

    #[test]
    fn a_code_older_than_the_last_accepted_step_is_a_replay() {
        let config = time_config(STEP_60);
        let policy = Policy::default();
        let now = at_step(STEP_60, 1_000, 0);
        let state = validate(
            &policy,
            &config,
            TokenState::time(None, 0),
            &time_code(&config, 1_001),
            now,
        )
        .new_state;
        let d = validate(&policy, &config, state, &time_code(&config, 1_000), now);
        assert_eq!(d.outcome, rejected(Reason::Replayed));
    }

    #[test]
    fn a_clock_before_t0_is_not_the_users_failure() {
        let secret = crate::verifier::testkit::secret();
        let params = TotpParams {
            step: TimeStep::SECONDS_30,
            t0: 2_000_000_000,
        };
        let config = TokenConfig::new(
            crate::otp::Algorithm::Sha1,
            &secret,
            crate::otp::Digits::SIX,
            TokenKind::Time(params),
        );
        let d = validate(
            &Policy::default(),
            &config,
            TokenState::default(),
            "123456",
            UnixTime::from_secs(1_700_000_000),
        );
        assert_eq!(d.outcome, rejected(Reason::ClockBeforeT0));
        assert!(!d.changes_state());
    }

    #[test]
    fn drift_saturates_instead_of_overflowing() {
        assert_eq!(drift_steps(u64::MAX, 0), i64::MAX);
        assert_eq!(drift_steps(0, u64::MAX), i64::MIN);
        assert_eq!(drift_steps(10, 13), -3);
    }
}
