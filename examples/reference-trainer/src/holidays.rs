//! Holidays: days support desks are mostly closed (New Year's Day and Eve, Independence Day,
//! Thanksgiving, Christmas). MSTL sees them as noise; the model scales its forecast for a
//! holiday by how far the history's holidays fell below its own fit of them.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Whether `d` is one of the holidays.
pub fn is_holiday(d: NaiveDate) -> bool {
    let (m, day) = (d.month(), d.day());
    let thanksgiving = m == 11 && d.weekday() == Weekday::Thu && (22..=28).contains(&day);
    (m == 1 && day == 1)
        || (m == 7 && day == 4)
        || (m == 12 && (day == 25 || day == 31))
        || thanksgiving
}

/// Fewer past holidays than this in the history and the forecast is not scaled.
pub const MIN_HOLIDAYS: usize = 2;

/// The median ratio of the tickets on the history's holidays (from `first`, `y`) to the
/// model's in-sample fit of them (`fitted`, same days); None with too few holidays.
pub fn holiday_factor(first: NaiveDate, y: &[f64], fitted: &[f64]) -> Option<f64> {
    let mut ratios: Vec<f64> = y
        .iter()
        .zip(fitted)
        .enumerate()
        .filter(|(i, (_, f))| is_holiday(first + Duration::days(*i as i64)) && **f > 0.0)
        .map(|(_, (a, f))| a / f)
        .filter(|r| r.is_finite())
        .collect();
    if ratios.len() < MIN_HOLIDAYS {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let n = ratios.len();
    Some(if n % 2 == 1 {
        ratios[n / 2]
    } else {
        (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_calendar() {
        for h in [
            "2024-11-28",
            "2025-11-27",
            "2024-12-25",
            "2025-01-01",
            "2025-07-04",
            "2024-12-31",
        ] {
            assert!(is_holiday(d(h)), "{h}");
        }
        for w in ["2024-11-21", "2024-11-29", "2025-07-05", "2024-12-24"] {
            assert!(!is_holiday(d(w)), "{w}");
        }
    }

    #[test]
    fn the_factor_is_the_median_ratio_of_past_holidays() {
        // 2024-12-25 (index 0), 2024-12-31 (6), 2025-01-01 (7) at 30 % of a flat fit of 100.
        let first = d("2024-12-25");
        let mut y = vec![100.0; 10];
        for i in [0, 6, 7] {
            y[i] = 30.0;
        }
        y[7] = 40.0;
        let f = holiday_factor(first, &y, &[100.0; 10]).unwrap();
        assert!((f - 0.3).abs() < 1e-12, "{f}");
        assert_eq!(
            holiday_factor(first, &y[..3], &[100.0; 3]),
            None,
            "one holiday"
        );
    }
}
