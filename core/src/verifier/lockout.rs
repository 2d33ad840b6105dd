//! Consecutive failures, the lock they lead to, and the admin unlock.
//!
//! Every rejection that [counts](super::Reason::counts_as_failure) adds one
//! failure; a replayed code counts, being what an eavesdropper submits. At
//! [`Policy::max_failures`] the token locks, and from then on every
//! validate and resync answers `Locked` without computing a code, so a
//! locked token tells nobody whether a guess was right. A success resets the
//! count; only [`unlock`] lifts a lock (a resync does not, as in
//! privacyIDEA: the lock means someone guessed, and a correct pair of codes
//! does not prove it was the owner).

use super::decision::{Decision, Outcome};
use super::policy::Policy;
use super::reason::Reason;
use super::state::TokenState;

/// The admin unlock: clears the lock and the failure count, keeps the
/// counter and drift.
pub fn unlock(state: TokenState) -> TokenState {
    TokenState {
        failures: 0,
        locked: false,
        ..state
    }
}

/// One more failure, locking at the policy's limit. Also what a caller
/// applies for [`Effect::CountFailure`](super::Effect::CountFailure).
pub fn record_failure(policy: &Policy, state: TokenState) -> TokenState {
    let failures = state.failures.saturating_add(1);
    TokenState {
        failures,
        locked: state.locked || failures >= policy.max_failures,
        ..state
    }
}

/// A rejection, counted if the reason counts.
pub(super) fn reject(policy: &Policy, previous: TokenState, reason: Reason) -> Decision {
    let new_state = if reason.counts_as_failure() {
        record_failure(policy, previous)
    } else {
        previous
    };
    Decision {
        outcome: Outcome::Rejected(reason),
        previous,
        new_state,
    }
}

/// An acceptance: `next_counter` and `drift_steps` move, failures reset.
pub(super) fn accept(
    previous: TokenState,
    matched: u64,
    next_counter: u64,
    drift_steps: i64,
) -> Decision {
    Decision {
        outcome: Outcome::Accepted { matched },
        previous,
        new_state: TokenState {
            next_counter,
            drift_steps,
            failures: 0,
            ..previous
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenth_failure_locks() {
        let policy = Policy::default();
        let mut state = TokenState::event(5);
        for n in 1..=9 {
            state = record_failure(&policy, state);
            assert_eq!((state.failures, state.locked), (n, false));
        }
        state = record_failure(&policy, state);
        assert_eq!((state.failures, state.locked), (10, true));
        let unlocked = unlock(state);
        assert_eq!(unlocked, TokenState::event(5));
    }

    #[test]
    fn failures_saturate() {
        let state = TokenState {
            failures: u32::MAX,
            ..TokenState::default()
        };
        assert_eq!(record_failure(&Policy::default(), state).failures, u32::MAX);
    }

    #[test]
    fn uncounted_reasons_change_nothing() {
        let state = TokenState::event(3);
        let d = reject(&Policy::default(), state, Reason::ClockBeforeT0);
        assert_eq!(d.new_state, state);
        assert!(!d.changes_state());
        assert_eq!(d.reason(), Some(&Reason::ClockBeforeT0));
    }
}
