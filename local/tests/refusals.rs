//! What the pipeline refuses, whole executions against the AWS emulator: one table per family
//! (ticket files, metrics documents, execution inputs). Every case asserts the outcome, the
//! reason, the alert, and that nothing changed that the refusal says did not: no training job
//! (files), no deploy (metrics), no version or endpoint (inputs), `Model/last_trained.json`
//! untouched. docs/testing.md's "What the pipeline refuses" table is these cases.

use asl_executor::{Execution, Status};
use local::harness;
use local::launcher::Emulator;
use local::pipeline::{end, output_of, Faults, Pipeline};
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
    let files: Vec<(&str, &[u8])> = new_file
        .map(|body| vec![("bronze/tickets-new.csv", body)])
        .unwrap_or_default();
    run_with(training_command, &files, input).await
}

/// [`run`] with any objects written into the lake after it is prepared (ticket files, or the
/// pipeline's own documents).
async fn run_with(training_command: &str, objects: &[(&str, &[u8])], input: Value) -> Run {
    let emulator = Emulator::start(training_command).expect("emulator (run tools/setup.sh)");
    let sdk = emulator.sdk_config(harness::HARNESS.name).await;
    let harness: Context = harness::connect(&sdk).await.unwrap();
    let lake = Lake {
        ctx: &harness,
        sdk: &sdk,
    };
    prepare(&lake, Scenario::NoNewData, 1).await.unwrap();
    for (key, body) in objects {
        lake.put_file(key, body).await.unwrap();
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
    // A one-line dump: short fields, no line break in 2 MB.
    let one_line = [
        b"created_date\n".as_slice(),
        &b"2026-11-20,".repeat(200_000),
    ]
    .concat();
    let huge_field = [
        b"created_date,note\n2026-11-20,a\n2026-11-21,".as_slice(),
        &[b'y'; 100 << 10],
        b"\n",
    ]
    .concat();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "created_date\r\n2026-11-20\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let cases: [(&str, &[u8], &str); 8] = [
        ("header only", b"ticket_id,created_date\n", "header only"),
        ("one line of 2 MB", &one_line, "longer than 1 MiB"),
        ("a 100 KB field", &huge_field, "longer than 64 KiB"),
        ("UTF-16 export", &utf16, "UTF-16 LE"),
        (
            "dates in both orders",
            b"created_date\n13/11/2026\n11/14/2026\n",
            "dates in both orders",
        ),
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

/// What a careless hand leaves in the lake: the same week uploaded twice, the pipeline's own
/// documents edited into nonsense. Each is named in an alert; none makes the run skip forever
/// silently or train on what it should not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_and_documents_that_do_not_hold_up() {
    let trainer = env!("CARGO_BIN_EXE_reference-trainer");
    let week = b"ticket_id,created_date\n1,2026-11-20\n2,2026-11-21\n3,2026-11-21\n";

    // The same week twice: the users' trainer reads all of bronze/ and would count it twice.
    let r = run_with(
        trainer,
        &[
            ("bronze/tickets-week.csv", week),
            ("bronze/tickets-week (1).csv", week),
        ],
        json!({}),
    )
    .await;
    assert_eq!(end(&r.exec), "NothingToDo");
    let started = output_of(&r.exec, "StartTraining");
    assert_eq!(started["run"]["action"], "skip");
    let reason = started["run"]["reason"].as_str().unwrap();
    assert!(reason.contains("copies"), "{reason}");
    assert_eq!(
        subjects(&r.report),
        ["Ticket Data Duplicated - Retraining Skipped"]
    );
    let body = &r.report.alerts[0].1;
    assert!(
        body.contains("bronze/tickets-week.csv") && body.contains("bronze/tickets-week (1).csv"),
        "{body}"
    );
    assert!(r.report.training_jobs.is_empty());
    assert_eq!(r.report.versions, r.earlier.versions);
    assert_eq!(r.report.last_trained, r.before);

    // A trained_at in the future would skip every run ("nothing new since 2099"): it counts as
    // absent, every file is new, the run trains, and the alert names the field.
    let future = br#"{"trained_at": "2099-01-01T00:00:00Z", "mape": 9.8, "approval": "Approved"}"#;
    let r = run_with(trainer, &[("Model/last_trained.json", future)], json!({})).await;
    let started = output_of(&r.exec, "StartTraining");
    assert_eq!(started["run"]["action"], "train", "{started}");
    let alert = r
        .report
        .alerts
        .iter()
        .find(|(s, _)| s == "Pipeline Document Invalid - Safe Default Used")
        .expect("the document alert");
    assert!(
        alert
            .1
            .contains("Model/last_trained.json: field `trained_at`")
            && alert.1.contains("every file under bronze/ counts as new"),
        "{}",
        alert.1
    );
    assert_eq!(r.report.training_jobs.len(), 1);

    // A baseline of 0 tickets a day would report drift every week (or, NaN, never): no
    // baseline this run, said so; the new week trains.
    let zero = br#"{"mean_daily_tickets": 0, "days": 0, "rows": 0}"#;
    let r = run_with(
        trainer,
        &[
            ("statistics/latest.json", zero),
            ("bronze/tickets-new.csv", week),
        ],
        json!({}),
    )
    .await;
    let started = output_of(&r.exec, "StartTraining");
    assert_eq!(started["run"]["action"], "train", "{started}");
    assert_eq!(started["run"]["data"]["baseline_mean"], Value::Null);
    let subjects = subjects(&r.report);
    assert!(
        subjects.contains(&"Pipeline Document Invalid - Safe Default Used"),
        "{subjects:?}"
    );
    assert!(!subjects.contains(&"Data Drift Detected"), "{subjects:?}");
}
