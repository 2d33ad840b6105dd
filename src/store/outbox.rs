//! The SMS outbox: every SMS the replacement flow sends is a row here,
//! committed with the attempt step that sends it, so a crash loses none.
//! Where no gateway is configured the outbox is the destination (test
//! rigs read the code back) and a row is `sent` when written; with a
//! gateway it is `queued` until a dispatcher delivers it. Only the code
//! is stored, sealed; the text is rendered on read.

use std::fmt;
use std::str::FromStr;

use zeroize::Zeroizing;

use super::rows::{AuditInsert, OutboxRow, u64_from_sql, u64_to_sql};
use super::secret::{NONCE_LEN, Sealed};
use super::{AuditAction, AuditOutcome, Store, StoreError, parse_serial, parse_username};
use crate::clock::UnixTime;
use crate::device::Serial;
use crate::otp::Code;
use crate::user::{PhoneNumber, TaxCode};
use crate::verifier::SmsCode;

/// Where a message's delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmsStatus {
    /// Committed, not yet accepted by the gateway.
    Queued,
    /// Accepted by the gateway, or written to the outbox as the destination.
    Sent,
    /// The gateway refused it, or every try failed.
    Failed,
}

impl SmsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsStatus::Queued => "queued",
            SmsStatus::Sent => "sent",
            SmsStatus::Failed => "failed",
        }
    }
}

impl FromStr for SmsStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<SmsStatus, StoreError> {
        [SmsStatus::Queued, SmsStatus::Sent, SmsStatus::Failed]
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("sms_outbox: bad status {s:?}")))
    }
}

/// An SMS to queue with an attempt step.
#[derive(Clone)]
pub struct NewSms {
    /// The idempotency key the gateway receives (random, from the service).
    pub key: String,
    pub phone: PhoneNumber,
    pub code: SmsCode,
    /// [`SmsStatus::Sent`] when the outbox is the destination.
    pub status: SmsStatus,
    pub username: TaxCode,
    pub serial: Serial,
}

/// A queued message whose row the store cannot read back: its code does
/// not decrypt under this store's secret, or a column is corrupt. `why`
/// names the column, never its content.
#[derive(Debug)]
pub struct Unreadable {
    pub id: i64,
    tries: i64,
    pub why: StoreError,
}

impl Unreadable {
    /// Delivery tries so far.
    pub fn tries(&self) -> u32 {
        u32::try_from(self.tries).unwrap_or(0)
    }
}

/// One message in the outbox. `Debug` shows neither the code nor the text
/// that carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    /// `None` on messages stored before deliveries were tracked.
    pub key: Option<String>,
    pub phone: PhoneNumber,
    pub text: String,
    pub code: SmsCode,
    pub sent_at: UnixTime,
    pub status: SmsStatus,
    /// Delivery tries so far.
    pub tries: u32,
    pub username: Option<TaxCode>,
    pub serial: Option<Serial>,
}

impl fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("phone", &self.phone)
            .field("text", &"redacted")
            .field("sent_at", &self.sent_at)
            .field("status", &self.status)
            .field("tries", &self.tries)
            .finish_non_exhaustive()
    }
}

/// How one delivery try ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    Sent,
    /// Queued again, due at this wall-clock instant.
    Retry(UnixTime),
    /// Given up; the reason id goes to the audit row.
    Failed(&'static str),
}

/// The associated data a message's code is sealed with: its phone and
/// time, so a ciphertext moved to another row (or into an attempt) fails.
fn aad(phone: &str, sent_at: i64) -> Vec<u8> {
    format!("sms_outbox:{phone}:{sent_at}").into_bytes()
}

impl Store {
    /// The row [`Store::insert_attempt`] commits with an attempt.
    pub(super) fn outbox_row(&self, sms: &NewSms, at: UnixTime) -> Result<OutboxRow, StoreError> {
        let sent_at = u64_to_sql(at.as_nanos());
        let digits = Zeroizing::new(sms.code.to_string());
        let sealed = self
            .keys
            .seal(&aad(sms.phone.as_str(), sent_at), digits.as_bytes())?;
        Ok(OutboxRow {
            id: 0,
            phone: sms.phone.as_str().to_owned(),
            sent_at,
            code_ciphertext: sealed.ciphertext,
            code_nonce: sealed.nonce.to_vec(),
            key: Some(sms.key.clone()),
            status: sms.status.as_str().to_owned(),
            tries: 0,
            next_try_at: None,
            username: Some(sms.username.as_str().to_owned()),
            serial: Some(sms.serial.as_str().to_owned()),
        })
    }

    /// The outbox, or one phone's messages, oldest first; a row that does
    /// not read back fails the call.
    pub fn sms_outbox(
        &self,
        phone: Option<&PhoneNumber>,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.sms_outbox_rows(phone)?
            .into_iter()
            .map(|message| message.map_err(|unreadable| unreadable.why))
            .collect()
    }

