//! Data drift: the mean daily ticket count of the new files against the last training data's.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftCheck {
    /// |new - baseline| / baseline; None without a usable baseline or new mean.
    pub relative_change: Option<f64>,
    pub drift: bool,
}

pub fn data_drift(new_mean: Option<f64>, baseline: Option<f64>, threshold: f64) -> DriftCheck {
    match (new_mean, baseline) {
        (Some(new), Some(base)) if base > 0.0 && base.is_finite() && new.is_finite() => {
            let change = (new - base).abs() / base;
            DriftCheck {
                relative_change: Some(change),
                drift: change > threshold,
            }
        }
        _ => DriftCheck {
            relative_change: None,
            drift: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_above_the_threshold_is_drift() {
        let c = data_drift(Some(160.0), Some(100.0), 0.5);
        assert!(c.drift);
        assert!((c.relative_change.unwrap() - 0.6).abs() < 1e-12);
        assert!(data_drift(Some(40.0), Some(100.0), 0.5).drift);
    }

    #[test]
    fn within_or_at_the_threshold_is_not() {
        assert!(!data_drift(Some(150.0), Some(100.0), 0.5).drift);
        assert!(!data_drift(Some(120.0), Some(100.0), 0.5).drift);
    }

    #[test]
    fn no_baseline_or_no_data_is_not_drift() {
        assert_eq!(data_drift(Some(10.0), None, 0.5).relative_change, None);
        assert!(!data_drift(None, Some(10.0), 0.5).drift);
        assert!(!data_drift(Some(10.0), Some(0.0), 0.5).drift);
    }
}
