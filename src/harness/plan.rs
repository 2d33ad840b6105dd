//! What a case needs from a target, decided from the scenario before the
//! case runs: a case the target cannot run faithfully is `unsupported`
//! with the reason, never run and reported `fail`.
//!
//! On a target with clock control a case runs at its own instants. On one
//! without, the target decides on its own wall clock, so the case must not
//! depend on where on that clock it runs:
//! - a pinned `start` (an RFC vector's T) cannot be had at all;
//! - `advance`s are waited out in real time, up to a bound in all;
//! - a case with time tokens begins only at a phase of the wall clock where
//!   every step number it reads (the verifier's and each device's) is the
//!   one it reads under clock control, and stays so for [`SLACK`] after
//!   each planned instant, for the request in flight. Offsets that are not
//!   whole steps, or a reading "at a step's start", leave no such phase;
//! - a lifetime the verifier measures from a replacement step (the SMS
//!   code's, the attempt's) runs from when the target recorded that step,
//!   which on real time is up to [`SLACK`] after its planned instant: a
//!   case that reads such a lifetime within [`SLACK`] of its end ("exactly
//!   5 minutes later") cannot be run faithfully.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use super::scenario::{By, Case, Kind, Step};
use super::target::{ClockControl, Offers};
use crate::clock::{Clock, ClockOffset, Drift, DriftingClock, UnixTime, VirtualClock};
use crate::verifier::Policy;

/// How late a step may reach a target on real time and still be decided
/// in the step the plan expects: the plan keeps every reading this far
/// from a step boundary.
pub const SLACK: Duration = Duration::from_secs(3);

/// The part of [`SLACK`] the runner may spend before sending a step; the
/// rest is for the request itself.
pub const LATENESS: Duration = Duration::from_secs(2);

/// Phases are checked on this grid (ms); a bad stretch is never shorter
/// than [`SLACK`], so none falls between two points.
const GRID_MS: u64 = 100;

/// When a case runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// At the case's own instants, on the target's clock.
    Virtual { start: UnixTime },
    /// On the wall clock: begin at a phase in `starts`, then sleep through
    /// the advances.
    RealTime(RealTime),
}

/// The moments a case may begin on the wall clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealTime {
    /// The phases repeat with this period (the least common multiple of
    /// the case's time steps), in ms; 0 when the case reads no time step.
    period_ms: u64,
    /// Allowed phases, in ms into the period, sorted.
    starts: Vec<Range<u64>>,
    /// The advances in all, waited out in real time.
    pub waits: Duration,
    /// Whether a late step could change what the case reads (time steps,
    /// replacement lifetimes); a case of event tokens alone never is.
    pub timing_matters: bool,
}

impl RealTime {
    /// How long to wait from `now` for a moment the case may begin.
    pub fn wait_from(&self, now: UnixTime) -> Duration {
        if self.period_ms == 0 {
            return Duration::ZERO;
        }
        let phase = (now.as_nanos() / 1_000_000) % self.period_ms;
        let wait_ms = self
            .starts
            .iter()
            .map(|r| {
                if r.contains(&phase) {
                    0
                } else if r.start > phase {
                    r.start - phase
                } else {
                    r.start + self.period_ms - phase
                }
            })
            .min()
            .unwrap_or(0);
        Duration::from_millis(wait_ms)
    }
}

/// The case's [`Schedule`] on a target offering `offers`, or why it cannot
/// run there. `max_wait` bounds the real time a case may wait in all.
pub fn schedule(case: &Case, offers: &Offers, max_wait: Duration) -> Result<Schedule, String> {
    features(case, offers)?;
    if offers.clock != ClockControl::None {
        return Ok(Schedule::Virtual {
            start: UnixTime::from_secs(case.start()),
        });
    }
    if let Some(t) = case.start {
        return Err(format!(
            "pins the instant T = {t} (start); the target has no clock control"
        ));
    }
    let timeline = Timeline::of(case);
    if timeline.total > max_wait {
        return Err(format!(
            "moves the clock {} s in all; without clock control the runner waits at most {} s (--max-wait)",
            timeline.total.as_secs(),
            max_wait.as_secs()
        ));
    }
    timeline.lifetimes(case)?;
    timeline.real_time(case)
}

