use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_s3::error::ErrorMetadata;

use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::{ListObjectsV2Input, ListObjectsV2Output};
use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectOutput};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_sdk_sagemaker::operation::create_model_package_group::{
    CreateModelPackageGroupInput, CreateModelPackageGroupOutput,
};
use aws_sdk_sagemaker::operation::create_training_job::{
    CreateTrainingJobError, CreateTrainingJobInput, CreateTrainingJobOutput,
};
use aws_sdk_sagemaker::operation::describe_endpoint_config::DescribeEndpointConfigOutput;
use aws_sdk_sagemaker::operation::describe_model_package_group::{
    DescribeModelPackageGroupError, DescribeModelPackageGroupOutput,
};
use aws_sdk_sagemaker::operation::describe_training_job::{
    DescribeTrainingJobError, DescribeTrainingJobOutput,
};
use aws_sdk_sagemaker::types::error::{ResourceInUse, ResourceNotFound};
use aws_sdk_sagemaker::types::{
    EndpointStatus, ModelApprovalStatus, OutputDataConfig, ProductionVariant,
};
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::{
    InvokeEndpointInput, InvokeEndpointOutput,
};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::list_executions::{ListExecutionsInput, ListExecutionsOutput};
use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus};
use aws_smithy_mocks::{mock, MockResponse, Rule};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use retrain_core::aws::lease::LEASE_KEY;
use retrain_core::names::{training_job_name, version_resource_name};
use retrain_core::payload::{Action, Trigger};
use retrain_core::testing::{
    model_package, serving_endpoint, throttled, validation_not_found, MockContext, Mocked, Recorder,
};
use retrain_core::WorkerError;

use super::handle;

const EXECUTION: &str = "weekly-2026-11-22";
const GROUP: &str = "prophet-forecasting-models";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn smithy(t: DateTime<Utc>) -> aws_sdk_s3::primitives::DateTime {
    retrain_core::time::to_smithy(t)
}

/// Ten tickets a day on each of the days given.
fn tickets(days: &[&str], per_day: usize) -> String {
    let mut out = String::from("ticket_id, Created Date ,channel\n");
    let mut id = 0;
    for d in days {
        for h in 0..per_day {
            id += 1;
            out.push_str(&format!("{id},{d} {:02}:15:00,email\n", h % 24));
        }
    }
    out
}

/// The bucket and registry the worker sees.
#[derive(Clone, Default)]
struct World {
    last_trained: Option<String>,
    statistics: Option<String>,
    /// key → (LastModified, body)
    files: Vec<(String, DateTime<Utc>, String)>,
    page_size: usize,
    existing_job: bool,
    create_in_use: bool,
    group_exists: bool,
    s3_throttled: bool,
    /// Other RUNNING executions of the state machine: (name, start). This execution is listed
    /// too, started at t0.
    running: Vec<(String, DateTime<Utc>)>,
    /// When this execution was last redriven (DescribeExecution's redriveDate).
    redriven: Option<DateTime<Utc>>,
    /// The single-flight lease in S3: its holder's name and whether it is still RUNNING.
    lease: Option<(String, bool)>,
    /// Another run writes the lease first: this run's conditional write answers 412 and the
    /// lease then names that (running) execution.
    lease_lost_to: Option<String>,
    /// The serving endpoint (config `v1-config`) answers every day's forecast with this count;
    /// None: no endpoint.
    serving_forecast: Option<u64>,
}

#[derive(Default)]
struct Calls {
    create_job: Recorder<CreateTrainingJobInput>,
    create_group: Recorder<CreateModelPackageGroupInput>,
    list: Recorder<ListObjectsV2Input>,
    executions: Recorder<ListExecutionsInput>,
    /// Conditional writes of the lease: (If-None-Match, If-Match, the lease written).
    lease_writes: Recorder<(Option<String>, Option<String>, Value)>,
    invoked: Recorder<InvokeEndpointInput>,
}

