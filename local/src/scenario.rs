//! Sample ticket data: one row per ticket with a `created_date`, weekly and yearly seasonality,
//! a slow trend, holidays and noise. Deterministic for a seed. Scenarios decide which files
//! land in `bronze/` and what a previous run left behind.

use chrono::{Datelike, Duration, NaiveDate};

/// Mean tickets a day before seasonality.
const BASE: f64 = 200.0;
/// Volume multiplier after a regime change (a product launch, an outage): no model trained on
/// three weeks of it forecasts it within 20 %.
pub const REGIME_FACTOR: f64 = 2.2;
/// Volume multiplier of `serving-drift`'s level shift (a new customer segment): the serving
/// model, trained before it, misses its four weeks by 26 %; the reference model trained on them
/// backtests at 17.4 % (at 1.3x: 20.3 and 17.4; three weeks of 1.4x: 22.3 % backtest, rejected).
pub const DRIFT_FACTOR: f64 = 1.4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A normal week: no drift, a good fit: deploys.
    Normal,
    /// Volume jumps: data drift alert, MAPE over 20: rejected, the old model keeps serving.
    RegimeChange,
    /// Nothing new since the last training: skipped.
    NoNewData,
    /// A new lake with a month of data: MAPE unknown: registered for manual approval.
    ShortHistory,
    /// A normal week, but its files come as they do from several exports: header case and
    /// spaces, a byte-order mark, CRLF, timestamps with and without a zone, a few bad rows and
    /// an empty file. StartTraining counts what it can and alerts on data quality.
    MessyFiles,
    /// A normal week whose new model passes the gate but answers forecasts outside the serving
    /// contract (the reference trainer told to break it): the canary fails it while it bakes,
    /// the rollback alarm returns the endpoint to the earlier model, the run fails with an alert.
    BrokenModel,
    /// A normal week whose new model passes the gate (about 15 %) but is worse than the model
    /// serving on the same days (the reference trainer told to bias its forecasts 1.15x): it is
    /// registered for manual approval and the serving model stays.
    WorseChallenger,
    /// Four weeks after a 1.4x level shift the serving model did not see: its live MAPE goes
    /// over the threshold (ServingModelDriftAlarm, the drift alert); the new model, trained on
    /// them, passes the gate, beats it on the same days and deploys.
    ServingDrift,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::Normal,
        Scenario::RegimeChange,
        Scenario::NoNewData,
        Scenario::ShortHistory,
        Scenario::MessyFiles,
        Scenario::BrokenModel,
        Scenario::WorseChallenger,
        Scenario::ServingDrift,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Normal => "normal",
            Scenario::RegimeChange => "regime-change",
            Scenario::NoNewData => "no-new-data",
            Scenario::ShortHistory => "short-history",
            Scenario::MessyFiles => "messy-files",
            Scenario::BrokenModel => "broken-model",
            Scenario::WorseChallenger => "worse-challenger",
            Scenario::ServingDrift => "serving-drift",
        }
    }

    /// The environment the scenario's training jobs get beyond the pipeline's (the reference
    /// trainer's fault switch).
    pub fn training_env(self) -> Option<(&'static str, &'static str)> {
        match self {
            Scenario::BrokenModel => Some(("REFERENCE_TRAINER_FAULT", "garbage")),
            Scenario::WorseChallenger => Some(("REFERENCE_TRAINER_FAULT", "biased")),
            _ => None,
        }
    }

    /// `command` with the scenario's training environment before it (a shell command line).
    pub fn training_command(self, command: &str) -> String {
        match self.training_env() {
            Some((k, v)) => format!("{k}={v} {command}"),
            None => command.to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// The holidays of the sample data: the support desks' calendar the reference model knows.
fn holiday(d: NaiveDate) -> bool {
    reference_trainer::holidays::is_holiday(d)
}

/// The day the slow trend starts from.
fn trend_origin() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 3).expect("valid date")
}

