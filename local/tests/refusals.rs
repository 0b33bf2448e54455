//! What the pipeline refuses, whole executions against the AWS emulator: one table per family
//! (ticket files, metrics documents, execution inputs). Every case asserts the outcome, the
//! reason, the alert, and that nothing changed that the refusal says did not: no training job
//! (files), no deploy (metrics), no version or endpoint (inputs), `Model/last_trained.json`
//! untouched. README.md's "What the pipeline refuses" table is these cases.

use asl_executor::{Execution, Status};
use local::harness;
use local::launcher::Emulator;
use local::pipeline::{last_output, Faults, Pipeline};
use local::report::{collect, Report};
use local::scenario::Scenario;
use local::seed::{prepare, Lake};
use retrain_core::aws::s3::{get_json, LAST_TRAINED_KEY};
use retrain_core::Context;
use serde_json::{json, Value};
use std::sync::Arc;

struct Run {
    exec: Execution,
    before: Option<Value>,
    /// What the emulator held before the execution: the earlier model serving, its version.
    earlier: Report,
    report: Report,
}

/// A lake trained and deployed before (`no-new-data`'s week 1: history, last_trained.json,
/// statistics), then `new_file` added, then one execution with `input`, the jobs running
/// `training_command`.
async fn run(training_command: &str, new_file: Option<&[u8]>, input: Value) -> Run {
    let emulator = Emulator::start(training_command).expect("emulator (run tools/setup.sh)");
    let sdk = emulator.sdk_config(harness::HARNESS.name).await;
    let harness: Context = harness::connect(&sdk).await.unwrap();
    let lake = Lake {
        ctx: &harness,
        sdk: &sdk,
    };
    prepare(&lake, Scenario::NoNewData, 1).await.unwrap();
    if let Some(body) = new_file {
        lake.put_file("bronze/tickets-new.csv", body).await.unwrap();
    }
    let before = get_json(&harness.s3, &harness.cfg.bucket, LAST_TRAINED_KEY)
        .await
        .unwrap();
    let earlier = collect(&harness, &emulator.state().unwrap()).await.unwrap();
    let pipeline = Pipeline::new(&sdk, &harness.cfg, Arc::new(Faults::default()), None);
    pipeline.serve(&emulator).unwrap();
    let exec = pipeline.run("refusal", input).await;
    let report = collect(&harness, &emulator.state().unwrap()).await.unwrap();
    Run {
        exec,
        before,
        earlier,
        report,
    }
}

fn output_of(exec: &Execution, state: &str) -> Value {
    last_output(exec, state).unwrap_or_else(|| panic!("{state} never succeeded"))
}

fn end(exec: &Execution) -> &str {
    exec.states_entered().last().copied().unwrap_or_default()
}

fn subjects(r: &Report) -> Vec<&str> {
    r.alerts.iter().map(|(s, _)| s.as_str()).collect()
}

