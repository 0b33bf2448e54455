use aws_sdk_s3::error::ErrorMetadata;
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_sagemaker::operation::create_endpoint::{CreateEndpointInput, CreateEndpointOutput};
use aws_sdk_sagemaker::operation::create_endpoint_config::{
    CreateEndpointConfigInput, CreateEndpointConfigOutput,
};
use aws_sdk_sagemaker::operation::create_model::{CreateModelInput, CreateModelOutput};
use aws_sdk_sagemaker::operation::create_model_package::CreateModelPackageInput;
use aws_sdk_sagemaker::operation::describe_endpoint::DescribeEndpointOutput;
use aws_sdk_sagemaker::operation::describe_endpoint_config::{
    DescribeEndpointConfigError, DescribeEndpointConfigOutput,
};
use aws_sdk_sagemaker::operation::describe_model::{DescribeModelError, DescribeModelOutput};
use aws_sdk_sagemaker::operation::list_model_packages::ListModelPackagesOutput;
use aws_sdk_sagemaker::operation::update_endpoint::{UpdateEndpointInput, UpdateEndpointOutput};
use aws_sdk_sagemaker::types::{
    EndpointStatus, ModelApprovalStatus, ProductionVariant, ProductionVariantServerlessConfig,
    ProductionVariantSummary,
};
use aws_smithy_mocks::{mock, MockResponse};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use retrain_core::aws::registry::description_for_job;
use retrain_core::names::version_resource_name;
use retrain_core::payload::EndpointAction;
use retrain_core::testing::{
    model_package, registering, serving_endpoint, validation_not_found, version_summary,
    MockContext, Mocked, Recorder,
};
use retrain_core::WorkerError;

use run_report::testing::{self as report_testing, Lake};

use super::handle;

const GROUP: &str = "prophet-forecasting-models";
const JOB: &str = "prophet-retrain-weekly-0123456789";
const ARTIFACT: &str = "s3://ticket-forecasting-lake/training-output/prophet-retrain-weekly-0123456789/output/model.tar.gz";
const NEW_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/prophet-forecasting-models/4";
const OLDER_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/prophet-forecasting-models/3";
const HUMAN_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/prophet-forecasting-models/2";
const HUMAN_ARTIFACT: &str =
    "s3://ticket-forecasting-lake/training-output/old-job/output/model.tar.gz";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

#[derive(Clone, Default)]
struct World {
    version_exists: bool,
    model_exists: bool,
    config_exists: bool,
    /// (status, config) of the endpoint; None: no endpoint.
    endpoint: Option<(EndpointStatus, String)>,
    /// S3 refuses the run report's PutObject.
    report_put_fails: bool,
    /// The serving endpoint's one variant: Some(true) serverless, Some(false) one instance.
    serving_variant: Option<bool>,
}

#[derive(Default)]
struct Calls {
    register: Recorder<CreateModelPackageInput>,
    model: Recorder<CreateModelInput>,
    config: Recorder<CreateEndpointConfigInput>,
    create: Recorder<CreateEndpointInput>,
    update: Recorder<UpdateEndpointInput>,
}

