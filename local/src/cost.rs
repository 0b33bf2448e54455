//! The cost of one weekly run: Step Functions state transitions and Lambda invocations of this
//! design, beside the original's single Lambda that slept through the training. Prices are data
//! (`local/bench/prices.json`); durations are measured (`coldstart-bench`'s first invokes).

use retrain_core::polling::next_poll_seconds;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    pub step_functions_standard_per_transition_usd: f64,
    pub lambda_arm64_per_gb_second_usd: f64,
    pub lambda_x86_per_gb_second_usd: f64,
    pub lambda_per_request_usd: f64,
}

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

#[derive(Debug, Clone, PartialEq)]
pub struct RunCost {
    pub transitions: u64,
    pub invocations: u64,
    pub lambda_usd: f64,
    pub step_functions_usd: f64,
    pub total_usd: f64,
    /// The original: one 256 MB x86 Lambda held for the training, at most its 15 minutes.
    pub original_usd: f64,
}

/// The cost of `path` with each worker's billed duration (`ms_of(worker)`, 128 MB arm64,
/// cold start included), beside the original holding 256 MB for `training_s` (at most 900 s).
pub fn cost(
    path: &[(&str, u64)],
    ms_of: impl Fn(&str) -> f64,
    training_s: u64,
    p: &Prices,
) -> RunCost {
    let transitions: u64 = path.iter().map(|(_, n)| n).sum();
    let mut invocations = 0;
    let mut gb_s = 0.0;
    for (state, n) in path {
        if let Some((_, worker)) = TASKS.iter().find(|(s, _)| s == state) {
            invocations += n;
            gb_s += *n as f64 * ms_of(worker).ceil() / 1000.0 * 0.125;
        }
    }
    let lambda_usd =
        gb_s * p.lambda_arm64_per_gb_second_usd + invocations as f64 * p.lambda_per_request_usd;
    let step_functions_usd = transitions as f64 * p.step_functions_standard_per_transition_usd;
    let held = training_s.min(900) as f64;
    let original_usd = 0.25 * held * p.lambda_x86_per_gb_second_usd + p.lambda_per_request_usd;
    RunCost {
        transitions,
        invocations,
        lambda_usd,
        step_functions_usd,
        total_usd: lambda_usd + step_functions_usd,
        original_usd,
    }
}

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
    fn the_path_is_the_definitions() {
        let def: serde_json::Value =
            serde_json::from_str(&retraining_pipeline::definition_text()).unwrap();
        for (state, _) in deploying_run(1800, 600, 60) {
            assert!(
                def["States"].get(state).is_some(),
                "{state} is not in the definition"
            );
        }
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

    #[test]
    fn cost_adds_transitions_and_billed_milliseconds() {
        let p = Prices {
            step_functions_standard_per_transition_usd: 0.000025,
            lambda_arm64_per_gb_second_usd: 0.0000133334,
            lambda_x86_per_gb_second_usd: 0.0000166667,
            lambda_per_request_usd: 0.0000002,
        };
        let path = deploying_run(1800, 600, 60);
        let c = cost(&path, |_| 100.0, 1800, &p);
        assert_eq!(c.transitions, path.iter().map(|(_, n)| n).sum::<u64>());
        let expected_lambda = c.invocations as f64 * (0.1 * 0.125 * 0.0000133334 + 0.0000002);
        assert!((c.lambda_usd - expected_lambda).abs() < 1e-12);
        assert!((c.original_usd - (0.25 * 900.0 * 0.0000166667 + 0.0000002)).abs() < 1e-12);
    }
}
