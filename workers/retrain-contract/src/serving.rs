//! The users' serving contract (the original app's, which their consumers call) and the canary
//! that holds a newly deployed model to it.
//!
//! `GET /ping` answers 200 once the model is loaded. `POST /invocations` takes
//! `{"horizon_days": 1..=365, "start_date": "YYYY-MM-DD"}` (the start optional: today) and answers
//! `{"forecast": [{"day": 1, "date": "YYYY-MM-DD", "forecast_ticket_count": n, "lower_bound": l,
//! "upper_bound": u}, ...]}`: one entry per day from the start, counts whole and non-negative,
//! `l <= n <= u`.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest forecast the contract serves.
pub const MAX_HORIZON_DAYS: u32 = 365;
/// Days the canary asks for: a week, the horizon the backtest scores.
pub const CANARY_HORIZON_DAYS: u32 = 7;
/// The environment variables a serving command reads (the proving ground sets them; SageMaker
/// serves on 8080 with the model in /opt/ml/model).
pub const PORT_ENV: &str = "SAGEMAKER_BIND_TO_PORT";
pub const MODEL_DIR_ENV: &str = "SM_MODEL_DIR";

/// A forecast request of the serving contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastRequest {
    pub horizon_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
}

impl ForecastRequest {
    /// The request a server receives, checked: `Err` names the field and why.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let req: ForecastRequest = serde_json::from_slice(body).map_err(|e| {
            format!(
                "the body is not a forecast request ({{\"horizon_days\", \"start_date\"}}): {e}"
            )
        })?;
        if !(1..=MAX_HORIZON_DAYS).contains(&req.horizon_days) {
            return Err(format!(
                "horizon_days must be between 1 and {MAX_HORIZON_DAYS}, not {}",
                req.horizon_days
            ));
        }
        Ok(req)
    }

    /// The days asked for, from the start (or `today`).
    pub fn days(&self, today: NaiveDate) -> impl Iterator<Item = NaiveDate> {
        let start = self.start_date.unwrap_or(today);
        (0..self.horizon_days as i64).map(move |i| start + Duration::days(i))
    }
}

/// One day of a forecast answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastDay {
    pub day: u32,
    pub date: NaiveDate,
    pub forecast_ticket_count: u64,
    pub lower_bound: u64,
    pub upper_bound: u64,
}

impl ForecastDay {
    /// Day `day` (from 1) at `date`, from a model's point forecast and interval, rounded and
    /// clamped as the contract requires (whole, non-negative, lower <= forecast <= upper).
    /// `None` when a value is not finite: a model that forecasts NaN has no answer to give.
    pub fn from_model(
        day: u32,
        date: NaiveDate,
        point: f64,
        lower: f64,
        upper: f64,
    ) -> Option<Self> {
        if !(point.is_finite() && lower.is_finite() && upper.is_finite()) {
            return None;
        }
        let whole = |v: f64| v.max(0.0).round() as u64;
        let n = whole(point);
        Some(ForecastDay {
            day,
            date,
            forecast_ticket_count: n,
            lower_bound: whole(lower).min(n),
            upper_bound: whole(upper).max(n),
        })
    }
}

/// A forecast answer of the serving contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastResponse {
    pub forecast: Vec<ForecastDay>,
}

/// The canary's request: the week after `today` (the day after the training data ends).
pub fn canary_request(today: NaiveDate) -> ForecastRequest {
    ForecastRequest {
        horizon_days: CANARY_HORIZON_DAYS,
        start_date: Some(today + Duration::days(1)),
    }
}

/// Whether `body` is a good answer to `req`: JSON of the contract's shape, one entry per day
/// asked, in order, with the right dates, whole non-negative counts and lower <= forecast <=
/// upper. `Err` says the first thing wrong, where.
pub fn check_answer(
    req: &ForecastRequest,
    today: NaiveDate,
    body: &[u8],
) -> Result<Vec<ForecastDay>, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let Some(items) = doc.get("forecast").and_then(Value::as_array) else {
        return Err("the answer has no \"forecast\" array".into());
    };
    if items.len() != req.horizon_days as usize {
        return Err(format!(
            "the answer has {} days, not the {} asked for",
            items.len(),
            req.horizon_days
        ));
    }
    req.days(today)
        .zip(items)
        .enumerate()
        .map(|(i, (date, item))| check_day(i as u32 + 1, date, item))
        .collect()
}

