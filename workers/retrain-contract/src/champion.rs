//! Champion and challenger: the new model against the serving one, on the same days.
//!
//! The serving model's live forecasts of the new days (StartTraining's `run.data.live`) and the
//! new model's backtest forecasts of those days (its `predictions.csv`, the fold that covers
//! each) are scored against the same tickets. The new model deploys only if it is not worse by
//! more than the margin; with too few common days there is no comparison and the MAPE gate alone
//! decides.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::live::LiveAccuracy;

/// Percentage points the new model may be worse than the serving one and still replace it. Two
/// equally good models differ by the rounding of their forecasts to whole tickets (0.04 points
/// on the normal week's 7 days); a model worse by 1 point a day on ~300 tickets is a model that
/// misses 3 tickets a day more. The regime change's new model (29.8 % against 53.0 %) and the
/// worse challenger (about 3x the serving model's error) are far from it either way.
pub const DEFAULT_MARGIN: f64 = 1.0;
/// Fewer common days with tickets than this and there is no comparison (one week: the horizon
/// the backtest scores).
pub const MIN_COMMON_DAYS: usize = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Within the margin of the serving model, or better: the MAPE gate decides.
    NotWorse,
    /// Worse than the serving model by more than the margin: it does not replace it.
    Worse,
    /// Nothing to compare (no serving model measured, no predictions, too few common days):
    /// the MAPE gate alone decides, as the seed specifies.
    NoComparison,
}

/// One common day: the tickets, the serving model's forecast, the new model's (whole tickets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChampionDay {
    pub date: NaiveDate,
    pub actual: u64,
    pub serving: u64,
    pub challenger: u64,
}

/// The comparison, as EvaluateMape writes it to `$.evaluation.champion` (the state machine's
/// MapeGate reads `verdict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChampionCheck {
    pub verdict: Verdict,
    /// The endpoint config (version) that served the live forecasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_model: Option<String>,
    pub serving_mape: Option<f64>,
    pub challenger_mape: Option<f64>,
    /// Percentage points.
    pub margin: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<ChampionDay>,
    /// The verdict in a sentence, for the alert, the log and the report.
    pub reason: String,
}

impl ChampionCheck {
    pub fn none(margin: f64, reason: impl Into<String>) -> Self {
        ChampionCheck {
            verdict: Verdict::NoComparison,
            serving_model: None,
            serving_mape: None,
            challenger_mape: None,
            margin,
            days: Vec::new(),
            reason: reason.into(),
        }
    }

    /// The first and last common day.
    pub fn span(&self) -> Option<(NaiveDate, NaiveDate)> {
        Some((self.days.first()?.date, self.days.last()?.date))
    }
}

/// Compare the new model's backtest forecasts (`challenger`: by day, or why there are none) with
/// the serving model's live forecasts, on the days both forecast that had tickets.
pub fn compare(
    live: Option<&LiveAccuracy>,
    challenger: Result<&BTreeMap<NaiveDate, f64>, &str>,
    margin: f64,
) -> ChampionCheck {
    let Some(live) = live else {
        return ChampionCheck::none(margin, "the serving model was not measured on new days");
    };
    if live.days.is_empty() {
        let why = live.unknown_reason.as_deref().unwrap_or("no days measured");
        let mut c = ChampionCheck::none(
            margin,
            format!("the serving model's live forecasts are unknown: {why}"),
        );
        c.serving_model = live.model.clone();
        return c;
    }
    let challenger = match challenger {
        Ok(c) => c,
        Err(why) => {
            let mut c = ChampionCheck::none(
                margin,
                format!("the new model's backtest forecasts are unknown: {why}"),
            );
            c.serving_model = live.model.clone();
            return c;
        }
    };
    let days: Vec<ChampionDay> = live
        .days
        .iter()
        .filter(|d| d.actual > 0)
        .filter_map(|d| {
            let f = challenger.get(&d.date)?;
            Some(ChampionDay {
                date: d.date,
                actual: d.actual,
                serving: d.forecast,
                // Whole tickets, as the serving contract answers: equal models compare equal.
                challenger: if f.is_finite() {
                    f.round().max(0.0) as u64
                } else {
                    return None;
                },
            })
        })
        .collect();
    let mut check = ChampionCheck {
        verdict: Verdict::NoComparison,
        serving_model: live.model.clone(),
        serving_mape: None,
        challenger_mape: None,
        margin,
        reason: String::new(),
        days,
    };
    if check.days.len() < MIN_COMMON_DAYS {
        check.reason = format!(
            "{} days with tickets both models forecast; at least {MIN_COMMON_DAYS} are needed",
            check.days.len()
        );
        return check;
    }
    let serving = mape(&check.days, |d| d.serving);
    let new = mape(&check.days, |d| d.challenger);
    let (first, last) = check.span().expect("at least MIN_COMMON_DAYS days");
    let n = check.days.len();
    // On the MAPEs as reported (2 decimals), so "exactly the margin" is not lost to floats.
    let worse = round2(new) - round2(serving) > margin + 1e-9;
    check.verdict = if worse {
        Verdict::Worse
    } else {
        Verdict::NotWorse
    };
    check.reason = format!(
        "on the {n} days {first} to {last} the new model's MAPE is {new:.2} %, the serving model's {serving:.2} %: {}",
        if worse {
            format!("worse by more than the margin ({})", margin_points(margin))
        } else {
            format!("not worse by more than the margin ({})", margin_points(margin))
        }
    );
    check.serving_mape = Some(round2(serving));
    check.challenger_mape = Some(round2(new));
    check
}

