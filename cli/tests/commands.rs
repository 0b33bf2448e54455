//! The operator command's AWS calls against mocked clients: what each subcommand sends, and what
//! it refuses before sending anything.

use aws_sdk_sagemaker::operation::update_model_package::{
    UpdateModelPackageInput, UpdateModelPackageOutput,
};
use aws_sdk_sagemaker::types::ModelApprovalStatus;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
use aws_sdk_sfn::operation::redrive_execution::{RedriveExecutionError, RedriveExecutionOutput};
use aws_sdk_sfn::operation::start_execution::{StartExecutionInput, StartExecutionOutput};
use aws_sdk_sfn::types::error::ExecutionNotRedrivable;
use aws_sdk_sfn::types::{
    ExecutionStatus, HistoryEvent, HistoryEventType, StateEnteredEventDetails,
    StateExitedEventDetails,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use clap::Parser;
use retrain::{run, Cli, CliError, Ops};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const MACHINE: &str = "arn:aws:states:eu-west-1:111122223333:stateMachine:retraining";

fn ops(sfn_rules: &[&Rule], sm_rules: &[&Rule]) -> Ops {
    Ops {
        sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, sfn_rules),
        sm: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, sm_rules),
        state_machine: Some(MACHINE.into()),
        group: "prophet-forecasting-models".into(),
        sdk: None,
    }
}

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("retrain").chain(args.iter().copied())).unwrap()
}

async fn call(args: &[&str], ops: &Ops) -> (Result<bool, CliError>, String) {
    let mut out = Vec::new();
    let r = run(&cli(args), ops, &mut out).await;
    (r, String::from_utf8(out).unwrap())
}

fn recorder<T: Clone + Send + Sync + 'static>() -> Arc<Mutex<Vec<T>>> {
    Arc::new(Mutex::new(Vec::new()))
}

#[tokio::test]
async fn start_sends_the_checked_overrides_as_the_execution_input() {
    let seen = recorder::<StartExecutionInput>();
    let s = seen.clone();
    let start = mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(move |req| {
        s.lock().unwrap().push(req.clone());
        StartExecutionOutput::builder()
            .execution_arn(format!("{MACHINE}:x").replace(":stateMachine:", ":execution:"))
            .start_date(DateTime::from_secs(0))
            .build()
            .unwrap()
    });
    let ops = ops(&[&start], &[]);
    let (r, out) = call(
        &[
            "start",
            "--threshold",
            "15",
            "--force",
            "--instance-type",
            "ml.m5.2xlarge",
            "--name",
            "manual-1",
        ],
        &ops,
    )
    .await;
    assert_eq!(r, Ok(true));
    assert!(
        out.starts_with("started arn:aws:states:eu-west-1:111122223333:execution:retraining:x"),
        "{out}"
    );
    let req = seen.lock().unwrap()[0].clone();
    assert_eq!(req.state_machine_arn(), Some(MACHINE));
    assert_eq!(req.name(), Some("manual-1"));
    let input: Value = serde_json::from_str(req.input().unwrap()).unwrap();
    assert_eq!(
        input,
        json!({"mape_threshold": 15.0, "force": true, "training": {"instance_type": "ml.m5.2xlarge"}})
    );
}

#[tokio::test]
async fn start_refuses_a_bad_override_naming_the_flag_before_any_execution_exists() {
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .then_output(|| StartExecutionOutput::builder().build().unwrap());
    let ops = ops(&[&start], &[]);
    for (args, flag) in [
        (vec!["start", "--threshold", "120"], "--threshold"),
        (vec!["start", "--threshold", "0.5"], "--threshold"),
        (
            vec!["start", "--instance-type", "m5.large"],
            "--instance-type",
        ),
        (
            vec!["start", "--max-runtime-seconds", "10"],
            "--max-runtime-seconds",
        ),
        (vec!["start", "--poll-seconds", "0"], "--poll-seconds"),
        (vec!["start", "--name", "has space"], "--name"),
    ] {
        match call(&args, &ops).await.0 {
            Err(CliError::Invalid { field, .. }) => assert_eq!(field, flag, "{args:?}"),
            other => panic!("{args:?}: {other:?}"),
        }
    }
    assert_eq!(start.num_calls(), 0);
}

