//! The policies a run compares: one, or the grid of every combination of
//! the values given for each knob, and what each costs in guessing risk.

use std::time::Duration;

use crate::verifier::Policy;
use serde::{Deserialize, Serialize};

use super::fleet::{Kind, set};

/// More policies than this is a typo in a list, not a study: each one
/// replays the whole fleet.
pub const MAX_POLICIES: usize = 256;

/// The values tried for each knob of [`Policy`]; the grid is their
/// cartesian product, in the order the fields are listed (the last one
/// varies fastest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grid {
    pub time_window: Vec<u64>,
    pub learn_drift: Vec<bool>,
    pub event_window: Vec<u64>,
    pub event_resync_window: Vec<u64>,
    pub time_resync_hours: Vec<u64>,
    pub max_failures: Vec<u32>,
}

impl Default for Grid {
    /// One policy: the verifier's own defaults.
    fn default() -> Self {
        let p = Policy::default();
        Grid {
            time_window: vec![p.time_window],
            learn_drift: vec![p.learn_drift],
            event_window: vec![p.event_window],
            event_resync_window: vec![p.event_resync_window],
            time_resync_hours: vec![p.time_resync_span.as_secs() / 3_600],
            max_failures: vec![p.max_failures],
        }
    }
}

/// The `[policy]` table of a run file: lists (or single values) per knob.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridFile {
    #[serde(default, deserialize_with = "one_or_many")]
    pub time_window: Option<Vec<u64>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub learn_drift: Option<Vec<bool>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub event_window: Option<Vec<u64>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub event_resync_window: Option<Vec<u64>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub time_resync_hours: Option<Vec<u64>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub max_failures: Option<Vec<u32>>,
}

fn one_or_many<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(Some(match OneOrMany::deserialize(d)? {
        OneOrMany::One(v) => vec![v],
        OneOrMany::Many(v) => v,
    }))
}

impl GridFile {
    pub fn apply(&self, grid: &mut Grid) {
        set(&mut grid.time_window, self.time_window.clone());
        set(&mut grid.learn_drift, self.learn_drift.clone());
        set(&mut grid.event_window, self.event_window.clone());
        set(
            &mut grid.event_resync_window,
            self.event_resync_window.clone(),
        );
        set(&mut grid.time_resync_hours, self.time_resync_hours.clone());
        set(&mut grid.max_failures, self.max_failures.clone());
    }
}

