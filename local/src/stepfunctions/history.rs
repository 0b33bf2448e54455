//! The executor's events as Step Functions writes them to an execution's history
//! (GetExecutionHistory's `HistoryEvent` shapes), so that what reads a history here reads one
//! on AWS the same way.

use asl_executor::definition::State;
use asl_executor::{Definition, Event};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

fn state_kind(def: &Definition, state: &str) -> &'static str {
    match def.states.get(state) {
        Some(State::Task(_)) => "Task",
        Some(State::Pass(_)) => "Pass",
        Some(State::Wait(_)) => "Wait",
        Some(State::Choice(_)) => "Choice",
        Some(State::Succeed(_)) => "Succeed",
        Some(State::Fail(_)) => "Fail",
        None => "Task",
    }
}

fn text(v: &Value) -> String {
    v.to_string()
}

/// Seconds since the epoch, as the JSON protocols carry timestamps.
pub fn epoch(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// The history events (without ids) AWS writes for one executor event.
pub fn aws_events(def: &Definition, event: &Event) -> Vec<(&'static str, Value)> {
    match event {
        Event::ExecutionStarted { input } => vec![(
            "ExecutionStarted",
            json!({"executionStartedEventDetails": {"input": text(input)}}),
        )],
        Event::StateEntered { state, input } => vec![(
            match state_kind(def, state) {
                "Task" => "TaskStateEntered",
                "Pass" => "PassStateEntered",
                "Wait" => "WaitStateEntered",
                "Choice" => "ChoiceStateEntered",
                "Succeed" => "SucceedStateEntered",
                _ => "FailStateEntered",
            },
            json!({"stateEnteredEventDetails": {"name": state, "input": text(input)}}),
        )],
        Event::StateExited { state, output } => vec![(
            match state_kind(def, state) {
                "Task" => "TaskStateExited",
                "Pass" => "PassStateExited",
                "Wait" => "WaitStateExited",
                "Choice" => "ChoiceStateExited",
                "Succeed" => "SucceedStateExited",
                _ => "FailStateExited",
            },
            json!({"stateExitedEventDetails": {"name": state, "output": text(output)}}),
        )],
        Event::TaskScheduled {
            resource, input, ..
        } => vec![
            (
                "LambdaFunctionScheduled",
                json!({"lambdaFunctionScheduledEventDetails": {
                    "resource": resource, "input": text(input)}}),
            ),
            ("LambdaFunctionStarted", json!({})),
        ],
        Event::TaskSucceeded { output, .. } => vec![(
            "LambdaFunctionSucceeded",
            json!({"lambdaFunctionSucceededEventDetails": {"output": text(output)}}),
        )],
        Event::TaskFailed { error, cause, .. } if error == "States.Timeout" => vec![(
            "LambdaFunctionTimedOut",
            json!({"lambdaFunctionTimedOutEventDetails": {"error": error, "cause": cause}}),
        )],
        Event::TaskFailed { error, cause, .. } => vec![(
            "LambdaFunctionFailed",
            json!({"lambdaFunctionFailedEventDetails": {"error": error, "cause": cause}}),
        )],
        Event::ExecutionSucceeded { output } => vec![(
            "ExecutionSucceeded",
            json!({"executionSucceededEventDetails": {"output": text(output)}}),
        )],
        Event::ExecutionFailed { error, cause, .. } => vec![(
            "ExecutionFailed",
            json!({"executionFailedEventDetails": {"error": error, "cause": cause}}),
        )],
        Event::ExecutionTimedOut { error, cause, .. } => vec![(
            "ExecutionTimedOut",
            json!({"executionTimedOutEventDetails": {"error": error, "cause": cause}}),
        )],
        Event::ExecutionAborted { error, cause, .. } => vec![(
            "ExecutionAborted",
            json!({"executionAbortedEventDetails": {"error": error, "cause": cause}}),
        )],
        Event::ExecutionRedriven { redrive_count, .. } => vec![(
            "ExecutionRedriven",
            json!({"executionRedrivenEventDetails": {"redriveCount": redrive_count}}),
        )],
        Event::RetryScheduled { .. }
        | Event::ErrorCaught { .. }
        | Event::ChoiceMatched { .. }
        | Event::WaitStarted { .. } => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_take_aws_names_and_details() {
        let def = Definition::from_value(&json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "r", "Next": "C"},
            "C": {"Type": "Choice", "Default": "S",
                  "Choices": [{"Variable": "$.a", "NumericEquals": 1, "Next": "S"}]},
            "S": {"Type": "Succeed"}}}))
        .unwrap();
        let entered = aws_events(
            &def,
            &Event::StateEntered {
                state: "C".into(),
                input: json!({"a": 1}),
            },
        );
        assert_eq!(entered[0].0, "ChoiceStateEntered");
        assert_eq!(
            entered[0].1["stateEnteredEventDetails"]["input"],
            json!("{\"a\":1}")
        );
        let scheduled = aws_events(
            &def,
            &Event::TaskScheduled {
                state: "T".into(),
                resource: "r".into(),
                input: json!({}),
            },
        );
        let names: Vec<_> = scheduled.iter().map(|e| e.0).collect();
        assert_eq!(names, ["LambdaFunctionScheduled", "LambdaFunctionStarted"]);
        let timed_out = aws_events(
            &def,
            &Event::TaskFailed {
                state: "T".into(),
                error: "States.Timeout".into(),
                cause: "Task timed out".into(),
            },
        );
        assert_eq!(timed_out[0].0, "LambdaFunctionTimedOut");
    }
}