/// Expected tickets on `d`.
pub fn expected(d: NaiveDate) -> f64 {
    let day_index = (d - trend_origin()).num_days();
    let weekly =
        [1.15, 1.12, 1.06, 1.0, 0.94, 0.55, 0.5][d.weekday().num_days_from_monday() as usize];
    let yearly =
        1.0 + 0.15 * (2.0 * std::f64::consts::PI * (d.ordinal() as f64 - 80.0) / 365.25).sin();
    let trend = 1.0 + 0.0002 * day_index as f64;
    let h = if holiday(d) { 0.35 } else { 1.0 };
    BASE * weekly * yearly * trend * h
}

/// Daily counts from `start` for `days` days; from the shift's day on (`(day, factor)`), volume
/// is multiplied by its factor.
pub fn daily_counts(
    start: NaiveDate,
    days: i64,
    seed: u64,
    shift: Option<(NaiveDate, f64)>,
) -> Vec<(NaiveDate, u32)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..days)
        .map(|i| {
            let d = start + Duration::days(i);
            let mut mean = expected(d);
            if let Some((_, factor)) = shift.filter(|(from, _)| d >= *from) {
                mean *= factor;
            }
            // Multiplicative noise, sd 6% (Box-Muller).
            let z = (-2.0 * rng.f64().max(1e-12).ln()).sqrt()
                * (2.0 * std::f64::consts::PI * rng.f64()).cos();
            let n = (mean * (1.0 + 0.06 * z)).round().max(0.0);
            (d, n as u32)
        })
        .collect()
}

/// One CSV in the users' format: a row per ticket, the header `ticket_id,created_date,channel,
/// priority`, calendar dates (`2024-11-25`): what a trainer written against their exports reads.
pub fn csv(days: &[(NaiveDate, u32)], seed: u64) -> String {
    rows(
        days,
        seed,
        "ticket_id,created_date,channel,priority",
        "\n",
        |d, _| d.to_string(),
    )
}

/// The same tickets as exports of another system write them: `variant` picks the header style
/// (case, spaces, a byte-order mark), line endings and timestamps (naive, `Z`, US dates).
pub fn messy_csv(days: &[(NaiveDate, u32)], variant: usize, seed: u64) -> String {
    let headers = [
        "Ticket ID,Created Date,Channel,Priority",
        "\u{feff}id, CREATED_DATE ,channel,priority",
        "ticket-id,created-date,channel,priority",
    ];
    let eol = if variant.is_multiple_of(2) {
        "\r\n"
    } else {
        "\n"
    };
    rows(
        days,
        seed,
        headers[variant % headers.len()],
        eol,
        |d, (h, m, s)| match variant % 3 {
            0 => format!("{d} {h:02}:{m:02}:{s:02}"),
            1 => format!("{d}T{h:02}:{m:02}:{s:02}Z"),
            _ => d.format("%m/%d/%Y").to_string(),
        },
    )
}

fn rows(
    days: &[(NaiveDate, u32)],
    seed: u64,
    header: &str,
    eol: &str,
    stamp: impl Fn(NaiveDate, (u32, u32, u32)) -> String,
) -> String {
    let channels = ["email", "chat", "phone", "web"];
    let priorities = ["low", "normal", "high"];
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out =
        String::with_capacity(days.iter().map(|(_, n)| *n as usize * 48).sum::<usize>() + 64);
    out.push_str(header);
    out.push_str(eol);
    let mut id = seed * 1_000_000;
    for (d, n) in days {
        for _ in 0..*n {
            id += 1;
            let time = (rng.u32(7..22), rng.u32(0..60), rng.u32(0..60));
            out.push_str(&format!(
                "{id},{},{},{}{eol}",
                stamp(*d, time),
                channels[rng.usize(..channels.len())],
                priorities[rng.usize(..priorities.len())]
            ));
        }
    }
    out
}

/// Split a series into weekly files in the users' format: (key, csv).
pub fn weekly_files(series: &[(NaiveDate, u32)], seed: u64) -> Vec<(String, String)> {
    series
        .chunks(7)
        .enumerate()
        .map(|(i, week)| {
            let first = week[0].0;
            (
                format!("bronze/tickets-{first}.csv"),
                csv(week, seed + i as u64),
            )
        })
        .collect()
}

