use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::put_metric_alarm::{PutMetricAlarmInput, PutMetricAlarmOutput};
use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm};
use aws_sdk_sagemaker::operation::create_model_package::CreateModelPackageInput;
use aws_sdk_sagemaker::operation::describe_endpoint_config::DescribeEndpointConfigOutput;
use aws_sdk_sagemaker::operation::list_model_packages::ListModelPackagesOutput;
use aws_sdk_sagemaker::types::{EndpointStatus, ModelApprovalStatus, ProductionVariant};
use aws_smithy_mocks::mock;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use retrain_core::payload::AlertMode;
use retrain_core::testing::{
    model_package, registering, serving_endpoint, version_summary, MockContext, Mocked, Recorder,
};
use retrain_core::WorkerError;

use run_report::testing::{self as report_testing, Lake};

use super::handle;

const JOB: &str = "prophet-retrain-weekly-0123456789";
const ARTIFACT: &str = "s3://ticket-forecasting-lake/training-output/prophet-retrain-weekly-0123456789/output/model.tar.gz";
const PENDING_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/prophet-forecasting-models/5";
const SERVING: &str = "prophet-forecasting-models-v4-1a2b3c4d5e";

#[derive(Clone, Copy)]
struct World {
    endpoint: bool,
    alarm_exists: bool,
    version_exists: bool,
}

const WORLD: World = World {
    endpoint: true,
    alarm_exists: false,
    version_exists: false,
};

#[derive(Default)]
struct Calls {
    register: Recorder<CreateModelPackageInput>,
    alarm: Recorder<PutMetricAlarmInput>,
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn context(w: World) -> (Mocked, Calls) {
    let calls = Calls::default();
    let endpoint = serving_endpoint(
        w.endpoint
            .then(|| (EndpointStatus::InService, "cfg-serving".to_string())),
    );
    let config = mock!(aws_sdk_sagemaker::Client::describe_endpoint_config)
        .match_requests(|r| r.endpoint_config_name() == Some("cfg-serving"))
        .then_output(|| {
            DescribeEndpointConfigOutput::builder()
                .endpoint_config_name("cfg-serving")
                .production_variants(
                    ProductionVariant::builder()
                        .variant_name("primary")
                        .model_name(SERVING)
                        .build(),
                )
                .build()
        });
    let list =
        mock!(aws_sdk_sagemaker::Client::list_model_packages).then_compute_output(move |_| {
            let mut out = ListModelPackagesOutput::builder();
            if w.version_exists {
                let pending = Some(ModelApprovalStatus::PendingManualApproval);
                out = out.model_package_summary_list(version_summary(PENDING_ARN, 5, JOB, pending));
            }
            out.build()
        });
    let register = registering(PENDING_ARN, &calls.register);
    // The run report's MAPE history: the pending version of this run.
    let describe =
        mock!(aws_sdk_sagemaker::Client::describe_model_package).then_compute_output(|req| {
            let pending = ModelApprovalStatus::PendingManualApproval;
            let arn = req.model_package_name().unwrap();
            model_package(arn, "prophet-forecasting-models", 5, pending, ARTIFACT)
                .customer_metadata_properties("mape", "35")
                .customer_metadata_properties("decision", "rejected")
                .customer_metadata_properties("training_job", JOB)
                .build()
        });
    // What the run report reads: a ticket file, this job's archive (no predictions.csv).
    let lake = Lake::default()
        .with(
            "bronze/2026-11-20.csv",
            "ticket_id,created_date\n1,2026-11-20\n2,2026-11-20\n3,2026-11-21\n",
            t0() - Duration::days(2),
        )
        .with_model(
            "training-output/prophet-retrain-weekly-0123456789/output/model.tar.gz",
            None,
            t0() + Duration::minutes(20),
        );
    let history = report_testing::execution_history(
        EXECUTION_ARN,
        report_testing::history(&[
            ("StartTraining", t0(), Some(t0() + Duration::seconds(4))),
            ("RejectAndAlert", t0() + Duration::minutes(40), None),
        ]),
    );
    let describe_alarms =
        mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_compute_output(move |req| {
            assert_eq!(
                req.alarm_names(),
                ["prophet-fastapi-endpoint-latest-mape-drift-alarm"]
            );
            let mut out = DescribeAlarmsOutput::builder();
            if w.alarm_exists {
                out = out.metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("prophet-fastapi-endpoint-latest-mape-drift-alarm")
                        .build(),
                );
            }
            out.build()
        });
    let rec = calls.alarm.clone();
    let put_alarm =
        mock!(aws_sdk_cloudwatch::Client::put_metric_alarm).then_compute_output(move |req| {
            rec.record(req);
            PutMetricAlarmOutput::builder().build()
        });
    // No rule for UpdateEndpoint, CreateEndpoint or any write to the endpoint: such a call fails.
    let ctx = MockContext::new(&crate::WORKER)
        .sm([&endpoint, &config, &list, &register, &describe])
        .s3(&lake.rules())
        .sfn([&history])
        .cw([&describe_alarms, &put_alarm])
        .build();
    (ctx, calls)
}

