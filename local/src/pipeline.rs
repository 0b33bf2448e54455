//! The real workers, wired into the offline executor and pointed at an SDK configuration (the
//! emulator's): the whole retraining job on one machine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use asl_executor::{handler, Execution, Executor, Handler, Observer, TaskError};
use retrain_core::aws::Clients;
use retrain_core::{Config, Context, Worker, WorkerError};
use serde::Serialize;
use serde_json::Value;

use retraining_pipeline::failure_alert_for;

use crate::emulator::identity;

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

/// The output of the last successful call of Task state `state` in `exec`'s history.
pub fn last_output(exec: &Execution, state: &str) -> Option<Value> {
    exec.history.iter().rev().find_map(|e| match &e.event {
        asl_executor::Event::TaskSucceeded { state: s, output } if s == state => {
            Some(output.clone())
        }
        _ => None,
    })
}

pub struct Pipeline {
    pub executor: Executor,
    /// RejectAndAlert's context, for the alert the execution-status rule sends.
    alert: Context,
}

/// A worker's handler as the executor calls it: with that worker's own context.
macro_rules! task {
    ($ctx:expr, $handle:path) => {{
        let ctx = Arc::new($ctx);
        handler(move |v| {
            let ctx = ctx.clone();
            async move { to_task($handle(&ctx, v).await) }
        })
    }};
}

impl Pipeline {
    /// The real workers, each with its own context (its declared operations only) and its own
    /// credentials (access key = the worker's name, which the emulator maps to its function's
    /// IAM policy), as the Lambda functions would run them.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        cfg: &Config,
        faults: Arc<Faults>,
        observer: Option<Observer>,
    ) -> Self {
        let ctx = |worker: &'static Worker| {
            let clients = Clients::from_sdk(&identity(sdk, worker.name));
            Context::new(cfg.clone(), clients, worker)
        };
        let deploy = Arc::new(ctx(&deploy::WORKER));
        let alert = ctx(&reject_and_alert::WORKER);

        let mut handlers: HashMap<String, Handler> = HashMap::new();
        handlers.insert(
            start_training::WORKER.name.into(),
            task!(
                ctx(&start_training::WORKER),
                start_training::handler::handle
            ),
        );
        handlers.insert(
            check_status::WORKER.name.into(),
            task!(ctx(&check_status::WORKER), check_status::handler::handle),
        );
        handlers.insert(
            evaluate_mape::WORKER.name.into(),
            task!(ctx(&evaluate_mape::WORKER), evaluate_mape::handler::handle),
        );
        handlers.insert(
            deploy::WORKER.name.into(),
            handler(move |v| {
                let (d, faults) = (deploy.clone(), faults.clone());
                async move {
                    let out = to_task(deploy::handler::handle(&d, v).await);
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
        handlers.insert(
            reject_and_alert::WORKER.name.into(),
            task!(
                ctx(&reject_and_alert::WORKER),
                reject_and_alert::handler::handle
            ),
        );
        let mut executor = retraining_pipeline::executor(handlers)
            .expect("the definition loads and every resource has a handler");
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
