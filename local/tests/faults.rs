//! The fault matrix: at every Task state, every fault class the workers meet on AWS, against the
//! emulator. Each cell is a whole run in its own emulator; Retry does its work, or the failed (or
//! stopped) execution is redriven, and the cell passes when the run ends where it would have
//! without the fault, with exactly one training job, one registered version, at most one endpoint
//! deployment, and no alert claiming something that did not happen.

use std::sync::Arc;
use std::time::Instant;

use asl_executor::{Event, Status};
use local::faults::{FaultClass, Injection};
use local::scenario::Scenario;
use local::seed::PREVIOUS_JOB;
use local::testbed::Testbed;
use retrain_core::messages::{
    SUBJECT_DEADLINE, SUBJECT_DEPLOY_FAILED, SUBJECT_MAPE_IMPLAUSIBLE, SUBJECT_MAPE_UNKNOWN,
    SUBJECT_NEEDS_APPROVAL, SUBJECT_PIPELINE_ERROR, SUBJECT_TRAINING_FAILED,
};
use serde_json::json;

#[derive(Clone, Copy)]
struct Row {
    state: &'static str,
    worker: &'static str,
    kind: Option<&'static str>,
    operation: &'static str,
    scenario: Scenario,
    /// Where the run ends without a fault.
    end: &'static str,
}

const ROWS: [Row; 7] = [
    Row {
        state: "StartTraining",
        worker: "start-training",
        kind: None,
        operation: "CreateTrainingJob",
        scenario: Scenario::Normal,
        end: "Deployed",
    },
    Row {
        state: "CheckStatus",
        worker: "check-status",
        kind: Some("training"),
        operation: "DescribeTrainingJob",
        scenario: Scenario::Normal,
        end: "Deployed",
    },
    Row {
        state: "EvaluateMape",
        worker: "evaluate-mape",
        kind: None,
        operation: "GetObject",
        scenario: Scenario::Normal,
        end: "Deployed",
    },
    Row {
        state: "Deploy",
        worker: "deploy",
        kind: None,
        operation: "CreateModelPackage",
        scenario: Scenario::Normal,
        end: "Deployed",
    },
    Row {
        state: "Deploy",
        worker: "deploy",
        kind: None,
        operation: "UpdateEndpoint",
        scenario: Scenario::Normal,
        end: "Deployed",
    },
    Row {
        state: "CheckStatusEndpoint",
        worker: "check-status",
        kind: Some("endpoint"),
        operation: "DescribeEndpoint",
        scenario: Scenario::Normal,
        end: "Deployed",
    },
    Row {
        state: "RejectAndAlert",
        worker: "reject-and-alert",
        kind: None,
        operation: "CreateModelPackage",
        scenario: Scenario::RegimeChange,
        end: "Rejected",
    },
];

#[derive(Debug)]
struct Cell {
    label: String,
    problems: Vec<String>,
    duplicates: usize,
    duplicate_alerts: usize,
    retries: usize,
    redrives: u32,
    seconds: f64,
}

