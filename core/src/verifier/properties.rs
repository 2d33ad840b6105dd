//! Properties of the core as a whole, over real token models and long runs.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use crate::clock::{Clock, ClockOffset, Drift, DriftingClock, UnixTime, VirtualClock};
use crate::device::{C100, C200, Serial, Token};
use crate::otp::Code;

use super::testkit::{STEP_60, event_config, secret, time_config};
use super::{Decision, Outcome, Policy, Reason, TokenConfig, TokenState, resync, unlock, validate};

const DAY: Duration = Duration::from_secs(86_400);
const START: u64 = 1_700_000_000;

fn c200(base: &VirtualClock, ppm: f64) -> C200 {
    let drift = Drift::from_ppm(ppm).expect("valid drift");
    let clock = DriftingClock::new(Arc::new(base.clone()), drift, ClockOffset::ZERO);
    let serial = Serial::parse("2600124809778").expect("vendor serial");
    C200::new(serial, secret(), clock)
}

#[test]
fn a_drifting_time_token_validated_daily_stays_accepted_for_three_years() {
    let policy = Policy::default();
    let config = time_config(STEP_60);
    for ppm in [20.0, -20.0] {
        let base = VirtualClock::new(UnixTime::from_secs(START));
        let mut token = c200(&base, ppm);
        let mut state = TokenState::time(None, 0);
        for day in 0..3 * 365 {
            base.advance(DAY);
            let code = token.press().expect("after T0").to_string();
            let d = validate(&policy, &config, state, &code, base.now());
            assert!(d.is_accepted(), "{ppm} ppm, day {day}: {:?}", d.outcome);
            state = d.new_state;
        }
        // 3 × 365 days × 86,400 s × 20e-6 = 1,892 s ≈ 31.5 steps of 60 s.
        let drift = state.drift_steps * if ppm > 0.0 { 1 } else { -1 };
        assert!((31..=32).contains(&drift), "{ppm} ppm: {drift}");

        // Without the learned drift the same token is far out of the window.
        base.advance(DAY);
        let code = token.press().expect("after T0").to_string();
        let forgetful = TokenState::time(state.last_spent(), 0);
        let d = validate(&policy, &config, forgetful, &code, base.now());
        assert_eq!(d.outcome, Outcome::Rejected(Reason::BadOtp));
    }
}

/// What a user or an attacker does next.
#[derive(Clone, Debug)]
enum Op {
    /// Press the button this many times (the codes are seen by everyone).
    Press(u8),
    /// Submit a code shown earlier (picked by index), or a guess.
    Validate(Pick),
    /// Submit two codes: shown earlier, the one after a shown one (a
    /// resync done right, if that code is still unspent), or guesses.
    Resync(Pick, Pick),
    /// Time tokens: let time pass.
    Wait(u16),
    Unlock,
}

#[derive(Clone, Copy, Debug)]
enum Pick {
    Shown(usize),
    /// The code after the one picked: a resync done right.
    NextOf(usize),
    Guess(u32),
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        4 => any::<usize>().prop_map(Pick::Shown),
        2 => any::<usize>().prop_map(Pick::NextOf),
        1 => (0u32..1_000_000).prop_map(Pick::Guess),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (1u8..40).prop_map(Op::Press),
        6 => pick().prop_map(Op::Validate),
        2 => (pick(), pick()).prop_map(|(a, b)| Op::Resync(a, b)),
        2 => any::<usize>().prop_map(|i| Op::Resync(Pick::Shown(i), Pick::NextOf(i))),
        3 => (0u16..600).prop_map(Op::Wait),
        1 => Just(Op::Unlock),
    ];
    prop::collection::vec(op, 1..80)
}

/// The core's answers, checked against what was spent before: every
/// accepted counter or step must be above every one accepted earlier, and
/// the accepted code must be the token's code for it.
#[derive(Default)]
struct Ledger {
    spent: HashSet<u64>,
    highest: Option<u64>,
}

impl Ledger {
    fn record(&mut self, decision: &Decision, submitted: &[u32], code_at: impl Fn(u64) -> u32) {
        let Outcome::Accepted { matched } = decision.outcome else {
            return;
        };
        // A resync spends OTP 1 at matched - 1 and OTP 2 at matched.
        let first = matched + 1 - submitted.len() as u64;
        for (counter, value) in (first..=matched).zip(submitted) {
            assert_eq!(
                code_at(counter),
                *value,
                "accepted a code for another counter"
            );
            assert!(
                self.spent.insert(counter),
                "counter {counter} accepted twice"
            );
            assert!(self.highest.is_none_or(|h| counter > h), "went backwards");
            self.highest = Some(counter);
        }
        assert_eq!(decision.new_state.next_counter, matched + 1);
    }
}

