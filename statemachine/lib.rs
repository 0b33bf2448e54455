//! The state machine of the retraining pipeline, as the tests and the local run load it: the
//! definition file (the one `template.yaml` deploys, never a copy), the worker each Task resource
//! names, and the alert the execution-status rule sends when an execution fails.

use std::collections::HashMap;
use std::path::PathBuf;

use asl_executor::{Definition, Execution, Executor, LoadError};
use serde_json::{json, Value};

pub mod eventbridge;
pub use eventbridge::InputTransformer;

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

/// Errors of the definition's Fail states. Their alert was sent by a RejectAndAlert state just
/// before, so the execution-status rule leaves them out (`anything-but` on `detail.error`).
pub const ALERTED_FAILURES: &[&str] = &[
    "TrainingJobFailed",
    "TrainingDeadlinePassed",
    "EndpointUpdateFailed",
];

/// The execution-status rule's target input transformer, as template.yaml declares it.
pub fn failure_rule_transformer() -> InputTransformer {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("template.yaml");
    let t = &template["Resources"]["RejectAndAlertFunction"]["Properties"]["Events"]
        ["ExecutionFailed"]["Properties"]["InputTransformer"];
    let paths = t["InputPathsMap"]
        .as_mapping()
        .expect("the failure rule's InputPathsMap")
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap_or_default().to_string(),
                v.as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    InputTransformer {
        paths,
        template: t["InputTemplate"]
            .as_str()
            .expect("the failure rule's InputTemplate")
            .trim()
            .to_string(),
    }
}

/// The `Step Functions Execution Status Change` event AWS sends for `exec` once it has ended.
pub fn status_change_event(
    exec: &Execution,
    execution_arn: &str,
    state_machine_arn: &str,
) -> Value {
    let status = match exec.status {
        asl_executor::Status::Running => "RUNNING",
        asl_executor::Status::Succeeded => "SUCCEEDED",
        asl_executor::Status::Failed => "FAILED",
        asl_executor::Status::Aborted => "ABORTED",
        asl_executor::Status::TimedOut => "TIMED_OUT",
    };
    json!({
        "version": "0", "id": "local", "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states", "account": "123456789012", "time": exec.start_time.to_rfc3339(),
        "region": "us-east-1", "resources": [execution_arn],
        "detail": {
            "executionArn": execution_arn, "stateMachineArn": state_machine_arn,
            "name": exec.name, "status": status,
            "startDate": exec.start_time.timestamp_millis(), "stopDate": null,
            "input": exec.input.to_string(), "output": null,
            "error": exec.error, "cause": exec.cause,
            "redriveCount": exec.redrive_count,
        }
    })
}

/// What the execution-status rule delivers to RejectAndAlert for `exec` (the template's own
/// input transformer, run as EventBridge runs it): None unless the execution failed, timed out
/// or was aborted with an error not alerted already; `Err` when EventBridge could not deliver it.
pub fn failure_alert_for(
    exec: &Execution,
    execution_arn: &str,
    state_machine_arn: &str,
) -> Option<Result<Value, String>> {
    let alerted = exec
        .error
        .as_deref()
        .is_some_and(|e| ALERTED_FAILURES.contains(&e));
    let ended_badly = matches!(
        exec.status,
        asl_executor::Status::Failed
            | asl_executor::Status::Aborted
            | asl_executor::Status::TimedOut
    );
    (ended_badly && !alerted).then(|| {
        failure_rule_transformer().deliver(&status_change_event(
            exec,
            execution_arn,
            state_machine_arn,
        ))
    })
}