fn context(world: World) -> (Mocked, Calls) {
    let calls = Calls::default();
    let w = Arc::new(world);

    let mut objects: HashMap<String, String> = w
        .files
        .iter()
        .map(|(k, _, b)| (k.clone(), b.clone()))
        .collect();
    if let Some(doc) = &w.last_trained {
        objects.insert("Model/last_trained.json".into(), doc.clone());
    }
    if let Some(doc) = &w.statistics {
        objects.insert("statistics/latest.json".into(), doc.clone());
    }
    let throttled_s3 = w.s3_throttled;
    let lost = Arc::new(AtomicBool::new(false));
    let (wg, lost_get) = (w.clone(), lost.clone());
    let get = mock!(aws_sdk_s3::Client::get_object).then_compute_response(move |req| {
        if throttled_s3 {
            return MockResponse::Error(GetObjectError::generic(throttled()));
        }
        if req.key() == Some(LEASE_KEY) {
            let holder = match (&wg.lease, &wg.lease_lost_to) {
                (_, Some(winner)) if lost_get.load(Ordering::SeqCst) => Some(winner.clone()),
                (Some((holder, _)), _) => Some(holder.clone()),
                _ => None,
            };
            return match holder {
                Some(h) => MockResponse::Output(
                    GetObjectOutput::builder()
                        .e_tag("\"etag-of-the-lease\"")
                        .body(ByteStream::from(lease_doc(&h).to_string().into_bytes()))
                        .build(),
                ),
                None => {
                    MockResponse::Error(GetObjectError::NoSuchKey(NoSuchKey::builder().build()))
                }
            };
        }
        match objects.get(req.key().unwrap_or_default()) {
            Some(body) => MockResponse::Output(
                GetObjectOutput::builder()
                    .body(ByteStream::from(body.clone().into_bytes()))
                    .build(),
            ),
            None => MockResponse::Error(GetObjectError::NoSuchKey(NoSuchKey::builder().build())),
        }
    });
    let (wl, rec) = (w.clone(), calls.list.clone());
    let list = mock!(aws_sdk_s3::Client::list_objects_v2).then_compute_output(move |req| {
        rec.record(req);
        let page = wl.page_size.max(1);
        let start: usize = req
            .continuation_token()
            .map(|t| t.parse().unwrap())
            .unwrap_or(0);
        let mut files = wl.files.clone();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let chunk: Vec<_> = files.iter().skip(start).take(page).collect();
        let mut out = ListObjectsV2Output::builder().key_count(chunk.len() as i32);
        for (k, modified, body) in &chunk {
            out = out.contents(
                aws_sdk_s3::types::Object::builder()
                    .key(k)
                    .last_modified(smithy(*modified))
                    .size(body.len() as i64)
                    .e_tag(etag(body))
                    .build(),
            );
        }
        if start + page < files.len() {
            out = out
                .is_truncated(true)
                .next_continuation_token((start + page).to_string());
        } else {
            out = out.is_truncated(false);
        }
        out.build()
    });

    let wj = w.clone();
    let describe_job = mock!(aws_sdk_sagemaker::Client::describe_training_job)
        .then_compute_response(move |req| {
            if wj.existing_job {
                MockResponse::Output(
                    DescribeTrainingJobOutput::builder()
                        .training_job_name(req.training_job_name().unwrap())
                        .creation_time(smithy(t0() - Duration::minutes(5)))
                        .output_data_config(
                            OutputDataConfig::builder()
                                .s3_output_path("s3://ticket-forecasting-lake/training-output/")
                                .build(),
                        )
                        .build(),
                )
            } else {
                MockResponse::Error(DescribeTrainingJobError::ResourceNotFound(
                    ResourceNotFound::builder()
                        .message("Requested resource not found.")
                        .build(),
                ))
            }
        });
    let (wc, rec) = (w.clone(), calls.create_job.clone());
    let create_job =
        mock!(aws_sdk_sagemaker::Client::create_training_job).then_compute_response(move |req| {
            rec.record(req);
            if wc.create_in_use {
                MockResponse::Error(CreateTrainingJobError::ResourceInUse(
                    ResourceInUse::builder()
                        .message("Training job names must be unique")
                        .build(),
                ))
            } else {
                MockResponse::Output(
                    CreateTrainingJobOutput::builder()
                        .training_job_arn(format!(
                            "arn:aws:sagemaker:us-east-1:123456789012:training-job/{}",
                            req.training_job_name().unwrap()
                        ))
                        .build(),
                )
            }
        });
    let group_exists = w.group_exists;
    let describe_group = mock!(aws_sdk_sagemaker::Client::describe_model_package_group)
        .then_compute_response(move |_| {
            if group_exists {
                MockResponse::Output(
                    DescribeModelPackageGroupOutput::builder()
                        .model_package_group_name(GROUP)
                        .build(),
                )
            } else {
                MockResponse::Error(DescribeModelPackageGroupError::generic(
                    validation_not_found("model package group"),
                ))
            }
        });
    let rec = calls.create_group.clone();
    let create_group = mock!(aws_sdk_sagemaker::Client::create_model_package_group)
        .then_compute_output(move |req| {
            rec.record(req);
            CreateModelPackageGroupOutput::builder()
                .model_package_group_arn(
                    "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g",
                )
                .build()
        });
    let executions = executions(&w.running, &calls.executions);
    let (rec, wp) = (calls.lease_writes.clone(), w.clone());
    let put_lease = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| r.key() == Some(LEASE_KEY))
        .then_compute_response(move |req| {
            let body: Value = serde_json::from_slice(req.body().bytes().unwrap()).unwrap();
            rec.record(&(
                req.if_none_match().map(str::to_string),
                req.if_match().map(str::to_string),
                body,
            ));
            if wp.lease_lost_to.is_some() && !lost.swap(true, Ordering::SeqCst) {
                return MockResponse::Error(PutObjectError::generic(
                    ErrorMetadata::builder()
                        .code("PreconditionFailed")
                        .message("At least one of the pre-conditions you specified did not hold")
                        .build(),
                ));
            }
            MockResponse::Output(PutObjectOutput::builder().e_tag("\"new\"").build())
        });
    let mut holders: Vec<(String, bool)> = w.lease.iter().cloned().collect();
    holders.extend(w.lease_lost_to.iter().map(|n| (n.clone(), true)));
    let described = described(w.redriven, holders);
    // The SDK's own retries are off: a throttled call must surface as AwsTransient here.
    let endpoint = serving_endpoint(
        w.serving_forecast
            .map(|_| (EndpointStatus::InService, "v1-config".to_string())),
    );
    let (n, rec) = (w.serving_forecast.unwrap_or(0), calls.invoked.clone());
    let invoke =
        mock!(aws_sdk_sagemakerruntime::Client::invoke_endpoint).then_compute_output(move |req| {
            rec.record(req);
            let asked: Value = serde_json::from_slice(req.body().unwrap().as_ref()).unwrap();
            let start = chrono::NaiveDate::parse_from_str(
                asked["start_date"].as_str().unwrap(),
                "%Y-%m-%d",
            )
            .unwrap();
            let days: Vec<Value> = (0..asked["horizon_days"].as_i64().unwrap())
                .map(|i| {
                    json!({"day": i + 1, "date": (start + Duration::days(i)).to_string(),
                           "forecast_ticket_count": n, "lower_bound": n, "upper_bound": n})
                })
                .collect();
            InvokeEndpointOutput::builder()
                .body(aws_sdk_sagemakerruntime::primitives::Blob::new(
                    serde_json::to_vec(&json!({ "forecast": days })).unwrap(),
                ))
                .build()
        });
    let ctx = MockContext::new(&crate::WORKER)
        .at(t0())
        .s3([&get, &list, &put_lease])
        .s3_without_retries()
        .sm([
            &describe_job,
            &create_job,
            &describe_group,
            &create_group,
            &endpoint,
        ])
        .smr([&invoke])
        .sfn([&executions, &described])
        .build();
    (ctx, calls)
}

const STATE_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:retraining";

/// The lease as a run writes it, held by execution `holder`.
fn lease_doc(holder: &str) -> Value {
    json!({"holder": execution_arn(holder), "execution": holder, "taken_at": t0().to_rfc3339()})
}

/// DescribeExecution: this execution (RUNNING since t0, last redriven at `redriven`), and each
/// of `others` (name, still RUNNING or not).
fn described(redriven: Option<DateTime<Utc>>, others: Vec<(String, bool)>) -> Rule {
    mock!(aws_sdk_sfn::Client::describe_execution).then_compute_output(move |req| {
        let arn = req.execution_arn().unwrap_or_default().to_string();
        let (status, redrive) = if arn == execution_arn(EXECUTION) {
            (ExecutionStatus::Running, redriven)
        } else {
            let running = others
                .iter()
                .find(|(n, _)| execution_arn(n) == arn)
                .map(|(_, r)| *r)
                .unwrap_or_else(|| panic!("DescribeExecution of an unknown execution {arn}"));
            let status = if running {
                ExecutionStatus::Running
            } else {
                ExecutionStatus::Succeeded
            };
            (status, None)
        };
        DescribeExecutionOutput::builder()
            .execution_arn(&arn)
            .state_machine_arn(STATE_MACHINE)
            .status(status)
            .start_date(smithy(t0() - Duration::hours(1)))
            .set_redrive_date(redrive.map(smithy))
            .build()
            .unwrap()
    })
}

