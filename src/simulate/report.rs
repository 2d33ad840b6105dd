//! What a run found, per policy and kind of token: the human table, JSON
//! and CSV. Every figure is computed here from the engine's integer
//! tallies, in one order, so the same run prints the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::verifier::Policy;

use super::engine::{FleetResult, Tally, Trace};
use super::fleet::{Fleet, Kind};
use super::grid::{Grid, guess_risk, label, resync_guess_risk};

/// Bumped when a field changes meaning, so scripts can tell.
const FORMAT: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Report {
    pub format: u32,
    /// Day 0 of the run (a Monday), UTC.
    pub start: &'static str,
    pub fleet: Fleet,
    pub grid: Grid,
    pub policies: Vec<PolicyReport>,
    pub sampled_tokens: Vec<TraceReport>,
}

#[derive(Debug, Serialize)]
pub struct PolicyReport {
    pub label: String,
    pub time_window: u64,
    pub learn_drift: bool,
    pub event_window: u64,
    pub event_resync_window: u64,
    pub time_resync_hours: u64,
    pub max_failures: u32,
    /// One entry per kind the fleet has.
    pub kinds: Vec<KindReport>,
}

#[derive(Debug, Serialize)]
pub struct KindReport {
    pub kind: Kind,
    pub tokens: u64,
    pub token_years: u64,
    pub logins: u64,
    pub decisions: u64,
    /// Logins whose first code was refused.
    pub desync_rejections: u64,
    pub desync_per_1000_logins: f64,
    /// Of those, refused as a replay (two logins in one time step).
    pub desync_replayed: u64,
    pub recovered_by_next_code: u64,
    pub resyncs: u64,
    pub resyncs_accepted: u64,
    pub resyncs_per_token_year: f64,
    pub helpdesk_calls: u64,
    pub helpdesk_per_token_year: f64,
    /// Helpdesk calls whose wide resync did not find the token either.
    pub helpdesk_unresolved: u64,
    pub lockouts: u64,
    pub tokens_locked_out: u64,
    /// RFC 4226 §6: window codes × attempts before lockout / 10^6.
    pub guess_risk: f64,
    /// The same for a two-OTP resync: pairs in the resync window ×
    /// attempts / 10^12.
    pub resync_guess_risk: f64,
    /// Time tokens at the end of the run: the drift the verifier learned,
    /// and the true clock offset, in whole steps → tokens.
    pub learned_drift_steps: BTreeMap<i64, u64>,
    pub true_drift_steps: BTreeMap<i64, u64>,
    pub by_year: Vec<YearReport>,
}

#[derive(Debug, Serialize)]
pub struct YearReport {
    pub year: u32,
    pub logins: u64,
    pub desync_rejections: u64,
    pub resyncs: u64,
    pub helpdesk_calls: u64,
}

#[derive(Debug, Serialize)]
pub struct TraceReport {
    pub index: u64,
    pub kind: Kind,
    pub serial: String,
    pub ppm: f64,
    pub shelf_days: u32,
    /// `[day, true offset in ms, learned drift in steps]`, weekly, under
    /// the first policy.
    pub weeks: Vec<(u32, i64, i64)>,
}

/// `count / per`, 0 when there is nothing to divide by.
fn rate(count: u64, per: u64) -> f64 {
    if per == 0 {
        0.0
    } else {
        count as f64 / per as f64
    }
}

impl Report {
    pub fn new(fleet: &Fleet, grid: &Grid, policies: &[Policy], outcome: &FleetResult) -> Report {
        let policies = policies
            .iter()
            .zip(&outcome.tallies)
            .map(|(policy, tallies)| policy_report(fleet, policy, tallies))
            .collect();
        Report {
            format: FORMAT,
            start: "2027-01-04T00:00:00Z",
            fleet: fleet.clone(),
            grid: grid.clone(),
            policies,
            sampled_tokens: outcome.traces.iter().map(trace_report).collect(),
        }
    }

