//! The real workers, wired into the offline executor and pointed at an SDK configuration (the
//! emulator's): the whole retraining job on one machine.

use std::collections::HashMap;
use std::sync::Arc;

use asl_executor::{handler, Execution, Handler, Observer, TaskError};
use retrain_core::aws::Clients;
use retrain_core::{Config, Context, Worker, WorkerError};
use serde::Serialize;
use serde_json::Value;

use retraining_pipeline::failure_alert_for;

use crate::harness::{ACCOUNT, REGION};
use crate::launcher::identity;
use crate::stepfunctions::{OnEnd, StepFunctions};

fn to_task<T: Serialize>(r: Result<T, WorkerError>) -> Result<Value, TaskError> {
    r.map(|v| serde_json::to_value(v).expect("payloads serialise"))
        .map_err(|e| TaskError::new(e.name(), e.to_string()))
}

pub use crate::faults::Faults;

/// The output of the last successful call of Task state `state` in `exec`'s history.
pub fn last_output(exec: &Execution, state: &str) -> Option<Value> {
    exec.history.iter().rev().find_map(|e| match &e.event {
        asl_executor::Event::TaskSucceeded { state: s, output } if s == state => {
            Some(output.clone())
        }
        _ => None,
    })
}

/// The output of the last successful call of Task state `state`; a test's failure when it never
/// succeeded.
pub fn output_of(exec: &Execution, state: &str) -> Value {
    last_output(exec, state).unwrap_or_else(|| panic!("{state} never succeeded"))
}

/// The last state `exec` entered.
pub fn end(exec: &Execution) -> &str {
    exec.states_entered().last().copied().unwrap_or_default()
}

pub struct Pipeline {
    /// The local Step Functions that runs this pipeline's executions (and answers the Step
    /// Functions API about them).
    pub sfn: Arc<StepFunctions>,
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
        let alert = ctx(&reject_and_alert::WORKER);

        let mut handlers: HashMap<String, Handler> = HashMap::new();
        let mut add = |worker: &'static Worker, h: Handler| {
            // Every call goes through the faults a test may have injected at that worker.
            let faults = faults.clone();
            handlers.insert(
                worker.name.into(),
                handler(move |v| {
                    let (faults, h) = (faults.clone(), h.clone());
                    async move { faults.around(worker.name, v, h).await }
                }),
            );
        };
        add(
            &start_training::WORKER,
            task!(
                ctx(&start_training::WORKER),
                start_training::handler::handle
            ),
        );
        add(
            &check_status::WORKER,
            task!(ctx(&check_status::WORKER), check_status::handler::handle),
        );
        add(
            &evaluate_mape::WORKER,
            task!(ctx(&evaluate_mape::WORKER), evaluate_mape::handler::handle),
        );
        add(
            &deploy::WORKER,
            task!(ctx(&deploy::WORKER), deploy::handler::handle),
        );
        add(
            &reject_and_alert::WORKER,
            task!(
                ctx(&reject_and_alert::WORKER),
                reject_and_alert::handler::handle
            ),
        );
        let build = move |recorder: Observer| {
            let observer: Observer = match observer {
                Some(o) => Arc::new(move |name: &str, e: &asl_executor::HistoryEvent| {
                    recorder(name, e);
                    o(name, e)
                }),
                None => recorder,
            };
            retraining_pipeline::executor(handlers)
                .expect("the definition loads and every resource has a handler")
                .in_account(REGION, ACCOUNT)
                .with_observer(observer)
        };
        // When an execution fails or is stopped: the alert the execution-status rule sends.
        let alert = Arc::new(alert);
        let on_end: OnEnd = Arc::new(move |exec: Execution| {
            let alert = alert.clone();
            Box::pin(async move {
                let machine = crate::harness::state_machine_arn();
                let arn = format!(
                    "{}:{}",
                    machine.replacen(":stateMachine:", ":execution:", 1),
                    exec.name
                );
                match failure_alert_for(&exec, &arn, &machine) {
                    None => {}
                    Some(Err(lost)) => {
                        tracing::error!(execution = %exec.name, reason = %lost, "the failure alert was not delivered");
                    }
                    Some(Ok(request)) => {
                        if let Err(e) = reject_and_alert::handler::handle(&alert, request).await {
                            tracing::warn!(error = %e, "the failure alert could not be sent");
                        }
                    }
                }
            })
        });
        Pipeline {
            sfn: StepFunctions::new(build, Some(on_end)),
        }
    }

    /// Run an execution to its end, as StartExecution would; when it fails, the alert the
    /// execution-status rule sends on AWS goes out.
    pub async fn run(&self, name: &str, input: Value) -> Execution {
        self.sfn
            .run(name, input)
            .await
            .unwrap_or_else(|e| panic!("execution {name} could not start: {}", e.message))
    }

    /// Redrive a failed (or stopped) execution and wait for its end; `exec` becomes its new view.
    pub async fn redrive(&self, exec: &mut Execution) -> Result<(), String> {
        *exec = self
            .sfn
            .redrive_and_wait(&exec.name)
            .await
            .map_err(|e| e.message)?;
        Ok(())
    }

    /// Serve this pipeline's Step Functions API and have `emulator` forward `AWSStepFunctions.*`
    /// requests to it (after its IAM and parameter checks).
    pub fn serve(&self, emulator: &crate::launcher::Emulator) -> Result<(), String> {
        let url = crate::stepfunctions::server::serve(self.sfn.clone())?;
        emulator.route_stepfunctions(&url)
    }
}
