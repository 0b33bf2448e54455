//! A local Step Functions: the state machine's executions, run by the offline executor with the
//! real workers, behind the Step Functions API (`StartExecution`, `DescribeExecution`,
//! `ListExecutions`, `GetExecutionHistory`, `StopExecution`, `RedriveExecution`) in AWS's JSON
//! shapes. The emulator forwards `AWSStepFunctions.*` requests here once they pass its IAM and
//! parameter checks (see [`server`]), so a worker's `ListExecutions` and the operator command's
//! calls get the answer AWS would give about the executions that are really running.

pub mod history;
pub mod server;

use std::sync::{Arc, Mutex};

use asl_executor::{Event, Execution, Executor, Status, StopSignal};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use history::epoch;
use retrain_core::names::REDRIVE_DAYS;

/// Called with each execution when it ends (the execution-status rule's alert, locally).
pub type OnEnd = Arc<
    dyn Fn(Execution) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// An API error: its `__type` (the SDK's error code) and message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

fn api_error(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

struct Record {
    name: String,
    arn: String,
    input: Value,
    start: DateTime<Utc>,
    stop: Option<DateTime<Utc>>,
    status: Status,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    redrive_count: u32,
    redrive_date: Option<DateTime<Utc>>,
    events: Vec<(DateTime<Utc>, Event)>,
    /// The execution between runs (for a redrive); `None` while it runs.
    exec: Option<Execution>,
    stop_signal: StopSignal,
}

impl Record {
    fn status_text(&self) -> &'static str {
        status_text(self.status)
    }
}

pub fn status_text(s: Status) -> &'static str {
    match s {
        Status::Running => "RUNNING",
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::Aborted => "ABORTED",
        Status::TimedOut => "TIMED_OUT",
    }
}

#[derive(Default)]
struct Registry {
    /// In start order.
    runs: Vec<Record>,
}

impl Registry {
    fn by_arn(&mut self, arn: &str) -> Result<&mut Record, ApiError> {
        self.runs.iter_mut().find(|r| r.arn == arn).ok_or_else(|| {
            api_error(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            )
        })
    }
}

enum Registered {
    New(String, DateTime<Utc>, StopSignal),
    /// The same name and input as a running execution: StartExecution answers with it.
    Running(String, DateTime<Utc>),
}

pub struct StepFunctions {
    executor: Arc<Executor>,
    registry: Arc<Mutex<Registry>>,
    ended: tokio::sync::watch::Sender<u64>,
    on_end: Option<OnEnd>,
    /// How long a new execution stays out of ListExecutions (AWS documents the listing as
    /// eventually consistent); DescribeExecution sees it at once. Zero unless a test sets it.
    list_lag_ms: std::sync::atomic::AtomicU64,
}

/// The observer that keeps the registry's view of each execution current, event by event.
fn recorder(registry: Arc<Mutex<Registry>>) -> asl_executor::Observer {
    Arc::new(move |name: &str, e: &asl_executor::HistoryEvent| {
        let mut reg = registry.lock().unwrap();
        let Some(r) = reg.runs.iter_mut().find(|r| r.name == name) else {
            return;
        };
        let now = Utc::now();
        match &e.event {
            Event::ExecutionSucceeded { output } => {
                r.status = Status::Succeeded;
                r.output = Some(output.clone());
                r.stop = Some(now);
            }
            Event::ExecutionFailed { error, cause, .. } => {
                r.status = Status::Failed;
                r.error = Some(error.clone());
                r.cause = Some(cause.clone());
                r.stop = Some(now);
            }
            Event::ExecutionTimedOut { error, cause, .. } => {
                r.status = Status::TimedOut;
                r.error = Some(error.clone());
                r.cause = Some(cause.clone());
                r.stop = Some(now);
            }
            Event::ExecutionAborted { error, cause, .. } => {
                r.status = Status::Aborted;
                r.error = Some(error.clone());
                r.cause = Some(cause.clone());
                r.stop = Some(now);
            }
            Event::ExecutionRedriven { redrive_count, .. } => {
                r.status = Status::Running;
                r.redrive_count = *redrive_count;
                r.redrive_date = Some(now);
                r.stop = None;
                r.error = None;
                r.cause = None;
            }
            _ => {}
        }
        r.events.push((now, e.event.clone()));
    })
}

