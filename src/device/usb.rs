//! The USB OTP token: an event (HOTP) token that types its code.

use crate::otp::{Code, Digits, SecretKey};

use super::Token;
use super::error::DeviceError;
use super::event::EventCore;
use super::model::Model;
use super::serial::Serial;

/// A USB OTP token: the same HOTP rules as the [`C100`](super::C100)
/// (SHA-1, 6 digits by default, codes never repeat); a touch is a press.
/// How the code reaches the host (HID keyboard reports) is the transport's
/// business, not the model's.
#[derive(Clone, Debug)]
pub struct UsbToken {
    serial: Serial,
    core: EventCore,
}

impl UsbToken {
    /// Refuses a time-token serial: USB tokens use the event layout.
    pub fn new(serial: Serial, key: SecretKey) -> Result<Self, DeviceError> {
        serial.check_model(Model::Usb)?;
        Ok(UsbToken {
            serial,
            core: EventCore::new(&key),
        })
    }

    pub fn with_digits(mut self, digits: Digits) -> Self {
        self.core.set_digits(digits);
        self
    }

    /// A token that has already been touched `counter` times.
    pub fn with_counter(mut self, counter: u64) -> Self {
        self.core.set_counter(counter);
        self
    }

    /// The counter the next touch will use; `None` once exhausted.
    pub fn counter(&self) -> Option<u64> {
        self.core.counter()
    }
}

impl Token for UsbToken {
    fn serial(&self) -> &Serial {
        &self.serial
    }

    fn model(&self) -> Model {
        Model::Usb
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::new(b"12345678901234567890".to_vec())
    }

    #[test]
    fn behaves_like_a_c100_with_its_own_model() {
        let serial = Serial::parse("1000133508267").expect("event serial");
        let mut usb = UsbToken::new(serial, key()).expect("event serial");
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

    #[test]
    fn a_time_serial_is_refused() {
        let serial = Serial::parse("2600124809778").expect("time serial");
        assert_eq!(
            UsbToken::new(serial, key())
                .map_err(|e| e.to_string())
                .err(),
            Some(
                "serial 2600124809778 starts with 2 (time token) but a usb is an event token"
                    .to_owned()
            )
        );
    }
}
