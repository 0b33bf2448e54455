//! How Deploy switches a serving endpoint to a new model: a decision on the variant's instance
//! count, by SageMaker's documented rules. A rolling update moves batches of 5 % to 50 % of the
//! instances, so one instance cannot roll: it gets a blue/green update that shifts all traffic at
//! once to a new fleet, then bakes. Either way SageMaker watches the rollback alarms and rolls
//! back by itself when one goes off.

/// Seconds the new fleet serves, watched by the rollback alarms, before the old one is
/// terminated (blue/green) or between batches (rolling).
pub const BAKE_SECONDS: i32 = 300;
/// The whole update's limit (SageMaker: 600 to 28,800 s).
pub const MAX_UPDATE_SECONDS: i32 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// All traffic to the new fleet at once, the old fleet kept through the bake.
    BlueGreenAllAtOnce,
    /// Batches of `batch` instances.
    Rolling { batch: i32 },
}

/// The rollout for a variant of `instance_count` instances: rolling in batches of about 10 %
/// (within SageMaker's 5 %-50 %) where that is possible, blue/green otherwise.
pub fn rollout(instance_count: i32) -> Rollout {
    if instance_count < 2 {
        return Rollout::BlueGreenAllAtOnce;
    }
    let n = instance_count;
    let at_least = (n + 19) / 20; // 5 %, rounded up
    let at_most = n / 2; // 50 %, rounded down
    let tenth = (n + 9) / 10;
    Rollout::Rolling {
        batch: tenth.clamp(at_least, at_most),
    }
}

/// Whether SageMaker accepts a rolling batch of `batch` instances out of `instance_count`.
pub fn valid_rolling_batch(batch: i32, instance_count: i32) -> bool {
    batch >= 1 && 20 * batch >= instance_count && 2 * batch <= instance_count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_instance_cannot_roll() {
        assert_eq!(rollout(1), Rollout::BlueGreenAllAtOnce);
        assert!(!valid_rolling_batch(1, 1));
    }

    #[test]
    fn every_rolling_batch_is_within_sagemakers_bounds() {
        for n in 2..=100 {
            match rollout(n) {
                Rollout::Rolling { batch } => {
                    assert!(valid_rolling_batch(batch, n), "{batch} of {n}")
                }
                other => panic!("{n}: {other:?}"),
            }
        }
        assert_eq!(rollout(2), Rollout::Rolling { batch: 1 });
        assert_eq!(rollout(40), Rollout::Rolling { batch: 4 });
    }
}
