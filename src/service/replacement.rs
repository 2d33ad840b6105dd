//! The device replacement flow (seed 000) made durable, for a server: the
//! sans-IO [`Replacement`] state machine, each step loaded from and saved
//! to the `replacements` table, its [`Effect`]s carried out.
//!
//! Every step is load → decide → compare-and-set on the attempt's
//! `version`, so requests racing on one attempt (in one process or in
//! several sharing a PostgreSQL) never both take a step: the loser gets
//! [`ReplacementError::Raced`]. The last step's device swap commits in the
//! same transaction as the attempt's move to `completed`.
//!
//! Every refusal is written like a refused code: an audit row on the
//! account's active (old) token, and one more failure on it when the
//! reason counts, which can lock it; a locked token refuses every step.

use std::sync::OnceLock;

use rand::TryRng;
use rand::rngs::SysRng;

use super::Service;
use super::SmsRoute;
use crate::clock::UnixTime;
use crate::device::Serial;
use crate::error::ErrorKind;
use crate::store::{
    AttemptId, AuditAction, AuditOutcome, AuditRecord, DeviceSwap, NewSms, NoSuchAttempt,
    SmsStatus, StoreError, StoredAttempt, StoredToken, TokenStatus,
};
use crate::user::{PasswordHash, TaxCode};
use crate::verifier::{
    Decision, Effect, Outcome, Reason, Replacement, ReplacementState, SmsCode, TokenState,
    Transition, otp_count, record_failure,
};

/// Why a replacement step did not go through.
#[derive(Debug, thiserror::Error)]
pub enum ReplacementError {
    /// Refused by the flow's rules; show the user
    /// [`Reason::user_message`], log [`Reason::code`].
    #[error("replacement step refused: {0}")]
    Rejected(Reason),
    #[error("no replacement attempt has this id")]
    UnknownAttempt,
    #[error("the operating system's random number generator failed")]
    Entropy,
    /// The password was right, but the device picked is not the account's.
    #[error("serial {0} is not the account's active device")]
    NotActiveDevice(Serial),
    /// Another request took a step of this attempt (or moved one of its
    /// devices) between this one's read and write; nothing was written.
    #[error("the attempt changed during this request; try again")]
    Raced,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ReplacementError {
    /// What kind of failure this is. A refusal is the input's fault; how
    /// each reason is answered is the reason's to say.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReplacementError::Rejected(_) | ReplacementError::NotActiveDevice(_) => {
                ErrorKind::Invalid
            }
            ReplacementError::UnknownAttempt => ErrorKind::NotFound,
            ReplacementError::Raced => ErrorKind::Conflict,
            ReplacementError::Entropy => ErrorKind::Internal,
            ReplacementError::Store(e) => e.kind(),
        }
    }

    /// The stable reason id a client sees with the error, if it has one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            ReplacementError::Rejected(reason) => Some(reason.code()),
            ReplacementError::NotActiveDevice(_) => Some("not_active_device"),
            ReplacementError::Raced => Some("raced"),
            ReplacementError::UnknownAttempt
            | ReplacementError::Entropy
            | ReplacementError::Store(_) => None,
        }
    }
}

impl From<NoSuchAttempt> for ReplacementError {
    fn from(_: NoSuchAttempt) -> ReplacementError {
        ReplacementError::UnknownAttempt
    }
}

/// An attempt as read, with its old device: what every step needs.
struct Loaded {
    read: StoredAttempt,
    old: StoredToken,
}

