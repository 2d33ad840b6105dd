//! Fleets: many emulated tokens from one seed, on one virtual clock.
//!
//! A QA rig needs two matching halves: the tokens (to press) and the
//! inventory the vendor would ship to the verifier (serials and keys). A
//! fleet generates both from a seed, so the same seed always gives the same
//! serials, keys, drifts and therefore codes, on any machine.

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tokenrig_core::clock::{ClockOffset, Drift, DriftError, DriftingClock, UnixTime, VirtualClock};
use tokenrig_core::device::{
    C100Fob, C200, DeviceError, EventModel, EventToken, Model, Serial, Token, UsbKey, keygen,
};
use tokenrig_core::otp::{Code, SecretKey, TimeStep};

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetSpec {
    pub seed: u64,
    pub c100: u64,
    pub c200: u64,
    pub usb: u64,
    /// Step of every C200 in the fleet (30 or 60 s).
    pub c200_step: TimeStep,
    /// Each C200's quartz drift is drawn uniformly from ±this many ppm.
    pub max_drift_ppm: f64,
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            seed: 0,
            c100: 1,
            c200: 1,
            usb: 0,
            c200_step: TimeStep::SECONDS_60,
            // The field sees about ±3 steps of 60 s a year: ≈ ±6 ppm; allow
            // a margin over that.
            max_drift_ppm: 20.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error("--max-drift-ppm: {0}")]
    Drift(#[from] DriftError),
    #[error("seed {seed} gives serial {serial} twice; pick another seed")]
    DuplicateSerial { seed: u64, serial: Serial },
}

/// One token of a fleet, with what the verifier's inventory needs to know.
#[derive(Debug)]
pub struct Member {
    key: SecretKey,
    drift: Drift,
    step: Option<TimeStep>,
    token: Box<dyn Token>,
}

impl Member {
    /// The `index`-th event token of model `M` in fleet `seed`.
    fn event<M: EventModel>(seed: u64, index: u64, key: SecretKey) -> Result<Member, FleetError> {
        let serial = keygen::serial_from_seed(M::MODEL, seed, index);
        let token = EventToken::<M>::new(serial, key.clone());
        Ok(Member {
            key,
            drift: Drift::ZERO,
            step: None,
            token: Box::new(token),
        })
    }

    pub fn model(&self) -> Model {
        self.token.model()
    }

    pub fn serial(&self) -> &Serial {
        self.token.serial()
    }

    /// The quartz drift of a time token; zero for event tokens.
    pub fn drift(&self) -> Drift {
        self.drift
    }

    pub fn token_mut(&mut self) -> &mut dyn Token {
        self.token.as_mut()
    }
}

/// Tokens sharing one [`VirtualClock`]: advance it and every C200 ages,
/// each by its own drift.
#[derive(Debug)]
pub struct Fleet {
    clock: VirtualClock,
    members: Vec<Member>,
}

