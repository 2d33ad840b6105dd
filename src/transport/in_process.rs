//! The virtual transport: a device model in this process, no bytes on a
//! wire. The fastest way to run a scenario, and the reference the other
//! transports are compared with.

use std::time::Duration;

use crate::clock::VirtualClock;
use crate::device::Token;
use crate::otp::Code;

use super::line::DeviceInfo;
use super::{Device, TransportError};

/// A token model driven directly. With a test clock (the [`VirtualClock`]
/// its time token's quartz runs on), `advance` moves that clock.
#[derive(Debug)]
pub struct Virtual {
    token: Box<dyn Token>,
    clock: Option<VirtualClock>,
}

impl Virtual {
    pub fn new(token: impl Token + 'static) -> Self {
        Virtual {
            token: Box::new(token),
            clock: None,
        }
    }

    /// `clock` is the base clock the token's time comes from.
    pub fn with_test_clock(mut self, clock: VirtualClock) -> Self {
        self.clock = Some(clock);
        self
    }
}

impl Device for Virtual {
    fn info(&mut self) -> Result<DeviceInfo, TransportError> {
        Ok(DeviceInfo::of(self.token.as_ref()))
    }

    fn press(&mut self) -> Result<Code, TransportError> {
        Ok(self.token.press()?)
    }

    fn advance(&mut self, seconds: u64) -> Result<(), TransportError> {
        let clock = self
            .clock
            .as_ref()
            .ok_or(TransportError::NoTestClock("this virtual token"))?;
        clock.advance(Duration::from_secs(seconds));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ClockOffset, Drift, DriftingClock, UnixTime};
    use crate::device::{C100, C200, Model, Serial};
    use crate::otp::{Algorithm, Digits, OtpKey, SecretKey, TimeStep, TotpParams};
    use std::sync::Arc;

    fn key() -> SecretKey {
        SecretKey::new(b"12345678901234567890".to_vec())
    }

    #[test]
    fn a_c100_shows_hotp_codes_and_has_no_clock() {
        let serial = Serial::parse("1000133508267").unwrap();
        let mut device = Virtual::new(C100::new(serial, key()));
        let info = device.info().unwrap();
        assert_eq!((info.model, info.step), (Model::C100, None));
        assert_eq!(device.press().unwrap().to_string(), "755224");
        assert_eq!(
            device.advance(1).unwrap_err().to_string(),
            "this virtual token has no test clock to advance"
        );
    }

    #[test]
    fn a_c200_follows_its_test_clock() {
        let base = VirtualClock::new(UnixTime::from_secs(1_111_111_109));
        let quartz = DriftingClock::new(Arc::new(base.clone()), Drift::ZERO, ClockOffset::ZERO);
        let serial = Serial::parse("2600124809778").unwrap();
        let token = C200::new(serial, key(), quartz)
            .with_step(TimeStep::SECONDS_30)
            .unwrap();
        let mut device = Virtual::new(token).with_test_clock(base);
        assert_eq!(device.info().unwrap().step, Some(TimeStep::SECONDS_30));
        device.advance(1_234_567_890 - 1_111_111_109).unwrap();
        // RFC 6238 appendix B, SHA-1, T = 1234567890: 89005924.
        assert_eq!(device.press().unwrap().to_string(), "005924");
        let reference = OtpKey::new(Algorithm::Sha1, &key());
        let params = TotpParams::new(TimeStep::SECONDS_30);
        assert_eq!(
            device.press().ok(),
            reference.totp(1_234_567_890, params, Digits::SIX).ok()
        );
    }
}
