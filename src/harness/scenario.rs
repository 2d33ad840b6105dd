//! The scenario format: TOML files of conformance cases, written by QA
//! engineers without Rust. See `docs/conformance.md` for the reference and
//! a worked example.
//!
//! Parsing is strict: an unknown key, a wrong type or a step naming a
//! device or user the case does not declare is an error naming the file,
//! the line and the field.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One file of cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    #[serde(rename = "case", default)]
    pub cases: Vec<Case>,
}

/// One conformance case: devices, users, and steps with expectations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Stable identifier, e.g. `VAL-EVT-003`; unique across the suite.
    pub id: String,
    /// One line: what the case shows.
    pub description: String,
    /// The instant the case starts at, Unix seconds. Given, it pins the
    /// case to that instant (an RFC vector's T), which only a target with
    /// clock control can run; absent, the case starts at
    /// [`DEFAULT_START`] under clock control, or at a suitable moment of
    /// the wall clock without.
    pub start: Option<u64>,
    #[serde(default)]
    pub devices: BTreeMap<String, DeviceSpec>,
    #[serde(default)]
    pub users: BTreeMap<String, UserSpec>,
    pub steps: Vec<Step>,
    /// Where the case was read from (filled in by the loader): a path, or
    /// `embedded:<file>` for the suite inside the binary.
    #[serde(skip)]
    pub source: PathBuf,
    /// The line of its `[[case]]` header in `source`.
    #[serde(skip)]
    pub line: usize,
}

/// 2026-01-01T00:00:00Z: a round, recent instant, on a step boundary of
/// both 30 s and 60 s tokens.
pub const DEFAULT_START: u64 = 1_767_225_600;

impl Case {
    /// Where it was read from, as `file:line`.
    pub fn origin(&self) -> String {
        format!("{}:{}", self.source.display(), self.line)
    }

    /// The instant the case starts at under clock control.
    pub fn start(&self) -> u64 {
        self.start.unwrap_or(DEFAULT_START)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    C100,
    C200,
    Usb,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    pub kind: Kind,
    /// Hex key; default: derived from the run's seed, the case and the name.
    pub key: Option<String>,
    /// sha1 (default), sha256, sha512.
    pub algorithm: Option<String>,
    #[serde(default = "default_digits")]
    pub digits: u8,
    /// Time tokens: 30 or 60 seconds (default 60, the C200's).
    pub step: Option<u64>,
    /// Event tokens: the counter the device starts at, and the one the
    /// inventory records (default 0 for both).
    #[serde(default)]
    pub counter: u64,
    /// Time tokens: quartz drift in parts per million (+ runs fast).
    #[serde(default)]
    pub drift_ppm: f64,
    /// Time tokens: the device clock's initial offset, seconds.
    #[serde(default)]
    pub offset_secs: i64,
    /// How the harness reaches the device.
    #[serde(default)]
    pub transport: Transport,
    /// What its serial looks like (always unique per run).
    #[serde(default)]
    pub serial: SerialStyle,
}

/// The shape of a device's serial. A verifier takes any serial; only a
/// deployment under the provider layout reads a kind into one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SerialStyle {
    /// The provider layout: 13 digits, `1` event, `2` time.
    #[default]
    Provider,
    /// The provider layout with the other family's prefix: an event token
    /// whose serial starts with `2`, a time token's with `1`.
    OtherFamily,
    /// Vendor text outside the layout, e.g. `ZZ000133508267`.
    Text,
}

fn default_digits() -> u8 {
    6
}

/// How the harness reaches a device: through the same
/// [`transport::Device`](crate::transport::Device) trait whatever it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// The device model in process.
    #[default]
    Virtual,
    /// A USB token behind the HID report protocol (`docs/protocols.md`),
    /// on the virtual HID backend: the reports, status checks and
    /// keyboard wedge a real token on hidapi goes through.
    Hid,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Tax code; default: a synthetic one unique to the run.
    pub tax_code: Option<String>,
    /// E.164; default: a synthetic +39 number unique to the run.
    pub phone: Option<String>,
    /// Licence-card user code; default: derived.
    pub user_code: Option<String>,
    /// Default: a fixed test password.
    pub password: Option<String>,
    /// The device bound to the user at setup (a device without a user is
    /// a spare on the shelf).
    pub device: Option<String>,
}

