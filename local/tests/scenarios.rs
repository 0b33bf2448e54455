//! The whole retraining job against the AWS emulator: the real workers, the real definition run
//! by the offline executor, training jobs running the reference trainer. One test per scenario,
//! each with its own emulator; the assertions read the emulator's state back through the APIs.

use std::sync::atomic::Ordering;

use asl_executor::{Execution, Status};
use aws_sdk_sagemaker::types::ModelApprovalStatus;
use local::pipeline::{end, last_output, output_of};
use local::scenario::Scenario;
use local::seed::PREVIOUS_JOB;
use local::testbed::Testbed;
use retrain_core::aws::registry::{list_versions, set_approval};
use retrain_core::names::training_job_name;
use serde_json::Value;

async fn local() -> Testbed {
    Testbed::start(env!("CARGO_BIN_EXE_reference-trainer")).await
}

/// The run report of `exec`, checked against the run: it parses as HTML, has one `<svg>` per
/// chart in `charts` (and only those) drawing the points each claims, the new days StartTraining
/// counted, and the run's MAPE, threshold and `decision`. Returns each chart's point count.
async fn check_report(
    l: &Testbed,
    exec: &Execution,
    decision: &str,
    charts: &[&str],
) -> std::collections::BTreeMap<String, usize> {
    use run_report::charts::{self as c, hex};
    use scraper::{Html, Selector};
    let html = local::report::run_report(&l.harness, &exec.name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no report for {}", exec.name));
    let page = Html::parse_document(&html);
    assert!(page.errors.is_empty(), "{:?}", page.errors);
    let sel = |s: &str| Selector::parse(s).unwrap();
    assert_eq!(page.select(&sel("svg")).count(), charts.len(), "{charts:?}");
    let mut points = std::collections::BTreeMap::new();
    for chart in charts {
        let fig = format!("figure[data-chart={chart}]");
        let claimed: usize = page
            .select(&sel(&fig))
            .next()
            .unwrap_or_else(|| panic!("no {chart} chart"))
            .value()
            .attr("data-points")
            .unwrap()
            .parse()
            .unwrap();
        let fills = |colours: &[String]| {
            page.select(&sel(&format!("{fig} circle")))
                .filter(|e| colours.iter().any(|f| e.value().attr("fill") == Some(f)))
                .count()
        };
        let drawn = match *chart {
            "daily" => page
                .select(&sel(&format!("{fig} polyline")))
                .find(|e| e.value().attr("stroke") == Some(&hex(c::TOTAL)))
                .map(|e| e.value().attr("points").unwrap().split_whitespace().count())
                .unwrap_or_default(),
            "folds" => fills(&[hex(c::ACTUAL)]),
            _ => fills(&[hex(c::DEPLOYED), hex(c::REJECTED), hex(c::OTHER)]),
        };
        assert_eq!(drawn, claimed, "{chart}: points drawn");
        assert!(claimed > 0, "{chart}");
        points.insert(chart.to_string(), claimed);
    }
    let field = |name: &str| -> String {
        page.select(&sel(&format!("[data-field={name}]")))
            .next()
            .unwrap_or_else(|| panic!("no {name}"))
            .text()
            .collect()
    };
    let run = &output_of(exec, "StartTraining")["run"];
    if charts.contains(&"daily") {
        let new_days = page
            .select(&sel(&format!(
                "figure[data-chart=daily] circle[fill=\"{}\"]",
                hex(c::NEW)
            )))
            .count();
        assert_eq!(
            new_days as u64,
            run["data"]["days"].as_u64().unwrap(),
            "the new files' days"
        );
    }
    let mape = match output_of(exec, "EvaluateMape")["mape"].as_f64() {
        Some(m) => format!("{m:.2} %"),
        None => "unknown".into(),
    };
    assert_eq!(field("mape"), mape);
    assert_eq!(
        field("threshold"),
        format!("{:.2} %", run["mape_threshold"].as_f64().unwrap())
    );
    assert_eq!(field("decision"), decision);
    points
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_week_deploys_and_the_next_week_builds_on_it() {
    let l = local().await;
    let exec = l.week(Scenario::Normal, 1).await;
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "Deployed"),
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    let mape = output_of(&exec, "EvaluateMape")["mape"].as_f64().unwrap();
    assert!(mape < 20.0, "MAPE {mape}");
    assert_eq!(output_of(&exec, "EvaluateMape")["source"], "job_artifact");
    // The cost benchmark's model of a deploying run is this run's history: every state it
    // entered, as often, for the checks its waits took (transitions = states entered).
    let entered = exec.states_entered();
    let times = |state: &str| entered.iter().filter(|s| **s == state).count() as u64;
    let path = local::cost::deploying_path(times("CheckStatus"), times("CheckStatusEndpoint"));
    let mut modelled: Vec<(&str, u64)> = path.iter().copied().filter(|(_, n)| *n > 0).collect();
    let mut seen: Vec<(&str, u64)> = entered.iter().map(|s| (*s, times(s))).collect();
    modelled.sort();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, modelled, "{entered:?}");
    // ... and its Lambda invocations are the Task states' calls.
    for (state, _) in local::cost::TASKS {
        let modelled = path
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n);
        assert_eq!(
            exec.task_calls(state) as u64,
            modelled,
            "{state}; retries (billed, not in the model): {:?}",
            exec.retries()
        );
    }
    let deployed = output_of(&exec, "Deploy");
    // The lake was trained and deployed before: its earlier model served, and is replaced.
    assert_eq!(deployed["action"], "updated");

    let r = l.report().await;
    assert_eq!(r.endpoint_status.as_deref(), Some("InService"));
    assert_eq!(r.serving_model, deployed["model_name"].as_str().unwrap());
    assert_eq!(
        r.versions.len(),
        2,
        "the earlier model's version, and this run's"
    );
    assert!(r.versions[0].description.contains(PREVIOUS_JOB));
    assert_eq!(r.versions[1].status, ModelApprovalStatus::Approved.as_str());
    assert_eq!(
        r.training_jobs,
        vec![(training_job_name("normal-week1"), "Completed".to_string())]
    );
    assert_eq!(r.metric("ModelMAPE"), vec![mape]);
    assert!(r.alerts.is_empty(), "{:?}", r.alerts);
    // The earlier model, asked for the new week before training, followed it (Thanksgiving
    // included): its live MAPE, published, under the threshold.
    let live = &output_of(&exec, "StartTraining")["run"]["data"]["live"];
    let live_mape = live["mape"].as_f64().expect("measured");
    assert!(live_mape < 20.0 && live["drifted"] == false, "{live}");
    assert_eq!(live["days"].as_array().unwrap().len(), 7);
    assert_eq!(r.metric("ServingModelMAPE"), vec![live_mape]);
    // The new model answered the canary while it baked and once in service.
    let canary = &output_of(&exec, "CheckStatusEndpoint")["canary"];
    assert_eq!(
        (canary["passed"].as_bool(), canary["during"].as_str()),
        (Some(true), Some("in_service"))
    );
    assert!(r.metric("ForecastCanaryFailures").iter().all(|v| *v == 0.0));
    let last = l.s3_json("Model/last_trained.json").await.unwrap();
    assert_eq!(last["approval"], "Approved");
    assert_eq!(last["training_job"], training_job_name("normal-week1"));
    let stats = l.s3_json("statistics/latest.json").await.unwrap();
    assert!(stats["mean_daily_tickets"].as_f64().unwrap() > 100.0);
    // The run report: two years of days, the reference trainer's 3 folds of 7 days, the
    // earlier model's MAPE and this run's; last_trained.json names it.
    let points = check_report(&l, &exec, "deployed", &["daily", "folds", "history"]).await;
    assert!(points["daily"] > 700, "{points:?}");
    assert_eq!((points["folds"], points["history"]), (21, 2));
    assert_eq!(
        last["report"],
        "s3://ticket-forecasting-lake/reports/normal-week1.html"
    );

    // Week 2 against the same emulator: only the new week's file is new data.
    let exec = l.week(Scenario::Normal, 2).await;
    let mape2 = &output_of(&exec, "EvaluateMape")["mape"];
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "Deployed"),
        "week 2 MAPE {mape2}"
    );
    assert_eq!(
        output_of(&exec, "StartTraining")["run"]["data"]["new_files"],
        1
    );
    assert_eq!(output_of(&exec, "Deploy")["action"], "updated");
    let r = l.report().await;
    assert_eq!(
        r.versions.iter().filter(|v| v.status == "Approved").count(),
        3,
        "the earlier model's, week 1's and week 2's"
    );
    assert_eq!(
        r.serving_model,
        output_of(&exec, "Deploy")["model_name"].as_str().unwrap()
    );
    let last = l.s3_json("Model/last_trained.json").await.unwrap();
    assert_eq!(last["training_job"], training_job_name("normal-week2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regime_change_alerts_drift_and_is_rejected() {
    let l = local().await;
    l.prepare(Scenario::RegimeChange, 1).await;
    let before = l.s3_json("Model/last_trained.json").await;
    assert!(before.is_some(), "the previous run's record");
    let exec = l.run(Scenario::RegimeChange, 1).await;
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "Rejected"),
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    assert!(!exec.states_entered().contains(&"Deploy"));
    let data = &output_of(&exec, "StartTraining")["run"]["data"];
    assert_eq!(data["drift"], true, "{data}");
    let mape = output_of(&exec, "EvaluateMape")["mape"].as_f64().unwrap();
    assert!(mape >= 20.0, "MAPE {mape}");

    let r = l.report().await;
    // The earlier model keeps serving, and the alert names it.
    let earlier = r.serving_model.clone();
    assert!(
        earlier.starts_with("prophet-forecasting-models-v1-"),
        "{earlier}"
    );
    assert_eq!(r.versions.len(), 2);
    assert_eq!(r.versions[1].status, "PendingManualApproval");
    let subjects: Vec<&str> = r.alerts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "Serving Model Drift Detected",
            "Data Drift Detected",
            "Model Needs Manual Approval"
        ]
    );
    // The serving model, asked for the three new weeks, missed the jump: its live MAPE.
    let live = &data["live"];
    let live_mape = live["mape"].as_f64().expect("measured");
    assert!(live_mape >= 20.0 && live["drifted"] == true, "{live}");
    assert_eq!(live["model"].as_str(), Some(earlier.as_str()));
    assert_eq!(live["days"].as_array().unwrap().len(), 21);
    assert_eq!(r.metric("ServingModelMAPE"), vec![live_mape]);
    assert!(
        r.alerts[0]
            .1
            .starts_with(&format!("The serving model {earlier} forecast the tickets")),
        "{}",
        r.alerts[0].1
    );
    let body = &r.alerts[2].1;
    assert!(
        body.starts_with(&format!(
            "New model exceeded MAPE threshold. MAPE: {mape:.1}%, Threshold: 20.0%."
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!("Still serving: {earlier}")),
        "{body}"
    );
    assert_eq!(r.metric("DataDrift"), vec![1.0]);
    assert_eq!(r.metric("ModelDriftDetected"), vec![1.0]);
    assert_eq!(r.metric("ModelMAPE"), vec![mape]);
    let alarm = r.alarm.expect("the alarm exists");
    assert!(
        alarm.contains("prophet-fastapi-endpoint-latest-mape-drift-alarm")
            && alarm.contains("ModelMAPE"),
        "{alarm}"
    );
    assert_eq!(
        l.s3_json("Model/last_trained.json").await,
        before,
        "a rejection records nothing"
    );
    let points = check_report(&l, &exec, "rejected", &["daily", "folds", "history"]).await;
    assert_eq!((points["folds"], points["history"]), (21, 2));
    assert!(
        body.contains("Run report: s3://ticket-forecasting-lake/reports/regime-change-week1.html"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_new_data_is_skipped() {
    let l = local().await;
    let exec = l.week(Scenario::NoNewData, 1).await;
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "NothingToDo")
    );
    let r = l.report().await;
    assert!(r.training_jobs.is_empty() && r.alerts.is_empty());
    assert_eq!(r.versions.len(), 1, "only the earlier model's version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_little_history_leaves_mape_unknown() {
    let l = local().await;
    let exec = l.week(Scenario::ShortHistory, 1).await;
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "Rejected"),
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    assert_eq!(output_of(&exec, "EvaluateMape")["mape"], Value::Null);
    let r = l.report().await;
    assert_eq!(r.versions.len(), 1);
    assert_eq!(r.versions[0].status, "PendingManualApproval");
    let subjects: Vec<&str> = r.alerts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects, ["Model MAPE Unknown - Manual Review Needed"]);
    assert!(r.metric("ModelMAPE").is_empty() && r.metric("ModelDriftDetected").is_empty());
    assert_eq!(l.s3_json("Model/last_trained.json").await, None);
    // Too short to cross-validate: no folds, no MAPE to draw; the page says so.
    check_report(&l, &exec, "MAPE unknown", &["daily"]).await;
    assert!(
        r.alerts[0].1.contains("Run report: s3://"),
        "{}",
        r.alerts[0].1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_during_deploy_redrives_without_doing_anything_twice() {
    let l = local().await;
    // Deploy does its work, then its reply is lost (a Lambda timing out after the calls).
    l.faults.deploy_lost_replies.store(1, Ordering::SeqCst);
    let mut exec = l.week(Scenario::Normal, 1).await;
    assert_eq!(
        (exec.status, exec.failed_state()),
        (Status::Failed, Some("Deploy"))
    );
    let r = l.report().await;
    let subjects: Vec<&str> = r.alerts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        ["Model Retraining Pipeline Error"],
        "the execution-status rule alerted"
    );

    l.pipeline.redrive(&mut exec).await.unwrap();
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "Deployed"),
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    assert_eq!(
        exec.task_calls("StartTraining"),
        1,
        "succeeded states are not run again"
    );
    assert_eq!(exec.task_calls("EvaluateMape"), 1);
    assert_eq!(
        output_of(&exec, "Deploy")["action"],
        "already_serving",
        "no second endpoint update"
    );
    let r = l.report().await;
    assert_eq!(r.training_jobs.len(), 1, "exactly one training job");
    assert_eq!(
        r.versions.iter().filter(|v| v.status == "Approved").count(),
        2,
        "exactly one Approved version beside the earlier model's"
    );
    assert_eq!(r.versions.len(), 2);
    assert_eq!(r.endpoint_status.as_deref(), Some("InService"));
    assert_eq!(
        r.serving_model,
        output_of(&exec, "Deploy")["model_name"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_a_pending_version_deploys_that_version_once() {
    let l = local().await;
    let exec = l.week(Scenario::RegimeChange, 1).await;
    assert_eq!(end(&exec), "Rejected");
    let versions = list_versions(&l.harness.sm, &l.cfg.model_package_group)
        .await
        .unwrap();
    let arn = versions
        .iter()
        .find(|v| v.version.status == "PendingManualApproval")
        .expect("the rejected version")
        .version
        .arn
        .clone();
    set_approval(
        &l.harness.sm,
        &arn,
        ModelApprovalStatus::Approved,
        "reviewed: the regime change is real",
    )
    .await
    .unwrap();
    // What the approval rule delivers.
    let event =
        retrain_core::testing::approval_event(&l.cfg.model_package_group, 1, &arn, "Approved");
    let exec = l.pipeline.run("approval-1", event.clone()).await;
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "Deployed"),
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    let deployed = output_of(&exec, "Deploy");
    assert_eq!(
        deployed["registered"], false,
        "no new version for a human approval"
    );
    assert_eq!(deployed["model_package_arn"], arn.as_str());
    let r = l.report().await;
    assert_eq!(r.serving_model, deployed["model_name"].as_str().unwrap());
    assert_eq!(
        r.versions.len(),
        2,
        "the earlier model's and the approved one"
    );
    let last = l.s3_json("Model/last_trained.json").await.unwrap();
    assert_eq!(last["approval"], "ManualApproval");
    assert_eq!(last["model_package_arn"], arn.as_str());

    // The same event delivered again: that version already serves, nothing is deployed twice.
    let again = l.pipeline.run("approval-2", event).await;
    assert_eq!(
        (again.status, end(&again)),
        (Status::Succeeded, "NothingToDo")
    );
    assert!(!again.states_entered().contains(&"Deploy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_model_worse_than_the_serving_one_is_kept_out() {
    let trainer = env!("CARGO_BIN_EXE_reference-trainer");
    let l = Testbed::start(&Scenario::WorseChallenger.training_command(trainer)).await;
    l.prepare(Scenario::WorseChallenger, 1).await;
    let before = l.s3_json("Model/last_trained.json").await;
    let earlier = l.report().await.serving_model;
    let exec = l.run(Scenario::WorseChallenger, 1).await;
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "Rejected"),
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    assert!(!exec.states_entered().contains(&"Deploy"));
    assert!(exec
        .states_entered()
        .contains(&"RejectAndAlertWorseThanServing"));
    let evaluation = output_of(&exec, "EvaluateMape");
    let mape = evaluation["mape"].as_f64().unwrap();
    assert!(mape < 20.0 && evaluation["passed"] == true, "{evaluation}");
    let check = &evaluation["champion"];
    assert_eq!(check["verdict"], "worse", "{check}");
    let live = &output_of(&exec, "StartTraining")["run"]["data"]["live"];
    let live_mape = live["mape"].as_f64().unwrap();
    assert!(live_mape < 20.0 && live["drifted"] == false, "{live}");
    let (serving, challenger) = (
        check["serving_mape"].as_f64().unwrap(),
        check["challenger_mape"].as_f64().unwrap(),
    );
    // The same 7 days the serving model was measured on, scored the same way.
    assert_eq!(check["days"].as_array().unwrap().len(), 7);
    assert!((serving - live_mape).abs() < 0.01, "{serving} {live_mape}");
    assert!(challenger > serving + 1.0, "{check}");
    assert_eq!(check["serving_model"], live["model"]);

    let r = l.report().await;
    assert_eq!(r.serving_model, earlier, "the serving model stays");
    assert_eq!(
        r.deployments.len(),
        1,
        "only the earlier model was ever deployed"
    );
    assert_eq!(r.versions.len(), 2);
    assert_eq!(r.versions[1].status, "PendingManualApproval");
    let subjects: Vec<&str> = r.alerts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        ["Model Worse Than Serving Model - Manual Approval Needed"]
    );
    let body = &r.alerts[0].1;
    for needle in [
        format!("backtest MAPE: {mape:.1}%"),
        format!("its MAPE is {challenger:.1}%, the serving model's {serving:.1}%"),
        format!("Still serving: {earlier}"),
    ] {
        assert!(body.contains(&needle), "{needle}: {body}");
    }
    assert_eq!(r.metric("ModelMAPE"), vec![mape]);
    assert_eq!(r.metric("ServingModelMAPE"), vec![live_mape]);
    assert!(r.metric("ModelDriftDetected").is_empty(), "not drift");
    assert_eq!(l.serving_drift_alarm().await, "OK");
    assert_eq!(l.s3_json("Model/last_trained.json").await, before);
    check_report(
        &l,
        &exec,
        "worse than the serving model",
        &["daily", "folds", "history"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serving_model_that_missed_a_level_shift_alarms_and_the_better_new_model_deploys() {
    let l = local().await;
    l.prepare(Scenario::ServingDrift, 1).await;
    let earlier = l.report().await.serving_model;
    let exec = l.run(Scenario::ServingDrift, 1).await;
    assert_eq!(
        (exec.status, end(&exec)),
        (Status::Succeeded, "Deployed"),
        "{:?} {:?} {}",
        exec.error,
        exec.cause,
        last_output(&exec, "EvaluateMape").unwrap_or_default()
    );
    let data = &output_of(&exec, "StartTraining")["run"]["data"];
    assert_eq!(
        data["drift"], false,
        "a 1.4x shift is under DRIFT_THRESHOLD"
    );
    let live = &data["live"];
    let live_mape = live["mape"].as_f64().unwrap();
    assert!(live_mape >= 20.0 && live["drifted"] == true, "{live}");
    assert_eq!(live["model"].as_str(), Some(earlier.as_str()));
    assert_eq!(live["days"].as_array().unwrap().len(), 28);
    let evaluation = output_of(&exec, "EvaluateMape");
    let mape = evaluation["mape"].as_f64().unwrap();
    assert!(mape < 20.0, "{evaluation}");
    let check = &evaluation["champion"];
    assert_eq!(check["verdict"], "not_worse", "{check}");
    assert_eq!(
        check["days"].as_array().unwrap().len(),
        21,
        "the backtest's 3 weeks"
    );
    assert!(
        check["challenger_mape"].as_f64().unwrap() < check["serving_mape"].as_f64().unwrap(),
        "{check}"
    );

    let r = l.report().await;
    let deployed = output_of(&exec, "Deploy");
    assert_eq!(deployed["action"], "updated");
    assert_ne!(r.serving_model, earlier);
    assert_eq!(r.serving_model, deployed["model_name"].as_str().unwrap());
    assert_eq!(r.versions[1].status, "Approved");
    let subjects: Vec<&str> = r.alerts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(subjects, ["Serving Model Drift Detected"]);
    assert!(
        r.alerts[0]
            .1
            .starts_with(&format!("The serving model {earlier} forecast the tickets")),
        "{}",
        r.alerts[0].1
    );
    assert_eq!(r.metric("ServingModelMAPE"), vec![live_mape]);
    assert_eq!(r.metric("ModelMAPE"), vec![mape]);
    assert_eq!(l.serving_drift_alarm().await, "ALARM");
    let canary = &output_of(&exec, "CheckStatusEndpoint")["canary"];
    assert_eq!(canary["passed"], true, "{canary}");
    check_report(&l, &exec, "deployed", &["daily", "folds", "history"]).await;
}