const EXECUTION_ARN: &str =
    "arn:aws:states:us-east-1:123456789012:execution:retraining:weekly-2026-11-22";

fn state(mape: Value) -> Value {
    json!({
        "run": {
            "execution": "weekly-2026-11-22", "execution_arn": EXECUTION_ARN,
            "trigger": "schedule", "action": "train", "reason": "r",
            "mape_threshold": 20.0, "poll_seconds": 60, "deadline_seconds": 5400,
            "training": {"job_name": JOB, "output_path": "s3://ticket-forecasting-lake/training-output/",
                         "created_at": "2026-11-22T09:00:00Z", "adopted": false}
        },
        "job": {"kind": "training", "name": JOB, "status": "Completed", "outcome": "succeeded",
                "model_artifact": ARTIFACT, "elapsed_seconds": 700, "deadline_passed": false},
        "evaluation": {"job_name": JOB, "mape": mape, "rmse": 30.0, "mae": 20.0, "threshold": 20.0,
                       "source": "job_artifact", "passed": false,
                       "unknown_reason": if mape.is_null() { json!("`mape` is null") } else { json!(null) }}
    })
}

fn request(mode: &str, state: Value) -> Value {
    json!({"mode": mode, "execution": "weekly-2026-11-22", "state": state})
}

#[tokio::test]
async fn a_rejected_model_is_registered_pending_and_alerted() {
    let (ctx, calls) = context(WORLD);
    let out = handle(&ctx, request("rejected", state(json!(25.3))))
        .await
        .unwrap();
    assert_eq!(out.mode, AlertMode::Rejected);
    assert_eq!(out.serving_model, SERVING);
    assert_eq!(out.model_package_arn.as_deref(), Some(PENDING_ARN));
    assert!(out.alarm_created);

    let reg = calls.register.one();
    assert_eq!(
        reg.model_approval_status(),
        Some(&ModelApprovalStatus::PendingManualApproval)
    );
    assert_eq!(
        reg.inference_specification().unwrap().containers()[0].model_data_url(),
        Some(ARTIFACT)
    );
    let meta = reg.customer_metadata_properties().unwrap();
    assert!(
        !meta.contains_key("approved_by"),
        "an approval by a person must deploy it"
    );
    assert_eq!(meta["decision"], "rejected");

    let metric = ctx.metrics().one();
    let d = &metric.metric_data()[0];
    assert_eq!(
        (metric.namespace(), d.metric_name(), d.value()),
        (
            Some("MLOps/Forecasting"),
            Some("ModelDriftDetected"),
            Some(1.0)
        )
    );

    let alarm = calls.alarm.one();
    assert_eq!(
        alarm.alarm_name(),
        Some("prophet-fastapi-endpoint-latest-mape-drift-alarm")
    );
    assert_eq!(alarm.namespace(), Some("MLOps/Forecasting"));
    assert_eq!(alarm.metric_name(), Some("ModelMAPE"));
    assert_eq!(alarm.threshold(), Some(20.0));
    assert_eq!(
        alarm.comparison_operator(),
        Some(&ComparisonOperator::GreaterThanThreshold)
    );
    assert_eq!(
        alarm.alarm_actions(),
        std::slice::from_ref(&ctx.cfg.topic_arn)
    );
    assert_eq!(
        alarm.dimensions()[0].value(),
        Some("prophet-fastapi-endpoint-latest")
    );
    assert_eq!(alarm.treat_missing_data(), Some("notBreaching"));

    let sent = ctx.published().one();
    assert_eq!(sent.topic_arn(), Some(ctx.cfg.topic_arn.as_str()));
    assert_eq!(sent.subject(), Some("Model Needs Manual Approval"));
    let body = sent.message().unwrap();
    assert!(body.starts_with(
        "New model exceeded MAPE threshold. MAPE: 25.3%, Threshold: 20.0%. Please review and approve manually."
    ), "{body}");
    assert!(
        body.contains(SERVING) && body.contains(PENDING_ARN),
        "{body}"
    );
}

