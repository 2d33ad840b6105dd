//! Replacing a user's physical OTP device (seed 000), as a state machine.
//!
//! ```text
//! AwaitingPassword ─ok─▶ AwaitingSmsCode ─ok─▶ AwaitingSerial ─ok─▶ AwaitingOtps ─ok─▶ Completed
//!        │ wrong: stay        │ wrong: stay; 3rd: Failed     │ wrong: stay          │ wrong: stay
//!        └─ any step after `attempt_validity` ─▶ Expired; SMS code older than 5 min ─▶ Expired
//! ```
//!
//! Sans-IO like the rest of the core: every step takes the facts the
//! caller looked up or computed (whether the password hash matched, a fresh
//! SMS code from its RNG, the inventory record of the typed serial, the new
//! token's key) and `now`, and returns the next state with the [`Effect`]s
//! the caller must carry out. Every wrong input keeps the attempt where it
//! is (except the last SMS try) and yields [`Effect::CountFailure`]: the
//! caller adds it to the account's failure count with
//! [`record_failure`](super::record_failure) and starts no attempt, nor
//! continues one, for a locked account.

use std::fmt;
use std::time::Duration;

use crate::clock::UnixTime;
use crate::device::{Family, Model, Serial, SerialError};
use crate::otp::Code;

use super::policy::Policy;
use super::reason::{Field, Reason};
use super::resync::{Landing, locate_pair, locate_single_time, parse_pair};
use super::sms::SmsCode;
use super::state::{TokenConfig, TokenState};

/// The steps of the flow, to name where an attempt is and what was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Password,
    SmsCode,
    Serial,
    Otps,
    Completed,
    Failed,
    Expired,
}

impl Stage {
    const ALL: [Stage; 7] = [
        Stage::Password,
        Stage::SmsCode,
        Stage::Serial,
        Stage::Otps,
        Stage::Completed,
        Stage::Failed,
        Stage::Expired,
    ];

    /// The stable name stores and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Password => "password",
            Stage::SmsCode => "sms_code",
            Stage::Serial => "serial",
            Stage::Otps => "otps",
            Stage::Completed => "completed",
            Stage::Failed => "failed",
            Stage::Expired => "expired",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The inverse of [`Stage::name`], from the same table.
impl std::str::FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(s: &str) -> Result<Stage, UnknownStage> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.name() == s)
            .ok_or(UnknownStage)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a replacement stage name")]
pub struct UnknownStage;

/// The SMS code sent, when, and how many wrong entries remain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentSms {
    pub code: SmsCode,
    pub sent_at: UnixTime,
    pub tries_left: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplacementState {
    AwaitingPassword,
    AwaitingSmsCode(SentSms),
    AwaitingSerial,
    /// The new device passed the inventory checks.
    AwaitingOtps {
        serial: Serial,
        model: Model,
    },
    Completed {
        serial: Serial,
    },
    Failed(Reason),
    Expired,
}

/// What the caller must do after a step, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send `code` by SMS to the phone bound to the account.
    SendSms { code: SmsCode },
    /// Add one failure to the account's lockout count.
    CountFailure,
    /// Mark the old device `replaced`, together with the bind below (one
    /// transaction).
    RetireDevice { serial: Serial },
    /// Bind the new device to the account with the state its codes
    /// established.
    BindDevice {
        serial: Serial,
        model: Model,
        state: TokenState,
    },
}

/// The inventory record of the serial the user typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InventoryFacts {
    pub model: Model,
    /// Already bound to an account (any account, this one included).
    pub assigned: bool,
    /// Usable: not suspended, revoked or retired.
    pub active: bool,
}

impl InventoryFacts {
    /// The one rule for binding a token to an account (admin assign or
    /// replacement): bound to nobody and not retired. The store's
    /// conditional writes repeat it in their `WHERE`, atomically.
    pub fn is_free(&self) -> bool {
        !self.assigned && self.active
    }
}

/// The result of one step: the attempt as it now is, whether the step was
/// accepted, and the effects to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Transition {
    pub replacement: Replacement,
    pub result: Result<(), Reason>,
    pub effects: Vec<Effect>,
}

/// One attempt to replace the device `old` of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement {
    old: Serial,
    started: UnixTime,
    state: ReplacementState,
}

