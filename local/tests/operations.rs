//! Operating the pipeline against the emulator: overlapping runs (single-flight), through the
//! Step Functions API the emulator forwards to the local Step Functions.

use std::time::Duration;

use local::scenario::Scenario;
use local::seed::PREVIOUS_JOB;
use local::testbed::Testbed;
use serde_json::json;

async fn testbed() -> Testbed {
    Testbed::start(env!("CARGO_BIN_EXE_reference-trainer")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_five_overlapping_runs_one_trains_and_deploys_and_four_skip_naming_it() {
    five_overlapping_runs(Duration::ZERO).await;
}

/// ListExecutions lagging 2 s: every run lists itself alone, and only the S3 lease (a
/// conditional write) keeps the other four from training and deploying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_list_executions_lagging_the_lease_still_lets_exactly_one_run_train() {
    five_overlapping_runs(Duration::from_secs(2)).await;
}

async fn five_overlapping_runs(list_lag: Duration) {
    let t = testbed().await;
    t.prepare(Scenario::Normal, 1).await;
    t.pipeline.sfn.set_list_lag(list_lag);
    let before = t.report().await;

    // Five StartExecution calls through the emulator (IAM-checked), as the schedule and people
    // would make them, each a moment after the last.
    let sfn = aws_sdk_sfn::Client::new(&t.sdk);
    let machine = t.pipeline.sfn.state_machine_arn();
    let mut arns = Vec::new();
    for i in 0..5 {
        let started = sfn
            .start_execution()
            .state_machine_arn(&machine)
            .name(format!("overlap-{i}"))
            .input(json!({"poll_seconds": 1}).to_string())
            .send()
            .await
            .unwrap();
        arns.push(started.execution_arn().to_string());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut outcomes = Vec::new();
    for arn in &arns {
        let exec = tokio::time::timeout(Duration::from_secs(300), t.pipeline.sfn.wait(arn))
            .await
            .expect("the run ends")
            .unwrap();
        let end = exec.states_entered().last().unwrap().to_string();
        let reason = exec.output.as_ref().map(|o| o["run"]["reason"].clone());
        outcomes.push((exec.name.clone(), exec.status, end, reason));
    }
    let deployed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.2 == "Deployed")
        .map(|o| o.0.as_str())
        .collect();
    assert_eq!(deployed.len(), 1, "{outcomes:?}");
    if list_lag.is_zero() {
        assert_eq!(deployed, ["overlap-0"], "the first listed goes ahead");
    }
    let winner = format!("another run is in progress: {}", deployed[0]);
    for (name, status, end, reason) in outcomes.iter().filter(|o| o.0 != deployed[0]) {
        assert_eq!(*status, asl_executor::Status::Succeeded, "{name}");
        assert_eq!(end, "NothingToDo", "{name}");
        assert_eq!(
            reason.as_ref().and_then(|r| r.as_str()),
            Some(winner.as_str()),
            "{name}"
        );
    }

    let after = t.report().await;
    let new_jobs: Vec<_> = after
        .training_jobs
        .iter()
        .filter(|(name, _)| name != PREVIOUS_JOB)
        .collect();
    assert_eq!(new_jobs.len(), 1, "{:?}", after.training_jobs);
    assert_eq!(after.versions.len(), before.versions.len() + 1);
    assert_eq!(
        after.deployments.len(),
        before.deployments.len() + 1,
        "{:?}",
        after.deployments
    );
    assert_eq!(after.deployments.last().unwrap().0, "UpdateEndpoint");
    // ListExecutions (no longer lagging) shows five SUCCEEDED and none RUNNING.
    t.pipeline.sfn.set_list_lag(Duration::ZERO);
    let listed = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 5);
    assert!(listed
        .executions()
        .iter()
        .all(|e| e.status() == &aws_sdk_sfn::types::ExecutionStatus::Succeeded));
}

/// The `retrain` binary (built beside this test's binaries by `cargo test --workspace`).
fn retrain_binary() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_BIN_EXE_local-run"))
        .parent()
        .unwrap()
        .to_path_buf();
    let bin = dir.join("retrain");
    assert!(
        bin.exists(),
        "{} is missing: build it (cargo build -p retrain) or run cargo test --workspace",
        bin.display()
    );
    bin
}

/// The template's operator policy: the emulator authorizes `retrain`'s calls against it.
const OPERATOR: &str = "RetrainOperatorPolicy";