#[tokio::test]
async fn an_existing_alarm_and_version_are_reused() {
    let (ctx, calls) = context(World {
        alarm_exists: true,
        version_exists: true,
        ..WORLD
    });
    let out = handle(&ctx, request("rejected", state(json!(31.0))))
        .await
        .unwrap();
    assert!(!out.alarm_created);
    assert!(
        calls.alarm.is_empty(),
        "a stack-managed alarm is left as it is"
    );
    assert!(
        calls.register.is_empty(),
        "never a second version for the same job"
    );
    assert_eq!(out.model_package_arn.as_deref(), Some(PENDING_ARN));
}

#[tokio::test]
async fn without_an_endpoint_the_serving_model_is_none() {
    let (ctx, _) = context(World {
        endpoint: false,
        ..WORLD
    });
    let out = handle(&ctx, request("rejected", state(json!(20.0))))
        .await
        .unwrap();
    assert_eq!(out.serving_model, "none");
    assert!(ctx
        .published()
        .one()
        .message()
        .unwrap()
        .contains("Still serving: none"));
}

#[tokio::test]
async fn unknown_mape_has_its_own_alert() {
    let (ctx, calls) = context(WORLD);
    let out = handle(&ctx, request("unknown_mape", state(json!(null))))
        .await
        .unwrap();
    assert_eq!(out.subject, "Model MAPE Unknown - Manual Review Needed");
    let reg = calls.register.one();
    assert_eq!(
        reg.model_approval_status(),
        Some(&ModelApprovalStatus::PendingManualApproval)
    );
    assert_eq!(
        reg.customer_metadata_properties().unwrap()["mape"],
        "unknown"
    );
    assert!(ctx.metrics().is_empty(), "unknown is not drift");
    assert!(ctx
        .published()
        .one()
        .message()
        .unwrap()
        .contains("`mape` is null"));
}

#[tokio::test]
async fn a_failed_job_is_reported_with_sagemakers_reason() {
    let (ctx, calls) = context(WORLD);
    let mut s = state(json!(null));
    s["job"] = json!({"kind": "training", "name": JOB, "status": "Failed", "outcome": "failed",
                      "failure_reason": "AlgorithmError: not enough data", "elapsed_seconds": 300,
                      "deadline_passed": false});
    s.as_object_mut().unwrap().remove("evaluation");
    let out = handle(&ctx, request("training_failed", s)).await.unwrap();
    assert_eq!(out.subject, "Model Retraining Failed");
    let body = ctx.published().one().message().unwrap().to_string();
    assert!(
        body.contains("AlgorithmError: not enough data") && body.contains("Failed"),
        "{body}"
    );
    assert!(calls.register.is_empty() && ctx.metrics().is_empty());
}

#[tokio::test]
async fn a_caught_error_is_reported() {
    let (ctx, _) = context(WORLD);
    let ev = json!({"mode": "error", "execution": "exec-9",
                    "error": {"Error": "AwsError", "Cause": "AccessDenied on CreateTrainingJob"}});
    let out = handle(&ctx, ev).await.unwrap();
    assert_eq!(out.subject, "Model Retraining Pipeline Error");
    let body = ctx.published().one().message().unwrap().to_string();
    assert!(
        body.contains("exec-9") && body.contains("AccessDenied"),
        "{body}"
    );
}

/// What the execution-status rule delivers: the event's detail whole, its cause a failed
/// Lambda task's JSON with quotes and newlines.
#[tokio::test]
async fn a_failed_executions_status_change_is_reported_with_its_cause_intact() {
    let (ctx, calls) = context(WORLD);
    let cause = r#"{"errorMessage":"AWS error in CreateTrainingJob: \"AccessDenied\"\nline 2","errorType":"AwsError"}"#;
    let ev = json!({"mode": "error", "execution_status": {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:retraining:exec-9",
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:retraining",
        "name": "exec-9", "status": "FAILED", "error": "AwsError", "cause": cause,
        "startDate": 1764316800000_i64, "stopDate": 1764317000000_i64,
        "input": "{}", "output": null, "redriveCount": 0}});
    let out = handle(&ctx, ev).await.unwrap();
    assert_eq!(out.subject, "Model Retraining Pipeline Error");
    let body = ctx.published().one().message().unwrap().to_string();
    assert!(body.contains("exec-9"), "{body}");
    assert!(body.contains(&format!("FAILED: {cause}")), "{body}");
    assert!(calls.register.is_empty());
}

