//! What is simulated: the fleet (how many tokens of each kind, for how
//! long, from which seed), the quartz drift of its time tokens, and how
//! people use them. Built from defaults, then a TOML file, then flags.
//!
//! Distributions are written the same way in flags and in TOML, as one
//! short string (`normal:0:3`, `poisson:1.5`, `30..180`), so a run in a
//! file and a run on the command line read alike.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand::RngExt;
use rand_distr::{Distribution, Geometric, Normal, Poisson};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::grid::GridFile;

/// A quartz off by more than this (86 s a day) is broken, not drifting;
/// the bound also keeps every sample far inside what `Drift` represents.
pub const MAX_PPM: f64 = 1_000.0;
/// Years a run may last, and days a token may have spent on a shelf:
/// together they bound how far any token can drift (≈ 9 days at
/// `MAX_PPM`), which the helpdesk's wide resync covers.
pub const MAX_YEARS: u32 = 20;
pub const MAX_SHELF_DAYS: u32 = 5 * 365;
/// Traced tokens are the only per-token memory a run keeps, and each is
/// a line of the drift plot.
pub const MAX_SAMPLED: u32 = 64;

/// The kinds of token a fleet is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    C100,
    C200Step30,
    C200Step60,
    Usb,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::C100, Kind::C200Step30, Kind::C200Step60, Kind::Usb];

    /// The name in tables, JSON and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Kind::C100 => "c100",
            Kind::C200Step30 => "c200-30s",
            Kind::C200Step60 => "c200-60s",
            Kind::Usb => "usb",
        }
    }

    /// The time step of a time token, in seconds.
    pub fn step_secs(self) -> Option<u64> {
        match self {
            Kind::C200Step30 => Some(30),
            Kind::C200Step60 => Some(60),
            Kind::C100 | Kind::Usb => None,
        }
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// How many tokens of each kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCounts {
    #[serde(default)]
    pub c100: u64,
    #[serde(default)]
    pub c200_30: u64,
    #[serde(default)]
    pub c200_60: u64,
    #[serde(default)]
    pub usb: u64,
}

impl TokenCounts {
    pub fn of(&self, kind: Kind) -> u64 {
        match kind {
            Kind::C100 => self.c100,
            Kind::C200Step30 => self.c200_30,
            Kind::C200Step60 => self.c200_60,
            Kind::Usb => self.usb,
        }
    }

    pub fn total(&self) -> u64 {
        Kind::ALL.iter().map(|&k| self.of(k)).sum()
    }

    /// The kind of the fleet's `index`-th token: tokens are numbered kind
    /// after kind, in [`Kind::ALL`]'s order. Also its index within its kind.
    pub fn kind_of(&self, index: u64) -> Option<(Kind, u64)> {
        let mut first = 0;
        for kind in Kind::ALL {
            let n = self.of(kind);
            if index < first + n {
                return Some((kind, index - first));
            }
            first += n;
        }
        None
    }
}

/// How fast the time tokens' quartz runs, in ppm (positive: fast).
#[derive(Clone, Debug, PartialEq)]
pub enum DriftDistribution {
    Normal {
        mean: f64,
        sigma: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    /// Each token draws one of these, equally likely (field measurements).
    Empirical(Vec<f64>),
}

impl DriftDistribution {
    /// One token's drift. A normal draw may land beyond `MAX_PPM` (a
    /// tail the user asked for); it is kept, and only `Drift`'s own range,
    /// hundreds of σ away, could refuse it.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        match self {
            DriftDistribution::Normal { mean, sigma } => {
                // Checked on parsing: σ is finite and non-negative.
                Normal::new(*mean, *sigma).map_or(*mean, |n| n.sample(rng))
            }
            DriftDistribution::Uniform { min, max } if min < max => rng.random_range(*min..*max),
            DriftDistribution::Uniform { min, .. } => *min,
            DriftDistribution::Empirical(list) => list[rng.random_range(0..list.len())],
        }
    }
}

