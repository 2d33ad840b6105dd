//! The `builtin` target: tokenrig's own verifier in process, on a fresh
//! SQLite file per case, deciding at the harness's virtual time. The same
//! `Service` the server runs, minus HTTP. [`Builtin::on_wall_clock`]
//! decides on the wall clock instead, as a verifier in production does:
//! the real-time runner's in-process test bed.

use tempfile::TempDir;

use super::target::{
    ClockControl, Offers, Started, Subject, Target, TargetError, TokenSpec, UserSpec, Verdict,
    inventory_csv,
};
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::device::Serial;
use crate::inventory::{self, Format};
use crate::service::{ReplacementError, Service};
use crate::store::{AttemptId, SecretSource, Store, StoreError, StoreSecret};
use crate::user::{HashParams, PasswordHash, PhoneNumber, TaxCode, User, UserCode};
use crate::verifier::{Outcome, Policy};

/// Password hashing is not what a conformance case tests; a light argon2
/// keeps a suite of a hundred users fast. (The server uses the default.)
const LIGHT_HASH: HashParams = HashParams {
    memory_kib: 64,
    iterations: 1,
    lanes: 1,
};

pub struct Builtin {
    policy: Policy,
    /// The instant the harness set; ignored on the wall clock.
    now: UnixTime,
    wall_clock: bool,
    /// The current case's store and the directory holding it.
    case: Option<(Service, TempDir)>,
}

impl Builtin {
    pub fn new(policy: Policy) -> Builtin {
        Builtin {
            policy,
            now: UnixTime::EPOCH,
            wall_clock: false,
            case: None,
        }
    }

    /// Decides on the system clock, offering no clock control.
    pub fn on_wall_clock(policy: Policy) -> Builtin {
        Builtin {
            wall_clock: true,
            ..Builtin::new(policy)
        }
    }

    /// The instant to decide at.
    fn now(&self) -> UnixTime {
        if self.wall_clock {
            SystemClock.now()
        } else {
            self.now
        }
    }

    fn verifier(&self) -> Result<&Service, TargetError> {
        self.case
            .as_ref()
            .map(|(v, _)| v)
            .ok_or_else(|| TargetError::Failed("no case begun".to_owned()))
    }
}

fn failed(e: impl std::fmt::Display) -> TargetError {
    TargetError::Failed(e.to_string())
}

/// A decision, or the store's answer about the subject, as a verdict.
fn verdict(result: Result<Outcome, StoreError>) -> Result<Verdict, TargetError> {
    match result {
        Ok(Outcome::Accepted { .. }) => Ok(Verdict::accepted()),
        Ok(Outcome::Rejected(reason)) => Ok(Verdict::rejected(reason.code())),
        Err(StoreError::UnknownUser(_)) => Ok(Verdict::rejected("unknown_user")),
        Err(StoreError::UnknownSerial(_)) => Ok(Verdict::rejected("unknown_serial")),
        Err(StoreError::UnknownUserCode) => Ok(Verdict::rejected("unknown_user_code")),
        Err(StoreError::NoActiveToken(_)) => Ok(Verdict::rejected("no_active_token")),
        Err(e) => Err(failed(e)),
    }
}

/// A replacement step's result: its value, or the reason it was refused.
fn step<T>(result: Result<T, ReplacementError>) -> Result<Result<T, String>, TargetError> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(ReplacementError::Rejected(reason)) => Ok(Err(reason.code().to_owned())),
        Err(ReplacementError::UnknownAttempt) => Ok(Err("unknown_attempt".to_owned())),
        Err(ReplacementError::NotActiveDevice(_)) => Ok(Err("not_active_device".to_owned())),
        Err(e) => Err(failed(e)),
    }
}

/// A later replacement step's result as a verdict.
fn step_verdict<T>(result: Result<T, ReplacementError>) -> Result<Verdict, TargetError> {
    Ok(match step(result)? {
        Ok(_) => Verdict::accepted(),
        Err(reason) => Verdict::rejected(reason),
    })
}

impl Target for Builtin {
    fn name(&self) -> String {
        "builtin".to_owned()
    }

    fn offers(&self) -> Offers {
        Offers::everything(if self.wall_clock {
            ClockControl::None
        } else {
            ClockControl::PerCase
        })
    }

    fn begin_case(&mut self) -> Result<(), TargetError> {
        self.case = None;
        let dir = tempfile::tempdir().map_err(failed)?;
        let url = format!("sqlite:{}", dir.path().join("case.db").display());
        let secret = StoreSecret::generate().map_err(failed)?;
        let store = Store::open_with(&url, &SecretSource::Given(secret)).map_err(failed)?;
        self.case = Some((Service::new(store, self.policy.clone()), dir));
        Ok(())
    }

