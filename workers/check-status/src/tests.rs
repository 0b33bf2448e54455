use aws_sdk_sagemaker::operation::describe_endpoint::{
    DescribeEndpointError, DescribeEndpointOutput,
};
use aws_sdk_sagemaker::operation::describe_training_job::{
    DescribeTrainingJobError, DescribeTrainingJobOutput,
};
use aws_sdk_sagemaker::primitives::DateTime as SmithyTime;
use aws_sdk_sagemaker::types::error::ResourceNotFound;
use aws_sdk_sagemaker::types::{
    EndpointStatus, ModelArtifacts, SecondaryStatus, TrainingJobStatus,
};
use aws_sdk_sagemaker::types::{
    PendingDeploymentSummary, PendingProductionVariantSummary, ProductionVariantStatus,
    VariantStatus,
};
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::{
    InvokeEndpointError, InvokeEndpointOutput,
};
use aws_sdk_sagemakerruntime::types::error::ModelError;
use aws_smithy_mocks::{mock, Rule};
use chrono::{DateTime, Duration, Utc};
use retrain_core::aws::endpoint::EndpointInfo;
use serde_json::json;

use retrain_core::payload::{Outcome, StatusKind};
use retrain_core::testing::validation_not_found;
use retrain_core::time::to_smithy;
use retrain_core::WorkerError;

use retrain_core::testing::MockContext;

