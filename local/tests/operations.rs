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
    let t = testbed().await;
    t.prepare(Scenario::Normal, 1).await;
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
    assert_eq!(outcomes[0].2, "Deployed", "{outcomes:?}");
    for (name, status, end, reason) in &outcomes[1..] {
        assert_eq!(*status, asl_executor::Status::Succeeded, "{name}");
        assert_eq!(end, "NothingToDo", "{name}");
        assert_eq!(
            reason.as_ref().and_then(|r| r.as_str()),
            Some("another run is in progress: overlap-0"),
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
    // ListExecutions now shows five SUCCEEDED and none RUNNING.
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
