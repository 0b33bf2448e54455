//! The users' own serving app runs unchanged as the serving command: the FastAPI app of their
//! contract (`examples/prophet-trainer/fastapi_app/app.py`) under uvicorn, started as
//! docs/contracts.md's "Serving your own app in the proving ground" says, serves the models the Prophet example
//! trains. The normal week's model is deployed (by the week's run, or by a person's approval
//! when the champion check keeps the serving model), the canary passes while the new fleet
//! bakes and once it serves, and a consumer's InvokeEndpoint gets the contract's answer from
//! uvicorn.

use asl_executor::{Event, Execution, Status};
use local::launcher::repo_root;
use local::pipeline::last_output;
use local::scenario::Scenario;
use local::testbed::Testbed;
use retrain_core::aws::endpoint::{describe_endpoint, invoke};
use serde_json::Value;

/// The Prophet example's venv (tools/setup.sh test), with the trainer's and the app's packages.
fn prophet_venv() -> std::path::PathBuf {
    let venv = repo_root()
        .canonicalize()
        .unwrap()
        .join(".venv-prophet/bin");
    for tool in ["python", "uvicorn"] {
        assert!(
            venv.join(tool).exists(),
            "{} is missing: run tools/setup.sh test",
            venv.join(tool).display()
        );
    }
    venv
}

/// Every canary verdict CheckStatus gave during the run, in order.
fn canaries(exec: &Execution) -> Vec<Value> {
    exec.history
        .iter()
        .filter_map(|e| match &e.event {
            Event::TaskSucceeded { state, output } if state == "CheckStatusEndpoint" => {
                Some(output["canary"].clone()).filter(|c| !c.is_null())
            }
            _ => None,
        })
        .collect()
}

/// The execution that deployed the week's Prophet model: the week's run itself, or, when the
/// champion check kept the serving (reference) model because the new one forecasts the
/// holiday week worse (Prophet fits no holidays), the run a person's approval of that version
/// starts, as the original's approval loop deploys it. Either way the app serves it.
async fn deployed(l: &Testbed, week: Execution) -> Execution {
    if week.states_entered().last().copied() == Some("Deployed") {
        return week;
    }
    let evaluation = last_output(&week, "EvaluateMape").expect("evaluated");
    assert_eq!(
        (
            week.states_entered().last().copied(),
            evaluation["passed"].as_bool(),
            evaluation["champion"]["verdict"].as_str()
        ),
        (Some("Rejected"), Some(true), Some("worse")),
        "the week's run neither deployed nor kept the serving model as worse: {evaluation}"
    );
    eprintln!(
        "{}; approving the version",
        evaluation["champion"]["reason"]
    );
    l.approve_pending("fastapi-approval", "reviewed: the FastAPI app serves it")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_fastapi_app_under_uvicorn_serves_the_prophet_model() {
    let venv = prophet_venv();
    let examples = repo_root()
        .canonicalize()
        .unwrap()
        .join("examples/prophet-trainer");
    let training = format!(
        "{} {}",
        venv.join("python").display(),
        examples.join("train.py").display()
    );
    // docs/contracts.md's command, word for word but for the paths.
    let serving = format!(
        "cd $SM_MODEL_DIR && {} --app-dir {} app:app --port $SAGEMAKER_BIND_TO_PORT",
        venv.join("uvicorn").display(),
        examples.join("fastapi_app").display()
    );
    let l = Testbed::start_serving(&training, &serving).await;
    let week = l.week(Scenario::Normal, 1).await;
    let exec = deployed(&l, week).await;
    assert_eq!(
        exec.status,
        Status::Succeeded,
        "{:?} {:?}",
        exec.error,
        exec.cause
    );
    assert_eq!(exec.states_entered().last().copied(), Some("Deployed"));

    // The canary asked the app while its fleet baked and once it served; both answers held.
    let config = last_output(&exec, "Deploy").expect("deployed")["endpoint_config_name"]
        .as_str()
        .expect("Deploy names the config")
        .to_string();
    let verdicts = canaries(&exec);
    assert!(
        verdicts
            .iter()
            .any(|c| c["during"] == "baking" && c["config_name"] == config.as_str()),
        "no canary while the new model baked: {verdicts:?}"
    );
    for c in &verdicts {
        assert_eq!(c["passed"], true, "{c}");
    }
    let output = exec.output.as_ref().expect("the execution's output");
    let last = &output["endpoint"]["canary"];
    assert_eq!(
        (last["passed"].as_bool(), last["during"].as_str()),
        (Some(true), Some("in_service")),
        "{last}"
    );
    let endpoint = describe_endpoint(&l.harness.sm, &l.cfg.endpoint_name)
        .await
        .unwrap()
        .expect("the endpoint");
    assert_eq!(
        (endpoint.status.as_str(), endpoint.config_name.as_str()),
        ("InService", config.as_str())
    );

    // A consumer's request through sagemaker-runtime.
    let days = l
        .forecast(10, chrono::NaiveDate::from_ymd_opt(2024, 12, 23))
        .await;
    assert_eq!(days.len(), 10);
    assert_eq!(days[0].date.to_string(), "2024-12-23");
    assert_eq!(days[9].date.to_string(), "2025-01-01");
    assert!(days.iter().all(|d| d.forecast_ticket_count > 0), "{days:?}");
    // Without a start date the app forecasts from its today.
    let answer = invoke(
        &l.harness.smr,
        &l.cfg.endpoint_name,
        br#"{"horizon_days": 1}"#.to_vec(),
    )
    .await
    .unwrap()
    .expect("the app answers");
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(
        answer["forecast"][0]["date"],
        chrono::Local::now().date_naive().to_string()
    );

    // It was uvicorn that answered (the emulator logs its fleets' output).
    let log = std::fs::read_to_string(&l.emulator.log).unwrap();
    assert!(
        log.lines()
            .any(|line| line.starts_with("[serving ") && line.contains("Uvicorn running on")),
        "no uvicorn in {}",
        l.emulator.log.display()
    );
}