/// No lease yet (GetObject answers NoSuchKey for it); writes of it succeed.
fn no_lease() -> Rule {
    mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.key() == Some(LEASE_KEY))
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()))
}

fn execution_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:execution:retraining:{name}")
}

/// ListExecutions: this execution (started at t0) and `others`, one page each, as AWS pages.
fn executions(others: &[(String, DateTime<Utc>)], rec: &Recorder<ListExecutionsInput>) -> Rule {
    let mut all = vec![(EXECUTION.to_string(), t0())];
    all.extend(others.iter().cloned());
    let rec = rec.clone();
    mock!(aws_sdk_sfn::Client::list_executions).then_compute_output(move |req| {
        rec.record(req);
        let i: usize = req.next_token().map(|t| t.parse().unwrap()).unwrap_or(0);
        let (name, start) = &all[i];
        let item = ExecutionListItem::builder()
            .execution_arn(execution_arn(name))
            .state_machine_arn(STATE_MACHINE)
            .name(name)
            .status(ExecutionStatus::Running)
            .start_date(smithy(*start))
            .build()
            .unwrap();
        let mut out = ListExecutionsOutput::builder().executions(item);
        if i + 1 < all.len() {
            out = out.next_token((i + 1).to_string());
        }
        out.build().unwrap()
    })
}

fn last_trained_at(t: DateTime<Utc>) -> String {
    json!({"trained_at": t.to_rfc3339(), "mape": 12.0, "approval": "Approved"}).to_string()
}

/// The data report of a run of `input` (which must succeed and scan).
async fn scanned(ctx: &Mocked, input: Value) -> retrain_core::payload::DataReport {
    handle(ctx, event(input))
        .await
        .unwrap()
        .run
        .unwrap()
        .data
        .unwrap()
}

