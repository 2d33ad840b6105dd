//! Runs cases against a [`Target`]: sets up the devices and users a case
//! declares, drives the devices on the case's clock, submits what each step
//! says and compares the answer with the expectation.
//!
//! Devices are the `device` models (C100, C200 on a drifting quartz, USB)
//! on a virtual clock; codes a step computes rather than presses (a time
//! token `skip` steps away, a wrong code) come from the same key with the
//! OTP core.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::scenario::{By, Case, CodeChoice, DeviceSpec, Kind, Pair, Step};
use super::target::{Subject, Target, TargetError, TokenSpec, UserSpec, Verdict};
use crate::clock::{Clock, ClockOffset, Drift, DriftingClock, SystemClock, UnixTime, VirtualClock};
use crate::device::{C100, C200, Model, Serial, Token, UsbToken, keygen};
use crate::otp::{Algorithm, Digits, OtpKey, SecretKey, TimeStep, TotpParams};
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
    pub duration: Duration,
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

/// Runs `cases` in order; `seed` makes keys, serials and users (unique
/// to the run, reproducible with the same seed). `progress` is called
/// after each case.
pub fn run(
    target: &mut dyn Target,
    cases: &[Case],
    seed: u64,
    mut progress: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    cases
        .iter()
        .enumerate()
        .map(|(index, case)| {
            let result = run_case(target, case, seed, index as u64);
            progress(&result);
            result
        })
        .collect()
}

/// Runs one case on a fresh slate of the target.
pub fn run_case(target: &mut dyn Target, case: &Case, seed: u64, index: u64) -> CaseResult {
    let started = Instant::now();
    let outcome = execute(target, case, seed, index);
    let (status, detail) = match outcome {
        Ok(()) => (Status::Pass, None),
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
        duration: started.elapsed(),
    }
}

