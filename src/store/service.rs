//! [`Verifier`]: the thin I/O shell around the sans-IO verifier core.
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
use crate::verifier::{Decision, Outcome, Policy, Reason, resync, validate};

use super::{AuditAction, AuditOutcome, AuditRecord, Store, StoreError, StoredToken, TokenStatus};

/// Compare-and-set attempts per request before giving up with
/// [`StoreError::Contention`].
pub const MAX_ATTEMPTS: u32 = 32;

/// A store and the policy its decisions follow.
#[derive(Debug)]
pub struct Verifier {
    pub store: Store,
    pub policy: Policy,
}

impl Verifier {
    pub fn new(store: Store, policy: Policy) -> Verifier {
        Verifier { store, policy }
    }

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
        for _ in 0..MAX_ATTEMPTS {
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
            match self.store.apply_audited(serial, &decision, &record) {
                Ok(_) => return Ok(decision.outcome),
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
