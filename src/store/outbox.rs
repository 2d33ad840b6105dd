//! The SMS outbox: where the default gateway puts the messages it "sends",
//! so a test rig (or the admin API) can read the code a user would get.
//! Only the code is stored, sealed; the text is rendered on read.

use std::fmt;

use zeroize::Zeroizing;

use super::rows::{OutboxRow, u64_from_sql, u64_to_sql};
use super::secret::{NONCE_LEN, Sealed};
use super::{Store, StoreError};
use crate::clock::UnixTime;
use crate::otp::Code;
use crate::user::PhoneNumber;
use crate::verifier::SmsCode;

/// One message in the outbox. `Debug` shows neither the code nor the text
/// that carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub phone: PhoneNumber,
    pub text: String,
    pub code: SmsCode,
    pub sent_at: UnixTime,
}

impl fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("phone", &self.phone)
            .field("text", &"redacted")
            .field("sent_at", &self.sent_at)
            .finish_non_exhaustive()
    }
}

/// The associated data a message's code is sealed with: its phone and
/// time, so a ciphertext moved to another row (or into an attempt) fails.
fn aad(phone: &str, sent_at: i64) -> Vec<u8> {
    format!("sms_outbox:{phone}:{sent_at}").into_bytes()
}

impl Store {
    /// Puts an SMS for `phone` in the outbox, its code encrypted.
    pub fn queue_sms(
        &self,
        phone: &PhoneNumber,
        code: SmsCode,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let sent_at = u64_to_sql(at.as_nanos());
        let digits = Zeroizing::new(code.to_string());
        let sealed = self
            .keys
            .seal(&aad(phone.as_str(), sent_at), digits.as_bytes())?;
        self.db().insert_sms(&OutboxRow {
            phone: phone.as_str().to_owned(),
            sent_at,
            code_ciphertext: sealed.ciphertext,
            code_nonce: sealed.nonce.to_vec(),
        })
    }

    /// The outbox, or one phone's messages, oldest first.
    pub fn sms_outbox(
        &self,
        phone: Option<&PhoneNumber>,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.db()
            .sms_outbox(phone.map(PhoneNumber::as_str))?
            .into_iter()
            .map(|row| self.outbox_message(row))
            .collect()
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
            phone,
            text: code.message_text(),
            code,
            sent_at: UnixTime::from_nanos(u64_from_sql(row.sent_at)),
        })
    }
}

/// An SMS code from the six ASCII digits it was sealed as.
pub(super) fn sms_code(digits: &[u8]) -> Option<SmsCode> {
    let text = std::str::from_utf8(digits).ok()?;
    let code = Code::parse(text, SmsCode::DIGITS).ok()?;
    SmsCode::new(code.value()).ok()
}
