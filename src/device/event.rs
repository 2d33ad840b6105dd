//! The button logic every event (HOTP) token shares.

use crate::otp::{Algorithm, Code, Digits, OtpKey, SecretKey};

/// An HOTP key and the counter value the next press will use.
///
/// Codes must never repeat, so the counter never wraps: after the code for
/// `u64::MAX` the core is exhausted and refuses every later press.
#[derive(Clone, Debug)]
pub(super) struct EventCore {
    key: OtpKey,
    digits: Digits,
    /// `None` once the code for `u64::MAX` has been shown.
    next: Option<u64>,
}

impl EventCore {
    /// Vendor event tokens use HMAC-SHA-1 (RFC 4226), 6 digits, counter 0.
    pub(super) fn new(key: &SecretKey) -> Self {
        EventCore {
            key: OtpKey::new(Algorithm::Sha1, key),
            digits: Digits::SIX,
            next: Some(0),
        }
    }

    pub(super) fn set_digits(&mut self, digits: Digits) {
        self.digits = digits;
    }

    pub(super) fn set_counter(&mut self, counter: u64) {
        self.next = Some(counter);
    }

    pub(super) fn digits(&self) -> Digits {
        self.digits
    }

    pub(super) fn counter(&self) -> Option<u64> {
        self.next
    }

    /// The code for the current counter, advancing it; `None` if exhausted.
    pub(super) fn press(&mut self) -> Option<Code> {
        let counter = self.next?;
        self.next = counter.checked_add(1);
        Some(self.key.hotp(counter, self.digits))
    }
}
