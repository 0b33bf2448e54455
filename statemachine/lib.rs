//! The state machine of the retraining pipeline, as the tests and the local run load it: the
//! definition file (the one `template.yaml` deploys, never a copy), the worker each Task resource
//! names, and the alert the execution-status rule sends when an execution fails.

use std::collections::HashMap;
use std::path::PathBuf;

use asl_executor::{Definition, Execution, Executor, LoadError};
use serde_json::{json, Value};

/// The definition, relative to the repository root.
pub const DEFINITION_FILE: &str = "statemachine/retrain.asl.json";

/// The name the offline executor gives the state machine: the template names it after the stack
/// (`Name: !Ref AWS::StackName`), and the local stack is called `retraining`.
pub const STATE_MACHINE_NAME: &str = "retraining";

/// `${...}` placeholder of the definition → the worker crate (and Lambda function) it names.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("StartTrainingFunctionArn", "start-training"),
    ("CheckStatusFunctionArn", "check-status"),
    ("EvaluateMapeFunctionArn", "evaluate-mape"),
    ("DeployFunctionArn", "deploy"),
    ("RejectAndAlertFunctionArn", "reject-and-alert"),
];

pub fn definition_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(DEFINITION_FILE)
}

/// The definition file's text.
pub fn definition_text() -> String {
    std::fs::read_to_string(definition_path())
        .unwrap_or_else(|e| panic!("{}: {e}", definition_path().display()))
}

/// Load the definition with each function placeholder replaced by its worker's crate name, which
/// is the resource name the executor's handlers are registered under.
pub fn load_definition() -> Result<Definition, LoadError> {
    let subs: HashMap<String, String> = FUNCTIONS
        .iter()
        .map(|(placeholder, worker)| (placeholder.to_string(), worker.to_string()))
        .collect();
    Definition::load(&definition_text(), &subs)
}

/// An executor of the definition with `handlers` registered under the worker crate names.
pub fn executor(handlers: HashMap<String, asl_executor::Handler>) -> Result<Executor, LoadError> {
    Ok(Executor::new(load_definition()?, handlers)?.named(STATE_MACHINE_NAME))
}

/// What the execution-status rule (EventBridge, `Step Functions Execution Status Change`,
/// FAILED / TIMED_OUT / ABORTED) sends to RejectAndAlert through its input transformer. Failures
/// are alerted this way, not by Catch → Fail, so a failed execution stops at the failing task and
/// a console redrive resumes there.
pub fn failure_alert_request(execution: &str, error: &str, cause: &str) -> Value {
    json!({"mode": "error", "execution": execution, "error": {"Error": error, "Cause": cause}})
}

/// Errors of the definition's Fail states. Their alert was sent by a RejectAndAlert state just
/// before, so the execution-status rule leaves them out (`anything-but` on `detail.error`).
pub const ALERTED_FAILURES: &[&str] = &[
    "TrainingJobFailed",
    "TrainingDeadlinePassed",
    "EndpointUpdateFailed",
];

/// The failure alert the rule sends for an execution of the executor: None unless it failed with
/// an error that was not alerted already.
pub fn failure_alert_for(exec: &Execution) -> Option<Value> {
    let alerted = exec
        .error
        .as_deref()
        .is_some_and(|e| ALERTED_FAILURES.contains(&e));
    (matches!(
        exec.status,
        asl_executor::Status::Failed | asl_executor::Status::Aborted
    ) && !alerted)
        .then(|| {
            failure_alert_request(
                &exec.name,
                exec.error.as_deref().unwrap_or("States.Runtime"),
                exec.cause.as_deref().unwrap_or(""),
            )
        })
}