/// A trainer that writes `metrics` as its metrics.json (shell, as the emulator runs it).
fn trainer_writing(metrics: &str) -> String {
    format!("printf '%b' '{metrics}' > \"$SM_MODEL_DIR/metrics.json\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_files_that_hold_nothing_usable_skip_the_run() {
    let trainer = env!("CARGO_BIN_EXE_reference-trainer");
    let cases: [(&str, &[u8], &str); 4] = [
        ("header only", b"ticket_id,created_date\n", "header only"),
        (
            "no created_date column",
            b"Ticket ID,Opened At\n1,2026-11-20\n",
            "no `created_date` column (header: `Ticket ID,Opened At`)",
        ),
        (
            "dated decades ahead",
            b"created_date\n2061-03-01\n2061-03-02\n",
            "after the latest plausible day",
        ),
        ("binary", b"\x1f\x8b\x08\0\0\0\0\0\0\x03", "binary"),
    ];
    for (name, file, says) in cases {
        let r = run(trainer, Some(file), json!({})).await;
        assert_eq!(
            (r.exec.status, end(&r.exec)),
            (Status::Succeeded, "NothingToDo"),
            "{name}"
        );
        let started = output_of(&r.exec, "StartTraining");
        assert_eq!(started["run"]["action"], "skip", "{name}");
        let reason = started["run"]["reason"].as_str().unwrap();
        assert!(reason.contains(says), "{name}: {reason}");
        assert_eq!(
            subjects(&r.report),
            ["Ticket Data Unusable - Retraining Skipped"],
            "{name}"
        );
        let body = &r.report.alerts[0].1;
        assert!(
            body.contains("bronze/tickets-new.csv (unusable)") && body.contains(says),
            "{name}: {body}"
        );
        assert!(r.report.training_jobs.is_empty(), "{name}: nothing trained");
        assert_eq!(
            r.report.versions, r.earlier.versions,
            "{name}: nothing registered"
        );
        assert_eq!(r.report.serving_model, r.earlier.serving_model, "{name}");
        assert_eq!(
            r.report.last_trained, r.before,
            "{name}: last_trained.json moved"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_documents_that_cannot_deploy_wait_for_a_person() {
    let week = b"created_date\n2024-11-25\n2024-11-26\n2024-11-27\n";
    let cases: [(&str, String, &str, &str, &str); 4] = [
        (
            "MAPE as a fraction",
            trainer_writing(r#"{"mape": 0.25, "rmse": 1, "mae": 1}"#),
            "RejectAndAlertImplausibleMape",
            "Model MAPE Implausibly Low - Manual Review Needed",
            "check the trainer's units and data",
        ),
        (
            "byte-order mark",
            trainer_writing(r#"\0357\0273\0277{"mape": 5}"#),
            "RejectAndAlertUnknownMape",
            "Model MAPE Unknown - Manual Review Needed",
            "byte-order mark",
        ),
        (
            "symlink",
            "ln -s /etc/hostname \"$SM_MODEL_DIR/metrics.json\"".into(),
            "RejectAndAlertUnknownMape",
            "Model MAPE Unknown - Manual Review Needed",
            "not a regular file (a symbolic link",
        ),
        (
            "mape written twice",
            trainer_writing(r#"{"mape": 45, "mape": 4.5}"#),
            "RejectAndAlertUnknownMape",
            "Model MAPE Unknown - Manual Review Needed",
            "appears more than once",
        ),
    ];
    for (name, trainer, state, subject, says) in cases {
        let r = run(&trainer, Some(week), json!({})).await;
        assert_eq!(
            (r.exec.status, end(&r.exec)),
            (Status::Succeeded, "Rejected"),
            "{name}: {:?}",
            r.exec.cause
        );
        assert!(r.exec.states_entered().contains(&state), "{name}");
        assert!(!r.exec.states_entered().contains(&"Deploy"), "{name}");
        // (A three-ticket week also drifts: that alert is not this table's concern.)
        let alerts: Vec<&(String, String)> = r
            .report
            .alerts
            .iter()
            .filter(|(s, _)| s != "Data Drift Detected")
            .collect();
        assert_eq!(alerts.len(), 1, "{name}: {alerts:?}");
        assert_eq!(alerts[0].0, subject, "{name}");
        assert!(alerts[0].1.contains(says), "{name}: {}", alerts[0].1);
        assert_eq!(
            r.report.serving_model, r.earlier.serving_model,
            "{name}: the earlier model keeps serving"
        );
        assert!(alerts[0]
            .1
            .contains(&format!("Still serving: {}", r.earlier.serving_model)));
        let statuses: Vec<&str> = r
            .report
            .versions
            .iter()
            .map(|v| v.status.as_str())
            .collect();
        assert_eq!(statuses, ["Approved", "PendingManualApproval"], "{name}");
        assert_eq!(
            r.report.last_trained, r.before,
            "{name}: last_trained.json moved"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_inputs_that_do_not_fit_fail_naming_the_field() {
    let trainer = env!("CARGO_BIN_EXE_reference-trainer");
    let week: &[u8] = b"created_date\n2024-11-25\n";
    let cases = [
        (
            json!({"mape_threshold": 0.5}),
            "mape_threshold",
            "plausibility floor",
        ),
        (
            json!({"training": {"instance_type": "ml.m5.huge"}}),
            "training.instance_type",
            "ml.m5.large",
        ),
        (
            json!({"poll_seconds": "60"}),
            "poll_seconds",
            "invalid type",
        ),
        (
            json!({"mape_threshold": "x".repeat(100_000)}),
            "mape_threshold",
            "bytes in all",
        ),
    ];
    for (input, field, says) in cases {
        let r = run(trainer, Some(week), input).await;
        assert_eq!(r.exec.status, Status::Failed, "{field}");
        assert_eq!(r.exec.error.as_deref(), Some("InvalidInput"), "{field}");
        let cause = r.exec.cause.clone().unwrap_or_default();
        assert!(
            cause.contains(field) && cause.contains(says),
            "{field}: {cause}"
        );
        assert!(
            cause.len() < 1100,
            "{field}: the cause is {} bytes",
            cause.len()
        );
        // The failure alert went out, and nothing else happened.
        assert_eq!(
            subjects(&r.report),
            ["Model Retraining Pipeline Error"],
            "{field}"
        );
        assert!(
            r.report.training_jobs.is_empty() && r.report.versions == r.earlier.versions,
            "{field}"
        );
        assert_eq!(r.report.serving_model, r.earlier.serving_model, "{field}");
        assert_eq!(r.report.last_trained, r.before, "{field}");
    }
}
