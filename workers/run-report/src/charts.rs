//! The report's charts, drawn with plotters' SVG backend into strings (inline SVG: no script,
//! no font file, readable offline). Each series has its own colour, so a test can find it.

use chrono::NaiveDate;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::model::{DailySeries, Folds, HistoryPoint};

pub const WIDTH: u32 = 760;
pub const HEIGHT: u32 = 300;

/// Series colours (as the SVG writes them).
pub const TOTAL: RGBColor = RGBColor(0x1F, 0x77, 0xB4);
pub const NEW: RGBColor = RGBColor(0xFF, 0x7F, 0x0E);
pub const BASELINE: RGBColor = RGBColor(0x7F, 0x7F, 0x7F);
pub const NEW_MEAN: RGBColor = RGBColor(0x94, 0x67, 0xBD);
pub const ACTUAL: RGBColor = RGBColor(0x33, 0x33, 0x33);
pub const FOLD_PALETTE: [RGBColor; 6] = [
    RGBColor(0x1F, 0x77, 0xB4),
    RGBColor(0x2C, 0xA0, 0x2C),
    RGBColor(0xD6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xBD),
    RGBColor(0x8C, 0x56, 0x4B),
    RGBColor(0xE3, 0x77, 0xC2),
];
pub const DEPLOYED: RGBColor = RGBColor(0x2C, 0xA0, 0x2C);
pub const REJECTED: RGBColor = RGBColor(0xD6, 0x27, 0x28);
pub const OTHER: RGBColor = RGBColor(0xFF, 0x7F, 0x0E);
pub const TREND: RGBColor = RGBColor(0xAA, 0xAA, 0xAA);
pub const THRESHOLD: RGBColor = RGBColor(0x8C, 0x56, 0x4B);

/// `#RRGGBB` as the SVG backend writes a colour.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

fn day_number(d: NaiveDate) -> f64 {
    f64::from(chrono::Datelike::num_days_from_ce(&d))
}

fn day_label(x: &f64) -> String {
    NaiveDate::from_num_days_from_ce_opt(x.round() as i32)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// A range with room around it (a single value still gets a width).
fn padded(lo: f64, hi: f64, floor_zero: bool) -> std::ops::Range<f64> {
    let span = (hi - lo).abs().max(1.0);
    let lo = if floor_zero {
        0f64.min(lo)
    } else {
        lo - span * 0.05
    };
    lo..hi + span * 0.08
}

type Drawn = Result<String, String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("the chart could not be drawn: {e}")
}

/// Tickets, in whole numbers.
fn whole(y: &f64) -> String {
    format!("{y:.0}")
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The axes of one chart: its ranges, how many x labels and how they read, the y axis's name.
struct Frame<'f> {
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_labels: usize,
    x_label: &'f dyn Fn(&f64) -> String,
    y_desc: &'f str,
    /// How y values read; None: as plotters writes them (fractional steps stay visible).
    y_label: Option<&'f dyn Fn(&f64) -> String>,
}

