//! Every path through the real definition (`statemachine/retrain.asl.json`), run by the offline
//! executor with scripted workers. The stubs parse what they receive with the real payload types
//! and answer with them, so a wrong Parameters block or ResultPath fails here. Time is paused:
//! waits and retry delays take no real time.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use asl_executor::{handler, Event, Execution, Executor, Handler, Status as RunStatus, TaskError};
use chrono::Utc;
use retrain_core::champion::{ChampionCheck, Verdict as ChampionVerdict};
use retrain_core::gate::{verdict, Verdict};
use retrain_core::payload::*;
use retraining_pipeline::{failure_alert_for, load_definition};
use serde_json::{json, Value};

/// What each scripted worker does.
#[derive(Clone)]
struct Script {
    /// StartTraining: the action, or an error name it fails with (after `throttles`).
    start: Result<Action, &'static str>,
    /// Training statuses CheckStatus reports, one per poll; the last one repeats.
    training: Vec<(&'static str, bool)>,
    /// EvaluateMape's MAPE (None: unknown).
    mape: Option<f64>,
    /// EvaluateMape's champion/challenger verdict.
    champion: ChampionVerdict,
    /// Deploy's results in order: Ok(()) or an error name; the last one repeats.
    deploy: Vec<Result<(), &'static str>>,
    /// Endpoint statuses, one per poll (status, config matches); the last one repeats.
    endpoint: Vec<(&'static str, bool)>,
    /// How many times the named worker answers AwsTransient before working.
    throttles: HashMap<&'static str, usize>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            start: Ok(Action::Train),
            training: vec![("Completed", false)],
            mape: Some(12.0),
            champion: ChampionVerdict::NoComparison,
            deploy: vec![Ok(())],
            endpoint: vec![("InService", true)],
            throttles: HashMap::new(),
        }
    }
}

/// Calls each stub received (worker → inputs).
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<(String, Value)>>>);

impl Calls {
    fn record(&self, worker: &str, input: &Value) {
        self.0
            .lock()
            .unwrap()
            .push((worker.to_string(), input.clone()));
    }
    fn of(&self, worker: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, _)| w == worker)
            .map(|(_, v)| v.clone())
            .collect()
    }
    fn alert_modes(&self) -> Vec<String> {
        self.of("reject-and-alert")
            .iter()
            .map(|v| v["mode"].as_str().unwrap().to_string())
            .collect()
    }
}

const HOSTILE_CAUSE: &str = r#"{"errorMessage":"AWS error in UpdateEndpoint: \"quoted\" \\ back\nslash","errorType":"AwsError","trace":["a\tb"]}"#;

fn err(name: &str, cause: impl Into<String>) -> TaskError {
    TaskError::new(name, cause)
}

fn parse<T: serde::de::DeserializeOwned>(worker: &str, v: &Value) -> Result<T, TaskError> {
    serde_json::from_value(v.clone())
        .map_err(|e| err("InvalidInput", format!("{worker}: {e}: {v}")))
}

fn to_value<T: serde::Serialize>(t: &T) -> Result<Value, TaskError> {
    Ok(serde_json::to_value(t).unwrap())
}

