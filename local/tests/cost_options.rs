//! The cheap configuration end to end (#25): a serverless endpoint and managed spot training,
//! the real workers and definition against the emulator, which enforces SageMaker's serverless
//! and spot rules. Then a spot market with no capacity: the job stops at its max wait, and the
//! alert says so. One test in this binary: it sets the configuration through the environment
//! (`harness::LOCAL_CHOICES`, as `make demo ENDPOINT_TYPE=Serverless` does) before anything runs.

use asl_executor::Status;
use local::pipeline::{end, output_of};
use local::scenario::Scenario;
use local::testbed::Testbed;

#[test]
fn serverless_inference_and_spot_training_end_to_end() {
    // Before any thread of the runtime or emulator exists (the only test of this binary).
    std::env::set_var("ENDPOINT_TYPE", "Serverless");
    std::env::set_var("SERVERLESS_MEMORY_MB", "2048");
    std::env::set_var("SERVERLESS_MAX_CONCURRENCY", "5");
    std::env::remove_var("TRAINING_SPOT"); // the default: spot
    std::env::remove_var("EMULATOR_SPOT_CAPACITY");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            a_serverless_week_deploys_on_spot_training().await;
            std::env::set_var("EMULATOR_SPOT_CAPACITY", "none");
            no_spot_capacity_stops_the_job_at_its_max_wait_and_alerts().await;
        });
}

async fn a_serverless_week_deploys_on_spot_training() {
    let l = Testbed::start(env!("CARGO_BIN_EXE_reference-trainer")).await;
    assert!(l.cfg.endpoint.serverless.is_some() && l.cfg.training.spot);
    let exec = l.week(Scenario::Normal, 1).await;
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "Deployed"),
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    // The earlier model was deployed serverless by the same Deploy worker; this run's model
    // replaced it blue/green (rolling is refused for serverless by the emulator, as by AWS).
    let deployed = output_of(&exec, "Deploy");
    assert_eq!(deployed["action"], "updated");
    let config = l
        .harness
        .sm
        .describe_endpoint_config()
        .endpoint_config_name(deployed["endpoint_config_name"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let variant = &config.production_variants()[0];
    let serverless = variant.serverless_config().expect("a serverless variant");
    assert_eq!(
        (serverless.memory_size_in_mb(), serverless.max_concurrency()),
        (Some(2048), Some(5))
    );
    assert_eq!(variant.instance_type(), None);
    let endpoint = l
        .harness
        .sm
        .describe_endpoint()
        .endpoint_name(&l.cfg.endpoint_name)
        .send()
        .await
        .unwrap();
    assert!(endpoint.production_variants()[0]
        .current_serverless_config()
        .is_some());
    // The serving model was measured live, the canary asked the new one, and a consumer's
    // request gets a forecast of the serving contract.
    let live = &output_of(&exec, "StartTraining")["run"]["data"]["live"];
    assert!(live["mape"].as_f64().is_some(), "{live}");
    let canary = &output_of(&exec, "CheckStatusEndpoint")["canary"];
    assert_eq!(canary["passed"], true, "{canary}");
    assert_eq!(l.forecast(7, None).await.len(), 7);
    // Spot training: SageMaker billed fewer seconds than the job trained, and the run says so.
    let job = output_of(&exec, "CheckStatus");
    let billing = &job["billing"];
    assert_eq!(billing["spot"], true, "{job}");
    let (trained, billed) = (
        billing["training_seconds"].as_i64().unwrap(),
        billing["billable_seconds"].as_i64().unwrap(),
    );
    assert!(billed >= 1 && billed <= trained, "{billing}");
    let r = l.report().await;
    assert_eq!(r.metric("TrainingBillableSeconds"), vec![billed as f64]);
    let html = local::report::run_report(&l.harness, &exec.name)
        .await
        .unwrap()
        .unwrap();
    assert!(
        html.contains(&format!(
            "{trained} s trained, {billed} s billed (managed spot"
        )),
        "the run report records the billing"
    );
    assert!(r.alerts.is_empty(), "{:?}", r.alerts);
}

async fn no_spot_capacity_stops_the_job_at_its_max_wait_and_alerts() {
    let l = Testbed::start(env!("CARGO_BIN_EXE_reference-trainer")).await;
    let exec = l.week(Scenario::Normal, 1).await;
    assert_eq!(exec.status, Status::Failed, "{:?}", exec.states_entered());
    assert_eq!(exec.error.as_deref(), Some("TrainingJobFailed"));
    let job = output_of(&exec, "CheckStatus");
    assert_eq!(
        (job["status"].as_str(), job["secondary_status"].as_str()),
        (Some("Stopped"), Some("MaxWaitTimeExceeded")),
        "{job}"
    );
    let r = l.report().await;
    let (subject, body) = r.alerts.last().expect("an alert");
    assert!(
        body.contains("MaxWaitTimeExceeded") && body.contains("retrain start --spot false"),
        "{subject}: {body}"
    );
    // Nothing was deployed: the earlier model serves on.
    let deployments = r.deployments.len();
    assert_eq!(
        deployments, 1,
        "only the seed's endpoint: {:?}",
        r.deployments
    );
}
