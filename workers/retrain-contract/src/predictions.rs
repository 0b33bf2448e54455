//! `predictions.csv`, the trainer's optional cross-validation output (training contract):
//! `date,actual,forecast,fold`, one row per forecast day of each fold. Header names are read
//! case-insensitively in any order; a row that cannot be read is counted and left out. Read by
//! EvaluateMape (the challenger's forecasts of the serving model's live days) and drawn by the
//! run report.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::tickets::{normalise_header, parse_day};

/// One row of the trainer's `predictions.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldPoint {
    pub date: NaiveDate,
    pub actual: f64,
    pub forecast: f64,
    pub fold: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Folds {
    pub points: Vec<FoldPoint>,
    /// Rows that could not be read, with the first one's line and reason.
    pub bad_rows: u64,
    pub first_bad: Option<String>,
}

impl Folds {
    /// The backtest's forecast of each day it covers. A day two folds cover takes the fold that
    /// started latest before it (the one trained on the most history, as a model retrained
    /// weekly would have forecast it).
    pub fn forecast_by_day(&self) -> BTreeMap<NaiveDate, f64> {
        let mut first_day: BTreeMap<&str, NaiveDate> = BTreeMap::new();
        for p in &self.points {
            first_day
                .entry(p.fold.as_str())
                .and_modify(|d| *d = (*d).min(p.date))
                .or_insert(p.date);
        }
        let mut best: BTreeMap<NaiveDate, (NaiveDate, f64)> = BTreeMap::new();
        for p in &self.points {
            let start = first_day[p.fold.as_str()];
            match best.get(&p.date) {
                Some((s, _)) if *s >= start => {}
                _ => {
                    best.insert(p.date, (start, p.forecast));
                }
            }
        }
        best.into_iter().map(|(d, (_, f))| (d, f)).collect()
    }
}

const COLUMNS: [&str; 4] = ["date", "actual", "forecast", "fold"];

/// Parse the file. `Err` when it cannot be used at all (no header, a missing column).
pub fn parse(bytes: &[u8]) -> Result<Folds, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("predictions.csv has no readable header: {e}"))?
        .clone();
    let mut at = [0usize; 4];
    for (i, name) in COLUMNS.iter().enumerate() {
        at[i] = headers
            .iter()
            .position(|h| normalise_header(h) == *name)
            .ok_or_else(|| {
                format!(
                    "predictions.csv has no `{name}` column (header: `{}`); expected {}",
                    headers.iter().collect::<Vec<_>>().join(","),
                    COLUMNS.join(",")
                )
            })?;
    }
    let mut folds = Folds::default();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let row = record
            .map_err(|e| e.to_string())
            .and_then(|r| point(&r, &at));
        match row {
            Ok(p) => folds.points.push(p),
            Err(why) => {
                folds.bad_rows += 1;
                if folds.first_bad.is_none() {
                    folds.first_bad = Some(format!("line {line}: {why}"));
                }
            }
        }
    }
    if folds.points.is_empty() {
        return Err(match folds.first_bad {
            Some(bad) => format!("predictions.csv holds no usable row ({bad})"),
            None => "predictions.csv holds no rows".into(),
        });
    }
    folds
        .points
        .sort_by(|a, b| (&a.fold, a.date).cmp(&(&b.fold, b.date)));
    Ok(folds)
}

fn point(r: &csv::StringRecord, at: &[usize; 4]) -> Result<FoldPoint, String> {
    let field = |i: usize| r.get(at[i]).map(str::trim).unwrap_or_default();
    let date = parse_day(field(0)).ok_or_else(|| format!("`{}` is not a date", field(0)))?;
    let number = |i: usize| -> Result<f64, String> {
        let text = field(i);
        text.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{} `{text}` is not a finite number", COLUMNS[i]))
    };
    let (actual, forecast) = (number(1)?, number(2)?);
    if actual < 0.0 {
        return Err(format!("actual `{actual}` is negative"));
    }
    let fold = field(3);
    if fold.is_empty() {
        return Err("fold is empty".into());
    }
    Ok(FoldPoint {
        date,
        actual,
        forecast,
        fold: fold.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_in_any_column_order() {
        let f =
            parse(b"Fold,Date,Forecast,Actual\n1,2026-11-02,10.5,12\n0,2026-11-01,9,8\n").unwrap();
        assert_eq!(f.points.len(), 2);
        assert_eq!(f.points[0].fold, "0");
        assert_eq!(f.points[0].actual, 8.0);
        assert_eq!(f.points[1].forecast, 10.5);
        assert_eq!(f.bad_rows, 0);
    }

    #[test]
    fn bad_rows_are_counted_and_named() {
        let f = parse(
            b"date,actual,forecast,fold\n2026-11-01,8,9,0\nyesterday,8,9,0\n2026-11-03,NaN,9,0\n2026-11-04,-1,9,0\n",
        )
        .unwrap();
        assert_eq!(f.points.len(), 1);
        assert_eq!(f.bad_rows, 3);
        assert_eq!(
            f.first_bad.as_deref(),
            Some("line 3: `yesterday` is not a date")
        );
    }

    #[test]
    fn a_day_two_folds_cover_takes_the_later_fold() {
        let f = parse(
            b"date,actual,forecast,fold\n2026-11-01,8,9,a\n2026-11-02,8,10,a\n2026-11-02,8,11,b\n2026-11-03,8,12,b\n",
        )
        .unwrap();
        let by_day: Vec<f64> = f.forecast_by_day().into_values().collect();
        assert_eq!(by_day, vec![9.0, 11.0, 12.0]);
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = parse(b"date,actual,yhat\n2026-11-01,8,9\n").unwrap_err();
        assert!(e.contains("no `forecast` column"), "{e}");
        let e = parse(b"date,actual,forecast,fold\n").unwrap_err();
        assert!(e.contains("no rows"), "{e}");
    }
}