impl FromStr for DriftDistribution {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let ppm = |t: &str| -> Result<f64, String> {
            let v: f64 = t
                .trim()
                .parse()
                .map_err(|_| format!("`{t}` is not a number of ppm"))?;
            if !v.is_finite() || v.abs() > MAX_PPM {
                return Err(format!(
                    "{t} ppm is outside ±{MAX_PPM} ppm (86 s a day: a broken quartz)"
                ));
            }
            Ok(v)
        };
        let parts: Vec<&str> = s.split(':').collect();
        match parts[..] {
            ["normal", mean, sigma] => {
                let (mean, sigma) = (ppm(mean)?, ppm(sigma)?);
                if sigma < 0.0 {
                    return Err("σ must not be negative".to_owned());
                }
                Ok(DriftDistribution::Normal { mean, sigma })
            }
            ["uniform", min, max] => {
                let (min, max) = (ppm(min)?, ppm(max)?);
                if min > max {
                    return Err(format!("uniform:{min}:{max} has its bounds reversed"));
                }
                Ok(DriftDistribution::Uniform { min, max })
            }
            ["list", list] => {
                let values = list.split(',').map(ppm).collect::<Result<Vec<_>, _>>()?;
                Ok(DriftDistribution::Empirical(values))
            }
            [single] => Ok(DriftDistribution::Empirical(vec![ppm(single)?])),
            _ => Err(format!(
                "`{s}`: expected normal:MEAN:SIGMA, uniform:MIN:MAX, list:A,B,… or one ppm value"
            )),
        }
    }
}

impl fmt::Display for DriftDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriftDistribution::Normal { mean, sigma } => write!(f, "normal:{mean}:{sigma}"),
            DriftDistribution::Uniform { min, max } => write!(f, "uniform:{min}:{max}"),
            DriftDistribution::Empirical(list) if list.len() == 1 => write!(f, "{}", list[0]),
            DriftDistribution::Empirical(list) => {
                let items: Vec<String> = list.iter().map(f64::to_string).collect();
                write!(f, "list:{}", items.join(","))
            }
        }
    }
}

/// A count per day or per login: logins a day, stray presses.
#[derive(Clone, Debug, PartialEq)]
pub enum CountDistribution {
    Fixed(u64),
    Poisson(f64),
    /// `min..=max`, equally likely.
    Uniform(u64, u64),
    /// Geometric on 0, 1, 2, … with this mean: mostly none, now and then
    /// a burst (a fob pressed in a pocket or by a child).
    Geometric(f64),
}

/// Beyond this a "count" is a typo, and the helpdesk's event resync
/// (see `engine.rs`) would no longer reach the token.
const MAX_MEAN: f64 = 1_000.0;

impl CountDistribution {
    /// Whether a sample always gives 0 (so no randomness is spent on it).
    pub fn is_zero(&self) -> bool {
        matches!(
            self,
            CountDistribution::Fixed(0) | CountDistribution::Uniform(0, 0)
        ) || matches!(self, CountDistribution::Poisson(m) | CountDistribution::Geometric(m) if *m == 0.0)
    }

    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        match *self {
            CountDistribution::Fixed(n) => n,
            CountDistribution::Uniform(lo, hi) => rng.random_range(lo..=hi),
            CountDistribution::Poisson(mean) if mean > 0.0 => {
                let n: f64 = Poisson::new(mean).map_or(0.0, |p| p.sample(rng));
                n as u64
            }
            CountDistribution::Geometric(mean) if mean > 0.0 => {
                // Mean (1 - p) / p for failures before the first success.
                Geometric::new(1.0 / (1.0 + mean)).map_or(0, |g| g.sample(rng))
            }
            CountDistribution::Poisson(_) | CountDistribution::Geometric(_) => 0,
        }
    }
}

impl FromStr for CountDistribution {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let whole = |t: &str| -> Result<u64, String> {
            t.trim()
                .parse::<u64>()
                .ok()
                .filter(|&n| n as f64 <= MAX_MEAN)
                .ok_or_else(|| format!("`{t}` is not a whole number from 0 to {MAX_MEAN}"))
        };
        let mean = |t: &str| -> Result<f64, String> {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|m| m.is_finite() && (0.0..=MAX_MEAN).contains(m))
                .ok_or_else(|| format!("`{t}` is not a mean from 0 to {MAX_MEAN}"))
        };
        let parts: Vec<&str> = s.split(':').collect();
        match parts[..] {
            ["poisson", m] => Ok(CountDistribution::Poisson(mean(m)?)),
            ["geometric", m] => Ok(CountDistribution::Geometric(mean(m)?)),
            ["uniform", lo, hi] => {
                let (lo, hi) = (whole(lo)?, whole(hi)?);
                if lo > hi {
                    return Err(format!("uniform:{lo}:{hi} has its bounds reversed"));
                }
                Ok(CountDistribution::Uniform(lo, hi))
            }
            [n] => Ok(CountDistribution::Fixed(whole(n)?)),
            _ => Err(format!(
                "`{s}`: expected N, poisson:MEAN, uniform:MIN:MAX or geometric:MEAN"
            )),
        }
    }
}

