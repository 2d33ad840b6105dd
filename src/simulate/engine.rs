//! One token's life, login by login, through the real verifier core and
//! the real device models; and the fleet on every core.
//!
//! Token-major: a worker takes a token, lives its whole life under every
//! policy, folds what happened into fixed-size tallies, and forgets it.
//! Nothing is kept per token but the sampled drift traces, so memory does
//! not grow with the fleet. A token's key, drift, shelf time and its
//! user's whole calendar come from its own ChaCha8 stream, seeded from
//! (seed, token index): the same token lives the same life on any number
//! of threads, and under every policy of a grid (the same presses at the
//! same instants), so policies differ only by what the verifier decided.
//!
//! Codes come from the device models (`C200` on a `DriftingClock` over a
//! `VirtualClock`, `C100` and `UsbToken` presses), typed into
//! [`validate`] and [`resync`] as the server would receive them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::clock::{Clock, ClockOffset, Drift, DriftError, DriftingClock, UnixTime, VirtualClock};
use crate::device::{C100, C200, DeviceError, Model, Token, UsbToken, keygen};
use crate::otp::{Algorithm, Digits, TimeStep, TotpParams};
use crate::verifier::{
    Decision, Policy, Reason, TokenConfig, TokenKind, TokenState, resync, unlock, validate,
};

use super::fleet::{Fleet, Kind};

/// Day 0 of every run: Monday 4 January 2027, 00:00 UTC. Fixed, so a run
/// is the same whenever it is made.
pub const EPOCH_SECS: u64 = 1_799_020_800;
const NANOS: u64 = 1_000_000_000;
const DAY: u64 = 86_400 * NANOS;
/// Logins fall in working hours, 08:00 to 18:00, uniformly.
const WORK_START: u64 = 8 * 3_600 * NANOS;
const WORK_LENGTH: u64 = 10 * 3_600 * NANOS;
/// Monday to Friday of a 365-day year.
pub const WORKING_DAYS_PER_YEAR: f64 = 261.0;
/// What the helpdesk's resync searches: beyond any drift a checked fleet
/// reaches (20 years and 5 on a shelf at 1,000 ppm is 9.1 days), and far
/// beyond any burst of stray presses.
const HELPDESK_SPAN: Duration = Duration::from_secs(10 * 86_400);
const HELPDESK_EVENT_WINDOW: u64 = 1_000_000;
/// A worker claims this many tokens at a time.
const CHUNK: u64 = 64;

/// Why a run stopped. Only `Invalid` can happen with a fleet from the
/// CLI (which checks it first); the others are errors rather than panics
/// because they come from user numbers.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The fleet breaks a rule of [`Fleet::check`].
    #[error("{0}")]
    Invalid(String),
    #[error("token {index}: {source}")]
    Device { index: u64, source: DeviceError },
    #[error("token {index}: {source}")]
    Drift { index: u64, source: DriftError },
    #[error("a simulation thread panicked")]
    Panicked,
}

/// What happened in one year of the run, for one policy and kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct YearTally {
    pub logins: u64,
    pub desync: u64,
    pub resyncs: u64,
    pub helpdesk: u64,
}

/// Everything counted for one policy and one kind of token. Integers only,
/// so tallies merge in any order to the same result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub tokens: u64,
    pub logins: u64,
    /// Calls into the verifier core: validations and resyncs.
    pub decisions: u64,
    /// Logins whose first code was rejected.
    pub desync: u64,
    /// Of those, rejected as a replay (a second login in the same step).
    pub desync_replayed: u64,
    /// Logins the next code rescued.
    pub next_code: u64,
    /// Two-OTP resyncs the user made, and how many were accepted.
    pub resyncs: u64,
    pub resyncs_accepted: u64,
    /// Helpdesk calls: a failed resync or a lock.
    pub helpdesk: u64,
    /// Helpdesk calls whose wide resync still did not find the token.
    pub unresolved: u64,
    pub lockouts: u64,
    pub tokens_locked: u64,
    /// Time tokens at the end: the drift the verifier learned, and the
    /// token clock's true offset rounded to whole steps.
    pub learned_drift: BTreeMap<i64, u64>,
    pub true_drift: BTreeMap<i64, u64>,
    pub years: Vec<YearTally>,
}