#[tokio::test]
async fn an_implausibly_low_mape_waits_for_a_person_with_its_own_alert() {
    let (ctx, calls) = context(WORLD);
    let out = handle(&ctx, request("implausible_mape", state(json!(0.25))))
        .await
        .unwrap();
    assert_eq!(
        out.subject,
        "Model MAPE Implausibly Low - Manual Review Needed"
    );
    let reg = calls.register.one();
    assert_eq!(
        reg.model_approval_status(),
        Some(&ModelApprovalStatus::PendingManualApproval)
    );
    let body = ctx.published().one().message().unwrap().to_string();
    assert!(
        body.contains("0.25%") && body.contains("check the trainer's units and data"),
        "{body}"
    );
    assert!(ctx.metrics().is_empty(), "an implausible MAPE is not drift");
    // The mode must fit the MAPE: 10 % is not implausible.
    let (ctx, calls) = context(WORLD);
    let err = handle(&ctx, request("implausible_mape", state(json!(10.0))))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidInput");
    assert!(calls.register.is_empty() && ctx.published().is_empty());
}

fn worse_state() -> Value {
    let mut s = state(json!(9.5));
    s["evaluation"]["passed"] = json!(true);
    let days: Vec<Value> = (2..9)
        .map(|d| json!({"date": format!("2026-11-{d:02}"), "actual": 100, "serving": 95, "challenger": 110}))
        .collect();
    s["evaluation"]["champion"] = json!({
        "verdict": "worse", "serving_model": "ep-config-v3", "serving_mape": 5.0,
        "challenger_mape": 10.0, "margin": 1.0, "days": days,
        "reason": "on the 7 days 2026-11-02 to 2026-11-08 the new model's MAPE is 10.00 %, the serving model's 5.00 %: worse by more than the margin (1 point)"
    });
    s
}

#[tokio::test]
async fn a_model_worse_than_the_serving_one_waits_for_a_person_with_both_mapes() {
    let (ctx, calls) = context(WORLD);
    let out = handle(&ctx, request("worse_than_serving", worse_state()))
        .await
        .unwrap();
    assert_eq!(
        out.subject,
        "Model Worse Than Serving Model - Manual Approval Needed"
    );
    let reg = calls.register.one();
    assert_eq!(
        reg.model_approval_status(),
        Some(&ModelApprovalStatus::PendingManualApproval)
    );
    assert!(out.model_package_arn.is_some());
    let body = ctx.published().one().message().unwrap().to_string();
    for needle in [
        "backtest MAPE: 9.5%",
        "its MAPE is 10.0%, the serving model's 5.0%",
        "2026-11-02 to 2026-11-08 (7 days)",
        "2026-11-05, 100, 95, 110",
        "The serving model stays",
    ] {
        assert!(body.contains(needle), "{needle}: {body}");
    }
    assert!(ctx.metrics().is_empty(), "a worse model is not drift");
    // The mode must fit: without a `worse` verdict it changes nothing.
    for verdict in ["not_worse", "no_comparison"] {
        let (ctx, calls) = context(WORLD);
        let mut s = worse_state();
        s["evaluation"]["champion"]["verdict"] = json!(verdict);
        let err = handle(&ctx, request("worse_than_serving", s))
            .await
            .unwrap_err();
        assert_eq!(err.name(), "InvalidInput", "{verdict}");
        assert!(calls.register.is_empty() && ctx.published().is_empty());
    }
    // Nor over the threshold: that is a rejection.
    let (ctx, calls) = context(WORLD);
    let mut s = worse_state();
    s["evaluation"]["mape"] = json!(25.0);
    let err = handle(&ctx, request("worse_than_serving", s))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidInput");
    assert!(calls.register.is_empty() && ctx.published().is_empty());
}