    fn set_time(&mut self, now: UnixTime) -> Result<(), TargetError> {
        self.now = now;
        Ok(())
    }

    fn import(&mut self, tokens: &[TokenSpec]) -> Result<(), TargetError> {
        let csv = inventory_csv(tokens);
        let entries = inventory::parse(csv.as_bytes(), Format::Csv, None).map_err(failed)?;
        self.verifier()?
            .import(&entries, self.now())
            .map(|_| ())
            .map_err(failed)
    }

    fn add_user(&mut self, user: &UserSpec) -> Result<(), TargetError> {
        let phone = PhoneNumber::parse(&user.phone).map_err(failed)?;
        let code = UserCode::parse(&user.user_code).map_err(failed)?;
        let hash = PasswordHash::new_with_params(&user.password, LIGHT_HASH).map_err(failed)?;
        self.verifier()?
            .add_user(&User::new(user.tax_code, phone, code, hash), self.now())
            .map_err(failed)
    }

    fn assign(&mut self, user: &TaxCode, serial: Serial) -> Result<(), TargetError> {
        self.verifier()?
            .assign(user, serial, self.now())
            .map_err(failed)
    }

    fn validate(&mut self, subject: &Subject, otp: &str) -> Result<Verdict, TargetError> {
        let v = self.verifier()?;
        verdict(match subject {
            Subject::Serial(serial) => v.check_serial(*serial, otp, self.now()),
            Subject::User(user) => v.check_user(user, otp, self.now()),
            Subject::UserCode(_) => {
                return Err(TargetError::Failed(
                    "validate takes a serial or a user".to_owned(),
                ));
            }
        })
    }

    fn resync(
        &mut self,
        subject: &Subject,
        otp1: &str,
        otp2: &str,
    ) -> Result<Verdict, TargetError> {
        let v = self.verifier()?;
        verdict(match subject {
            Subject::Serial(serial) => v.resync_serial(*serial, otp1, otp2, self.now()),
            Subject::UserCode(code) => match UserCode::parse(code) {
                Ok(code) => v.resync_user_code(&code, otp1, otp2, self.now()),
                Err(_) => return Ok(Verdict::rejected("unknown_user_code")),
            },
            Subject::User(_) => {
                return Err(TargetError::Failed(
                    "resync takes a serial or a user code".to_owned(),
                ));
            }
        })
    }

    fn unlock(&mut self, serial: Serial) -> Result<(), TargetError> {
        self.verifier()?
            .unlock(serial, self.now())
            .map(|_| ())
            .map_err(failed)
    }

    fn replace_start(
        &mut self,
        user: &TaxCode,
        password: &str,
        old: Serial,
    ) -> Result<Started, TargetError> {
        let now = self.now();
        let v = self.verifier()?;
        Ok(match step(v.start_replacement(user, password, old, now))? {
            Ok((id, _)) => Started::Attempt(id.as_str().to_owned()),
            Err(reason) => Started::Rejected(reason),
        })
    }

    fn latest_sms_code(&mut self, phone: &str) -> Result<String, TargetError> {
        let phone = PhoneNumber::parse(phone).map_err(failed)?;
        let outbox = self.verifier()?.sms_outbox(Some(&phone)).map_err(failed)?;
        outbox
            .last()
            .map(|m| m.code.to_string())
            .ok_or_else(|| TargetError::Failed(format!("no SMS sent to {}", phone.as_str())))
    }

    fn replace_sms_code(&mut self, attempt: &str, code: &str) -> Result<Verdict, TargetError> {
        let now = self.now();
        let v = self.verifier()?;
        let result = attempt
            .parse::<AttemptId>()
            .map_err(ReplacementError::from)
            .and_then(|id| v.replacement_sms_code(&id, code, now));
        step_verdict(result)
    }

    fn replace_device(&mut self, attempt: &str, serial: &str) -> Result<Verdict, TargetError> {
        let now = self.now();
        let v = self.verifier()?;
        let result = attempt
            .parse::<AttemptId>()
            .map_err(ReplacementError::from)
            .and_then(|id| v.replacement_device(&id, serial, now));
        step_verdict(result)
    }

    fn replace_otps(&mut self, attempt: &str, otps: &[String]) -> Result<Verdict, TargetError> {
        let now = self.now();
        let v = self.verifier()?;
        let otps: Vec<&str> = otps.iter().map(String::as_str).collect();
        let result = attempt
            .parse::<AttemptId>()
            .map_err(ReplacementError::from)
            .and_then(|id| v.replacement_otps(&id, &otps, now));
        step_verdict(result)
    }
}