impl Tally {
    fn new(years: u32) -> Tally {
        Tally {
            years: vec![YearTally::default(); years as usize],
            ..Tally::default()
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.tokens += other.tokens;
        self.logins += other.logins;
        self.decisions += other.decisions;
        self.desync += other.desync;
        self.desync_replayed += other.desync_replayed;
        self.next_code += other.next_code;
        self.resyncs += other.resyncs;
        self.resyncs_accepted += other.resyncs_accepted;
        self.helpdesk += other.helpdesk;
        self.unresolved += other.unresolved;
        self.lockouts += other.lockouts;
        self.tokens_locked += other.tokens_locked;
        for (steps, n) in &other.learned_drift {
            *self.learned_drift.entry(*steps).or_default() += n;
        }
        for (steps, n) in &other.true_drift {
            *self.true_drift.entry(*steps).or_default() += n;
        }
        for (mine, theirs) in self.years.iter_mut().zip(&other.years) {
            mine.logins += theirs.logins;
            mine.desync += theirs.desync;
            mine.resyncs += theirs.resyncs;
            mine.helpdesk += theirs.helpdesk;
        }
    }
}

/// A sampled time token, week by week under the first policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub index: u64,
    pub kind: Kind,
    pub serial: String,
    pub ppm: f64,
    pub shelf_days: u32,
    pub points: Vec<TracePoint>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracePoint {
    pub day: u32,
    /// The token's clock minus true time, in milliseconds.
    pub true_offset_ms: i64,
    /// The verifier's `drift_steps` for it.
    pub learned_steps: i64,
}

/// A run's result: per policy, a tally per kind (in [`Kind::ALL`]'s
/// order), and the sampled traces by token index.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetResult {
    pub tallies: Vec<Vec<Tally>>,
    pub traces: Vec<Trace>,
}

/// Simulates `fleet` under each of `policies` on `threads` threads;
/// `progress` is told how many tokens each finished chunk held.
pub fn run(
    fleet: &Fleet,
    policies: &[Policy],
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<FleetResult, SimulateError> {
    fleet.check().map_err(SimulateError::Invalid)?;
    let next = AtomicU64::new(0);
    let results: Vec<Result<FleetResult, SimulateError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| scope.spawn(|| worker(fleet, policies, &next, progress)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Err(SimulateError::Panicked)))
            .collect()
    });
    let mut total = empty(fleet, policies.len());
    for result in results {
        let part = result?;
        for (mine, theirs) in total.tallies.iter_mut().zip(&part.tallies) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                m.merge(t);
            }
        }
        total.traces.extend(part.traces);
    }
    total.traces.sort_by_key(|t| t.index);
    Ok(total)
}

fn empty(fleet: &Fleet, policies: usize) -> FleetResult {
    FleetResult {
        tallies: (0..policies)
            .map(|_| Kind::ALL.iter().map(|_| Tally::new(fleet.years)).collect())
            .collect(),
        traces: Vec::new(),
    }
}

/// Claims chunks of tokens until none are left.
fn worker(
    fleet: &Fleet,
    policies: &[Policy],
    next: &AtomicU64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<FleetResult, SimulateError> {
    let total = fleet.tokens.total();
    let mut out = empty(fleet, policies.len());
    let base = VirtualClock::new(UnixTime::from_secs(EPOCH_SECS));
    let mut scratch = Scratch::default();
    loop {
        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
        if start >= total {
            return Ok(out);
        }
        let end = (start + CHUNK).min(total);
        for index in start..end {
            simulate_token(fleet, policies, index, &base, &mut scratch, &mut out)?;
        }
        progress(end - start);
    }
}

/// Buffers a worker reuses from token to token.
#[derive(Default)]
struct Scratch {
    login_times: Vec<u64>,
    code: String,
}

/// The device a token is, as its user holds it.
#[derive(Clone)]
enum Fob {
    C100(C100),
    Usb(UsbToken),
    C200(C200),
}

impl Fob {
    fn press(&mut self, index: u64) -> Result<crate::otp::Code, SimulateError> {
        match self {
            Fob::C100(f) => f.press(),
            Fob::Usb(f) => f.press(),
            Fob::C200(f) => f.press(),
        }
        .map_err(|source| SimulateError::Device { index, source })
    }
}

/// The per-token stream: the seed's bytes and a domain tag as the key,
/// the token's index as the stream, so tokens are independent and any
/// one can be replayed alone.
fn token_rng(seed: u64, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..25].copy_from_slice(b"tokenrig/simulate");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(index);
    rng
}