#[tokio::test]
async fn a_failure_alert_with_a_huge_cause_still_goes_out() {
    let (ctx, _) = context(WORLD);
    let cause = format!("States.Runtime: {}", "x".repeat(1 << 20));
    let ev = json!({"mode": "error", "execution": "exec-9",
                    "error": {"Error": "States.Runtime", "Cause": cause}});
    handle(&ctx, ev).await.unwrap();
    let sent = ctx.published().one();
    let body = sent.message().unwrap();
    assert!(body.len() < 8 * 1024, "{} bytes", body.len());
    assert!(body.contains("bytes in all"), "the cut is stated");
    assert!(
        body.contains("Still serving: "),
        "the tail of the alert is kept"
    );
    let subject = sent.subject().unwrap();
    assert!(subject.len() < 100 && !subject.contains('\n'));
}

#[tokio::test]
async fn a_mode_that_does_not_fit_the_state_changes_nothing() {
    let (ctx, calls) = context(WORLD);
    let err = handle(&ctx, request("rejected", state(json!(10.0))))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkerError::InvalidInput { ref field, .. } if field == "mode"),
        "{err}"
    );
    let err = handle(&ctx, json!({"mode": "shout"})).await.unwrap_err();
    assert!(
        matches!(err, WorkerError::InvalidInput { ref field, .. } if field == "mode"),
        "{err}"
    );
    let err = handle(&ctx, json!({"mode": "error"})).await.unwrap_err();
    assert_eq!(
        err,
        WorkerError::invalid("error", "missing: no error to report")
    );
    assert!(calls.register.is_empty() && ctx.published().is_empty() && ctx.metrics().is_empty());
}

const REPORT_URI: &str = "s3://ticket-forecasting-lake/reports/weekly-2026-11-22.html";

fn report_html(ctx: &Mocked) -> Option<String> {
    ctx.put_text("reports/weekly-2026-11-22.html")
}

#[tokio::test]
async fn a_rejected_run_has_a_report_and_its_alert_names_it() {
    let (ctx, _) = context(World {
        version_exists: true,
        ..WORLD
    });
    let out = handle(&ctx, request("rejected", state(json!(35.0))))
        .await
        .unwrap();
    assert_eq!(out.report.as_deref(), Some(REPORT_URI));
    let message = ctx.published().one().message().unwrap().to_string();
    assert!(
        message.ends_with(&format!(
            "\n\nRun report: {REPORT_URI}\nOpen it in the S3 console: https://us-east-1.console.aws.amazon.com/s3/object/ticket-forecasting-lake?region=us-east-1&prefix=reports/weekly-2026-11-22.html"
        )),
        "{message}"
    );
    assert!(
        message.starts_with("New model exceeded MAPE threshold. MAPE: 35.0%"),
        "the guide's text first"
    );

    let html = report_html(&ctx).expect("the report was written");
    assert!(html.contains(r#"data-field="decision">rejected<"#));
    assert!(html.contains(r#"data-field="mape">35.00 %<"#));
    assert!(html.contains(r#"data-field="threshold">20.00 %<"#));
    assert!(html.contains(&format!(r#"data-field="serving_before">{SERVING}<"#)));
    assert!(html.contains(&format!(r#"data-field="serving_after">{SERVING}<"#)));
    assert!(html.contains(r#"data-field="alerts">Model Needs Manual Approval<"#));
    assert!(
        html.contains(r#"data-chart="daily" data-points="2""#),
        "two days of tickets"
    );
    assert!(
        html.contains(r#"data-chart="history" data-points="1""#),
        "this run's version"
    );
    // The archive has no predictions.csv: the page says so instead of drawing.
    assert!(
        html.contains(r#"data-missing="folds">Not drawn: the trainer wrote no predictions.csv"#)
    );
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains(r#"<tr data-state="RejectAndAlert">"#));
}

#[tokio::test]
async fn a_failed_training_has_a_report_without_mape() {
    let (ctx, _) = context(WORLD);
    let mut s = state(json!(null));
    s["job"]["status"] = json!("Failed");
    s["job"]["outcome"] = json!("failed");
    s["job"]["failure_reason"] = json!("AlgorithmError: no data");
    s.as_object_mut().unwrap().remove("evaluation");
    handle(&ctx, request("training_failed", s)).await.unwrap();
    let html = report_html(&ctx).expect("the report was written");
    assert!(html.contains(r#"data-field="decision">training failed<"#));
    assert!(html.contains("the training job is Failed: AlgorithmError: no data"));
    assert!(html.contains(r#"data-field="mape">unknown<"#));
    assert!(html.contains(r#"data-missing="folds">Not drawn: the training job did not complete"#));
    assert!(ctx
        .published()
        .one()
        .message()
        .unwrap()
        .contains(REPORT_URI));
}