/// An ETag as S3 gives one: the same for the same content.
fn etag(body: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

/// `statistics/latest.json` as Deploy writes it: `mean` tickets a day over 60 days.
fn stats(mean: f64) -> String {
    json!({"mean_daily_tickets": mean, "days": 60, "rows": (mean * 60.0).round() as u64})
        .to_string()
}

fn event(input: Value) -> Value {
    with_context(json!({"input": input, "execution": EXECUTION}))
}

/// What the state machine adds from the context object.
fn with_context(mut e: Value) -> Value {
    e["execution_arn"] = json!(execution_arn(EXECUTION));
    e["started_at"] = json!(t0().to_rfc3339());
    e["state_machine"] = json!(STATE_MACHINE);
    e
}

/// A week of new files (10 tickets a day) after a run a week ago.
fn new_week() -> World {
    World {
        last_trained: Some(last_trained_at(t0() - Duration::days(7))),
        statistics: Some(stats(10.0)),
        files: vec![
            (
                "bronze/2026-11-08.csv".into(),
                t0() - Duration::days(14),
                tickets(&["2026-11-08"], 9),
            ),
            (
                "bronze/2026-11-16.csv".into(),
                t0() - Duration::days(5),
                tickets(&["2026-11-16", "2026-11-17", "2026-11-18"], 10),
            ),
            (
                "bronze/2026-11-19.CSV".into(),
                t0() - Duration::days(2),
                tickets(&["2026-11-19", "2026-11-20"], 10),
            ),
            (
                "bronze/readme.txt".into(),
                t0() - Duration::days(2),
                "not data".into(),
            ),
        ],
        page_size: 1000,
        group_exists: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn no_new_data_skips_and_starts_nothing() {
    let mut world = new_week();
    world.last_trained = Some(last_trained_at(t0() - Duration::days(1)));
    let (ctx, calls) = context(world);
    let state = handle(&ctx, event(json!({}))).await.unwrap();
    let run = state.run.unwrap();
    assert_eq!(run.action, Action::Skip);
    assert!(run.reason.contains("no new ticket files"), "{}", run.reason);
    assert!(calls.create_job.is_empty());
    assert!(calls.create_group.is_empty());
    assert!(ctx.published().is_empty());
}

#[tokio::test]
async fn new_data_without_drift_starts_the_job_as_configured() {
    let (ctx, calls) = context(new_week());
    let state = handle(&ctx, event(json!({}))).await.unwrap();
    let run = state.run.unwrap();
    assert_eq!(run.action, Action::Train);
    assert_eq!(run.trigger, Trigger::Manual);
    assert_eq!(run.mape_threshold, 20.0);
    // Spot by default: the job may take its max wait (twice the runtime), and so may the wait.
    assert_eq!(run.deadline_seconds, 7200 + 1800);
    let data = run.data.unwrap();
    assert_eq!(data.new_files, 2, "only .csv files newer than trained_at");
    assert_eq!((data.rows, data.days, data.bad_rows), (50, 5, 0));
    assert_eq!(data.mean_daily_tickets, Some(10.0));
    assert!(!data.drift);
    let training = run.training.unwrap();
    assert_eq!(training.job_name, training_job_name(EXECUTION));
    assert!(!training.adopted);
    assert_eq!(training.created_at, t0());

    let req = calls.create_job.one();
    assert_eq!(
        req.training_job_name(),
        Some(training_job_name(EXECUTION).as_str())
    );
    let algo = req.algorithm_specification().unwrap();
    assert_eq!(algo.training_image(), Some(ctx.cfg.image_uri.as_str()));
    assert_eq!(req.role_arn(), Some(ctx.cfg.role_arn.as_str()));
    assert_eq!(
        req.output_data_config().unwrap().s3_output_path(),
        Some("s3://ticket-forecasting-lake/training-output/")
    );
    let res = req.resource_config().unwrap();
    assert_eq!(res.instance_type().unwrap().as_str(), "ml.m5.large");
    assert_eq!(
        (res.instance_count(), res.volume_size_in_gb()),
        (Some(1), Some(10))
    );
    let stopping = req.stopping_condition().unwrap();
    assert_eq!(stopping.max_runtime_in_seconds(), Some(3600));
    assert_eq!(req.enable_managed_spot_training(), Some(true));
    assert_eq!(stopping.max_wait_time_in_seconds(), Some(7200));
    let env = req.environment().unwrap();
    assert_eq!(env["S3_BUCKET"], "ticket-forecasting-lake");
    assert_eq!(env["DATA_PREFIX"], "bronze/");
    assert_eq!(env["EXECUTION_NAME"], EXECUTION);
    // The plausible window StartTraining counted with (the clock is 2026-11-22).
    assert_eq!(env["EARLIEST_TICKET_DATE"], "2000-01-01");
    assert_eq!(env["LATEST_TICKET_DATE"], "2026-11-23");
    // The training-container contract (docs/contracts.md) names every variable the job is given,
    // and no other (beside SageMaker's own: AWS_*, TRAINING_JOB_*, and the toolkit's SM_*).
    let contracts = include_str!("../../../docs/contracts.md");
    let contract = &contracts[contracts
        .find("## The training-container contract")
        .unwrap()..];
    let contract = &contract[..contract.find("**What it must produce**").unwrap()];
    let mut named: Vec<&str> = contract
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| l.split('|').nth(1).unwrap().split(','))
        .map(str::trim)
        .filter(|v| v.starts_with('`'))
        .map(|v| v.split(' ').next().unwrap().trim_matches('`'))
        .filter(|v| {
            !v.starts_with("SM_")
                && !v.starts_with("AWS_")
                && !v.starts_with("TRAINING_JOB_")
                && !v.starts_with('/')
        })
        .collect();
    named.sort();
    let mut given: Vec<&str> = env.keys().map(String::as_str).collect();
    given.sort();
    assert_eq!(
        given, named,
        "docs/contracts.md's contract table and the job's Environment differ"
    );
    assert!(ctx.published().is_empty(), "no drift, no alert");
    // Only the bad-row rate (0 %): no drift metric.
    let names: Vec<_> = ctx
        .metrics()
        .all()
        .iter()
        .flat_map(|m| m.metric_data().to_vec())
        .map(|d| (d.metric_name().unwrap().to_string(), d.value().unwrap()))
        .collect();
    assert_eq!(names, vec![("TicketBadRowRate".to_string(), 0.0)]);
    assert!(calls.create_group.is_empty(), "the group exists");
}

#[tokio::test]
async fn drift_alerts_and_training_goes_on() {
    let mut world = new_week();
    world.statistics = Some(stats(4.0));
    world.group_exists = false;
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    assert_eq!(run.action, Action::Train);
    let data = run.data.unwrap();
    assert!(data.drift);
    assert_eq!(data.baseline_mean, Some(4.0));
    assert!((data.relative_change.unwrap() - 1.5).abs() < 1e-9);

    let metrics = ctx.metrics().all();
    assert_eq!(metrics.len(), 2, "the bad-row rate, then the drift");
    let metric = &metrics[1];
    assert_eq!(metric.namespace(), Some("MLOps/Forecasting"));
    let datum = &metric.metric_data()[0];
    assert_eq!(datum.metric_name(), Some("DataDrift"));
    assert_eq!(datum.value(), Some(1.0));
    let alert = ctx.published().one();
    assert_eq!(alert.subject(), Some("Data Drift Detected"));
    assert_eq!(alert.topic_arn(), Some(ctx.cfg.topic_arn.as_str()));
    let body = alert.message().unwrap();
    assert!(
        body.contains("from 4.0") && body.contains("to 10.0"),
        "{body}"
    );
    assert_eq!(calls.create_job.len(), 1);
    assert_eq!(
        calls.create_group.one().model_package_group_name(),
        Some(GROUP),
        "a missing group is created"
    );
}

#[tokio::test]
async fn more_than_a_thousand_files_are_all_read() {
    let mut world = new_week();
    world.last_trained = None;
    world.statistics = None;
    world.files = (0..2500)
        .map(|i| {
            let day = (t0() - Duration::days(i % 90 + 1))
                .format("%Y-%m-%d")
                .to_string();
            (
                format!("bronze/part-{i:05}.csv"),
                t0() - Duration::hours(1),
                tickets(&[&day], 2),
            )
        })
        .collect();
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    let data = run.data.unwrap();
    assert_eq!(data.new_files, 2500);
    assert_eq!(data.rows, 5000);
    assert_eq!(data.days, 90);
    assert_eq!(calls.list.len(), 3, "three pages of 1000");
    assert_eq!(data.baseline_mean, None);
    assert!(!data.drift, "no baseline, no drift");
}

#[tokio::test]
async fn a_rerun_adopts_its_job_and_does_not_alert_again() {
    let mut world = new_week();
    world.existing_job = true;
    world.statistics = Some(stats(4.0));
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    assert_eq!(run.action, Action::Train);
    let training = run.training.unwrap();
    assert!(training.adopted);
    assert_eq!(training.created_at, t0() - Duration::minutes(5));
    assert!(calls.create_job.is_empty(), "never a second job");
    assert!(ctx.published().is_empty() && ctx.metrics().is_empty());
    assert!(run.data.unwrap().drift, "the report is still computed");
}

#[tokio::test]
async fn a_job_created_meanwhile_is_adopted() {
    let mut world = new_week();
    world.create_in_use = true;
    let (ctx, calls) = context(world);
    // DescribeTrainingJob says not found, then CreateTrainingJob says ResourceInUse: the job
    // appeared in between; the describe after it is also "not found" here, which must be an
    // error rather than a silent second job.
    let err = handle(&ctx, event(json!({}))).await.unwrap_err();
    assert_eq!(err.name(), "NotFound");
    assert_eq!(calls.create_job.len(), 1);
}

#[tokio::test]
async fn force_trains_without_new_data() {
    let mut world = new_week();
    world.last_trained = Some(last_trained_at(t0()));
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({"force": true, "mape_threshold": 15})))
        .await
        .unwrap()
        .run
        .unwrap();
    assert_eq!(run.action, Action::Train);
    assert_eq!(run.mape_threshold, 15.0);
    assert!(run.reason.contains("forced"));
    assert!(run.data.unwrap().forced);
    assert_eq!(calls.create_job.len(), 1);
}

#[tokio::test]
async fn training_overrides_reach_the_job() {
    let (ctx, calls) = context(new_week());
    let input = json!({"training": {"instance_type": "ml.m5.xlarge", "max_runtime_seconds": 7200,
                                     "spot": false}});
    let run = handle(&ctx, event(input)).await.unwrap().run.unwrap();
    assert_eq!(
        run.deadline_seconds,
        7200 + 1800,
        "on demand: the runtime's deadline"
    );
    let req = calls.create_job.one();
    assert_eq!(
        req.resource_config()
            .unwrap()
            .instance_type()
            .unwrap()
            .as_str(),
        "ml.m5.xlarge"
    );
    assert_eq!(
        req.stopping_condition().unwrap().max_runtime_in_seconds(),
        Some(7200)
    );
    // On demand: SageMaker refuses a MaxWaitTimeInSeconds without spot.
    assert_eq!(req.enable_managed_spot_training(), None);
    assert_eq!(
        req.stopping_condition().unwrap().max_wait_time_in_seconds(),
        None
    );
}

