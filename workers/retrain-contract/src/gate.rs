//! The deploy gate: the one rule that decides whether a model may serve.

/// The gate's verdict on a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// MAPE known and strictly below the threshold.
    Deploy,
    /// MAPE known and at or over the threshold.
    Reject,
    /// MAPE known but below the plausibility floor (a fraction written for a percentage, a
    /// trainer that grouped per second): never deployed automatically, a person looks first.
    Implausible,
    /// MAPE unknown (missing, null, NaN, infinite, negative): never deployed automatically.
    Unknown,
}

/// A usable MAPE is finite and non-negative; anything else is unknown.
pub fn usable_mape(mape: Option<f64>) -> Option<f64> {
    mape.filter(|m| m.is_finite() && *m >= 0.0)
}

/// The gate: deploy only a known MAPE at or above `floor` and strictly below `threshold`.
pub fn verdict(mape: Option<f64>, threshold: f64, floor: f64) -> Verdict {
    match usable_mape(mape) {
        None => Verdict::Unknown,
        Some(m) if m < floor => Verdict::Implausible,
        Some(m) if m < threshold => Verdict::Deploy,
        Some(_) => Verdict::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_deploys_at_or_over_rejects() {
        assert_eq!(verdict(Some(12.34), 20.0, 1.0), Verdict::Deploy);
        assert_eq!(verdict(Some(1.0), 20.0, 1.0), Verdict::Deploy);
        assert_eq!(verdict(Some(0.0), 20.0, 0.0), Verdict::Deploy);
        assert_eq!(verdict(Some(19.999), 20.0, 1.0), Verdict::Deploy);
        assert_eq!(verdict(Some(20.0), 20.0, 1.0), Verdict::Reject);
        assert_eq!(verdict(Some(25.3), 20.0, 1.0), Verdict::Reject);
        assert_eq!(verdict(Some(15.0), 12.5, 1.0), Verdict::Reject);
    }

    #[test]
    fn below_the_floor_is_implausible_not_a_deploy() {
        // 0.25 is 25 % written as a fraction; 0.85 a trainer that grouped per second.
        for m in [0.0, 0.25, 0.85, 0.999] {
            assert_eq!(verdict(Some(m), 20.0, 1.0), Verdict::Implausible, "{m}");
        }
        assert_eq!(verdict(Some(0.5), 20.0, 0.0), Verdict::Deploy);
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
            assert_eq!(verdict(m, 20.0, 1.0), Verdict::Unknown, "{m:?}");
        }
    }
}
