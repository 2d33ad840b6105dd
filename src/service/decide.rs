//! Validation and resync: the thin I/O shell around the sans-IO verifier
//! core.
//!
//! Every request is load → decide ([`validate`] / [`resync`]) → apply with
//! compare-and-set and write the audit row, in one transaction. When the compare-and-set loses (another
//! connection changed the token in between), the token is re-read and the
//! core asked again, so the loser of a race on one code sees the winner's
//! counter and gets `Replayed`. Retries are bounded: each loss means some
//! other request made progress, so a bound is only hit under a flood.

use crate::clock::UnixTime;
use crate::device::Serial;
use crate::user::{TaxCode, UserCode};
use crate::verifier::{
    Decision, Outcome, Reason, TokenState, record_failure, resync, unlock, validate,
};

use super::Service;
use super::replacement::decoy_hash;
use crate::store::{AuditAction, AuditOutcome, AuditRecord, StoreError, StoredToken, TokenStatus};

/// Compare-and-set attempts per request before giving up with
/// [`StoreError::Contention`].
pub const MAX_ATTEMPTS: u32 = 32;

impl Service {
    /// Checks one code against a token named by serial.
    pub fn check_serial(
        &self,
        serial: Serial,
        otp: &str,
        now: UnixTime,
    ) -> Result<Outcome, StoreError> {
        self.decide(AuditAction::Check, serial, None, now, |token| {
            validate(&self.policy, &token.config, token.state, otp, now)
        })
    }

    /// Checks one code against the user's active token.
    pub fn check_user(
        &self,
        username: &TaxCode,
        otp: &str,
        now: UnixTime,
    ) -> Result<Outcome, StoreError> {
        let serial = self.active_serial(username)?;
        self.decide(AuditAction::Check, serial, Some(*username), now, |token| {
            validate(&self.policy, &token.config, token.state, otp, now)
        })
    }

    /// Checks the account password and then one code, sent as one string
    /// (RADIUS clients set to `password_and_otp`): its last characters,
    /// as many as the user's token has digits, are the code; the rest is
    /// the password. The password is checked first with argon2 (slow: run
    /// this where it holds no batch open); a wrong one is rejected as
    /// `wrong_password`, counted on the token like a wrong code and
    /// audited, and no code is decided. A locked token says `locked`
    /// whatever the password. An unknown user costs an argon2 check too,
    /// so timing does not tell which tax codes exist.
    pub fn check_user_password_otp(
        &self,
        username: &TaxCode,
        password_then_otp: &str,
        now: UnixTime,
    ) -> Result<Outcome, StoreError> {
        let Some(user) = self.store.user(username)? else {
            let _ = decoy_hash().is_some_and(|hash| hash.verify(password_then_otp));
            return Err(StoreError::UnknownUser(*username));
        };
        let serial = self.active_serial(username)?;
        let digits = self
            .store
            .token(serial)?
            .ok_or(StoreError::UnknownSerial(serial))?
            .config
            .digits;
        let split = password_then_otp
            .len()
            .checked_sub(usize::from(digits.get()))
            .filter(|&at| password_then_otp.is_char_boundary(at));
        let otp = match split {
            Some(at) if user.password.verify(&password_then_otp[..at]) => &password_then_otp[at..],
            _ => {
                return self.decide(AuditAction::Check, serial, Some(*username), now, |token| {
                    let (reason, new_state) = if token.state.locked {
                        (Reason::Locked, token.state)
                    } else {
                        (
                            Reason::WrongPassword,
                            record_failure(&self.policy, token.state),
                        )
                    };
                    Decision {
                        outcome: Outcome::Rejected(reason),
                        previous: token.state,
                        new_state,
                    }
                });
            }
        };
        self.decide(AuditAction::Check, serial, Some(*username), now, |token| {
            validate(&self.policy, &token.config, token.state, otp, now)
        })
    }