impl Replacement {
    /// An attempt for the device the user picked, awaiting the password.
    pub fn start(old: Serial, now: UnixTime) -> Replacement {
        Replacement {
            old,
            started: now,
            state: ReplacementState::AwaitingPassword,
        }
    }

    /// An attempt as a store saved it, to take its next step.
    pub fn restore(old: Serial, started: UnixTime, state: ReplacementState) -> Replacement {
        Replacement {
            old,
            started,
            state,
        }
    }

    pub fn old_serial(&self) -> Serial {
        self.old
    }

    pub fn started(&self) -> UnixTime {
        self.started
    }

    pub fn state(&self) -> &ReplacementState {
        &self.state
    }

    pub fn stage(&self) -> Stage {
        match self.state {
            ReplacementState::AwaitingPassword => Stage::Password,
            ReplacementState::AwaitingSmsCode(_) => Stage::SmsCode,
            ReplacementState::AwaitingSerial => Stage::Serial,
            ReplacementState::AwaitingOtps { .. } => Stage::Otps,
            ReplacementState::Completed { .. } => Stage::Completed,
            ReplacementState::Failed(_) => Stage::Failed,
            ReplacementState::Expired => Stage::Expired,
        }
    }

    /// Step 1. `password_ok`: whether the caller's argon2 check passed.
    /// `sms_code` is sent only if it did.
    pub fn submit_password(
        self,
        policy: &Policy,
        password_ok: bool,
        sms_code: SmsCode,
        now: UnixTime,
    ) -> Transition {
        let mut this = match self.enter(policy, now) {
            Ok(this) => this,
            Err(refused) => return refused,
        };
        if this.state != ReplacementState::AwaitingPassword {
            return this.out_of_order(Stage::Password);
        }
        if !password_ok {
            return this.stay(Reason::WrongPassword);
        }
        this.state = ReplacementState::AwaitingSmsCode(SentSms {
            code: sms_code,
            sent_at: now,
            tries_left: policy.replacement.sms_code_tries,
        });
        this.advance(vec![Effect::SendSms { code: sms_code }])
    }

    /// Step 2: the SMS code as typed. A malformed entry uses a try too.
    pub fn submit_sms_code(self, policy: &Policy, typed: &str, now: UnixTime) -> Transition {
        let mut this = match self.enter(policy, now) {
            Ok(this) => this,
            Err(refused) => return refused,
        };
        let ReplacementState::AwaitingSmsCode(sent) = &mut this.state else {
            return this.out_of_order(Stage::SmsCode);
        };
        if !within(sent.sent_at, policy.replacement.sms_code_validity, now) {
            this.state = ReplacementState::Expired;
            return this.stay(Reason::SmsCodeExpired);
        }
        let wrong = match Code::parse(typed, SmsCode::DIGITS) {
            Ok(code) if sent.code.matches(code) => {
                this.state = ReplacementState::AwaitingSerial;
                return this.advance(Vec::new());
            }
            Ok(_) => Reason::WrongSmsCode,
            Err(error) => Reason::Malformed {
                field: Field::SmsCode,
                error,
            },
        };
        sent.tries_left = sent.tries_left.saturating_sub(1);
        if sent.tries_left == 0 {
            return this.fail(Reason::SmsTriesExhausted);
        }
        this.stay(wrong)
    }

    /// Step 3: the new device's serial as typed, and its inventory record
    /// (`None`: not in the inventory, or the typed text is no serial).
    pub fn submit_serial(
        self,
        policy: &Policy,
        typed: &str,
        inventory: Option<InventoryFacts>,
        now: UnixTime,
    ) -> Transition {
        let mut this = match self.enter(policy, now) {
            Ok(this) => this,
            Err(refused) => return refused,
        };
        if this.state != ReplacementState::AwaitingSerial {
            return this.out_of_order(Stage::Serial);
        }
        let serial = match policy.serial_layout.parse(typed) {
            Ok(serial) => serial,
            Err(error) => return this.stay(Reason::MalformedSerial(error)),
        };
        let Some(facts) = inventory else {
            return this.stay(Reason::UnknownSerial(serial));
        };
        if facts.assigned {
            return this.stay(Reason::SerialAssigned(serial));
        }
        if !facts.active {
            return this.stay(Reason::SerialInactive(serial));
        }
        // Parsed under this layout above: a family mismatch is the one
        // refusal left.
        if let Err(SerialError::FamilyMismatch(mismatch)) =
            policy.serial_layout.check_model(serial, facts.model)
        {
            return this.stay(Reason::WrongFamily(mismatch));
        }
        this.state = ReplacementState::AwaitingOtps {
            serial,
            model: facts.model,
        };
        this.advance(Vec::new())
    }