#[tokio::test]
async fn bad_rows_and_unusable_files_are_reported_and_alerted_training_goes_on() {
    let mut world = new_week();
    world.files.push((
        "bronze/broken.csv".into(),
        t0() - Duration::days(1),
        "ticket_id,opened_at\n1,2026-11-20\n".into(),
    ));
    world.files.push((
        "bronze/messy.csv".into(),
        t0() - Duration::days(1),
        "CREATED_DATE\n2026-11-21\nyesterday\n\n2026-11-21\n".into(),
    ));
    let (ctx, calls) = context(world);
    let data = scanned(&ctx, json!({})).await;
    assert_eq!(data.unusable_count, 1);
    assert_eq!(data.unusable_files[0].key, "bronze/broken.csv");
    assert!(data.unusable_files[0]
        .reason
        .contains("no `created_date` column (header: `ticket_id,opened_at`)"));
    assert_eq!(data.files_with_bad_rows[0].key, "bronze/messy.csv");
    assert!(
        data.files_with_bad_rows[0].reason.contains("line 3"),
        "{:?}",
        data.files_with_bad_rows
    );
    assert_eq!((data.bad_rows, data.rows, data.usable_files), (1, 52, 3));
    assert!(data.quality_alert);
    assert_eq!(calls.create_job.len(), 1);
    let alert = ctx.published().one();
    assert_eq!(alert.subject(), Some("Ticket Data Quality Alert"));
    let body = alert.message().unwrap();
    assert!(
        body.contains("bronze/broken.csv (unusable)")
            && body.contains("bronze/messy.csv (bad rows)"),
        "{body}"
    );
    let rate = ctx
        .metrics()
        .all()
        .into_iter()
        .flat_map(|m| m.metric_data().to_vec())
        .find(|d| d.metric_name() == Some("TicketBadRowRate"))
        .expect("the bad-row rate is published");
    assert!((rate.value().unwrap() - 100.0 / 53.0).abs() < 1e-9);
}

/// New files that hold nothing to train on: the run is skipped with the reason, one alert
/// lists the files and why, and nothing is started or moved. Files with some good rows train.
#[tokio::test]
async fn ticket_files_table() {
    const SKIP: &str = "skip";
    const TRAIN: &str = "train";
    // (case, the one new file, action, reason says, alert subject)
    type Case<'a> = (&'a str, &'a [u8], &'a str, &'a str, Option<&'a str>);
    let one_line = [
        b"created_date\n".as_slice(),
        &b"2026-11-20,".repeat(200_000),
    ]
    .concat();
    let cases: [Case; 14] = [
        (
            "empty",
            b"",
            SKIP,
            "empty",
            Some("Ticket Data Unusable - Retraining Skipped"),
        ),
        (
            "header only",
            b"ticket_id,created_date\n",
            SKIP,
            "header only",
            Some("Ticket Data Unusable - Retraining Skipped"),
        ),
        (
            "no created_date column",
            b"id,Opened\n1,2026-11-20\n",
            SKIP,
            "no `created_date` column (header: `id,Opened`)",
            Some("Ticket Data Unusable - Retraining Skipped"),
        ),
        (
            "binary",
            b"PK\x03\x04\0\0\x08\0",
            SKIP,
            "binary",
            Some("Ticket Data Unusable - Retraining Skipped"),
        ),
        (
            "only bad dates",
            b"created_date\nn/a\nsoon\n",
            SKIP,
            "the first at line 2",
            Some("Ticket Data Unusable - Retraining Skipped"),
        ),
        (
            "decades ahead only",
            b"created_date\n2061-03-01\n",
            SKIP,
            "after the latest plausible day 2026-11-23",
            Some("Ticket Data Unusable - Retraining Skipped"),
        ),
        (
            "before the earliest day only",
            b"created_date\n1970-01-01\n",
            SKIP,
            "before the earliest plausible day 2000-01-01",
            Some("Ticket Data Unusable - Retraining Skipped"),
        ),
        (
            "one row decades ahead among good ones",
            b"created_date\n2026-11-20\n2026-11-21\n2061-03-01\n",
            TRAIN,
            "1 new ticket files with usable rows",
            Some("Ticket Data Quality Alert"),
        ),
        (
            "a few bad rows, under the alert rate",
            &{
                let mut f = tickets(&["2026-11-20", "2026-11-21"], 30).into_bytes();
                f.extend_from_slice(b"61,not a date,email\n");
                f
            },
            TRAIN,
            "1 new ticket files with usable rows",
            None,
        ),
        (
            "tomorrow is clock skew, not a bad row",
            b"created_date\n2026-11-23T08:00:00Z\n",
            TRAIN,
            "1 new ticket files with usable rows",
            None,
        ),
        (
            "one line of 2 MB",
            &one_line,
            SKIP,
            "longer than 1 MiB",
            Some("Ticket Data Unusable - Retraining Skipped"),
        ),
        (
            "a day-first export, read day first throughout",
            b"created_date\n13/11/2026\n01/11/2026\n",
            TRAIN,
            "1 new ticket files with usable rows",
            None,
        ),
        (
            "dates in both orders",
            b"created_date\n13/11/2026\n11/14/2026\n",
            SKIP,
            "dates in both orders",
            Some("Ticket Data Unusable - Retraining Skipped"),
        ),
        (
            "dates that read either way",
            b"created_date\n11/05/2026\n",
            TRAIN,
            "1 new ticket files with usable rows",
            Some("Ticket Data Quality Alert"),
        ),
    ];
    for (name, file, action, says, subject) in cases {
        let world = World {
            last_trained: Some(last_trained_at(t0() - Duration::days(7))),
            statistics: Some(stats(2.0)),
            files: vec![(
                "bronze/new.csv".into(),
                t0() - Duration::days(1),
                String::from_utf8_lossy(file).into_owned(),
            )],
            ..Default::default()
        };
        let (ctx, calls) = context(world);
        let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
        let expected = if action == SKIP {
            Action::Skip
        } else {
            Action::Train
        };
        assert_eq!(run.action, expected, "{name}: {}", run.reason);
        assert!(run.reason.contains(says), "{name}: {}", run.reason);
        let subjects: Vec<String> = ctx
            .published()
            .all()
            .iter()
            .filter_map(|p| p.subject().map(str::to_string))
            .filter(|s| s != "Data Drift Detected")
            .collect();
        assert_eq!(
            subjects,
            subject.into_iter().map(String::from).collect::<Vec<_>>(),
            "{name}"
        );
        if action == SKIP {
            assert!(calls.create_job.is_empty(), "{name}: nothing is trained");
            assert!(
                calls.create_group.is_empty(),
                "{name}: nothing is registered"
            );
            let body = ctx.published().one().message().unwrap().to_string();
            assert!(
                body.contains("bronze/new.csv (unusable)") && body.contains(says),
                "{name}: {body}"
            );
        } else {
            assert_eq!(calls.create_job.len(), 1, "{name}");
        }
    }
}