/// Run `retrain --endpoint-url <emulator> --state-machine <machine> ARGS` as an operator would,
/// with static credentials in the environment (the operator policy's access key, so every call
/// is authorized against `RetrainOperatorPolicy` in template.yaml) and no other AWS
/// configuration; (exit code, stdout, stderr).
async fn retrain(t: &Testbed, args: &[&str]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(retrain_binary());
    cmd.args(["--endpoint-url", &t.emulator.url])
        .args(["--state-machine", &t.pipeline.sfn.state_machine_arn()])
        .args(args)
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", OPERATOR)
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_command_starts_follows_explains_and_redrives_runs_on_the_emulator() {
    let t = testbed().await;
    t.prepare(Scenario::Normal, 1).await;

    // A bad override: refused naming the flag, no execution exists.
    let (code, _, err) = retrain(&t, &["start", "--threshold", "150"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("invalid --threshold: 150 is outside (0, 100]"),
        "{err}"
    );
    let (_, listed, _) = retrain(&t, &["--json", "runs"]).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&listed).unwrap(),
        json!([])
    );

    // A run whose Deploy reply is lost: it fails at Deploy; `--wait` exits 1.
    t.faults
        .deploy_lost_replies
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let (code, out, err) = retrain(
        &t,
        &[
            "start",
            "--name",
            "by-hand",
            "--threshold",
            "25",
            "--poll-seconds",
            "1",
            "--wait",
            "--follow-seconds",
            "1",
        ],
    )
    .await;
    assert_eq!(code, 1, "{out}{err}");
    for want in [
        "-> StartTraining",
        "-> EvaluateMape",
        "-> Deploy",
        "status        FAILED",
        "failed at Deploy",
        "threshold 25.00 %",
        "Sandbox.Timedout",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }

    let (_, text, _) = retrain(&t, &["status", "by-hand"]).await;
    println!("{text}");
    // status (the latest by default) says the same, from the history.
    let (code, out, _) = retrain(&t, &["--json", "status"]).await;
    assert_eq!(code, 0);
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["name"], "by-hand");
    assert_eq!(s["decision"], "failed at Deploy");
    assert_eq!(s["trigger"], "manual");
    assert!(s["mape"].as_f64().unwrap() < 25.0);

    // Redrive it; it resumes at Deploy and deploys once.
    let (code, out, err) = retrain(&t, &["redrive", "by-hand"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let arn = t.pipeline.sfn.executor().execution_arn("by-hand");
    let exec = tokio::time::timeout(Duration::from_secs(120), t.pipeline.sfn.wait(&arn))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exec.states_entered().last().copied(), Some("Deployed"));
    let (_, out, _) = retrain(&t, &["status", "by-hand"]).await;
    assert!(out.contains("decision      deployed"), "{out}");
    assert!(out.contains("redriven      1 time(s)"), "{out}");
    // Redriving a succeeded run is refused, saying why.
    let (code, _, err) = retrain(&t, &["redrive", "by-hand"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("it is SUCCEEDED"), "{err}");
    let (_, out, _) = retrain(&t, &["runs"]).await;
    assert!(out.lines().nth(1).unwrap().contains("manual"), "{out}");
    assert!(out.contains("deployed"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_during_a_run_waits_its_turn_then_deploys_the_approved_version() {
    use aws_sdk_sagemaker::types::ModelApprovalStatus;
    use retrain_core::aws::registry::{list_versions, set_approval};

    let t = testbed().await;
    // Week 1 is rejected: its version waits for a person.
    let week1 = t.week(Scenario::RegimeChange, 1).await;
    assert_eq!(week1.states_entered().last().copied(), Some("Rejected"));
    let pending = list_versions(&t.harness.sm, &t.cfg.model_package_group)
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.version.status == "PendingManualApproval")
        .expect("the rejected version")
        .version;
    t.prepare(Scenario::RegimeChange, 2).await;

    // Week 2 starts; a moment later a person approves week 1's version.
    let weekly = t
        .pipeline
        .sfn
        .start("weekly-2", json!({"poll_seconds": 1}))
        .unwrap()
        .0;
    tokio::time::sleep(Duration::from_millis(200)).await;
    set_approval(
        &t.harness.sm,
        &pending.arn,
        ModelApprovalStatus::Approved,
        "reviewed",
    )
    .await
    .unwrap();
    let event = retrain_core::testing::approval_event(
        &t.cfg.model_package_group,
        pending.version.expect("the version's number"),
        &pending.arn,
        "Approved",
    );
    let approval = t.pipeline.sfn.start("approval-1", event).unwrap().0;

    let wait = |arn: String| {
        let sfn = t.pipeline.sfn.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(300), sfn.wait(&arn))
                .await
                .expect("the run ends")
                .unwrap()
        }
    };
    let (weekly, approval) = tokio::join!(wait(weekly), wait(approval));
    assert_eq!(weekly.status, asl_executor::Status::Succeeded);
    assert_eq!(
        approval.states_entered().last().copied(),
        Some("Deployed"),
        "{:?} {:?}",
        approval.error,
        approval.cause
    );
    // It waited: StartTraining said why, and asked again after WaitForTurn.
    assert!(approval.states_entered().contains(&"WaitForTurn"));
    let first = approval
        .history
        .iter()
        .find_map(|e| match &e.event {
            asl_executor::Event::TaskSucceeded { state, output } if state == "StartTraining" => {
                Some(output["run"]["reason"].clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(
        first,
        json!("another run is in progress: weekly-2; the approval waits")
    );
    // The approved version serves, deployed after anything week 2 deployed.
    let r = t.report().await;
    let deployed = local::pipeline::last_output(&approval, "Deploy").unwrap();
    assert_eq!(deployed["model_package_arn"], pending.arn.as_str());
    assert_eq!(r.serving_model, deployed["model_name"].as_str().unwrap());
    assert_eq!(
        r.deployments.last().unwrap().1,
        deployed["endpoint_config_name"].as_str().unwrap()
    );
}

/// An endpoint created another way (the SageMaker Python SDK names its one variant
/// `AllTraffic`) on two instances: the weekly run updates it in place, guarded (the emulator,
/// as SageMaker, refuses a guarded update whose variant names differ), keeping the name and the
/// fleet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_of_another_making_is_updated_in_place_keeping_its_variant_and_fleet() {
    use aws_sdk_sagemaker::types::{ProductionVariant, ProductionVariantInstanceType};
    let t = testbed().await;
    t.prepare(Scenario::Normal, 1).await;
    let sm = aws_sdk_sagemaker::Client::new(&t.sdk);
    let endpoint = &t.cfg.endpoint_name;
    let serving = sm
        .describe_endpoint()
        .endpoint_name(endpoint)
        .send()
        .await
        .unwrap();
    let model = sm
        .describe_endpoint_config()
        .endpoint_config_name(serving.endpoint_config_name().unwrap())
        .send()
        .await
        .unwrap()
        .production_variants()[0]
        .model_name()
        .unwrap()
        .to_string();
    // What `model.deploy(initial_instance_count=2)` of the SageMaker Python SDK leaves.
    sm.create_endpoint_config()
        .endpoint_config_name("sagemaker-sdk-config")
        .production_variants(
            ProductionVariant::builder()
                .variant_name("AllTraffic")
                .model_name(&model)
                .initial_instance_count(2)
                .instance_type(ProductionVariantInstanceType::MlM5Large)
                .initial_variant_weight(1.0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    sm.update_endpoint()
        .endpoint_name(endpoint)
        .endpoint_config_name("sagemaker-sdk-config")
        .send()
        .await
        .unwrap();
    for _ in 0..100 {
        let d = sm.describe_endpoint().endpoint_name(endpoint).send().await;
        if d.unwrap().endpoint_config_name() == Some("sagemaker-sdk-config") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = t.report().await;

    let exec = t.run(Scenario::Normal, 1).await;
    assert_eq!(
        exec.states_entered().last().copied(),
        Some("Deployed"),
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    let after = t.report().await;
    assert_eq!(after.deployments.len(), before.deployments.len() + 1);
    let (op, config) = after.deployments.last().unwrap().clone();
    assert_eq!(op, "UpdateEndpoint", "in place, not a new endpoint");
    let variants = sm
        .describe_endpoint_config()
        .endpoint_config_name(&config)
        .send()
        .await
        .unwrap();
    let v = &variants.production_variants()[0];
    assert_eq!(v.variant_name(), Some("AllTraffic"));
    assert_eq!(v.initial_instance_count(), Some(2));
}