impl StepFunctions {
    /// `build` makes the executor, given the observer it must install (it keeps this service's
    /// view of every execution current, event by event); `on_end` runs when an execution ends.
    pub fn new(
        build: impl FnOnce(asl_executor::Observer) -> Executor,
        on_end: Option<OnEnd>,
    ) -> Arc<Self> {
        let registry = Arc::new(Mutex::new(Registry::default()));
        let executor = Arc::new(build(recorder(registry.clone())));
        Arc::new(StepFunctions {
            executor,
            registry,
            ended: tokio::sync::watch::channel(0).0,
            on_end,
            list_lag_ms: 0.into(),
        })
    }

    /// Make ListExecutions lag: an execution started less than `lag` ago is not listed yet.
    pub fn set_list_lag(&self, lag: std::time::Duration) {
        self.list_lag_ms
            .store(lag.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    pub fn state_machine_arn(&self) -> String {
        self.executor.state_machine_arn()
    }

    fn register(&self, name: &str, input: &Value) -> Result<Registered, ApiError> {
        retrain_core::names::check_execution_name(name)
            .map_err(|m| api_error("InvalidName", format!("name {m}")))?;
        let arn = self.executor.execution_arn(name);
        let mut reg = self.registry.lock().unwrap();
        if let Some(r) = reg.runs.iter().find(|r| r.name == name) {
            // StartExecution is idempotent for a running execution with the same name and input.
            if r.status == Status::Running && &r.input == input {
                return Ok(Registered::Running(r.arn.clone(), r.start));
            }
            return Err(api_error(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ));
        }
        let start = Utc::now();
        let stop_signal = StopSignal::new();
        reg.runs.push(Record {
            name: name.to_string(),
            arn: arn.clone(),
            input: input.clone(),
            start,
            stop: None,
            status: Status::Running,
            output: None,
            error: None,
            cause: None,
            redrive_count: 0,
            redrive_date: None,
            events: Vec::new(),
            exec: None,
            stop_signal: stop_signal.clone(),
        });
        Ok(Registered::New(arn, start, stop_signal))
    }

    async fn finish(&self, exec: Execution) {
        {
            let mut reg = self.registry.lock().unwrap();
            if let Some(r) = reg.runs.iter_mut().find(|r| r.name == exec.name) {
                r.exec = Some(exec.clone());
            }
        }
        if let Some(on_end) = &self.on_end {
            on_end(exec).await;
        }
        self.ended.send_modify(|n| *n += 1);
    }

    /// Run execution `name` to its end (as StartExecution, then waiting for it).
    pub async fn run(&self, name: &str, input: Value) -> Result<Execution, ApiError> {
        let Registered::New(_, _, stop) = self.register(name, &input)? else {
            return Err(api_error(
                "ExecutionAlreadyExists",
                format!("execution {name} is already running"),
            ));
        };
        let exec = self.executor.start_stoppable(name, input, stop).await;
        self.finish(exec.clone()).await;
        Ok(exec)
    }

    /// StartExecution: registered at once (ListExecutions sees it RUNNING), run in the background.
    pub fn start(
        self: &Arc<Self>,
        name: &str,
        input: Value,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let (arn, start, stop) = match self.register(name, &input)? {
            Registered::Running(arn, start) => return Ok((arn, start)),
            Registered::New(arn, start, stop) => (arn, start, stop),
        };
        let me = self.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            let exec = me.executor.start_stoppable(&name, input, stop).await;
            me.finish(exec).await;
        });
        Ok((arn, start))
    }

    fn take_for_redrive(
        &self,
        arn: &str,
    ) -> Result<(Execution, StopSignal, DateTime<Utc>), ApiError> {
        let mut reg = self.registry.lock().unwrap();
        let r = reg.by_arn(arn)?;
        let not_redrivable = |m: String| api_error("ExecutionNotRedrivable", m);
        match r.status {
            Status::Failed | Status::Aborted | Status::TimedOut => {}
            s => {
                return Err(not_redrivable(format!(
                    "Execution '{arn}' is {}: only FAILED, ABORTED or TIMED_OUT executions can be redriven",
                    status_text(s)
                )))
            }
        }
        let ended = r.stop.unwrap_or(r.start);
        if Utc::now() - ended > Duration::days(REDRIVE_DAYS) {
            return Err(not_redrivable(format!(
                "Execution '{arn}' ended more than {REDRIVE_DAYS} days ago: it can no longer be redriven"
            )));
        }
        let exec = r
            .exec
            .take()
            .ok_or_else(|| not_redrivable(format!("Execution '{arn}' is still ending")))?;
        r.stop_signal = StopSignal::new();
        r.status = Status::Running;
        Ok((exec, r.stop_signal.clone(), Utc::now()))
    }

