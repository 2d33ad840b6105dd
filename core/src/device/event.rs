//! Event (HOTP) tokens: the button logic the C100 and the USB token share,
//! and the one token type both are made of.

use std::fmt;
use std::marker::PhantomData;

use crate::otp::{Algorithm, Code, Digits, OtpKey, SecretKey};

use super::Token;
use super::error::DeviceError;
use super::model::Model;
use super::serial::Serial;

/// An HOTP key and the counter value the next press will use.
///
/// Codes must never repeat, so the counter never wraps: after the code for
/// `u64::MAX` the core is exhausted and refuses every later press.
#[derive(Clone, Debug)]
struct EventCore {
    key: OtpKey,
    digits: Digits,
    /// `None` once the code for `u64::MAX` has been shown.
    next: Option<u64>,
}

impl EventCore {
    /// Vendor event tokens use HMAC-SHA-1 (RFC 4226), 6 digits, counter 0.
    fn new(key: &SecretKey) -> Self {
        EventCore {
            key: OtpKey::new(Algorithm::Sha1, key),
            digits: Digits::SIX,
            next: Some(0),
        }
    }

    fn set_digits(&mut self, digits: Digits) {
        self.digits = digits;
    }

    fn set_counter(&mut self, counter: u64) {
        self.next = Some(counter);
    }

    fn exhaust(&mut self) {
        self.next = None;
    }

    fn digits(&self) -> Digits {
        self.digits
    }

    fn counter(&self) -> Option<u64> {
        self.next
    }

    /// The code for the current counter, advancing it; `None` if exhausted.
    fn press(&mut self) -> Option<Code> {
        let counter = self.next?;
        self.next = counter.checked_add(1);
        Some(self.key.hotp(counter, self.digits))
    }
}

/// Which event model an [`EventToken`] is. The models share every rule of
/// the button; they differ in how the code reaches the user (a display, or
/// HID keyboard reports), which the transports add on top.
pub trait EventModel: Send + Sync + 'static {
    const MODEL: Model;
}

/// An event token of model `M`: a serial and an HOTP
/// counter that only moves forward. Use the aliases [`C100`](super::C100)
/// and [`UsbToken`](super::UsbToken).
pub struct EventToken<M: EventModel> {
    serial: Serial,
    core: EventCore,
    model: PhantomData<fn() -> M>,
}

impl<M: EventModel> EventToken<M> {
    pub fn new(serial: Serial, key: SecretKey) -> Self {
        EventToken {
            serial,
            core: EventCore::new(&key),
            model: PhantomData,
        }
    }

    pub fn with_digits(mut self, digits: Digits) -> Self {
        self.core.set_digits(digits);
        self
    }

    /// A token that has already been pressed `counter` times.
    pub fn with_counter(mut self, counter: u64) -> Self {
        self.core.set_counter(counter);
        self
    }

    /// A token that has shown the code for its last counter value, as one
    /// restored from a record saying so.
    pub fn exhausted(mut self) -> Self {
        self.core.exhaust();
        self
    }

    /// The counter the next press will use; `None` once exhausted.
    pub fn counter(&self) -> Option<u64> {
        self.core.counter()
    }
}

// By hand: derives would demand `M: Clone + Debug` of the marker types.
impl<M: EventModel> Clone for EventToken<M> {
    fn clone(&self) -> Self {
        EventToken {
            serial: self.serial,
            core: self.core.clone(),
            model: PhantomData,
        }
    }
}

impl<M: EventModel> fmt::Debug for EventToken<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventToken")
            .field("model", &M::MODEL)
            .field("serial", &self.serial)
            .field("core", &self.core)
            .finish()
    }
}

impl<M: EventModel> Token for EventToken<M> {
    fn serial(&self) -> &Serial {
        &self.serial
    }

    fn model(&self) -> Model {
        M::MODEL
    }

    fn digits(&self) -> Digits {
        self.core.digits()
    }

    fn press(&mut self) -> Result<Code, DeviceError> {
        self.core.press().ok_or(DeviceError::CounterExhausted {
            serial: self.serial,
        })
    }
}