#[tokio::test]
async fn bad_execution_input_changes_nothing() {
    let cases = [
        (
            with_context(json!({"input": {"mape_threshold": 0}, "execution": EXECUTION})),
            "mape_threshold",
        ),
        (
            with_context(json!({"input": {"mape_threshold": "20"}, "execution": EXECUTION})),
            "mape_threshold",
        ),
        (
            with_context(json!({"input": {"force": 1}, "execution": EXECUTION})),
            "force",
        ),
        (
            with_context(json!({"input": {"forse": true}, "execution": EXECUTION})),
            "forse",
        ),
        (
            with_context(json!({"input": {"training": {"volume_gb": 0}}, "execution": EXECUTION})),
            "training.volume_gb",
        ),
        (
            with_context(json!({"input": [], "execution": EXECUTION})),
            "input",
        ),
        (with_context(json!({"input": {}})), "execution"),
        (
            json!({"input": {}, "execution": EXECUTION}),
            "execution_arn",
        ),
        (
            with_context(json!({"input": {}, "execution": "  "})),
            "execution",
        ),
    ];
    for (ev, field) in cases {
        let (ctx, calls) = context(new_week());
        match handle(&ctx, ev.clone()).await {
            Err(WorkerError::InvalidInput { field: f, reason }) => {
                assert_eq!(f, field, "{ev}: {reason}")
            }
            other => panic!("{ev}: {other:?}"),
        }
        assert!(calls.list.is_empty() && calls.create_job.is_empty() && ctx.published().is_empty());
        assert!(calls.executions.is_empty());
    }
}

/// The pipeline's own documents are read like user input: one that does not hold up is named in
/// an alert, and the run goes on with the safe default instead of failing or skipping forever.
#[tokio::test]
async fn documents_that_do_not_hold_up_are_named_and_safe_defaults_taken() {
    // A trained_at that is not a time: read as absent, every file counts as new.
    let mut world = new_week();
    world.last_trained =
        Some(r#"{"trained_at": "sometime", "mape": 1, "approval": "Approved"}"#.into());
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    assert_eq!(run.action, Action::Train);
    let data = run.data.unwrap();
    assert_eq!(data.since, None);
    assert_eq!(data.new_files, 3, "every file is new");
    assert!(data.document_problems[0].contains("Model/last_trained.json: field `trained_at`"));
    assert_eq!(calls.create_job.len(), 1);
    let sent = ctx.published().one();
    assert_eq!(
        sent.subject(),
        Some("Pipeline Document Invalid - Safe Default Used")
    );
    assert!(sent
        .message()
        .unwrap()
        .contains("not a timestamp: `sometime`"));

    // A trained_at in the future (a year ahead): the same default, said so.
    let mut world = new_week();
    world.last_trained = Some(last_trained_at(t0() + Duration::days(365)));
    let (ctx, _) = context(world);
    let data = scanned(&ctx, json!({})).await;
    assert_eq!((data.since, data.new_files), (None, 3));
    assert!(
        data.document_problems[0].contains("in the future"),
        "{:?}",
        data.document_problems
    );

    // A baseline of zero or a string: no baseline this run, so no drift alert either way.
    for doc in [
        r#"{"mean_daily_tickets": 0, "days": 60, "rows": 0}"#,
        r#"{"mean_daily_tickets": "ten", "days": 60, "rows": 600}"#,
    ] {
        let mut world = new_week();
        world.statistics = Some(doc.into());
        let (ctx, _) = context(world);
        let data = scanned(&ctx, json!({})).await;
        assert_eq!(data.baseline_mean, None, "{doc}");
        assert!(!data.drift, "{doc}");
        assert!(
            data.document_problems[0].contains("statistics/latest.json"),
            "{doc}: {:?}",
            data.document_problems
        );
        let subjects: Vec<_> = ctx
            .published()
            .all()
            .iter()
            .map(|p| p.subject().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            subjects,
            ["Pipeline Document Invalid - Safe Default Used"],
            "{doc}"
        );
    }
}

/// The same week uploaded twice (same ETag and size): the users' trainer reads all of bronze/
/// and would count it twice, so nothing trains until the copy goes; the alert names both.
#[tokio::test]
async fn a_copy_of_a_ticket_file_stops_training_naming_both_files() {
    let mut world = new_week();
    let (key, modified, body) = world.files[0].clone();
    world
        .files
        .push((key.replace(".csv", " (1).csv"), modified, body));
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({"force": true})))
        .await
        .unwrap()
        .run
        .unwrap();
    assert_eq!(run.action, Action::Skip, "even forced");
    assert!(run.reason.contains("copies"), "{}", run.reason);
    assert!(calls.create_job.is_empty() && calls.lease_writes.is_empty());
    let sent = ctx.published().one();
    assert_eq!(
        sent.subject(),
        Some("Ticket Data Duplicated - Retraining Skipped")
    );
    let body = sent.message().unwrap();
    assert!(
        body.contains(&key) && body.contains(&key.replace(".csv", " (1).csv")),
        "{body}"
    );
}

#[tokio::test]
async fn throttling_is_retryable() {
    let mut world = new_week();
    world.s3_throttled = true;
    let (ctx, calls) = context(world);
    let err = handle(&ctx, event(json!({}))).await.unwrap_err();
    assert_eq!(err.name(), "AwsTransient");
    assert!(calls.create_job.is_empty());
}

// ---- the approval path -------------------------------------------------------------------

const VERSION_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/prophet-forecasting-models/7";
const ARTIFACT: &str = "s3://ticket-forecasting-lake/training-output/j7/output/model.tar.gz";

fn approval_event(meta: Value) -> Value {
    let mut approval = retrain_core::testing::approval_event(GROUP, 7, VERSION_ARN, "Approved");
    approval["detail"]["CustomerMetadataProperties"] = meta;
    event(approval)
}

/// A registry holding version 7 and an endpoint serving `serving` (None: no endpoint).
fn approval_context(status: &str, meta: &[(&str, &str)], serving: Option<&str>) -> Mocked {
    approval_behind(status, meta, serving, &[])
}

/// The same, behind the `running` executions of the state machine.
fn approval_behind(
    status: &str,
    meta: &[(&str, &str)],
    serving: Option<&str>,
    running: &[(String, DateTime<Utc>)],
) -> Mocked {
    approval_redriven(status, meta, serving, running, None)
}

