//! The states a run that deploys enters, for the checks its two waits take: the state
//! machine's path, counted (the scenario tests hold it to a real run's execution history).

use crate::polling::next_poll_seconds;

/// Status checks a wait loop makes for something that takes `seconds`: the first after
/// `poll`, then after CheckStatus's `next_poll_seconds`, until one sees it done.
pub fn checks(seconds: u64, poll: u64) -> u64 {
    let (mut t, mut n) = (poll, 1);
    while t < seconds {
        t += next_poll_seconds(poll, t);
        n += 1;
    }
    n
}

/// The states a deploying run enters, by state, for a training job of `training_s` and an
/// endpoint update of `endpoint_s` (each check is CheckStatus, the Choice and a Wait).
pub fn deploying_run(training_s: u64, endpoint_s: u64, poll: u64) -> Vec<(&'static str, u64)> {
    deploying_path(checks(training_s, poll), checks(endpoint_s, poll))
}

/// The states a deploying run enters, by state, when its training took `t` status checks and
/// its endpoint update `e` (the scenario tests hold this to a real run's execution history).
pub fn deploying_path(t: u64, e: u64) -> Vec<(&'static str, u64)> {
    vec![
        ("StartTraining", 1),
        ("RouteRun", 1),
        ("WaitForTraining", 1),
        ("CheckStatus", t),
        ("TrainingOutcome", t),
        ("WaitForTrainingAgain", t - 1),
        ("EvaluateMape", 1),
        ("MapeGate", 1),
        ("Deploy", 1),
        ("WaitForEndpoint", 1),
        ("CheckStatusEndpoint", e),
        ("EndpointOutcome", e),
        ("WaitForEndpointAgain", e - 1),
        ("Deployed", 1),
    ]
}

/// The Task states and the worker each invokes.
pub const TASKS: [(&str, &str); 5] = [
    ("StartTraining", "start-training"),
    ("CheckStatus", "check-status"),
    ("CheckStatusEndpoint", "check-status"),
    ("EvaluateMape", "evaluate-mape"),
    ("Deploy", "deploy"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_follow_the_growing_poll() {
        assert_eq!(checks(30, 60), 1, "done before the first check");
        assert_eq!(checks(60, 60), 1);
        assert_eq!(checks(61, 60), 2);
        // 60 s polls until 20 minutes have passed, then a twentieth of the time waited.
        let hour = checks(3600, 60);
        assert!((30..=45).contains(&hour), "{hour}");
    }

    #[test]
    fn the_floor_enters_each_state_once() {
        // Done before the first check: no state is entered twice, the "again" waits never.
        let floor = deploying_run(1, 1, 60);
        assert!(floor.iter().all(|(_, n)| *n <= 1), "{floor:?}");
        let once = floor.iter().filter(|(_, n)| *n == 1).count() as u64;
        assert_eq!(once, 12);
        assert!(
            deploying_run(1800, 600, 60)
                .iter()
                .map(|(_, n)| n)
                .sum::<u64>()
                > 100
        );
    }
}