fn context(w: World) -> (Mocked, Calls) {
    let calls = Calls::default();
    let version_exists = w.version_exists;
    let list =
        mock!(aws_sdk_sagemaker::Client::list_model_packages).then_compute_output(move |req| {
            assert_eq!(req.model_package_group_name(), Some(GROUP));
            let mut out = ListModelPackagesOutput::builder()
                .model_package_summary_list(version_summary(OLDER_ARN, 3, "some-older-job", None));
            if version_exists {
                let approved = Some(ModelApprovalStatus::Approved);
                out = out.model_package_summary_list(version_summary(NEW_ARN, 4, JOB, approved));
            }
            out.build()
        });
    let register = registering(NEW_ARN, &calls.register);
    // v2 (approved by a person), v3 (an older run), v4 (this run's, once registered).
    let describe_version = mock!(aws_sdk_sagemaker::Client::describe_model_package)
        .then_compute_output(|req| {
            let arn = req.model_package_name().unwrap();
            let n: i32 = arn.rsplit('/').next().unwrap().parse().unwrap();
            let (job, mape, decision) = match n {
                2 => ("old-job", "21.5", "rejected"),
                3 => ("some-older-job", "15.5", "deployed"),
                _ => (JOB, "12.3", "deployed"),
            };
            model_package(arn, GROUP, n, ModelApprovalStatus::Approved, HUMAN_ARTIFACT)
                .customer_metadata_properties("trained_at", "2026-11-08T09:05:00+00:00")
                .customer_metadata_properties("mape", mape)
                .customer_metadata_properties("mape_threshold", "20")
                .customer_metadata_properties("decision", decision)
                .customer_metadata_properties("training_job", job)
                .build()
        });
    let model_exists = w.model_exists;
    let describe_model =
        mock!(aws_sdk_sagemaker::Client::describe_model).then_compute_response(move |req| {
            if model_exists {
                MockResponse::Output(
                    DescribeModelOutput::builder()
                        .model_name(req.model_name().unwrap())
                        .build(),
                )
            } else {
                MockResponse::Error(DescribeModelError::generic(validation_not_found("model")))
            }
        });
    let rec = calls.model.clone();
    let create_model =
        mock!(aws_sdk_sagemaker::Client::create_model).then_compute_output(move |req| {
            rec.record(req);
            CreateModelOutput::builder().model_arn("arn:model").build()
        });
    let (config_exists, serving_config) = (
        w.config_exists,
        w.endpoint
            .as_ref()
            .map(|(_, c)| c.clone())
            .unwrap_or_default(),
    );
    let describe_config = mock!(aws_sdk_sagemaker::Client::describe_endpoint_config)
        .then_compute_response(move |req| {
            let name = req.endpoint_config_name().unwrap().to_string();
            if config_exists || name == serving_config {
                MockResponse::Output(
                    DescribeEndpointConfigOutput::builder()
                        .endpoint_config_name(&name)
                        .production_variants(
                            ProductionVariant::builder()
                                .variant_name("primary")
                                .model_name(&name)
                                .build(),
                        )
                        .build(),
                )
            } else {
                MockResponse::Error(DescribeEndpointConfigError::generic(validation_not_found(
                    "endpoint configuration",
                )))
            }
        });
    let rec = calls.config.clone();
    let create_config = mock!(aws_sdk_sagemaker::Client::create_endpoint_config)
        .then_compute_output(move |req| {
            rec.record(req);
            CreateEndpointConfigOutput::builder()
                .endpoint_config_arn("arn:cfg")
                .build()
        });
    let describe_endpoint = match (w.serving_variant, w.endpoint.clone()) {
        (Some(serverless), Some((status, config))) => {
            mock!(aws_sdk_sagemaker::Client::describe_endpoint).then_compute_output(move |_| {
                let variant = ProductionVariantSummary::builder().variant_name("primary");
                let variant = if serverless {
                    variant.current_serverless_config(
                        ProductionVariantServerlessConfig::builder()
                            .memory_size_in_mb(2048)
                            .max_concurrency(5)
                            .build(),
                    )
                } else {
                    variant.current_instance_count(1)
                };
                DescribeEndpointOutput::builder()
                    .endpoint_name("prophet-fastapi-endpoint-latest")
                    .endpoint_config_name(&config)
                    .endpoint_status(status.clone())
                    .production_variants(variant.build())
                    .build()
            })
        }
        _ => serving_endpoint(w.endpoint.clone()),
    };
    let rec = calls.create.clone();
    let create_endpoint =
        mock!(aws_sdk_sagemaker::Client::create_endpoint).then_compute_output(move |req| {
            rec.record(req);
            CreateEndpointOutput::builder()
                .endpoint_arn("arn:ep")
                .build()
        });
    let rec = calls.update.clone();
    let update_endpoint =
        mock!(aws_sdk_sagemaker::Client::update_endpoint).then_compute_output(move |req| {
            rec.record(req);
            UpdateEndpointOutput::builder()
                .endpoint_arn("arn:ep")
                .build()
        });
    let sm = [
        &list,
        &register,
        &describe_version,
        &describe_model,
        &create_model,
        &describe_config,
        &create_config,
        &describe_endpoint,
        &create_endpoint,
        &update_endpoint,
    ];
    // S3 refuses the run report's PutObject when the world says so; other puts are recorded.
    let report_put_fails = w.report_put_fails;
    let refused_put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |req| {
            report_put_fails && req.key().unwrap_or_default().starts_with("reports/")
        })
        .then_error(|| {
            PutObjectError::generic(ErrorMetadata::builder().code("AccessDenied").build())
        });
    // What the run report reads: the ticket files, this job's archive, the execution history.
    let lake = Lake::default()
        .with(
            "bronze/2026-11-01.csv",
            tickets("2026-11-01", 3),
            t0() - Duration::days(14),
        )
        .with(
            "bronze/2026-11-20.csv",
            tickets("2026-11-20", 5),
            t0() - Duration::days(2),
        )
        .with_model(
            "training-output/prophet-retrain-weekly-0123456789/output/model.tar.gz",
            Some("date,actual,forecast,fold\n2026-11-10,100,90,0\n2026-11-11,110,100,0\n"),
            t0() + Duration::minutes(20),
        );
    let history = report_testing::execution_history(
        EXECUTION_ARN,
        report_testing::history(&[
            ("StartTraining", t0(), Some(t0() + Duration::seconds(3))),
            ("Deploy", t0() + Duration::minutes(30), None),
        ]),
    );
    let ctx = MockContext::new(&crate::WORKER)
        .at(t0())
        .sm(sm)
        .s3(&lake.rules())
        .s3([&refused_put])
        .sfn([&history])
        .build();
    (ctx, calls)
}