    /// Step 4: codes from the new device: one for a time token, two
    /// consecutive ones for an event token. `config` is the new device's
    /// key and `inventory` its state on the shelf (`TokenState::event(0)`
    /// for a fresh event token). Codes are searched over the resync window,
    /// as a resync would, which establishes the counter or drift to bind.
    pub fn submit_otps(
        self,
        policy: &Policy,
        otps: &[&str],
        config: &TokenConfig,
        inventory: TokenState,
        now: UnixTime,
    ) -> Transition {
        let mut this = match self.enter(policy, now) {
            Ok(this) => this,
            Err(refused) => return refused,
        };
        let ReplacementState::AwaitingOtps { serial, model } = this.state else {
            return this.out_of_order(Stage::Otps);
        };
        let configured = config.kind.family();
        if configured != model.family() {
            let reason = Reason::InventoryMismatch {
                serial,
                model,
                configured,
            };
            return this.stay(reason);
        }
        // A locked token stays locked until an admin unlocks it: binding it
        // would clear the lock (a bound device starts with no failures).
        if inventory.locked {
            return this.stay(Reason::Locked);
        }
        let landing = match (configured, otps) {
            (Family::Time, [otp]) => Code::parse(otp, config.digits)
                .map_err(|error| Reason::Malformed {
                    field: Field::Otp,
                    error,
                })
                .and_then(|code| locate_single_time(policy, config, inventory, code.value(), now)),
            (Family::Event, [otp1, otp2]) => parse_pair(config.digits, otp1, otp2)
                .and_then(|(a, b)| locate_pair(policy, config, inventory, a, b, now)),
            (Family::Time, _) | (Family::Event, _) => Err(Reason::WrongOtpCount {
                expected: otp_count(configured),
                found: otps.len(),
            }),
        };
        let Landing {
            next_counter,
            drift_steps,
            ..
        } = match landing {
            Ok(landing) => landing,
            Err(reason) => return this.stay(reason),
        };
        let state = TokenState {
            next_counter,
            drift_steps,
            failures: 0,
            locked: false,
        };
        this.state = ReplacementState::Completed { serial };
        let effects = vec![
            Effect::RetireDevice { serial: this.old },
            Effect::BindDevice {
                serial,
                model,
                state,
            },
        ];
        this.advance(effects)
    }

    /// The checks every step starts with: the attempt is still open and
    /// not past its time. Each step then checks it is the one awaited.
    /// The error is the step's whole answer, returned at once by the
    /// caller, so it is not boxed to shrink a `Result` that never travels.
    #[allow(clippy::result_large_err)]
    fn enter(mut self, policy: &Policy, now: UnixTime) -> Result<Self, Transition> {
        let stage = self.stage();
        if matches!(stage, Stage::Completed | Stage::Failed | Stage::Expired) {
            return Err(self.stay(Reason::AttemptOver(stage)));
        }
        if !within(self.started, policy.replacement.attempt_validity, now) {
            self.state = ReplacementState::Expired;
            return Err(self.stay(Reason::AttemptExpired));
        }
        Ok(self)
    }

    fn out_of_order(self, got: Stage) -> Transition {
        let expected = self.stage();
        self.stay(Reason::OutOfOrder { expected, got })
    }

    fn advance(self, effects: Vec<Effect>) -> Transition {
        Transition {
            replacement: self,
            result: Ok(()),
            effects,
        }
    }

    /// A rejection in the current state, counted if the reason counts.
    fn stay(self, reason: Reason) -> Transition {
        let effects = if reason.counts_as_failure() {
            vec![Effect::CountFailure]
        } else {
            Vec::new()
        };
        Transition {
            replacement: self,
            result: Err(reason),
            effects,
        }
    }

    fn fail(mut self, reason: Reason) -> Transition {
        self.state = ReplacementState::Failed(reason.clone());
        self.stay(reason)
    }
}

/// How many codes the new device must show: one for a time token, two
/// consecutive for an event token.
pub fn otp_count(family: Family) -> usize {
    match family {
        Family::Time => 1,
        Family::Event => 2,
    }
}