impl Grid {
    /// Every combination, or why the grid is not one.
    pub fn policies(&self) -> Result<Vec<Policy>, String> {
        let lists = [
            ("time window", self.time_window.len()),
            ("drift learning", self.learn_drift.len()),
            ("event window", self.event_window.len()),
            ("event resync window", self.event_resync_window.len()),
            ("time resync hours", self.time_resync_hours.len()),
            ("max failures", self.max_failures.len()),
        ];
        if let Some((name, _)) = lists.iter().find(|(_, n)| *n == 0) {
            return Err(format!("the policy grid gives no {name}"));
        }
        let size = lists.iter().map(|(_, n)| n).product::<usize>();
        if size > MAX_POLICIES {
            return Err(format!(
                "the policy grid has {size} policies, more than {MAX_POLICIES}"
            ));
        }
        if self.max_failures.contains(&0) {
            return Err("max failures must be at least 1".to_owned());
        }
        if self.time_resync_hours.iter().any(|&h| h > 24 * 366) {
            return Err("time resync hours must be at most a year (8784)".to_owned());
        }
        if self.event_resync_window.iter().any(|&w| w > 1_000_000) {
            return Err("event resync window must be at most 1000000 codes".to_owned());
        }
        if self.time_window.iter().any(|&w| w > 10_000)
            || self.event_window.iter().any(|&w| w > 100_000)
        {
            return Err("a validation window that wide is a resync window: time at most 10000 steps, event at most 100000 codes".to_owned());
        }
        let mut out = Vec::with_capacity(size);
        for &time_window in &self.time_window {
            for &learn_drift in &self.learn_drift {
                for &event_window in &self.event_window {
                    for &event_resync_window in &self.event_resync_window {
                        for &hours in &self.time_resync_hours {
                            for &max_failures in &self.max_failures {
                                out.push(Policy {
                                    time_window,
                                    learn_drift,
                                    event_window,
                                    event_resync_window,
                                    time_resync_span: Duration::from_secs(hours * 3_600),
                                    max_failures,
                                    ..Policy::default()
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The chance an online attacker guesses a code before the token locks,
/// RFC 4226 §6 and Appendix A: `s · v / 10^digits`, with `s` the codes a
/// single attempt is compared against (the window) and `v` the attempts
/// before lockout. Six digits: every model here shows six.
pub fn guess_risk(policy: &Policy, kind: Kind) -> f64 {
    let codes = match kind.step_secs() {
        Some(_) => 2 * policy.time_window + 1,
        None => policy.event_window,
    };
    codes as f64 * f64::from(policy.max_failures) / 1e6
}

/// The same for a two-OTP resync: `s` candidate pairs over the resync
/// window, a pair guessed with probability 10^-12.
pub fn resync_guess_risk(policy: &Policy, kind: Kind) -> f64 {
    let pairs = match kind.step_secs() {
        Some(step) => {
            let radius = policy.time_resync_span.as_secs().div_ceil(step);
            2 * radius + 1
        }
        None => policy.event_resync_window,
    };
    pairs as f64 * f64::from(policy.max_failures) / 1e12
}

/// A policy in one short phrase, for tables and plot legends.
pub fn label(policy: &Policy) -> String {
    format!(
        "±{} {}, look-ahead {}, resync {} h/{}, lock {}",
        policy.time_window,
        if policy.learn_drift { "learn" } else { "fixed" },
        policy.event_window,
        policy.time_resync_span.as_secs() / 3_600,
        policy.event_resync_window,
        policy.max_failures
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_grid_is_the_verifiers_policy() {
        assert_eq!(Grid::default().policies(), Ok(vec![Policy::default()]));
    }

    #[test]
    fn the_grid_is_the_product_last_knob_fastest() {
        let grid = Grid {
            time_window: vec![0, 1, 2],
            learn_drift: vec![true, false],
            ..Grid::default()
        };
        let policies = grid.policies().expect("valid grid");
        assert_eq!(policies.len(), 6);
        let knobs: Vec<(u64, bool)> = policies
            .iter()
            .map(|p| (p.time_window, p.learn_drift))
            .collect();
        assert_eq!(
            knobs,
            [
                (0, true),
                (0, false),
                (1, true),
                (1, false),
                (2, true),
                (2, false)
            ]
        );
    }

    #[test]
    fn empty_huge_or_zero_lockout_grids_are_refused() {
        let empty = Grid {
            time_window: vec![],
            ..Grid::default()
        };
        assert!(empty.policies().unwrap_err().contains("no time window"));
        let huge = Grid {
            time_window: (0..20).collect(),
            max_failures: (1..20).collect(),
            ..Grid::default()
        };
        assert!(huge.policies().unwrap_err().contains("380 policies"));
        let zero = Grid {
            max_failures: vec![0],
            ..Grid::default()
        };
        assert!(zero.policies().unwrap_err().contains("at least 1"));
    }

    #[test]
    fn risk_is_window_codes_times_attempts_over_a_million() {
        let p = Policy::default();
        // ±1 step: 3 codes per attempt, 10 attempts.
        assert!((guess_risk(&p, Kind::C200Step60) - 3e-5).abs() < 1e-12);
        // Look-ahead 10: 10 codes per attempt.
        assert!((guess_risk(&p, Kind::C100) - 1e-4).abs() < 1e-12);
        // ±24 h of 60 s steps: 2,881 pairs.
        assert!((resync_guess_risk(&p, Kind::C200Step60) - 2.881e-8).abs() < 1e-15);
    }
}