struct Stubs {
    script: Script,
    calls: Calls,
    training_polls: Mutex<VecDeque<(&'static str, bool)>>,
    endpoint_polls: Mutex<VecDeque<(&'static str, bool)>>,
    deploys: Mutex<VecDeque<Result<(), &'static str>>>,
    throttles: Mutex<HashMap<&'static str, usize>>,
}

fn next_of<T: Clone>(q: &Mutex<VecDeque<T>>) -> T {
    let mut q = q.lock().unwrap();
    if q.len() > 1 {
        q.pop_front().unwrap()
    } else {
        q.front().cloned().expect("scripted sequence is not empty")
    }
}

impl Stubs {
    fn throttled(&self, worker: &'static str) -> bool {
        let mut t = self.throttles.lock().unwrap();
        match t.get_mut(worker) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    fn start(&self, v: &Value) -> Result<Value, TaskError> {
        // The real worker's request: the definition must pass what it reads.
        let req: start_training::handler::StartRequest = parse("start-training", v)?;
        // Validate the execution input as the real worker does.
        let request = retrain_core::input::normalise(&req.input, &retrain_core::config::example())
            .map_err(|e| err(e.name(), e.to_string()))?;
        let action = match (&self.script.start, request.trigger) {
            (Err(name), _) => return Err(err(name, "scripted failure")),
            (_, Trigger::Approval) => Action::DeployApproved,
            (Ok(a), _) => *a,
        };
        let run = Run {
            execution: req.execution.clone(),
            execution_arn: Some(req.execution_arn.clone()),
            trigger: request.trigger,
            action,
            reason: "scripted".into(),
            mape_threshold: request.mape_threshold,
            mape_floor: request.mape_floor,
            champion_margin: request.champion_margin,
            poll_seconds: request.poll_seconds,
            deadline_seconds: request.training.max_runtime_seconds as u64 + 1800,
            training: (action == Action::Train).then(|| TrainingJob {
                job_name: retrain_core::names::training_job_name(&req.execution),
                output_path: "s3://ticket-forecasting-lake/training-output/".into(),
                created_at: Utc::now(),
                adopted: false,
            }),
            data: None,
            approval: request.approval,
        };
        to_value(&State::started(run))
    }

    fn check(&self, v: &Value) -> Result<Value, TaskError> {
        let req: StatusRequest = parse("check-status", v)?;
        let (status, flag) = match req.kind {
            StatusKind::Training => next_of(&self.training_polls),
            StatusKind::Endpoint => next_of(&self.endpoint_polls),
        };
        let outcome = match (req.kind, status, flag) {
            (StatusKind::Training, "Completed", _) => Outcome::Succeeded,
            (StatusKind::Training, "Failed" | "Stopped", _) => Outcome::Failed,
            (StatusKind::Endpoint, "InService", true) => Outcome::Succeeded,
            (StatusKind::Endpoint, "InService", false) | (StatusKind::Endpoint, "Failed", _) => {
                Outcome::Failed
            }
            _ => Outcome::Running,
        };
        // For training, `flag` means the deadline passed; for an endpoint, the config matches.
        let deadline_passed =
            req.kind == StatusKind::Training && flag && outcome == Outcome::Running;
        to_value(&Status {
            kind: req.kind,
            name: req.name.clone(),
            status: status.into(),
            outcome,
            arn: None,
            secondary_status: None,
            failure_reason: (outcome == Outcome::Failed)
                .then(|| format!("{status}: scripted reason")),
            model_artifact: (outcome == Outcome::Succeeded && req.kind == StatusKind::Training)
                .then(|| {
                    format!(
                        "s3://ticket-forecasting-lake/training-output/{}/output/model.tar.gz",
                        req.name
                    )
                }),
            started_at: None,
            config_name: None,
            elapsed_seconds: 0,
            deadline_passed,
            next_poll_seconds: req
                .poll_seconds
                .ok_or_else(|| err("InvalidInput", "poll_seconds missing"))?,
            canary: None,
            billing: None,
        })
    }

    fn evaluate(&self, v: &Value) -> Result<Value, TaskError> {
        let state: State = parse("evaluate-mape", v)?;
        let run = state
            .run
            .as_ref()
            .ok_or_else(|| err("InvalidInput", "run"))?;
        let job = state
            .job
            .as_ref()
            .ok_or_else(|| err("InvalidInput", "job"))?;
        assert_eq!(
            job.outcome,
            Outcome::Succeeded,
            "EvaluateMape only after a Completed job"
        );
        to_value(&Evaluation {
            job_name: job.name.clone(),
            mape: self.script.mape,
            rmse: Some(1.0),
            mae: Some(1.0),
            threshold: run.mape_threshold,
            source: MetricsSource::JobArtifact,
            passed: verdict(self.script.mape, run.mape_threshold, run.mape_floor)
                == Verdict::Deploy,
            unknown_reason: self.script.mape.is_none().then(|| "scripted".into()),
            champion: Some(ChampionCheck {
                verdict: self.script.champion,
                ..ChampionCheck::none(run.champion_margin, "scripted")
            }),
        })
    }

    fn deploy(&self, v: &Value) -> Result<Value, TaskError> {
        let state: State = parse("deploy", v)?;
        let run = state
            .run
            .as_ref()
            .ok_or_else(|| err("InvalidInput", "run"))?;
        if run.action == Action::Train {
            let e = state
                .evaluation
                .as_ref()
                .expect("Deploy after EvaluateMape");
            assert_eq!(
                verdict(e.mape, run.mape_threshold, run.mape_floor),
                Verdict::Deploy,
                "the Choice let through a model the gate refuses"
            );
            assert_ne!(
                e.champion.as_ref().map(|c| c.verdict),
                Some(ChampionVerdict::Worse),
                "the Choice let through a model worse than the serving one"
            );
        } else {
            assert!(run.approval.is_some());
        }
        if let Err(name) = next_of(&self.deploys) {
            // As Lambda reports a function error: the cause is itself JSON, with quotes,
            // backslashes and newlines (what EventBridge does not escape).
            return Err(err(name, HOSTILE_CAUSE));
        }
        to_value(&Deployment {
            model_package_arn:
                "arn:aws:sagemaker:us-east-1:1:model-package/prophet-forecasting-models/4".into(),
            model_name: "prophet-forecasting-models-v4-abc".into(),
            endpoint_config_name: "prophet-forecasting-models-v4-abc".into(),
            endpoint_name: "prophet-fastapi-endpoint-latest".into(),
            action: EndpointAction::Updated,
            registered: run.action == Action::Train,
        })
    }

    fn alert(&self, v: &Value) -> Result<Value, TaskError> {
        let req: AlertRequest = parse("reject-and-alert", v)?;
        to_value(&AlertOutcome {
            mode: req.mode,
            subject: format!("{:?}", req.mode),
            message_id: Some("m".into()),
            serving_model: "prophet-forecasting-models-v3-old".into(),
            model_package_arn: None,
            alarm_created: false,
            report: None,
        })
    }
}

struct Harness {
    executor: Executor,
    calls: Calls,
    stubs: Arc<Stubs>,
}

fn harness(script: Script) -> Harness {
    let calls = Calls::default();
    let stubs = Arc::new(Stubs {
        training_polls: Mutex::new(script.training.clone().into()),
        endpoint_polls: Mutex::new(script.endpoint.clone().into()),
        deploys: Mutex::new(script.deploy.clone().into()),
        throttles: Mutex::new(script.throttles.clone()),
        script,
        calls: calls.clone(),
    });
    type Work = fn(&Stubs, &Value) -> Result<Value, TaskError>;
    let workers: [(&'static str, Work); 5] = [
        ("start-training", Stubs::start),
        ("check-status", Stubs::check),
        ("evaluate-mape", Stubs::evaluate),
        ("deploy", Stubs::deploy),
        ("reject-and-alert", Stubs::alert),
    ];
    let handlers: HashMap<String, Handler> = workers
        .into_iter()
        .map(|(name, work)| {
            let stubs = stubs.clone();
            let h = handler(move |input: Value| {
                let stubs = stubs.clone();
                async move {
                    stubs.calls.record(name, &input);
                    if stubs.throttled(name) {
                        return Err(err("AwsTransient", "ThrottlingException: Rate exceeded"));
                    }
                    work(&stubs, &input)
                }
            });
            (name.to_string(), h)
        })
        .collect();
    let executor = retraining_pipeline::executor(handlers).expect("the definition loads");
    Harness {
        executor,
        calls,
        stubs,
    }
}

impl Harness {
    /// Run, then do what the execution-status rule does on failure: send the failure alert.
    async fn run(&self, input: Value) -> Execution {
        let exec = self.executor.start("exec-0001", input).await;
        let arn = format!(
            "arn:aws:states:us-east-1:123456789012:execution:retraining:{}",
            exec.name
        );
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:retraining";
        if let Some(alert) = failure_alert_for(&exec, &arn, machine) {
            let alert = alert.expect("EventBridge delivers the failure alert");
            self.stubs.calls.record("reject-and-alert", &alert);
            self.stubs
                .alert(&alert)
                .expect("the failure alert parses as an AlertRequest");
        }
        exec
    }
}

fn approval_event() -> Value {
    retrain_core::testing::approval_event(
        "prophet-forecasting-models",
        7,
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/prophet-forecasting-models/7",
        "Approved",
    )
}

struct Case {
    name: &'static str,
    input: Value,
    script: Script,
    status: RunStatus,
    /// The last state entered.
    last_state: &'static str,
    /// Modes RejectAndAlert was called with, in order.
    alerts: &'static [&'static str],
    deploys: usize,
    error: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let s = Script::default;
    vec![
        Case {
            name: "no new data",
            input: json!({}),
            script: Script {
                start: Ok(Action::Skip),
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "NothingToDo",
            alerts: &[],
            deploys: 0,
            error: None,
        },
        Case {
            name: "deploy",
            input: json!({}),
            script: s(),
            status: RunStatus::Succeeded,
            last_state: "Deployed",
            alerts: &[],
            deploys: 1,
            error: None,
        },
        Case {
            name: "MAPE exactly 20 rejects",
            input: json!({}),
            script: Script {
                mape: Some(20.0),
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Rejected",
            alerts: &["rejected"],
            deploys: 0,
            error: None,
        },
        Case {
            name: "MAPE over 20 rejects",
            input: json!({}),
            script: Script {
                mape: Some(25.3),
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Rejected",
            alerts: &["rejected"],
            deploys: 0,
            error: None,
        },
        Case {
            name: "under 20 but worse than the serving model",
            input: json!({}),
            script: Script {
                champion: ChampionVerdict::Worse,
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Rejected",
            alerts: &["worse_than_serving"],
            deploys: 0,
            error: None,
        },
        Case {
            name: "over 20 and worse than the serving model rejects on the threshold",
            input: json!({}),
            script: Script {
                mape: Some(25.0),
                champion: ChampionVerdict::Worse,
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Rejected",
            alerts: &["rejected"],
            deploys: 0,
            error: None,
        },
        Case {
            name: "not worse than the serving model deploys",
            input: json!({}),
            script: Script {
                champion: ChampionVerdict::NotWorse,
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Deployed",
            alerts: &[],
            deploys: 1,
            error: None,
        },
        Case {
            name: "MAPE unknown",
            input: json!({}),
            script: Script { mape: None, ..s() },
            status: RunStatus::Succeeded,
            last_state: "Rejected",
            alerts: &["unknown_mape"],
            deploys: 0,
            error: None,
        },
        Case {
            name: "MAPE 0.85 below the plausibility floor",
            input: json!({}),
            script: Script {
                mape: Some(0.85),
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Rejected",
            alerts: &["implausible_mape"],
            deploys: 0,
            error: None,
        },
        Case {
            name: "MAPE exactly at the floor deploys",
            input: json!({}),
            script: Script {
                mape: Some(1.0),
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Deployed",
            alerts: &[],
            deploys: 1,
            error: None,
        },
        Case {
            name: "threshold override rejects 15",
            input: json!({"mape_threshold": 12.5}),
            script: Script {
                mape: Some(15.0),
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Rejected",
            alerts: &["rejected"],
            deploys: 0,
            error: None,
        },
        Case {
            name: "threshold override deploys 25",
            input: json!({"mape_threshold": 30}),
            script: Script {
                mape: Some(25.0),
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Deployed",
            alerts: &[],
            deploys: 1,
            error: None,
        },
        Case {
            name: "job Failed",
            input: json!({}),
            script: Script {
                training: vec![("InProgress", false), ("Failed", false)],
                ..s()
            },
            status: RunStatus::Failed,
            last_state: "TrainingFailed",
            alerts: &["training_failed"],
            deploys: 0,
            error: Some("TrainingJobFailed"),
        },
        Case {
            name: "job Stopped",
            input: json!({}),
            script: Script {
                training: vec![("Stopped", false)],
                ..s()
            },
            status: RunStatus::Failed,
            last_state: "TrainingFailed",
            alerts: &["training_failed"],
            deploys: 0,
            error: Some("TrainingJobFailed"),
        },
        Case {
            name: "several polls before completion",
            input: json!({}),
            script: Script {
                training: vec![
                    ("InProgress", false),
                    ("InProgress", false),
                    ("InProgress", false),
                    ("Completed", false),
                ],
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Deployed",
            alerts: &[],
            deploys: 1,
            error: None,
        },
        Case {
            name: "deadline passed",
            input: json!({}),
            script: Script {
                training: vec![("InProgress", false), ("InProgress", true)],
                ..s()
            },
            status: RunStatus::Failed,
            last_state: "TrainingDeadlinePassed",
            alerts: &["deadline_passed"],
            deploys: 0,
            error: Some("TrainingDeadlinePassed"),
        },
        Case {
            name: "a worker throttled twice, then succeeding",
            input: json!({}),
            script: Script {
                throttles: HashMap::from([("evaluate-mape", 2), ("start-training", 2)]),
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Deployed",
            alerts: &[],
            deploys: 1,
            error: None,
        },
        Case {
            name: "a worker failing",
            input: json!({}),
            script: Script {
                start: Err("AwsError"),
                ..s()
            },
            status: RunStatus::Failed,
            last_state: "StartTraining",
            alerts: &["error"],
            deploys: 0,
            error: Some("AwsError"),
        },
        Case {
            name: "endpoint busy, then deployed",
            input: json!({}),
            script: Script {
                deploy: vec![Err("EndpointBusy"), Err("EndpointBusy"), Ok(())],
                ..s()
            },
            status: RunStatus::Succeeded,
            last_state: "Deployed",
            alerts: &[],
            deploys: 3,
            error: None,
        },
        Case {
            name: "an endpoint update failing",
            input: json!({}),
            script: Script {
                endpoint: vec![("Updating", true), ("Failed", true)],
                ..s()
            },
            status: RunStatus::Failed,
            last_state: "DeployFailed",
            alerts: &["deploy_failed"],
            deploys: 1,
            error: Some("EndpointUpdateFailed"),
        },
        Case {
            name: "an endpoint update rolled back",
            input: json!({}),
            script: Script {
                endpoint: vec![("RollingBack", true), ("InService", false)],
                ..s()
            },
            status: RunStatus::Failed,
            last_state: "DeployFailed",
            alerts: &["deploy_failed"],
            deploys: 1,
            error: Some("EndpointUpdateFailed"),
        },
        Case {
            name: "an approval event deploys",
            input: approval_event(),
            script: s(),
            status: RunStatus::Succeeded,
            last_state: "Deployed",
            alerts: &[],
            deploys: 1,
            error: None,
        },
        Case {
            name: "an invalid input",
            input: json!({"mape_threshold": "twenty"}),
            script: s(),
            status: RunStatus::Failed,
            last_state: "StartTraining",
            alerts: &["error"],
            deploys: 0,
            error: Some("InvalidInput"),
        },
    ]
}

#[tokio::test(start_paused = true)]
async fn every_path_of_the_real_definition() {
    // PATH_CASE="job Failed" cargo test --test paths -- --nocapture: run and print one path.
    let only = std::env::var("PATH_CASE").ok();
    for case in cases() {
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        let h = harness(case.script);
        let exec = h.run(case.input).await;
        if only.is_some() {
            print_history(case.name, &exec);
        }
        let states = exec.states_entered();
        let ctx = format!(
            "{}: states {states:?}, error {:?} {:?}",
            case.name, exec.error, exec.cause
        );
        assert_eq!(exec.status, case.status, "{ctx}");
        assert_eq!(states.last().copied(), Some(case.last_state), "{ctx}");
        assert_eq!(h.calls.alert_modes(), case.alerts, "{ctx}");
        assert_eq!(h.calls.of("deploy").len(), case.deploys, "{ctx}");
        assert_eq!(exec.error.as_deref(), case.error, "{ctx}");
        if case.status == RunStatus::Failed && case.name != "an invalid input" {
            assert!(exec.cause.is_some(), "{ctx}");
        }
        // A rejected or unknown model never reaches Deploy.
        if case.alerts.contains(&"rejected") || case.alerts.contains(&"unknown_mape") {
            assert!(!states.contains(&"Deploy"), "{ctx}");
        }
    }
}

fn print_history(name: &str, exec: &Execution) {
    println!(
        "== {name}: {:?} {:?} {:?}",
        exec.status, exec.error, exec.cause
    );
    for e in &exec.history {
        let line = match &e.event {
            Event::StateEntered { state, .. } => format!("enter  {state}"),
            Event::TaskFailed { state, error, .. } => format!("  fail {state}: {error}"),
            Event::RetryScheduled {
                state,
                attempt,
                delay_ms,
            } => format!("  retry {state} #{attempt} after {delay_ms} ms"),
            Event::WaitStarted { state, seconds } => format!("  wait {state} {seconds} s"),
            Event::ChoiceMatched { state, next } => format!("  {state} -> {next}"),
            Event::ExecutionSucceeded { .. } => "succeeded".to_string(),
            Event::ExecutionFailed { state, error, .. } => format!("failed in {state}: {error}"),
            Event::ExecutionTimedOut { state, error, .. } => {
                format!("timed out in {state}: {error}")
            }
            _ => continue,
        };
        println!("{:>8.1}s  {line}", e.at.as_secs_f64());
    }
}

#[tokio::test(start_paused = true)]
async fn polling_waits_the_runs_poll_seconds() {
    let h = harness(Script {
        training: vec![
            ("InProgress", false),
            ("InProgress", false),
            ("Completed", false),
        ],
        ..Script::default()
    });
    let exec = h.run(json!({"poll_seconds": 30})).await;
    assert_eq!(exec.status, RunStatus::Succeeded);
    let waits: Vec<u64> = exec
        .history
        .iter()
        .filter_map(|e| match &e.event {
            Event::WaitStarted { seconds, .. } => Some(*seconds),
            _ => None,
        })
        .collect();
    assert_eq!(
        waits,
        vec![30, 30, 30, 30],
        "three training polls and one endpoint poll"
    );
    assert_eq!(h.calls.of("check-status").len(), 4);
    let first = &h.calls.of("check-status")[0];
    assert_eq!(first["kind"], "training");
    assert_eq!(first["deadline_seconds"], 3600 + 1800);
    let endpoint = &h.calls.of("check-status")[3];
    assert_eq!(endpoint["kind"], "endpoint");
    assert_eq!(
        endpoint["expected_config"],
        "prophet-forecasting-models-v4-abc"
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_with_backoff() {
    let h = harness(Script {
        throttles: HashMap::from([("deploy", 2)]),
        ..Script::default()
    });
    let exec = h.run(json!({})).await;
    assert_eq!(exec.status, RunStatus::Succeeded);
    assert_eq!(exec.task_calls("Deploy"), 3);
    let retries = exec.retries();
    assert_eq!(retries.len(), 2);
    // AwsTransient: 5 s, then 10 s, FULL jitter: each delay within [0, base].
    assert!(
        retries[0].2.as_secs_f64() <= 5.0 && retries[1].2.as_secs_f64() <= 10.0,
        "{retries:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_that_failed_at_deploy_redrives_from_deploy() {
    let h = harness(Script {
        deploy: vec![Err("AwsError"), Ok(())],
        ..Script::default()
    });
    let mut exec = h.run(json!({})).await;
    assert_eq!(exec.status, RunStatus::Failed);
    assert_eq!(exec.failed_state(), Some("Deploy"));
    assert_eq!(
        h.calls.alert_modes(),
        ["error"],
        "the execution-status rule alerted"
    );
    // Delivered through the template's own input transformer, the cause intact.
    let sent: AlertRequest =
        serde_json::from_value(h.calls.of("reject-and-alert")[0].clone()).unwrap();
    let error = sent.normalised().error.unwrap();
    assert_eq!(error.error, "AwsError");
    assert_eq!(error.cause.unwrap(), format!("FAILED: {HOSTILE_CAUSE}"));
    let before: HashMap<&str, usize> = ["StartTraining", "CheckStatus", "EvaluateMape"]
        .iter()
        .map(|s| (*s, exec.task_calls(s)))
        .collect();

    h.executor.redrive(&mut exec).await.unwrap();
    assert_eq!(
        exec.status,
        RunStatus::Succeeded,
        "{:?}",
        exec.states_entered()
    );
    assert_eq!(exec.states_entered().last(), Some(&"Deployed"));
    for (state, n) in before {
        assert_eq!(
            exec.task_calls(state),
            n,
            "{state} ran again after the redrive"
        );
    }
    assert_eq!(h.calls.of("start-training").len(), 1);
    assert_eq!(h.calls.of("deploy").len(), 2);
    let redriven = h.calls.of("deploy")[1].clone();
    assert_eq!(
        redriven,
        h.calls.of("deploy")[0],
        "the redrive gives Deploy the same input"
    );
}

#[test]
fn the_definition_names_each_worker_once_per_placeholder() {
    let text = retraining_pipeline::definition_text();
    for (placeholder, _) in retraining_pipeline::FUNCTIONS {
        assert!(
            text.contains(&format!("${{{placeholder}}}")),
            "{placeholder} unused"
        );
    }
    let def = load_definition().unwrap();
    let resources = def.resources();
    assert_eq!(resources.len(), 5);
}

#[test]
fn every_fail_state_error_is_alerted_before_it() {
    let doc: Value = serde_json::from_str(&retraining_pipeline::definition_text()).unwrap();
    let mut fail_errors: Vec<&str> = doc["States"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["Type"] == "Fail")
        .map(|s| s["Error"].as_str().expect("Fail states have a fixed Error"))
        .collect();
    fail_errors.sort();
    let mut alerted = retraining_pipeline::ALERTED_FAILURES.to_vec();
    alerted.sort();
    assert_eq!(fail_errors, alerted);
    // ...and each Fail state is reached only through a RejectAndAlert state.
    for (name, state) in doc["States"].as_object().unwrap() {
        if let Some(next) = state["Next"].as_str() {
            if doc["States"][next]["Type"] == "Fail" {
                assert!(
                    name.starts_with("RejectAndAlert"),
                    "{name} goes to Fail {next} without an alert"
                );
            }
        }
    }
}

/// The longest wait a run can ask for: a one-second poll and the longest job (24 h + 30 min of
/// slack), which never finishes. CheckStatus reports the time on the (paused) clock and the
/// growing poll: the run ends at TrainingDeadlinePassed with its history far inside Step
/// Functions' 25,000 events, where a fixed one-second poll would have failed it after ~2,800.
#[tokio::test(start_paused = true)]
async fn the_longest_wait_stays_inside_the_history_limit() {
    let deadline: u64 = 86_400 + 1_800;
    let started = tokio::time::Instant::now();
    let start = handler(move |_| async move {
        Ok(json!({"run": {
            "execution": "longest", "trigger": "manual", "action": "train", "reason": "r",
            "mape_threshold": 20.0, "poll_seconds": 1, "deadline_seconds": deadline,
            "training": {"job_name": "j", "output_path": "s3://b/training-output/",
                         "created_at": "2026-11-22T09:00:00Z", "adopted": false}}}))
    });
    let check = handler(move |v| async move {
        let req: StatusRequest = parse("check-status", &v)?;
        let elapsed = started.elapsed().as_secs();
        let poll = req
            .poll_seconds
            .expect("the definition passes poll_seconds");
        to_value(&Status {
            kind: req.kind,
            name: req.name,
            status: "InProgress".into(),
            outcome: Outcome::Running,
            arn: None,
            secondary_status: None,
            failure_reason: None,
            model_artifact: None,
            started_at: None,
            config_name: None,
            elapsed_seconds: elapsed,
            deadline_passed: elapsed > req.deadline_seconds,
            next_poll_seconds: retrain_core::polling::next_poll_seconds(poll, elapsed),
            canary: None,
            billing: None,
        })
    });
    let unused = handler(|_| async { Err(TaskError::new("Unexpected", "not on this path")) });
    let alert = handler(|_| async { Ok(json!({})) });
    let handlers: HashMap<String, Handler> = [
        ("start-training", start),
        ("check-status", check),
        ("evaluate-mape", unused.clone()),
        ("deploy", unused),
        ("reject-and-alert", alert),
    ]
    .into_iter()
    .map(|(k, h)| (k.to_string(), h))
    .collect();
    let executor = retraining_pipeline::executor(handlers).unwrap();
    let exec = executor.start("longest", json!({})).await;
    assert_eq!(
        (exec.status, exec.error.as_deref()),
        (RunStatus::Failed, Some("TrainingDeadlinePassed"))
    );
    let checks = exec.task_calls("CheckStatus");
    assert!(
        exec.aws_history_events() < 25_000 / 4,
        "{} events in {checks} checks",
        exec.aws_history_events()
    );
    assert!(started.elapsed().as_secs() > deadline);
}