async fn cell(row: Row, class: FaultClass) -> Cell {
    let started = Instant::now();
    let label = format!("{} ({}) / {}", row.state, row.operation, class.name());
    let t = Testbed::start_with(env!("CARGO_BIN_EXE_reference-trainer"), true).await;
    t.prepare(row.scenario, 1).await;
    let before = t.report().await;
    t.faults.inject(Injection {
        worker: row.worker,
        kind: row.kind,
        operation: row.operation,
        class,
    });
    let name = format!("cell-{}", fastrand::u32(..));
    let mut exec = t.pipeline.run(&name, json!({"poll_seconds": 1})).await;
    let mut redrives = 0;
    while exec.status != Status::Succeeded && redrives < 3 {
        t.pipeline.redrive(&mut exec).await.unwrap();
        redrives += 1;
    }
    let after = t.report().await;
    let mut problems = Vec::new();
    let mut duplicates = 0;
    let mut duplicate_alerts = 0;
    let fired = t.faults.fired.lock().unwrap().clone();
    if fired.len() != 1 {
        problems.push(format!("the fault fired {} times: {fired:?}", fired.len()));
    }
    let end = exec.states_entered().last().copied().unwrap_or_default();
    if exec.status != Status::Succeeded || end != row.end {
        problems.push(format!(
            "ended {:?} at {end}, not at {}: {:?}",
            exec.status, row.end, exec.cause
        ));
    }
    let jobs = after
        .training_jobs
        .iter()
        .filter(|(n, _)| n != PREVIOUS_JOB)
        .count();
    let versions = after.versions.len() - before.versions.len();
    let deployments = after.deployments.len() - before.deployments.len();
    let want_deployments = usize::from(row.end == "Deployed");
    for (what, got, want) in [
        ("training jobs", jobs, 1),
        ("registered versions", versions, 1),
        ("endpoint deployments", deployments, want_deployments),
    ] {
        if got != want {
            problems.push(format!("{got} {what}, not {want}"));
            duplicates += got.saturating_sub(want);
        }
    }
    // Alerts: each failure or stop alerted once (the execution-status rule), nothing claimed
    // that did not happen.
    let stops = exec
        .history
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                Event::ExecutionFailed { .. }
                    | Event::ExecutionAborted { .. }
                    | Event::ExecutionTimedOut { .. }
            )
        })
        .count();
    let subjects: Vec<&str> = after.alerts.iter().map(|(s, _)| s.as_str()).collect();
    let count = |s: &str| subjects.iter().filter(|x| **x == s).count();
    if count(SUBJECT_PIPELINE_ERROR) != stops {
        problems.push(format!(
            "{} pipeline-error alerts for {stops} failures",
            count(SUBJECT_PIPELINE_ERROR)
        ));
    }
    for wrong in [
        SUBJECT_DEPLOY_FAILED,
        SUBJECT_TRAINING_FAILED,
        SUBJECT_DEADLINE,
        SUBJECT_MAPE_UNKNOWN,
        SUBJECT_MAPE_IMPLAUSIBLE,
    ] {
        if count(wrong) > 0 {
            problems.push(format!("an alert `{wrong}` for a run that did not"));
        }
    }
    let newest = after.versions.last().cloned();
    match row.end {
        "Deployed" => {
            if count(SUBJECT_NEEDS_APPROVAL) > 0 {
                problems.push("an approval alert for a run that deployed".into());
            }
            let v = newest.expect("a version");
            if v.status != "Approved" || !after.serving_model.contains(&format!("-v{}-", v.version))
            {
                problems.push(format!(
                    "version {} is {}, serving {}",
                    v.version, v.status, after.serving_model
                ));
            }
        }
        _ => {
            // Alerts are at-least-once: an invocation that runs on after its execution was
            // stopped, and the redrive's, each send theirs. Counted, not a failure.
            if count(SUBJECT_NEEDS_APPROVAL) == 0 {
                problems.push("no approval alert for a rejected run".into());
            }
            duplicate_alerts = count(SUBJECT_NEEDS_APPROVAL).saturating_sub(1);
            let v = newest.expect("a version");
            if v.status != "PendingManualApproval" || after.serving_model != before.serving_model {
                problems.push(format!(
                    "version {} is {}, serving {}",
                    v.version, v.status, after.serving_model
                ));
            }
            let body = &after
                .alerts
                .iter()
                .find(|(s, _)| s == SUBJECT_NEEDS_APPROVAL)
                .map(|(_, b)| b.clone())
                .unwrap_or_default();
            if !body.contains(&after.serving_model) {
                problems.push("the approval alert does not name the model serving".into());
            }
        }
    }
    Cell {
        label,
        problems,
        duplicates,
        duplicate_alerts,
        retries: exec.retries().len(),
        redrives,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_task_state_survives_every_fault_class_without_doing_anything_twice() {
    // Operation-independent classes once per state.
    let mut cells = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in ROWS {
        for class in FaultClass::ALL {
            let op_matters = matches!(
                class,
                FaultClass::Throttling | FaultClass::ServerError | FaultClass::LambdaTimeout
            );
            if op_matters || seen.insert((row.worker, row.kind, class as u8)) {
                cells.push((row, class));
            }
        }
    }
    // FAULT_CELLS=<text>: only the cells whose label contains it (to look at one closely).
    if let Ok(only) = std::env::var("FAULT_CELLS") {
        cells.retain(|(row, class)| {
            format!("{} ({}) / {}", row.state, row.operation, class.name()).contains(&only)
        });
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(3));
    let mut set = tokio::task::JoinSet::new();
    for (i, (row, class)) in cells.into_iter().enumerate() {
        let limit = limit.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            (i, cell(row, class).await)
        });
    }
    let mut results = Vec::new();
    while let Some(r) = set.join_next().await {
        results.push(r.expect("a cell ran"));
    }
    results.sort_by_key(|(i, _)| *i);
    let passed = results
        .iter()
        .filter(|(_, c)| c.problems.is_empty())
        .count();
    let duplicates: usize = results.iter().map(|(_, c)| c.duplicates).sum();
    let duplicate_alerts: usize = results.iter().map(|(_, c)| c.duplicate_alerts).sum();
    println!("| state (operation) / fault | result | ASL retries | redrives | duplicate alerts | seconds |");
    println!("|---|---|---|---|---|---|");
    for (_, c) in &results {
        println!(
            "| {} | {} | {} | {} | {} | {:.0} |",
            c.label,
            if c.problems.is_empty() {
                "passed".to_string()
            } else {
                c.problems.join("; ")
            },
            c.retries,
            c.redrives,
            c.duplicate_alerts,
            c.seconds
        );
    }
    println!(
        "\ncells passed: {passed} / {}; duplicates found (jobs, versions, deployments): {duplicates}; duplicate alerts: {duplicate_alerts}",
        results.len()
    );
    assert_eq!(passed, results.len(), "{results:#?}");
    assert_eq!(duplicates, 0);
}
