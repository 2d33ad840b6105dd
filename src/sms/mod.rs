//! Sending the replacement flow's SMS code: the [`SmsGateway`] trait and
//! its two implementations.
//!
//! - [`Outbox`] (the default): the message goes to the store's
//!   `sms_outbox` table, where test rigs read the code back with
//!   [`Store::sms_outbox`].
//! - [`Webhook`]: the message is POSTed as JSON to a URL, where a real SMS
//!   provider (or a relay to one) takes it.
//!
//! The text is [`SmsCode::message_text`] for both. Nothing here logs or
//! returns the code in an error.

mod webhook;

use crate::clock::UnixTime;
use crate::store::{Store, StoreError};
use crate::user::PhoneNumber;
use crate::verifier::SmsCode;

pub use webhook::Webhook;

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
    #[error("SMS webhook URL must start with http:// or https://")]
    BadUrl,
    #[error("SMS webhook answered HTTP {status} after {attempts} attempt(s)")]
    Status { status: u16, attempts: u32 },
    #[error("SMS webhook unreachable after {attempts} attempt(s): {reason}")]
    Transport { attempts: u32, reason: String },
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
