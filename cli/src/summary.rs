//! What happened in one execution, read from what Step Functions records (DescribeExecution and
//! the execution's history), never from logs. Pure: the AWS calls are in [`crate::commands`].

use retrain_contract::input::{APPROVAL_EVENT, SCHEDULED_EVENT};
use retrain_contract::messages::{
    SUBJECT_DATA_DRIFT, SUBJECT_DATA_QUALITY, SUBJECT_DATA_UNUSABLE, SUBJECT_PIPELINE_ERROR,
};
use serde::Serialize;
use serde_json::Value;

/// DescribeExecution's answer, as the summary reads it.
#[derive(Debug, Clone, Default)]
pub struct Described {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub started: Option<String>,
    pub stopped: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub redrive_count: i32,
}

/// One history event, as the summary reads it.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// The event type (`TaskStateEntered`, `ChoiceStateExited`, `LambdaFunctionFailed`, ...).
    pub kind: String,
    /// The state's name (state entered / exited events).
    pub state: Option<String>,
    /// The state's output (state exited events).
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub name: String,
    pub execution_arn: String,
    pub status: String,
    pub started: Option<String>,
    pub stopped: Option<String>,
    /// schedule, manual or approval.
    pub trigger: &'static str,
    /// The state it is in (running) or ended at.
    pub state: Option<String>,
    pub mape: Option<f64>,
    pub threshold: Option<f64>,
    /// deployed, rejected, skipped, waiting, in progress, failed.
    pub decision: String,
    pub reason: Option<String>,
    pub serving_model: Option<String>,
    pub alerts: Vec<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub redrive_count: i32,
}

/// How the run was started, from its input: an EventBridge schedule, an approval event, or a
/// person (anything else).
pub fn trigger_of(input: Option<&Value>) -> &'static str {
    match input
        .and_then(|i| i.get("detail-type"))
        .and_then(Value::as_str)
    {
        Some(SCHEDULED_EVENT) => "schedule",
        Some(APPROVAL_EVENT) => "approval",
        _ => "manual",
    }
}

