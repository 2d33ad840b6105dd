//! The C200 key fob: a time (TOTP) token with its own quartz clock.

use crate::clock::{Clock, DriftingClock};
use crate::otp::{Algorithm, Code, Digits, OtpKey, SecretKey, TimeStep, TotpError, TotpParams};

use super::Token;
use super::error::DeviceError;
use super::model::Model;
use super::serial::Serial;

/// A C200: TOTP with HMAC-SHA-1, 6 digits, T0 = 0, a 60 s step as the
/// vendor ships it (30 s on request). A press shows the code for the time on
/// the token's own clock, drift and all, which is what the verifier's drift
/// window exists for.
#[derive(Clone, Debug)]
pub struct C200 {
    serial: Serial,
    key: OtpKey,
    params: TotpParams,
    clock: DriftingClock,
}

impl C200 {
    /// A C200 as shipped: a 60 s step, 6 digits, SHA-1.
    pub fn new(serial: Serial, key: SecretKey, clock: DriftingClock) -> Self {
        C200 {
            serial,
            key: OtpKey::new(Algorithm::Sha1, &key),
            params: TotpParams::new(TimeStep::SECONDS_60),
            clock,
        }
    }

    /// Real C200s are made with a 30 s or a 60 s step; anything else is
    /// refused rather than emulating a token that does not exist.
    pub fn with_step(mut self, step: TimeStep) -> Result<Self, DeviceError> {
        if step != TimeStep::SECONDS_30 && step != TimeStep::SECONDS_60 {
            return Err(DeviceError::UnsupportedStep { step });
        }
        self.params.step = step;
        Ok(self)
    }

    pub fn step(&self) -> TimeStep {
        self.params.step
    }

    pub fn clock(&self) -> &DriftingClock {
        &self.clock
    }
}

impl Token for C200 {
    fn serial(&self) -> &Serial {
        &self.serial
    }

    fn model(&self) -> Model {
        Model::C200
    }

    fn digits(&self) -> Digits {
        Digits::SIX
    }

    fn time_step(&self) -> Option<TimeStep> {
        Some(self.params.step)
    }

    fn press(&mut self) -> Result<Code, DeviceError> {
        let now = self.clock.now().as_secs();
        self.key
            .totp(now, self.params, Digits::SIX)
            .map_err(|e| match e {
                TotpError::BeforeEpoch { time, t0 } => DeviceError::BeforeT0 {
                    serial: self.serial,
                    time,
                    t0,
                },
                // TotpParams holds a TimeStep, which is never zero.
                TotpError::ZeroStep => DeviceError::UnsupportedStep {
                    step: self.params.step,
                },
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ClockOffset, Drift, UnixTime, VirtualClock};
    use std::sync::Arc;
    use std::time::Duration;

    fn key() -> SecretKey {
        SecretKey::new(b"12345678901234567890".to_vec())
    }

    fn serial() -> Serial {
        Serial::parse("2600124809778").expect("vendor serial")
    }

    fn fob_at(start: UnixTime, ppm: f64) -> (VirtualClock, C200) {
        let base = VirtualClock::new(start);
        let drift = Drift::from_ppm(ppm).expect("valid drift");
        let clock = DriftingClock::new(Arc::new(base.clone()), drift, ClockOffset::ZERO);
        let fob = C200::new(serial(), key(), clock);
        (base, fob)
    }

    #[test]
    fn shows_the_rfc6238_code_at_1234567890() {
        // RFC 6238 appendix B, SHA-1, T = 1234567890: 89005924.
        let (_, fob) = fob_at(UnixTime::from_secs(1_234_567_890), 0.0);
        let mut fob = fob
            .with_step(TimeStep::SECONDS_30)
            .expect("30 s is supported");
        assert_eq!(fob.press().map(|c| c.to_string()), Ok("005924".to_owned()));
        assert_eq!(fob.digits(), Digits::SIX);
    }

    #[test]
    fn defaults_to_sixty_second_steps() {
        let (base, mut fob) = fob_at(UnixTime::from_secs(1_234_567_860), 0.0);
        assert_eq!(fob.step(), TimeStep::SECONDS_60);
        let first = fob.press();
        base.advance(Duration::from_secs(59));
        assert_eq!(fob.press(), first);
        base.advance(Duration::from_secs(1));
        assert_ne!(fob.press(), first);
    }

    #[test]
    fn a_year_at_plus_100_ppm_is_3153_6_seconds_ahead() {
        let start = UnixTime::from_secs(1_700_000_000);
        let (base, mut fob) = fob_at(start, 100.0);
        let year = Duration::from_secs(365 * 86_400);
        base.advance(year);
        let token_time = start
            .saturating_add(year)
            .saturating_add(Duration::from_millis(3_153_600));
        assert_eq!(fob.clock().now(), token_time);
        let reference = OtpKey::new(Algorithm::Sha1, &key());
        let params = TotpParams::new(TimeStep::SECONDS_60);
        let expected = reference
            .totp(token_time.as_secs(), params, Digits::SIX)
            .ok();
        let undrifted = reference
            .totp(base.now().as_secs(), params, Digits::SIX)
            .ok();
        assert_eq!(fob.press().ok(), expected);
        assert_ne!(expected, undrifted);
    }

    #[test]
    fn only_30_and_60_second_steps_are_made() {
        let (_, fob) = fob_at(UnixTime::from_secs(0), 0.0);
        let step = TimeStep::from_secs(45).expect("non-zero");
        assert_eq!(
            fob.with_step(step).map_err(|e| e.to_string()).err(),
            Some("a c200 uses a 30s or 60s time step, not 45s".to_owned())
        );
    }
}
