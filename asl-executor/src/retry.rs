//! Retry delays: Interval × Backoff^n, capped by MaxDelaySeconds, FULL jitter uniform in [0, delay].

use std::time::Duration;

use crate::definition::{Jitter, Retrier};

/// The delay before retry number `attempt` (0 for the first retry), before jitter.
pub fn base_delay(r: &Retrier, attempt: u32) -> f64 {
    let d = r.interval_seconds * r.backoff_rate.powi(attempt as i32);
    match r.max_delay_seconds {
        Some(max) => d.min(max),
        None => d,
    }
}

/// The delay to sleep, with jitter drawn from `rng`.
pub fn delay(r: &Retrier, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
    let d = base_delay(r, attempt);
    let d = match r.jitter_strategy {
        Some(Jitter::Full) => d * rng.f64(),
        _ => d,
    };
    Duration::from_secs_f64(d.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn retrier(v: serde_json::Value) -> Retrier {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_are_one_second_three_attempts_backoff_two() {
        let r = retrier(json!({"ErrorEquals": ["X"]}));
        assert_eq!(
            (r.interval_seconds, r.max_attempts, r.backoff_rate),
            (1.0, 3, 2.0)
        );
        assert_eq!([0, 1, 2].map(|a| base_delay(&r, a)), [1.0, 2.0, 4.0]);
    }

    #[test]
    fn capped_by_max_delay() {
        let r = retrier(
            json!({"ErrorEquals": ["X"], "IntervalSeconds": 5, "BackoffRate": 3, "MaxDelaySeconds": 30}),
        );
        assert_eq!(
            [0, 1, 2, 3].map(|a| base_delay(&r, a)),
            [5.0, 15.0, 30.0, 30.0]
        );
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_delay() {
        let r =
            retrier(json!({"ErrorEquals": ["X"], "IntervalSeconds": 2, "JitterStrategy": "FULL"}));
        let mut rng = fastrand::Rng::with_seed(7);
        let draws: Vec<f64> = (0..200)
            .map(|_| delay(&r, 2, &mut rng).as_secs_f64())
            .collect();
        assert!(draws.iter().all(|d| (0.0..=8.0).contains(d)));
        assert!(
            draws.iter().any(|d| *d < 4.0) && draws.iter().any(|d| *d > 4.0),
            "spread over the range"
        );
        let none = retrier(json!({"ErrorEquals": ["X"], "IntervalSeconds": 2}));
        assert_eq!(delay(&none, 2, &mut rng).as_secs_f64(), 8.0);
    }
}