fn choose(shown: &[(u64, Code)], pick: Pick, code_at: &dyn Fn(u64) -> Code) -> Option<String> {
    match pick {
        Pick::Guess(value) => Some(format!("{value:06}")),
        Pick::Shown(i) if !shown.is_empty() => Some(shown[i % shown.len()].1.to_string()),
        Pick::NextOf(i) if !shown.is_empty() => {
            let (counter, _) = shown[i % shown.len()];
            Some(code_at(counter.checked_add(1)?).to_string())
        }
        Pick::Shown(_) | Pick::NextOf(_) => None,
    }
}

fn value(code: &str) -> u32 {
    code.parse().expect("six digits")
}

/// Carries out a `Validate` or `Resync` op against the core and checks the
/// answer in the ledger; returns the state to continue from (unchanged when
/// the op picks nothing yet). Other ops are the caller's.
fn submit(
    policy: &Policy,
    config: &TokenConfig,
    state: TokenState,
    ledger: &mut Ledger,
    shown: &[(u64, Code)],
    op: &Op,
    now: UnixTime,
) -> TokenState {
    let code_at = |c: u64| config.code_at(c);
    let (decision, submitted) = match *op {
        Op::Validate(p) => {
            let Some(code) = choose(shown, p, &code_at) else {
                return state;
            };
            (
                validate(policy, config, state, &code, now),
                vec![value(&code)],
            )
        }
        Op::Resync(a, b) => {
            let (Some(otp1), Some(otp2)) = (choose(shown, a, &code_at), choose(shown, b, &code_at))
            else {
                return state;
            };
            let d = resync(policy, config, state, &otp1, &otp2, now);
            (d, vec![value(&otp1), value(&otp2)])
        }
        Op::Press(_) | Op::Wait(_) | Op::Unlock => return state,
    };
    ledger.record(&decision, &submitted, |c| code_at(c).value());
    decision.new_state
}

proptest! {
    #[test]
    fn no_event_code_is_ever_accepted_twice(
        start in prop_oneof![0u64..2_000, (u64::MAX - 300)..u64::MAX],
        ops in ops(),
    ) {
        let policy = Policy::default();
        let config = event_config();
        let serial = Serial::parse("1000133508267").expect("vendor serial");
        let mut token = C100::new(serial, secret()).with_counter(start);
        let mut state = TokenState::event(start);
        let mut shown: Vec<(u64, Code)> = Vec::new();
        let mut ledger = Ledger::default();
        let now = UnixTime::from_secs(START);
        for op in ops {
            match op {
                Op::Press(n) => {
                    for _ in 0..n {
                        let Some(counter) = token.counter() else { break };
                        let code = token.press().expect("counter left");
                        shown.push((counter, code));
                    }
                }
                Op::Validate(_) | Op::Resync(..) => {
                    state = submit(&policy, &config, state, &mut ledger, &shown, &op, now);
                }
                Op::Wait(_) => {}
                Op::Unlock => state = unlock(state),
            }
            prop_assert_eq!(state.locked, state.failures >= policy.max_failures);
        }
    }

}

proptest! {
    // Each time resync computes 2,881 codes; fewer cases keep debug builds quick.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_time_code_is_ever_accepted_twice(ppm in -100.0f64..100.0, ops in ops()) {
        let policy = Policy::default();
        let config = time_config(STEP_60);
        let base = VirtualClock::new(UnixTime::from_secs(START));
        let mut token = c200(&base, ppm);
        let mut state = TokenState::time(None, 0);
        let mut shown: Vec<(u64, Code)> = Vec::new();
        let mut ledger = Ledger::default();
        for op in ops {
            let now = base.now();
            match op {
                Op::Press(n) => {
                    // A few presses within one step show one code; record it once.
                    for _ in 0..n.min(2) {
                        let step = token.clock().now().as_secs() / 60;
                        let code = token.press().expect("after T0");
                        shown.push((step, code));
                    }
                }
                Op::Validate(_) | Op::Resync(..) => {
                    state = submit(&policy, &config, state, &mut ledger, &shown, &op, now);
                }
                Op::Wait(secs) => base.advance(Duration::from_secs(secs.into())),
                Op::Unlock => state = unlock(state),
            }
            prop_assert_eq!(state.locked, state.failures >= policy.max_failures);
        }
    }
}

#[test]
fn the_state_the_core_returns_is_what_it_decides_on_next() {
    // Decisions chain: feeding `new_state` back in is all a caller does.
    let policy = Policy::default();
    let config = event_config();
    let code = |c: u64| config.code_at(c).to_string();
    let mut state = TokenState::event(0);
    let mut outcomes = Vec::new();
    for typed in [code(0), code(0), code(3), "99999".to_owned(), code(4)] {
        let d = validate(&policy, &config, state, &typed, UnixTime::EPOCH);
        assert_eq!(d.previous, state);
        outcomes.push(d.outcome.clone());
        state = d.new_state;
    }
    assert!(matches!(outcomes[1], Outcome::Rejected(Reason::Replayed)));
    assert_eq!(outcomes[4], Outcome::Accepted { matched: 4 });
    assert_eq!(state, TokenState::event(5));
}