fn entered(id: i64, kind: HistoryEventType, name: &str) -> HistoryEvent {
    HistoryEvent::builder()
        .id(id)
        .timestamp(DateTime::from_secs(id))
        .r#type(kind)
        .state_entered_event_details(
            StateEnteredEventDetails::builder()
                .name(name)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn status_reads_the_description_and_the_history() {
    let output = json!({
        "run": {"action": "train", "reason": "7 new ticket files with usable rows", "mape_threshold": 20.0,
                "data": {"drift": false, "quality_alert": false}},
        "evaluation": {"mape": 13.1, "threshold": 20.0},
        "deployment": {"model_name": "prophet-forecasting-models-v2-abc"}
    });
    let describe = mock!(aws_sdk_sfn::Client::describe_execution)
        .match_requests(|r| {
            r.execution_arn()
                == Some("arn:aws:states:eu-west-1:111122223333:execution:retraining:weekly-1")
        })
        .then_output(move || {
            DescribeExecutionOutput::builder()
                .execution_arn(
                    "arn:aws:states:eu-west-1:111122223333:execution:retraining:weekly-1",
                )
                .state_machine_arn(MACHINE)
                .name("weekly-1")
                .status(ExecutionStatus::Succeeded)
                .start_date(DateTime::from_secs(1_795_000_000))
                .input(json!({"detail-type": "Scheduled Event"}).to_string())
                .output(output.to_string())
                .build()
                .unwrap()
        });
    let history = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
        GetExecutionHistoryOutput::builder()
            .events(entered(1, HistoryEventType::TaskStateEntered, "Deploy"))
            .events(
                HistoryEvent::builder()
                    .id(2)
                    .timestamp(DateTime::from_secs(2))
                    .r#type(HistoryEventType::TaskStateExited)
                    .state_exited_event_details(
                        StateExitedEventDetails::builder()
                            .name("Deploy")
                            .output("{}")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .events(entered(
                3,
                HistoryEventType::SucceedStateEntered,
                "Deployed",
            ))
            .build()
            .unwrap()
    });
    let ops = ops(&[&describe, &history], &[]);
    let (r, out) = call(&["status", "weekly-1"], &ops).await;
    assert_eq!(r, Ok(true));
    for want in [
        "weekly-1",
        "(schedule)",
        "ended at Deployed",
        "13.10 % (threshold 20.00 %)",
        "decision      deployed",
        "prophet-forecasting-models-v2-abc",
        "alerts        none",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    let (_, json_out) = call(&["--json", "status", "weekly-1"], &ops).await;
    let v: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(v["decision"], "deployed");
    assert_eq!(v["mape"], 13.1);
}

#[tokio::test]
async fn redrive_explains_why_an_execution_cannot_be_redriven() {
    let describe_with = |status: ExecutionStatus, stopped: Option<i64>| {
        mock!(aws_sdk_sfn::Client::describe_execution).then_output(move || {
            let mut b = DescribeExecutionOutput::builder()
                .execution_arn(format!("{MACHINE}:r").replace(":stateMachine:", ":execution:"))
                .state_machine_arn(MACHINE)
                .name("r")
                .status(status.clone())
                .start_date(DateTime::from_secs(0));
            if let Some(s) = stopped {
                b = b.stop_date(DateTime::from_secs(s));
            }
            b.build().unwrap()
        })
    };
    let redrive = mock!(aws_sdk_sfn::Client::redrive_execution).then_output(|| {
        RedriveExecutionOutput::builder()
            .redrive_date(DateTime::from_secs(1_795_000_000))
            .build()
            .unwrap()
    });
    // Succeeded: refused before asking Step Functions.
    let succeeded = describe_with(ExecutionStatus::Succeeded, Some(10));
    let o = ops(&[&succeeded, &redrive], &[]);
    match call(&["redrive", "r"], &o).await.0 {
        Err(CliError::Refused(m)) => assert!(m.contains("it is SUCCEEDED"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Failed more than 14 days ago.
    let old = describe_with(
        ExecutionStatus::Failed,
        Some(chrono::Utc::now().timestamp() - 20 * 86_400),
    );
    let o = ops(&[&old, &redrive], &[]);
    match call(&["redrive", "r"], &o).await.0 {
        Err(CliError::Refused(m)) => assert!(m.contains("within 14 days"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(redrive.num_calls(), 0);
    // Step Functions' own refusal is passed on with its reason.
    let recent = describe_with(
        ExecutionStatus::Failed,
        Some(chrono::Utc::now().timestamp() - 60),
    );
    let refused = mock!(aws_sdk_sfn::Client::redrive_execution).then_error(|| {
        RedriveExecutionError::ExecutionNotRedrivable(
            ExecutionNotRedrivable::builder()
                .message("Execution has reached the redrive limit")
                .build(),
        )
    });
    let o = ops(&[&recent, &refused], &[]);
    match call(&["redrive", "r"], &o).await.0 {
        Err(CliError::Refused(m)) => assert!(m.contains("redrive limit"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A recent failure redrives.
    let o = ops(&[&recent, &redrive], &[]);
    let (r, out) = call(&["redrive", "r"], &o).await;
    assert_eq!(r, Ok(true));
    assert!(out.starts_with("redriven "), "{out}");
    assert_eq!(redrive.num_calls(), 1);
}

#[tokio::test]
async fn approve_and_reject_set_the_status_and_the_note_on_the_version() {
    let seen = recorder::<UpdateModelPackageInput>();
    let s = seen.clone();
    let update =
        mock!(aws_sdk_sagemaker::Client::update_model_package).then_compute_output(move |req| {
            s.lock().unwrap().push(req.clone());
            UpdateModelPackageOutput::builder()
                .model_package_arn(req.model_package_arn().unwrap())
                .build()
        });
    let o = ops(&[], &[&update]);
    assert_eq!(
        call(&["approve", "7", "--note", "checked the folds"], &o)
            .await
            .0,
        Ok(true)
    );
    assert_eq!(
        call(
            &[
                "reject",
                "arn:aws:sagemaker:eu-west-1:111122223333:model-package/g/3"
            ],
            &o
        )
        .await
        .0,
        Ok(true)
    );
    let reqs = seen.lock().unwrap().clone();
    assert_eq!(
        reqs[0].model_package_arn(),
        Some("arn:aws:sagemaker:eu-west-1:111122223333:model-package/prophet-forecasting-models/7")
    );
    assert_eq!(
        reqs[0].model_approval_status(),
        Some(&ModelApprovalStatus::Approved)
    );
    assert_eq!(reqs[0].approval_description(), Some("checked the folds"));
    assert_eq!(
        reqs[1].model_approval_status(),
        Some(&ModelApprovalStatus::Rejected)
    );
    assert_eq!(reqs[1].approval_description(), None);
    // Not a version: refused before any call.
    assert!(matches!(
        call(&["approve", "latest"], &o).await.0,
        Err(CliError::Invalid { .. })
    ));
    assert_eq!(update.num_calls(), 2);
}