impl Fleet {
    /// Generates the fleet with its clock at `start`. Key indexes run over
    /// the whole fleet (C100s, then C200s, then USB tokens), so no two
    /// members share a key.
    pub fn generate(spec: &FleetSpec, start: UnixTime) -> Result<Fleet, FleetError> {
        let max = Drift::from_ppm(spec.max_drift_ppm)?.as_ppm().abs();
        let clock = VirtualClock::new(start);
        let mut drifts = ChaCha20Rng::seed_from_u64(spec.seed);
        let mut members = Vec::new();
        let mut key_index = 0u64;
        let mut next_key = || {
            key_index += 1;
            keygen::key_from_seed(spec.seed, key_index - 1, keygen::DEFAULT_KEY_LEN)
        };
        for i in 0..spec.c100 {
            members.push(Member::event::<C100Fob>(spec.seed, i, next_key())?);
        }
        for i in 0..spec.c200 {
            let key = next_key();
            let drift = Drift::from_ppm(drifts.random_range(-max..=max))?;
            let quartz = DriftingClock::new(Arc::new(clock.clone()), drift, ClockOffset::ZERO);
            let serial = keygen::serial_from_seed(Model::C200, spec.seed, i);
            let token = C200::new(serial, key.clone(), quartz).with_step(spec.c200_step)?;
            members.push(Member {
                key,
                drift,
                step: Some(spec.c200_step),
                token: Box::new(token),
            });
        }
        for i in 0..spec.usb {
            members.push(Member::event::<UsbKey>(spec.seed, i, next_key())?);
        }
        // C100 and USB serials share the event prefix but come from separate
        // derivations; a clash is unlikely, and refused rather than shipped.
        let mut seen = HashSet::new();
        if let Some(dup) = members.iter().find(|m| !seen.insert(*m.serial())) {
            return Err(FleetError::DuplicateSerial {
                seed: spec.seed,
                serial: *dup.serial(),
            });
        }
        Ok(Fleet { clock, members })
    }

    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn members_mut(&mut self) -> &mut [Member] {
        &mut self.members
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Presses every token once, in fleet order.
    pub fn press_all(&mut self) -> Result<Vec<(Serial, Code)>, DeviceError> {
        self.members
            .iter_mut()
            .map(|m| Ok((*m.serial(), m.token.press()?)))
            .collect()
    }

    /// Writes the inventory a vendor would ship for this fleet, as CSV with
    /// the header `serial,kind,key,digits,step`: key in hex, step in seconds
    /// for time tokens and empty for event tokens. It carries keys: treat the
    /// output as secret unless the seed is a test seed.
    pub fn write_inventory(&self, mut out: impl Write) -> io::Result<()> {
        writeln!(out, "serial,kind,key,digits,step")?;
        for m in &self.members {
            let step = m.step.map(|s| s.as_secs().to_string()).unwrap_or_default();
            writeln!(
                out,
                "{},{},{},{},{}",
                m.serial(),
                m.model(),
                m.key.to_hex().as_str(),
                m.token.digits(),
                step
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenrig_core::otp::{Algorithm, Digits, OtpKey, TotpParams};

    const START: UnixTime = UnixTime::from_secs(1_767_225_600);

    fn spec(seed: u64) -> FleetSpec {
        FleetSpec {
            seed,
            c100: 3,
            c200: 4,
            usb: 2,
            ..FleetSpec::default()
        }
    }

    fn inventory(fleet: &Fleet) -> String {
        let mut out = Vec::new();
        fleet.write_inventory(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_seed_same_fleet_other_seed_other_fleet() {
        let a = Fleet::generate(&spec(7), START).unwrap();
        let b = Fleet::generate(&spec(7), START).unwrap();
        let c = Fleet::generate(&spec(8), START).unwrap();
        assert_eq!(inventory(&a), inventory(&b));
        assert_ne!(inventory(&a), inventory(&c));
        assert_eq!(inventory(&a).lines().count(), 1 + 9);
    }

    #[test]
    fn inventory_rows_match_the_tokens_codes() {
        let mut fleet = Fleet::generate(&spec(3), START).unwrap();
        let rows: Vec<Vec<String>> = inventory(&fleet)
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect();
        let pressed = fleet.press_all().unwrap();
        for (row, (serial, code)) in rows.iter().zip(&pressed) {
            assert_eq!(row[0], serial.as_str());
            let key = OtpKey::new(Algorithm::Sha1, &SecretKey::from_hex(&row[2]).unwrap());
            let kind: Model = row[1].parse().unwrap();
            let expected = match kind {
                Model::C100 | Model::Usb => key.hotp(0, Digits::SIX),
                Model::C200 => {
                    let step = TimeStep::from_secs(row[4].parse().unwrap()).unwrap();
                    // At the start instant no drift has accumulated yet.
                    key.totp(START.as_secs(), TotpParams::new(step), Digits::SIX)
                        .unwrap()
                }
            };
            assert_eq!(*code, expected, "{serial}");
        }
    }

    #[test]
    fn each_c200_draws_its_own_drift_within_the_bound() {
        let fleet = Fleet::generate(&spec(11), START).unwrap();
        let c200s: Vec<&Member> = fleet
            .members()
            .iter()
            .filter(|m| m.model() == Model::C200)
            .collect();
        let drifts: HashSet<i64> = c200s.iter().map(|m| m.drift().as_ppb()).collect();
        assert_eq!(drifts.len(), c200s.len());
        assert!(c200s.iter().all(|m| m.drift().as_ppm().abs() <= 20.0));
        let event = fleet.members().iter().filter(|m| m.model() != Model::C200);
        assert!(event.map(Member::drift).all(|d| d == Drift::ZERO));
    }

    #[test]
    fn bad_drift_bound_is_an_error() {
        let bad = FleetSpec {
            max_drift_ppm: f64::NAN,
            ..spec(1)
        };
        assert!(matches!(
            Fleet::generate(&bad, START),
            Err(FleetError::Drift(_))
        ));
    }
}
