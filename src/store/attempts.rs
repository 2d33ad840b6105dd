//! Replacement attempts at rest (migration 0002): the flow's state as a
//! row, its SMS code sealed like a token key, every write a
//! compare-and-set on the row's `version`. The flow itself (what a step
//! decides) lives above, in `service`.

use std::fmt;
use std::str::FromStr;

use zeroize::Zeroizing;

use super::outbox::{NewSms, SmsStatus, sms_code};
use super::rows::{AuditInsert, ReplacementRow, SwapRows, u64_from_sql, u64_to_sql};
use super::secret::{NONCE_LEN, Sealed};
use super::{AuditAction, Store, StoreError, admin_audit, parse_serial, parse_username};
use crate::clock::UnixTime;
use crate::device::{Model, Serial};
use crate::user::TaxCode;
use crate::verifier::{Reason, Replacement, ReplacementState, SentSms, Stage, TokenState};

/// A replacement attempt's id: 128 bits as 32 lowercase hex characters,
/// unguessable when the bits come from the OS RNG (the service draws
/// them), so it can name the attempt in a URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttemptId(String);

impl AttemptId {
    pub fn from_bytes(bytes: [u8; 16]) -> AttemptId {
        AttemptId(data_encoding::HEXLOWER.encode(&bytes))
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no replacement attempt has this id")]
pub struct NoSuchAttempt;

impl FromStr for AttemptId {
    type Err = NoSuchAttempt;

    fn from_str(s: &str) -> Result<AttemptId, NoSuchAttempt> {
        let hex = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if hex {
            Ok(AttemptId(s.to_owned()))
        } else {
            Err(NoSuchAttempt)
        }
    }
}

/// An attempt as read: whose it is, its state, and the `version` a write
/// must still find.
#[derive(Clone, Debug)]
pub struct StoredAttempt {
    pub id: AttemptId,
    pub username: TaxCode,
    pub attempt: Replacement,
    pub version: i64,
}

/// The device swap that completes an attempt: `old` retired, `new` bound
/// in state `bound`, where it is still in the `shelf` state its codes were
/// checked against.
#[derive(Clone, Copy, Debug)]
pub struct DeviceSwap {
    pub old: Serial,
    pub new: Serial,
    pub shelf: TokenState,
    pub bound: TokenState,
}

impl Store {
    /// Stores a new attempt, its `replace_started` audit row on the old
    /// device, and the SMS it sends, in one transaction: an SMS is never
    /// lost between the step that sends it and its delivery. An SMS
    /// already `sent` (the outbox its destination) has its `sms_sent`
    /// audit row in the same transaction.
    pub fn insert_attempt(
        &self,
        id: &AttemptId,
        username: &TaxCode,
        attempt: &Replacement,
        sms: Option<&NewSms>,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let row = self.attempt_row(id, username, attempt, 0)?;
        let started = AuditInsert {
            serial: Some(&row.old_serial),
            ..admin_audit(at, AuditAction::ReplaceStarted, Some(username.as_str()))
        };
        let sms_row = sms.map(|sms| self.outbox_row(sms, at)).transpose()?;
        let sent = AuditInsert {
            action: AuditAction::SmsSent.as_str(),
            ..started
        };
        let audit = match sms {
            Some(sms) if sms.status == SmsStatus::Sent => vec![started, sent],
            _ => vec![started],
        };
        self.db().insert_replacement(&row, &audit, sms_row.as_ref())
    }

    pub fn attempt(&self, id: &AttemptId) -> Result<Option<StoredAttempt>, StoreError> {
        let Some(row) = self.db().replacement(id.as_str())? else {
            return Ok(None);
        };
        let (username, attempt) = self.attempt_from_row(id, &row)?;
        Ok(Some(StoredAttempt {
            id: id.clone(),
            username,
            attempt,
            version: row.version,
        }))
    }

    /// Writes `next` over the attempt `read` by compare-and-set on its
    /// version; with `swap`, the device swap commits in the same
    /// transaction (with a `replace` audit row), or nothing does. `false`:
    /// another request moved the attempt or one of the devices first.
    pub fn save_attempt(
        &self,
        read: &StoredAttempt,
        next: &Replacement,
        swap: Option<DeviceSwap>,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let row = self.attempt_row(&read.id, &read.username, next, read.version)?;
        match swap {
            None => self.db().update_replacement(&row, None),
            Some(swap) => self.swap_devices(
                &read.username,
                (swap.old, swap.new),
                (swap.shelf, swap.bound),
                Some(&row),
                at,
            ),
        }
    }

    /// [`Store::replace_device`], and when `attempt` is given, that
    /// attempt's compare-and-set too: all in one transaction, or nothing.
    pub(super) fn swap_devices(
        &self,
        username: &TaxCode,
        (old, new): (Serial, Serial),
        (shelf, bound): (TokenState, TokenState),
        attempt: Option<&ReplacementRow>,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let swap = SwapRows {
            username: username.as_str(),
            old: old.as_str(),
            new: new.as_str(),
            shelf: &shelf,
            bound: &bound,
            attempt,
        };
        let audit = AuditInsert {
            serial: Some(new.as_str()),
            ..admin_audit(at, AuditAction::Replace, Some(username.as_str()))
        };
        self.db().swap_devices(&swap, &audit)
    }

    /// An attempt as a row. The SMS code is sealed with the attempt id as
    /// associated data, and stored only while it is awaited.
    pub(super) fn attempt_row(
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
        let stage = row.stage.parse::<Stage>().map_err(|_| bad("stage"))?;
        let state = match stage {
            Stage::Password => ReplacementState::AwaitingPassword,
            Stage::SmsCode => {
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
            Stage::Serial => ReplacementState::AwaitingSerial,
            Stage::Otps => ReplacementState::AwaitingOtps {
                serial: new_serial()?,
                model: Model::from_str(row.new_model.as_deref().unwrap_or(""))
                    .map_err(|_| bad("new_model"))?,
            },
            Stage::Completed => ReplacementState::Completed {
                serial: new_serial()?,
            },
            // The one reason the state machine fails an attempt with.
            Stage::Failed => match row.failure_reason.as_deref() {
                Some("sms_tries_exhausted") => ReplacementState::Failed(Reason::SmsTriesExhausted),
                _ => return Err(bad("failure_reason")),
            },
            Stage::Expired => ReplacementState::Expired,
        };
        let attempt = Replacement::restore(
            parse_serial(&row.old_serial)?,
            UnixTime::from_nanos(u64_from_sql(row.started_at)),
            state,
        );
        Ok((parse_username(&row.username)?, attempt))
    }
}