/// The same, the execution last redriven at `redriven`.
fn approval_redriven(
    status: &str,
    meta: &[(&str, &str)],
    serving: Option<&str>,
    running: &[(String, DateTime<Utc>)],
    redriven: Option<DateTime<Utc>>,
) -> Mocked {
    let (status, meta) = (
        status.to_string(),
        meta.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    );
    let describe =
        mock!(aws_sdk_sagemaker::Client::describe_model_package).then_compute_output(move |_| {
            let status = ModelApprovalStatus::from(status.as_str());
            model_package(VERSION_ARN, GROUP, 7, status, ARTIFACT)
                .set_customer_metadata_properties(Some(meta.clone()))
                .build()
        });
    let serving = serving.map(str::to_string);
    let endpoint = serving_endpoint(
        serving
            .as_ref()
            .map(|_| (EndpointStatus::InService, "cfg-serving".to_string())),
    );
    let config =
        mock!(aws_sdk_sagemaker::Client::describe_endpoint_config).then_compute_output(move |_| {
            DescribeEndpointConfigOutput::builder()
                .endpoint_config_name("cfg-serving")
                .production_variants(
                    ProductionVariant::builder()
                        .variant_name("primary")
                        .model_name(serving.clone().unwrap_or_default())
                        .build(),
                )
                .build()
        });
    MockContext::new(&crate::WORKER)
        .at(t0())
        .s3([&no_lease()])
        .sm([&describe, &endpoint, &config])
        .sfn([
            &executions(running, &Recorder::default()),
            &described(redriven, Vec::new()),
        ])
        .build()
}

#[tokio::test]
async fn a_human_approval_goes_to_deploy() {
    let ctx = approval_context("Approved", &[], Some("prophet-forecasting-models-v6-abc"));
    let run = handle(&ctx, approval_event(json!({})))
        .await
        .unwrap()
        .run
        .unwrap();
    assert_eq!(run.trigger, Trigger::Approval);
    assert_eq!(run.action, Action::DeployApproved);
    assert_eq!(run.approval.unwrap().model_package_arn, VERSION_ARN);
    assert!(run.training.is_none());
}

#[tokio::test]
async fn the_pipelines_own_approval_never_deploys_twice() {
    // Marked in the event...
    let ctx = approval_context("Approved", &[], None);
    let run = handle(
        &ctx,
        approval_event(json!({"approved_by": "retraining-pipeline"})),
    )
    .await
    .unwrap()
    .run
    .unwrap();
    assert_eq!(run.action, Action::Skip);
    // ...or only in the registry.
    let ctx = approval_context("Approved", &[("approved_by", "retraining-pipeline")], None);
    let run = handle(&ctx, approval_event(json!({})))
        .await
        .unwrap()
        .run
        .unwrap();
    assert_eq!(run.action, Action::Skip);
    assert!(run.reason.contains("itself"));
}

#[tokio::test]
async fn an_approval_already_serving_or_revoked_is_skipped() {
    let serving = version_resource_name(GROUP, 7, ARTIFACT);
    let ctx = approval_context("Approved", &[], Some(&serving));
    let run = handle(&ctx, approval_event(json!({})))
        .await
        .unwrap()
        .run
        .unwrap();
    assert_eq!(run.action, Action::Skip);
    assert!(run.reason.contains("already serves"), "{}", run.reason);

    let ctx = approval_context("Rejected", &[], None);
    let run = handle(&ctx, approval_event(json!({})))
        .await
        .unwrap()
        .run
        .unwrap();
    assert_eq!(run.action, Action::Skip);
    assert!(run.reason.contains("Rejected"));
}

#[tokio::test]
async fn a_run_behind_another_running_one_is_skipped_naming_it_and_starts_nothing() {
    let mut world = new_week();
    world.running = vec![
        ("later".to_string(), t0() + Duration::seconds(30)),
        ("weekly-earlier".to_string(), t0() - Duration::seconds(30)),
    ];
    let (ctx, calls) = context(world);
    let out = handle(&ctx, event(json!({}))).await.unwrap();
    let run = out.run.unwrap();
    assert_eq!(run.action, Action::Skip);
    assert_eq!(run.reason, "another run is in progress: weekly-earlier");
    assert!(calls.create_job.is_empty() && calls.create_group.is_empty());
    assert!(
        calls.list.is_empty(),
        "no scan of bronze/ for a run that is not its turn"
    );
    // Every page was read, for this state machine's running executions only.
    let reqs = calls.executions.all();
    assert_eq!(reqs.len(), 3);
    for r in reqs {
        assert_eq!(r.state_machine_arn(), Some(STATE_MACHINE));
        assert_eq!(r.status_filter(), Some(&ExecutionStatus::Running));
    }
}

#[tokio::test]
async fn the_first_of_overlapping_runs_trains() {
    let mut world = new_week();
    world.running = vec![("later".to_string(), t0() + Duration::seconds(1))];
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    assert_eq!(run.action, Action::Train, "{}", run.reason);
    assert_eq!(calls.create_job.len(), 1);
}

#[tokio::test]
async fn a_run_that_already_started_its_job_adopts_it_whoever_else_runs() {
    // A retry after the job was created: the job is this run's, it goes on.
    let mut world = new_week();
    world.existing_job = true;
    world.running = vec![("weekly-earlier".to_string(), t0() - Duration::seconds(30))];
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    assert_eq!(run.action, Action::Train);
    assert!(calls.create_job.is_empty());
    assert!(calls.executions.is_empty(), "adoption needs no listing");
}

#[tokio::test]
async fn an_approval_behind_a_running_run_waits_gives_up_and_once_redriven_waits_anew_then_deploys()
{
    let earlier = [("weekly-earlier".to_string(), t0() - Duration::seconds(30))];
    let serving = Some("prophet-forecasting-models-v6-abc");
    let ctx = approval_behind("Approved", &[], serving, &earlier);
    let run = handle(&ctx, approval_event(json!({})))
        .await
        .unwrap()
        .run
        .unwrap();
    assert_eq!(run.action, Action::Wait);
    assert_eq!(
        run.reason,
        "another run is in progress: weekly-earlier; the approval waits"
    );
    // Still behind it past the training deadline and the endpoint's: the execution fails, named.
    let late = t0()
        + Duration::seconds(
            (run.deadline_seconds + crate::handler::APPROVAL_WAIT_SLACK_SECONDS + 1) as i64,
        );
    let ctx = ctx.at(late);
    let err = handle(&ctx, approval_event(json!({}))).await.unwrap_err();
    assert_eq!(err.name(), "RunInProgress");
    assert!(err.to_string().contains("weekly-earlier"), "{err}");

    // It failed RunInProgress and was redriven a minute ago: `started_at` is still t0, but its
    // wait counts from the redrive.
    let redriven = |running: &[(String, DateTime<Utc>)]| {
        let at = Some(late - Duration::seconds(60));
        approval_redriven("Approved", &[], serving, running, at).at(late)
    };
    let run = handle(&redriven(&earlier), approval_event(json!({})))
        .await
        .unwrap()
        .run
        .unwrap();
    assert_eq!(run.action, Action::Wait, "{}", run.reason);
    // The earlier run has ended: the redriven approval deploys.
    let run = handle(&redriven(&[]), approval_event(json!({})))
        .await
        .unwrap()
        .run
        .unwrap();
    assert_eq!(run.action, Action::DeployApproved, "{}", run.reason);
}

