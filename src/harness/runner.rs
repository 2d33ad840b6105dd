//! Runs cases against a [`Target`]: sets up the devices and users a case
//! declares, drives the devices on the case's clock, submits what each step
//! says and compares the answer with the expectation.
//!
//! Devices are the `device` models (C100, C200 on a drifting quartz, USB)
//! on a virtual clock, pressed through the host's `transport::Device`
//! (in process, or a USB token over HID reports); codes a step computes rather than presses (a time
//! token `skip` steps away, a wrong code) come from the same key with the
//! OTP core. Before a case runs, [`plan::schedule`] decides from the
//! scenario whether the target can run it and on which clock; on real
//! time the case's virtual clock follows the planned wall-clock instants.
//!
//! Cases are independent (their own serials, keys and users), so [`run`]
//! runs them on as many threads as it is given targets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::plan::{self, LATENESS, Schedule};
use super::scenario::{
    By, Case, CodeChoice, DeviceSpec, Expect, Kind, Pair, PasswordChoice, SerialStyle, SmsChoice,
    Step, Transport,
};
use super::target::{
    ClockControl, Started, Subject, Target, TargetError, TokenSpec, UserSpec, Verdict,
};
use crate::clock::{Clock, ClockOffset, Drift, DriftingClock, SystemClock, UnixTime, VirtualClock};
use crate::device::{C100, C200, Model, Serial, UsbToken, keygen};
use crate::otp::{Algorithm, Digits, OtpKey, SecretKey, TimeStep, TotpParams};
use crate::transport::{self, HidDevice, Virtual, hid::VirtualHid};
use crate::user::TaxCode;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// The target cannot run it (no clock control, a missing feature).
    Unsupported,
    /// Setup or transport broke; says nothing about conformance.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unsupported => "unsupported",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CaseResult {
    pub id: String,
    pub description: String,
    pub status: Status,
    /// Why it did not pass.
    pub detail: Option<String>,
    /// Where the case was read from, `file:line`.
    pub origin: String,
    pub duration: Duration,
}

/// How a run is made.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Keys and codes derive from it: the same seed replays them.
    pub seed: u64,
    /// Serials and users derive from it (with the seed): the same seed and
    /// run id replay a run exactly; a new run id lets the same seed run
    /// again against a verifier that still holds the last run's tokens.
    pub run_id: u64,
    /// Without clock control, the most a case may wait in real time for
    /// its `advance`s; a case that moves the clock further is unsupported.
    pub max_wait: Duration,
}

impl RunOptions {
    pub fn new(seed: u64) -> RunOptions {
        RunOptions {
            seed,
            run_id: 0,
            max_wait: Duration::from_secs(120),
        }
    }
}

/// What a run reports while it goes; every method has a silent default.
pub trait Observer: Sync {
    /// A case starts waiting `how_long` for the wall clock (a phase, an
    /// advance).
    fn waiting(&self, _id: &str, _how_long: Duration) {}
    /// The wait is over.
    fn resumed(&self, _id: &str) {}
    fn finished(&self, _result: &CaseResult) {}
}

/// Reports nothing.
pub struct Quiet;

impl Observer for Quiet {}