/// Whether `now` is before `since + validity`. A clock set back before
/// `since` counts as no time elapsed.
fn within(since: UnixTime, validity: Duration, now: UnixTime) -> bool {
    now.duration_since(since)
        .is_none_or(|elapsed| elapsed < validity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::SerialLayout;
    use crate::otp::TimeStep;
    use crate::verifier::testkit::{
        STEP_60, at_step, event_code, event_config, time_code, time_config,
    };
    use crate::verifier::{Outcome, validate};

    const T0: u64 = 1_700_000_000;
    const OLD: &str = "1000133508267";
    const NEW_EVENT: &str = "1000133508999";
    const NEW_TIME: &str = "2600124809778";

    fn policy() -> Policy {
        Policy::default()
    }

    fn at(secs: u64) -> UnixTime {
        UnixTime::from_secs(T0 + secs)
    }

    fn serial(s: &str) -> Serial {
        Serial::parse(s).expect("test serial")
    }

    fn sms() -> SmsCode {
        SmsCode::new(4_207).expect("six digits")
    }

    fn facts(model: Model) -> Option<InventoryFacts> {
        Some(InventoryFacts {
            model,
            assigned: false,
            active: true,
        })
    }

    fn start() -> Replacement {
        Replacement::start(serial(OLD), at(0))
    }

    fn ok(t: Transition) -> Replacement {
        assert_eq!(t.result, Ok(()), "{:?}", t.replacement.state());
        t.replacement
    }

    fn at_sms() -> Replacement {
        ok(start().submit_password(&policy(), true, sms(), at(10)))
    }

    fn at_serial() -> Replacement {
        ok(at_sms().submit_sms_code(&policy(), "004207", at(20)))
    }

    fn at_otps(typed: &str, model: Model) -> Replacement {
        ok(at_serial().submit_serial(&policy(), typed, facts(model), at(30)))
    }

    /// A rejection that keeps the attempt at `stage` and counts a failure.
    fn assert_counted(t: &Transition, reason: &Reason, stage: Stage) {
        assert_eq!(t.result.as_ref().err(), Some(reason));
        assert_eq!(t.effects, [Effect::CountFailure], "{reason:?}");
        assert_eq!(t.replacement.stage(), stage, "{reason:?}");
    }

    #[test]
    fn event_token_replacement_step_by_step() {
        let t = start().submit_password(&policy(), true, sms(), at(10));
        assert_eq!(t.effects, [Effect::SendSms { code: sms() }]);
        let r = ok(t);
        assert_eq!(r.stage(), Stage::SmsCode);
        let t = r.submit_sms_code(&policy(), "004207", at(20));
        assert!(t.effects.is_empty());
        let r = ok(t);
        assert_eq!(r.stage(), Stage::Serial);
        let r = ok(r.submit_serial(&policy(), NEW_EVENT, facts(Model::C100), at(30)));
        assert_eq!(
            r.state(),
            &ReplacementState::AwaitingOtps {
                serial: serial(NEW_EVENT),
                model: Model::C100
            }
        );
        // A fresh C100, pressed a few times on the way home.
        let config = event_config();
        let otps = [event_code(3), event_code(4)];
        let otps = [otps[0].as_str(), otps[1].as_str()];
        let t = r.submit_otps(&policy(), &otps, &config, TokenState::event(0), at(40));
        let bound = TokenState::event(5);
        assert_eq!(
            t.effects,
            [
                Effect::RetireDevice {
                    serial: serial(OLD)
                },
                Effect::BindDevice {
                    serial: serial(NEW_EVENT),
                    model: Model::C100,
                    state: bound
                }
            ]
        );
        let r = ok(t);
        assert_eq!(
            r.state(),
            &ReplacementState::Completed {
                serial: serial(NEW_EVENT)
            }
        );
        let next = validate(&policy(), &config, bound, &event_code(5), at(50));
        assert_eq!(next.outcome, Outcome::Accepted { matched: 5 });
    }

    #[test]
    fn usb_token_starts_from_its_inventory_counter() {
        let r = at_otps(NEW_EVENT, Model::Usb);
        let otps = [event_code(503), event_code(504)];
        let otps = [otps[0].as_str(), otps[1].as_str()];
        let t = r.submit_otps(
            &policy(),
            &otps,
            &event_config(),
            TokenState::event(500),
            at(40),
        );
        assert_eq!(t.result, Ok(()));
        assert!(t.effects.contains(&Effect::BindDevice {
            serial: serial(NEW_EVENT),
            model: Model::Usb,
            state: TokenState::event(505)
        }));
    }

    #[test]
    fn time_token_replacement_takes_one_code_and_learns_its_drift() {
        let r = at_otps(NEW_TIME, Model::C200);
        let config = time_config(STEP_60);
        let now = at(40);
        let now_step = now.as_secs() / 60;
        let otp = time_code(&config, now_step + 3);
        let t = r.submit_otps(
            &policy(),
            &[otp.as_str()],
            &config,
            TokenState::default(),
            now,
        );
        let bound = TokenState::time(Some(now_step + 3), 3);
        assert_eq!(
            t.effects,
            [
                Effect::RetireDevice {
                    serial: serial(OLD)
                },
                Effect::BindDevice {
                    serial: serial(NEW_TIME),
                    model: Model::C200,
                    state: bound
                }
            ]
        );
        let next_minute = at_step(STEP_60, now_step + 1, 5);
        let next = time_code(&config, now_step + 4);
        let v = validate(&policy(), &config, bound, &next, next_minute);
        assert_eq!(
            v.outcome,
            Outcome::Accepted {
                matched: now_step + 4
            }
        );
    }

    #[test]
    fn wrong_password_stays_and_counts() {
        let t = start().submit_password(&policy(), false, sms(), at(10));
        assert_counted(&t, &Reason::WrongPassword, Stage::Password);
        ok(t.replacement
            .submit_password(&policy(), true, sms(), at(11)));
    }

    #[test]
    fn three_wrong_sms_codes_end_the_attempt() {
        let t = at_sms().submit_sms_code(&policy(), "000000", at(20));
        assert_counted(&t, &Reason::WrongSmsCode, Stage::SmsCode);
        let t = t.replacement.submit_sms_code(&policy(), "42O7", at(21));
        assert!(matches!(
            t.result,
            Err(Reason::Malformed {
                field: Field::SmsCode,
                ..
            })
        ));
        assert_eq!(t.effects, [Effect::CountFailure]);
        let t = t.replacement.submit_sms_code(&policy(), "111111", at(22));
        assert_eq!(t.result, Err(Reason::SmsTriesExhausted));
        assert_eq!(t.effects, [Effect::CountFailure]);
        assert_eq!(
            t.replacement.state(),
            &ReplacementState::Failed(Reason::SmsTriesExhausted)
        );
        // Even the right code is refused now, and not counted.
        let t = t.replacement.submit_sms_code(&policy(), "004207", at(23));
        assert_eq!(t.result, Err(Reason::AttemptOver(Stage::Failed)));
        assert!(t.effects.is_empty());
    }

    #[test]
    fn a_wrong_sms_code_then_the_right_one() {
        let t = at_sms().submit_sms_code(&policy(), "000000", at(20));
        let r = ok(t.replacement.submit_sms_code(&policy(), "004207", at(21)));
        assert_eq!(r.stage(), Stage::Serial);
    }

    #[test]
    fn the_sms_code_is_valid_for_five_minutes() {
        // Sent at 10 s: accepted up to 309.999 s, refused at 310 s.
        let last = UnixTime::from_nanos(at(310).as_nanos() - 1);
        ok(at_sms().submit_sms_code(&policy(), "004207", last));
        let t = at_sms().submit_sms_code(&policy(), "004207", at(310));
        assert_eq!(t.result, Err(Reason::SmsCodeExpired));
        assert!(t.effects.is_empty());
        assert_eq!(t.replacement.state(), &ReplacementState::Expired);
        let t = t.replacement.submit_sms_code(&policy(), "004207", at(311));
        assert_eq!(t.result, Err(Reason::AttemptOver(Stage::Expired)));
    }

    #[test]
    fn every_serial_refusal_stays_and_counts() {
        let inactive = InventoryFacts {
            model: Model::C100,
            assigned: false,
            active: false,
        };
        let assigned = InventoryFacts {
            assigned: true,
            ..inactive
        };
        let layout = SerialLayout::Provider;
        let malformed = layout.parse("10001335O8267").expect_err("malformed");
        let Err(SerialError::FamilyMismatch(mismatch)) =
            layout.check_model(serial(NEW_TIME), Model::C100)
        else {
            panic!("a time serial for an event model is a family mismatch");
        };
        let cases = [
            ("10001335O8267", None, Reason::MalformedSerial(malformed)),
            (NEW_EVENT, None, Reason::UnknownSerial(serial(NEW_EVENT))),
            (
                NEW_EVENT,
                Some(assigned),
                Reason::SerialAssigned(serial(NEW_EVENT)),
            ),
            (
                NEW_EVENT,
                Some(inactive),
                Reason::SerialInactive(serial(NEW_EVENT)),
            ),
            (NEW_TIME, facts(Model::C100), Reason::WrongFamily(mismatch)),
        ];
        let mut r = at_serial();
        for (typed, inventory, reason) in cases {
            let t = r.submit_serial(&policy(), typed, inventory, at(30));
            assert_counted(&t, &reason, Stage::Serial);
            r = t.replacement;
        }
        ok(r.submit_serial(&policy(), NEW_TIME, facts(Model::C200), at(31)));
    }

    #[test]
    fn every_event_otp_refusal_stays_and_counts() {
        let config = event_config();
        let code = |c: u64| event_code(c);
        let cases: [(Vec<String>, Reason); 7] = [
            (
                vec![code(0)],
                Reason::WrongOtpCount {
                    expected: 2,
                    found: 1,
                },
            ),
            (
                vec![code(0), code(1), code(2)],
                Reason::WrongOtpCount {
                    expected: 2,
                    found: 3,
                },
            ),
            (vec![code(6), code(6)], Reason::SameCode),
            (vec![code(7), code(6)], Reason::Reversed),
            (vec![code(6), code(8)], Reason::NotConsecutive),
            (vec![code(1_010), code(1_011)], Reason::OutsideWindow),
            (vec![code(3), code(4)], Reason::Replayed),
        ];
        let mut r = at_otps(NEW_EVENT, Model::C100);
        // The inventory says 5 codes were used at the factory.
        let shelf = TokenState::event(5);
        for (otps, reason) in cases {
            let otps: Vec<&str> = otps.iter().map(String::as_str).collect();
            let t = r.submit_otps(&policy(), &otps, &config, shelf, at(40));
            assert_counted(&t, &reason, Stage::Otps);
            r = t.replacement;
        }
        let t = r.submit_otps(&policy(), &["12345", "123456"], &config, shelf, at(40));
        assert!(matches!(
            t.result,
            Err(Reason::Malformed {
                field: Field::Otp1,
                ..
            })
        ));
        assert_eq!(t.effects, [Effect::CountFailure]);
    }

    #[test]
    fn a_time_code_at_the_edge_of_the_replacement_window_is_taken() {
        let config = time_config(STEP_60);
        let now = at(40);
        let now_step = now.as_secs() / 60;
        for offset in [-10i64, 10] {
            let step = now_step.checked_add_signed(offset).unwrap();
            let otp = time_code(&config, step);
            let t = at_otps(NEW_TIME, Model::C200).submit_otps(
                &policy(),
                &[otp.as_str()],
                &config,
                TokenState::default(),
                now,
            );
            assert_eq!(t.result, Ok(()), "offset {offset}");
        }
    }

    #[test]
    fn every_time_otp_refusal_stays_and_counts() {
        let config = time_config(TimeStep::SECONDS_30);
        let now = at(40);
        let now_step = now.as_secs() / 30;
        // Just past the replacement's ±10 steps: refused although a
        // two-code resync would reach it.
        let far = time_code(&config, now_step + 11);
        let near = time_code(&config, now_step);
        let mut r = at_otps(NEW_TIME, Model::C200);
        let cases: [(Vec<&str>, Reason); 3] = [
            (
                vec![&near, &near],
                Reason::WrongOtpCount {
                    expected: 1,
                    found: 2,
                },
            ),
            (
                vec![],
                Reason::WrongOtpCount {
                    expected: 1,
                    found: 0,
                },
            ),
            (vec![&far], Reason::OutsideWindow),
        ];
        for (otps, reason) in cases {
            let t = r.submit_otps(&policy(), &otps, &config, TokenState::default(), now);
            assert_counted(&t, &reason, Stage::Otps);
            r = t.replacement;
        }
        let t = r.submit_otps(&policy(), &["abcdef"], &config, TokenState::default(), now);
        assert!(matches!(
            t.result,
            Err(Reason::Malformed {
                field: Field::Otp,
                ..
            })
        ));
        ok(t.replacement
            .submit_otps(&policy(), &[&near], &config, TokenState::default(), now));
    }

    #[test]
    fn a_locked_spare_is_not_bound_and_keeps_its_lock() {
        let r = at_otps(NEW_EVENT, Model::C100);
        let otps = [event_code(0), event_code(1)];
        let locked = TokenState {
            locked: true,
            failures: 10,
            ..TokenState::event(0)
        };
        let t = r.submit_otps(
            &policy(),
            &[otps[0].as_str(), otps[1].as_str()],
            &event_config(),
            locked,
            at(40),
        );
        assert_eq!(t.result, Err(Reason::Locked));
        assert!(
            t.effects.is_empty(),
            "no bind, and a lock is not a new failure"
        );
        assert_eq!(t.replacement.stage(), Stage::Otps);
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_an_inventory_fault_not_a_user_failure() {
        let r = at_otps(NEW_TIME, Model::C200);
        let t = r.submit_otps(
            &policy(),
            &["123456"],
            &event_config(),
            TokenState::default(),
            at(40),
        );
        assert_eq!(
            t.result,
            Err(Reason::InventoryMismatch {
                serial: serial(NEW_TIME),
                model: Model::C200,
                configured: Family::Event
            })
        );
        assert!(t.effects.is_empty());
        assert_eq!(t.replacement.stage(), Stage::Otps);
    }

    #[test]
    fn steps_out_of_order_are_refused_and_counted() {
        let t = start().submit_serial(&policy(), NEW_EVENT, facts(Model::C100), at(5));
        let reason = Reason::OutOfOrder {
            expected: Stage::Password,
            got: Stage::Serial,
        };
        assert_counted(&t, &reason, Stage::Password);
        let t = at_serial().submit_sms_code(&policy(), "004207", at(30));
        let reason = Reason::OutOfOrder {
            expected: Stage::Serial,
            got: Stage::SmsCode,
        };
        assert_counted(&t, &reason, Stage::Serial);
        let config = event_config();
        let t = at_sms().submit_otps(
            &policy(),
            &["1", "2"],
            &config,
            TokenState::event(0),
            at(30),
        );
        assert_eq!(
            t.result,
            Err(Reason::OutOfOrder {
                expected: Stage::SmsCode,
                got: Stage::Otps
            })
        );
        let t = at_otps(NEW_EVENT, Model::C100).submit_password(&policy(), true, sms(), at(40));
        assert_eq!(t.effects, [Effect::CountFailure], "no second SMS is sent");
    }

    #[test]
    fn a_completed_attempt_accepts_nothing_more() {
        let otps = [event_code(0), event_code(1)];
        let otps = [otps[0].as_str(), otps[1].as_str()];
        let config = event_config();
        let r = at_otps(NEW_EVENT, Model::C100);
        let done = ok(r.submit_otps(&policy(), &otps, &config, TokenState::event(0), at(40)));
        let t = done
            .clone()
            .submit_otps(&policy(), &otps, &config, TokenState::event(0), at(41));
        assert_eq!(t.result, Err(Reason::AttemptOver(Stage::Completed)));
        assert!(t.effects.is_empty());
        let t = done.submit_password(&policy(), true, sms(), at(42));
        assert_eq!(t.result, Err(Reason::AttemptOver(Stage::Completed)));
    }

    #[test]
    fn the_attempt_expires_after_fifteen_minutes() {
        let r = at_otps(NEW_EVENT, Model::C100);
        let otps = [event_code(0), event_code(1)];
        let otps = [otps[0].as_str(), otps[1].as_str()];
        let t = r.submit_otps(
            &policy(),
            &otps,
            &event_config(),
            TokenState::event(0),
            at(900),
        );
        assert_eq!(t.result, Err(Reason::AttemptExpired));
        assert!(t.effects.is_empty());
        assert_eq!(t.replacement.state(), &ReplacementState::Expired);
        // One second earlier it would have completed.
        let r = at_otps(NEW_EVENT, Model::C100);
        ok(r.submit_otps(
            &policy(),
            &otps,
            &event_config(),
            TokenState::event(0),
            at(899),
        ));
    }

    #[test]
    fn debug_of_an_attempt_hides_the_sms_code() {
        let shown = format!("{:?}", at_sms());
        assert!(shown.contains("SmsCode(redacted)"), "{shown}");
        assert!(!shown.contains("4207"), "{shown}");
    }
}