/// What a step expects: `accept` (or `ok`), or the reason code(s) one of
/// which the rejection must carry.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    One(String),
    AnyOf(Vec<String>),
}

impl Expect {
    pub fn accepts(&self) -> bool {
        matches!(self, Expect::One(s) if s == "accept" || s == "ok")
    }

    /// Whether a target's answer meets the expectation.
    pub fn met_by(&self, accepted: bool, reason: &str) -> bool {
        match self {
            _ if self.accepts() => accepted,
            Expect::One(want) => !accepted && want == reason,
            Expect::AnyOf(wants) => !accepted && wants.iter().any(|w| w == reason),
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::One(s) => f.write_str(s),
            Expect::AnyOf(all) => write!(f, "one of {}", all.join(", ")),
        }
    }
}

/// Which code a step submits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CodeChoice {
    /// Press the device (after skipping `skip`) and submit what it shows.
    #[default]
    Next,
    /// The last code the device showed, again (a replay).
    Last,
    /// A code the device would not show anywhere near now.
    Wrong,
    /// These digits, as typed.
    Literal(String),
}

impl<'de> Deserialize<'de> for CodeChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "next" => CodeChoice::Next,
            "last" => CodeChoice::Last,
            "wrong" => CodeChoice::Wrong,
            _ => CodeChoice::Literal(s),
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    #[default]
    Serial,
    User,
    UserCode,
}

/// How a resync or replacement picks its two codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pair {
    /// Two consecutive codes, in order.
    #[default]
    Consecutive,
    /// The same two, second first.
    Reversed,
    /// One code twice.
    Same,
    /// Two codes with one skipped between them.
    Gap,
    /// The pair the previous resync or replacement submitted, again.
    Again,
    /// A single code (one fewer than an event token needs).
    One,
}

/// One step. `do` names the action.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Press the device `count` times, discarding the codes.
    Press { device: String, count: u64 },
    /// Move the virtual clock forward (needs a target with clock control).
    Advance {
        #[serde(default)]
        seconds: u64,
        #[serde(default)]
        hours: u64,
        #[serde(default)]
        days: u64,
    },
    /// Submit a code; `skip` presses first (event) or shifts the code by
    /// that many steps (time; may be negative).
    Validate {
        device: String,
        #[serde(default)]
        by: By,
        #[serde(default)]
        code: CodeChoice,
        #[serde(default)]
        skip: i64,
        expect: Expect,
    },
    /// Submit `count` wrong codes, not checking each answer.
    Fail {
        device: String,
        count: u64,
        #[serde(default)]
        by: By,
    },
    /// Two-OTP resync after `skip` presses (event) or steps (time).
    Resync {
        device: String,
        #[serde(default)]
        by: By,
        #[serde(default)]
        skip: i64,
        #[serde(default)]
        pair: Pair,
        /// Submit this user code instead of the user's own.
        user_code: Option<String>,
        expect: Expect,
    },
    /// Admin unlock of a device's lockout.
    Unlock { device: String },
    /// Replacement step 1: `password` is `right` (default) or literal.
    ReplaceStart {
        user: String,
        #[serde(default)]
        password: PasswordChoice,
        expect: Expect,
    },
    /// Step 2: the SMS code: `right` (from the target's outbox), `wrong`,
    /// or literal.
    ReplaceSms {
        user: String,
        #[serde(default)]
        code: SmsChoice,
        expect: Expect,
    },
    /// Step 3: the new device, by name, or a literal serial as typed.
    ReplaceDevice {
        user: String,
        device: Option<String>,
        serial: Option<String>,
        expect: Expect,
    },
    /// Step 4: codes from the new device (`pair` picks them; a time
    /// token needs one, `pair = "one"`, the default for it).
    ReplaceOtps {
        user: String,
        device: String,
        pair: Option<Pair>,
        #[serde(default)]
        skip: i64,
        expect: Expect,
    },
}

impl Step {
    /// One of the four steps of the device replacement flow.
    pub fn is_replacement(&self) -> bool {
        matches!(
            self,
            Step::ReplaceStart { .. }
                | Step::ReplaceSms { .. }
                | Step::ReplaceDevice { .. }
                | Step::ReplaceOtps { .. }
        )
    }

