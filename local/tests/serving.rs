//! Models that pass the MAPE gate but cannot serve: the reference trainer told to break
//! (`REFERENCE_TRAINER_FAULT`) after the earlier model was trained and deployed. The canary (or
//! the ping health check) finds it while the new fleet bakes, the guardrail rolls the endpoint
//! back, the earlier model keeps serving, and the run fails with an alert, redrivable.

use std::time::{Duration, Instant};

use asl_executor::{Execution, Status};
use local::pipeline::last_output;
use local::scenario::Scenario;
use local::testbed::Testbed;
use retrain_core::aws::endpoint::{describe_endpoint, EndpointInfo};
use retrain_core::aws::notify::describe_alarm;
use retrain_core::serving::canary_request;

/// A testbed whose trainer breaks its models once `flag` exists.
async fn breaking(fault: &str, flag: &std::path::Path) -> Testbed {
    let trainer = env!("CARGO_BIN_EXE_reference-trainer");
    let command = format!(
        "if [ -e {flag} ]; then export REFERENCE_TRAINER_FAULT={fault}; fi; exec {trainer}",
        flag = flag.display()
    );
    Testbed::start_serving(&command, &format!("{trainer} serve")).await
}

/// The endpoint once no update is in progress (the rollback done).
async fn settled(l: &Testbed) -> EndpointInfo {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let e = describe_endpoint(&l.harness.sm, &l.cfg.endpoint_name)
            .await
            .unwrap()
            .expect("the endpoint exists");
        if !e.is_busy() || Instant::now() > deadline {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The week-1 run with a broken model; the earlier model's config before it.
async fn broken_week(fault: &str) -> (Testbed, Execution, String) {
    let dir = tempfile_dir(fault);
    let flag = dir.join("break");
    let l = breaking(fault, &flag).await;
    l.prepare(Scenario::Normal, 1).await;
    let before = settled(&l).await.config_name;
    std::fs::write(&flag, b"").unwrap();
    let exec = l.run(Scenario::Normal, 1).await;
    (l, exec, before)
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("serving-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The earlier model still answers the users' contract (the canary's request).
async fn the_earlier_model_answers(l: &Testbed) {
    let today = chrono::Utc::now().date_naive();
    let req = canary_request(today);
    assert_eq!(l.forecast(req.horizon_days, req.start_date).await.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_answers_garbage_is_rolled_back_by_the_canary_alarm() {
    let (l, exec, before) = broken_week("garbage").await;
    assert_eq!(exec.status, Status::Failed, "{:?}", exec.cause);
    assert_eq!(exec.states_entered().last().copied(), Some("DeployFailed"));
    let status = last_output(&exec, "CheckStatusEndpoint").expect("checked");
    let canary = &status["canary"];
    assert_eq!(
        (canary["passed"].as_bool(), canary["during"].as_str()),
        (Some(false), Some("baking"))
    );
    let reason = status["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("failed the forecast canary while it baked"),
        "{reason}"
    );
    assert!(reason.contains("does not hold"), "{reason}");

    let after = settled(&l).await;
    assert_eq!(
        (after.status.as_str(), after.config_name.as_str()),
        ("InService", before.as_str())
    );
    let alarm = describe_alarm(
        &l.harness.cw,
        &format!("{}-forecast-canary", l.cfg.endpoint_name),
    )
    .await
    .unwrap()
    .expect("the stack's canary alarm");
    assert_eq!(alarm.state_value().map(|s| s.as_str()), Some("ALARM"));
    let r = l.report().await;
    assert!(r
        .metrics
        .iter()
        .any(|(m, v)| m == "ForecastCanaryFailures" && *v == 1.0));
    let subjects: Vec<&str> = r.alerts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(
        r.alerts[0].1.contains("failed the forecast canary"),
        "{:?}",
        r.alerts[0]
    );
    the_earlier_model_answers(&l).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_never_answers_ping_leaves_the_earlier_model_serving() {
    let (l, exec, before) = broken_week("no-ping").await;
    assert_eq!(exec.status, Status::Failed, "{:?}", exec.cause);
    assert_eq!(exec.states_entered().last().copied(), Some("DeployFailed"));
    let status = last_output(&exec, "CheckStatusEndpoint").expect("checked");
    let reason = status["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("did not pass the ping health check"),
        "{reason}"
    );
    let after = settled(&l).await;
    assert_eq!(
        (after.status.as_str(), after.config_name.as_str()),
        ("InService", before.as_str())
    );
    the_earlier_model_answers(&l).await;
}