const EXECUTION_ARN: &str =
    "arn:aws:states:us-east-1:123456789012:execution:retraining:weekly-2026-11-22";

/// A ticket file of `n` tickets on `day`.
fn tickets(day: &str, n: usize) -> String {
    let mut csv = "ticket_id,created_date\n".to_string();
    for i in 0..n {
        csv.push_str(&format!("{i},{day} 10:00:00\n"));
    }
    csv
}

fn state(mape: Value, threshold: f64) -> Value {
    json!({
        "run": {
            "execution": "weekly-2026-11-22", "execution_arn": EXECUTION_ARN,
            "trigger": "schedule", "action": "train", "reason": "r",
            "mape_threshold": threshold, "poll_seconds": 60, "deadline_seconds": 5400,
            "training": {"job_name": JOB, "output_path": "s3://ticket-forecasting-lake/training-output/",
                         "created_at": t0().to_rfc3339(), "adopted": false},
            "data": {"new_files": 7, "rows": 700, "bad_rows": 0, "unusable_files": [], "days": 7,
                     "mean_daily_tickets": 100.0, "baseline_mean": 95.0, "relative_change": 0.05,
                     "drift": false, "forced": false, "newest_file": null,
                     "since": (t0() - Duration::days(7)).to_rfc3339()}
        },
        "job": {"kind": "training", "name": JOB, "status": "Completed", "outcome": "succeeded",
                "arn": format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{JOB}"),
                "model_artifact": ARTIFACT, "started_at": (t0() + Duration::minutes(2)).to_rfc3339(),
                "elapsed_seconds": 700, "deadline_passed": false},
        "evaluation": {"job_name": JOB, "mape": mape, "rmse": 9.0, "mae": 7.0, "threshold": threshold,
                       "source": "job_artifact", "passed": true}
    })
}

fn approval_state() -> Value {
    json!({"run": {
        "execution": "approval-1", "trigger": "approval", "action": "deploy_approved", "reason": "r",
        "mape_threshold": 20.0, "poll_seconds": 60, "deadline_seconds": 5400,
        "approval": {"model_package_arn": HUMAN_ARN, "version": 2}
    }})
}

fn put_body(ctx: &Mocked, key: &str) -> Value {
    let text = ctx
        .put_text(key)
        .unwrap_or_else(|| panic!("{key} was not written"));
    serde_json::from_str(&text).unwrap()
}

fn name() -> String {
    version_resource_name(GROUP, 4, ARTIFACT)
}