/// A week as `messy-files` brings it: a file per day in rotating export styles, one with a few
/// bad rows, and an empty export. (key, csv)
pub fn messy_week(week: &[(NaiveDate, u32)], seed: u64) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = week
        .iter()
        .enumerate()
        .map(|(i, day)| {
            (
                format!("bronze/export-{}.csv", day.0),
                messy_csv(std::slice::from_ref(day), i, seed + i as u64),
            )
        })
        .collect();
    if let Some((_, text)) = files.last_mut() {
        text.push_str("999999999,not a date,email,low\n999999998,,chat,high\n");
    }
    files.push((
        format!("bronze/export-{}-empty.csv", week[0].0),
        String::new(),
    ));
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;
    use retrain_core::tickets::count_daily;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_series_has_weekly_seasonality_and_holidays() {
        let s = daily_counts(d("2025-01-06"), 364, 1, None);
        let mean = |wd: Weekday| {
            let v: Vec<f64> = s
                .iter()
                .filter(|(d, _)| d.weekday() == wd && !holiday(*d))
                .map(|(_, n)| *n as f64)
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean(Weekday::Mon) > 1.8 * mean(Weekday::Sun));
        let xmas = s
            .iter()
            .find(|(d, _)| d.month() == 12 && d.day() == 25)
            .unwrap()
            .1 as f64;
        assert!(xmas < 0.6 * expected(d("2025-12-25")) / 0.35);
        assert_eq!(
            s,
            daily_counts(d("2025-01-06"), 364, 1, None),
            "deterministic"
        );
    }

    fn window() -> retrain_core::tickets::DateWindow {
        retrain_core::tickets::DateWindow {
            earliest: d("2000-01-01"),
            latest: d("2100-01-01"),
        }
    }

    #[test]
    fn csv_files_count_back_to_the_series() {
        let s = daily_counts(d("2026-01-05"), 14, 3, None);
        for (i, (_, text)) in weekly_files(&s, 9).iter().enumerate() {
            // The users' format: the header lower-and-strip maps exactly, calendar dates.
            let first = text.lines().nth(1).unwrap();
            assert_eq!(
                text.lines().next(),
                Some("ticket_id,created_date,channel,priority")
            );
            assert_eq!(first.split(',').nth(1).unwrap().len(), 10, "{first}");
            let counts = count_daily(text.as_bytes(), window()).unwrap().counts;
            assert_eq!(counts.bad_rows, 0, "file {i}");
            let week: u64 = s[i * 7..i * 7 + 7].iter().map(|(_, n)| *n as u64).sum();
            assert_eq!(counts.rows, week);
        }
    }

    #[test]
    fn messy_files_hold_the_same_tickets_and_their_stated_defects() {
        let s = daily_counts(d("2026-01-05"), 7, 3, None);
        let files = messy_week(&s, 9);
        assert_eq!(files.len(), 8);
        let mut rows = 0;
        let mut bad = 0;
        for (key, text) in &files {
            match count_daily(text.as_bytes(), window()) {
                Ok(scan) => {
                    rows += scan.counts.rows;
                    bad += scan.counts.bad_rows;
                }
                Err(e) => assert!(
                    key.ends_with("-empty.csv") && e.contains("empty"),
                    "{key}: {e}"
                ),
            }
        }
        assert_eq!(rows, s.iter().map(|(_, n)| *n as u64).sum::<u64>());
        assert_eq!(bad, 2);
        assert!(files.iter().any(|(_, t)| t.starts_with('\u{feff}')));
        assert!(files.iter().any(|(_, t)| t.contains("\r\n")));
    }

    #[test]
    fn a_regime_change_multiplies_volume() {
        let before = daily_counts(d("2026-01-05"), 28, 3, None);
        let after = daily_counts(
            d("2026-01-05"),
            28,
            3,
            Some((d("2026-01-19"), REGIME_FACTOR)),
        );
        let sum = |v: &[(NaiveDate, u32)]| v.iter().map(|(_, n)| *n as f64).sum::<f64>();
        let ratio = sum(&after[14..]) / sum(&before[14..]);
        assert!((ratio - REGIME_FACTOR).abs() < 0.05, "{ratio}");
        assert_eq!(&after[..14], &before[..14]);
    }
}