fn check_day(day: u32, date: NaiveDate, item: &Value) -> Result<ForecastDay, String> {
    let at = |what: String| format!("forecast[{}]: {what}", day - 1);
    let count = |field: &str| -> Result<u64, String> {
        match item.get(field) {
            None | Some(Value::Null) => Err(at(format!("{field} is missing"))),
            Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
                (Some(v), _) => Ok(v),
                (None, Some(f)) if f < 0.0 => Err(at(format!("{field} is negative ({f})"))),
                (None, Some(f)) if f.fract() == 0.0 && f <= u64::MAX as f64 => Ok(f as u64),
                _ => Err(at(format!("{field} is not a whole number ({n})"))),
            },
            Some(other) => Err(at(format!("{field} is not a number ({other})"))),
        }
    };
    let answered_day = item.get("day").and_then(Value::as_u64);
    if answered_day != Some(day as u64) {
        return Err(at(format!(
            "day is {}, not {day}",
            item.get("day").map_or("missing".into(), Value::to_string)
        )));
    }
    let answered_date = item.get("date").and_then(Value::as_str);
    if answered_date != Some(date.format("%Y-%m-%d").to_string().as_str()) {
        return Err(at(format!(
            "date is {}, not {date}",
            item.get("date").map_or("missing".into(), Value::to_string)
        )));
    }
    let d = ForecastDay {
        day,
        date,
        forecast_ticket_count: count("forecast_ticket_count")?,
        lower_bound: count("lower_bound")?,
        upper_bound: count("upper_bound")?,
    };
    if !(d.lower_bound <= d.forecast_ticket_count && d.forecast_ticket_count <= d.upper_bound) {
        return Err(at(format!(
            "lower_bound {} <= forecast_ticket_count {} <= upper_bound {} does not hold",
            d.lower_bound, d.forecast_ticket_count, d.upper_bound
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn answer(days: &[(u32, &str, Value, Value, Value)]) -> Vec<u8> {
        let items: Vec<Value> = days
            .iter()
            .map(|(day, date, n, l, u)| {
                json!({"day": day, "date": date, "forecast_ticket_count": n,
                       "lower_bound": l, "upper_bound": u})
            })
            .collect();
        serde_json::to_vec(&json!({ "forecast": items })).unwrap()
    }

    fn two_days() -> ForecastRequest {
        ForecastRequest {
            horizon_days: 2,
            start_date: Some(d("2026-11-23")),
        }
    }

    #[test]
    fn a_good_answer_passes() {
        let body = answer(&[
            (1, "2026-11-23", json!(40), json!(30), json!(52)),
            (2, "2026-11-24", json!(41.0), json!(41), json!(41)),
        ]);
        let days = check_answer(&two_days(), d("2026-11-01"), &body).unwrap();
        assert_eq!(days[1].forecast_ticket_count, 41);
        assert_eq!(days[0].date, d("2026-11-23"));
    }

    #[test]
    fn without_a_start_the_days_begin_today() {
        let req = ForecastRequest::parse(br#"{"horizon_days": 1}"#).unwrap();
        let body = answer(&[(1, "2026-11-01", json!(4), json!(1), json!(9))]);
        assert!(check_answer(&req, d("2026-11-01"), &body).is_ok());
        let err = check_answer(&req, d("2026-11-02"), &body).unwrap_err();
        assert!(
            err.contains("date is \"2026-11-01\", not 2026-11-02"),
            "{err}"
        );
    }

    #[test]
    fn every_broken_answer_says_what_and_where() {
        let req = two_days();
        let good = (1, "2026-11-23", json!(40), json!(30), json!(52));
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"NaN".to_vec(), "not JSON"),
            (br#"{"predictions": []}"#.to_vec(), "no \"forecast\" array"),
            (
                answer(std::slice::from_ref(&good)),
                "1 days, not the 2 asked for",
            ),
            (
                answer(&[
                    good.clone(),
                    (3, "2026-11-24", json!(1), json!(0), json!(2)),
                ]),
                "forecast[1]: day is 3, not 2",
            ),
            (
                answer(&[
                    good.clone(),
                    (2, "2026-11-25", json!(1), json!(0), json!(2)),
                ]),
                "forecast[1]: date is \"2026-11-25\", not 2026-11-24",
            ),
            (
                answer(&[
                    good.clone(),
                    (2, "2026-11-24", json!(-3), json!(0), json!(2)),
                ]),
                "forecast_ticket_count is negative",
            ),
            (
                answer(&[
                    good.clone(),
                    (2, "2026-11-24", json!(2.5), json!(0), json!(3)),
                ]),
                "forecast_ticket_count is not a whole number (2.5)",
            ),
            (
                answer(&[
                    good.clone(),
                    (2, "2026-11-24", json!(null), json!(0), json!(3)),
                ]),
                "forecast_ticket_count is missing",
            ),
            (
                answer(&[
                    good.clone(),
                    (2, "2026-11-24", json!("7"), json!(0), json!(3)),
                ]),
                "forecast_ticket_count is not a number (\"7\")",
            ),
            (
                answer(&[good, (2, "2026-11-24", json!(9), json!(10), json!(12))]),
                "lower_bound 10 <= forecast_ticket_count 9",
            ),
        ];
        for (body, want) in cases {
            let err = check_answer(&req, d("2026-11-01"), &body).unwrap_err();
            assert!(err.contains(want), "{want:?} not in {err:?}");
        }
    }

    #[test]
    fn requests_out_of_range_are_refused_with_the_field() {
        for (body, want) in [
            (
                &br#"{"horizon_days": 0}"#[..],
                "horizon_days must be between 1 and 365, not 0",
            ),
            (br#"{"horizon_days": 366}"#, "not 366"),
            (br#"{"periods": 14}"#, "missing field `horizon_days`"),
            (
                br#"{"horizon_days": 3, "start_date": "23/11/2026"}"#,
                "start_date",
            ),
        ] {
            let err = ForecastRequest::parse(body).unwrap_err();
            assert!(err.contains(want), "{want:?} not in {err:?}");
        }
    }

    #[test]
    fn model_values_are_rounded_clamped_and_nan_has_no_answer() {
        let day = ForecastDay::from_model(1, d("2026-11-23"), 10.4, 12.0, -3.0).unwrap();
        assert_eq!(
            (day.lower_bound, day.forecast_ticket_count, day.upper_bound),
            (10, 10, 10)
        );
        let day = ForecastDay::from_model(1, d("2026-11-23"), -2.0, -5.0, 4.6).unwrap();
        assert_eq!(
            (day.lower_bound, day.forecast_ticket_count, day.upper_bound),
            (0, 0, 5)
        );
        assert!(ForecastDay::from_model(1, d("2026-11-23"), f64::NAN, 0.0, 1.0).is_none());
    }

    #[test]
    fn the_canary_asks_for_the_week_after_today() {
        let req = canary_request(d("2026-11-22"));
        assert_eq!(req.start_date, Some(d("2026-11-23")));
        assert_eq!(req.horizon_days, 7);
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"horizon_days": 7, "start_date": "2026-11-23"})
        );
    }
}