impl Service {
    /// Step 1: checks the password (argon2, slow: outside any transaction),
    /// then stores a new attempt for the account's active device
    /// `old_serial` with the SMS carrying a code from the OS RNG, in one
    /// transaction: `sent` where the outbox is the destination, else
    /// `queued` for the dispatcher, which is woken. A wrong password
    /// stores nothing and counts a failure on the active device; an
    /// unknown user reads as a wrong password.
    pub fn start_replacement(
        &self,
        username: &TaxCode,
        password: &str,
        old_serial: Serial,
        now: UnixTime,
    ) -> Result<(AttemptId, SmsStatus), ReplacementError> {
        let Some(user) = self.store.user(username)? else {
            // Spend the time a real check takes, so response times do not
            // tell which usernames exist.
            let _ = decoy_hash().is_some_and(|hash| hash.verify(password));
            return Err(ReplacementError::Rejected(Reason::WrongPassword));
        };
        let active = self.store.active_serial_of(username)?;
        if let Some(serial) = active {
            let token = self.old_token(serial)?;
            if token.state.locked {
                return Err(self.refuse(serial, username, Reason::Locked, false, now)?);
            }
        }
        let password_ok = user.password.verify(password);
        let code = random_sms_code()?;
        let t = Replacement::start(old_serial, now).submit_password(
            &self.policy,
            password_ok,
            code,
            now,
        );
        if let Err(reason) = t.result {
            let counted = t.effects.contains(&Effect::CountFailure);
            return match active {
                Some(serial) => Err(self.refuse(serial, username, reason, counted, now)?),
                None => Err(ReplacementError::Rejected(reason)),
            };
        }
        if active != Some(old_serial) {
            return Err(ReplacementError::NotActiveDevice(old_serial));
        }
        let id = attempt_id()?;
        let status = match self.sms {
            SmsRoute::Outbox => SmsStatus::Sent,
            SmsRoute::Dispatch(_) => SmsStatus::Queued,
        };
        let sms = t
            .effects
            .iter()
            .find_map(|effect| match effect {
                Effect::SendSms { code } => Some(*code),
                _ => None,
            })
            .map(|code| {
                Ok::<_, ReplacementError>(NewSms {
                    key: random_hex()?,
                    phone: user.phone.clone(),
                    code,
                    status,
                    username: *username,
                    serial: old_serial,
                })
            })
            .transpose()?;
        self.store
            .insert_attempt(&id, username, &t.replacement, sms.as_ref(), now)?;
        if let SmsRoute::Dispatch(wake) = &self.sms {
            wake.wake();
        }
        Ok((id, status))
    }

    /// Step 2: the SMS code as typed.
    pub fn replacement_sms_code(
        &self,
        id: &AttemptId,
        typed: &str,
        now: UnixTime,
    ) -> Result<(), ReplacementError> {
        let loaded = self.load_attempt(id, now)?;
        let t = loaded
            .read
            .attempt
            .clone()
            .submit_sms_code(&self.policy, typed, now);
        self.save(&loaded, t, None, now)
    }

    /// Step 3: the new device's serial as typed. Returns how many OTPs the
    /// last step needs: 1 for a time token, 2 for an event token.
    pub fn replacement_device(
        &self,
        id: &AttemptId,
        typed_serial: &str,
        now: UnixTime,
    ) -> Result<usize, ReplacementError> {
        let loaded = self.load_attempt(id, now)?;
        let facts = match Serial::parse(typed_serial) {
            Ok(serial) => self.store.token_summary(serial)?.map(|token| token.facts()),
            // The state machine refuses it as malformed.
            Err(_) => None,
        };
        let t = loaded
            .read
            .attempt
            .clone()
            .submit_serial(&self.policy, typed_serial, facts, now);
        let required = match t.replacement.state() {
            ReplacementState::AwaitingOtps { model, .. } => otp_count(model.family()),
            _ => 0,
        };
        self.save(&loaded, t, None, now)?;
        Ok(required)
    }

    /// Step 4: codes from the new device (one for a time token, two
    /// consecutive for an event token). On success the old device is
    /// `replaced` and the new one bound, in the state its codes
    /// established, in the same transaction that completes the attempt.
    pub fn replacement_otps(
        &self,
        id: &AttemptId,
        otps: &[&str],
        now: UnixTime,
    ) -> Result<Serial, ReplacementError> {
        let loaded = self.load_attempt(id, now)?;
        let (config, shelf) = match loaded.read.attempt.state() {
            ReplacementState::AwaitingOtps { serial, .. } => {
                let new = self
                    .store
                    .token(*serial)?
                    .ok_or(StoreError::UnknownSerial(*serial))?;
                (new.config, new.state)
            }
            // Not at this step: the state machine refuses before it looks
            // at a key, so the old device's stands in.
            _ => (loaded.old.config.clone(), loaded.old.state),
        };
        let t = loaded
            .read
            .attempt
            .clone()
            .submit_otps(&self.policy, otps, &config, shelf, now);
        let completed = match t.replacement.state() {
            ReplacementState::Completed { serial } => Some(*serial),
            _ => None,
        };
        self.save(&loaded, t, Some(shelf), now)?;
        completed.ok_or_else(|| {
            StoreError::Corrupt("replacement accepted but not completed".into()).into()
        })
    }

    /// The attempt and its old device; a locked device refuses here, before
    /// the state machine sees the input.
    fn load_attempt(&self, id: &AttemptId, now: UnixTime) -> Result<Loaded, ReplacementError> {
        let read = self
            .store
            .attempt(id)?
            .ok_or(ReplacementError::UnknownAttempt)?;
        let old = self.old_token(read.attempt.old_serial())?;
        if old.state.locked && old.status == TokenStatus::Active {
            return Err(self.refuse(old.serial, &read.username, Reason::Locked, false, now)?);
        }
        Ok(Loaded { read, old })
    }