/// Runs `cases`, one thread per target in `targets` (each its own
/// connection to the same verifier), and returns the results in suite
/// order. A target whose one clock the harness sets
/// ([`ClockControl::Shared`]) runs cases one at a time, on the first
/// target only. Cases that wait longest start first, so a real-time run
/// takes about as long as its longest case.
pub fn run(
    mut targets: Vec<Box<dyn Target>>,
    cases: &[Case],
    options: &RunOptions,
    observer: &dyn Observer,
) -> Vec<CaseResult> {
    if targets
        .first()
        .is_some_and(|t| t.offers().clock == ClockControl::Shared)
    {
        targets.truncate(1);
    }
    let mut order: Vec<usize> = (0..cases.len()).collect();
    if let Some(first) = targets.first() {
        let offers = first.offers();
        let waits = |case: &Case| match plan::schedule(case, &offers, options.max_wait) {
            Ok(Schedule::RealTime(rt)) => rt.waits,
            _ => Duration::ZERO,
        };
        order.sort_by_key(|&i| std::cmp::Reverse(waits(&cases[i])));
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|scope| {
        for target in targets.iter_mut() {
            let (next, results, order) = (&next, &results, &order);
            scope.spawn(move || {
                while let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = run_case(
                        target.as_mut(),
                        &cases[index],
                        index as u64,
                        options,
                        observer,
                    );
                    observer.finished(&result);
                    if let Ok(mut all) = results.lock() {
                        all[index] = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .zip(cases)
        .map(|(result, case)| {
            result.unwrap_or_else(|| CaseResult {
                id: case.id.clone(),
                description: case.description.clone(),
                status: Status::Error,
                detail: Some("not run: no target to run it on".to_owned()),
                origin: case.origin(),
                duration: Duration::ZERO,
            })
        })
        .collect()
}

/// Runs one case on a fresh slate of the target; `index` (its place in
/// the suite) makes its serials and keys distinct from every other case's.
pub fn run_case(
    target: &mut dyn Target,
    case: &Case,
    index: u64,
    options: &RunOptions,
    observer: &dyn Observer,
) -> CaseResult {
    let started = Instant::now();
    let outcome = plan::schedule(case, &target.offers(), options.max_wait)
        .map_err(|why| Stop::Target(TargetError::Unsupported(why)))
        .and_then(|schedule| {
            CaseRun::set_up(target, case, schedule, options, index, observer)?.steps(case)
        });
    let (status, detail) = match outcome {
        Ok(0) => (Status::Pass, None),
        Ok(unreasoned) => (
            Status::Pass,
            Some(format!(
                "accept/reject compared only: {unreasoned} rejection(s) came without a reason code"
            )),
        ),
        Err(Stop::Mismatch(why)) => (Status::Fail, Some(why)),
        Err(Stop::Target(TargetError::Unsupported(why))) => (Status::Unsupported, Some(why)),
        Err(Stop::Target(TargetError::Failed(why))) => (Status::Error, Some(why)),
        Err(Stop::Scenario(why)) => (Status::Error, Some(why)),
    };
    CaseResult {
        id: case.id.clone(),
        description: case.description.clone(),
        status,
        detail,
        origin: case.origin(),
        duration: started.elapsed(),
    }
}

/// Why a step stopped the case.
enum Stop {
    Mismatch(String),
    Target(TargetError),
    /// The scenario asked for something impossible at run time.
    Scenario(String),
}

impl From<TargetError> for Stop {
    fn from(e: TargetError) -> Stop {
        Stop::Target(e)
    }
}

/// One device of a case as the harness holds it.
struct Device {
    serial: Serial,
    key: OtpKey,
    digits: Digits,
    /// The device as a host reaches it: in process, or over HID reports.
    token: Box<dyn transport::Device>,
    /// Event tokens: the counter of the next press.
    counter: u64,
    /// Time tokens: step and the device's own (drifting) clock.
    time: Option<(TotpParams, DriftingClock)>,
    last: Option<String>,
    last_pair: Option<Vec<String>>,
}

impl Device {
    fn press(&mut self) -> Result<String, Stop> {
        let code = self
            .token
            .press()
            .map_err(|e| Stop::Scenario(format!("device {}: {e}", self.serial)))?
            .to_string();
        self.counter += 1;
        self.last = Some(code.clone());
        Ok(code)
    }

    /// The code `shift` steps from the device's now (time tokens).
    fn time_code(&self, shift: i64) -> Result<String, Stop> {
        let (params, clock) = self
            .time
            .as_ref()
            .ok_or_else(|| Stop::Scenario("not a time token".to_owned()))?;
        let now = clock.now().as_secs();
        let secs = i128::from(now) + i128::from(shift) * i128::from(params.step.as_secs());
        let secs = u64::try_from(secs.max(0)).unwrap_or(u64::MAX);
        self.key
            .totp(secs, *params, self.digits)
            .map(|c| c.to_string())
            .map_err(|e| Stop::Scenario(format!("device {}: {e}", self.serial)))
    }

    /// The next code, after skipping `skip` presses (event) or shifted by
    /// `skip` steps (time).
    fn next(&mut self, skip: i64) -> Result<String, Stop> {
        if self.time.is_some() {
            let code = self.time_code(skip)?;
            self.last = Some(code.clone());
            return Ok(code);
        }
        let skip = u64::try_from(skip)
            .map_err(|_| Stop::Scenario("skip must be ≥ 0 for an event token".to_owned()))?;
        for _ in 0..skip {
            self.press()?;
        }
        self.press()
    }

    /// A well-formed code this device shows nowhere near now: a real code
    /// with its last digit changed, checked against the codes around.
    fn wrong(&self) -> Result<String, Stop> {
        let nearby: Vec<String> = match &self.time {
            Some(_) => (-3000..=3000)
                .map(|shift| self.time_code(shift))
                .collect::<Result<_, _>>()?,
            None => (self.counter.saturating_sub(50)..self.counter + 1100)
                .map(|c| self.key.hotp(c, self.digits).to_string())
                .collect(),
        };
        let base = nearby[nearby.len() / 2].clone();
        (1..10u8)
            .map(|bump| {
                let mut digits = base.clone().into_bytes();
                let last = digits.len() - 1;
                digits[last] = b'0' + (digits[last] - b'0' + bump) % 10;
                String::from_utf8(digits).unwrap_or_default()
            })
            .find(|candidate| !nearby.contains(candidate))
            .ok_or_else(|| Stop::Scenario("no wrong code found".to_owned()))
    }

    /// Codes for a resync or a replacement.
    fn pair(&mut self, pair: Pair, skip: i64) -> Result<Vec<String>, Stop> {
        let codes = match (pair, self.time.is_some()) {
            (Pair::Again, _) => self
                .last_pair
                .clone()
                .ok_or_else(|| Stop::Scenario("pair = again, but no pair was sent".to_owned()))?,
            (Pair::One, _) => vec![self.next(skip)?],
            (_, true) => {
                let a = self.time_code(skip)?;
                let b = self.time_code(skip + 1)?;
                let c = self.time_code(skip + 2)?;
                self.last = Some(b.clone());
                arrange(pair, a, b, c)
            }
            (_, false) => {
                let a = self.next(skip)?;
                let b = self.press()?;
                let c = if pair == Pair::Gap {
                    self.press()?
                } else {
                    String::new()
                };
                arrange(pair, a, b, c)
            }
        };
        self.last_pair = Some(codes.clone());
        Ok(codes)
    }
}

/// Two codes from three consecutive ones (`c` only used by `Gap`).
fn arrange(pair: Pair, a: String, b: String, c: String) -> Vec<String> {
    match pair {
        Pair::Reversed => vec![b, a],
        Pair::Same => vec![a.clone(), a],
        Pair::Gap => vec![a, c],
        _ => vec![a, b],
    }
}

struct User {
    spec: UserSpec,
    device: Option<String>,
    attempt: Option<String>,
}

/// Keeps a run id's derivations apart from the seed's ("run").
const RUN_DOMAIN: u64 = 0x0072_756e;

/// splitmix64: a small, well-mixed hash for deriving per-case values.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A fleet serial (the provider layout) reshaped to `style`, keeping its
/// 12-digit body so it stays unique per run.
fn styled(style: SerialStyle, serial: Serial) -> Serial {
    let body = &serial.as_str()[1..];
    let text = match style {
        SerialStyle::Provider => return serial,
        SerialStyle::OtherFamily if serial.as_str().starts_with('1') => format!("2{body}"),
        SerialStyle::OtherFamily => format!("1{body}"),
        SerialStyle::Text => format!("ZZ{body}"),
    };
    Serial::parse(&text).expect("printable ASCII of at most 14 characters")
}

fn model(kind: Kind) -> Model {
    match kind {
        Kind::C100 => Model::C100,
        Kind::C200 => Model::C200,
        Kind::Usb => Model::Usb,
    }
}

fn algorithm(spec: &DeviceSpec) -> Result<Algorithm, Stop> {
    spec.algorithm
        .as_deref()
        .unwrap_or("sha1")
        .parse()
        .map_err(|_| Stop::Scenario("algorithm must be sha1, sha256 or sha512".to_owned()))
}

fn build_device(
    spec: &DeviceSpec,
    serial: Serial,
    key: SecretKey,
    clock: &VirtualClock,
) -> Result<Device, Stop> {
    let algorithm = algorithm(spec)?;
    let digits = Digits::new(spec.digits).map_err(|e| Stop::Scenario(e.to_string()))?;
    let scenario = |e: crate::device::DeviceError| Stop::Scenario(format!("device {serial}: {e}"));
    let otp_key = OtpKey::new(algorithm, &key);
    let (token, time): (Box<dyn transport::Device>, _) = match spec.kind {
        Kind::C100 | Kind::Usb if algorithm != Algorithm::Sha1 => {
            return Err(Stop::Scenario(
                "the virtual event tokens are HMAC-SHA-1 (as C100 and USB fobs are)".to_owned(),
            ));
        }
        Kind::C100 => (
            Box::new(Virtual::new(
                C100::new(serial, key)
                    .with_digits(digits)
                    .with_counter(spec.counter),
            )),
            None,
        ),
        Kind::Usb => {
            let token = UsbToken::new(serial, key)
                .with_digits(digits)
                .with_counter(spec.counter);
            let device: Box<dyn transport::Device> = match spec.transport {
                Transport::Virtual => Box::new(Virtual::new(token)),
                Transport::Hid => {
                    let mut backend = VirtualHid::new();
                    backend.plug(token);
                    Box::new(
                        HidDevice::open(&mut backend, serial.as_str())
                            .map_err(|e| Stop::Scenario(format!("device {serial}: {e}")))?,
                    )
                }
            };
            (device, None)
        }
        Kind::C200 => {
            let drift = Drift::from_ppm(spec.drift_ppm)
                .map_err(|e| Stop::Scenario(format!("drift_ppm: {e}")))?;
            let quartz = DriftingClock::new(
                Arc::new(clock.clone()),
                drift,
                ClockOffset::from_secs(spec.offset_secs),
            );
            let step = TimeStep::from_secs(spec.step.unwrap_or(60))
                .map_err(|e| Stop::Scenario(e.to_string()))?;
            // The C200 model is a 6-digit SHA-1 fob; steps compute a time
            // token's codes from its key and quartz (`time_code`), so other
            // TOTP shapes work as well.
            let fob = C200::new(serial, key, quartz.clone())
                .with_step(step)
                .map_err(scenario)?;
            (
                Box::new(Virtual::new(fob)) as Box<dyn transport::Device>,
                Some((TotpParams { step, t0: 0 }, quartz)),
            )
        }
    };
    Ok(Device {
        serial,
        key: otp_key,
        digits,
        token,
        counter: spec.counter,
        time,
        last: None,
        last_pair: None,
    })
}

/// How a case's clock moves.
enum Timing {
    /// The target's clock is the case's; the runner sets it before each
    /// step.
    Virtual,
    /// The target decides on the wall clock; the case began at `begin`
    /// and each step runs at its planned instant, `planned` after it.
    /// `strict`: a late step stops the case (it reads time steps or
    /// lifetimes).
    Wall {
        begin: UnixTime,
        planned: Duration,
        strict: bool,
    },
}

/// One case under way: its devices, users and clock, a method per step.
struct CaseRun<'t> {
    target: &'t mut dyn Target,
    observer: &'t dyn Observer,
    id: &'t str,
    clock: VirtualClock,
    timing: Timing,
    devices: BTreeMap<String, Device>,
    users: BTreeMap<String, User>,
    /// The step under way, from 1, for messages.
    n: usize,
    /// Rejections the target gave no reason code for, each compared as a
    /// rejection only ([`Verdict::rejected_without_reason`]).
    unreasoned: std::cell::Cell<usize>,
}

impl<'t> CaseRun<'t> {
    /// Puts the case's tokens and users into the target, then starts its
    /// clock: at its start under clock control, at a moment the plan
    /// allows on real time.
    fn set_up(
        target: &'t mut dyn Target,
        case: &'t Case,
        schedule: Schedule,
        options: &RunOptions,
        index: u64,
        observer: &'t dyn Observer,
    ) -> Result<CaseRun<'t>, Stop> {
        target.begin_case()?;
        if let Schedule::Virtual { start } = schedule {
            target.set_time(start)?;
        }
        // Keys per seed and case; serials and users per run as well, so
        // the same seed can run twice against one verifier.
        let case_seed = mix(options.seed ^ mix(index));
        let identity = mix(case_seed ^ mix(options.run_id ^ RUN_DOMAIN));
        let mut keys = Vec::with_capacity(case.devices.len());
        let mut tokens = Vec::with_capacity(case.devices.len());
        for (i, (name, spec)) in case.devices.iter().enumerate() {
            let i = i as u64;
            let serial = styled(
                spec.serial,
                keygen::serial_from_seed(model(spec.kind), identity, i),
            );
            let key = match &spec.key {
                Some(hex) => SecretKey::from_hex(hex)
                    .map_err(|e| Stop::Scenario(format!("devices.{name}.key: {e}")))?,
                None => {
                    let len = match algorithm(spec)? {
                        Algorithm::Sha1 => 20,
                        Algorithm::Sha256 => 32,
                        Algorithm::Sha512 => 64,
                    };
                    keygen::key_from_seed(case_seed, i, len)
                }
            };
            tokens.push(TokenSpec {
                serial,
                model: model(spec.kind),
                key_hex: data_encoding::HEXLOWER.encode(key.as_bytes()),
                algorithm: algorithm(spec)?.name(),
                digits: spec.digits,
                step: (spec.kind == Kind::C200).then(|| spec.step.unwrap_or(60)),
                counter: spec.counter,
            });
            keys.push((name, spec, serial, key));
        }
        target.import(&tokens)?;

        let mut users = BTreeMap::new();
        for (i, (name, spec)) in case.users.iter().enumerate() {
            let n = mix(identity ^ (0x7573_6572 + i as u64));
            let tax_code = match &spec.tax_code {
                Some(s) => TaxCode::parse(s)
                    .map_err(|e| Stop::Scenario(format!("users.{name}.tax_code: {e}")))?,
                None => TaxCode::synthetic(n),
            };
            let user = UserSpec {
                tax_code,
                phone: spec
                    .phone
                    .clone()
                    .unwrap_or_else(|| format!("+393{:09}", n % 1_000_000_000)),
                user_code: spec
                    .user_code
                    .clone()
                    .unwrap_or_else(|| format!("UC{:08X}", n >> 32)),
                password: spec
                    .password
                    .clone()
                    .unwrap_or_else(|| "conformance-password-1".to_owned()),
            };
            target.add_user(&user)?;
            if let Some(device) = &spec.device {
                let serial = keys
                    .iter()
                    .find(|(d, ..)| *d == device)
                    .map(|(_, _, serial, _)| *serial)
                    .ok_or_else(|| unknown(device))?;
                target.assign(&user.tax_code, serial)?;
            }
            users.insert(
                name.clone(),
                User {
                    spec: user,
                    device: spec.device.clone(),
                    attempt: None,
                },
            );
        }

        let (begin, timing) = match schedule {
            Schedule::Virtual { start } => (start, Timing::Virtual),
            Schedule::RealTime(rt) => {
                let begin = loop {
                    let now = SystemClock.now();
                    let wait = rt.wait_from(now);
                    if wait.is_zero() {
                        break now;
                    }
                    observer.waiting(&case.id, wait);
                    std::thread::sleep(wait + Duration::from_millis(1));
                    observer.resumed(&case.id);
                };
                (
                    begin,
                    Timing::Wall {
                        begin,
                        planned: Duration::ZERO,
                        strict: rt.timing_matters,
                    },
                )
            }
        };
        // The devices start with the case's clock, so a drifting quartz
        // drifts from the case's first instant.
        let clock = VirtualClock::new(begin);
        let mut devices = BTreeMap::new();
        for (name, spec, serial, key) in keys {
            devices.insert(name.clone(), build_device(spec, serial, key, &clock)?);
        }
        Ok(CaseRun {
            target,
            observer,
            id: &case.id,
            clock,
            timing,
            devices,
            users,
            n: 0,
            unreasoned: std::cell::Cell::new(0),
        })
    }

    /// Runs the steps; returns how many rejections came without a reason.
    fn steps(mut self, case: &Case) -> Result<usize, Stop> {
        for (i, step) in case.steps.iter().enumerate() {
            self.n = i + 1;
            self.tick()?;
            match step {
                Step::Press { device, count } => self.press(device, *count)?,
                Step::Advance { .. } => self.advance(step.advance()),
                Step::Validate {
                    device,
                    by,
                    code,
                    skip,
                    expect,
                } => self.validate(device, *by, code, *skip, expect)?,
                Step::Fail { device, count, by } => self.fail(device, *count, *by)?,
                Step::Resync {
                    device,
                    by,
                    skip,
                    pair,
                    user_code,
                    expect,
                } => self.resync(device, *by, *skip, *pair, user_code.as_deref(), expect)?,
                Step::Unlock { device } => {
                    let serial = self.device(device)?.serial;
                    self.target.unlock(serial)?;
                }
                Step::ReplaceStart {
                    user,
                    password,
                    expect,
                } => self.replace_start(user, password, expect)?,
                Step::ReplaceSms { user, code, expect } => self.replace_sms(user, code, expect)?,
                Step::ReplaceDevice {
                    user,
                    device,
                    serial,
                    expect,
                } => self.replace_device(user, device.as_deref(), serial.as_deref(), expect)?,
                Step::ReplaceOtps {
                    user,
                    device,
                    pair,
                    skip,
                    expect,
                } => self.replace_otps(user, device, *pair, *skip, expect)?,
            }
        }
        Ok(self.unreasoned.get())
    }

    /// Brings the clocks to the step's instant: the target's under clock
    /// control; on real time, the wall clock is waited for, and a step
    /// that would reach the target too late for the plan stops the case
    /// as an error (it says nothing about the target's conformance).
    fn tick(&mut self) -> Result<(), Stop> {
        let Timing::Wall {
            begin,
            planned,
            strict,
        } = self.timing
        else {
            return Ok(self.target.set_time(self.clock.now())?);
        };
        let instant = begin.saturating_add(planned);
        let now = SystemClock.now();
        if let Some(wait) = instant.duration_since(now).filter(|w| !w.is_zero()) {
            self.observer.waiting(self.id, wait);
            std::thread::sleep(wait);
            self.observer.resumed(self.id);
        } else if let Some(late) = now
            .duration_since(instant)
            .filter(|l| strict && *l > LATENESS)
        {
            return Err(Stop::Target(TargetError::Failed(format!(
                "step {}: on real time it ran {:.1} s after its planned instant (more than {} s), so the time steps it reads are no longer certain; rerun, or use a target with clock control",
                self.n,
                late.as_secs_f64(),
                LATENESS.as_secs()
            ))));
        }
        self.clock.set(instant);
        Ok(())
    }

    fn advance(&mut self, by: Duration) {
        match &mut self.timing {
            Timing::Virtual => self.clock.advance(by),
            Timing::Wall { planned, .. } => *planned += by,
        }
    }

    fn device(&mut self, name: &str) -> Result<&mut Device, Stop> {
        self.devices.get_mut(name).ok_or_else(|| unknown(name))
    }

    fn user(&mut self, name: &str) -> Result<&mut User, Stop> {
        self.users.get_mut(name).ok_or_else(|| unknown(name))
    }

    /// The tax code and user code of whoever holds `device` now.
    fn holder(&self, device: &str) -> Result<(TaxCode, String), Stop> {
        self.users
            .values()
            .find(|u| u.device.as_deref() == Some(device))
            .map(|u| (u.spec.tax_code, u.spec.user_code.clone()))
            .ok_or_else(|| {
                Stop::Scenario(format!(
                    "step {}: nobody holds device {device:?} now",
                    self.n
                ))
            })
    }

    /// Compares an answer with the step's expectation.
    fn check(&self, what: &str, expect: &Expect, got: &Verdict) -> Result<(), Stop> {
        if expect.met_by(got.accepted, &got.reason) {
            return Ok(());
        }
        if !got.reason_given() && !expect.accepts() {
            self.unreasoned.set(self.unreasoned.get() + 1);
            return Ok(());
        }
        let found = if got.accepted {
            "accepted".to_owned()
        } else {
            format!("rejected: {}", got.reason)
        };
        Err(Stop::Mismatch(format!(
            "step {} ({what}): expected {expect}, got {found}",
            self.n
        )))
    }

    fn press(&mut self, device: &str, count: u64) -> Result<(), Stop> {
        let d = self.device(device)?;
        for _ in 0..count {
            d.press()?;
        }
        Ok(())
    }

    fn validate(
        &mut self,
        device: &str,
        by: By,
        code: &CodeChoice,
        skip: i64,
        expect: &Expect,
    ) -> Result<(), Stop> {
        let n = self.n;
        let subject = match by {
            By::Serial => Subject::Serial(self.device(device)?.serial),
            By::User => Subject::User(self.holder(device)?.0),
            By::UserCode => {
                return Err(Stop::Scenario(format!(
                    "step {n}: validate is by serial or user"
                )));
            }
        };
        let d = self.device(device)?;
        let otp = match code {
            CodeChoice::Next => d.next(skip)?,
            CodeChoice::Last => d.last.clone().ok_or_else(|| {
                Stop::Scenario(format!("step {n}: code = last, but {device} showed none"))
            })?,
            CodeChoice::Wrong => d.wrong()?,
            CodeChoice::Literal(s) => s.clone(),
        };
        let got = self.target.validate(&subject, &otp)?;
        self.check(&format!("validate {device}"), expect, &got)
    }

    fn fail(&mut self, device: &str, count: u64, by: By) -> Result<(), Stop> {
        let subject = match by {
            By::User => Subject::User(self.holder(device)?.0),
            _ => Subject::Serial(self.device(device)?.serial),
        };
        let wrong = self.device(device)?.wrong()?;
        for _ in 0..count {
            if self.target.validate(&subject, &wrong)?.accepted {
                return Err(Stop::Mismatch(format!(
                    "step {} (fail {device}): a wrong code was accepted",
                    self.n
                )));
            }
        }
        Ok(())
    }

    fn resync(
        &mut self,
        device: &str,
        by: By,
        skip: i64,
        pair: Pair,
        user_code: Option<&str>,
        expect: &Expect,
    ) -> Result<(), Stop> {
        let subject = match (by, user_code) {
            (_, Some(code)) => Subject::UserCode(code.to_owned()),
            (By::Serial, None) => Subject::Serial(self.device(device)?.serial),
            (_, None) => Subject::UserCode(self.holder(device)?.1),
        };
        let codes = self.device(device)?.pair(pair, skip)?;
        let [a, b] = codes.as_slice() else {
            return Err(Stop::Scenario(format!(
                "step {}: a resync takes two codes",
                self.n
            )));
        };
        let got = self.target.resync(&subject, a, b)?;
        self.check(&format!("resync {device}"), expect, &got)
    }

    fn replace_start(
        &mut self,
        user: &str,
        password: &PasswordChoice,
        expect: &Expect,
    ) -> Result<(), Stop> {
        let n = self.n;
        let u = self.users.get(user).ok_or_else(|| unknown(user))?;
        let old = u
            .device
            .as_ref()
            .and_then(|d| self.devices.get(d))
            .map(|d| d.serial)
            .ok_or_else(|| Stop::Scenario(format!("step {n}: {user} holds no device")))?;
        let password = match password {
            PasswordChoice::Right => u.spec.password.clone(),
            PasswordChoice::Literal(s) => s.clone(),
        };
        let tax_code = u.spec.tax_code;
        let started = self.target.replace_start(&tax_code, &password, old)?;
        if let Started::Attempt(id) = &started {
            self.user(user)?.attempt = Some(id.clone());
        }
        self.check(&format!("replace_start {user}"), expect, &started.verdict())
    }

    fn replace_sms(&mut self, user: &str, code: &SmsChoice, expect: &Expect) -> Result<(), Stop> {
        let u = self.users.get(user).ok_or_else(|| unknown(user))?;
        let (attempt, phone) = (attempt_of(u), u.spec.phone.clone());
        let typed = match code {
            SmsChoice::Right => self.target.latest_sms_code(&phone)?,
            SmsChoice::Wrong => {
                let mut digits = self.target.latest_sms_code(&phone)?.into_bytes();
                if let Some(d) = digits.last_mut().filter(|d| d.is_ascii_digit()) {
                    *d = b'0' + (*d - b'0' + 1) % 10;
                }
                String::from_utf8(digits).unwrap_or_default()
            }
            SmsChoice::Literal(s) => s.clone(),
        };
        let got = self.target.replace_sms_code(&attempt, &typed)?;
        self.check(&format!("replace_sms {user}"), expect, &got)
    }

    fn replace_device(
        &mut self,
        user: &str,
        device: Option<&str>,
        serial: Option<&str>,
        expect: &Expect,
    ) -> Result<(), Stop> {
        let attempt = attempt_of(self.users.get(user).ok_or_else(|| unknown(user))?);
        let typed = match (device, serial) {
            (Some(d), _) => self.device(d)?.serial.as_str().to_owned(),
            (None, Some(s)) => s.to_owned(),
            (None, None) => String::new(),
        };
        let got = self.target.replace_device(&attempt, &typed)?;
        self.check(&format!("replace_device {user}"), expect, &got)
    }

    fn replace_otps(
        &mut self,
        user: &str,
        device: &str,
        pair: Option<Pair>,
        skip: i64,
        expect: &Expect,
    ) -> Result<(), Stop> {
        let attempt = attempt_of(self.users.get(user).ok_or_else(|| unknown(user))?);
        let d = self.device(device)?;
        // A time token needs one code, an event token two in a row.
        let pair = pair.unwrap_or(if d.time.is_some() {
            Pair::One
        } else {
            Pair::Consecutive
        });
        let codes = d.pair(pair, skip)?;
        let got = self.target.replace_otps(&attempt, &codes)?;
        if got.accepted {
            self.user(user)?.device = Some(device.to_owned());
        }
        self.check(&format!("replace_otps {user}"), expect, &got)
    }
}

fn unknown(name: &str) -> Stop {
    Stop::Scenario(format!("no device or user named {name:?}"))
}

/// The user's attempt id. A step after a refused start still reaches the
/// target, with an id that names no attempt: what a client that ignored
/// the refusal would send.
fn attempt_of(user: &User) -> String {
    user.attempt.clone().unwrap_or_else(|| "0".repeat(32))
}
