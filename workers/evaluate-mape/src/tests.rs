use std::collections::HashMap;

use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_smithy_mocks::{mock, MockResponse};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use retrain_core::archive::{build_model_tar, build_tar, build_tar_with_raw_names};
use retrain_core::payload::MetricsSource;
use retrain_core::testing::{MockContext, Mocked};
use retrain_core::time::to_smithy;
use retrain_core::WorkerError;

use super::handle;

const ARTIFACT_KEY: &str = "training-output/job-1/output/model.tar.gz";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// key → (body, LastModified)
fn context(objects: Vec<(&str, Vec<u8>, DateTime<Utc>)>) -> Mocked {
    let objects: HashMap<String, (Vec<u8>, DateTime<Utc>)> = objects
        .into_iter()
        .map(|(k, b, t)| (k.to_string(), (b, t)))
        .collect();
    let get = mock!(aws_sdk_s3::Client::get_object).then_compute_response(move |req| {
        assert_eq!(req.bucket(), Some("ticket-forecasting-lake"));
        match objects.get(req.key().unwrap()) {
            Some((body, modified)) => MockResponse::Output(
                GetObjectOutput::builder()
                    .body(ByteStream::from(body.clone()))
                    .last_modified(to_smithy(*modified))
                    .build(),
            ),
            None => MockResponse::Error(GetObjectError::NoSuchKey(NoSuchKey::builder().build())),
        }
    });
    MockContext::new(&crate::WORKER).s3([&get]).build()
}

fn state(threshold: f64) -> Value {
    json!({
        "run": {
            "execution": "exec-1", "trigger": "schedule", "action": "train", "reason": "r",
            "mape_threshold": threshold, "poll_seconds": 60, "deadline_seconds": 5400,
            "training": {"job_name": "job-1", "output_path": "s3://ticket-forecasting-lake/training-output/",
                         "created_at": t0().to_rfc3339(), "adopted": false}
        },
        "job": {"kind": "training", "name": "job-1", "status": "Completed", "outcome": "succeeded",
                "model_artifact": format!("s3://ticket-forecasting-lake/{ARTIFACT_KEY}"),
                "started_at": (t0() + Duration::minutes(2)).to_rfc3339(),
                "elapsed_seconds": 600, "deadline_passed": false}
    })
}

fn archive(metrics: &str) -> Vec<u8> {
    build_model_tar(&[
        ("model.joblib", &[7u8; 2048]),
        ("metrics.json", metrics.as_bytes()),
    ])
}