    /// Its `do` name, as the TOML spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Press { .. } => "press",
            Step::Advance { .. } => "advance",
            Step::Validate { .. } => "validate",
            Step::Fail { .. } => "fail",
            Step::Resync { .. } => "resync",
            Step::Unlock { .. } => "unlock",
            Step::ReplaceStart { .. } => "replace_start",
            Step::ReplaceSms { .. } => "replace_sms",
            Step::ReplaceDevice { .. } => "replace_device",
            Step::ReplaceOtps { .. } => "replace_otps",
        }
    }

    /// The reason codes the step's `expect` allows (`ok` for an accept).
    pub fn expected_codes(&self) -> Vec<&str> {
        let expect = match self {
            Step::Validate { expect, .. }
            | Step::Resync { expect, .. }
            | Step::ReplaceStart { expect, .. }
            | Step::ReplaceSms { expect, .. }
            | Step::ReplaceDevice { expect, .. }
            | Step::ReplaceOtps { expect, .. } => expect,
            Step::Press { .. } | Step::Advance { .. } | Step::Fail { .. } | Step::Unlock { .. } => {
                return Vec::new();
            }
        };
        if expect.accepts() {
            return vec!["ok"];
        }
        match expect {
            Expect::One(code) => vec![code.as_str()],
            Expect::AnyOf(codes) => codes.iter().map(String::as_str).collect(),
        }
    }

    /// How far an `advance` moves the clock; zero for every other step.
    pub fn advance(&self) -> std::time::Duration {
        match self {
            Step::Advance {
                seconds,
                hours,
                days,
            } => std::time::Duration::from_secs(
                seconds
                    .saturating_add(hours.saturating_mul(3600))
                    .saturating_add(days.saturating_mul(86_400)),
            ),
            _ => std::time::Duration::ZERO,
        }
    }
}

/// The password a replacement starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PasswordChoice {
    /// The user's own.
    #[default]
    Right,
    /// These characters, as typed.
    Literal(String),
}

impl<'de> Deserialize<'de> for PasswordChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "right" => PasswordChoice::Right,
            _ => PasswordChoice::Literal(s),
        })
    }
}

/// The SMS code a replacement's second step submits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SmsChoice {
    /// The code the target sent (read from its outbox).
    #[default]
    Right,
    /// The code sent, with its last digit changed.
    Wrong,
    /// These digits, as typed.
    Literal(String),
}

impl<'de> Deserialize<'de> for SmsChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "right" => SmsChoice::Right,
            "wrong" => SmsChoice::Wrong,
            _ => SmsChoice::Literal(s),
        })
    }
}

/// Why a suite could not be loaded. One line, naming file, line and field.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: case {id}: {message}")]
    Invalid {
        path: PathBuf,
        id: String,
        message: String,
    },
    #[error("case id {id} appears in {first} and {second}")]
    DuplicateId {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{path}: no .toml suite files")]
    Empty { path: PathBuf },
}

/// Where suite files come from: the suite inside the binary, or a file
/// or directory of `.toml` files. `embedded` on the command line names
/// the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuiteSource {
    Embedded,
    Path(PathBuf),
}

impl std::str::FromStr for SuiteSource {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<SuiteSource, Self::Err> {
        Ok(match s {
            "embedded" => SuiteSource::Embedded,
            path => SuiteSource::Path(PathBuf::from(path)),
        })
    }
}

/// Reads every `.toml` file under each path (files or directories, sorted),
/// checks each case, and returns them in file order.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Case>, ScenarioError> {
    let sources: Vec<SuiteSource> = paths.iter().cloned().map(SuiteSource::Path).collect();
    load_suite(&sources)
}