impl fmt::Display for CountDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CountDistribution::Fixed(n) => write!(f, "{n}"),
            CountDistribution::Poisson(m) => write!(f, "poisson:{m}"),
            CountDistribution::Uniform(lo, hi) => write!(f, "uniform:{lo}:{hi}"),
            CountDistribution::Geometric(m) => write!(f, "geometric:{m}"),
        }
    }
}

/// A whole number of days, `min..max` inclusive and equally likely, or one
/// value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayRange {
    pub min: u32,
    pub max: u32,
}

impl DayRange {
    pub fn sample(&self, rng: &mut impl Rng) -> u32 {
        if self.min == self.max {
            self.min
        } else {
            rng.random_range(self.min..=self.max)
        }
    }
}

impl FromStr for DayRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let days = |t: &str| -> Result<u32, String> {
            t.trim()
                .parse::<u32>()
                .ok()
                .filter(|&d| d <= MAX_SHELF_DAYS)
                .ok_or_else(|| {
                    format!("`{t}` is not a whole number of days up to {MAX_SHELF_DAYS}")
                })
        };
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (days(a)?, days(b)?),
            None => {
                let d = days(s)?;
                (d, d)
            }
        };
        if min > max {
            return Err(format!("{min}..{max} has its bounds reversed"));
        }
        Ok(DayRange { min, max })
    }
}

impl fmt::Display for DayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}..{}", self.min, self.max)
        }
    }
}

/// How people use their tokens.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Usage {
    /// Logins on each working day a person is in (Monday to Friday).
    #[serde(serialize_with = "as_text")]
    pub logins_per_day: CountDistribution,
    /// Working days off a year (public holidays and leave), each working
    /// day off with probability `holidays_per_year / 261`, per person.
    pub holidays_per_year: u32,
    /// Presses of an event token between two logins that no verifier sees.
    #[serde(serialize_with = "as_text")]
    pub stray_presses: CountDistribution,
    /// How often a token is left unused for a long spell, per year.
    pub idle_spells_per_year: f64,
    /// How long such a spell lasts.
    #[serde(serialize_with = "as_text")]
    pub idle_days: DayRange,
    /// Seconds between reading a code and the verifier deciding on it.
    pub typing_seconds: u32,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            logins_per_day: CountDistribution::Fixed(1),
            holidays_per_year: 10,
            stray_presses: CountDistribution::Geometric(1.0),
            idle_spells_per_year: 0.1,
            idle_days: DayRange { min: 30, max: 120 },
            typing_seconds: 0,
        }
    }
}

/// Everything a run simulates but the policies.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fleet {
    pub seed: u64,
    pub years: u32,
    pub tokens: TokenCounts,
    #[serde(serialize_with = "as_text")]
    pub drift_ppm: DriftDistribution,
    /// Days between the factory setting a token's clock and its first use.
    #[serde(serialize_with = "as_text")]
    pub shelf_days: DayRange,
    pub usage: Usage,
    /// How many time tokens (the first ones) have their drift traced for
    /// the plot.
    pub sample_tokens: u32,
}

impl Default for Fleet {
    /// 1,000 C200s of 60 s (as the vendor ships them) for three years; the
    /// drift and shelf defaults are argued in `docs/simulate.md`.
    fn default() -> Self {
        Fleet {
            seed: 1,
            years: 3,
            tokens: TokenCounts {
                c200_60: 1_000,
                ..TokenCounts::default()
            },
            drift_ppm: DriftDistribution::Normal {
                mean: 0.0,
                sigma: 3.0,
            },
            shelf_days: DayRange { min: 0, max: 180 },
            usage: Usage::default(),
            sample_tokens: 8,
        }
    }
}

