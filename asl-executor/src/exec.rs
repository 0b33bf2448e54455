//! Running an execution: states in order, Task states dispatched to in-process async handlers,
//! Retry/Catch, Wait through tokio's clock (tests pause it), a recorded history, and redrive
//! from the failed state with the same input, as the console does.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::definition::{
    ChoiceState, Definition, FailState, LoadError, PassState, State, TaskState, WaitState,
};
use crate::errors::{self, matches_any};
use crate::io::{merge, select, template, IoError};
use crate::path::RefPath;
use crate::retry;

/// What a Task handler reports on failure: `error` is what `ErrorEquals` matches (a Lambda
/// function's `errorType`), `cause` the message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl TaskError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

pub type TaskFuture = Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send>>;
pub type Handler = Arc<dyn Fn(Value) -> TaskFuture + Send + Sync>;

/// Wrap an async closure as a handler.
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
{
    Arc::new(move |v| Box::pin(f(v)))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum Event {
    ExecutionStarted {
        input: Value,
    },
    StateEntered {
        state: String,
        input: Value,
    },
    StateExited {
        state: String,
        output: Value,
    },
    TaskScheduled {
        state: String,
        resource: String,
        input: Value,
    },
    TaskSucceeded {
        state: String,
        output: Value,
    },
    TaskFailed {
        state: String,
        error: String,
        cause: String,
    },
    RetryScheduled {
        state: String,
        attempt: u32,
        delay_ms: u128,
    },
    ErrorCaught {
        state: String,
        error: String,
        next: String,
    },
    ChoiceMatched {
        state: String,
        next: String,
    },
    WaitStarted {
        state: String,
        seconds: u64,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        state: String,
        error: String,
        cause: String,
    },
    ExecutionRedriven {
        from_state: String,
        redrive_count: u32,
    },
    ExecutionAborted {
        state: String,
        error: String,
        cause: String,
    },
    /// The machine-level TimeoutSeconds passed (AWS history: ExecutionTimedOut).
    ExecutionTimedOut {
        state: String,
        error: String,
        cause: String,
    },
}

impl Event {
    /// How many events Step Functions writes to the execution history for this one (Lambda Task
    /// attempts: LambdaFunctionScheduled + LambdaFunctionStarted, then Succeeded or Failed; each
    /// state: Entered and Exited; a retry, a caught error, a matched choice or a started wait
    /// writes none of its own). AWS fails an execution whose history passes 25,000 events.
    pub fn aws_history_events(&self) -> u64 {
        match self {
            Event::TaskScheduled { .. } => 2,
            Event::RetryScheduled { .. }
            | Event::ErrorCaught { .. }
            | Event::ChoiceMatched { .. }
            | Event::WaitStarted { .. } => 0,
            _ => 1,
        }
    }
}

/// Step Functions' cap on a payload (a state's input or output, a task's result): 256 KiB,
/// counted in bytes of the UTF-8 JSON text. Larger fails with `States.DataLimitExceeded`.
pub const PAYLOAD_LIMIT_BYTES: usize = 262_144;

/// Bytes of `v` as compact UTF-8 JSON, counted without building the text.
pub fn payload_bytes(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, v).expect("a Value serializes");
    count.0
}

/// `States.DataLimitExceeded` as AWS words it, if `v` is over the payload cap; `what` is the
/// state's name, or a task's resource.
fn data_limit(what: &str, v: &Value, verb: &str) -> Option<(String, String)> {
    (payload_bytes(v) > PAYLOAD_LIMIT_BYTES).then(|| {
        (
            errors::DATA_LIMIT.to_string(),
            format!(
                "The state/task '{what}' {verb} with a size exceeding the maximum number of bytes service limit."
            ),
        )
    })
}

/// Step Functions' limit on the events of one execution's history (Standard workflows).
pub const AWS_HISTORY_EVENT_LIMIT: u64 = 25_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// Time since the execution started, on tokio's clock.
    pub at: Duration,
    pub event: Event,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    /// Stopped from outside (StopExecution): can be redriven, like a failure.
    Aborted,
    /// The machine-level TimeoutSeconds passed (AWS: TIMED_OUT, error `States.Timeout`): can
    /// be redriven, like a failure.
    TimedOut,
}