    /// RedriveExecution, run in the background.
    pub fn redrive(self: &Arc<Self>, arn: &str) -> Result<DateTime<Utc>, ApiError> {
        let (mut exec, stop, at) = self.take_for_redrive(arn)?;
        let me = self.clone();
        tokio::spawn(async move {
            if let Err(e) = me.executor.redrive_stoppable(&mut exec, stop).await {
                tracing::warn!(error = %e, "redrive refused");
            }
            me.finish(exec).await;
        });
        Ok(at)
    }

    /// Redrive execution `name` and wait for its end.
    pub async fn redrive_and_wait(self: &Arc<Self>, name: &str) -> Result<Execution, ApiError> {
        let arn = self.executor.execution_arn(name);
        let (mut exec, stop, _) = self.take_for_redrive(&arn)?;
        self.executor
            .redrive_stoppable(&mut exec, stop)
            .await
            .map_err(|m| api_error("ExecutionNotRedrivable", m))?;
        self.finish(exec.clone()).await;
        Ok(exec)
    }

    /// StopExecution.
    pub fn stop(&self, arn: &str) -> Result<DateTime<Utc>, ApiError> {
        let mut reg = self.registry.lock().unwrap();
        let r = reg.by_arn(arn)?;
        if r.status == Status::Running {
            r.stop_signal.cancel();
        }
        Ok(r.stop.unwrap_or_else(Utc::now))
    }

    /// Wait until execution `arn` is no longer running; its final view.
    pub async fn wait(&self, arn: &str) -> Result<Execution, ApiError> {
        let mut ended = self.ended.subscribe();
        loop {
            {
                let mut reg = self.registry.lock().unwrap();
                let r = reg.by_arn(arn)?;
                if r.status != Status::Running {
                    if let Some(e) = &r.exec {
                        return Ok(e.clone());
                    }
                }
            }
            let _ = ended.changed().await;
        }
    }

    /// The last view of execution `name` once it is not running.
    pub fn execution(&self, name: &str) -> Option<Execution> {
        let reg = self.registry.lock().unwrap();
        reg.runs.iter().find(|r| r.name == name)?.exec.clone()
    }

    fn item(&self, r: &Record) -> Value {
        let mut v = json!({
            "executionArn": r.arn,
            "stateMachineArn": self.state_machine_arn(),
            "name": r.name,
            "status": r.status_text(),
            "startDate": epoch(r.start),
            "redriveCount": r.redrive_count,
        });
        if let Some(t) = r.stop {
            v["stopDate"] = json!(epoch(t));
        }
        if let Some(t) = r.redrive_date {
            v["redriveDate"] = json!(epoch(t));
        }
        v
    }

    fn check_machine(&self, arn: Option<&str>) -> Result<(), ApiError> {
        match arn {
            Some(a) if a == self.state_machine_arn() => Ok(()),
            Some(a) => Err(api_error(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{a}'"),
            )),
            None => Err(api_error(
                "ValidationException",
                "stateMachineArn is required",
            )),
        }
    }

    /// One Step Functions API call, as the JSON protocol carries it.
    pub fn call(self: &Arc<Self>, operation: &str, req: &Value) -> Result<Value, ApiError> {
        let s = |k: &str| req.get(k).and_then(Value::as_str);
        match operation {
            "StartExecution" => self.start_execution(req),
            "DescribeExecution" => self.describe_execution(s("executionArn").unwrap_or_default()),
            "ListExecutions" => self.list_executions(req),
            "GetExecutionHistory" => self.execution_history(req),
            "StopExecution" => {
                let at = self.stop(s("executionArn").unwrap_or_default())?;
                Ok(json!({"stopDate": epoch(at)}))
            }
            "RedriveExecution" => {
                let at = self.redrive(s("executionArn").unwrap_or_default())?;
                Ok(json!({"redriveDate": epoch(at)}))
            }
            other => Err(api_error(
                "UnknownOperationException",
                format!("the local Step Functions does not serve {other}"),
            )),
        }
    }

