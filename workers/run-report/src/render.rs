//! The page: one self-contained HTML document (inline CSS and SVG, no script, no external
//! resource), so it reads offline, from S3, and from an e-mail link alike.

use std::fmt::Write;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::charts::{self, hex};
use crate::model::{DailySeries, Decision, Folds, HistoryPoint, Report, StateSpan};

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;padding:0 1rem;max-width:800px;color:#222;line-height:1.4}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:.9rem;display:block;overflow-x:auto;max-width:100%}td,th{padding:.2rem .6rem;text-align:left;border-bottom:1px solid #eee}\
th{color:#555;font-weight:600;white-space:nowrap}td{overflow-wrap:anywhere}.num{text-align:right;font-variant-numeric:tabular-nums}\
.badge{display:inline-block;padding:.1rem .6rem;border-radius:.8rem;color:#fff;font-weight:600}\
.missing{color:#8a4b00;background:#fff4e5;padding:.4rem .6rem;border-radius:.3rem}\
.key{display:inline-block;width:.8rem;height:.8rem;border-radius:.4rem;margin:0 .3rem 0 .8rem;vertical-align:middle}\
figure{margin:0}svg{max-width:100%;height:auto}";

fn pct(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.2} %"))
        .unwrap_or_else(|| "unknown".into())
}

fn num(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.1}")).unwrap_or_else(|| "-".into())
}

fn badge_colour(d: Decision) -> String {
    hex(match d {
        Decision::Deployed => charts::DEPLOYED,
        Decision::Rejected => charts::REJECTED,
        _ => charts::OTHER,
    })
}

fn key(colour: plotters::style::RGBColor, label: &str) -> String {
    format!(
        "<span class=\"key\" style=\"background:{}\"></span>{}",
        hex(colour),
        text(label)
    )
}

fn missing(what: &str, why: &str) -> String {
    format!(
        "<p class=\"missing\" data-missing=\"{}\">Not drawn: {}</p>\n",
        attr(what),
        text(why)
    )
}

/// A chart in its figure: `data-chart` names it, `data-points` says how many data points it
/// draws (the tests count them in the SVG).
fn figure(name: &str, points: usize, drawn: Result<String, String>, legend: &str) -> String {
    match drawn {
        Ok(svg) => format!(
            "<figure class=\"chart\" data-chart=\"{name}\" data-points=\"{points}\">\n{svg}\n<figcaption>{legend}</figcaption></figure>\n"
        ),
        Err(why) => missing(name, &why),
    }
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Run report: {}", r.execution);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        text(&title),
        text(&title)
    );
    let _ = writeln!(
        h,
        "<p><span class=\"badge\" style=\"background:{}\" data-field=\"decision\">{}</span> {}</p>",
        badge_colour(r.decision),
        text(r.decision.label()),
        text(&r.reason)
    );
    summary(&mut h, r);
    h.push_str("<h2>Training data: tickets a day</h2>\n");
    match &r.daily {
        Ok(series) => daily(&mut h, series),
        Err(why) => h.push_str(&missing("daily", why)),
    }
    h.push_str("<h2>Cross-validation: forecast against actuals</h2>\n");
    match &r.folds {
        Ok(f) => folds(&mut h, f),
        Err(why) => h.push_str(&missing("folds", why)),
    }
    h.push_str("<h2>MAPE over the weeks</h2>\n");
    match &r.history {
        Ok(points) => history(&mut h, points, r.threshold),
        Err(why) => h.push_str(&missing("history", why)),
    }
    h.push_str("<h2>The execution's states</h2>\n");
    match &r.states {
        Ok(states) => states_table(&mut h, states),
        Err(why) => h.push_str(&missing("states", why)),
    }
    let _ = write!(
        h,
        "<p style=\"color:#777;font-size:.8rem\">Written {} by the retraining pipeline.</p>\n</body>\n</html>\n",
        text(&r.generated_at.to_rfc3339())
    );
    h
}

/// "600 s trained, 180 s billed (managed spot: 70 % saved)".
pub fn billing(b: &retrain_core::payload::TrainingBilling) -> String {
    let how = if b.spot {
        format!("managed spot: {:.0} % saved", b.savings_percent())
    } else {
        "on demand".to_string()
    };
    format!(
        "{} s trained, {} s billed ({how})",
        b.training_seconds, b.billable_seconds
    )
}

fn row(h: &mut String, label: &str, field: &str, value: &str) {
    let _ = writeln!(
        h,
        "<tr><th>{}</th><td data-field=\"{}\">{}</td></tr>",
        text(label),
        attr(field),
        text(value)
    );
}

fn summary(h: &mut String, r: &Report) {
    h.push_str("<table>\n");
    row(h, "MAPE", "mape", &pct(r.mape));
    row(
        h,
        "Threshold",
        "threshold",
        &format!("{:.2} %", r.threshold),
    );
    row(
        h,
        "Plausibility floor",
        "floor",
        &format!("{:.2} %", r.floor),
    );
    row(h, "Training job", "job", r.job.as_deref().unwrap_or("-"));
    if let Some(b) = r.billing {
        row(h, "Training billed", "billing", &billing(&b));
    }
    row(
        h,
        "Model version",
        "version",
        r.version_arn.as_deref().unwrap_or("-"),
    );
    row(h, "Serving before", "serving_before", &r.serving_before);
    row(h, "Serving after", "serving_after", &r.serving_after);
    let alerts = if r.alerts.is_empty() {
        "none".to_string()
    } else {
        r.alerts.join("; ")
    };
    row(h, "Alerts sent", "alerts", &alerts);
    h.push_str("</table>\n");
}

