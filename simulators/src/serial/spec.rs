//! Which token a serial simulator runs, as plain values: the binary fills
//! it from its flags, the fixture tests from a file's header.

use std::sync::Arc;

use tokenrig_core::clock::{
    Clock, ClockOffset, Drift, DriftError, DriftingClock, UnixTime, VirtualClock,
};
use tokenrig_core::device::{
    C100, C200, EventModel, EventToken, Model, Serial, SerialError, Token, UsbToken,
};
use tokenrig_core::otp::{SecretKey, TimeStep};

/// Everything needed to build the token. Checked by [`SimSpec::build`].
#[derive(Debug, Clone)]
pub struct SimSpec {
    pub model: Model,
    pub serial: String,
    pub key: SecretKey,
    /// Event tokens: the counter of the first press.
    pub counter: u64,
    /// Time tokens: 30 or 60 s.
    pub step_secs: u64,
    /// Time tokens: how fast the quartz runs, in ppm.
    pub drift_ppm: f64,
    /// `Some(start)`: a test clock starting there, moved only by `ADVANCE`.
    /// `None`: the token lives on the `real_time` clock given to `build`.
    pub test_clock: Option<UnixTime>,
}

/// Why a spec does not make a token; each names the flag at fault.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("--serial: {0}")]
    Serial(#[from] SerialError),
    #[error("--step: {0}")]
    Step(String),
    #[error("--drift-ppm: {0}")]
    Drift(#[from] DriftError),
}

/// The token a simulator runs. An enum rather than `dyn Token` because the
/// engine must read an event token's counter before each press, to record
/// it durably first.
#[derive(Debug)]
pub enum SimToken {
    C100(C100),
    Usb(UsbToken),
    C200(C200),
}

impl SimToken {
    pub fn token(&self) -> &dyn Token {
        match self {
            SimToken::C100(t) => t,
            SimToken::Usb(t) => t,
            SimToken::C200(t) => t,
        }
    }

    pub fn token_mut(&mut self) -> &mut dyn Token {
        match self {
            SimToken::C100(t) => t,
            SimToken::Usb(t) => t,
            SimToken::C200(t) => t,
        }
    }

    /// Event tokens: `Some(counter of the next press)`, `Some(None)` once
    /// exhausted. Time tokens: `None`.
    pub fn counter(&self) -> Option<Option<u64>> {
        match self {
            SimToken::C100(t) => Some(t.counter()),
            SimToken::Usb(t) => Some(t.counter()),
            SimToken::C200(_) => None,
        }
    }

    /// Moves an event token's counter forward to a recorded `next` (`None`:
    /// exhausted), never back: a restart must not repeat a code. Time
    /// tokens are left as they are.
    pub fn resume(self, next: Option<u64>) -> SimToken {
        fn forward<M: EventModel>(t: EventToken<M>, next: Option<u64>) -> EventToken<M> {
            match (t.counter(), next) {
                (Some(now), Some(next)) if now < next => t.with_counter(next),
                (Some(_), None) => t.exhausted(),
                _ => t,
            }
        }
        match self {
            SimToken::C100(t) => SimToken::C100(forward(t, next)),
            SimToken::Usb(t) => SimToken::Usb(forward(t, next)),
            other => other,
        }
    }
}

/// A built simulator: the token and, with a test clock, the clock
/// `ADVANCE` moves.
#[derive(Debug)]
pub struct Sim {
    pub token: SimToken,
    pub test_clock: Option<VirtualClock>,
}

impl SimSpec {
    /// Builds the token. `real_time` is the clock used without a test
    /// clock; only the binary passes the system clock.
    pub fn build(&self, real_time: Arc<dyn Clock>) -> Result<Sim, SpecError> {
        let serial = Serial::parse(&self.serial)?;
        let test_clock = self.test_clock.map(VirtualClock::new);
        let token = match self.model {
            Model::C100 => {
                SimToken::C100(C100::new(serial, self.key.clone()).with_counter(self.counter))
            }
            Model::Usb => {
                SimToken::Usb(UsbToken::new(serial, self.key.clone()).with_counter(self.counter))
            }
            Model::C200 => {
                let step = TimeStep::from_secs(self.step_secs)
                    .map_err(|e| SpecError::Step(e.to_string()))?;
                let drift = Drift::from_ppm(self.drift_ppm)?;
                let base: Arc<dyn Clock> = match &test_clock {
                    Some(clock) => Arc::new(clock.clone()),
                    None => real_time,
                };
                let quartz = DriftingClock::new(base, drift, ClockOffset::ZERO);
                let token = C200::new(serial, self.key.clone(), quartz)
                    .with_step(step)
                    .map_err(|e| SpecError::Step(e.to_string()))?;
                SimToken::C200(token)
            }
        };
        Ok(Sim { token, test_clock })
    }
}
