//! Sending the replacement flow's SMS code: the [`SmsGateway`] trait and
//! its implementations.
//!
//! - [`Outbox`] (the default): the message goes to the store's
//!   `sms_outbox` table, where test rigs read the code back with
//!   [`Store::sms_outbox`].
//!
//! The text is [`SmsCode::message_text`]. Nothing here logs or
//! returns the code in an error.

use crate::clock::UnixTime;
use crate::store::{Store, StoreError};
use crate::user::PhoneNumber;
use crate::verifier::SmsCode;

/// Delivers an SMS code to a phone. Shared by a server's worker threads,
/// each of which passes its own store connection.
pub trait SmsGateway: Send + Sync {
    /// `Ok` once the message is accepted for delivery.
    fn send(
        &self,
        store: &Store,
        phone: &PhoneNumber,
        code: SmsCode,
        at: UnixTime,
    ) -> Result<(), SmsError>;
}

/// Why an SMS was not sent. Never holds the code.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("SMS outbox: {0}")]
    Outbox(#[from] StoreError),
}

/// The default gateway: writes each message to the store's outbox.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outbox;

impl SmsGateway for Outbox {
    fn send(
        &self,
        store: &Store,
        phone: &PhoneNumber,
        code: SmsCode,
        at: UnixTime,
    ) -> Result<(), SmsError> {
        Ok(store.queue_sms(phone, code, at)?)
    }
}