impl Fleet {
    pub fn days(&self) -> u32 {
        self.years * 365
    }

    /// The rules flags and files must both keep.
    pub fn check(&self) -> Result<(), String> {
        if self.tokens.total() == 0 {
            return Err("the fleet has no tokens (give --c200-60 N or the like)".to_owned());
        }
        if !(1..=MAX_YEARS).contains(&self.years) {
            return Err(format!("years must be from 1 to {MAX_YEARS}"));
        }
        if self.usage.holidays_per_year > 261 {
            return Err(
                "holidays per year must be at most 261, the working days of a year".to_owned(),
            );
        }
        let spells = self.usage.idle_spells_per_year;
        if !(spells.is_finite() && (0.0..=261.0).contains(&spells)) {
            return Err("idle spells per year must be from 0 to 261".to_owned());
        }
        if self.sample_tokens > MAX_SAMPLED {
            return Err(format!(
                "sample tokens must be at most {MAX_SAMPLED}: each is a line of the drift plot"
            ));
        }
        if self.usage.typing_seconds > 3_600 {
            return Err("typing seconds must be at most 3600".to_owned());
        }
        Ok(())
    }
}

fn as_text<T: fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&value.to_string())
}

/// A distribution in TOML: its string, or a bare number for one value.
fn spec<'de, D: Deserializer<'de>, T: FromStr<Err = String>>(d: D) -> Result<Option<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Float(f64),
        Text(String),
    }
    let text = match Raw::deserialize(d)? {
        Raw::Int(n) => n.to_string(),
        Raw::Float(x) => x.to_string(),
        Raw::Text(t) => t,
    };
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// The run as a TOML file: every key optional, unknown keys refused with
/// their line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetFile {
    pub seed: Option<u64>,
    pub years: Option<u32>,
    pub sample_tokens: Option<u32>,
    pub tokens: Option<TokenCounts>,
    #[serde(default)]
    pub drift: DriftFile,
    #[serde(default)]
    pub usage: UsageFile,
    #[serde(default)]
    pub policy: GridFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftFile {
    #[serde(default, deserialize_with = "spec")]
    pub ppm: Option<DriftDistribution>,
    #[serde(default, deserialize_with = "spec")]
    pub shelf_days: Option<DayRange>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageFile {
    #[serde(default, deserialize_with = "spec")]
    pub logins_per_day: Option<CountDistribution>,
    pub holidays_per_year: Option<u32>,
    #[serde(default, deserialize_with = "spec")]
    pub stray_presses: Option<CountDistribution>,
    pub idle_spells_per_year: Option<f64>,
    #[serde(default, deserialize_with = "spec")]
    pub idle_days: Option<DayRange>,
    pub typing_seconds: Option<u32>,
}

/// A run file that does not parse: the line and toml's first line of
/// explanation (unknown keys are named there), as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FileError {
    pub line: usize,
    pub message: String,
}

impl FleetFile {
    pub fn parse(text: &str) -> Result<FleetFile, FileError> {
        toml::from_str(text).map_err(|e: toml::de::Error| FileError {
            line: e.span().map_or(1, |span| {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                before.iter().filter(|&&b| b == b'\n').count() + 1
            }),
            message: e.message().lines().next().unwrap_or("").to_owned(),
        })
    }

    /// Overrides `fleet`'s values with those the file gives.
    pub fn apply(&self, fleet: &mut Fleet) {
        set(&mut fleet.seed, self.seed);
        set(&mut fleet.years, self.years);
        set(&mut fleet.sample_tokens, self.sample_tokens);
        set(&mut fleet.tokens, self.tokens);
        set(&mut fleet.drift_ppm, self.drift.ppm.clone());
        set(&mut fleet.shelf_days, self.drift.shelf_days);
        let u = &self.usage;
        let usage = &mut fleet.usage;
        set(&mut usage.logins_per_day, u.logins_per_day.clone());
        set(&mut usage.holidays_per_year, u.holidays_per_year);
        set(&mut usage.stray_presses, u.stray_presses.clone());
        set(&mut usage.idle_spells_per_year, u.idle_spells_per_year);
        set(&mut usage.idle_days, u.idle_days);
        set(&mut usage.typing_seconds, u.typing_seconds);
    }
}

