//! RFC 6238 TOTP: HOTP over the number of time steps since T0.

use std::fmt;
use std::num::NonZeroU64;

use super::code::{Code, Digits};
use super::key::OtpKey;

/// The length of one time step in seconds (RFC 6238's X). Never zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeStep(NonZeroU64);

impl TimeStep {
    /// RFC 6238 §4.1 recommends 30 s.
    pub const SECONDS_30: TimeStep = TimeStep(NonZeroU64::new(30).expect("30 is not zero"));
    /// C200 key fobs ship with 60 s.
    pub const SECONDS_60: TimeStep = TimeStep(NonZeroU64::new(60).expect("60 is not zero"));

    pub fn from_secs(secs: u64) -> Result<Self, TotpError> {
        NonZeroU64::new(secs)
            .map(TimeStep)
            .ok_or(TotpError::ZeroStep)
    }

    pub fn as_secs(self) -> u64 {
        self.0.get()
    }
}

impl Default for TimeStep {
    fn default() -> Self {
        TimeStep::SECONDS_30
    }
}

impl fmt::Display for TimeStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("time step must be at least 1 second")]
    ZeroStep,
    #[error("time {time} is before T0 {t0}")]
    BeforeEpoch { time: u64, t0: u64 },
}

/// How a TOTP token maps Unix time to an HOTP counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TotpParams {
    pub step: TimeStep,
    /// T0, the Unix time at which step 0 begins (RFC 6238 §4.1: default 0).
    pub t0: u64,
}

impl TotpParams {
    pub fn new(step: TimeStep) -> Self {
        TotpParams { step, t0: 0 }
    }

    /// The step counter T = floor((time - T0) / X) for a Unix time in seconds.
    pub fn counter_at(&self, unix_secs: u64) -> Result<u64, TotpError> {
        unix_secs
            .checked_sub(self.t0)
            .map(|elapsed| elapsed / self.step.as_secs())
            .ok_or(TotpError::BeforeEpoch {
                time: unix_secs,
                t0: self.t0,
            })
    }

    /// The Unix time at which step `counter` begins, if representable.
    pub fn start_of(&self, counter: u64) -> Option<u64> {
        counter
            .checked_mul(self.step.as_secs())?
            .checked_add(self.t0)
    }
}

impl OtpKey {
    /// RFC 6238 TOTP: the code shown at `unix_secs`.
    pub fn totp(
        &self,
        unix_secs: u64,
        params: TotpParams,
        digits: Digits,
    ) -> Result<Code, TotpError> {
        Ok(self.hotp(params.counter_at(unix_secs)?, digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zero_step_is_refused() {
        assert_eq!(TimeStep::from_secs(0), Err(TotpError::ZeroStep));
    }

    #[test]
    fn time_before_t0_is_an_error() {
        let p = TotpParams {
            step: TimeStep::SECONDS_30,
            t0: 100,
        };
        assert_eq!(
            p.counter_at(99),
            Err(TotpError::BeforeEpoch { time: 99, t0: 100 })
        );
        assert_eq!(p.counter_at(100), Ok(0));
        assert_eq!(p.counter_at(129), Ok(0));
        assert_eq!(p.counter_at(130), Ok(1));
    }

    proptest! {
        #[test]
        fn every_second_of_a_step_maps_to_it(t0 in 0u64..1 << 40, step in 1u64..=3600, counter in 0u64..1 << 20, within in 0u64..3600) {
            let p = TotpParams { step: TimeStep::from_secs(step).unwrap(), t0 };
            let start = p.start_of(counter).unwrap();
            prop_assert_eq!(p.counter_at(start + within % step), Ok(counter));
        }
    }
}