    /// Two-OTP resync of a token named by serial.
    pub fn resync_serial(
        &self,
        serial: Serial,
        otp1: &str,
        otp2: &str,
        now: UnixTime,
    ) -> Result<Outcome, StoreError> {
        self.decide(AuditAction::Resync, serial, None, now, |token| {
            resync(&self.policy, &token.config, token.state, otp1, otp2, now)
        })
    }

    /// Two-OTP resync of the active token of the user whose licence card
    /// carries `user_code`.
    pub fn resync_user_code(
        &self,
        user_code: &UserCode,
        otp1: &str,
        otp2: &str,
        now: UnixTime,
    ) -> Result<Outcome, StoreError> {
        let user = self
            .store
            .user_by_user_code(user_code)?
            .ok_or(StoreError::UnknownUserCode)?;
        let serial = self.active_serial(&user.username)?;
        self.decide(
            AuditAction::Resync,
            serial,
            Some(user.username),
            now,
            |token| resync(&self.policy, &token.config, token.state, otp1, otp2, now),
        )
    }

    fn active_serial(&self, username: &TaxCode) -> Result<Serial, StoreError> {
        if self.store.user(username)?.is_none() {
            return Err(StoreError::UnknownUser(*username));
        }
        self.store
            .active_serial_of(username)?
            .ok_or(StoreError::NoActiveToken(*username))
    }

    /// The load → decide → compare-and-set loop, then one audit row.
    fn decide(
        &self,
        action: AuditAction,
        serial: Serial,
        username: Option<TaxCode>,
        now: UnixTime,
        core: impl Fn(&StoredToken) -> Decision,
    ) -> Result<Outcome, StoreError> {
        self.until_written(serial, || {
            let token = self
                .store
                .token(serial)?
                .ok_or(StoreError::UnknownSerial(serial))?;
            // A retired token is never accepted again, and nothing changes.
            let decision = if token.status == TokenStatus::Replaced {
                Decision {
                    outcome: Outcome::Rejected(Reason::SerialInactive(serial)),
                    previous: token.state,
                    new_state: token.state,
                }
            } else {
                core(&token)
            };
            let (audit_outcome, reason) = match decision.reason() {
                None => (AuditOutcome::Accepted, None),
                Some(reason) => (AuditOutcome::Rejected, Some(reason.code())),
            };
            let record = AuditRecord {
                at: now,
                action,
                serial: Some(serial),
                username: username.or(token.username),
                outcome: audit_outcome,
                reason,
            };
            Ok((decision, record))
        })
        .map(|decision| decision.outcome)
    }

    /// The admin unlock: clears the lock and failures, keeps counter and
    /// drift ([`unlock`]), by compare-and-set like every other change of a
    /// token's state. Returns the state written.
    pub fn unlock(&self, serial: Serial, now: UnixTime) -> Result<TokenState, StoreError> {
        let decision = self.until_written(serial, || {
            let token = self
                .store
                .token_summary(serial)?
                .ok_or(StoreError::UnknownSerial(serial))?;
            let record = AuditRecord {
                at: now,
                action: AuditAction::Unlock,
                serial: Some(serial),
                username: token.username,
                outcome: AuditOutcome::Done,
                reason: None,
            };
            // The store writes only the states and the audit row; the
            // outcome of an admin change is never read.
            let change = Decision {
                outcome: Outcome::Accepted {
                    matched: token.state.next_counter,
                },
                previous: token.state,
                new_state: unlock(token.state),
            };
            Ok((change, record))
        })?;
        Ok(decision.new_state)
    }

    /// The one compare-and-set loop every change of a token's state goes
    /// through: `read` loads the token and says what to write with which
    /// audit row; when another connection changed the token in between,
    /// it is read and asked again. Returns the decision written.
    pub(super) fn until_written(
        &self,
        serial: Serial,
        read: impl Fn() -> Result<(Decision, AuditRecord), StoreError>,
    ) -> Result<Decision, StoreError> {
        for _ in 0..MAX_ATTEMPTS {
            let (decision, record) = read()?;
            match self.store.apply_audited(serial, &decision, &record) {
                Ok(_) => return Ok(decision),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Contention {
            serial,
            attempts: MAX_ATTEMPTS,
        })
    }
}