fn simulate_token(
    fleet: &Fleet,
    policies: &[Policy],
    index: u64,
    base: &VirtualClock,
    scratch: &mut Scratch,
    out: &mut FleetResult,
) -> Result<(), SimulateError> {
    let Some((kind, within)) = fleet.tokens.kind_of(index) else {
        return Ok(());
    };
    let mut rng = token_rng(fleet.seed, index);
    let secret = keygen::key_from_seed(fleet.seed, index, keygen::DEFAULT_KEY_LEN);
    let device = |source| SimulateError::Device { index, source };
    let epoch = UnixTime::from_secs(EPOCH_SECS);
    let (fob, config, ppm, shelf_days) = match kind.step_secs() {
        None => {
            let model = if kind == Kind::C100 {
                Model::C100
            } else {
                Model::Usb
            };
            let serial = keygen::serial_from_seed(model, fleet.seed, within);
            let fob = if kind == Kind::C100 {
                Fob::C100(C100::new(serial, secret.clone()))
            } else {
                Fob::Usb(UsbToken::new(serial, secret.clone()))
            };
            let config = TokenConfig::new(Algorithm::Sha1, &secret, Digits::SIX, TokenKind::Event);
            (fob, config, 0.0, 0)
        }
        Some(step_secs) => {
            let ppm = fleet.drift_ppm.sample(&mut rng);
            let shelf_days = fleet.shelf_days.sample(&mut rng);
            let drift =
                Drift::from_ppm(ppm).map_err(|source| SimulateError::Drift { index, source })?;
            let made = UnixTime::from_secs(EPOCH_SECS - u64::from(shelf_days) * 86_400);
            let quartz = DriftingClock::with_reference(
                Arc::new(base.clone()),
                drift,
                ClockOffset::ZERO,
                made,
            );
            let serial = keygen::serial_from_seed(Model::C200, fleet.seed, within);
            let step = if step_secs == 30 {
                TimeStep::SECONDS_30
            } else {
                TimeStep::SECONDS_60
            };
            let fob = C200::new(serial, secret.clone(), quartz)
                .with_step(step)
                .map_err(device)?;
            let kind = TokenKind::Time(TotpParams::new(step));
            let config = TokenConfig::new(Algorithm::Sha1, &secret, Digits::SIX, kind);
            (Fob::C200(fob), config, ppm, shelf_days)
        }
    };
    let traced = kind.step_secs().is_some() && {
        let first_time = fleet.tokens.c100;
        index >= first_time && index - first_time < u64::from(fleet.sample_tokens)
    };
    let slot = Kind::ALL.iter().position(|&k| k == kind).unwrap_or(0);
    for (p, policy) in policies.iter().enumerate() {
        base.set(epoch);
        let mut life = Life {
            fleet,
            policy,
            helpdesk: Policy {
                time_resync_span: HELPDESK_SPAN,
                event_resync_window: HELPDESK_EVENT_WINDOW,
                ..policy.clone()
            },
            config: &config,
            fob: fob.clone(),
            base,
            index,
            state: TokenState::default(),
            now: EPOCH_SECS * NANOS,
            typing: u64::from(fleet.usage.typing_seconds) * NANOS,
            locked_before: false,
            code: &mut scratch.code,
            tally: &mut out.tallies[p][slot],
        };
        let mut points = Vec::new();
        let trace = (traced && p == 0).then_some(&mut points);
        life.live(rng.clone(), &mut scratch.login_times, trace)?;
        if traced && p == 0 {
            out.traces.push(Trace {
                index,
                kind,
                serial: match &fob {
                    Fob::C200(f) => f.serial().to_string(),
                    Fob::C100(f) => f.serial().to_string(),
                    Fob::Usb(f) => f.serial().to_string(),
                },
                ppm,
                shelf_days,
                points,
            });
        }
    }
    Ok(())
}