    fn start_execution(self: &Arc<Self>, req: &Value) -> Result<Value, ApiError> {
        let s = |k: &str| req.get(k).and_then(Value::as_str);
        self.check_machine(s("stateMachineArn"))?;
        let input: Value = match s("input") {
            None => json!({}),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                api_error(
                    "InvalidExecutionInput",
                    format!("Invalid State Machine Execution Input: {e}"),
                )
            })?,
        };
        let name = s("name")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:032x}", fastrand::u128(..)));
        let (arn, start) = self.start(&name, input)?;
        Ok(json!({"executionArn": arn, "startDate": epoch(start)}))
    }

    fn describe_execution(&self, arn: &str) -> Result<Value, ApiError> {
        let mut reg = self.registry.lock().unwrap();
        let r = reg.by_arn(arn)?;
        let mut v = self.item(r);
        v["input"] = json!(r.input.to_string());
        if let Some(o) = &r.output {
            v["output"] = json!(o.to_string());
        }
        if let Some(e) = &r.error {
            v["error"] = json!(e);
        }
        if let Some(c) = &r.cause {
            v["cause"] = json!(c);
        }
        let redrivable = matches!(
            r.status,
            Status::Failed | Status::Aborted | Status::TimedOut
        ) && Utc::now() - r.stop.unwrap_or(r.start)
            <= Duration::days(REDRIVE_DAYS);
        v["redriveStatus"] = json!(if redrivable {
            "REDRIVABLE"
        } else {
            "NOT_REDRIVABLE"
        });
        if !redrivable {
            v["redriveStatusReason"] = json!(match r.status {
                Status::Running => "Execution is RUNNING and cannot be redriven",
                Status::Succeeded => "Execution is SUCCEEDED and cannot be redriven",
                _ => "Execution can no longer be redriven",
            });
        }
        Ok(v)
    }

    fn list_executions(&self, req: &Value) -> Result<Value, ApiError> {
        let s = |k: &str| req.get(k).and_then(Value::as_str);
        self.check_machine(s("stateMachineArn"))?;
        let filter = s("statusFilter");
        let (max, from) = page_of(req);
        let reg = self.registry.lock().unwrap();
        let lag = self.list_lag_ms.load(std::sync::atomic::Ordering::Relaxed);
        let visible_from = Utc::now() - Duration::milliseconds(lag as i64);
        // Most recent first, as Step Functions lists them; the newest not yet, while
        // the listing lags.
        let all: Vec<Value> = reg
            .runs
            .iter()
            .rev()
            .filter(|r| r.start <= visible_from)
            .filter(|r| filter.is_none_or(|f| f == r.status_text()))
            .map(|r| self.item(r))
            .collect();
        let page: Vec<Value> = all.iter().skip(from).take(max).cloned().collect();
        let mut out = json!({"executions": page});
        if from + max < all.len() {
            out["nextToken"] = json!((from + max).to_string());
        }
        Ok(out)
    }

    fn execution_history(&self, req: &Value) -> Result<Value, ApiError> {
        let s = |k: &str| req.get(k).and_then(Value::as_str);
        let arn = s("executionArn").unwrap_or_default();
        let (max, from) = page_of(req);
        let reverse = req
            .get("reverseOrder")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut reg = self.registry.lock().unwrap();
        let r = reg.by_arn(arn)?;
        let mut events = Vec::new();
        for (at, e) in &r.events {
            for (kind, mut details) in history::aws_events(self.executor.definition(), e) {
                let id = events.len() as i64 + 1;
                details["id"] = json!(id);
                details["previousEventId"] = json!(id - 1);
                details["type"] = json!(kind);
                details["timestamp"] = json!(epoch(*at));
                events.push(details);
            }
        }
        if reverse {
            events.reverse();
        }
        let total = events.len();
        let page: Vec<Value> = events.into_iter().skip(from).take(max).collect();
        let mut out = json!({"events": page});
        if from + max < total {
            out["nextToken"] = json!((from + max).to_string());
        }
        Ok(out)
    }
}

/// A list call's page: `maxResults` (100 when absent or 0) and where `nextToken` resumes.
fn page_of(req: &Value) -> (usize, usize) {
    let max = req
        .get("maxResults")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .unwrap_or(100) as usize;
    let from = req
        .get("nextToken")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    (max, from)
}
