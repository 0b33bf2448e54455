//! The reference trainer's model: MSTL (weekly, and yearly with two years of history) with an
//! AutoETS trend, from augurs, on log1p of the daily counts; rolling-origin cross-validation.

use std::collections::BTreeMap;

use augurs::ets::{trend::AutoETSTrendModel, AutoETS};
use augurs::forecaster::{transforms::LinearInterpolator, Forecaster, Transformer};
use augurs::mstl::MSTLModel;
use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::holidays::{holiday_factor, is_holiday};

/// Below this many days of history, MAPE is unknown (`null`), as the user's container does.
pub const MIN_DAYS: usize = 51;
pub const HORIZON: usize = 7;
pub const FOLDS: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Percent, over the folds' points with tickets; None with too little history.
    pub mape: Option<f64>,
    pub rmse: Option<f64>,
    pub mae: Option<f64>,
    /// MAPE of the seasonal-naive baseline (the same weekday a week before) on the same folds.
    pub baseline_mape: Option<f64>,
    pub folds: usize,
    pub horizon: usize,
    pub days: usize,
    /// Every forecast day of every fold: what `predictions.csv` holds.
    #[serde(skip)]
    pub predictions: Vec<FoldPrediction>,
}

/// One forecast day of a cross-validation fold.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldPrediction {
    /// 0 for the oldest fold.
    pub fold: usize,
    /// Index of the day in the series.
    pub day: usize,
    pub actual: f64,
    pub forecast: f64,
}

/// `predictions.csv` of the training contract: `date,actual,forecast,fold`.
pub fn predictions_csv(first: NaiveDate, predictions: &[FoldPrediction]) -> String {
    let mut csv = String::from("date,actual,forecast,fold\n");
    for p in predictions {
        csv.push_str(&format!(
            "{},{},{:.3},{}\n",
            first + Duration::days(p.day as i64),
            p.actual,
            p.forecast,
            p.fold
        ));
    }
    csv
}

/// Every day from the first to the last, with 0 for days without tickets.
pub fn daily_series(per_day: &BTreeMap<NaiveDate, u64>) -> Option<(NaiveDate, Vec<f64>)> {
    let (&first, _) = per_day.first_key_value()?;
    let (&last, _) = per_day.last_key_value()?;
    let days = (last - first).num_days() + 1;
    let y = (0..days)
        .map(|i| *per_day.get(&(first + Duration::days(i))).unwrap_or(&0) as f64)
        .collect();
    Some((first, y))
}

/// Seasonal periods the history supports (two full cycles each).
pub fn periods(len: usize) -> Vec<usize> {
    [7usize, 365].into_iter().filter(|p| len >= 2 * p).collect()
}

/// The model fitted on `train` (log1p of the counts, gaps interpolated).
pub fn fit(train: &[f64]) -> Result<Forecaster<MSTLModel<AutoETSTrendModel>>, String> {
    let mstl = MSTLModel::new(
        periods(train.len()),
        AutoETS::non_seasonal().into_trend_model(),
    );
    let mut f = Forecaster::new(mstl).with_transformers(vec![LinearInterpolator::new().boxed()]);
    let logged: Vec<f64> = train.iter().map(|v| v.ln_1p()).collect();
    f.fit(logged).map_err(|e| format!("fit: {e}"))?;
    Ok(f)
}

/// The model's in-sample fit of its history (counts).
fn in_sample(f: &Forecaster<MSTLModel<AutoETSTrendModel>>) -> Result<Vec<f64>, String> {
    Ok(f.predict_in_sample(None)
        .map_err(|e| format!("predict in sample: {e}"))?
        .point
        .into_iter()
        .map(|v| v.exp_m1())
        .collect())
}

/// Forecast `h` days after `train` (which starts on `first`), holidays scaled.
pub fn forecast(first: NaiveDate, train: &[f64], h: usize) -> Result<Vec<f64>, String> {
    let f = fit(train)?;
    let factor = holiday_factor(first, train, &in_sample(&f)?);
    let p = f.predict(h, 0.95).map_err(|e| format!("predict: {e}"))?;
    let start = first + Duration::days(train.len() as i64);
    Ok(p.point
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            scaled(
                start + Duration::days(i as i64),
                v.exp_m1().max(0.0),
                factor,
            )
        })
        .collect())
}