    /// The same, with a row that cannot be read back as [`Unreadable`] in
    /// its place: the admin listing shows it instead of failing whole.
    pub fn sms_outbox_rows(
        &self,
        phone: Option<&PhoneNumber>,
    ) -> Result<Vec<Result<OutboxMessage, Unreadable>>, StoreError> {
        Ok(self
            .db()
            .sms_outbox(phone.map(PhoneNumber::as_str))?
            .into_iter()
            .map(|row| self.readable(row))
            .collect())
    }

    /// Up to `limit` queued messages due at wall-clock `now`, oldest first.
    /// A row that cannot be read back comes as [`Unreadable`] in its place,
    /// so one bad row never holds up the others.
    pub fn due_sms(
        &self,
        now: UnixTime,
        limit: u32,
    ) -> Result<Vec<Result<OutboxMessage, Unreadable>>, StoreError> {
        Ok(self
            .db()
            .due_sms(u64_to_sql(now.as_nanos()), limit)?
            .into_iter()
            .map(|row| self.readable(row))
            .collect())
    }

    fn readable(&self, row: OutboxRow) -> Result<OutboxMessage, Unreadable> {
        let (id, tries) = (row.id, row.tries);
        self.outbox_message(row)
            .map_err(|why| Unreadable { id, tries, why })
    }

    /// Fails a queued message that cannot be read back, with its audit row
    /// (reason `sms_unreadable`): no retry can make it readable. `false`
    /// when another dispatcher settled it first.
    pub fn fail_unreadable_sms(
        &self,
        message: &Unreadable,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let audit = AuditInsert {
            at_unix_nanos: at.as_nanos(),
            action: AuditAction::SmsSent.as_str(),
            serial: None,
            username: None,
            outcome: AuditOutcome::Rejected.as_str(),
            reason: Some("sms_unreadable"),
        };
        self.db().settle_sms(
            message.id,
            message.tries,
            SmsStatus::Failed.as_str(),
            None,
            &audit,
        )
    }

    /// Takes the next delivery try of `message`, holding it from other
    /// dispatchers until `until`; `false` if one took it first.
    pub fn claim_sms(&self, message: &OutboxMessage, until: UnixTime) -> Result<bool, StoreError> {
        self.db().claim_sms(
            message.id,
            i64::from(message.tries),
            u64_to_sql(until.as_nanos()),
        )
    }

    /// Records how the try claimed on `message` (as read before its claim)
    /// ended, with its `sms_sent` audit row. `false` when that claim had
    /// run out and a later try took the row: then nothing is written, and
    /// the later try's result stands.
    pub fn settle_sms(
        &self,
        message: &OutboxMessage,
        settled: Settled,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        let (status, next, outcome, reason) = match settled {
            Settled::Sent => (SmsStatus::Sent, None, AuditOutcome::Done, None),
            Settled::Retry(due) => (
                SmsStatus::Queued,
                Some(u64_to_sql(due.as_nanos())),
                AuditOutcome::Rejected,
                Some("sms_gateway_retry"),
            ),
            Settled::Failed(reason) => (
                SmsStatus::Failed,
                None,
                AuditOutcome::Rejected,
                Some(reason),
            ),
        };
        let audit = AuditInsert {
            at_unix_nanos: at.as_nanos(),
            action: AuditAction::SmsSent.as_str(),
            serial: message.serial.as_ref().map(Serial::as_str),
            username: message.username.as_ref().map(TaxCode::as_str),
            outcome: outcome.as_str(),
            reason,
        };
        self.db().settle_sms(
            message.id,
            i64::from(message.tries) + 1,
            status.as_str(),
            next,
            &audit,
        )
    }

    fn outbox_message(&self, row: OutboxRow) -> Result<OutboxMessage, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("sms_outbox: bad {what}"));
        let phone = PhoneNumber::parse(&row.phone).map_err(|_| bad("phone"))?;
        let nonce: [u8; NONCE_LEN] = row
            .code_nonce
            .as_slice()
            .try_into()
            .map_err(|_| bad("nonce"))?;
        let sealed = Sealed {
            ciphertext: row.code_ciphertext,
            nonce,
        };
        let digits = self
            .keys
            .open(&aad(&row.phone, row.sent_at), &sealed)
            .ok_or_else(|| bad("code: it does not decrypt"))?;
        let code = sms_code(&digits).ok_or_else(|| bad("code"))?;
        Ok(OutboxMessage {
            id: row.id,
            key: row.key,
            phone,
            text: code.message_text(),
            code,
            sent_at: UnixTime::from_nanos(u64_from_sql(row.sent_at)),
            status: row.status.parse()?,
            tries: u32::try_from(row.tries).map_err(|_| bad("tries"))?,
            username: row.username.as_deref().map(parse_username).transpose()?,
            serial: row.serial.as_deref().map(parse_serial).transpose()?,
        })
    }
}

/// An SMS code from the six ASCII digits it was sealed as.
pub(super) fn sms_code(digits: &[u8]) -> Option<SmsCode> {
    let text = std::str::from_utf8(digits).ok()?;
    let code = Code::parse(text, SmsCode::DIGITS).ok()?;
    SmsCode::new(code.value()).ok()
}