/// One chart as an SVG string: the white canvas, margins, label areas and mesh every chart
/// shares, then `series` drawn into it.
fn draw(frame: Frame, series: impl FnOnce(&mut Chart) -> Result<(), String>) -> Drawn {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(frame.x, frame.y)
            .map_err(err)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(frame.x_labels)
            .x_label_formatter(frame.x_label)
            .y_desc(frame.y_desc);
        if let Some(y_label) = frame.y_label {
            mesh.y_label_formatter(y_label);
        }
        mesh.draw().map_err(err)?;
        series(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Tickets a day: every day of the training data (line), the days with tickets from new files
/// (points), the drift baseline and the new files' mean (flat lines).
pub fn daily(series: &DailySeries) -> Drawn {
    let (first, last) = match (series.days.first(), series.days.last()) {
        (Some(f), Some(l)) => (day_number(f.day), day_number(l.day)),
        _ => return Err("no days to draw".into()),
    };
    let top = series
        .days
        .iter()
        .map(|d| d.total() as f64)
        .chain(series.baseline_mean)
        .chain(series.new_mean)
        .fold(0.0, f64::max);
    let frame = Frame {
        x: padded(first, last, false),
        y: padded(0.0, top, true),
        x_labels: 6,
        x_label: &day_label,
        y_desc: "tickets a day",
        y_label: Some(&whole),
    };
    draw(frame, |chart| {
        chart
            .draw_series(LineSeries::new(
                series
                    .days
                    .iter()
                    .map(|d| (day_number(d.day), d.total() as f64)),
                TOTAL.stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series(
                series
                    .days
                    .iter()
                    .filter(|d| d.new > 0)
                    .map(|d| Circle::new((day_number(d.day), d.total() as f64), 3, NEW.filled())),
            )
            .map_err(err)?;
        for (mean, colour) in [
            (series.baseline_mean, BASELINE),
            (series.new_mean, NEW_MEAN),
        ] {
            if let Some(m) = mean {
                chart
                    .draw_series(LineSeries::new(
                        [(first, m), (last, m)],
                        colour.stroke_width(2),
                    ))
                    .map_err(err)?;
            }
        }
        Ok(())
    })
}

/// The fold's colour: folds in the order they first appear.
pub fn fold_colour(index: usize) -> RGBColor {
    FOLD_PALETTE[index % FOLD_PALETTE.len()]
}

/// The distinct folds in order.
pub fn fold_names(folds: &Folds) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for p in &folds.points {
        if !names.contains(&p.fold.as_str()) {
            names.push(&p.fold);
        }
    }
    names
}

/// Forecast (a line per fold, in the fold's colour) against the actuals (points).
pub fn folds(folds: &Folds) -> Drawn {
    let dates = folds.points.iter().map(|p| day_number(p.date));
    let (first, last) = dates.fold((f64::MAX, f64::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
    if folds.points.is_empty() {
        return Err("no predictions to draw".into());
    }
    let values = folds.points.iter().flat_map(|p| [p.actual, p.forecast]);
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let frame = Frame {
        x: padded(first, last, false),
        y: padded(lo.min(0.0), hi, true),
        x_labels: 6,
        x_label: &day_label,
        y_desc: "tickets a day",
        y_label: Some(&whole),
    };
    draw(frame, |chart| {
        for (i, name) in fold_names(folds).into_iter().enumerate() {
            let points = folds.points.iter().filter(|p| p.fold == name);
            chart
                .draw_series(LineSeries::new(
                    points.clone().map(|p| (day_number(p.date), p.forecast)),
                    fold_colour(i).stroke_width(2),
                ))
                .map_err(err)?;
            chart
                .draw_series(
                    points.map(|p| Circle::new((day_number(p.date), p.actual), 2, ACTUAL.filled())),
                )
                .map_err(err)?;
        }
        Ok(())
    })
}

pub fn decision_colour(decision: &str) -> RGBColor {
    match decision {
        "deployed" => DEPLOYED,
        "rejected" => REJECTED,
        _ => OTHER,
    }
}

/// MAPE of each version with a known MAPE (points in the decision's colour, this run's larger),
/// joined by a line, and this run's threshold.
pub fn history(points: &[HistoryPoint], threshold: f64) -> Drawn {
    let known: Vec<(&HistoryPoint, f64)> = points
        .iter()
        .filter_map(|p| p.mape.map(|m| (p, m)))
        .collect();
    if known.is_empty() {
        return Err("no version with a known MAPE".into());
    }
    let (first, last) = known.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (p, _)| {
        (lo.min(p.version as f64), hi.max(p.version as f64))
    });
    let top = known.iter().map(|(_, m)| *m).fold(threshold, f64::max);
    let frame = Frame {
        x: padded(first - 0.5, last + 0.5, false),
        y: padded(0.0, top, true),
        x_labels: known.len().min(12),
        x_label: &|x| format!("v{}", x.round() as i64),
        y_desc: "MAPE %",
        y_label: None,
    };
    draw(frame, |chart| {
        chart
            .draw_series(LineSeries::new(
                known.iter().map(|(p, m)| (p.version as f64, *m)),
                TREND.stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                [(first - 0.5, threshold), (last + 0.5, threshold)],
                THRESHOLD.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(known.iter().map(|(p, m)| {
                let size = if p.this_run { 6 } else { 4 };
                Circle::new(
                    (p.version as f64, *m),
                    size,
                    decision_colour(&p.decision).filled(),
                )
            }))
            .map_err(err)?;
        Ok(())
    })
}
