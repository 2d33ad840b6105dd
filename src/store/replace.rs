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

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use rand::TryRng;
use rand::rngs::SysRng;
use zeroize::Zeroizing;

use super::outbox::sms_code;
use super::rows::{ReplacementRow, u64_from_sql, u64_to_sql};
use super::secret::{NONCE_LEN, Sealed};
use super::{
    AuditAction, AuditInsert, AuditOutcome, AuditRecord, MAX_ATTEMPTS, Store, StoreError,
    StoredToken, TokenStatus, Verifier, admin_audit, parse_serial, parse_username,
};
use crate::clock::UnixTime;
use crate::device::{Family, Model, Serial};
use crate::sms::{SmsError, SmsGateway};
use crate::user::{PasswordHash, TaxCode};
use crate::verifier::{
    Decision, Effect, InventoryFacts, Outcome, Reason, Replacement, ReplacementState, SentSms,
    SmsCode, Transition, record_failure,
};

/// A replacement attempt's id: 128 bits from the OS RNG as 32 lowercase
/// hex characters, unguessable, so it can name the attempt in a URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttemptId(String);

impl AttemptId {
    fn generate() -> Result<AttemptId, StoreError> {
        let mut bytes = [0u8; 16];
        SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| StoreError::Entropy)?;
        Ok(AttemptId(data_encoding::HEXLOWER.encode(&bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the attempt's SMS code is sealed with.
    fn aad(&self) -> Vec<u8> {
        format!("replacement:{}", self.0).into_bytes()
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Anything but 32 lowercase hex characters names no attempt.
impl FromStr for AttemptId {
    type Err = ReplacementError;

    fn from_str(s: &str) -> Result<AttemptId, ReplacementError> {
        let hex = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if hex {
            Ok(AttemptId(s.to_owned()))
        } else {
            Err(ReplacementError::UnknownAttempt)
        }
    }
}

/// Why a replacement step did not go through.
#[derive(Debug, thiserror::Error)]
pub enum ReplacementError {
    /// Refused by the flow's rules; show the user
    /// [`Reason::user_message`], log [`Reason::code`].
    #[error("replacement step refused: {0}")]
    Rejected(Reason),
    #[error("no replacement attempt has this id")]
    UnknownAttempt,
    /// The password was right, but the device picked is not the account's.
    #[error("serial {0} is not the account's active device")]
    NotActiveDevice(Serial),
    /// Another request took a step of this attempt (or moved one of its
    /// devices) between this one's read and write; nothing was written.
    #[error("the replacement attempt changed during this request; try again")]
    Raced,
    #[error("the SMS code could not be sent: {0}")]
    Sms(#[from] SmsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An attempt as read, with what every step needs to know.
struct Loaded {
    id: AttemptId,
    username: TaxCode,
    attempt: Replacement,
    version: i64,
    old: StoredToken,
}

impl Verifier {
    /// Step 1: checks the password (argon2, slow: outside any transaction),
    /// then stores a new attempt for the account's active device
    /// `old_serial` and sends an SMS code from the OS RNG through
    /// `gateway`. A wrong password stores nothing and counts a failure on
    /// the active device; an unknown user reads as a wrong password.
    pub fn start_replacement(
        &self,
        gateway: &dyn SmsGateway,
        username: &TaxCode,
        password: &str,
        old_serial: Serial,
        now: UnixTime,
    ) -> Result<AttemptId, ReplacementError> {
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
        let id = AttemptId::generate()?;
        let row = self.store.attempt_row(&id, username, &t.replacement, 0)?;
        let audit = AuditInsert {
            serial: Some(old_serial.as_str()),
            ..admin_audit(now, AuditAction::ReplaceStarted, Some(username.as_str()))
        };
        self.store.db().insert_replacement(&row, &audit)?;
        for effect in &t.effects {
            if let Effect::SendSms { code } = effect {
                self.send_sms(gateway, &user.phone, *code, old_serial, username, now)?;
            }
        }
        Ok(id)
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
            Ok(serial) => self
                .store
                .token_summary(serial)?
                .map(|token| InventoryFacts {
                    model: token.model,
                    assigned: token.username.is_some(),
                    active: token.status != TokenStatus::Replaced,
                }),
            // The state machine refuses it as malformed.
            Err(_) => None,
        };
        let t = loaded
            .attempt
            .clone()
            .submit_serial(&self.policy, typed_serial, facts, now);
        let required = match t.replacement.state() {
            ReplacementState::AwaitingOtps { model, .. } => otps_required(*model),
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
        let (config, shelf) = match loaded.attempt.state() {
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
        let row = self
            .store
            .db()
            .replacement(id.as_str())?
            .ok_or(ReplacementError::UnknownAttempt)?;
        let (username, attempt) = self.store.attempt_from_row(id, &row)?;
        let old = self.old_token(attempt.old_serial())?;
        if old.state.locked && old.status == TokenStatus::Active {
            return Err(self.refuse(old.serial, &username, Reason::Locked, false, now)?);
        }
        Ok(Loaded {
            id: id.clone(),
            username,
            attempt,
            version: row.version,
            old,
        })
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
        shelf: Option<crate::verifier::TokenState>,
        now: UnixTime,
    ) -> Result<(), ReplacementError> {
        let row =
            self.store
                .attempt_row(&loaded.id, &loaded.username, &t.replacement, loaded.version)?;
        let bind = t.effects.iter().find_map(|effect| match effect {
            Effect::BindDevice { serial, state, .. } => Some((*serial, *state)),
            _ => None,
        });
        let retire = t.effects.iter().find_map(|effect| match effect {
            Effect::RetireDevice { serial } => Some(*serial),
            _ => None,
        });
        let written = match (retire, bind, shelf) {
            (Some(old), Some((new, bound)), Some(shelf)) => self.store.swap_devices(
                &loaded.username,
                (old, new),
                (shelf, bound),
                Some(&row),
                now,
            )?,
            _ => self.store.db().update_replacement(&row, None)?,
        };
        if !written {
            // The new device went to someone else (or was retired) since
            // the serial step: say so, rather than "try again" forever.
            if let Some((new, _)) = bind {
                let taken = self.store.token(new)?.is_none_or(|token| {
                    token.username.is_some() || token.status == TokenStatus::Replaced
                });
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
                Err(self.refuse(loaded.old.serial, &loaded.username, reason, counted, now)?)
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
        for _ in 0..MAX_ATTEMPTS {
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
            match self.store.apply_audited(serial, &decision, &record) {
                Ok(_) => return Ok(ReplacementError::Rejected(reason)),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Contention {
            serial,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Sends the code and audits that it was sent (or that sending failed).
    fn send_sms(
        &self,
        gateway: &dyn SmsGateway,
        phone: &crate::user::PhoneNumber,
        code: SmsCode,
        old: Serial,
        username: &TaxCode,
        now: UnixTime,
    ) -> Result<(), ReplacementError> {
        let sent = gateway.send(&self.store, phone, code, now);
        let (outcome, reason) = match &sent {
            Ok(()) => (AuditOutcome::Done, None),
            Err(_) => (AuditOutcome::Rejected, Some("sms_gateway_failed")),
        };
        self.store.append_audit(&AuditRecord {
            at: now,
            action: AuditAction::SmsSent,
            serial: Some(old),
            username: Some(*username),
            outcome,
            reason,
        })?;
        Ok(sent?)
    }
}

impl Store {
    /// An attempt as a row. The SMS code is sealed with the attempt id as
    /// associated data, and stored only while it is awaited.
    fn attempt_row(
        &self,
        id: &AttemptId,
        username: &TaxCode,
        attempt: &Replacement,
        version: i64,
    ) -> Result<ReplacementRow, StoreError> {
        let mut row = ReplacementRow {
            id: id.as_str().to_owned(),
            username: username.as_str().to_owned(),
            old_serial: attempt.old_serial().as_str().to_owned(),
            started_at: u64_to_sql(attempt.started().as_nanos()),
            stage: attempt.stage().to_string(),
            sms_code_ciphertext: None,
            sms_code_nonce: None,
            sms_sent_at: None,
            sms_tries_left: None,
            new_serial: None,
            new_model: None,
            failure_reason: None,
            version,
        };
        match attempt.state() {
            ReplacementState::AwaitingSmsCode(sent) => {
                let digits = Zeroizing::new(sent.code.to_string());
                let sealed = self.keys.seal(&id.aad(), digits.as_bytes())?;
                row.sms_code_ciphertext = Some(sealed.ciphertext);
                row.sms_code_nonce = Some(sealed.nonce.to_vec());
                row.sms_sent_at = Some(u64_to_sql(sent.sent_at.as_nanos()));
                row.sms_tries_left = Some(i64::from(sent.tries_left));
            }
            ReplacementState::AwaitingOtps { serial, model } => {
                row.new_serial = Some(serial.as_str().to_owned());
                row.new_model = Some(model.name().to_owned());
            }
            ReplacementState::Completed { serial } => {
                row.new_serial = Some(serial.as_str().to_owned());
            }
            ReplacementState::Failed(reason) => {
                row.failure_reason = Some(reason.code().to_owned());
            }
            ReplacementState::AwaitingPassword
            | ReplacementState::AwaitingSerial
            | ReplacementState::Expired => {}
        }
        Ok(row)
    }

    /// The attempt a row holds, and whose it is.
    fn attempt_from_row(
        &self,
        id: &AttemptId,
        row: &ReplacementRow,
    ) -> Result<(TaxCode, Replacement), StoreError> {
        let bad = |column: &str| StoreError::Corrupt(format!("replacement attempt: bad {column}"));
        let new_serial =
            || parse_serial(row.new_serial.as_deref().ok_or_else(|| bad("new_serial"))?);
        let state = match row.stage.as_str() {
            "password" => ReplacementState::AwaitingPassword,
            "sms_code" => {
                let (Some(ciphertext), Some(nonce), Some(sent_at), Some(tries_left)) = (
                    &row.sms_code_ciphertext,
                    &row.sms_code_nonce,
                    row.sms_sent_at,
                    row.sms_tries_left,
                ) else {
                    return Err(bad("sms code columns"));
                };
                let nonce: [u8; NONCE_LEN] = nonce
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad("sms_code_nonce"))?;
                let sealed = Sealed {
                    ciphertext: ciphertext.clone(),
                    nonce,
                };
                let digits = self
                    .keys
                    .open(&id.aad(), &sealed)
                    .ok_or_else(|| bad("sms code: it does not decrypt"))?;
                ReplacementState::AwaitingSmsCode(SentSms {
                    code: sms_code(&digits).ok_or_else(|| bad("sms code"))?,
                    sent_at: UnixTime::from_nanos(u64_from_sql(sent_at)),
                    tries_left: u32::try_from(tries_left).map_err(|_| bad("sms_tries_left"))?,
                })
            }
            "serial" => ReplacementState::AwaitingSerial,
            "otps" => ReplacementState::AwaitingOtps {
                serial: new_serial()?,
                model: Model::from_str(row.new_model.as_deref().unwrap_or(""))
                    .map_err(|_| bad("new_model"))?,
            },
            "completed" => ReplacementState::Completed {
                serial: new_serial()?,
            },
            // The one reason the state machine fails an attempt with.
            "failed" => match row.failure_reason.as_deref() {
                Some("sms_tries_exhausted") => ReplacementState::Failed(Reason::SmsTriesExhausted),
                _ => return Err(bad("failure_reason")),
            },
            "expired" => ReplacementState::Expired,
            _ => return Err(bad("stage")),
        };
        let attempt = Replacement::restore(
            parse_serial(&row.old_serial)?,
            UnixTime::from_nanos(u64_from_sql(row.started_at)),
            state,
        );
        Ok((parse_username(&row.username)?, attempt))
    }
}

fn otps_required(model: Model) -> usize {
    match model.family() {
        Family::Time => 1,
        Family::Event => 2,
    }
}

/// A uniformly random 6-digit code from the OS RNG: draws at or above the
/// largest multiple of 10^6 below 2^32 are redrawn, so no code is likelier.
fn random_sms_code() -> Result<SmsCode, StoreError> {
    const MODULUS: u32 = 1_000_000;
    const LIMIT: u32 = u32::MAX - u32::MAX % MODULUS;
    loop {
        let draw = SysRng.try_next_u32().map_err(|_| StoreError::Entropy)?;
        if draw < LIMIT {
            return SmsCode::new(draw % MODULUS).map_err(|_| StoreError::Entropy);
        }
    }
}

/// An argon2 hash with the default parameters of no one's password, checked
/// against when the user does not exist. Made once per process.
fn decoy_hash() -> Option<&'static PasswordHash> {
    static DECOY: OnceLock<Option<PasswordHash>> = OnceLock::new();
    DECOY
        .get_or_init(|| PasswordHash::new("tokenrig decoy: no account has this").ok())
        .as_ref()
}