    fn old_token(&self, serial: Serial) -> Result<StoredToken, StoreError> {
        self.store
            .token(serial)?
            .ok_or(StoreError::UnknownSerial(serial))
    }

    /// Writes the step's new attempt state by compare-and-set, with the
    /// device swap when it binds one (`shelf`: the new device's state its
    /// codes were checked against), then counts and audits a refusal.
    fn save(
        &self,
        loaded: &Loaded,
        t: Transition,
        shelf: Option<TokenState>,
        now: UnixTime,
    ) -> Result<(), ReplacementError> {
        let bind = t.effects.iter().find_map(|effect| match effect {
            Effect::BindDevice { serial, state, .. } => Some((*serial, *state)),
            _ => None,
        });
        let retire = t.effects.iter().find_map(|effect| match effect {
            Effect::RetireDevice { serial } => Some(*serial),
            _ => None,
        });
        let swap = match (retire, bind, shelf) {
            (Some(old), Some((new, bound)), Some(shelf)) => Some(DeviceSwap {
                old,
                new,
                shelf,
                bound,
            }),
            _ => None,
        };
        let written = self
            .store
            .save_attempt(&loaded.read, &t.replacement, swap, now)?;
        if !written {
            // The new device went to someone else (or was retired) since
            // the serial step: say so, rather than "try again" forever.
            if let Some((new, _)) = bind {
                let taken = self
                    .store
                    .token_summary(new)?
                    .is_none_or(|token| !token.facts().is_free());
                if taken {
                    return Err(ReplacementError::Rejected(Reason::SerialAssigned(new)));
                }
            }
            return Err(ReplacementError::Raced);
        }
        match t.result {
            Ok(()) => Ok(()),
            Err(reason) => {
                let counted = t.effects.contains(&Effect::CountFailure);
                Err(self.refuse(
                    loaded.old.serial,
                    &loaded.read.username,
                    reason,
                    counted,
                    now,
                )?)
            }
        }
    }

    /// Writes a refusal's audit row on the old device, with one more
    /// failure when `counted`, by compare-and-set like any decision.
    /// Returns the error to give the caller.
    fn refuse(
        &self,
        serial: Serial,
        username: &TaxCode,
        reason: Reason,
        counted: bool,
        now: UnixTime,
    ) -> Result<ReplacementError, StoreError> {
        let record = AuditRecord {
            at: now,
            action: AuditAction::Replace,
            serial: Some(serial),
            username: Some(*username),
            outcome: AuditOutcome::Rejected,
            reason: Some(reason.code()),
        };
        let _written = self.until_written(serial, || {
            let state = self
                .store
                .token_summary(serial)?
                .ok_or(StoreError::UnknownSerial(serial))?
                .state;
            let decision = Decision {
                outcome: Outcome::Rejected(reason.clone()),
                previous: state,
                new_state: if counted {
                    record_failure(&self.policy, state)
                } else {
                    state
                },
            };
            Ok((decision, record.clone()))
        })?;
        Ok(ReplacementError::Rejected(reason))
    }
}

/// 128 bits from the OS RNG.
fn random_bits() -> Result<[u8; 16], ReplacementError> {
    let mut bytes = [0u8; 16];
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| ReplacementError::Entropy)?;
    Ok(bytes)
}

fn attempt_id() -> Result<AttemptId, ReplacementError> {
    Ok(AttemptId::from_bytes(random_bits()?))
}

/// An SMS's idempotency key: 32 hex characters, unrelated to the attempt
/// id (which must not leave the server).
fn random_hex() -> Result<String, ReplacementError> {
    Ok(data_encoding::HEXLOWER.encode(&random_bits()?))
}

/// A uniformly random 6-digit code from the OS RNG: draws at or above the
/// largest multiple of 10^6 below 2^32 are redrawn, so no code is likelier.
fn random_sms_code() -> Result<SmsCode, ReplacementError> {
    const MODULUS: u32 = 1_000_000;
    const LIMIT: u32 = u32::MAX - u32::MAX % MODULUS;
    loop {
        let draw = SysRng
            .try_next_u32()
            .map_err(|_| ReplacementError::Entropy)?;
        if draw < LIMIT {
            return SmsCode::new(draw % MODULUS).map_err(|_| ReplacementError::Entropy);
        }
    }
}

/// An argon2 hash with the default parameters of no one's password, checked
/// against when the user does not exist. Made once per process.
pub(super) fn decoy_hash() -> Option<&'static PasswordHash> {
    static DECOY: OnceLock<Option<PasswordHash>> = OnceLock::new();
    DECOY
        .get_or_init(|| PasswordHash::new("tokenrig decoy: no account has this").ok())
        .as_ref()
}