fn mape(days: &[ChampionDay], forecast: impl Fn(&ChampionDay) -> u64) -> f64 {
    let sum: f64 = days
        .iter()
        .map(|d| (d.actual as f64 - forecast(d) as f64).abs() / d.actual as f64)
        .sum();
    100.0 * sum / days.len() as f64
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The margin as people write it: "1 point", "0.5 points" (percentage points of MAPE).
pub fn margin_points(margin: f64) -> String {
    if margin == 1.0 {
        "1 point".into()
    } else {
        format!("{margin} points")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(i: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 2).unwrap() + chrono::Duration::days(i)
    }

    /// A serving model that forecast `serving` for 10 days of 100 tickets (day 3 had none).
    fn live(serving: u64) -> LiveAccuracy {
        let mut actuals = BTreeMap::new();
        for i in 0..10 {
            actuals.insert(day(i), if i == 3 { 0 } else { 100 });
        }
        let answer: Vec<crate::serving::ForecastDay> = (0..10)
            .map(|i| crate::serving::ForecastDay {
                day: i as u32 + 1,
                date: day(i),
                forecast_ticket_count: serving,
                lower_bound: 0,
                upper_bound: serving * 2,
            })
            .collect();
        LiveAccuracy::measured("ep", "ep-config-v1".into(), 20.0, &actuals, &answer)
    }

    fn challenger(f: f64, days: i64) -> BTreeMap<NaiveDate, f64> {
        (0..days).map(|i| (day(i), f)).collect()
    }

    #[test]
    fn worse_by_more_than_the_margin_is_worse() {
        // Serving 5 % off, challenger 8 % off on the 9 days with tickets.
        let c = compare(Some(&live(95)), Ok(&challenger(108.0, 10)), 1.0);
        assert_eq!(c.verdict, Verdict::Worse, "{}", c.reason);
        assert_eq!(c.serving_mape, Some(5.0));
        assert_eq!(c.challenger_mape, Some(8.0));
        assert_eq!(c.days.len(), 9, "the day without tickets is left out");
        assert_eq!(c.serving_model.as_deref(), Some("ep-config-v1"));
        assert!(
            c.reason.contains("2026-11-02 to 2026-11-11"),
            "{}",
            c.reason
        );
        // The same within a 3-point margin is not worse.
        let c = compare(Some(&live(95)), Ok(&challenger(108.0, 10)), 3.0);
        assert_eq!(c.verdict, Verdict::NotWorse, "{}", c.reason);
    }

    #[test]
    fn equal_or_better_is_not_worse_and_the_margin_is_inclusive() {
        let c = compare(Some(&live(95)), Ok(&challenger(99.0, 10)), 0.0);
        assert_eq!(c.verdict, Verdict::NotWorse);
        // Exactly the margin worse: not worse "by more than" it. Rounding to whole tickets makes
        // 94.6 and 95 the same forecast.
        let c = compare(Some(&live(95)), Ok(&challenger(106.0, 10)), 1.0);
        assert_eq!(c.verdict, Verdict::NotWorse, "{}", c.reason);
        let c = compare(Some(&live(95)), Ok(&challenger(94.6, 10)), 0.0);
        assert_eq!(c.challenger_mape, c.serving_mape);
        assert_eq!(c.verdict, Verdict::NotWorse);
    }

    #[test]
    fn too_few_common_days_is_no_comparison() {
        // The challenger's folds cover only 7 of the days, one of them without tickets: 6.
        let c = compare(Some(&live(95)), Ok(&challenger(300.0, 7)), 1.0);
        assert_eq!(c.verdict, Verdict::NoComparison);
        assert!(c.reason.contains("6 days"), "{}", c.reason);
        assert_eq!(c.serving_mape, None);
        let c = compare(Some(&live(95)), Ok(&challenger(300.0, 8)), 1.0);
        assert_eq!(c.verdict, Verdict::Worse);
    }

    #[test]
    fn nothing_to_compare_says_why() {
        let c = compare(None, Ok(&challenger(100.0, 10)), 1.0);
        assert_eq!(c.verdict, Verdict::NoComparison);
        assert!(c.reason.contains("not measured"), "{}", c.reason);
        let unknown = LiveAccuracy::unknown("ep", None, 20.0, "no endpoint".into());
        let c = compare(Some(&unknown), Ok(&challenger(100.0, 10)), 1.0);
        assert!(c.reason.ends_with("no endpoint"), "{}", c.reason);
        let c = compare(
            Some(&live(95)),
            Err("the trainer wrote no predictions.csv"),
            1.0,
        );
        assert_eq!(c.verdict, Verdict::NoComparison);
        assert!(c.reason.contains("no predictions.csv"), "{}", c.reason);
        let mut nan = challenger(f64::NAN, 10);
        nan.insert(day(0), 100.0);
        let c = compare(Some(&live(95)), Ok(&nan), 1.0);
        assert_eq!(
            c.verdict,
            Verdict::NoComparison,
            "NaN forecasts are not days"
        );
    }

    #[test]
    fn serialises_the_verdict_the_state_machine_reads() {
        let c = compare(Some(&live(95)), Ok(&challenger(120.0, 10)), 1.0);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["verdict"], "worse");
        let none = serde_json::to_value(ChampionCheck::none(1.0, "x")).unwrap();
        assert_eq!(none["verdict"], "no_comparison");
        assert!(none.get("days").is_none());
    }
}
