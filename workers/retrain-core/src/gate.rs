//! The deploy gate: the one rule that decides whether a model may serve.

/// The gate's verdict on a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// MAPE known and strictly below the threshold.
    Deploy,
    /// MAPE known and at or over the threshold.
    Reject,
    /// MAPE unknown (missing, null, NaN, infinite, negative): never deployed automatically.
    Unknown,
}

/// A usable MAPE is finite and non-negative; anything else is unknown.
pub fn usable_mape(mape: Option<f64>) -> Option<f64> {
    mape.filter(|m| m.is_finite() && *m >= 0.0)
}

pub fn verdict(mape: Option<f64>, threshold: f64) -> Verdict {
    match usable_mape(mape) {
        None => Verdict::Unknown,
        Some(m) if m < threshold => Verdict::Deploy,
        Some(_) => Verdict::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_deploys_at_or_over_rejects() {
        assert_eq!(verdict(Some(12.34), 20.0), Verdict::Deploy);
        assert_eq!(verdict(Some(0.0), 20.0), Verdict::Deploy);
        assert_eq!(verdict(Some(19.999), 20.0), Verdict::Deploy);
        assert_eq!(verdict(Some(20.0), 20.0), Verdict::Reject);
        assert_eq!(verdict(Some(25.3), 20.0), Verdict::Reject);
        assert_eq!(verdict(Some(15.0), 12.5), Verdict::Reject);
    }

    #[test]
    fn unknown_never_deploys() {
        for m in [
            None,
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(-1.0),
            Some(f64::NEG_INFINITY),
        ] {
            assert_eq!(verdict(m, 20.0), Verdict::Unknown, "{m:?}");
        }
    }
}