#[tokio::test]
async fn no_endpoint_registers_and_creates_everything() {
    let (ctx, calls) = context(World::default());
    let d = handle(&ctx, state(json!(12.3), 20.0)).await.unwrap();
    assert_eq!(d.action, EndpointAction::Created);
    assert_eq!(d.model_package_arn, NEW_ARN);
    assert_eq!(
        (d.model_name.clone(), d.endpoint_config_name.clone()),
        (name(), name())
    );
    assert!(d.registered);

    let reg = calls.register.one();
    assert_eq!(reg.model_package_group_name(), Some(GROUP));
    assert_eq!(
        reg.model_approval_status(),
        Some(&ModelApprovalStatus::Approved)
    );
    assert_eq!(
        reg.model_package_description(),
        Some(description_for_job(JOB).as_str())
    );
    assert_eq!(
        reg.client_token(),
        Some(retrain_core::names::version_client_token(JOB).as_str())
    );
    let container = &reg.inference_specification().unwrap().containers()[0];
    assert_eq!(container.image(), Some(ctx.cfg.image_uri.as_str()));
    assert_eq!(
        container.model_data_url(),
        Some(ARTIFACT),
        "this job's own artifact"
    );
    let quality = reg
        .model_metrics()
        .unwrap()
        .model_quality()
        .unwrap()
        .statistics()
        .unwrap();
    assert_eq!(
        quality.s3_uri(),
        Some(
            format!(
                "s3://ticket-forecasting-lake/training-output/{JOB}/evaluation/model-quality.json"
            )
            .as_str()
        )
    );
    let meta = reg.customer_metadata_properties().unwrap();
    assert_eq!(meta["approved_by"], "retraining-pipeline");
    assert_eq!(meta["mape"], "12.3");
    assert_eq!(meta["training_job"], JOB);
    assert_eq!(
        reg.metadata_properties().unwrap().generated_by(),
        Some(format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{JOB}").as_str())
    );

    let model = calls.model.one();
    assert_eq!(model.model_name(), Some(name().as_str()));
    assert_eq!(model.execution_role_arn(), Some(ctx.cfg.role_arn.as_str()));
    assert_eq!(
        model.primary_container().unwrap().model_package_name(),
        Some(NEW_ARN)
    );
    let config = calls.config.one();
    let variant = &config.production_variants()[0];
    assert_eq!(variant.variant_name(), Some("primary"));
    assert_eq!(variant.model_name(), Some(name().as_str()));
    assert_eq!(variant.instance_type().unwrap().as_str(), "ml.t2.medium");
    assert_eq!(variant.initial_instance_count(), Some(1));
    assert_eq!(variant.serverless_config(), None);
    let create = calls.create.one();
    assert_eq!(
        create.endpoint_name(),
        Some("prophet-fastapi-endpoint-latest")
    );
    assert_eq!(create.endpoint_config_name(), Some(name().as_str()));
    assert!(calls.update.is_empty());

    let last = put_body(&ctx, "Model/last_trained.json");
    assert_eq!(last["mape"], json!(12.3));
    assert_eq!(last["approval"], "Approved");
    assert_eq!(
        last["trained_at"],
        (t0() + Duration::minutes(2)).to_rfc3339()
    );
    assert_eq!(last["training_job"], JOB);
    assert_eq!(last["model_package_arn"], NEW_ARN);
    let stats = put_body(&ctx, "statistics/latest.json");
    assert_eq!(stats["mean_daily_tickets"], json!(100.0));
}

#[tokio::test]
async fn a_single_instance_endpoint_gets_a_blue_green_update_with_rollback_alarms() {
    let (mut ctx, calls) = context(World {
        endpoint: Some((
            EndpointStatus::InService,
            "prophet-forecasting-models-v3-old".into(),
        )),
        ..Default::default()
    });
    assert_eq!(ctx.cfg.endpoint.instance_count, 1);
    ctx.cfg.rollback_alarms = vec!["ep-5xx".into(), "ep-latency".into()];
    let d = handle(&ctx, state(json!(8.0), 20.0)).await.unwrap();
    assert_eq!(d.action, EndpointAction::Updated);
    let update = calls.update.one();
    assert_eq!(
        update.endpoint_name(),
        Some("prophet-fastapi-endpoint-latest")
    );
    assert_eq!(update.endpoint_config_name(), Some(name().as_str()));
    let config = update.deployment_config().unwrap();
    // One instance cannot roll (batches of 5-50 %): all traffic at once to a new fleet.
    assert!(config.rolling_update_policy().is_none());
    let blue_green = config.blue_green_update_policy().unwrap();
    let routing = blue_green.traffic_routing_configuration().unwrap();
    assert_eq!(routing.r#type().unwrap().as_str(), "ALL_AT_ONCE");
    assert_eq!(blue_green.termination_wait_in_seconds(), Some(300));
    assert_eq!(
        blue_green.maximum_execution_timeout_in_seconds(),
        Some(3600)
    );
    let alarms: Vec<&str> = config
        .auto_rollback_configuration()
        .unwrap()
        .alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    assert_eq!(alarms, ["ep-5xx", "ep-latency"]);
    assert!(calls.create.is_empty());
}

fn serverless(ctx: &mut Mocked) {
    ctx.cfg.endpoint.serverless = Some(retrain_core::config::ServerlessResources {
        memory_mb: 2048,
        max_concurrency: 5,
    });
}

#[tokio::test]
async fn a_serverless_configuration_creates_a_serverless_endpoint() {
    let (mut ctx, calls) = context(World::default());
    serverless(&mut ctx);
    let d = handle(&ctx, state(json!(12.3), 20.0)).await.unwrap();
    assert_eq!(d.action, EndpointAction::Created);
    let config = calls.config.one();
    let variant = &config.production_variants()[0];
    let s = variant.serverless_config().unwrap();
    assert_eq!(
        (s.memory_size_in_mb(), s.max_concurrency()),
        (Some(2048), Some(5))
    );
    // SageMaker refuses a variant that is both serverless and instance-based.
    assert_eq!(variant.instance_type(), None);
    assert_eq!(variant.initial_instance_count(), None);
}

#[tokio::test]
async fn a_serverless_endpoint_is_updated_blue_green_never_rolling() {
    let (mut ctx, calls) = context(World {
        endpoint: Some((
            EndpointStatus::InService,
            "prophet-forecasting-models-v3-old".into(),
        )),
        serving_variant: Some(true),
        ..Default::default()
    });
    serverless(&mut ctx);
    ctx.cfg.endpoint.instance_count = 4; // would roll, were it instances
    let d = handle(&ctx, state(json!(8.0), 20.0)).await.unwrap();
    assert_eq!(d.action, EndpointAction::Updated);
    let update = calls.update.one();
    let config = update.deployment_config().unwrap();
    assert!(config.rolling_update_policy().is_none());
    assert!(config.blue_green_update_policy().is_some());
}

#[tokio::test]
async fn an_instance_based_endpoint_is_not_switched_to_serverless_and_nothing_is_created() {
    let (mut ctx, calls) = context(World {
        endpoint: Some((
            EndpointStatus::InService,
            "prophet-forecasting-models-v3-old".into(),
        )),
        serving_variant: Some(false),
        ..Default::default()
    });
    serverless(&mut ctx);
    let err = handle(&ctx, state(json!(8.0), 20.0)).await.unwrap_err();
    match &err {
        WorkerError::EndpointFailed { reason, .. } => {
            assert!(reason.contains("new EndpointName"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(calls.config.is_empty(), "no serverless config left behind");
    assert!(calls.update.is_empty() && calls.create.is_empty());
}

#[test]
fn several_instances_roll_in_batches_sagemaker_accepts() {
    let config = crate::endpoint::deployment(4, false, &[]);
    let rolling = config.rolling_update_policy().unwrap();
    let batch = rolling.maximum_batch_size().unwrap();
    assert_eq!(
        (batch.r#type().unwrap().as_str(), batch.value()),
        ("INSTANCE_COUNT", Some(1))
    );
    assert!(retrain_core::rollout::valid_rolling_batch(1, 4));
    assert_eq!(rolling.maximum_execution_timeout_in_seconds(), Some(3600));
    assert!(config.auto_rollback_configuration().is_none());
}

#[tokio::test]
async fn an_updating_endpoint_is_busy_and_nothing_is_recorded() {
    let (ctx, calls) = context(World {
        endpoint: Some((
            EndpointStatus::Updating,
            "prophet-forecasting-models-v3-old".into(),
        )),
        ..Default::default()
    });
    let err = handle(&ctx, state(json!(8.0), 20.0)).await.unwrap_err();
    assert_eq!(err.name(), "EndpointBusy");
    assert!(err.is_retryable());
    assert!(calls.update.is_empty() && calls.create.is_empty());
    assert!(
        ctx.puts()
            .all()
            .iter()
            .all(|p| p.key != "Model/last_trained.json"),
        "last_trained.json only after the endpoint call"
    );
}

#[tokio::test]
async fn a_failed_endpoint_is_not_retried() {
    let (ctx, calls) = context(World {
        endpoint: Some((
            EndpointStatus::Failed,
            "prophet-forecasting-models-v3-old".into(),
        )),
        ..Default::default()
    });
    let err = handle(&ctx, state(json!(8.0), 20.0)).await.unwrap_err();
    assert_eq!(err.name(), "EndpointFailed");
    assert!(!err.is_retryable());
    assert!(calls.update.is_empty());
}

#[tokio::test]
async fn a_rerun_reuses_version_model_config_and_does_not_deploy_twice() {
    let (ctx, calls) = context(World {
        version_exists: true,
        model_exists: true,
        config_exists: true,
        endpoint: Some((EndpointStatus::Updating, name())),
        ..Default::default()
    });
    let d = handle(&ctx, state(json!(8.0), 20.0)).await.unwrap();
    assert_eq!(d.action, EndpointAction::AlreadyServing);
    assert_eq!(d.model_package_arn, NEW_ARN);
    assert!(calls.register.is_empty(), "no second version");
    assert!(calls.model.is_empty() && calls.config.is_empty());
    assert!(
        calls.update.is_empty() && calls.create.is_empty(),
        "no second deploy"
    );
}

#[tokio::test]
async fn the_gate_is_enforced_here_too() {
    for (mape, threshold) in [
        (json!(20.0), 20.0),
        (json!(25.3), 20.0),
        (json!(null), 20.0),
        (json!(15.0), 12.0),
    ] {
        let (ctx, calls) = context(World::default());
        let err = handle(&ctx, state(mape.clone(), threshold))
            .await
            .unwrap_err();
        assert!(
            matches!(err, WorkerError::GateRefused { .. }),
            "{mape}: {err}"
        );
        assert!(calls.register.is_empty() && calls.create.is_empty() && ctx.puts().is_empty());
    }
}

#[tokio::test]
async fn a_model_worse_than_the_serving_one_is_refused_here_too() {
    let (ctx, calls) = context(World::default());
    let mut s = state(json!(9.5), 20.0);
    s["evaluation"]["champion"] = json!({
        "verdict": "worse", "serving_model": "ep-config-v3", "serving_mape": 5.3,
        "challenger_mape": 9.5, "margin": 1.0, "reason": "on the 7 days ... worse"
    });
    let err = handle(&ctx, s.clone()).await.unwrap_err();
    match &err {
        WorkerError::GateRefused { reason } => {
            assert!(reason.contains("worse than the serving model"), "{reason}")
        }
        other => panic!("{other}"),
    }
    assert!(calls.register.is_empty() && calls.create.is_empty() && ctx.puts().is_empty());
    // Not worse, or no comparison: the MAPE gate decides, and it deploys.
    for verdict in ["not_worse", "no_comparison"] {
        let (ctx, calls) = context(World::default());
        s["evaluation"]["champion"]["verdict"] = json!(verdict);
        handle(&ctx, s.clone()).await.unwrap();
        assert_eq!(calls.register.len(), 1, "{verdict}");
    }
}

#[tokio::test]
async fn a_human_approval_deploys_that_version_without_registering() {
    let (ctx, calls) = context(World {
        endpoint: Some((
            EndpointStatus::InService,
            "prophet-forecasting-models-v4-x".into(),
        )),
        ..Default::default()
    });
    let d = handle(&ctx, approval_state()).await.unwrap();
    assert_eq!(d.action, EndpointAction::Updated);
    assert!(!d.registered);
    assert!(calls.register.is_empty());
    let expected = version_resource_name(GROUP, 2, HUMAN_ARTIFACT);
    assert_eq!(
        calls
            .model
            .one()
            .primary_container()
            .unwrap()
            .model_package_name(),
        Some(HUMAN_ARN)
    );
    assert_eq!(
        calls.update.one().endpoint_config_name(),
        Some(expected.as_str())
    );
    let last = put_body(&ctx, "Model/last_trained.json");
    assert_eq!(last["approval"], "ManualApproval");
    assert_eq!(last["trained_at"], "2026-11-08T09:05:00+00:00");
    assert_eq!(last["mape"], json!(21.5));
    assert!(
        ctx.puts()
            .all()
            .iter()
            .all(|p| p.key != "statistics/latest.json"),
        "no new data statistics on the approval path"
    );
    assert!(
        ctx.puts()
            .all()
            .iter()
            .all(|p| !p.key.starts_with("reports/")),
        "an approval trained nothing: no run report"
    );
}

#[tokio::test]
async fn malformed_state_is_named() {
    let (ctx, calls) = context(World::default());
    let mut s = state(json!(8.0), 20.0);
    s.as_object_mut().unwrap().remove("evaluation");
    let err = handle(&ctx, s).await.unwrap_err();
    assert_eq!(
        err,
        WorkerError::invalid("evaluation", "missing: EvaluateMape has not run")
    );
    let err = handle(&ctx, json!({"run": {"execution": "x"}}))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidInput");
    assert!(calls.register.is_empty() && ctx.puts().is_empty());
}

const REPORT: &str = "reports/weekly-2026-11-22.html";

fn report_html(ctx: &Mocked) -> String {
    ctx.put_text(REPORT).expect("the run report was written")
}

#[tokio::test]
async fn a_deployed_run_writes_its_report_and_last_trained_names_it() {
    let (ctx, _) = context(World::default());
    handle(&ctx, state(json!(12.3), 20.0)).await.unwrap();
    let keys: Vec<String> = ctx.puts().all().into_iter().map(|p| p.key).collect();
    let at = |k: &str| keys.iter().position(|x| x == k).unwrap();
    assert!(at(REPORT) < at("Model/last_trained.json"), "{keys:?}");
    assert!(ctx
        .puts()
        .all()
        .iter()
        .any(|p| p.key == REPORT && p.content_type.as_deref() == Some("text/html; charset=utf-8")));

    let html = report_html(&ctx);
    // Two days of tickets (one from a new file), two fold rows, one version with a MAPE so far.
    for chart in [
        r#"data-chart="daily" data-points="2""#,
        r#"data-chart="folds" data-points="2""#,
        r#"data-chart="history" data-points="1""#,
    ] {
        assert!(html.contains(chart), "{chart}");
    }
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(html.contains(r#"data-field="decision">deployed<"#));
    assert!(html.contains(r#"data-field="mape">12.30 %<"#));
    assert!(html.contains(r#"data-field="serving_before">none (the endpoint was created)<"#));
    assert!(html.contains(&format!(r#"data-field="serving_after">{}<"#, name())));
    assert!(html.contains(r#"<tr data-state="StartTraining"><td>StartTraining</td><td>2026-11-22 09:00:00</td><td class="num">3.0</td>"#));
    assert!(
        html.contains(r#"<td class="num">0.0 + running</td>"#),
        "Deploy still runs"
    );

    let last = put_body(&ctx, "Model/last_trained.json");
    assert_eq!(
        last["report"],
        format!("s3://ticket-forecasting-lake/{REPORT}")
    );
    assert_eq!(
        last["report_url"],
        format!("https://us-east-1.console.aws.amazon.com/s3/object/ticket-forecasting-lake?region=us-east-1&prefix={REPORT}")
    );
}

#[tokio::test]
async fn a_report_that_cannot_be_written_does_not_fail_the_deploy() {
    let (ctx, _) = context(World {
        report_put_fails: true,
        ..Default::default()
    });
    let d = handle(&ctx, state(json!(12.3), 20.0)).await.unwrap();
    assert_eq!(d.action, EndpointAction::Created);
    let last = put_body(&ctx, "Model/last_trained.json");
    assert_eq!(
        last.get("report"),
        None,
        "no link to a report that is not there"
    );
}