/// `*slot = value` when there is one: later sources override earlier ones.
pub fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_parse_and_print_back() {
        for text in ["normal:0:3", "uniform:-5:5", "list:1.5,-2,3", "11.6"] {
            let d: DriftDistribution = text.parse().expect(text);
            assert_eq!(d.to_string(), text);
        }
        for text in ["1", "poisson:1.5", "uniform:1:3", "geometric:1"] {
            let c: CountDistribution = text.parse().expect(text);
            assert_eq!(c.to_string(), text);
        }
        assert_eq!("30..180".parse(), Ok(DayRange { min: 30, max: 180 }));
        assert_eq!("7".parse(), Ok(DayRange { min: 7, max: 7 }));
    }

    #[test]
    fn bad_distributions_say_what_was_expected() {
        let err = "gauss:0:3".parse::<DriftDistribution>().unwrap_err();
        assert!(err.contains("expected normal:MEAN:SIGMA"), "{err}");
        let err = "normal:0:-1".parse::<DriftDistribution>().unwrap_err();
        assert!(err.contains("negative"), "{err}");
        let err = "5000".parse::<DriftDistribution>().unwrap_err();
        assert!(err.contains("outside ±1000 ppm"), "{err}");
        let err = "uniform:3:1".parse::<CountDistribution>().unwrap_err();
        assert!(err.contains("reversed"), "{err}");
        let err = "180..30".parse::<DayRange>().unwrap_err();
        assert!(err.contains("reversed"), "{err}");
    }

    #[test]
    fn tokens_are_numbered_kind_after_kind() {
        let counts = TokenCounts {
            c100: 2,
            c200_30: 0,
            c200_60: 3,
            usb: 1,
        };
        assert_eq!(counts.kind_of(0), Some((Kind::C100, 0)));
        assert_eq!(counts.kind_of(2), Some((Kind::C200Step60, 0)));
        assert_eq!(counts.kind_of(4), Some((Kind::C200Step60, 2)));
        assert_eq!(counts.kind_of(5), Some((Kind::Usb, 0)));
        assert_eq!(counts.kind_of(6), None);
    }

    #[test]
    fn a_file_overrides_only_what_it_gives() {
        let file = FleetFile::parse(
            "seed = 9\n[tokens]\nc100 = 5\n[drift]\nppm = 2.9\n[usage]\nlogins_per_day = \"poisson:2\"\n",
        )
        .expect("valid");
        let mut fleet = Fleet::default();
        file.apply(&mut fleet);
        assert_eq!(fleet.seed, 9);
        assert_eq!(
            fleet.tokens.total(),
            5,
            "the file's fleet replaces the default"
        );
        assert_eq!(fleet.drift_ppm, DriftDistribution::Empirical(vec![2.9]));
        assert_eq!(fleet.usage.logins_per_day, CountDistribution::Poisson(2.0));
        assert_eq!(fleet.years, 3);
    }

    #[test]
    fn the_documented_run_file_parses() {
        let text = include_str!("../../fixtures/simulate/fleet.toml");
        let file = FleetFile::parse(text).expect("the example is valid");
        let mut fleet = Fleet::default();
        file.apply(&mut fleet);
        let mut grid = super::super::grid::Grid::default();
        file.policy.apply(&mut grid);
        assert_eq!((fleet.seed, fleet.years), (2027, 5));
        assert_eq!(fleet.tokens.total(), 10_500);
        assert_eq!(fleet.shelf_days, DayRange { min: 30, max: 365 });
        assert_eq!(fleet.usage.typing_seconds, 5);
        assert_eq!(fleet.check(), Ok(()));
        assert_eq!(grid.policies().map(|p| p.len()), Ok(5 * 2 * 2 * 2));
        fleet.sample_tokens = 65;
        assert!(fleet.check().is_err_and(|e| e.contains("at most 64")));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_their_line() {
        let err = FleetFile::parse("seed = 1\n[usage]\nlogins = 2\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 3") && text.contains("logins"), "{text}");
        let err = FleetFile::parse("[drift]\nppm = \"normal:x:1\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("line 2") && text.contains("not a number"),
            "{text}"
        );
    }
}
