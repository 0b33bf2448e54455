//! The real workers, wired into the offline executor and pointed at an SDK configuration (the
//! emulator's): the whole retraining job on one machine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use asl_executor::{handler, Execution, Executor, Handler, Observer, TaskError};
use chrono::Utc;
use retrain_core::{Config, WorkerError};
use serde::Serialize;
use serde_json::Value;

use crate::{failure_alert_for, load_definition};

pub const LOCAL_IMAGE: &str = "local/prophet-trainer:latest";
pub const LOCAL_ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerExecutionRole";
pub const TOPIC_NAME: &str = "model-drift-alerts";

/// The workers' configuration for a local run: the guide's defaults, a fast poll.
pub fn local_config(topic_arn: &str) -> Config {
    let topic = topic_arn.to_string();
    Config::from_lookup(move |k| match k {
        "ECR_IMAGE_URI" => Some(LOCAL_IMAGE.to_string()),
        "SAGEMAKER_ROLE" => Some(LOCAL_ROLE.to_string()),
        "SNS_TOPIC_ARN" => Some(topic.clone()),
        "POLL_SECONDS" => Some("1".to_string()),
        _ => None,
    })
    .expect("the local configuration is valid")
}

fn to_task<T: Serialize>(r: Result<T, WorkerError>) -> Result<Value, TaskError> {
    r.map(|v| serde_json::to_value(v).expect("payloads serialise"))
        .map_err(|e| TaskError::new(e.name(), e.to_string()))
}

/// Faults a test can inject: the next `deploy_lost_replies` Deploy calls do their work, then
/// fail as a Lambda that timed out after the work was done would.
#[derive(Default)]
pub struct Faults {
    pub deploy_lost_replies: AtomicUsize,
}

pub struct Pipeline {
    pub executor: Executor,
    alert: Arc<reject_and_alert::handler::Deps>,
}

impl Pipeline {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        cfg: &Config,
        faults: Arc<Faults>,
        observer: Option<Observer>,
    ) -> Self {
        let s3 = retrain_core::s3_client(sdk);
        let sm = aws_sdk_sagemaker::Client::new(sdk);
        let cw = aws_sdk_cloudwatch::Client::new(sdk);
        let sns = aws_sdk_sns::Client::new(sdk);

        let start = Arc::new(start_training::handler::Deps {
            cfg: cfg.clone(),
            s3: s3.clone(),
            sm: sm.clone(),
            cw: cw.clone(),
            sns: sns.clone(),
        });
        let check = Arc::new(sm.clone());
        let evaluate = Arc::new(evaluate_mape::handler::Deps {
            cfg: cfg.clone(),
            s3: s3.clone(),
            cw: cw.clone(),
        });
        let deploy = Arc::new(deploy::handler::Deps {
            cfg: cfg.clone(),
            s3: s3.clone(),
            sm: sm.clone(),
        });
        let alert = Arc::new(reject_and_alert::handler::Deps {
            cfg: cfg.clone(),
            s3,
            sm,
            cw,
            sns,
        });

        let mut handlers: HashMap<String, Handler> = HashMap::new();
        handlers.insert(
            "start-training".into(),
            handler(move |v| {
                let d = start.clone();
                async move { to_task(start_training::handler::handle(&d, v, Utc::now()).await) }
            }),
        );
        handlers.insert(
            "check-status".into(),
            handler(move |v| {
                let sm = check.clone();
                async move { to_task(check_status::handler::handle(&sm, v, Utc::now()).await) }
            }),
        );
        handlers.insert(
            "evaluate-mape".into(),
            handler(move |v| {
                let d = evaluate.clone();
                async move { to_task(evaluate_mape::handler::handle(&d, v).await) }
            }),
        );
        handlers.insert(
            "deploy".into(),
            handler(move |v| {
                let (d, faults) = (deploy.clone(), faults.clone());
                async move {
                    let out = to_task(deploy::handler::handle(&d, v, Utc::now()).await);
                    let lost = faults
                        .deploy_lost_replies
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if lost && out.is_ok() {
                        return Err(TaskError::new(
                            "Sandbox.Timedout",
                            "injected: the reply of Deploy was lost",
                        ));
                    }
                    out
                }
            }),
        );
        let a = alert.clone();
        handlers.insert(
            "reject-and-alert".into(),
            handler(move |v| {
                let d = a.clone();
                async move { to_task(reject_and_alert::handler::handle(&d, v).await) }
            }),
        );
        let mut executor =
            Executor::new(load_definition().expect("the definition loads"), handlers)
                .expect("every resource has a handler");
        if let Some(o) = observer {
            executor = executor.with_observer(o);
        }
        Pipeline { executor, alert }
    }

    /// Run an execution; when it fails, send the alert the execution-status rule sends on AWS.
    pub async fn run(&self, name: &str, input: Value) -> Execution {
        let exec = self.executor.start(name, input).await;
        self.alert_on_failure(&exec).await;
        exec
    }

    pub async fn redrive(&self, exec: &mut Execution) -> Result<(), String> {
        self.executor.redrive(exec).await?;
        self.alert_on_failure(exec).await;
        Ok(())
    }

    async fn alert_on_failure(&self, exec: &Execution) {
        if let Some(request) = failure_alert_for(exec) {
            if let Err(e) = reject_and_alert::handler::handle(&self.alert, request).await {
                tracing::warn!(error = %e, "the failure alert could not be sent");
            }
        }
    }
}