/// The handler with `sm` as its SageMaker client and the clock at `now`.
async fn handle(
    sm: &Rule,
    event: serde_json::Value,
    now: DateTime<Utc>,
) -> retrain_core::Result<retrain_core::payload::Status> {
    let ctx = MockContext::new(&crate::WORKER).at(now).sm([sm]).build();
    super::handle(&ctx, event).await
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn job(status: TrainingJobStatus, reason: Option<&str>, age: Duration) -> Rule {
    let reason = reason.map(str::to_string);
    mock!(aws_sdk_sagemaker::Client::describe_training_job)
        .match_requests(|r| r.training_job_name() == Some("job-1"))
        .then_output(move || {
            let mut out = DescribeTrainingJobOutput::builder()
                .training_job_name("job-1")
                .training_job_arn("arn:aws:sagemaker:us-east-1:1:training-job/job-1")
                .training_job_status(status.clone())
                .secondary_status(SecondaryStatus::Training)
                .creation_time(to_smithy(t0() - age))
                .training_start_time(to_smithy(t0() - age + Duration::seconds(90)))
                .set_failure_reason(reason.clone());
            if status == TrainingJobStatus::Completed {
                out = out.model_artifacts(
                    ModelArtifacts::builder()
                        .s3_model_artifacts("s3://b/training-output/job-1/output/model.tar.gz")
                        .build(),
                );
            }
            out.build()
        })
}

fn training_req(deadline: u64) -> serde_json::Value {
    json!({"kind": "training", "name": "job-1", "deadline_seconds": deadline})
}

#[tokio::test]
async fn a_running_job_keeps_the_loop_going() {
    let sm = job(TrainingJobStatus::InProgress, None, Duration::minutes(10));
    let s = handle(&sm, training_req(5400), t0()).await.unwrap();
    assert_eq!(s.kind, StatusKind::Training);
    assert_eq!(s.outcome, Outcome::Running);
    assert_eq!(s.status, "InProgress");
    assert_eq!(s.secondary_status.as_deref(), Some("Training"));
    assert_eq!(s.elapsed_seconds, 600);
    assert!(!s.deadline_passed);
    assert_eq!(
        s.started_at,
        Some(t0() - Duration::minutes(10) + Duration::seconds(90))
    );
}

#[tokio::test]
async fn past_the_deadline_is_reported() {
    let sm = job(TrainingJobStatus::InProgress, None, Duration::seconds(5401));
    let s = handle(&sm, training_req(5400), t0()).await.unwrap();
    assert!(s.deadline_passed);
    let sm = job(TrainingJobStatus::Completed, None, Duration::seconds(9000));
    let s = handle(&sm, training_req(5400), t0()).await.unwrap();
    assert!(!s.deadline_passed, "a finished job is never late");
}

#[tokio::test]
async fn completed_carries_the_artifact() {
    let sm = job(TrainingJobStatus::Completed, None, Duration::minutes(12));
    let s = handle(&sm, training_req(5400), t0()).await.unwrap();
    assert_eq!(s.outcome, Outcome::Succeeded);
    assert_eq!(
        s.model_artifact.as_deref(),
        Some("s3://b/training-output/job-1/output/model.tar.gz")
    );
    assert_eq!(
        s.arn.as_deref(),
        Some("arn:aws:sagemaker:us-east-1:1:training-job/job-1")
    );
}

#[tokio::test]
async fn failed_and_stopped_carry_the_reason() {
    let sm = job(
        TrainingJobStatus::Failed,
        Some("AlgorithmError: ValueError: no data"),
        Duration::minutes(3),
    );
    let s = handle(&sm, training_req(5400), t0()).await.unwrap();
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(
        s.failure_reason.as_deref(),
        Some("AlgorithmError: ValueError: no data")
    );
    let sm = job(
        TrainingJobStatus::Stopped,
        Some("MaxRuntimeExceeded"),
        Duration::minutes(61),
    );
    let s = handle(&sm, training_req(5400), t0()).await.unwrap();
    assert_eq!((s.outcome, s.status.as_str()), (Outcome::Failed, "Stopped"));
}

#[tokio::test]
async fn a_missing_job_is_not_found() {
    let rule = mock!(aws_sdk_sagemaker::Client::describe_training_job).then_error(|| {
        DescribeTrainingJobError::ResourceNotFound(
            ResourceNotFound::builder().message("nope").build(),
        )
    });
    let sm = rule;
    let err = handle(&sm, training_req(5400), t0()).await.unwrap_err();
    assert_eq!(err.name(), "NotFound");
}

fn endpoint(status: EndpointStatus, config: &str) -> Rule {
    let config = config.to_string();
    mock!(aws_sdk_sagemaker::Client::describe_endpoint).then_output(move || {
        DescribeEndpointOutput::builder()
            .endpoint_name("ep")
            .endpoint_config_name(&config)
            .endpoint_status(status.clone())
            .last_modified_time(SmithyTime::from_secs(t0().timestamp() - 300))
            .build()
    })
}

fn endpoint_req(expected: &str) -> serde_json::Value {
    json!({"kind": "endpoint", "name": "ep", "deadline_seconds": 3600, "expected_config": expected})
}

#[tokio::test]
async fn endpoint_states() {
    let s = handle(
        &endpoint(EndpointStatus::Updating, "new"),
        endpoint_req("new"),
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(
        (s.kind, s.outcome, s.elapsed_seconds),
        (StatusKind::Endpoint, Outcome::Running, 300)
    );
    let (s, _) = handle_invoking(
        &endpoint(EndpointStatus::InService, "new"),
        &answering(forecast_body(&[])),
        endpoint_req("new"),
    )
    .await;
    let s = s.unwrap();
    assert_eq!(s.outcome, Outcome::Succeeded);
    assert_eq!(s.config_name.as_deref(), Some("new"));
    let s = handle(
        &endpoint(EndpointStatus::InService, "old"),
        endpoint_req("new"),
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(s.outcome, Outcome::Failed, "rolled back to the old config");
    assert!(s.failure_reason.unwrap().contains("rolled back"));
    let s = handle(
        &endpoint(EndpointStatus::Failed, "new"),
        endpoint_req("new"),
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(s.outcome, Outcome::Failed);
}

/// The handler with SageMaker and sagemaker-runtime mocked, at t0; the mocked context too (its
/// recorded metrics).
async fn handle_invoking(
    sm: &Rule,
    smr: &Rule,
    event: serde_json::Value,
) -> (
    retrain_core::Result<retrain_core::payload::Status>,
    retrain_core::testing::Mocked,
) {
    let ctx = MockContext::new(&crate::WORKER)
        .at(t0())
        .sm([sm])
        .smr([smr])
        .build();
    (super::handle(&ctx, event).await, ctx)
}

/// The canary's forecast at t0 (the week from 2026-11-23), with `(index, field, value)` changed.
fn forecast_body(changes: &[(usize, &str, serde_json::Value)]) -> Vec<u8> {
    let mut days: Vec<serde_json::Value> = (0..7)
        .map(|i| {
            json!({"day": i + 1, "date": format!("2026-11-{}", 23 + i), "forecast_ticket_count": 40,
                   "lower_bound": 31, "upper_bound": 50})
        })
        .collect();
    for (i, field, value) in changes {
        days[*i][*field] = value.clone();
    }
    serde_json::to_vec(&json!({ "forecast": days })).unwrap()
}

/// InvokeEndpoint answering `body`; it asserts the request is the contract's canary.
fn answering(body: Vec<u8>) -> Rule {
    mock!(aws_sdk_sagemakerruntime::Client::invoke_endpoint)
        .match_requests(|r| {
            r.endpoint_name() == Some("ep")
                && r.content_type() == Some("application/json")
                && r.body().map(|b| b.as_ref())
                    == Some(br#"{"horizon_days":7,"start_date":"2026-11-23"}"#.as_slice())
        })
        .then_output(move || {
            InvokeEndpointOutput::builder()
                .body(aws_sdk_sagemakerruntime::primitives::Blob::new(
                    body.clone(),
                ))
                .content_type("application/json")
                .build()
        })
}

/// An endpoint updating to `new`, its fleet baking.
fn baking() -> Rule {
    mock!(aws_sdk_sagemaker::Client::describe_endpoint).then_output(|| {
        DescribeEndpointOutput::builder()
            .endpoint_name("ep")
            .endpoint_config_name("old")
            .endpoint_status(EndpointStatus::Updating)
            .last_modified_time(SmithyTime::from_secs(t0().timestamp() - 300))
            .pending_deployment_summary(
                PendingDeploymentSummary::builder()
                    .endpoint_config_name("new")
                    .production_variants(
                        PendingProductionVariantSummary::builder()
                            .variant_name("primary")
                            .variant_status(
                                ProductionVariantStatus::builder()
                                    .status(VariantStatus::Baking)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

fn canary_metric(ctx: &retrain_core::testing::Mocked) -> Vec<f64> {
    ctx.metrics()
        .all()
        .iter()
        .flat_map(|m| m.metric_data().to_vec())
        .filter(|d| d.metric_name() == Some("ForecastCanaryFailures"))
        .map(|d| {
            assert_eq!(
                d.dimensions()[0].value(),
                Some("prophet-fastapi-endpoint-latest")
            );
            d.value().unwrap()
        })
        .collect()
}

#[tokio::test]
async fn the_canary_asks_the_baking_model_and_a_good_answer_keeps_waiting() {
    let (s, ctx) = handle_invoking(
        &baking(),
        &answering(forecast_body(&[])),
        endpoint_req("new"),
    )
    .await;
    let s = s.unwrap();
    assert_eq!(s.outcome, Outcome::Running, "the bake goes on");
    let canary = s.canary.unwrap();
    assert!(canary.passed);
    assert_eq!(
        (canary.config_name.as_str(), canary.during.as_str()),
        ("new", "baking")
    );
    assert_eq!(canary_metric(&ctx), vec![0.0]);
}

#[tokio::test]
async fn a_broken_answer_in_the_bake_fails_the_deploy_and_sets_off_the_rollback_alarm() {
    let broken = forecast_body(&[(3, "lower_bound", json!(60))]);
    let (s, ctx) = handle_invoking(&baking(), &answering(broken), endpoint_req("new")).await;
    let s = s.unwrap();
    assert_eq!(s.outcome, Outcome::Failed);
    let reason = s.failure_reason.unwrap();
    assert!(reason.contains("the new model (new) failed the forecast canary while it baked: forecast[3]: lower_bound 60 <= forecast_ticket_count 40"), "{reason}");
    assert!(reason.contains("returns the endpoint to old"), "{reason}");
    assert_eq!(canary_metric(&ctx), vec![1.0]);
}

#[tokio::test]
async fn a_model_error_fails_the_canary_with_the_models_message() {
    let smr = mock!(aws_sdk_sagemakerruntime::Client::invoke_endpoint).then_error(|| {
        InvokeEndpointError::ModelError(
            ModelError::builder()
                .original_status_code(500)
                .original_message("model not loaded")
                .message("Received server error (500) from primary")
                .build(),
        )
    });
    let (s, ctx) = handle_invoking(
        &endpoint(EndpointStatus::InService, "new"),
        &smr,
        endpoint_req("new"),
    )
    .await;
    let s = s.unwrap();
    assert_eq!(s.outcome, Outcome::Failed);
    let reason = s.failure_reason.unwrap();
    assert!(reason.contains("the endpoint serves new, whose forecast fails the serving contract: the model answered 500: model not loaded"), "{reason}");
    assert_eq!(canary_metric(&ctx), vec![1.0]);
}

#[tokio::test]
async fn a_throttled_canary_is_retried_not_judged() {
    let smr = mock!(aws_sdk_sagemakerruntime::Client::invoke_endpoint)
        .then_error(|| InvokeEndpointError::generic(retrain_core::testing::throttled()));
    let (s, ctx) = handle_invoking(&baking(), &smr, endpoint_req("new")).await;
    assert!(matches!(
        s.unwrap_err(),
        WorkerError::AwsTransient { .. } | WorkerError::Aws { .. }
    ));
    assert!(
        canary_metric(&ctx).is_empty(),
        "no verdict without an answer"
    );
}

#[test]
fn no_canary_while_a_fleet_starts_or_after_a_rollback() {
    let info = |status: &str, config: &str, pending: Option<&str>, baking: bool| EndpointInfo {
        status: status.into(),
        config_name: config.into(),
        failure_reason: None,
        last_modified: None,
        variants: Vec::new(),
        pending_config: pending.map(str::to_string),
        baking,
    };
    use crate::handler::canary_phase;
    let new = Some("new");
    assert_eq!(
        canary_phase(&info("Updating", "old", new, false), Outcome::Running, new),
        None
    );
    assert_eq!(
        canary_phase(&info("Updating", "old", new, true), Outcome::Running, new),
        Some(("new".to_string(), "baking"))
    );
    // Baking another config than this run's: not this run's model.
    assert_eq!(
        canary_phase(
            &info("Updating", "old", Some("other"), true),
            Outcome::Running,
            new
        ),
        None
    );
    assert_eq!(
        canary_phase(&info("InService", "old", None, false), Outcome::Failed, new),
        None
    );
    assert_eq!(
        canary_phase(
            &info("InService", "new", None, false),
            Outcome::Succeeded,
            new
        ),
        Some(("new".to_string(), "in_service"))
    );
}

#[tokio::test]
async fn a_missing_endpoint_is_not_found() {
    let rule = mock!(aws_sdk_sagemaker::Client::describe_endpoint)
        .then_error(|| DescribeEndpointError::generic(validation_not_found("endpoint \"ep\"")));
    let sm = rule;
    let err = handle(&sm, endpoint_req("x"), t0()).await.unwrap_err();
    assert_eq!(
        err,
        WorkerError::NotFound {
            what: "endpoint ep".into()
        }
    );
}

#[tokio::test]
async fn a_malformed_request_is_named() {
    let sm = endpoint(EndpointStatus::InService, "x");
    for (ev, field) in [
        (
            json!({"kind": "model", "name": "x", "deadline_seconds": 1}),
            "kind",
        ),
        (json!({"kind": "training", "deadline_seconds": 1}), "name"),
        (
            json!({"kind": "training", "name": "j", "deadline_seconds": -1}),
            "deadline_seconds",
        ),
        (
            json!({"kind": "training", "name": "", "deadline_seconds": 1}),
            "name",
        ),
        (
            json!({"kind": "training", "name": "j", "deadline_seconds": 1, "extra": 1}),
            "extra",
        ),
    ] {
        match handle(&sm, ev.clone(), t0()).await {
            Err(WorkerError::InvalidInput { field: f, .. }) => assert_eq!(f, field, "{ev}"),
            other => panic!("{ev}: {other:?}"),
        }
    }
}

#[test]
fn every_failed_stopped_or_overdue_outcome_has_a_string_reason() {
    use super::failure_reason;
    let r = failure_reason("training job j", "Stopped", Outcome::Failed, None, None).unwrap();
    assert!(
        r.contains("Stopped") && r.contains("no failure reason"),
        "{r}"
    );
    let r = failure_reason(
        "endpoint ep",
        "Failed",
        Outcome::Failed,
        None,
        Some(" ".into()),
    );
    assert!(r.unwrap().contains("endpoint ep is Failed"));
    let r = failure_reason(
        "training job j",
        "InProgress",
        Outcome::Running,
        Some((6000, 5400)),
        None,
    );
    assert!(r.unwrap().contains("past the deadline of 5400 s"));
    assert_eq!(
        failure_reason("j", "Failed", Outcome::Failed, None, Some("OOM".into())).as_deref(),
        Some("OOM")
    );
    assert_eq!(
        failure_reason("j", "InProgress", Outcome::Running, None, None),
        None
    );
}

#[tokio::test]
async fn the_next_poll_grows_with_the_time_waited() {
    let sm = job(TrainingJobStatus::InProgress, None, Duration::minutes(100));
    let req =
        json!({"kind": "training", "name": "job-1", "deadline_seconds": 90000, "poll_seconds": 10});
    let s = handle(&sm, req, t0()).await.unwrap();
    assert_eq!(
        s.next_poll_seconds, 300,
        "6000 s in: a twentieth, capped at five minutes"
    );
    let s = handle(&sm, training_req(1000), t0()).await.unwrap();
    assert!(s.deadline_passed);
    assert!(s.failure_reason.unwrap().contains("past the deadline"));
}

/// A managed spot job that ended as `status`/`secondary`, having trained 600 s and billed 180 s.
fn spot_job(status: TrainingJobStatus, secondary: SecondaryStatus) -> Rule {
    mock!(aws_sdk_sagemaker::Client::describe_training_job)
        .match_requests(|r| r.training_job_name() == Some("job-1"))
        .then_output(move || {
            DescribeTrainingJobOutput::builder()
                .training_job_name("job-1")
                .training_job_status(status.clone())
                .secondary_status(secondary.clone())
                .enable_managed_spot_training(true)
                .creation_time(to_smithy(t0() - Duration::minutes(30)))
                .training_time_in_seconds(600)
                .billable_time_in_seconds(180)
                .build()
        })
}

#[tokio::test]
async fn a_spot_job_stopped_at_its_max_wait_says_why_and_what_to_do() {
    let sm = spot_job(
        TrainingJobStatus::Stopped,
        SecondaryStatus::MaxWaitTimeExceeded,
    );
    let s = handle(&sm, training_req(9000), t0()).await.unwrap();
    assert_eq!(s.outcome, Outcome::Failed);
    let reason = s.failure_reason.unwrap();
    assert!(reason.starts_with("MaxWaitTimeExceeded"), "{reason}");
    assert!(reason.contains("retrain start --spot false"), "{reason}");
}

#[tokio::test]
async fn an_interrupted_spot_job_keeps_the_loop_going_and_an_ended_one_reports_its_billing() {
    let sm = spot_job(TrainingJobStatus::InProgress, SecondaryStatus::Interrupted);
    let s = handle(&sm, training_req(9000), t0()).await.unwrap();
    assert_eq!(s.outcome, Outcome::Running);
    assert_eq!(s.failure_reason, None);
    assert_eq!(s.billing, None, "no billing while it runs");
    let sm = spot_job(TrainingJobStatus::Completed, SecondaryStatus::Completed);
    let s = handle(&sm, training_req(9000), t0()).await.unwrap();
    let billing = s.billing.unwrap();
    assert!(billing.spot);
    assert_eq!(
        (billing.training_seconds, billing.billable_seconds),
        (600, 180)
    );
    assert!((billing.savings_percent() - 70.0).abs() < 1e-9);
}
