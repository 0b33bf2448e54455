//! Faults a test injects into a run, each at one Task state, the way the workers meet them on AWS:
//! throttling and 500s from the AWS API (the emulator's injected faults), the AWS endpoint
//! unreachable for a while (the workers' [`Proxy`] down), a Lambda timeout that cuts the worker off
//! in the middle of a call that AWS applied, and the execution stopped while the state runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, Weak};
use std::time::Duration;

use asl_executor::{Handler, TaskError};
use serde_json::{json, Value};

use crate::proxy::Proxy;
use crate::stepfunctions::StepFunctions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultClass {
    /// The operation answers throttling four times: the SDK's three attempts, then the ASL Retry.
    Throttling,
    /// The operation is applied and then answers 500, four times.
    ServerError,
    /// Every AWS call of the workers fails to connect for 4 s.
    Unreachable,
    /// The operation is applied and answered 6 s late; the worker is cut off after 2 s, as a
    /// Lambda timeout cuts it off (`Sandbox.Timedout`).
    LambdaTimeout,
    /// StopExecution while the state runs (its invocation runs on to its end).
    Stopped,
}

impl FaultClass {
    pub const ALL: [FaultClass; 5] = [
        FaultClass::Throttling,
        FaultClass::ServerError,
        FaultClass::Unreachable,
        FaultClass::LambdaTimeout,
        FaultClass::Stopped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultClass::Throttling => "throttling",
            FaultClass::ServerError => "5xx after applying",
            FaultClass::Unreachable => "AWS unreachable 4 s",
            FaultClass::LambdaTimeout => "Lambda timeout mid-call",
            FaultClass::Stopped => "execution stopped",
        }
    }
}

/// One injection: at the first call of `worker` (whose input's `kind` is `kind`, for
/// check-status), the fault `class` on AWS operation `operation`.
#[derive(Debug, Clone)]
pub struct Injection {
    pub worker: &'static str,
    pub kind: Option<&'static str>,
    pub operation: &'static str,
    pub class: FaultClass,
}

/// How long a worker cut off by [`FaultClass::LambdaTimeout`] ran.
pub const CUT_OFF_AFTER: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct Faults {
    /// The next `deploy_lost_replies` Deploy calls do their work, then fail as a Lambda whose
    /// reply was lost after the work was done.
    pub deploy_lost_replies: AtomicUsize,
    injection: Mutex<Option<Injection>>,
    /// What fired, in order (for the test's report).
    pub fired: Mutex<Vec<String>>,
    emulator: OnceLock<String>,
    proxy: OnceLock<Proxy>,
    sfn: OnceLock<Weak<StepFunctions>>,
}

/// The execution a worker's input belongs to.
fn execution_of(input: &Value) -> Option<&str> {
    input["execution"]
        .as_str()
        .or(input["run"]["execution"].as_str())
        .or(input["state"]["run"]["execution"].as_str())
}

impl Faults {
    /// Where the faults act: the emulator (its URL), the workers' proxy, the Step Functions.
    pub fn connect(&self, emulator: &str, proxy: Option<Proxy>, sfn: Weak<StepFunctions>) {
        let _ = self.emulator.set(emulator.to_string());
        if let Some(p) = proxy {
            let _ = self.proxy.set(p);
        }
        let _ = self.sfn.set(sfn);
    }

    pub fn inject(&self, injection: Injection) {
        *self.injection.lock().unwrap() = Some(injection);
    }

    fn take(&self, worker: &str, input: &Value) -> Option<Injection> {
        let mut slot = self.injection.lock().unwrap();
        let hit = slot.as_ref().is_some_and(|i| {
            i.worker == worker && i.kind.is_none_or(|k| input["kind"].as_str() == Some(k))
        });
        if hit {
            slot.take()
        } else {
            None
        }
    }

    async fn emulator_fault(&self, fault: Value) {
        let url = format!(
            "{}/_emulator/faults",
            self.emulator
                .get()
                .expect("faults connected to an emulator")
        );
        tokio::task::spawn_blocking(move || {
            ureq::post(&url)
                .header("Content-Type", "application/json")
                .send(fault.to_string())
                .expect("the emulator takes the fault");
        })
        .await
        .unwrap();
    }

    /// Call `h` for `worker` with `input`, with the fault that is due there.
    pub async fn around(
        &self,
        worker: &'static str,
        input: Value,
        h: Handler,
    ) -> Result<Value, TaskError> {
        let Some(i) = self.take(worker, &input) else {
            let out = h(input).await;
            if worker == deploy::WORKER.name && out.is_ok() {
                let lost = self
                    .deploy_lost_replies
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if lost {
                    return Err(TaskError::new(
                        "Sandbox.Timedout",
                        "injected: the reply of Deploy was lost",
                    ));
                }
            }
            return out;
        };
        self.fired.lock().unwrap().push(format!(
            "{} at {worker} ({})",
            i.class.name(),
            i.operation
        ));
        match i.class {
            FaultClass::Throttling => {
                self.emulator_fault(
                    json!({"operation": i.operation, "kind": "throttle", "count": 4}),
                )
                .await;
                h(input).await
            }
            FaultClass::ServerError => {
                self.emulator_fault(
                    json!({"operation": i.operation, "kind": "error", "after": true, "count": 4}),
                )
                .await;
                h(input).await
            }
            FaultClass::Unreachable => {
                self.proxy
                    .get()
                    .expect("the workers call through the proxy")
                    .down_for(Duration::from_secs(4));
                h(input).await
            }
            FaultClass::LambdaTimeout => {
                self.emulator_fault(
                    json!({"operation": i.operation, "kind": "delay", "seconds": 6, "count": 1}),
                )
                .await;
                match tokio::time::timeout(CUT_OFF_AFTER, h(input)).await {
                    Ok(out) => out,
                    Err(_) => Err(TaskError::new(
                        "Sandbox.Timedout",
                        format!(
                            "injected: {worker} cut off after {} s, in the middle of {}",
                            CUT_OFF_AFTER.as_secs(),
                            i.operation
                        ),
                    )),
                }
            }
            FaultClass::Stopped => {
                let sfn = self
                    .sfn
                    .get()
                    .and_then(Weak::upgrade)
                    .expect("faults connected");
                let name = execution_of(&input).expect("the input names its execution");
                sfn.stop(&sfn.executor().execution_arn(name))
                    .expect("the execution exists");
                h(input).await
            }
        }
    }
}
