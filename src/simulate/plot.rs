//! The three plots a run writes (SVG, `plotters` with no font or bitmap
//! stack): desync against the validation window, drift over the years
//! for the sampled tokens, and guessing risk against usability.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::fleet::Kind;
use super::report::{KindReport, PolicyReport, Report};

const SIZE: (u32, u32) = (960, 600);
/// Dark enough to read on white, thin or dashed (plotters' palette has
/// yellows and cyans that vanish).
const PALETTE: [RGBColor; 8] = [
    RGBColor(200, 30, 45),
    RGBColor(30, 90, 200),
    RGBColor(0, 130, 60),
    RGBColor(140, 60, 170),
    RGBColor(220, 110, 0),
    RGBColor(0, 140, 150),
    RGBColor(120, 80, 40),
    RGBColor(90, 90, 90),
];

fn pick(i: usize) -> RGBAColor {
    PALETTE[i % PALETTE.len()].to_rgba()
}
const FONT: &str = "sans-serif";

/// A plot could not be drawn or written; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PlotError {
    path: String,
    message: String,
}

/// Draws one plot into a file.
type Draw = fn(&Report, &Path) -> Result<(), String>;
/// A line's points, (x, y).
type Points = Vec<(f64, f64)>;

/// Writes `desync.svg`, `drift.svg` and `risk.svg` into `dir` (which must
/// exist); returns their paths.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let plots: [(&str, Draw); 3] = [
        ("desync.svg", desync_against_window),
        ("drift.svg", drift_over_years),
        ("risk.svg", risk_against_usability),
    ];
    let mut written = Vec::new();
    for (name, draw) in plots {
        let path = dir.join(name);
        draw(report, &path).map_err(|message| PlotError {
            path: path.display().to_string(),
            message,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Desync of one family of kinds under one policy, pooled over its kinds.
fn pooled(policy: &PolicyReport, time: bool) -> Option<f64> {
    let kinds: Vec<&KindReport> = policy
        .kinds
        .iter()
        .filter(|k| k.kind.step_secs().is_some() == time)
        .collect();
    let logins: u64 = kinds.iter().map(|k| k.logins).sum();
    let desync: u64 = kinds.iter().map(|k| k.desync_rejections).sum();
    (logins > 0).then(|| desync as f64 * 1_000.0 / logins as f64)
}

fn top(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0f64, f64::max);
    if max > 0.0 { max * 1.15 } else { 1.0 }
}

/// x: the time window (or, for a fleet of event tokens only, the
/// look-ahead); y: desync per 1,000 logins; a line per combination of the
/// other knobs.
fn desync_against_window(report: &Report, path: &Path) -> Result<(), String> {
    let time = report
        .policies
        .first()
        .is_some_and(|p| p.kinds.iter().any(|k| k.kind.step_secs().is_some()));
    let window = |p: &PolicyReport| {
        if time { p.time_window } else { p.event_window }
    };
    let rest = |p: &PolicyReport| {
        if time {
            format!(
                "learning {}, resync ±{} h, lockout {}",
                if p.learn_drift { "on" } else { "off" },
                p.time_resync_hours,
                p.max_failures
            )
        } else {
            format!(
                "resync {} codes, lockout {}",
                p.event_resync_window, p.max_failures
            )
        }
    };
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for p in &report.policies {
        let Some(y) = pooled(p, time) else { continue };
        let name = rest(p);
        let point = (window(p) as f64, y);
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push(point),
            None => series.push((name, vec![point])),
        }
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let x_max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .fold(1.0f64, f64::max);
    let x_min = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .fold(x_max, f64::min)
        .min(x_max - 1.0);
    let y_max = top(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)));
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let what = if time {
        "time tokens: logins refused at first try against the time window"
    } else {
        "event tokens: logins refused at first try against the look-ahead"
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(what, (FONT, 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x_min - 0.2..x_max + 0.2, 0.0..y_max)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(if time {
            "time window (± steps around the expected step)"
        } else {
            "look-ahead window (codes)"
        })
        .y_desc("desync per 1,000 logins")
        .x_labels((x_max - x_min) as usize + 2)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = pick(i);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 15))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// x: years since first use; y: steps. Solid: how far the token's clock
/// really is; dashed: what the verifier (first policy) has learned.
fn drift_over_years(report: &Report, path: &Path) -> Result<(), String> {
    let step = |kind: Kind| kind.step_secs().unwrap_or(60) as f64;
    let lines: Vec<(String, Points, Points)> = report
        .sampled_tokens
        .iter()
        .map(|t| {
            let s = step(t.kind);
            let true_steps = t
                .weeks
                .iter()
                .map(|&(day, ms, _)| (f64::from(day) / 365.0, ms as f64 / 1_000.0 / s))
                .collect();
            let learned = t
                .weeks
                .iter()
                .map(|&(day, _, learned)| (f64::from(day) / 365.0, learned as f64))
                .collect();
            let name = format!("{} {} {:+.1} ppm", t.serial, t.kind.name(), t.ppm);
            (name, true_steps, learned)
        })
        .collect();
    let all = || {
        lines
            .iter()
            .flat_map(|(_, a, b)| a.iter().chain(b.iter()).map(|p| p.1))
    };
    let y_hi = all().fold(1.0f64, f64::max) + 0.5;
    let y_lo = all().fold(-1.0f64, f64::min) - 0.5;
    let years = f64::from(report.fleet.years);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let first = report.policies.first().map_or(String::new(), |p| {
        format!(
            "±{} steps, learning {}",
            p.time_window,
            if p.learn_drift { "on" } else { "off" }
        )
    });
    let caption = if lines.is_empty() {
        "drift: no time token was sampled (none in the fleet, or --sample-tokens 0)".to_owned()
    } else {
        format!("drift of sampled time tokens (solid: true, dashed: learned under {first})")
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, (FONT, 18))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..years, y_lo..y_hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("years since first use")
        .y_desc("token clock − true time (steps)")
        .y_label_formatter(&|y| format!("{y:.1}"))
        .light_line_style(WHITE)
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, true_steps, learned)) in lines.iter().enumerate() {
        let colour = pick(i);
        chart
            .draw_series(LineSeries::new(
                true_steps.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(DashedLineSeries::new(
                learned.iter().copied(),
                6,
                4,
                colour.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
    }
    if lines.is_empty() {
        return root.present().map_err(|e| e.to_string());
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// x: guessing risk per lockout (log); y: desync per 1,000 logins; a
/// point per policy and kind, labelled with its window and learning.
fn risk_against_usability(report: &Report, path: &Path) -> Result<(), String> {
    let mut points: Vec<(f64, f64, String, usize)> = Vec::new();
    let all: Vec<(f64, f64, String, usize)> = report
        .policies
        .iter()
        .flat_map(|p| {
            p.kinds.iter().map(move |k| {
                let short = match k.kind.step_secs() {
                    Some(_) => format!(
                        "±{} {} lock {}",
                        p.time_window,
                        if p.learn_drift { "learn" } else { "fixed" },
                        p.max_failures
                    ),
                    None => format!("ahead {} lock {}", p.event_window, p.max_failures),
                };
                let slot = Kind::ALL.iter().position(|&x| x == k.kind).unwrap_or(0);
                (
                    k.guess_risk.max(1e-9),
                    k.desync_per_1000_logins,
                    short,
                    slot,
                )
            })
        })
        .collect();
    // Policies that land on the same point share one label.
    for (x, y, short, slot) in all {
        match points
            .iter_mut()
            .find(|p| p.0 == x && p.1 == y && p.3 == slot)
        {
            Some(p) if !p.2.split(" / ").any(|s| s == short) => {
                p.2 = format!("{} / {short}", p.2);
            }
            Some(_) => {}
            None => points.push((x, y, short, slot)),
        }
    }
    let x_lo = points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x_hi = points.iter().map(|p| p.0).fold(0.0f64, f64::max);
    let (x_lo, x_hi) = if x_lo.is_finite() {
        (x_lo / 3.0, x_hi * 3.0)
    } else {
        (1e-7, 1e-2)
    };
    let y_max = top(points.iter().map(|p| p.1));
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "guessing risk against usability, a point per policy and kind",
            (FONT, 22),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), 0.0..y_max)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("chance an attacker guesses a code before lockout (RFC 4226 §6)")
        .y_desc("desync per 1,000 logins")
        .x_label_formatter(&|x| format!("{x:.0e}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .draw()
        .map_err(|e| e.to_string())?;
    for (slot, kind) in Kind::ALL.iter().enumerate() {
        let mine: Vec<&(f64, f64, String, usize)> = points.iter().filter(|p| p.3 == slot).collect();
        if mine.is_empty() {
            continue;
        }
        let colour = pick(slot);
        // Each point with its label just above and to the right of it.
        chart
            .draw_series(mine.iter().map(|p| {
                EmptyElement::at((p.0, p.1))
                    + Circle::new((0, 0), 5, colour.filled())
                    + Text::new(p.2.clone(), (8, -16), (FONT, 12).into_font())
            }))
            .map_err(|e| e.to_string())?
            .label(kind.name())
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 15))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
