//! Live accuracy of the serving model: its forecast of the days the new ticket files cover,
//! against the tickets that arrived on them. The seed's "model drift" in the sense its users
//! mean it: the model in production diverging from reality.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::serving::{ForecastDay, ForecastRequest, MAX_HORIZON_DAYS};

/// Fewer days with tickets than this and the live MAPE is unknown: one week, the horizon the
/// backtest scores, so the two are comparable.
pub const MIN_LIVE_DAYS: usize = 7;

/// One day: the tickets that arrived and what the serving model forecast for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveDay {
    pub date: NaiveDate,
    pub actual: u64,
    pub forecast: u64,
}

/// The serving model measured against the new days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveAccuracy {
    pub endpoint: String,
    /// The endpoint config (the version) that answered; None when none could be asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<LiveDay>,
    /// Percent over the days with tickets; None when unknown (`unknown_reason` says why).
    pub mape: Option<f64>,
    pub threshold: f64,
    /// Known, and at or over the threshold: the serving model has drifted.
    pub drifted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
}

impl LiveAccuracy {
    /// Nothing measured, and why.
    pub fn unknown(endpoint: &str, model: Option<String>, threshold: f64, why: String) -> Self {
        LiveAccuracy {
            endpoint: endpoint.to_string(),
            model,
            days: Vec::new(),
            mape: None,
            threshold,
            drifted: false,
            unknown_reason: Some(why),
        }
    }

    /// The measurement from the forecast `answer` for the days of `actuals`.
    pub fn measured(
        endpoint: &str,
        model: String,
        threshold: f64,
        actuals: &BTreeMap<NaiveDate, u64>,
        answer: &[ForecastDay],
    ) -> Self {
        let forecast: BTreeMap<NaiveDate, u64> = answer
            .iter()
            .map(|d| (d.date, d.forecast_ticket_count))
            .collect();
        let days: Vec<LiveDay> = actuals
            .iter()
            .filter_map(|(date, actual)| {
                forecast.get(date).map(|f| LiveDay {
                    date: *date,
                    actual: *actual,
                    forecast: *f,
                })
            })
            .collect();
        let (mape, why) = live_mape(&days);
        LiveAccuracy {
            endpoint: endpoint.to_string(),
            model: Some(model),
            drifted: mape.is_some_and(|m| m >= threshold),
            days,
            mape,
            threshold,
            unknown_reason: why,
        }
    }

    /// The first and last day measured, for the alert.
    pub fn span(&self) -> Option<(NaiveDate, NaiveDate)> {
        Some((self.days.first()?.date, self.days.last()?.date))
    }
}

/// The request that covers every day of `actuals` (from its first day; at most the contract's
/// longest horizon). None without days.
pub fn live_request(actuals: &BTreeMap<NaiveDate, u64>) -> Option<ForecastRequest> {
    let (first, _) = actuals.first_key_value()?;
    let (last, _) = actuals.last_key_value()?;
    let span = (*last - *first).num_days() + 1;
    Some(ForecastRequest {
        horizon_days: span.clamp(1, MAX_HORIZON_DAYS as i64) as u32,
        start_date: Some(*first),
    })
}

/// MAPE (percent) over the days with tickets, or why it is unknown.
pub fn live_mape(days: &[LiveDay]) -> (Option<f64>, Option<String>) {
    let with_tickets: Vec<&LiveDay> = days.iter().filter(|d| d.actual > 0).collect();
    if with_tickets.len() < MIN_LIVE_DAYS {
        return (
            None,
            Some(format!(
                "{} days with tickets to compare; at least {MIN_LIVE_DAYS} are needed",
                with_tickets.len()
            )),
        );
    }
    let sum: f64 = with_tickets
        .iter()
        .map(|d| (d.actual as f64 - d.forecast as f64).abs() / d.actual as f64)
        .sum();
    (Some(100.0 * sum / with_tickets.len() as f64), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn week(from: &str, counts: &[u64]) -> BTreeMap<NaiveDate, u64> {
        counts
            .iter()
            .enumerate()
            .map(|(i, n)| (d(from) + Duration::days(i as i64), *n))
            .collect()
    }

    fn answer(from: &str, counts: &[u64]) -> Vec<ForecastDay> {
        counts
            .iter()
            .enumerate()
            .map(|(i, n)| ForecastDay {
                day: i as u32 + 1,
                date: d(from) + Duration::days(i as i64),
                forecast_ticket_count: *n,
                lower_bound: 0,
                upper_bound: *n,
            })
            .collect()
    }

    #[test]
    fn the_request_covers_the_new_days_and_the_mape_counts_days_with_tickets() {
        let actuals = week("2026-11-16", &[100, 100, 100, 100, 100, 100, 100, 0]);
        let req = live_request(&actuals).unwrap();
        assert_eq!(
            (req.horizon_days, req.start_date),
            (8, Some(d("2026-11-16")))
        );
        // 10 % off on each day with tickets; the empty day is not divided by.
        let live = LiveAccuracy::measured(
            "ep",
            "v1".into(),
            20.0,
            &actuals,
            &answer("2026-11-16", &[110, 90, 110, 90, 110, 90, 110, 5]),
        );
        assert!((live.mape.unwrap() - 10.0).abs() < 1e-9, "{live:?}");
        assert!(!live.drifted);
        assert_eq!(live.days.len(), 8);
        assert_eq!(live.span(), Some((d("2026-11-16"), d("2026-11-23"))));
    }

    #[test]
    fn at_the_threshold_the_serving_model_has_drifted() {
        let actuals = week("2026-11-16", &[100; 7]);
        let live = LiveAccuracy::measured(
            "ep",
            "v1".into(),
            20.0,
            &actuals,
            &answer("2026-11-16", &[80; 7]),
        );
        assert_eq!(live.mape, Some(20.0));
        assert!(live.drifted);
    }

    #[test]
    fn too_few_days_leave_it_unknown_with_the_reason() {
        let actuals = week("2026-11-16", &[100, 0, 100]);
        let live = LiveAccuracy::measured(
            "ep",
            "v1".into(),
            20.0,
            &actuals,
            &answer("2026-11-16", &[1, 1, 1]),
        );
        assert_eq!(live.mape, None);
        assert!(!live.drifted, "unknown is not drift");
        assert_eq!(
            live.unknown_reason.as_deref(),
            Some("2 days with tickets to compare; at least 7 are needed")
        );
        assert!(live_request(&BTreeMap::new()).is_none());
    }

    #[test]
    fn a_long_gap_is_capped_at_the_contracts_horizon() {
        let mut actuals = week("2025-01-01", &[5]);
        actuals.insert(d("2026-06-01"), 7);
        assert_eq!(live_request(&actuals).unwrap().horizon_days, 365);
    }
}