    pub fn json(&self) -> String {
        // Only maps with integer keys and plain structs: serialising
        // cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// One row per policy and kind.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "time_window,learn_drift,event_window,event_resync_window,time_resync_hours,max_failures,\
             kind,tokens,token_years,logins,decisions,desync_rejections,desync_per_1000_logins,\
             recovered_by_next_code,resyncs,resyncs_accepted,resyncs_per_token_year,helpdesk_calls,\
             helpdesk_per_token_year,helpdesk_unresolved,lockouts,tokens_locked_out,guess_risk,\
             resync_guess_risk,learned_drift_median,learned_drift_min,learned_drift_max\n",
        );
        for p in &self.policies {
            for k in &p.kinds {
                let (min, median, max) = spread(&k.learned_drift_steps).map_or(
                    (String::new(), String::new(), String::new()),
                    |(a, b, c)| (a.to_string(), b.to_string(), c.to_string()),
                );
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:e},{:e},{median},{min},{max}",
                    p.time_window,
                    p.learn_drift,
                    p.event_window,
                    p.event_resync_window,
                    p.time_resync_hours,
                    p.max_failures,
                    k.kind.name(),
                    k.tokens,
                    k.token_years,
                    k.logins,
                    k.decisions,
                    k.desync_rejections,
                    k.desync_per_1000_logins,
                    k.recovered_by_next_code,
                    k.resyncs,
                    k.resyncs_accepted,
                    k.resyncs_per_token_year,
                    k.helpdesk_calls,
                    k.helpdesk_per_token_year,
                    k.helpdesk_unresolved,
                    k.lockouts,
                    k.tokens_locked_out,
                    k.guess_risk,
                    k.resync_guess_risk,
                );
            }
        }
        out
    }

    /// The table on stdout: what was simulated, then a row per policy and
    /// kind.
    pub fn table(&self) -> String {
        let f = &self.fleet;
        let kinds: Vec<String> = Kind::ALL
            .iter()
            .filter(|&&k| f.tokens.of(k) > 0)
            .map(|&k| format!("{} {}", f.tokens.of(k), k.name()))
            .collect();
        let logins: u64 = self
            .policies
            .first()
            .map_or(0, |p| p.kinds.iter().map(|k| k.logins).sum());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "tokenrig simulate: {} tokens ({}) for {} year{} from 2027-01-04, seed {}",
            f.tokens.total(),
            kinds.join(", "),
            f.years,
            if f.years == 1 { "" } else { "s" },
            f.seed
        );
        let u = &f.usage;
        let _ = writeln!(
            out,
            "drift {} ppm, shelf {} days; logins a working day {}, {} days off a year, {} idle spells a year of {} days, stray presses {}",
            f.drift_ppm,
            f.shelf_days,
            u.logins_per_day,
            u.holidays_per_year,
            u.idle_spells_per_year,
            u.idle_days,
            u.stray_presses
        );
        let _ = writeln!(
            out,
            "{} policies × {} logins, every one decided by the verifier core\n",
            self.policies.len(),
            logins
        );
        let _ = writeln!(
            out,
            "{:>6} {:>5} {:>5} {:>6} {:>4}  {:<8} {:>9} {:>10} {:>9} {:>12} {:>12} {:>6} {:>10}  drift at end (steps) median [min, max]",
            "window",
            "learn",
            "ahead",
            "resync",
            "lock",
            "kind",
            "logins",
            "desync/1k",
            "next code",
            "resync/tok·y",
            "helpdsk/tok·y",
            "locked",
            "guess risk",
        );
        // A row per policy and kind, but once only for the knobs a kind
        // reads: an event token's numbers do not change with the time
        // window, nor a time token's with the look-ahead.
        let mut shown = std::collections::BTreeSet::new();
        for p in &self.policies {
            for k in &p.kinds {
                let time = k.kind.step_secs().is_some();
                let knobs = if time {
                    (
                        p.time_window,
                        p.learn_drift,
                        p.time_resync_hours,
                        p.max_failures,
                    )
                } else {
                    (p.event_window, false, p.event_resync_window, p.max_failures)
                };
                if !shown.insert((k.kind, knobs)) {
                    continue;
                }
                let drift = spread(&k.learned_drift_steps).map_or_else(
                    || "-".to_owned(),
                    |(lo, mid, hi)| format!("{mid:+} [{lo:+}, {hi:+}]"),
                );
                let _ = writeln!(
                    out,
                    "{:>6} {:>5} {:>5} {:>6} {:>4}  {:<8} {:>9} {:>10.2} {:>9} {:>12.3} {:>13.3} {:>6} {:>10.1e}  {}",
                    if time {
                        format!("±{}", p.time_window)
                    } else {
                        "-".to_owned()
                    },
                    if time {
                        if p.learn_drift { "on" } else { "off" }
                    } else {
                        "-"
                    },
                    if time {
                        "-".to_owned()
                    } else {
                        p.event_window.to_string()
                    },
                    if time {
                        format!("{}h", p.time_resync_hours)
                    } else {
                        p.event_resync_window.to_string()
                    },
                    p.max_failures,
                    k.kind.name(),
                    k.logins,
                    k.desync_per_1000_logins,
                    k.recovered_by_next_code,
                    k.resyncs_per_token_year,
                    k.helpdesk_per_token_year,
                    k.tokens_locked_out,
                    k.guess_risk,
                    drift
                );
            }
        }
        out.push_str(
            "\ndesync/1k: logins whose first code was refused, per 1,000; next code: of those, rescued by the next code;\n\
             resync, helpdesk: per token-year; guess risk: window codes × attempts before lockout / 10^6 (RFC 4226 §6);\n\
             a kind's row is shown once for the knobs it reads (the JSON and CSV have every policy)\n",
        );
        out
    }
}

