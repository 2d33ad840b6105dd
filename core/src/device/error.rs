//! What can go wrong with a token model. Messages name the serial, never a
//! key or a code.

use crate::otp::TimeStep;

use super::serial::Serial;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("token {serial} has shown the code for its last counter value and can show no more")]
    CounterExhausted { serial: Serial },
    #[error("a c200 uses a 30s or 60s time step, not {step}")]
    UnsupportedStep { step: TimeStep },
    #[error("token {serial} clock reads {time} s, before T0 {t0} s")]
    BeforeT0 { serial: Serial, time: u64, t0: u64 },
}