#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    pub name: String,
    pub start_time: DateTime<Utc>,
    pub input: Value,
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
    pub redrive_count: u32,
    /// When the execution was last redriven.
    pub redrive_time: Option<DateTime<Utc>>,
    /// The state being run and its raw input: where a redrive resumes.
    #[serde(skip)]
    current: Option<(String, Value)>,
    #[serde(skip)]
    started: Option<Instant>,
    /// When the current state was entered (`$$.State.EnteredTime`).
    #[serde(skip)]
    entered: Option<DateTime<Utc>>,
    /// Events AWS would have written to the history so far (see [`Event::aws_history_events`]).
    aws_history_events: u64,
}

impl Execution {
    fn push(&mut self, event: Event) {
        let at = self.started.map(|s| s.elapsed()).unwrap_or_default();
        self.aws_history_events += event.aws_history_events();
        self.history.push(HistoryEvent { at, event });
    }

    /// The time now on the execution's clock: its start time plus the time since, on tokio's
    /// clock (which tests pause), so `$$` times and Wait timestamps agree with the waits.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = self.started.map(|s| s.elapsed()).unwrap_or_default();
        self.start_time + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::zero())
    }

    /// How many events this execution's history holds as AWS counts them.
    pub fn aws_history_events(&self) -> u64 {
        self.aws_history_events
    }

    /// Names of the states entered, in order (with repeats).
    pub fn states_entered(&self) -> Vec<&str> {
        self.history
            .iter()
            .filter_map(|e| match &e.event {
                Event::StateEntered { state, .. } => Some(state.as_str()),
                _ => None,
            })
            .collect()
    }

    /// How many times the Task state `state` called its handler.
    pub fn task_calls(&self, state: &str) -> usize {
        self.history
            .iter()
            .filter(|e| matches!(&e.event, Event::TaskScheduled { state: s, .. } if s == state))
            .count()
    }

    pub fn retries(&self) -> Vec<(&str, u32, Duration)> {
        self.history
            .iter()
            .filter_map(|e| match &e.event {
                Event::RetryScheduled {
                    state,
                    attempt,
                    delay_ms,
                } => Some((
                    state.as_str(),
                    *attempt,
                    Duration::from_millis(*delay_ms as u64),
                )),
                _ => None,
            })
            .collect()
    }

    /// The state the execution failed in (or was stopped or timed out in), if it did.
    pub fn failed_state(&self) -> Option<&str> {
        match self.status {
            Status::Failed | Status::Aborted | Status::TimedOut => {
                self.current.as_ref().map(|(s, _)| s.as_str())
            }
            _ => None,
        }
    }

    /// Time since the start, on tokio's clock, at the last event.
    pub fn duration(&self) -> Duration {
        self.history.last().map(|e| e.at).unwrap_or_default()
    }
}

/// How a Task state's attempts ended, when they did not return a result.
enum TaskEnd {
    /// The last attempt's error, for the catchers.
    Error(TaskError),
    /// The state failed outside any attempt (input processing): no catcher applies.
    Failed(Step),
}

/// How a run of the state loop ended.
enum Ending {
    Finished(Step),
    /// The machine-level TimeoutSeconds passed.
    TimedOut,
    /// Stopped from outside.
    Stopped,
}

enum Step {
    Next(String, Value),
    Succeed(Value),
    Fail(String, String),
}

/// Called with the execution's name and each event as it happens (progress output).
pub type Observer = Arc<dyn Fn(&str, &HistoryEvent) + Send + Sync>;

pub struct Executor {
    observer: Option<Observer>,
    def: Arc<Definition>,
    handlers: HashMap<String, Handler>,
    rng: Mutex<fastrand::Rng>,
    /// The history limit (AWS: 25,000 events); an execution that passes it fails with
    /// `States.Runtime`, as a definition that loops forever would on AWS.
    pub max_history_events: u64,
    /// The state machine's name in execution ARNs and the `States.*` context (see [`Self::named`]).
    pub state_machine_name: String,
    /// The region and account of the ARNs (see [`Self::in_account`]).
    pub region: String,
    pub account: String,
}

/// Stops an execution from outside, as StopExecution does: the execution ends `Aborted` at the
/// state it was in; a Task invocation in flight runs on to its end, its result unused.
pub type StopSignal = tokio_util::sync::CancellationToken;