/// The features beyond validation a case uses, against what is offered.
fn features(case: &Case, offers: &Offers) -> Result<(), String> {
    let replacement = case.steps.iter().any(Step::is_replacement);
    if replacement && !offers.replacement {
        return Err("uses the device replacement flow; the target has none".to_owned());
    }
    let user_code = case.steps.iter().any(|s| {
        matches!(s, Step::Resync { by, user_code, .. } if *by != By::Serial || user_code.is_some())
    });
    if user_code && !offers.user_codes {
        return Err("resyncs by a licence-card user code; the target has no user codes".to_owned());
    }
    if case.steps.iter().any(|s| matches!(s, Step::Resync { .. })) && !offers.resync {
        return Err("resyncs a token; the target has no two-OTP resync".to_owned());
    }
    if !case.users.is_empty() && !offers.users {
        return Err("needs users; the target cannot create them".to_owned());
    }
    if case.steps.iter().any(|s| matches!(s, Step::Unlock { .. })) && !offers.unlock {
        return Err("unlocks a token; the target has no admin unlock".to_owned());
    }
    Ok(())
}

/// The instants a case's steps run at, relative to its start.
struct Timeline {
    instants: Vec<Duration>,
    total: Duration,
}

/// A time device as far as step numbers go.
struct TimeDevice {
    step_ms: u64,
    drift: Drift,
    offset: ClockOffset,
}

impl Timeline {
    fn of(case: &Case) -> Timeline {
        let mut at = Duration::ZERO;
        let mut instants = Vec::with_capacity(case.steps.len());
        for step in &case.steps {
            instants.push(at);
            if let Step::Advance { .. } = step {
                at += step.advance();
            }
        }
        Timeline {
            instants,
            total: at,
        }
    }

