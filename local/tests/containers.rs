//! The users' image as SageMaker runs it: training jobs and endpoints run a local podman image
//! (`Testbed::start_image`). Needs podman and the images, so these tests are `#[ignore]`d in
//! `cargo test --workspace` and run by `make test-images`, which builds them first:
//! - `localhost/prophet-trainer:latest`, the Prophet example (`make image`);
//! - `localhost/retrain-probe:no-ping` and `:fail`, the probe image (`local/emulator/probe-image`):
//!   it writes what it was given into its model, and serves without passing /ping, or fails.

use asl_executor::{Execution, Status};
use local::containers::{self, PROPHET_IMAGE};
use local::pipeline::last_output;
use local::scenario::Scenario;
use local::testbed::Testbed;
use retrain_core::aws::endpoint::describe_endpoint;
use serde_json::Value;

const PROBE_NO_PING: &str = "localhost/retrain-probe:no-ping";
const PROBE_FAIL: &str = "localhost/retrain-probe:fail";

fn output(exec: &Execution, state: &str) -> Value {
    last_output(exec, state).unwrap_or_else(|| panic!("{state} never succeeded"))
}

/// The serving containers of the testbed's endpoint.
fn serving_containers(l: &Testbed) -> Vec<String> {
    // This emulator's: tests run side by side, each with its own emulator and the same endpoint.
    let port = l.emulator.url.rsplit(':').next().unwrap();
    containers::named(&format!("sm-endpoint-{port}-{}", l.cfg.endpoint_name)).unwrap()
}