impl Executor {
    /// Every Resource of the definition must have a handler.
    pub fn new(def: Definition, handlers: HashMap<String, Handler>) -> Result<Self, LoadError> {
        let mut missing: Vec<&str> = def
            .resources()
            .into_iter()
            .filter(|r| !handlers.contains_key(*r))
            .collect();
        missing.sort();
        if !missing.is_empty() {
            return Err(LoadError(format!("no handler for resources {missing:?}")));
        }
        Ok(Self {
            observer: None,
            def: Arc::new(def),
            handlers,
            rng: Mutex::new(fastrand::Rng::with_seed(0x5eed)),
            max_history_events: AWS_HISTORY_EVENT_LIMIT,
            state_machine_name: "state-machine".into(),
            region: "local".into(),
            account: "000000000000".into(),
        })
    }

    /// Put the state machine in `region` and `account` (its ARN and its executions').
    pub fn in_account(mut self, region: impl Into<String>, account: impl Into<String>) -> Self {
        self.region = region.into();
        self.account = account.into();
        self
    }

    /// The definition this executor runs.
    pub fn definition(&self) -> &Definition {
        &self.def
    }

    /// The state machine's ARN.
    pub fn state_machine_arn(&self) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            self.region, self.account, self.state_machine_name
        )
    }

    /// The ARN of this state machine's execution `name`.
    pub fn execution_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:execution:{}:{name}",
            self.region, self.account, self.state_machine_name
        )
    }

    /// Name the state machine (execution ARNs and the context object carry it).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.state_machine_name = name.into();
        self
    }

    /// Seed the jitter of FULL-jitter retriers (deterministic runs).
    pub fn with_seed(self, seed: u64) -> Self {
        *self.rng.lock().unwrap() = fastrand::Rng::with_seed(seed);
        self
    }

    /// See every event as it happens.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    fn emit(&self, exec: &mut Execution, event: Event) {
        exec.push(event);
        if let Some(observer) = &self.observer {
            observer(&exec.name, exec.history.last().expect("just pushed"));
        }
    }

    pub async fn start(&self, name: &str, input: Value) -> Execution {
        self.start_stoppable(name, input, StopSignal::new()).await
    }

    /// [`Self::start`], stopped (Aborted) when `stop` is cancelled.
    pub async fn start_stoppable(&self, name: &str, input: Value, stop: StopSignal) -> Execution {
        let mut exec = Execution {
            name: name.to_string(),
            start_time: Utc::now(),
            input: input.clone(),
            status: Status::Running,
            output: None,
            error: None,
            cause: None,
            history: Vec::new(),
            redrive_count: 0,
            redrive_time: None,
            current: None,
            started: Some(Instant::now()),
            entered: None,
            aws_history_events: 0,
        };
        self.emit(
            &mut exec,
            Event::ExecutionStarted {
                input: input.clone(),
            },
        );
        self.run(&mut exec, self.def.start_at.clone(), input, stop)
            .await;
        exec
    }

    /// Resume a failed (stopped, timed-out) execution at the state it failed in, with that state's input.
    /// States that succeeded are not run again. The machine-level timeout starts over.
    pub async fn redrive(&self, exec: &mut Execution) -> Result<(), String> {
        self.redrive_stoppable(exec, StopSignal::new()).await
    }

    /// [`Self::redrive`], stopped (Aborted) when `stop` is cancelled.
    pub async fn redrive_stoppable(
        &self,
        exec: &mut Execution,
        stop: StopSignal,
    ) -> Result<(), String> {
        Self::check_redrivable(exec)?;
        let (state, input) = exec.current.clone().ok_or("no failed state recorded")?;
        exec.redrive_count += 1;
        exec.redrive_time = Some(Utc::now());
        exec.status = Status::Running;
        exec.error = None;
        exec.cause = None;
        self.emit(
            exec,
            Event::ExecutionRedriven {
                from_state: state.clone(),
                redrive_count: exec.redrive_count,
            },
        );
        self.run(exec, state, input, stop).await;
        Ok(())
    }

    /// Why `exec` cannot be redriven, if it cannot: only failed, stopped or timed-out
    /// executions redrive (as on AWS).
    pub fn check_redrivable(exec: &Execution) -> Result<(), String> {
        match exec.status {
            Status::Failed | Status::Aborted | Status::TimedOut => Ok(()),
            other => Err(format!(
                "execution {} is {other:?}: only failed, stopped or timed-out executions redrive",
                exec.name
            )),
        }
    }

    async fn run(&self, exec: &mut Execution, state: String, input: Value, stop: StopSignal) {
        let run = async {
            match self.def.timeout_seconds {
                Some(secs) => tokio::time::timeout(
                    Duration::from_secs(secs),
                    self.run_loop(exec, state, input),
                )
                .await
                .map_or(Ending::TimedOut, Ending::Finished),
                None => Ending::Finished(self.run_loop(exec, state, input).await),
            }
        };
        let ending = tokio::select! {
            ending = run => ending,
            _ = stop.cancelled() => Ending::Stopped,
        };
        let state = exec
            .current
            .as_ref()
            .map(|(s, _)| s.clone())
            .unwrap_or_default();
        let (status, error, cause) = match ending {
            Ending::Finished(Step::Succeed(output)) => {
                exec.status = Status::Succeeded;
                exec.output = Some(output.clone());
                self.emit(exec, Event::ExecutionSucceeded { output });
                return;
            }
            Ending::Finished(Step::Fail(error, cause)) => (Status::Failed, error, cause),
            Ending::Finished(Step::Next(..)) => {
                unreachable!("run_loop only returns a terminal step")
            }
            // The machine-level TimeoutSeconds: no catcher sees it, and the execution ends
            // TIMED_OUT (not FAILED), as on AWS.
            Ending::TimedOut => (
                Status::TimedOut,
                errors::TIMEOUT.to_string(),
                "The execution timed out".to_string(),
            ),
            Ending::Stopped => (
                Status::Aborted,
                "States.Aborted".to_string(),
                "the execution was stopped".to_string(),
            ),
        };
        exec.status = status;
        exec.error = Some(error.clone());
        exec.cause = Some(cause.clone());
        let event = match status {
            Status::TimedOut => Event::ExecutionTimedOut {
                state,
                error,
                cause,
            },
            Status::Aborted => Event::ExecutionAborted {
                state,
                error,
                cause,
            },
            _ => Event::ExecutionFailed {
                state,
                error,
                cause,
            },
        };
        self.emit(exec, event);
    }

    /// The context object (`$$`) of state `state`; `retry_count` is the number of retries made
    /// so far (`$$.State.RetryCount`).
    fn context(&self, exec: &Execution, state: &str, retry_count: u32) -> Value {
        let entered = exec
            .entered
            .unwrap_or_else(|| exec.now())
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut execution = json!({
            "Id": self.execution_arn(&exec.name),
            "Name": exec.name,
            "StartTime": exec.start_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "Input": exec.input,
            "RedriveCount": exec.redrive_count,
        });
        if let Some(t) = exec.redrive_time {
            execution["RedriveTime"] =
                json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        json!({
            "Execution": execution,
            "State": {"Name": state, "EnteredTime": entered, "RetryCount": retry_count},
            "StateMachine": {
                "Id": self.state_machine_arn(),
                "Name": self.state_machine_name,
            },
        })
    }

    async fn run_loop(&self, exec: &mut Execution, mut name: String, mut input: Value) -> Step {
        loop {
            exec.current = Some((name.clone(), input.clone()));
            if exec.aws_history_events >= self.max_history_events {
                return Step::Fail(
                    errors::RUNTIME.into(),
                    format!(
                        "the execution history reached {} events, the limit of a Step Functions execution",
                        self.max_history_events
                    ),
                );
            }
            exec.entered = Some(exec.now());
            self.emit(
                exec,
                Event::StateEntered {
                    state: name.clone(),
                    input: input.clone(),
                },
            );
            let step = match &self.def.states[&name] {
                State::Task(_) => self.task(exec, &name, &input).await,
                other => self.simple(exec, &name, other, &input).await,
            };
            // A state's output over the cap fails the execution: terminal, no catcher sees it.
            let step = match step {
                Step::Next(_, ref out) | Step::Succeed(ref out) => {
                    match data_limit(&name, out, "returned a result") {
                        Some((error, cause)) => Step::Fail(error, cause),
                        None => step,
                    }
                }
                fail => fail,
            };
            match step {
                Step::Next(next, output) => {
                    self.emit(
                        exec,
                        Event::StateExited {
                            state: name.clone(),
                            output: output.clone(),
                        },
                    );
                    name = next;
                    input = output;
                }
                Step::Succeed(output) => {
                    self.emit(
                        exec,
                        Event::StateExited {
                            state: name.clone(),
                            output: output.clone(),
                        },
                    );
                    return Step::Succeed(output);
                }
                fail @ Step::Fail(..) => return fail,
            }
        }
    }

    /// Continue to Next, or end the execution with `output` (End: true).
    fn follow(next: Option<&str>, output: Value) -> Step {
        match next {
            Some(n) => Step::Next(n.to_string(), output),
            None => Step::Succeed(output),
        }
    }

    async fn simple(&self, exec: &mut Execution, name: &str, state: &State, input: &Value) -> Step {
        let ctx = self.context(exec, name, 0);
        match state {
            State::Pass(p) => Self::pass(name, p, input, &ctx),
            State::Wait(w) => self.wait(exec, name, w, input, &ctx).await,
            State::Choice(c) => self.choice(exec, name, c, input, &ctx),
            State::Succeed(s) => match select(&s.input_path, input, &ctx)
                .and_then(|v| select(&s.output_path, &v, &ctx))
            {
                Ok(out) => Step::Succeed(out),
                Err(e) => runtime(e),
            },
            State::Fail(f) => Self::fail(name, f, input, &ctx),
            State::Task(_) => unreachable!("tasks are run by Executor::task"),
        }
    }

    fn pass(name: &str, p: &PassState, input: &Value, ctx: &Value) -> Step {
        let effective = match select(&p.input_path, input, ctx) {
            Ok(v) => v,
            Err(e) => return runtime(e),
        };
        let result = match (&p.result, &p.parameters) {
            (Some(r), _) => r.clone(),
            (None, Some(tpl)) => match template(tpl, &effective, ctx) {
                Ok(v) => match data_limit(name, &v, "has an input") {
                    Some((error, cause)) => return Step::Fail(error, cause),
                    None => v,
                },
                Err(e) => return runtime(e),
            },
            (None, None) => effective,
        };
        match merge(&p.result_path, input, result).and_then(|m| select(&p.output_path, &m, ctx)) {
            Ok(out) => Self::follow(p.next.as_deref(), out),
            Err(e) => runtime(e),
        }
    }

    async fn wait(
        &self,
        exec: &mut Execution,
        name: &str,
        w: &WaitState,
        input: &Value,
        ctx: &Value,
    ) -> Step {
        let effective = match select(&w.input_path, input, ctx) {
            Ok(v) => v,
            Err(e) => return runtime(e),
        };
        let delay = match Self::wait_delay(exec, w, &effective, ctx) {
            Ok(d) => d,
            Err(cause) => return Step::Fail(errors::RUNTIME.into(), cause),
        };
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        self.emit(
            exec,
            Event::WaitStarted {
                state: name.to_string(),
                seconds,
            },
        );
        tokio::time::sleep(delay).await;
        match select(&w.output_path, &effective, ctx) {
            Ok(out) => Self::follow(w.next.as_deref(), out),
            Err(e) => runtime(e),
        }
    }

    /// How long a Wait state waits: Seconds, SecondsPath, or until Timestamp or TimestampPath
    /// (on the execution's clock; a time past waits not at all). A path that selects no
    /// non-negative integer (no timestamp) is a States.Runtime error.
    fn wait_delay(
        exec: &Execution,
        w: &WaitState,
        effective: &Value,
        ctx: &Value,
    ) -> Result<Duration, String> {
        let until = |t: DateTime<Utc>| (t - exec.now()).to_std().unwrap_or_default();
        if let Some(s) = w.seconds {
            return Ok(Duration::from_secs(s));
        }
        if let Some(t) = w.timestamp {
            return Ok(until(t));
        }
        if let Some(p) = &w.seconds_path {
            return match p.resolve(effective, ctx).and_then(Value::as_u64) {
                Some(s) => Ok(Duration::from_secs(s)),
                None => Err(format!(
                    "SecondsPath '{p}' is not a non-negative integer in the input"
                )),
            };
        }
        let p = w.timestamp_path.as_ref().expect("validated at load");
        match p
            .resolve(effective, ctx)
            .and_then(Value::as_str)
            .and_then(crate::definition::parse_timestamp)
        {
            Some(t) => Ok(until(t)),
            None => Err(format!(
                "TimestampPath '{p}' is not a timestamp in the input"
            )),
        }
    }

    fn choice(
        &self,
        exec: &mut Execution,
        name: &str,
        c: &ChoiceState,
        input: &Value,
        ctx: &Value,
    ) -> Step {
        let effective = match select(&c.input_path, input, ctx) {
            Ok(v) => v,
            Err(e) => return runtime(e),
        };
        let mut next = None;
        for (rule, target) in &c.choices {
            match rule.eval_in(&effective, ctx) {
                Ok(true) => {
                    next = Some(target.clone());
                    break;
                }
                Ok(false) => {}
                Err(e) => return Step::Fail(errors::RUNTIME.into(), e.0),
            }
        }
        let Some(next) = next.or_else(|| c.default.clone()) else {
            return Step::Fail(
                errors::NO_CHOICE.into(),
                format!("No Choice rule matched and there was no Default in state '{name}'"),
            );
        };
        self.emit(
            exec,
            Event::ChoiceMatched {
                state: name.to_string(),
                next: next.clone(),
            },
        );
        match select(&c.output_path, &effective, ctx) {
            Ok(out) => Step::Next(next, out),
            Err(e) => runtime(e),
        }
    }

    /// ErrorPath and CausePath must select a string: anything else (a missing path, null, a
    /// number) fails the execution with States.Runtime, as on AWS.
    fn fail(name: &str, f: &FailState, input: &Value, ctx: &Value) -> Step {
        let text = |field: &str,
                    fixed: &Option<String>,
                    path: &Option<RefPath>|
         -> Result<Option<String>, String> {
            match (fixed, path) {
                (Some(t), _) => Ok(Some(t.clone())),
                (None, Some(p)) => match p.resolve(input, ctx) {
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(other) => Err(format!(
                        "{field} {p} of state `{name}` selected {other}, not a string"
                    )),
                    None => Err(format!("{field} {p} of state `{name}` selected nothing")),
                },
                (None, None) => Ok(None),
            }
        };
        match (
            text("ErrorPath", &f.error, &f.error_path),
            text("CausePath", &f.cause, &f.cause_path),
        ) {
            (Ok(error), Ok(cause)) => Step::Fail(
                error.unwrap_or_else(|| "States.Fail".into()),
                cause.unwrap_or_default(),
            ),
            (Err(e), _) | (_, Err(e)) => Step::Fail(errors::RUNTIME.into(), e),
        }
    }

    /// A Task state: InputPath and Parameters, the handler (with its retriers), then the result
    /// processed into the output, or the error to a catcher.
    async fn task(&self, exec: &mut Execution, name: &str, input: &Value) -> Step {
        let State::Task(t) = &self.def.states[name] else {
            unreachable!()
        };
        match self.invoke_with_retries(exec, name, t, input).await {
            Ok((result, ctx)) => Self::task_output(t, input, result, &ctx),
            Err(TaskEnd::Error(e)) => self.catch(exec, name, t, input, e),
            Err(TaskEnd::Failed(step)) => step,
        }
    }

    /// The input of one attempt: InputPath, then Parameters, with that attempt's context.
    fn task_input(name: &str, t: &TaskState, input: &Value, ctx: &Value) -> Result<Value, Step> {
        let effective = select(&t.input_path, input, ctx).map_err(runtime)?;
        let params = match &t.parameters {
            Some(tpl) => template(tpl, &effective, ctx).map_err(runtime)?,
            None => effective,
        };
        // The input after Parameters over the cap: terminal, as a state's output is.
        match data_limit(name, &params, "has an input") {
            Some((error, cause)) => Err(Step::Fail(error, cause)),
            None => Ok(params),
        }
    }

    /// Call the handler until it succeeds or no retrier applies any more. Each attempt
    /// evaluates InputPath and Parameters again, as AWS does, so `$$.State.RetryCount` is 0 on
    /// the first attempt, 1 on the first retry, and so on. On success, the result and the
    /// context of the attempt that returned it (for ResultSelector).
    async fn invoke_with_retries(
        &self,
        exec: &mut Execution,
        name: &str,
        t: &TaskState,
        input: &Value,
    ) -> Result<(Value, Value), TaskEnd> {
        let mut attempts = vec![0u32; t.retry.len()];
        let mut retry_count = 0;
        loop {
            let ctx = self.context(exec, name, retry_count);
            let params = Self::task_input(name, t, input, &ctx).map_err(TaskEnd::Failed)?;
            self.emit(
                exec,
                Event::TaskScheduled {
                    state: name.to_string(),
                    resource: t.resource.clone(),
                    input: params.clone(),
                },
            );
            match self.invoke(t, params).await {
                Ok(v) => {
                    self.emit(
                        exec,
                        Event::TaskSucceeded {
                            state: name.to_string(),
                            output: v.clone(),
                        },
                    );
                    return Ok((v, ctx));
                }
                Err(e) => {
                    self.emit(
                        exec,
                        Event::TaskFailed {
                            state: name.to_string(),
                            error: e.error.clone(),
                            cause: e.cause.clone(),
                        },
                    );
                    let Some((attempt, delay)) = self.next_retry(t, &mut attempts, &e) else {
                        return Err(TaskEnd::Error(e));
                    };
                    self.emit(
                        exec,
                        Event::RetryScheduled {
                            state: name.to_string(),
                            attempt,
                            delay_ms: delay.as_millis(),
                        },
                    );
                    tokio::time::sleep(delay).await;
                    retry_count += 1;
                }
            }
        }
    }

    /// One call of the Task's handler, in its own tokio task: a stopped execution leaves the
    /// invocation in flight to finish, as a Lambda invocation does on AWS; a timed-out one is cut
    /// off, as Lambda's own timeout cuts off the function.
    async fn invoke(&self, t: &TaskState, params: Value) -> Result<Value, TaskError> {
        let handler = self.handlers[&t.resource].clone();
        let mut call = tokio::spawn(handler(params));
        let joined = match t.timeout_seconds {
            Some(s) => match tokio::time::timeout(Duration::from_secs(s), &mut call).await {
                Ok(joined) => joined,
                Err(_) => {
                    call.abort();
                    return Err(TaskError::new(errors::TIMEOUT, "Task timed out"));
                }
            },
            None => (&mut call).await,
        };
        let result = joined.unwrap_or_else(|panic| {
            Err(TaskError::new(
                "Lambda.Unknown",
                format!("the handler panicked: {panic}"),
            ))
        })?;
        // A result over the cap fails this attempt like any task error (see errors::DATA_LIMIT).
        match data_limit(&t.resource, &result, "returned a result") {
            Some((error, cause)) => Err(TaskError::new(error, cause)),
            None => Ok(result),
        }
    }

    /// The retry that follows error `e`, if any: only the first retrier that matches applies;
    /// once its attempts are spent, the error goes to Catch. Returns the attempt number (1 for
    /// the first retry) and the delay before it.
    fn next_retry(
        &self,
        t: &TaskState,
        attempts: &mut [u32],
        e: &TaskError,
    ) -> Option<(u32, Duration)> {
        let i = t
            .retry
            .iter()
            .position(|r| matches_any(&r.error_equals, &e.error))?;
        let r = &t.retry[i];
        if attempts[i] >= r.max_attempts {
            return None;
        }
        let delay = retry::delay(r, attempts[i], &mut self.rng.lock().unwrap());
        attempts[i] += 1;
        Some((attempts[i], delay))
    }

    /// ResultSelector, ResultPath (into the raw input), OutputPath.
    fn task_output(t: &TaskState, input: &Value, result: Value, ctx: &Value) -> Step {
        let selected = match &t.result_selector {
            Some(tpl) => match template(tpl, &result, ctx) {
                Ok(s) => s,
                Err(e) => return runtime(e),
            },
            None => result,
        };
        match merge(&t.result_path, input, selected).and_then(|m| select(&t.output_path, &m, ctx)) {
            Ok(out) => Self::follow(t.next.as_deref(), out),
            Err(e) => runtime(e),
        }
    }

    /// The first catcher that matches sends `{Error, Cause}` (at its ResultPath) to its Next;
    /// with none, the state fails with the error.
    fn catch(
        &self,
        exec: &mut Execution,
        name: &str,
        t: &TaskState,
        input: &Value,
        e: TaskError,
    ) -> Step {
        let Some(c) = t
            .catch
            .iter()
            .find(|c| matches_any(&c.error_equals, &e.error))
        else {
            return Step::Fail(e.error, e.cause);
        };
        let error_output = json!({"Error": e.error, "Cause": e.cause});
        match merge(&c.result_path, input, error_output) {
            Ok(out) => {
                self.emit(
                    exec,
                    Event::ErrorCaught {
                        state: name.to_string(),
                        error: e.error.clone(),
                        next: c.next.clone(),
                    },
                );
                Step::Next(c.next.clone(), out)
            }
            Err(err) => runtime(err),
        }
    }
}

/// A failure of input/output processing fails the execution with `States.Runtime`.
fn runtime(e: IoError) -> Step {
    Step::Fail(errors::RUNTIME.into(), e.0)
}