/// The lease a run took: its conditional write and the holder it names.
fn lease_taken(calls: &Calls) -> (Option<String>, Option<String>, Value) {
    calls.lease_writes.one()
}

#[tokio::test]
async fn a_run_that_trains_takes_the_lease_only_if_there_is_none() {
    let (ctx, calls) = context(new_week());
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    assert_eq!(run.action, Action::Train, "{}", run.reason);
    let (if_none_match, if_match, lease) = lease_taken(&calls);
    assert_eq!(if_none_match.as_deref(), Some("*"));
    assert_eq!(if_match, None);
    assert_eq!(lease["holder"], execution_arn(EXECUTION));
    assert_eq!(lease["execution"], EXECUTION);
    assert_eq!(calls.create_job.len(), 1);
}

#[tokio::test]
async fn a_lease_held_by_a_running_execution_stops_the_run_before_it_trains() {
    // ListExecutions lags and lists nobody else, but the lease names a running execution.
    let mut world = new_week();
    world.lease = Some(("weekly-other".into(), true));
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    assert_eq!(run.action, Action::Skip);
    assert_eq!(run.reason, "another run is in progress: weekly-other");
    assert!(calls.lease_writes.is_empty() && calls.create_job.is_empty());
    assert!(calls.create_group.is_empty());
}

#[tokio::test]
async fn the_lease_of_an_ended_execution_is_taken_over_only_if_unchanged() {
    let mut world = new_week();
    world.lease = Some(("weekly-last-week".into(), false));
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    assert_eq!(run.action, Action::Train, "{}", run.reason);
    let (if_none_match, if_match, lease) = lease_taken(&calls);
    assert_eq!(if_none_match, None);
    assert_eq!(if_match.as_deref(), Some("\"etag-of-the-lease\""));
    assert_eq!(lease["holder"], execution_arn(EXECUTION));
}

#[tokio::test]
async fn a_run_that_loses_the_race_for_the_lease_names_the_winner_and_starts_nothing() {
    let mut world = new_week();
    world.lease_lost_to = Some("weekly-racer".into());
    let (ctx, calls) = context(world);
    let run = handle(&ctx, event(json!({}))).await.unwrap().run.unwrap();
    assert_eq!(run.action, Action::Skip);
    assert_eq!(run.reason, "another run is in progress: weekly-racer");
    assert_eq!(calls.lease_writes.len(), 1, "one write, answered 412");
    assert!(calls.create_job.is_empty());
}

/// Eight new days of 10 tickets, after a run a week ago; the serving model forecasts `n` a day.
fn served_week(n: Option<u64>) -> World {
    let days: Vec<String> = (14..=21).map(|d| format!("2026-11-{d}")).collect();
    let days: Vec<&str> = days.iter().map(String::as_str).collect();
    World {
        last_trained: Some(last_trained_at(t0() - Duration::days(7))),
        statistics: Some(stats(10.0)),
        files: vec![(
            "bronze/2026-11-21.csv".into(),
            t0() - Duration::days(1),
            tickets(&days, 10),
        )],
        serving_forecast: n,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_serving_model_is_measured_against_the_new_days_and_its_drift_alerted() {
    let (ctx, calls) = context(served_week(Some(14)));
    let data = scanned(&ctx, json!({})).await;
    let live = data.live.expect("measured");
    // 14 forecast against 10 arrived, every day: 40 %.
    assert_eq!(live.mape, Some(40.0));
    assert!(live.drifted);
    assert_eq!(live.model.as_deref(), Some("v1-config"));
    assert_eq!(live.days.len(), 8);
    let asked = calls.invoked.one();
    assert_eq!(
        asked.endpoint_name(),
        Some("prophet-fastapi-endpoint-latest")
    );
    assert_eq!(
        serde_json::from_slice::<Value>(asked.body().unwrap().as_ref()).unwrap(),
        json!({"horizon_days": 8, "start_date": "2026-11-14"})
    );
    let metric: Vec<(String, f64)> = ctx
        .metrics()
        .all()
        .iter()
        .flat_map(|m| m.metric_data().to_vec())
        .map(|d| (d.metric_name().unwrap().to_string(), d.value().unwrap()))
        .filter(|(m, _)| m == "ServingModelMAPE")
        .collect();
    assert_eq!(metric, vec![("ServingModelMAPE".to_string(), 40.0)]);
    let alert = ctx
        .published()
        .all()
        .into_iter()
        .find(|p| p.subject() == Some("Serving Model Drift Detected"))
        .expect("the drift alert");
    let body = alert.message().unwrap();
    assert!(body.starts_with("The serving model v1-config forecast the tickets of 2026-11-14 to 2026-11-21 with a MAPE of 40.0% (threshold 20.0%)"), "{body}");
    assert!(body.contains("2026-11-17, 10, 14"), "{body}");
    // Training goes on.
    assert_eq!(calls.create_job.len(), 1);
}

#[tokio::test]
async fn a_serving_model_that_follows_the_tickets_is_not_alerted() {
    let (ctx, _) = context(served_week(Some(10)));
    let live = scanned(&ctx, json!({})).await.live.unwrap();
    assert_eq!((live.mape, live.drifted), (Some(0.0), false));
    assert!(ctx
        .published()
        .all()
        .iter()
        .all(|p| p.subject() != Some("Serving Model Drift Detected")));
}

#[tokio::test]
async fn without_a_serving_model_the_live_mape_is_unknown_and_the_run_trains() {
    let (ctx, calls) = context(served_week(None));
    let live = scanned(&ctx, json!({})).await.live.unwrap();
    assert_eq!(live.mape, None);
    assert_eq!(
        live.unknown_reason.as_deref(),
        Some("no endpoint prophet-fastapi-endpoint-latest serves yet")
    );
    assert!(calls.invoked.is_empty());
    assert_eq!(calls.create_job.len(), 1);
}
