//! Delivering the replacement flow's SMS code: the [`SmsGateway`] trait a
//! dispatcher (`service::Dispatcher`) hands each queued message to, and
//! [`Webhook`], the one network gateway.
//!
//! One call is one try. Retries, backoff and at-least-once delivery are
//! the dispatcher's, over the store's outbox, so a crash never loses a
//! message; each carries an idempotency key so the receiver can drop a
//! repeat. The text is [`SmsCode::message_text`]. Nothing here logs or
//! returns the code in an error. With no gateway configured the outbox
//! itself is the destination, and nothing here runs.

mod webhook;

use crate::user::PhoneNumber;
use crate::verifier::SmsCode;

pub use webhook::{DEFAULT_TIMEOUT, Webhook};

/// One message to deliver.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    /// The same on every try of one message: the receiver's idempotency key.
    pub key: &'a str,
    pub phone: &'a PhoneNumber,
    pub code: SmsCode,
}

/// Delivers an SMS. Shared by dispatchers; blocking.
pub trait SmsGateway: Send + Sync {
    /// One try: `Ok` once the message is accepted for delivery.
    fn deliver(&self, message: &Message<'_>) -> Result<(), SmsError>;
}

/// Why a try did not deliver. Never holds the code or the URL.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("SMS webhook URL must start with http:// or https://")]
    BadUrl,
    #[error("SMS webhook answered HTTP {status}")]
    Status { status: u16 },
    #[error("SMS webhook unreachable: {reason}")]
    Transport { reason: String },
}

impl SmsError {
    /// Whether trying again may help: a network failure, a 5xx or a 429
    /// may pass; any other answer refuses the message itself.
    pub fn is_transient(&self) -> bool {
        match self {
            SmsError::Status { status } => *status >= 500 || *status == 429,
            SmsError::Transport { .. } => true,
            SmsError::BadUrl => false,
        }
    }
}
