//! Text for people.

use crate::summary::RunSummary;

fn pct(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.2} %"))
        .unwrap_or_else(|| "unknown".into())
}

/// `retrain status`: one field a line.
pub fn status(s: &RunSummary) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| out.push_str(&format!("{k:<14}{v}\n"));
    line("execution", &s.name);
    line("status", &s.status);
    line(
        "started",
        &format!("{} ({})", s.started.as_deref().unwrap_or("?"), s.trigger),
    );
    if let Some(t) = &s.stopped {
        line("ended", t);
    }
    if let Some(st) = &s.state {
        let verb = if s.status == "RUNNING" {
            "in"
        } else {
            "ended at"
        };
        line("state", &format!("{verb} {st}"));
    }
    line(
        "MAPE",
        &format!("{} (threshold {})", pct(s.mape), pct(s.threshold)),
    );
    line("decision", &s.decision);
    if let Some(r) = &s.reason {
        line("reason", r);
    }
    if let Some(m) = &s.serving_model {
        line("serving", m);
    }
    line(
        "alerts",
        &if s.alerts.is_empty() {
            "none".to_string()
        } else {
            s.alerts.join("; ")
        },
    );
    if let Some(e) = &s.error {
        line("error", e);
    }
    if let Some(c) = &s.cause {
        line("cause", c);
    }
    if s.redrive_count > 0 {
        line("redriven", &format!("{} time(s)", s.redrive_count));
    }
    out
}

/// `retrain runs`: one line per execution.
pub fn runs(all: &[RunSummary]) -> String {
    let mut out = format!(
        "{:<21} {:<9} {:<10} {:>9}  {:<12} {}\n",
        "started", "trigger", "status", "MAPE", "decision", "execution"
    );
    for s in all {
        out.push_str(&format!(
            "{:<21} {:<9} {:<10} {:>9}  {:<12} {}\n",
            s.started.as_deref().unwrap_or("?"),
            s.trigger,
            s.status,
            s.mape
                .map(|m| format!("{m:.2} %"))
                .unwrap_or_else(|| "-".into()),
            s.decision,
            s.name
        ));
    }
    out
}