/// `v` for `day`, times the holiday factor on a holiday.
fn scaled(day: NaiveDate, v: f64, factor: Option<f64>) -> f64 {
    match factor {
        Some(k) if is_holiday(day) => v * k,
        _ => v,
    }
}

/// Point forecasts and 95 % intervals (counts) of the model fitted on `y` (from `first`): the
/// days of its history (in-sample) followed by `h` days after it, holidays scaled.
pub fn forecast_with_intervals(
    f: &Forecaster<MSTLModel<AutoETSTrendModel>>,
    first: NaiveDate,
    y: &[f64],
    h: usize,
) -> Result<Vec<(f64, f64, f64)>, String> {
    let in_sample = f
        .predict_in_sample(0.95)
        .map_err(|e| format!("predict in sample: {e}"))?;
    let fitted: Vec<f64> = in_sample.point.iter().map(|v| v.exp_m1()).collect();
    let factor = holiday_factor(first, y, &fitted);
    let ahead = f.predict(h, 0.95).map_err(|e| format!("predict: {e}"))?;
    let mut out = Vec::new();
    for p in [in_sample, ahead] {
        let n = p.point.len();
        let (lower, upper) = match p.intervals {
            Some(i) => (i.lower, i.upper),
            None => (p.point.clone(), p.point.clone()),
        };
        for i in 0..n {
            let day = first + Duration::days(out.len() as i64);
            let k = |v: f64| scaled(day, v.exp_m1(), factor);
            out.push((k(p.point[i]), k(lower[i]), k(upper[i])));
        }
    }
    Ok(out)
}

/// Rolling origins: the last `FOLDS` windows of `HORIZON` days, each forecast from the history
/// before it.
pub fn cross_validate(first: NaiveDate, y: &[f64]) -> Result<Metrics, String> {
    cross_validate_scaled(first, y, 1.0)
}

/// [`cross_validate`] of a model whose every forecast is multiplied by `scale` (the proving
/// ground's biased model: its backtest is as biased as what it serves).
pub fn cross_validate_scaled(first: NaiveDate, y: &[f64], scale: f64) -> Result<Metrics, String> {
    let mut m = Metrics {
        mape: None,
        rmse: None,
        mae: None,
        baseline_mape: None,
        folds: 0,
        horizon: HORIZON,
        days: y.len(),
        predictions: Vec::new(),
    };
    if y.len() < MIN_DAYS {
        return Ok(m);
    }
    let (mut ape, mut n_ape, mut se, mut ae, mut n) = (0.0, 0usize, 0.0, 0.0, 0usize);
    let mut naive_ape = 0.0;
    for k in (1..=FOLDS).rev() {
        let cut = y.len() - k * HORIZON;
        let predicted = forecast(first, &y[..cut], HORIZON)?;
        for (i, (actual, p)) in y[cut..cut + HORIZON].iter().zip(predicted).enumerate() {
            let p = p * scale;
            m.predictions.push(FoldPrediction {
                fold: FOLDS - k,
                day: cut + i,
                actual: *actual,
                forecast: p,
            });
            let naive = y[cut - 7 + i % 7];
            let err = actual - p;
            se += err * err;
            ae += err.abs();
            n += 1;
            if *actual > 0.0 {
                naive_ape += (actual - naive).abs() / actual;
                ape += err.abs() / actual;
                n_ape += 1;
            }
        }
        m.folds += 1;
    }
    m.mape = (n_ape > 0).then(|| 100.0 * ape / n_ape as f64);
    m.baseline_mape = (n_ape > 0).then(|| 100.0 * naive_ape / n_ape as f64);
    m.rmse = Some((se / n as f64).sqrt());
    m.mae = Some(ae / n as f64);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_days_are_zero() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let counts = BTreeMap::from([(d("2026-01-01"), 5u64), (d("2026-01-04"), 2)]);
        let (first, y) = daily_series(&counts).unwrap();
        assert_eq!((first, y), (d("2026-01-01"), vec![5.0, 0.0, 0.0, 2.0]));
    }
}