/// One device of a case as the harness holds it.
struct Device {
    serial: Serial,
    key: OtpKey,
    digits: Digits,
    token: Box<dyn Token>,
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

/// splitmix64: a small, well-mixed hash for deriving per-case values.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
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
    let (token, time): (Box<dyn Token>, _) = match spec.kind {
        Kind::C100 | Kind::Usb if algorithm != Algorithm::Sha1 => {
            return Err(Stop::Scenario(
                "the virtual event tokens are HMAC-SHA-1 (as C100 and USB fobs are)".to_owned(),
            ));
        }
        Kind::C100 => (
            Box::new(
                C100::new(serial, key)
                    .map_err(scenario)?
                    .with_digits(digits)
                    .with_counter(spec.counter),
            ),
            None,
        ),
        Kind::Usb => (
            Box::new(
                UsbToken::new(serial, key)
                    .map_err(scenario)?
                    .with_digits(digits)
                    .with_counter(spec.counter),
            ),
            None,
        ),
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
                .map_err(scenario)?
                .with_step(step)
                .map_err(scenario)?;
            (
                Box::new(fob) as Box<dyn Token>,
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

fn check(
    step_no: usize,
    what: &str,
    expect: &super::scenario::Expect,
    got: &Verdict,
) -> Result<(), Stop> {
    if expect.met_by(got.accepted, &got.reason) {
        return Ok(());
    }
    let found = if got.accepted {
        "accepted".to_owned()
    } else {
        format!("rejected: {}", got.reason)
    };
    Err(Stop::Mismatch(format!(
        "step {step_no} ({what}): expected {expect}, got {found}"
    )))
}

fn execute(target: &mut dyn Target, case: &Case, seed: u64, index: u64) -> Result<(), Stop> {
    let clock_control = target.clock_control();
    if !clock_control && case.steps.iter().any(|s| matches!(s, Step::Advance { .. })) {
        return Err(Stop::Target(TargetError::Unsupported(
            "moves the clock; the target has no clock control".to_owned(),
        )));
    }
    let start = if clock_control {
        UnixTime::from_secs(case.start)
    } else {
        SystemClock.now()
    };
    let clock = VirtualClock::new(start);
    target.begin_case()?;
    target.set_time(clock.now())?;

    // Devices: unique serials and derived keys per run and case.
    let case_seed = mix(seed ^ mix(index));
    let mut devices: BTreeMap<String, Device> = BTreeMap::new();
    let mut tokens = Vec::new();
    for (i, (name, spec)) in case.devices.iter().enumerate() {
        let i = i as u64;
        let serial = keygen::serial_from_seed(model(spec.kind), case_seed, i);
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
        devices.insert(name.clone(), build_device(spec, serial, key, &clock)?);
    }
    target.import(&tokens)?;

    let mut users: BTreeMap<String, User> = BTreeMap::new();
    for (i, (name, spec)) in case.users.iter().enumerate() {
        let n = mix(case_seed ^ (0x7573_6572 + i as u64));
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
            target.assign(&user.tax_code, devices[device].serial)?;
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

    for (i, step) in case.steps.iter().enumerate() {
        let n = i + 1;
        if !clock_control {
            clock.set(SystemClock.now());
        }
        target.set_time(clock.now())?;
        let holder =
            |users: &BTreeMap<String, User>, device: &str| -> Result<(TaxCode, String), Stop> {
                users
                    .values()
                    .find(|u| u.device.as_deref() == Some(device))
                    .map(|u| (u.spec.tax_code, u.spec.user_code.clone()))
                    .ok_or_else(|| {
                        Stop::Scenario(format!("step {n}: nobody holds device {device:?} now"))
                    })
            };
        match step {
            Step::Press { device, count } => {
                let d = devices.get_mut(device).ok_or_else(|| unknown(device))?;
                for _ in 0..*count {
                    d.press()?;
                }
            }
            Step::Advance {
                seconds,
                hours,
                days,
            } => {
                let total = seconds + hours * 3600 + days * 86_400;
                clock.advance(Duration::from_secs(total));
            }
            Step::Validate {
                device,
                by,
                code,
                skip,
                expect,
            } => {
                let subject = match by {
                    By::Serial => Subject::Serial(devices[device].serial),
                    By::User => Subject::User(holder(&users, device)?.0),
                    By::UserCode => {
                        return Err(Stop::Scenario(format!(
                            "step {n}: validate is by serial or user"
                        )));
                    }
                };
                let d = devices.get_mut(device).ok_or_else(|| unknown(device))?;
                let otp = match code {
                    CodeChoice::Next => d.next(*skip)?,
                    CodeChoice::Last => d.last.clone().ok_or_else(|| {
                        Stop::Scenario(format!("step {n}: code = last, but {device} showed none"))
                    })?,
                    CodeChoice::Wrong => d.wrong()?,
                    CodeChoice::Literal(s) => s.clone(),
                };
                let got = target.validate(&subject, &otp)?;
                check(n, &format!("validate {device}"), expect, &got)?;
            }
            Step::Fail { device, count, by } => {
                let subject = match by {
                    By::User => Subject::User(holder(&users, device)?.0),
                    _ => Subject::Serial(devices[device].serial),
                };
                let wrong = devices[device].wrong()?;
                for _ in 0..*count {
                    let got = target.validate(&subject, &wrong)?;
                    if got.accepted {
                        return Err(Stop::Mismatch(format!(
                            "step {n} (fail {device}): a wrong code was accepted"
                        )));
                    }
                }
            }
            Step::Resync {
                device,
                by,
                skip,
                pair,
                user_code,
                expect,
            } => {
                let subject = match (by, user_code) {
                    (_, Some(code)) => Subject::UserCode(code.clone()),
                    (By::Serial, None) => Subject::Serial(devices[device].serial),
                    (_, None) => Subject::UserCode(holder(&users, device)?.1),
                };
                let d = devices.get_mut(device).ok_or_else(|| unknown(device))?;
                let codes = d.pair(*pair, *skip)?;
                let (a, b) = match codes.as_slice() {
                    [a, b] => (a.clone(), b.clone()),
                    _ => {
                        return Err(Stop::Scenario(format!(
                            "step {n}: a resync takes two codes"
                        )));
                    }
                };
                let got = target.resync(&subject, &a, &b)?;
                check(n, &format!("resync {device}"), expect, &got)?;
            }
            Step::Unlock { device } => {
                target.unlock(devices[device].serial)?;
            }
            Step::ReplaceStart {
                user,
                password,
                expect,
            } => {
                let u = users.get_mut(user).ok_or_else(|| unknown(user))?;
                let old = u
                    .device
                    .as_ref()
                    .map(|d| devices[d].serial)
                    .ok_or_else(|| Stop::Scenario(format!("step {n}: {user} holds no device")))?;
                let password = if password == "right" {
                    u.spec.password.clone()
                } else {
                    password.clone()
                };
                let got = target.replace_start(&u.spec.tax_code, &password, old)?;
                if got.accepted {
                    u.attempt = Some(got.reason.clone());
                }
                check(n, &format!("replace_start {user}"), expect, &got)?;
            }
            Step::ReplaceSms { user, code, expect } => {
                let u = users.get(user).ok_or_else(|| unknown(user))?;
                let attempt = attempt_of(u);
                let typed = match code.as_str() {
                    "right" => target.latest_sms_code(&u.spec.phone)?,
                    "wrong" => {
                        let right = target.latest_sms_code(&u.spec.phone)?;
                        let mut digits = right.into_bytes();
                        let last = digits.len().saturating_sub(1);
                        if let Some(d) = digits.get_mut(last) {
                            *d = b'0' + (*d - b'0' + 1) % 10;
                        }
                        String::from_utf8(digits).unwrap_or_default()
                    }
                    literal => literal.to_owned(),
                };
                let got = target.replace_sms_code(&attempt, &typed)?;
                check(n, &format!("replace_sms {user}"), expect, &got)?;
            }
            Step::ReplaceDevice {
                user,
                device,
                serial,
                expect,
            } => {
                let u = users.get(user).ok_or_else(|| unknown(user))?;
                let attempt = attempt_of(u);
                let typed = match (device, serial) {
                    (Some(d), _) => devices[d].serial.as_str().to_owned(),
                    (None, Some(s)) => s.clone(),
                    (None, None) => String::new(),
                };
                let got = target.replace_device(&attempt, &typed)?;
                check(n, &format!("replace_device {user}"), expect, &got)?;
            }
            Step::ReplaceOtps {
                user,
                device,
                pair,
                skip,
                expect,
            } => {
                let attempt = attempt_of(users.get(user).ok_or_else(|| unknown(user))?);
                let d = devices.get_mut(device).ok_or_else(|| unknown(device))?;
                let pair = pair.unwrap_or(if d.time.is_some() {
                    Pair::One
                } else {
                    Pair::Consecutive
                });
                let codes = d.pair(pair, *skip)?;
                let got = target.replace_otps(&attempt, &codes)?;
                if got.accepted {
                    if let Some(u) = users.get_mut(user) {
                        u.device = Some(device.clone());
                    }
                }
                check(n, &format!("replace_otps {user}"), expect, &got)?;
            }
        }
    }
    Ok(())
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