fn parse(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// The summary of an execution from its description and (possibly no) history steps.
pub fn summarize(d: &Described, steps: &[Step]) -> RunSummary {
    let input = parse(d.input.as_deref());
    // The latest state document: the execution's output, else the last state's output.
    let doc = parse(d.output.as_deref())
        .or_else(|| {
            steps
                .iter()
                .rev()
                .find_map(|s| parse(s.output.as_deref()).filter(Value::is_object))
        })
        .unwrap_or(Value::Null);
    let state = steps
        .iter()
        .rev()
        .find(|s| s.kind.ends_with("StateEntered"))
        .and_then(|s| s.state.clone());
    let num = |v: &Value| v.as_f64();
    let mape = num(&doc["evaluation"]["mape"]);
    let threshold = num(&doc["evaluation"]["threshold"]).or(num(&doc["run"]["mape_threshold"]));
    let reason = doc["run"]["reason"].as_str().map(str::to_string);
    let decision = decision(d, state.as_deref(), &doc);
    let serving_model = doc["deployment"]["model_name"]
        .as_str()
        .or(doc["alert"]["serving_model"].as_str())
        .map(str::to_string);

    let mut alerts = Vec::new();
    let data = &doc["run"]["data"];
    if data["drift"] == Value::Bool(true) {
        alerts.push(SUBJECT_DATA_DRIFT.to_string());
    }
    if data["quality_alert"] == Value::Bool(true) {
        alerts.push(SUBJECT_DATA_QUALITY.to_string());
    }
    if doc["run"]["action"] == "skip"
        && data["usable_files"] == 0
        && data["unusable_count"].as_u64().unwrap_or(0) > 0
    {
        alerts.push(SUBJECT_DATA_UNUSABLE.to_string());
    }
    if let Some(subject) = doc["alert"]["subject"].as_str() {
        alerts.push(subject.to_string());
    }
    // A failure at a Task state: the execution-status rule alerts (the definition's Fail states
    // were alerted by their RejectAndAlert state, above).
    let failed = matches!(d.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED");
    let at_fail_state = steps
        .iter()
        .rev()
        .find(|s| s.kind.ends_with("StateEntered"))
        .is_some_and(|s| s.kind == "FailStateEntered");
    if failed && !at_fail_state {
        alerts.push(format!(
            "{SUBJECT_PIPELINE_ERROR} (sent by the execution-status rule)"
        ));
    }
    let last_failure = steps.iter().rev().find(|s| s.error.is_some());
    RunSummary {
        name: d.name.clone(),
        execution_arn: d.arn.clone(),
        status: d.status.clone(),
        started: d.started.clone(),
        stopped: d.stopped.clone(),
        trigger: trigger_of(input.as_ref()),
        state,
        mape,
        threshold,
        decision,
        reason,
        serving_model,
        alerts,
        error: d
            .error
            .clone()
            .or_else(|| last_failure.and_then(|s| s.error.clone())),
        cause: d
            .cause
            .clone()
            .or_else(|| last_failure.and_then(|s| s.cause.clone())),
        redrive_count: d.redrive_count,
    }
}

fn decision(d: &Described, state: Option<&str>, doc: &Value) -> String {
    match (d.status.as_str(), state) {
        ("SUCCEEDED", Some("Deployed")) => "deployed".into(),
        ("SUCCEEDED", Some("Rejected")) => "rejected".into(),
        ("SUCCEEDED", Some("NothingToDo")) => "skipped".into(),
        ("RUNNING", Some("WaitForTurn")) => "waiting for another run".into(),
        ("RUNNING", _) => "in progress".into(),
        ("FAILED" | "TIMED_OUT" | "ABORTED", Some(s)) => format!("failed at {s}"),
        (status, _) => {
            // No history read (runs): from the final document.
            if doc["deployment"].is_object() {
                "deployed".into()
            } else if doc["alert"].is_object() && status == "SUCCEEDED" {
                "rejected".into()
            } else if doc["run"]["action"] == "skip" {
                "skipped".into()
            } else {
                status.to_lowercase()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entered(kind: &str, state: &str) -> Step {
        Step {
            kind: kind.into(),
            state: Some(state.into()),
            ..Default::default()
        }
    }

    fn exited(state: &str, output: Value) -> Step {
        Step {
            kind: "TaskStateExited".into(),
            state: Some(state.into()),
            output: Some(output.to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn a_rejected_run_names_its_mape_threshold_alerts_and_the_serving_model() {
        let doc = json!({
            "run": {"action": "train", "reason": "7 new ticket files with usable rows",
                    "mape_threshold": 20.0, "data": {"drift": true, "quality_alert": false}},
            "evaluation": {"mape": 28.8, "threshold": 20.0},
            "alert": {"mode": "rejected", "subject": "Model Needs Manual Approval",
                      "serving_model": "prophet-forecasting-models-v1-abc"}
        });
        let d = Described {
            name: "weekly".into(),
            status: "SUCCEEDED".into(),
            input: Some(json!({"detail-type": "Scheduled Event"}).to_string()),
            output: Some(doc.to_string()),
            ..Default::default()
        };
        let steps = [
            entered("TaskStateEntered", "RejectAndAlert"),
            entered("SucceedStateEntered", "Rejected"),
        ];
        let s = summarize(&d, &steps);
        assert_eq!(s.trigger, "schedule");
        assert_eq!(s.decision, "rejected");
        assert_eq!(s.state.as_deref(), Some("Rejected"));
        assert_eq!((s.mape, s.threshold), (Some(28.8), Some(20.0)));
        assert_eq!(
            s.alerts,
            ["Data Drift Detected", "Model Needs Manual Approval"]
        );
        assert_eq!(
            s.serving_model.as_deref(),
            Some("prophet-forecasting-models-v1-abc")
        );
    }

    #[test]
    fn a_failed_run_names_its_state_error_cause_and_the_rule_alert() {
        let d = Described {
            name: "m".into(),
            status: "FAILED".into(),
            input: Some("{}".into()),
            error: Some("AwsError".into()),
            cause: Some("AWS error in UpdateEndpoint".into()),
            ..Default::default()
        };
        let steps = [
            exited(
                "EvaluateMape",
                json!({"evaluation": {"mape": 12.0, "threshold": 20.0}}),
            ),
            entered("TaskStateEntered", "Deploy"),
        ];
        let s = summarize(&d, &steps);
        assert_eq!(s.trigger, "manual");
        assert_eq!(s.decision, "failed at Deploy");
        assert_eq!(s.mape, Some(12.0));
        assert_eq!(s.error.as_deref(), Some("AwsError"));
        assert_eq!(
            s.alerts,
            ["Model Retraining Pipeline Error (sent by the execution-status rule)"]
        );
    }

    #[test]
    fn runs_without_history_read_their_decision_from_the_output() {
        let skipped = Described {
            status: "SUCCEEDED".into(),
            input: Some(json!({"detail-type": APPROVAL_EVENT}).to_string()),
            output: Some(json!({"run": {"action": "skip", "reason": "r"}}).to_string()),
            ..Default::default()
        };
        let s = summarize(&skipped, &[]);
        assert_eq!((s.trigger, s.decision.as_str()), ("approval", "skipped"));
        let running = Described {
            status: "RUNNING".into(),
            ..Default::default()
        };
        assert_eq!(summarize(&running, &[]).decision, "in progress");
    }
}