fn daily(h: &mut String, s: &DailySeries) {
    let legend = [
        key(charts::TOTAL, "tickets a day"),
        key(charts::NEW, "days with tickets from new files"),
        if s.baseline_mean.is_some() {
            key(charts::BASELINE, "drift baseline")
        } else {
            String::new()
        },
        if s.new_mean.is_some() {
            key(charts::NEW_MEAN, "new files' mean")
        } else {
            String::new()
        },
    ]
    .concat();
    h.push_str(&figure("daily", s.days.len(), charts::daily(s), &legend));
    h.push_str("<table>\n");
    row(h, "Days", "days", &s.days.len().to_string());
    row(
        h,
        "Files read (new)",
        "files",
        &format!("{} ({})", s.files_read, s.new_files),
    );
    row(
        h,
        "Drift baseline, tickets a day",
        "baseline_mean",
        &num(s.baseline_mean),
    );
    row(
        h,
        "New files' mean, tickets a day",
        "new_mean",
        &num(s.new_mean),
    );
    h.push_str("</table>\n");
    if let Some(partial) = &s.partial {
        h.push_str(&missing("daily-partial", partial));
    }
}

/// Mean absolute percentage error of a fold over its days with tickets.
pub fn fold_mape(f: &Folds, fold: &str) -> Option<f64> {
    let errors: Vec<f64> = f
        .points
        .iter()
        .filter(|p| p.fold == fold && p.actual > 0.0)
        .map(|p| ((p.actual - p.forecast) / p.actual).abs() * 100.0)
        .collect();
    (!errors.is_empty()).then(|| errors.iter().sum::<f64>() / errors.len() as f64)
}

fn folds(h: &mut String, f: &Folds) {
    let names = charts::fold_names(f);
    let legend: String = names
        .iter()
        .enumerate()
        .map(|(i, n)| key(charts::fold_colour(i), &format!("forecast, fold {n}")))
        .chain([key(charts::ACTUAL, "actual")])
        .collect();
    h.push_str(&figure("folds", f.points.len(), charts::folds(f), &legend));
    h.push_str("<table>\n<tr><th>Fold</th><th>From</th><th>To</th><th class=\"num\">Days</th><th class=\"num\">MAPE</th></tr>\n");
    for name in &names {
        let days: Vec<_> = f.points.iter().filter(|p| p.fold == *name).collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            text(name),
            days.first().map(|p| p.date.to_string()).unwrap_or_default(),
            days.last().map(|p| p.date.to_string()).unwrap_or_default(),
            days.len(),
            pct(fold_mape(f, name))
        );
    }
    h.push_str("</table>\n");
    if let Some(bad) = &f.first_bad {
        h.push_str(&missing(
            "folds-bad-rows",
            &format!(
                "{} rows of predictions.csv were left out; {bad}",
                f.bad_rows
            ),
        ));
    }
}

fn history(h: &mut String, points: &[HistoryPoint], threshold: f64) {
    let known = points.iter().filter(|p| p.mape.is_some()).count();
    let legend = [
        key(charts::DEPLOYED, "deployed"),
        key(charts::REJECTED, "rejected"),
        key(charts::OTHER, "other"),
        key(
            charts::THRESHOLD,
            &format!("this run's threshold ({threshold:.2} %)"),
        ),
    ]
    .concat();
    h.push_str(&figure(
        "history",
        known,
        charts::history(points, threshold),
        &legend,
    ));
    h.push_str("<table>\n<tr><th>Version</th><th>Trained</th><th class=\"num\">MAPE</th><th class=\"num\">Threshold</th><th>Decision</th><th>Registry status</th></tr>\n");
    for p in points.iter().rev() {
        let _ = writeln!(
            h,
            "<tr{}><td>v{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            if p.this_run { " data-this-run=\"true\" style=\"font-weight:600\"" } else { "" },
            p.version,
            p.trained_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
            pct(p.mape),
            p.threshold.map(|t| format!("{t:.2} %")).unwrap_or_default(),
            text(&p.decision),
            text(&p.status)
        );
    }
    h.push_str("</table>\n");
}

fn states_table(h: &mut String, states: &[StateSpan]) {
    h.push_str("<table>\n<tr><th>State</th><th>Entered</th><th class=\"num\">Seconds</th><th class=\"num\">Entered times</th></tr>\n");
    for s in states {
        let _ = writeln!(
            h,
            "<tr data-state=\"{}\"><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            attr(&s.name),
            text(&s.name),
            s.entered.format("%Y-%m-%d %H:%M:%S"),
            if s.running {
                format!("{:.1} + running", s.seconds)
            } else {
                format!("{:.1}", s.seconds)
            },
            s.entries
        );
    }
    h.push_str("</table>\n");
}