#[tokio::test]
async fn a_spot_jobs_billed_seconds_are_published_beside_the_mape() {
    let ctx = context(vec![(
        ARTIFACT_KEY,
        archive(r#"{"mape": 12.34}"#),
        t0() + Duration::minutes(9),
    )]);
    let mut s = state(20.0);
    s["job"]["billing"] = json!({"spot": true, "training_seconds": 600, "billable_seconds": 180});
    handle(&ctx, s).await.unwrap();
    let puts = ctx.metrics().all();
    let names: Vec<_> = puts
        .iter()
        .map(|r| r.metric_data()[0].metric_name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["ModelMAPE", "TrainingBillableSeconds"]);
    let d = &puts[1].metric_data()[0];
    assert_eq!(d.value(), Some(180.0));
    assert_eq!(d.unit().unwrap().as_str(), "Seconds");
}

#[tokio::test]
async fn reads_the_jobs_own_archive_and_publishes_mape() {
    let fixed = br#"{"mape": 1.0}"#.to_vec();
    let ctx = context(vec![
        (
            ARTIFACT_KEY,
            archive(r#"{"mape": 12.34, "rmse": 8.1, "mae": 6.2}"#),
            t0() + Duration::minutes(9),
        ),
        ("Model/metrics.json", fixed, t0() + Duration::minutes(9)),
    ]);
    let e = handle(&ctx, state(20.0)).await.unwrap();
    assert_eq!(e.mape, Some(12.34), "the archive wins over the fixed key");
    assert_eq!((e.rmse, e.mae), (Some(8.1), Some(6.2)));
    assert_eq!(e.source, MetricsSource::JobArtifact);
    assert_eq!(e.threshold, 20.0);
    assert!(e.passed);
    let req = ctx.metrics().one();
    assert_eq!(req.namespace(), Some("MLOps/Forecasting"));
    let d = &req.metric_data()[0];
    assert_eq!(d.metric_name(), Some("ModelMAPE"));
    assert_eq!(d.value(), Some(12.34));
    let dim = &d.dimensions()[0];
    assert_eq!(
        (dim.name(), dim.value()),
        (
            Some("EndpointName"),
            Some("prophet-fastapi-endpoint-latest")
        )
    );
}

#[tokio::test]
async fn the_runs_threshold_decides_passed() {
    let ctx = context(vec![(ARTIFACT_KEY, archive(r#"{"mape": 15.0}"#), t0())]);
    let e = handle(&ctx, state(12.5)).await.unwrap();
    assert_eq!((e.mape, e.threshold, e.passed), (Some(15.0), 12.5, false));
    let ctx = context_exact(20.0);
    let e = handle(&ctx, state(20.0)).await.unwrap();
    assert!(!e.passed, "exactly the threshold is rejected");
}

fn context_exact(mape: f64) -> Mocked {
    context(vec![(
        ARTIFACT_KEY,
        archive(&format!(r#"{{"mape": {mape}}}"#)),
        t0(),
    )])
}

#[tokio::test]
async fn fixed_key_is_used_only_when_fresh() {
    let plain_archive = build_model_tar(&[("model.joblib", b"m")]);
    let d = context(vec![
        (ARTIFACT_KEY, plain_archive.clone(), t0()),
        (
            "Model/metrics.json",
            br#"{"mape": 9.0}"#.to_vec(),
            t0() + Duration::minutes(8),
        ),
    ]);
    let e = handle(&d, state(20.0)).await.unwrap();
    assert_eq!((e.mape, e.source), (Some(9.0), MetricsSource::FixedKey));

    // Written by an earlier run, before this job started: never trusted.
    let d = context(vec![
        (ARTIFACT_KEY, plain_archive, t0()),
        (
            "Model/metrics.json",
            br#"{"mape": 3.0}"#.to_vec(),
            t0() - Duration::days(7),
        ),
    ]);
    let e = handle(&d, state(20.0)).await.unwrap();
    assert_eq!(
        (e.mape, e.source, e.passed),
        (None, MetricsSource::None, false)
    );
    assert!(e.unknown_reason.unwrap().contains("stale"));
    assert!(d.metrics().is_empty(), "no MAPE, nothing published");
}

#[tokio::test]
async fn unknown_mape_in_every_shape_never_passes() {
    for doc in [
        r#"{"mape": null, "rmse": null, "mae": null}"#,
        r#"{"mape": NaN, "rmse": 3.0}"#,
        r#"{"mape": -4.2}"#,
        r#"{"mape": "low"}"#,
        r#"{"rmse": 1.0}"#,
        r#"not json at all"#,
    ] {
        let ctx = context(vec![(ARTIFACT_KEY, archive(doc), t0())]);
        let e = handle(&ctx, state(20.0)).await.unwrap();
        assert_eq!(e.mape, None, "{doc}");
        assert!(!e.passed, "{doc}");
        assert!(e.unknown_reason.is_some(), "{doc}");
        assert!(ctx.metrics().is_empty(), "{doc}");
    }
}

#[tokio::test]
async fn no_archive_and_no_fixed_key_is_unknown() {
    let ctx = context(vec![]);
    let e = handle(&ctx, state(20.0)).await.unwrap();
    assert_eq!((e.mape, e.source), (None, MetricsSource::None));
    assert!(e.unknown_reason.unwrap().contains("does not exist"));
}

/// Every metrics document a trainer can leave, and what EvaluateMape makes of it: the MAPE it
/// reads (None: unknown), whether the gate passes, the reason it gives, and that nothing is
/// published for an unknown MAPE. The fixed key is always fresh here: it must not stand in for
/// an archive whose metrics were refused.
#[tokio::test]
async fn metrics_documents_table() {
    use tar::EntryType::{Regular, Symlink};
    let fresh_fixed = || {
        (
            "Model/metrics.json",
            br#"{"mape": 9.0}"#.to_vec(),
            t0() + Duration::minutes(8),
        )
    };
    let doc = |d: &[u8]| build_model_tar(&[("model.joblib", b"m"), ("metrics.json", d)]);
    let big = format!(r#"{{"mape": 5.0, "pad": "{}"}}"#, " ".repeat(70_000));
    // (case, model archive, MAPE read, gate passes, reason given)
    type Case<'a> = (&'a str, Vec<u8>, Option<f64>, bool, &'a str);
    let cases: Vec<Case> = vec![
        (
            "percent",
            doc(br#"{"mape": 12.5, "rmse": 3, "mae": 2}"#),
            Some(12.5),
            true,
            "",
        ),
        (
            "fraction for a percentage",
            doc(br#"{"mape": 0.25}"#),
            Some(0.25),
            false,
            "",
        ),
        (
            "grouped per second",
            doc(br#"{"mape": 0.85}"#),
            Some(0.85),
            false,
            "",
        ),
        ("null", doc(br#"{"mape": null}"#), None, false, "null"),
        (
            "NaN",
            doc(br#"{"mape": NaN}"#),
            None,
            false,
            "null or not a finite",
        ),
        (
            "negative",
            doc(br#"{"mape": -4.2}"#),
            None,
            false,
            "negative",
        ),
        (
            "string",
            doc(br#"{"mape": "12.5"}"#),
            None,
            false,
            "not a number",
        ),
        (
            "missing",
            doc(br#"{"rmse": 1.0}"#),
            None,
            false,
            "no `mape`",
        ),
        (
            "wrong-typed rmse",
            doc(br#"{"mape": 12.5, "rmse": "x"}"#),
            None,
            false,
            "`rmse` is not a number",
        ),
        (
            "key twice",
            doc(br#"{"mape": 45, "mape": 4.5}"#),
            None,
            false,
            "more than once",
        ),
        (
            "BOM",
            doc(b"\xEF\xBB\xBF{\"mape\": 12.5}"),
            None,
            false,
            "byte-order mark",
        ),
        (
            "not UTF-8",
            doc(b"{\"mape\": 1\xff}"),
            None,
            false,
            "not UTF-8",
        ),
        ("array", doc(b"[12.5]"), None, false, "not a JSON object"),
        ("empty", doc(b""), None, false, "is empty"),
        (
            "too large",
            doc(big.as_bytes()),
            None,
            false,
            "at most 65536 are read",
        ),
        (
            "two entries",
            build_tar(&[
                ("metrics.json", Regular, br#"{"mape": 5}"#, None),
                ("./metrics.json", Regular, br#"{"mape": 50}"#, None),
            ]),
            None,
            false,
            "more than one metrics.json",
        ),
        (
            "/metrics.json after metrics.json (GNU tar serves the second)",
            build_tar_with_raw_names(&[
                ("metrics.json", br#"{"mape": 5}"#),
                ("/metrics.json", br#"{"mape": 50}"#),
            ]),
            None,
            false,
            "more than one metrics.json",
        ),
        (
            "an entry climbing out with ..",
            build_tar_with_raw_names(&[("a/../metrics.json", br#"{"mape": 5}"#)]),
            None,
            false,
            "`..` component",
        ),
        (
            "symlink",
            build_tar(&[("metrics.json", Symlink, b"", Some("/opt/ml/output/m.json"))]),
            None,
            false,
            "symbolic link",
        ),
        (
            "corrupt archive",
            b"not a tarball".to_vec(),
            None,
            false,
            "invalid gzip header",
        ),
    ];
    for (name, archive, mape, passed, says) in cases {
        let ctx = context(vec![(ARTIFACT_KEY, archive, t0()), fresh_fixed()]);
        let e = handle(&ctx, state(20.0)).await.unwrap();
        assert_eq!((e.mape, e.passed), (mape, passed), "{name}");
        let reason = e.unknown_reason.clone().unwrap_or_default();
        assert!(reason.contains(says), "{name}: {reason}");
        if mape.is_none() {
            assert_ne!(
                e.source,
                MetricsSource::FixedKey,
                "{name}: the fixed key stood in"
            );
            assert!(
                ctx.metrics().is_empty(),
                "{name}: an unknown MAPE publishes nothing"
            );
        } else {
            assert_eq!(e.source, MetricsSource::JobArtifact, "{name}");
            assert_eq!(ctx.metrics().one().metric_data()[0].value(), mape, "{name}");
        }
    }
}

#[tokio::test]
async fn an_oversized_fixed_key_is_unknown_and_not_read_whole() {
    let plain_archive = build_model_tar(&[("model.joblib", b"m")]);
    let ctx = context(vec![
        (ARTIFACT_KEY, plain_archive, t0()),
        (
            "Model/metrics.json",
            vec![b' '; 200_000],
            t0() + Duration::minutes(8),
        ),
    ]);
    let e = handle(&ctx, state(20.0)).await.unwrap();
    assert_eq!((e.mape, e.source), (None, MetricsSource::None));
    let reason = e.unknown_reason.unwrap();
    assert!(reason.contains("at most 65536"), "{reason}");
    assert!(ctx.metrics().is_empty());
}

#[tokio::test]
async fn a_job_that_did_not_complete_is_refused() {
    let ctx = context(vec![]);
    let mut s = state(20.0);
    s["job"]["outcome"] = json!("failed");
    s["job"]["status"] = json!("Failed");
    let err = handle(&ctx, s).await.unwrap_err();
    assert!(
        matches!(err, WorkerError::InvalidInput { ref field, .. } if field == "job.outcome"),
        "{err}"
    );
    let mut s = state(20.0);
    s.as_object_mut().unwrap().remove("job");
    assert_eq!(handle(&ctx, s).await.unwrap_err().name(), "InvalidInput");
    let err = handle(&ctx, json!({"run": {"execution": 3}}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkerError::InvalidInput { ref field, .. } if field.starts_with("run.")),
        "{err}"
    );
}

/// The state with the serving model measured on 10 days (Nov 2..11) of 100 tickets, forecasting
/// `serving` each day.
fn state_with_live(serving: u64) -> Value {
    let mut s = state(20.0);
    let days: Vec<Value> = (0..10)
        .map(|i| {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap() + Duration::days(i);
            json!({"date": date, "actual": 100, "forecast": serving})
        })
        .collect();
    s["run"]["data"] = json!({
        "new_files": 2, "rows": 1000, "bad_rows": 0, "days": 10, "drift": false, "forced": false,
        "mean_daily_tickets": 100.0, "baseline_mean": null, "relative_change": null,
        "newest_file": null,
        "live": {"endpoint": "prophet-fastapi-endpoint-latest", "model": "ep-config-v3",
                 "days": days, "mape": 5.0, "threshold": 20.0, "drifted": false}
    });
    s
}

/// predictions.csv: two folds; the later one (from Nov 5) forecasts `later` and wins its days.
fn predictions(early: f64, later: f64) -> String {
    let mut csv = "date,actual,forecast,fold\n".to_string();
    for i in 0..7 {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 10, 29).unwrap() + Duration::days(i);
        csv += &format!("{d},100,{early},1\n");
    }
    for i in 0..7 {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap() + Duration::days(i);
        csv += &format!("{d},100,{later},2\n");
    }
    csv
}

fn archive_with_predictions(mape: f64, csv: &str) -> Vec<u8> {
    build_model_tar(&[
        ("model.joblib", &[7u8; 2048]),
        ("metrics.json", format!(r#"{{"mape": {mape}}}"#).as_bytes()),
        ("predictions.csv", csv.as_bytes()),
    ])
}

#[tokio::test]
async fn a_challenger_worse_than_the_serving_model_on_its_live_days_is_worse() {
    use retrain_core::champion::Verdict;
    // Serving: 5 % off on Nov 2..11. Challenger: fold 1 covers Nov 2..4 at 110 (10 %), fold 2
    // Nov 5..11 at 112 (12 %): 10 common days, MAPE 11.4 %. Its backtest MAPE (9.5) passes 20 %.
    let ctx = context(vec![(
        ARTIFACT_KEY,
        archive_with_predictions(9.5, &predictions(110.0, 112.0)),
        t0(),
    )]);
    let e = handle(&ctx, state_with_live(95)).await.unwrap();
    assert!(e.passed, "the MAPE gate alone passes it");
    let c = e
        .champion
        .expect("EvaluateMape always writes the champion check");
    assert_eq!(c.verdict, Verdict::Worse, "{}", c.reason);
    assert_eq!(c.days.len(), 10);
    assert_eq!((c.serving_mape, c.challenger_mape), (Some(5.0), Some(11.4)));
    assert_eq!(c.serving_model.as_deref(), Some("ep-config-v3"));
    assert_eq!(c.margin, 1.0, "the run's margin (its default)");
    assert_eq!(
        c.days[3].challenger, 112,
        "Nov 5 is fold 2's, which started latest"
    );

    // The same challenger against a serving model 12 % off is not worse.
    let ctx = context(vec![(
        ARTIFACT_KEY,
        archive_with_predictions(9.5, &predictions(110.0, 112.0)),
        t0(),
    )]);
    let c = handle(&ctx, state_with_live(88))
        .await
        .unwrap()
        .champion
        .unwrap();
    assert_eq!(c.verdict, Verdict::NotWorse, "{}", c.reason);
}

#[tokio::test]
async fn without_live_days_or_predictions_there_is_no_comparison() {
    use retrain_core::champion::Verdict;
    // No live measurement: predictions.csv is not even read (one GetObject: metrics).
    let ctx = context(vec![(
        ARTIFACT_KEY,
        archive_with_predictions(9.5, &predictions(300.0, 300.0)),
        t0(),
    )]);
    let c = handle(&ctx, state(20.0)).await.unwrap().champion.unwrap();
    assert_eq!(c.verdict, Verdict::NoComparison);
    assert!(c.reason.contains("not measured"), "{}", c.reason);
    // Live days, but the trainer wrote no predictions.csv: no comparison, and why.
    let ctx = context(vec![(ARTIFACT_KEY, archive(r#"{"mape": 9.5}"#), t0())]);
    let e = handle(&ctx, state_with_live(95)).await.unwrap();
    let c = e.champion.unwrap();
    assert_eq!(c.verdict, Verdict::NoComparison);
    assert!(c.reason.contains("no predictions.csv"), "{}", c.reason);
    assert!(e.passed, "the MAPE gate alone decides");
}