fn policy_report(fleet: &Fleet, policy: &Policy, tallies: &[Tally]) -> PolicyReport {
    let kinds = Kind::ALL
        .iter()
        .zip(tallies)
        .filter(|(kind, _)| fleet.tokens.of(**kind) > 0)
        .map(|(&kind, t)| kind_report(fleet, policy, kind, t))
        .collect();
    PolicyReport {
        label: label(policy),
        time_window: policy.time_window,
        learn_drift: policy.learn_drift,
        event_window: policy.event_window,
        event_resync_window: policy.event_resync_window,
        time_resync_hours: policy.time_resync_span.as_secs() / 3_600,
        max_failures: policy.max_failures,
        kinds,
    }
}

fn kind_report(fleet: &Fleet, policy: &Policy, kind: Kind, t: &Tally) -> KindReport {
    let token_years = t.tokens * u64::from(fleet.years);
    KindReport {
        kind,
        tokens: t.tokens,
        token_years,
        logins: t.logins,
        decisions: t.decisions,
        desync_rejections: t.desync,
        desync_per_1000_logins: rate(t.desync * 1_000, t.logins),
        desync_replayed: t.desync_replayed,
        recovered_by_next_code: t.next_code,
        resyncs: t.resyncs,
        resyncs_accepted: t.resyncs_accepted,
        resyncs_per_token_year: rate(t.resyncs, token_years),
        helpdesk_calls: t.helpdesk,
        helpdesk_per_token_year: rate(t.helpdesk, token_years),
        helpdesk_unresolved: t.unresolved,
        lockouts: t.lockouts,
        tokens_locked_out: t.tokens_locked,
        guess_risk: guess_risk(policy, kind),
        resync_guess_risk: resync_guess_risk(policy, kind),
        learned_drift_steps: t.learned_drift.clone(),
        true_drift_steps: t.true_drift.clone(),
        by_year: t
            .years
            .iter()
            .zip(1..)
            .map(|(y, year)| YearReport {
                year,
                logins: y.logins,
                desync_rejections: y.desync,
                resyncs: y.resyncs,
                helpdesk_calls: y.helpdesk,
            })
            .collect(),
    }
}

fn trace_report(t: &Trace) -> TraceReport {
    TraceReport {
        index: t.index,
        kind: t.kind,
        serial: t.serial.clone(),
        ppm: t.ppm,
        shelf_days: t.shelf_days,
        weeks: t
            .points
            .iter()
            .map(|p| (p.day, p.true_offset_ms, p.learned_steps))
            .collect(),
    }
}

/// (min, median, max) of a histogram, `None` if it is empty.
pub fn spread(histogram: &BTreeMap<i64, u64>) -> Option<(i64, i64, i64)> {
    let total: u64 = histogram.values().sum();
    let min = *histogram.keys().next()?;
    let max = *histogram.keys().next_back()?;
    let mut seen = 0;
    let median = histogram
        .iter()
        .find(|(_, n)| {
            seen += **n;
            seen * 2 >= total
        })
        .map_or(min, |(k, _)| *k);
    Some((min, median, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_min_median_max() {
        let h = BTreeMap::from([(-2, 1), (0, 5), (1, 3), (4, 1)]);
        assert_eq!(spread(&h), Some((-2, 0, 4)));
        assert_eq!(spread(&BTreeMap::new()), None);
        assert_eq!(spread(&BTreeMap::from([(3, 2)])), Some((3, 3, 3)));
    }

    #[test]
    fn rates_of_nothing_are_zero() {
        assert_eq!(rate(5, 0), 0.0);
        assert_eq!(rate(3, 4), 0.75);
    }
}