/// Loads the suite from `sources` in order. A file given by path whose
/// name is an embedded file's replaces that embedded file; every other
/// file adds its cases. Case ids are unique across all of them.
pub fn load_suite(sources: &[SuiteSource]) -> Result<Vec<Case>, ScenarioError> {
    let mut disk = Vec::new();
    for source in sources {
        let SuiteSource::Path(path) = source else {
            continue;
        };
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| ScenarioError::Read {
                    path: path.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            if found.is_empty() {
                return Err(ScenarioError::Empty { path: path.clone() });
            }
            found.sort();
            disk.extend(found);
        } else {
            disk.push(path.clone());
        }
    }
    let replaced = |name: &str| {
        disk.iter()
            .any(|p| p.file_name().is_some_and(|f| f == name))
    };
    let mut files: Vec<(PathBuf, Vec<Case>)> = Vec::new();
    for source in sources {
        if *source == SuiteSource::Embedded {
            for (name, text) in super::embedded::FILES {
                if !replaced(name) {
                    let path = PathBuf::from(format!("{}{name}", super::embedded::PREFIX));
                    let cases = parse(text, &path)?;
                    files.push((path, cases));
                }
            }
        }
    }
    for file in &disk {
        files.push((file.clone(), load_file(file)?));
    }
    let mut cases: Vec<Case> = Vec::new();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (file, found) in files {
        for case in found {
            if let Some(first) = seen.insert(case.id.clone(), file.clone()) {
                return Err(ScenarioError::DuplicateId {
                    id: case.id,
                    first,
                    second: file,
                });
            }
            cases.push(case);
        }
    }
    Ok(cases)
}

/// Parses one file.
pub fn load_file(path: &Path) -> Result<Vec<Case>, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// Parses suite text; `path` only names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Case>, ScenarioError> {
    let suite: SuiteFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |span| {
            text[..span.start.min(text.len())].lines().count().max(1)
        });
        ScenarioError::Parse {
            path: path.to_owned(),
            line,
            message: e.message().lines().next().unwrap_or("").to_owned(),
        }
    })?;
    let mut cases = suite.cases;
    // The n-th `[[case]]` header opens the n-th case.
    let mut headers = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[case]]")
        .map(|(i, _)| i + 1);
    for case in &mut cases {
        case.source = path.to_owned();
        case.line = headers.next().unwrap_or(0);
        check(case).map_err(|message| ScenarioError::Invalid {
            path: path.to_owned(),
            id: case.id.clone(),
            message,
        })?;
    }
    Ok(cases)
}

