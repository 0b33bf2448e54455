//! The reference trainer's model on the proving ground's sample lakes: a normal history
//! forecasts well, a regime change does not, too little history is unknown.

use chrono::{Duration, NaiveDate};
use local::scenario::daily_counts;
use reference_trainer::forecast::{cross_validate, predictions_csv, FOLDS, HORIZON};

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 11, 25).unwrap()
}

fn series(days: i64, regime_from: Option<i64>) -> Vec<f64> {
    let start = start();
    daily_counts(
        start,
        days,
        5,
        regime_from.map(|d| (start + Duration::days(d), local::scenario::REGIME_FACTOR)),
    )
    .into_iter()
    .map(|(_, n)| n as f64)
    .collect()
}

#[test]
fn a_normal_history_forecasts_well() {
    let m = cross_validate(start(), &series(735, None)).unwrap();
    assert_eq!(m.folds, FOLDS);
    assert_eq!(m.predictions.len(), FOLDS * HORIZON);
    assert_eq!(m.predictions[0].fold, 0);
    assert_eq!(
        m.predictions.last().unwrap().day,
        734,
        "the last fold ends the series"
    );
    let csv = predictions_csv(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(), &m.predictions);
    assert_eq!(csv.lines().count(), 1 + FOLDS * HORIZON);
    assert!(csv.starts_with("date,actual,forecast,fold\n"));
    assert!(
        csv.lines().last().unwrap().starts_with("2026-01-04,"),
        "{csv}"
    );
    let mape = m.mape.unwrap();
    assert!(mape < 20.0, "MAPE {mape}");
    assert!(m.rmse.unwrap() > 0.0 && m.mae.unwrap() > 0.0);
}

#[test]
fn a_regime_change_is_over_the_threshold() {
    let m = cross_validate(start(), &series(749, Some(728))).unwrap();
    assert!(m.mape.unwrap() >= 20.0, "MAPE {:?}", m.mape);
}

#[test]
fn too_little_history_is_unknown() {
    let m = cross_validate(start(), &series(30, None)).unwrap();
    assert_eq!((m.mape, m.rmse, m.folds), (None, None, 0));
}