/// The users' contract, asked through sagemaker-runtime.
async fn answers_the_contract(l: &Testbed) {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 12, 1);
    assert_eq!(l.forecast(3, start).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs podman and the Prophet image: make test-images"]
async fn the_prophet_image_trains_is_kept_out_on_thanksgiving_and_serves_once_approved() {
    let l = Testbed::start_image(PROPHET_IMAGE).await;
    let exec = l.week(Scenario::Normal, 1).await;
    assert_eq!(exec.status, Status::Succeeded, "{:?}", exec.cause);
    let evaluation = output(&exec, "EvaluateMape");
    let mape = evaluation["mape"]
        .as_f64()
        .expect("the image wrote its MAPE");
    assert!((1.0..20.0).contains(&mape), "MAPE {mape}");
    // The same decision as the example run on the host (docs/proving-ground.md's scenario table).
    assert_eq!(evaluation["champion"]["verdict"], "worse", "{evaluation}");
    assert_eq!(exec.states_entered().last(), Some(&"Rejected"));
    // The earlier model serves with the reference trainer's server, not in a container.
    assert!(serving_containers(&l).is_empty());

    let exec = l
        .approve_pending("image-approval", "reviewed: Thanksgiving is one week")
        .await;
    assert_eq!(
        exec.states_entered().last(),
        Some(&"Deployed"),
        "{:?}",
        exec.cause
    );
    assert_eq!(
        output(&exec, "CheckStatusEndpoint")["canary"]["passed"],
        true
    );
    // The image serves: one container for the endpoint, answering /invocations.
    assert_eq!(serving_containers(&l).len(), 1);
    answers_the_contract(&l).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs podman and the Prophet image: make test-images"]
async fn the_prophet_image_follows_a_regime_change_and_deploys() {
    let l = Testbed::start_image(PROPHET_IMAGE).await;
    let exec = l.week(Scenario::RegimeChange, 1).await;
    assert_eq!(
        exec.states_entered().last(),
        Some(&"Deployed"),
        "{:?}",
        exec.cause
    );
    let evaluation = output(&exec, "EvaluateMape");
    assert!(evaluation["mape"].as_f64().unwrap() < 20.0, "{evaluation}");
    assert_eq!(
        evaluation["champion"]["verdict"], "not_worse",
        "{evaluation}"
    );
    assert_eq!(serving_containers(&l).len(), 1);
    answers_the_contract(&l).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs podman and the Prophet image: make test-images"]
async fn the_prophet_image_after_a_level_shift_alarms_and_is_kept_out_as_worse() {
    let l = Testbed::start_image(PROPHET_IMAGE).await;
    l.prepare(Scenario::ServingDrift, 1).await;
    let earlier = l.report().await.serving_model;
    let exec = l.run(Scenario::ServingDrift, 1).await;
    assert_eq!(
        exec.states_entered().last(),
        Some(&"Rejected"),
        "{:?}",
        exec.cause
    );
    // The serving model missed the shift: its live MAPE over the threshold, the alarm, the alert.
    let live = &output(&exec, "StartTraining")["run"]["data"]["live"];
    assert!(
        live["mape"].as_f64().unwrap() >= 20.0 && live["drifted"] == true,
        "{live}"
    );
    assert_eq!(l.serving_drift_alarm().await, "ALARM");
    // Prophet (no holidays) passes 20 % but loses to it on the same days, Thanksgiving among
    // them (docs/proving-ground.md's scenario table): kept out, the earlier model serves on.
    let evaluation = output(&exec, "EvaluateMape");
    assert!(evaluation["mape"].as_f64().unwrap() < 20.0, "{evaluation}");
    assert_eq!(evaluation["champion"]["verdict"], "worse", "{evaluation}");
    let r = l.report().await;
    assert_eq!(r.serving_model, earlier);
    let subjects: Vec<&str> = r.alerts.iter().map(|(s, _)| s.as_str()).collect();
    assert!(
        subjects.contains(&"Serving Model Drift Detected"),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Model Worse Than Serving Model")),
        "{subjects:?}"
    );
    assert!(serving_containers(&l).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs podman and the probe images: make test-images"]
async fn a_failing_image_fails_the_run_with_its_failure_file() {
    let l = Testbed::start_image(PROBE_FAIL).await;
    let exec = l.week(Scenario::Normal, 1).await;
    assert_eq!(exec.status, Status::Failed);
    let r = l.report().await;
    let alert = r
        .alerts
        .iter()
        .find(|(subject, _)| subject.contains("Retraining Failed"))
        .unwrap_or_else(|| panic!("{:?}", r.alerts));
    assert!(
        alert
            .1
            .contains("AlgorithmError: exit code 1: ProbeError: the probe image failed as asked"),
        "{}",
        alert.1
    );
}

/// The first column of the training contract's "What the job gets" table (docs/contracts.md): the
/// names it promises a training image (variables and /opt/ml paths).
fn contract_promises() -> Vec<String> {
    let contracts =
        std::fs::read_to_string(local::launcher::repo_root().join("docs/contracts.md")).unwrap();
    let at = contracts.find("**What the job gets**").expect("the table");
    let mut names = Vec::new();
    for line in contracts[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
    {
        let first = line.split('|').nth(1).unwrap_or_default();
        if first.trim() == "image" {
            continue; // the image itself, not something inside it
        }
        names.extend(first.split('`').skip(1).step_by(2).map(str::to_string));
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs podman and the probe images: make test-images"]
async fn the_image_gets_what_the_contract_promises_and_a_server_without_ping_leaves_the_earlier_model(
) {
    let l = Testbed::start_image(PROBE_NO_PING).await;
    let exec = l.week(Scenario::Normal, 1).await;
    // The probe writes no metrics.json: MAPE unknown, the version waits for a person.
    assert_eq!(output(&exec, "EvaluateMape")["mape"], Value::Null);
    let job = output(&exec, "CheckStatus");
    let (bucket, key) =
        retrain_core::aws::s3::parse_uri(job["model_artifact"].as_str().unwrap()).unwrap();
    let seen = retrain_core::aws::s3::read_streaming(&l.harness.s3, &bucket, &key, |r| {
        retrain_core::archive::file_from_model_tar(r, "seen.json", 1 << 20)
    })
    .await
    .unwrap()
    .expect("the archive")
    .unwrap()
    .expect("seen.json in the archive");
    let seen: Value = serde_json::from_slice(&seen).unwrap();
    let promised = contract_promises();
    assert!(promised.len() >= 10, "{promised:?}");
    for name in &promised {
        let given = if let Some(file) = name.strip_prefix("/opt/ml/input/config/") {
            seen["config"].get(file).is_some()
        } else if name.starts_with("/opt/ml") {
            seen["dirs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d == name.as_str())
        } else {
            seen["env"].get(name).is_some()
        };
        assert!(
            given,
            "docs/contracts.md promises {name}; the image saw {seen}"
        );
    }
    assert_eq!(seen["env"]["S3_BUCKET"], l.cfg.bucket.as_str());
    assert_eq!(seen["emulator"], 200);

    // Approved, it deploys; its server never passes /ping: the update fails, the earlier model
    // keeps serving, the run fails at DeployFailed with SageMaker's reason.
    let exec = l.approve_pending("probe-approval", "deploy it").await;
    assert_eq!(exec.status, Status::Failed, "{:?}", exec.cause);
    assert_eq!(exec.states_entered().last().copied(), Some("DeployFailed"));
    let status = output(&exec, "CheckStatusEndpoint");
    let reason = status["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("did not pass the ping health check"),
        "{reason}"
    );
    let e = describe_endpoint(&l.harness.sm, &l.cfg.endpoint_name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.status, "InService");
    assert!(
        serving_containers(&l).is_empty(),
        "the failed container was stopped"
    );
    // The earlier model still answers the canary's request.
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    assert_eq!(l.forecast(7, Some(tomorrow)).await.len(), 7);
}