/// One token under one policy: its state and where its tally goes.
struct Life<'a> {
    fleet: &'a Fleet,
    policy: &'a Policy,
    /// The policy with the helpdesk's wide resync reach.
    helpdesk: Policy,
    config: &'a TokenConfig,
    fob: Fob,
    base: &'a VirtualClock,
    index: u64,
    state: TokenState,
    /// True time, in nanoseconds since the Unix epoch.
    now: u64,
    typing: u64,
    locked_before: bool,
    code: &'a mut String,
    tally: &'a mut Tally,
}

impl Life<'_> {
    /// Every working day of the run: days off, idle spells, the day's
    /// logins. Randomness is drawn in the same order whatever the
    /// verifier answers, so every policy sees the same user.
    fn live(
        &mut self,
        mut rng: ChaCha8Rng,
        times: &mut Vec<u64>,
        mut trace: Option<&mut Vec<TracePoint>>,
    ) -> Result<(), SimulateError> {
        let fleet = self.fleet;
        let usage = &fleet.usage;
        let holiday = f64::from(usage.holidays_per_year) / WORKING_DAYS_PER_YEAR;
        let spell = usage.idle_spells_per_year / WORKING_DAYS_PER_YEAR;
        let event = self.step().is_none();
        let strays = event && !usage.stray_presses.is_zero();
        let mut idle_until = 0;
        self.tally.tokens += 1;
        for day in 0..fleet.days() {
            let start = EPOCH_SECS * NANOS + u64::from(day) * DAY;
            if let Some(points) = trace.as_deref_mut().filter(|_| day % 7 == 0) {
                points.push(self.trace_point(day, start));
            }
            if day % 7 >= 5 || day < idle_until {
                continue;
            }
            if spell > 0.0 && rng.random_bool(spell) {
                idle_until = day + 1 + usage.idle_days.sample(&mut rng);
                continue;
            }
            if holiday > 0.0 && rng.random_bool(holiday) {
                continue;
            }
            let n = usage.logins_per_day.sample(&mut rng);
            times.clear();
            times.extend((0..n).map(|_| rng.random_range(0..WORK_LENGTH)));
            times.sort_unstable();
            let year = (day / 365) as usize;
            for &t in times.iter() {
                if strays {
                    for _ in 0..usage.stray_presses.sample(&mut rng) {
                        self.fob.press(self.index)?;
                    }
                }
                self.login(start + WORK_START + t, year)?;
            }
        }
        if let Some(step) = self.step() {
            let end = EPOCH_SECS * NANOS + u64::from(self.fleet.days()) * DAY;
            let offset = self.token_offset(end);
            let steps = (offset as f64 / step as f64).round() as i64;
            *self.tally.true_drift.entry(steps).or_default() += 1;
            *self
                .tally
                .learned_drift
                .entry(self.state.drift_steps)
                .or_default() += 1;
        }
        Ok(())
    }

    /// The time step in nanoseconds, for a time token.
    fn step(&self) -> Option<u64> {
        match &self.fob {
            Fob::C200(f) => Some(f.step().as_secs() * NANOS),
            Fob::C100(_) | Fob::Usb(_) => None,
        }
    }

    /// The token's clock minus true time at `at`, in nanoseconds.
    fn token_offset(&self, at: u64) -> i64 {
        let Fob::C200(fob) = &self.fob else {
            return 0;
        };
        self.base.set(UnixTime::from_nanos(at));
        let token = fob.clock().now().as_nanos();
        i64::try_from(i128::from(token) - i128::from(at)).unwrap_or(i64::MAX)
    }

    fn trace_point(&self, day: u32, at: u64) -> TracePoint {
        TracePoint {
            day,
            true_offset_ms: self.token_offset(at) / 1_000_000,
            learned_steps: self.state.drift_steps,
        }
    }

    /// One login and what its user does when it is refused: the next code,
    /// then a two-OTP resync, then the helpdesk.
    fn login(&mut self, at: u64, year: usize) -> Result<(), SimulateError> {
        self.now = self.now.max(at);
        self.tally.logins += 1;
        self.tally.years[year].logins += 1;
        let first = self.try_code()?;
        if first.is_accepted() {
            return Ok(());
        }
        self.tally.desync += 1;
        self.tally.years[year].desync += 1;
        if first.reason() == Some(&Reason::Replayed) {
            self.tally.desync_replayed += 1;
        }
        if self.state.locked {
            return self.call_helpdesk(year, true);
        }
        self.next_code()?;
        if self.try_code()?.is_accepted() {
            self.tally.next_code += 1;
            return Ok(());
        }
        if self.state.locked {
            return self.call_helpdesk(year, true);
        }
        self.tally.resyncs += 1;
        self.tally.years[year].resyncs += 1;
        let policy = self.policy;
        if self.resync_with(policy)?.is_accepted() {
            self.tally.resyncs_accepted += 1;
            return Ok(());
        }
        let locked = self.state.locked;
        self.call_helpdesk(year, locked)
    }

    /// The helpdesk unlocks the token if it is locked and resynchronises
    /// it over a span no drift in the run reaches; the login then goes on.
    fn call_helpdesk(&mut self, year: usize, lock: bool) -> Result<(), SimulateError> {
        self.tally.helpdesk += 1;
        self.tally.years[year].helpdesk += 1;
        if lock {
            self.tally.lockouts += 1;
            if !self.locked_before {
                self.locked_before = true;
                self.tally.tokens_locked += 1;
            }
        }
        self.state = unlock(self.state);
        let helpdesk = self.helpdesk.clone();
        if !self.resync_with(&helpdesk)?.is_accepted() {
            self.tally.unresolved += 1;
        }
        Ok(())
    }

    /// Presses the token and types the code in.
    fn try_code(&mut self) -> Result<Decision, SimulateError> {
        self.press_into_code()?;
        self.now += self.typing;
        let d = validate(
            self.policy,
            self.config,
            self.state,
            self.code.as_str(),
            self.at(),
        );
        Ok(self.apply(d))
    }

    /// Two consecutive codes: the one shown now, and the next.
    fn resync_with(&mut self, policy: &Policy) -> Result<Decision, SimulateError> {
        self.press_into_code()?;
        let first = self.code.clone();
        self.next_code()?;
        self.press_into_code()?;
        self.now += self.typing;
        let d = resync(
            policy,
            self.config,
            self.state,
            &first,
            self.code.as_str(),
            self.at(),
        );
        Ok(self.apply(d))
    }

    fn apply(&mut self, d: Decision) -> Decision {
        self.tally.decisions += 1;
        self.state = d.new_state;
        d
    }

    fn at(&self) -> UnixTime {
        UnixTime::from_nanos(self.now)
    }

    fn press_into_code(&mut self) -> Result<(), SimulateError> {
        self.base.set(self.at());
        let code = self.fob.press(self.index)?;
        self.code.clear();
        // Writing into a String cannot fail.
        let _ = write!(self.code, "{code}");
        Ok(())
    }

    /// Waits until the token shows another code: a time token's clock
    /// reaches its next step (found on the token's own clock, so a fast
    /// quartz is waited for exactly); an event token is simply pressed
    /// again.
    fn next_code(&mut self) -> Result<(), SimulateError> {
        let (Some(step), Fob::C200(fob)) = (self.step(), &self.fob) else {
            return Ok(());
        };
        self.base.set(self.at());
        let shown = fob.clock().now().as_nanos();
        let boundary = (shown / step + 1) * step;
        // True and token time differ by ppm: step by the remaining
        // token time until the boundary is reached (one or two rounds).
        loop {
            let token = fob.clock().now().as_nanos();
            if token >= boundary {
                return Ok(());
            }
            self.now += boundary - token;
            self.base.set(self.at());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::fleet::{CountDistribution, DayRange, DriftDistribution, TokenCounts};

    /// `n` C200s of 60 s drifting exactly `ppm`, straight from the
    /// factory, used once every working day, no days off.
    fn daily(n: u64, ppm: f64, years: u32) -> Fleet {
        let mut fleet = Fleet {
            years,
            tokens: TokenCounts {
                c200_60: n,
                ..TokenCounts::default()
            },
            drift_ppm: DriftDistribution::Empirical(vec![ppm]),
            shelf_days: DayRange { min: 0, max: 0 },
            ..Fleet::default()
        };
        fleet.usage.holidays_per_year = 0;
        fleet.usage.idle_spells_per_year = 0.0;
        fleet
    }

    fn policy(time_window: u64, learn_drift: bool) -> Policy {
        Policy {
            time_window,
            learn_drift,
            ..Policy::default()
        }
    }

    fn simulate(fleet: &Fleet, policies: &[Policy], threads: usize) -> FleetResult {
        run(fleet, policies, threads, &|_| {}).expect("the run completes")
    }

    fn c200_60(outcome: &FleetResult, policy: usize) -> &Tally {
        &outcome.tallies[policy][2]
    }

    /// The drift of one 60 s step a year: 60 s in 365 days.
    const STEP_A_YEAR_PPM: f64 = 60.0 / (365.0 * 86_400.0) * 1e6;

    #[test]
    fn zero_drift_never_desynchronises_at_any_window() {
        let fleet = daily(50, 0.0, 2);
        let policies: Vec<Policy> = (0..=3).map(|w| policy(w, true)).collect();
        let outcome = simulate(&fleet, &policies, 2);
        for (w, tallies) in outcome.tallies.iter().enumerate() {
            let t = &tallies[2];
            assert_eq!(
                t.logins,
                50 * 2 * 261,
                "window ±{w}: a login each working day"
            );
            assert_eq!((t.desync, t.resyncs, t.helpdesk), (0, 0, 0), "window ±{w}");
            assert_eq!(t.learned_drift, BTreeMap::from([(0, 50)]));
        }
    }

    #[test]
    fn a_step_a_year_without_learning_fails_only_after_the_first_year() {
        let fleet = daily(40, STEP_A_YEAR_PPM, 3);
        let outcome = simulate(&fleet, &[policy(1, false)], 2);
        let t = c200_60(&outcome, 0);
        assert_eq!(t.years[0].desync, 0, "within ±1 step all of year one");
        assert!(t.years[1].desync > 0, "year two: {:?}", t.years);
        // Each failure is recovered by a resync, which sets the drift the
        // window then stays on for another year.
        assert_eq!(t.helpdesk, 0);
        assert!(t.resyncs_accepted > 0 && t.resyncs_accepted == t.resyncs);
    }

    #[test]
    fn a_step_a_year_with_learning_never_fails_when_used_daily() {
        let fleet = daily(40, STEP_A_YEAR_PPM, 3);
        let outcome = simulate(&fleet, &[policy(1, true)], 2);
        let t = c200_60(&outcome, 0);
        assert_eq!(t.logins, 40 * 3 * 261);
        assert_eq!((t.desync, t.resyncs, t.helpdesk), (0, 0, 0));
        // Three steps ahead after three years, learned as such (or one
        // less: the step boundary may not have been crossed at the last
        // login of a token whose phase lags).
        let learned: u64 = t
            .learned_drift
            .iter()
            .filter(|(s, _)| (2..=3).contains(*s))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(learned, 40, "{:?}", t.learned_drift);
        assert_eq!(t.true_drift, BTreeMap::from([(3, 40)]));
    }

    #[test]
    fn any_thread_count_gives_the_same_outcome() {
        let mut fleet = daily(40, 0.0, 1);
        fleet.drift_ppm = DriftDistribution::Normal {
            mean: 0.0,
            sigma: 20.0,
        };
        fleet.tokens.c100 = 30;
        fleet.tokens.usb = 10;
        fleet.tokens.c200_30 = 6;
        fleet.usage.logins_per_day = CountDistribution::Poisson(1.5);
        fleet.usage.stray_presses = CountDistribution::Geometric(2.0);
        fleet.usage.idle_spells_per_year = 2.0;
        let policies = [policy(0, false), policy(1, true)];
        let one = simulate(&fleet, &policies, 1);
        let three = simulate(&fleet, &policies, 3);
        assert_eq!(one, three);
        assert!(one.tallies[0][2].desync > 0, "the run exercises rejections");
        assert_eq!(one.traces.len(), 8);
    }

    #[test]
    fn a_typing_delay_at_window_zero_fails_as_often_as_the_step_turns_meanwhile() {
        // Exact clocks, ±0: a code typed 10 s after it was read is refused
        // when the 60 s step turned in between, 1 time in 6; the next code,
        // read as its step begins, always makes it.
        let mut fleet = daily(200, 0.0, 1);
        fleet.usage.typing_seconds = 10;
        let outcome = simulate(&fleet, &[policy(0, true)], 2);
        let t = c200_60(&outcome, 0);
        let rate = t.desync as f64 / t.logins as f64;
        // σ = sqrt(p(1 - p) / n) ≈ 0.0017 for n = 52,200: within 4 σ.
        assert!((rate - 1.0 / 6.0).abs() < 0.007, "{rate}");
        assert_eq!(t.next_code, t.desync);
    }

    #[test]
    fn geometric_stray_presses_fail_as_often_as_the_tail_beyond_the_look_ahead() {
        // Stray presses X before each login, geometric with mean 1:
        // P(X >= w) = (1/2)^w; a look-ahead of 3 refuses 1 login in 8,
        // and the next code (X + 1 ahead) never rescues one.
        let mut fleet = daily(0, 0.0, 1);
        fleet.tokens.c100 = 100;
        fleet.usage.stray_presses = CountDistribution::Geometric(1.0);
        let p = Policy {
            event_window: 3,
            ..Policy::default()
        };
        let outcome = simulate(&fleet, &[p], 2);
        let t = &outcome.tallies[0][0];
        let rate = t.desync as f64 / t.logins as f64;
        // σ ≈ 0.002 for n = 26,100: within 5 σ.
        assert!((rate - 0.125).abs() < 0.01, "{rate}");
        assert_eq!(t.next_code, 0);
        assert_eq!(t.resyncs_accepted, t.desync);
    }

    #[test]
    fn an_unchecked_fleet_is_refused_not_simulated() {
        let mut fleet = daily(1, 0.0, 1);
        fleet.usage.holidays_per_year = 400;
        let err = run(&fleet, &[Policy::default()], 1, &|_| {}).unwrap_err();
        assert!(err.to_string().contains("at most 261"), "{err}");
    }

    #[test]
    fn stray_presses_beyond_the_look_ahead_need_a_resync() {
        let mut fleet = daily(0, 0.0, 1);
        fleet.tokens.c100 = 10;
        // Exactly 10 presses before each login: the code is the 11th,
        // one past a look-ahead of 10, and the next one too.
        fleet.usage.stray_presses = CountDistribution::Fixed(10);
        let outcome = simulate(&fleet, &[Policy::default()], 1);
        let t = &outcome.tallies[0][0];
        assert_eq!(t.logins, 10 * 261);
        assert_eq!(t.desync, t.logins);
        assert_eq!(t.next_code, 0);
        assert_eq!((t.resyncs, t.resyncs_accepted), (t.logins, t.logins));
        // Nine presses: always within the window.
        fleet.usage.stray_presses = CountDistribution::Fixed(9);
        let outcome = simulate(&fleet, &[Policy::default()], 1);
        assert_eq!(outcome.tallies[0][0].desync, 0);
    }

    #[test]
    fn a_lockout_limit_below_the_users_tries_sends_every_failure_to_the_helpdesk() {
        // Learning off, no resync reach: every failing login ends at the
        // helpdesk; with a limit of 2 the token is locked first.
        let fleet = daily(3, 11.6, 1);
        let mut p = policy(1, false);
        p.time_resync_span = Duration::ZERO;
        p.max_failures = 2;
        let outcome = simulate(&fleet, &[p], 1);
        let t = c200_60(&outcome, 0);
        assert!(t.desync > 0);
        assert_eq!(t.helpdesk, t.desync - t.next_code);
        assert_eq!(t.lockouts, t.helpdesk, "the second refusal locks");
        assert_eq!(t.tokens_locked, 3);
        assert_eq!(t.unresolved, 0);
    }
}
