//! The USB OTP token: an event (HOTP) token that types its code.

use super::event::{EventModel, EventToken};
use super::model::Model;

/// Marks an [`EventToken`] as a USB OTP token.
#[derive(Debug)]
pub enum UsbKey {}

impl EventModel for UsbKey {
    const MODEL: Model = Model::Usb;
}

/// A USB OTP token: the same HOTP rules as the [`C100`](super::C100)
/// (SHA-1, 6 digits by default, codes never repeat); a touch is a press.
/// How the code reaches the host (HID keyboard reports) is the transport's
/// business, not the model's.
pub type UsbToken = EventToken<UsbKey>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{DeviceError, Serial, Token};
    use crate::otp::SecretKey;

    fn key() -> SecretKey {
        SecretKey::new(b"12345678901234567890".to_vec())
    }

    #[test]
    fn behaves_like_a_c100_with_its_own_model() {
        let serial = Serial::parse("1000133508267").expect("event serial");
        let mut usb = UsbToken::new(serial, key());
        assert_eq!(usb.model(), Model::Usb);
        assert_eq!(usb.press().map(|c| c.to_string()), Ok("755224".to_owned()));
        assert_eq!(usb.counter(), Some(1));
        let mut last = usb.with_counter(u64::MAX);
        assert!(last.press().is_ok());
        assert!(matches!(
            last.press(),
            Err(DeviceError::CounterExhausted { .. })
        ));
    }
}