    /// Refuses a case that reads a replacement lifetime near its end. The
    /// lifetimes are those of tokenrig's default policy, which the suite's
    /// expectations are written for.
    fn lifetimes(&self, case: &Case) -> Result<(), String> {
        let policy = Policy::default().replacement;
        let lifetimes = [
            ("SMS code", policy.sms_code_validity),
            ("replacement attempt", policy.attempt_validity),
        ];
        for (i, step) in case.steps.iter().enumerate() {
            if !step.is_replacement() {
                continue;
            }
            for later in &self.instants[i + 1..] {
                let elapsed = *later - self.instants[i];
                for (what, lifetime) in lifetimes {
                    if elapsed.abs_diff(lifetime) < SLACK {
                        return Err(format!(
                            "reads the {what} {} s after a replacement step, within {} s of its {} s lifetime; needs clock control",
                            elapsed.as_secs(),
                            SLACK.as_secs(),
                            lifetime.as_secs()
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn real_time(&self, case: &Case) -> Result<Schedule, String> {
        let mut devices = Vec::new();
        for (name, spec) in &case.devices {
            if spec.kind != Kind::C200 {
                continue;
            }
            devices.push(TimeDevice {
                step_ms: spec.step.unwrap_or(60) * 1000,
                drift: Drift::from_ppm(spec.drift_ppm)
                    .map_err(|e| format!("devices.{name}.drift_ppm: {e}"))?,
                offset: ClockOffset::from_secs(spec.offset_secs),
            });
        }
        let period_ms = devices.iter().map(|d| d.step_ms).fold(0, lcm);
        if period_ms == 0 {
            // Lifetimes are read only across an advance.
            let lifetimes = !self.total.is_zero() && case.steps.iter().any(Step::is_replacement);
            return Ok(Schedule::RealTime(RealTime {
                period_ms: 0,
                starts: Vec::new(),
                waits: self.total,
                timing_matters: lifetimes,
            }));
        }
        let base = UnixTime::from_secs(case.start());
        let reference = self.readings(&devices, base, Duration::ZERO);
        let slack = SLACK;
        let good: Vec<bool> = (0..period_ms / GRID_MS)
            .map(|i| {
                let begin = base.saturating_add(Duration::from_millis(i * GRID_MS));
                self.readings(&devices, begin, Duration::ZERO) == reference
                    && self.readings(&devices, begin, slack) == reference
            })
            .collect();
        let starts = ranges(&good, period_ms);
        if starts.is_empty() {
            return Err(format!(
                "reads a time step at an instant the wall clock cannot be trusted to give (within {} s of a step boundary); needs clock control",
                SLACK.as_secs()
            ));
        }
        Ok(Schedule::RealTime(RealTime {
            period_ms,
            starts,
            waits: self.total,
            timing_matters: true,
        }))
    }

    /// Every step number the case reads when it begins at `begin` and
    /// each step runs `late` after its instant: per instant and time
    /// device, the verifier's step and the device's, both counted from
    /// the verifier's step at `begin`.
    fn readings(&self, devices: &[TimeDevice], begin: UnixTime, late: Duration) -> Vec<(i64, i64)> {
        let base = VirtualClock::new(begin);
        let clocks: Vec<DriftingClock> = devices
            .iter()
            .map(|d| DriftingClock::new(Arc::new(base.clone()), d.drift, d.offset))
            .collect();
        let mut out = Vec::with_capacity(self.instants.len() * devices.len());
        for at in &self.instants {
            base.set(begin.saturating_add(*at + late));
            for (device, clock) in devices.iter().zip(&clocks) {
                let step = |t: UnixTime| (t.as_nanos() / 1_000_000 / device.step_ms) as i64;
                let first = step(begin);
                out.push((step(base.now()) - first, step(clock.now()) - first));
            }
        }
        out
    }
}

/// The runs of `true` in a cyclic grid as ranges of ms, each shrunk by a
/// grid cell at its ends so that no edge is trusted.
fn ranges(good: &[bool], period_ms: u64) -> Vec<Range<u64>> {
    if good.iter().all(|g| *g) {
        return std::iter::once(0..period_ms).collect();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < good.len() {
        if !good[i] {
            i += 1;
            continue;
        }
        let first = i;
        while i < good.len() && good[i] {
            i += 1;
        }
        let (start, end) = (first as u64 * GRID_MS, i as u64 * GRID_MS);
        if end - start > 2 * GRID_MS {
            out.push(start + GRID_MS..end - GRID_MS);
        }
    }
    out
}

fn lcm(a: u64, b: u64) -> u64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    if a == 0 {
        return b;
    }
    a / gcd(a, b) * b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::scenario::parse;
    use std::path::Path;

    fn case(devices: &str, steps: &str) -> Case {
        let text = format!(
            "[[case]]\nid = \"P-1\"\ndescription = \"d\"\n{devices}\nsteps = [\n{steps}\n]\n"
        );
        parse(&text, Path::new("plan.toml"))
            .expect("parses")
            .remove(0)
    }

    const REAL_TIME: Offers = Offers {
        clock: ClockControl::None,
        users: true,
        resync: true,
        user_codes: true,
        unlock: true,
        replacement: true,
    };

    fn real_time(c: &Case) -> Result<Schedule, String> {
        schedule(c, &REAL_TIME, Duration::from_secs(120))
    }

    fn starts(c: &Case) -> Vec<Range<u64>> {
        match real_time(c) {
            Ok(Schedule::RealTime(rt)) => rt.starts,
            other => panic!("expected a real-time schedule, got {other:?}"),
        }
    }

    const VALIDATE: &str = "{ do = \"validate\", device = \"fob\", expect = \"accept\" },";

    #[test]
    fn clock_control_runs_every_case_at_its_start() {
        let c = case("start = 59\ndevices.fob = { kind = \"c200\" }", VALIDATE);
        let offers = Offers::everything(ClockControl::Shared);
        assert_eq!(
            schedule(&c, &offers, Duration::ZERO),
            Ok(Schedule::Virtual {
                start: UnixTime::from_secs(59)
            })
        );
    }

    #[test]
    fn a_pinned_start_or_a_long_advance_is_unsupported_on_real_time() {
        let c = case("start = 59\ndevices.fob = { kind = \"c200\" }", VALIDATE);
        assert!(real_time(&c).expect_err("pinned").contains("T = 59"));
        let c = case(
            "devices.fob = { kind = \"c100\" }",
            "{ do = \"advance\", seconds = 100 }, { do = \"advance\", seconds = 21 },",
        );
        let why = real_time(&c).expect_err("too long");
        assert!(why.contains("121 s in all"), "{why}");
    }

    #[test]
    fn event_tokens_begin_at_any_moment() {
        let c = case(
            "devices.fob = { kind = \"c100\" }",
            "{ do = \"advance\", seconds = 60 },",
        );
        let Ok(Schedule::RealTime(rt)) = real_time(&c) else {
            panic!("real time")
        };
        assert_eq!(rt.waits, Duration::from_secs(60));
        assert_eq!(
            rt.wait_from(UnixTime::from_nanos(123_456_789)),
            Duration::ZERO
        );
    }

    #[test]
    fn a_time_token_keeps_clear_of_step_boundaries() {
        let c = case("devices.fob = { kind = \"c200\" }", VALIDATE);
        // 60 s steps: begin anywhere but the last SLACK of a step.
        assert_eq!(starts(&c), vec![100..56_900]);
        let Ok(Schedule::RealTime(rt)) = real_time(&c) else {
            panic!("real time")
        };
        assert_eq!(
            rt.wait_from(UnixTime::from_secs(1_767_225_658)),
            Duration::from_millis(2_100)
        );
        assert_eq!(
            rt.wait_from(UnixTime::from_secs(1_767_225_610)),
            Duration::ZERO
        );
    }

    #[test]
    fn an_offset_of_whole_steps_runs_a_fraction_of_a_step_leaves_less() {
        let c = case(
            "devices.fob = { kind = \"c200\", offset_secs = 60 }",
            VALIDATE,
        );
        assert_eq!(starts(&c), vec![100..56_900]);
        // 30 s ahead: the device's step changes at phase 30 s as well.
        let c = case(
            "devices.fob = { kind = \"c200\", offset_secs = 30 }",
            VALIDATE,
        );
        assert_eq!(starts(&c), vec![100..26_900]);
    }

    #[test]
    fn a_reading_at_a_step_start_is_unsupported() {
        // 119 s ahead is one step ahead only in the first second of a step.
        let c = case(
            "devices.fob = { kind = \"c200\", offset_secs = 119 }",
            VALIDATE,
        );
        let why = real_time(&c).expect_err("needs the step's start");
        assert!(why.contains("needs clock control"), "{why}");
    }

    #[test]
    fn an_advance_of_whole_steps_keeps_every_phase_but_the_edges() {
        let c = case(
            "devices.fob = { kind = \"c200\", step = 30 }",
            &format!("{VALIDATE}\n{{ do = \"advance\", seconds = 30 }},\n{VALIDATE}"),
        );
        assert_eq!(starts(&c), vec![100..26_900]);
    }

    #[test]
    fn a_lifetime_read_near_its_end_is_unsupported_on_real_time() {
        let c = |seconds: u64| {
            case(
                "devices.fob = { kind = \"c100\" }\nusers.anna = { device = \"fob\" }",
                &format!(
                    "{{ do = \"replace_start\", user = \"anna\", expect = \"accept\" }},
                     {{ do = \"advance\", seconds = {seconds} }},
                     {{ do = \"replace_sms\", user = \"anna\", expect = \"sms_code_expired\" }},"
                ),
            )
        };
        let wait = Duration::from_secs(900);
        for near in [298, 300, 302] {
            let why = schedule(&c(near), &REAL_TIME, wait).expect_err("near the lifetime");
            assert!(why.contains("300 s lifetime"), "{why}");
        }
        for clear in [60, 297, 303, 360] {
            assert!(schedule(&c(clear), &REAL_TIME, wait).is_ok(), "{clear}");
        }
    }

    #[test]
    fn features_a_target_lacks_are_named() {
        let none = Offers {
            clock: ClockControl::Shared,
            users: false,
            resync: false,
            user_codes: false,
            unlock: false,
            replacement: false,
        };
        let c = case(
            "devices.fob = { kind = \"c100\" }",
            "{ do = \"unlock\", device = \"fob\" },",
        );
        assert!(
            schedule(&c, &none, Duration::ZERO)
                .expect_err("no unlock")
                .contains("unlock")
        );
        let c = case(
            "devices.fob = { kind = \"c100\" }\nusers.anna = { device = \"fob\" }",
            "{ do = \"resync\", device = \"fob\", by = \"user_code\", expect = \"accept\" },",
        );
        assert!(
            schedule(&c, &none, Duration::ZERO)
                .expect_err("no user codes")
                .contains("user code")
        );
        let c = case(
            "devices.fob = { kind = \"c100\" }",
            "{ do = \"resync\", device = \"fob\", expect = \"accept\" },",
        );
        assert!(
            schedule(&c, &none, Duration::ZERO)
                .expect_err("no resync")
                .contains("two-OTP resync")
        );
    }
}