/// What serde cannot check: names that refer to declared devices and
/// users, and values in range.
fn check(case: &Case) -> Result<(), String> {
    if case.id.trim().is_empty() || case.id.contains(char::is_whitespace) {
        return Err("id must be one word".to_owned());
    }
    if case.description.lines().count() != 1 {
        return Err("description must be one line".to_owned());
    }
    for (name, device) in &case.devices {
        if !(6..=8).contains(&device.digits) {
            return Err(format!("device {name}: digits must be 6, 7 or 8"));
        }
        if device.transport == Transport::Hid && device.kind != Kind::Usb {
            return Err(format!(
                "device {name}: transport \"hid\" is the USB token's; a {:?} has none",
                device.kind
            ));
        }
        match (device.kind, device.step) {
            (Kind::C200, Some(30 | 60) | None) => {}
            (Kind::C200, Some(other)) => {
                return Err(format!("device {name}: step must be 30 or 60, not {other}"));
            }
            (_, Some(_)) => return Err(format!("device {name}: only a c200 has a step")),
            _ => {}
        }
    }
    let device = |name: &str, field: &str| {
        if case.devices.contains_key(name) {
            Ok(())
        } else {
            Err(format!("{field}: no device named {name:?} in this case"))
        }
    };
    let user = |name: &str| {
        if case.users.contains_key(name) {
            Ok(())
        } else {
            Err(format!("user: no user named {name:?} in this case"))
        }
    };
    for (name, spec) in &case.users {
        if let Some(d) = &spec.device {
            device(d, &format!("users.{name}.device"))?;
        }
    }
    for (i, step) in case.steps.iter().enumerate() {
        let at = |e: String| format!("step {}: {e}", i + 1);
        match step {
            Step::Press { device: d, .. }
            | Step::Fail { device: d, .. }
            | Step::Unlock { device: d } => device(d, "device").map_err(at)?,
            Step::Validate { device: d, by, .. } | Step::Resync { device: d, by, .. } => {
                device(d, "device").map_err(at)?;
                // A user holds the device from setup, or gets it by a
                // replacement in this case.
                let held = case.users.values().any(|u| u.device.as_deref() == Some(d))
                    || case
                        .steps
                        .iter()
                        .any(|s| matches!(s, Step::ReplaceOtps { device, .. } if device == d));
                if *by != By::Serial && !held {
                    return Err(at(format!("by = user needs a user holding device {d:?}")));
                }
            }
            Step::Advance { .. } => {}
            Step::ReplaceStart { user: u, .. } | Step::ReplaceSms { user: u, .. } => {
                user(u).map_err(at)?;
            }
            Step::ReplaceDevice {
                user: u,
                device: d,
                serial,
                ..
            } => {
                user(u).map_err(at)?;
                match (d, serial) {
                    (Some(d), None) => device(d, "device").map_err(at)?,
                    (None, Some(_)) => {}
                    _ => return Err(at("give device or serial, not both".to_owned())),
                }
            }
            Step::ReplaceOtps {
                user: u, device: d, ..
            } => {
                user(u).map_err(at)?;
                device(d, "device").map_err(at)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text, Path::new("suite.toml"))
            .expect_err("refused")
            .to_string()
    }

    const GOOD: &str = r#"
[[case]]
id = "X-1"
description = "one"
devices.fob = { kind = "c100" }
users.anna = { device = "fob" }
steps = [{ do = "validate", device = "fob", by = "user", expect = "accept" }]
"#;

    #[test]
    fn a_good_case_parses_with_defaults() {
        let cases = parse(GOOD, Path::new("suite.toml")).expect("parses");
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].devices["fob"].digits, 6);
        assert_eq!(cases[0].start, None);
        assert_eq!(cases[0].start(), DEFAULT_START);
        assert!(matches!(
            &cases[0].steps[0],
            Step::Validate { by: By::User, .. }
        ));
    }

    #[test]
    fn an_unknown_key_names_file_line_and_field() {
        let text = GOOD.replace("kind = \"c100\"", "kind = \"c100\", colour = \"red\"");
        let e = error(&text);
        assert!(e.starts_with("suite.toml:5: "), "{e}");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn an_unknown_step_and_a_bad_value_are_named() {
        let e = error(&GOOD.replace("do = \"validate\"", "do = \"jump\""));
        assert!(e.contains("jump") && e.starts_with("suite.toml:7: "), "{e}");
        let e = error(&GOOD.replace("kind = \"c100\"", "kind = \"c300\""));
        assert!(e.contains("c300"), "{e}");
        let e = error("[[case]]\nid = \"X\"\ndescription = \"d\"\nsteps = [ { do = \"press\" ]\n");
        assert!(e.starts_with("suite.toml:4: "), "{e}");
    }

    #[test]
    fn references_to_undeclared_devices_and_users_are_refused() {
        let e = error(&GOOD.replace("device = \"fob\", by", "device = \"fib\", by"));
        assert_eq!(
            e,
            "suite.toml: case X-1: step 1: device: no device named \"fib\" in this case"
        );
        let e = error(&GOOD.replace("users.anna = { device = \"fob\" }", ""));
        assert!(e.contains("by = user needs a user holding device"), "{e}");
        let e = error(&GOOD.replace("{ kind = \"c100\" }", "{ kind = \"c100\", step = 30 }"));
        assert!(e.contains("only a c200 has a step"), "{e}");
        let e = error(&GOOD.replace(
            "{ kind = \"c100\" }",
            "{ kind = \"c100\", transport = \"hid\" }",
        ));
        assert!(e.contains("transport \"hid\" is the USB token's"), "{e}");
        let e = error(&GOOD.replace(
            "{ kind = \"c100\" }",
            "{ kind = \"usb\", transport = \"serial\" }",
        ));
        assert!(e.contains("serial"), "{e}");
    }

    #[test]
    fn duplicate_ids_across_files_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["a.toml", "b.toml"] {
            std::fs::write(dir.path().join(name), GOOD).expect("write");
        }
        let e = load(&[dir.path().to_owned()])
            .expect_err("duplicate")
            .to_string();
        assert!(e.contains("case id X-1 appears in"), "{e}");
    }
}
