//! The cost of one weekly run: Step Functions state transitions and Lambda invocations of this
//! design, beside the original's single Lambda that slept through the training. Prices are data
//! (`workers/retrain-contract/prices/us-east-1.json`, `retrain_core::bill::PRICES`); durations are measured (`coldstart-bench`'s first invokes).

pub use retrain_core::bill::path::{checks, deploying_path, deploying_run, TASKS};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    pub step_functions_standard_per_transition_usd: f64,
    pub lambda_arm64_per_gb_second_usd: f64,
    pub lambda_x86_per_gb_second_usd: f64,
    pub lambda_per_request_usd: f64,
}

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

#[cfg(test)]
mod bill_counts {
    use retrain_core::bill::{CUSTOM_METRICS, TEMPLATE_ALARMS};

    fn read(path: &str) -> String {
        std::fs::read_to_string(crate::launcher::repo_root().join(path)).unwrap()
    }

    #[test]
    fn the_bills_alarm_and_metric_counts_are_the_templates_and_the_workers() {
        let alarms = read("template.yaml")
            .lines()
            .filter(|l| l.trim() == "Type: AWS::CloudWatch::Alarm")
            .count();
        assert_eq!(alarms as u32, TEMPLATE_ALARMS);
        let metrics = read("workers/retrain-core/src/aws/notify.rs")
            .lines()
            .filter(|l| l.starts_with("pub const METRIC_"))
            .count();
        assert_eq!(metrics as u32, CUSTOM_METRICS);
    }
}
