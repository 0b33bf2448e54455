//! The AWS calls behind each subcommand (Step Functions and SageMaker), with the clients passed
//! in, so tests give them mocks.

use aws_sdk_sagemaker::types::ModelApprovalStatus;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::operation::redrive_execution::RedriveExecutionError;
use aws_sdk_sfn::types::HistoryEvent;
use aws_smithy_types::date_time::Format;
use serde_json::{json, Map, Value};

use crate::args::Start;
use crate::summary::{summarize, Described, RunSummary, Step};
use retrain_contract::config::{Config, InstanceTypes};
use retrain_contract::names::REDRIVE_DAYS;

/// The clients and names every subcommand works with.
#[derive(Debug, Clone)]
pub struct Ops {
    pub sfn: aws_sdk_sfn::Client,
    pub sm: aws_sdk_sagemaker::Client,
    pub state_machine: Option<String>,
    pub group: String,
    /// The AWS configuration (`retrain doctor` makes its own clients from it).
    pub sdk: Option<aws_config::SdkConfig>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CliError {
    /// A flag or argument that the pipeline (or AWS) would refuse: nothing was started.
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    Refused(String),
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: String,
        code: String,
        message: String,
    },
}

fn aws<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    operation: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> CliError {
    let (code, message) = match e.as_service_error() {
        Some(s) => (
            s.code().unwrap_or("Unknown").to_string(),
            s.message().unwrap_or_default().to_string(),
        ),
        None => ("RequestFailed".to_string(), format!("{e:?}")),
    };
    CliError::Aws {
        operation: operation.into(),
        code,
        message: retrain_contract::excerpt::clip(&message, 1000),
    }
}

fn date(t: &aws_smithy_types::DateTime) -> String {
    t.fmt(Format::DateTime).unwrap_or_default()
}

impl Ops {
    fn machine(&self) -> Result<&str, CliError> {
        self.state_machine.as_deref().ok_or_else(|| CliError::Invalid {
            field: "--state-machine".into(),
            reason: "missing: pass it or set RETRAIN_STATE_MACHINE_ARN (the stack's StateMachineArn output)".into(),
        })
    }

    /// An execution's ARN from its name (in this state machine) or its ARN.
    pub fn execution_arn(&self, name_or_arn: &str) -> Result<String, CliError> {
        if name_or_arn.starts_with("arn:") {
            return Ok(name_or_arn.to_string());
        }
        let machine = self.machine()?;
        Ok(format!(
            "{}:{name_or_arn}",
            machine.replacen(":stateMachine:", ":execution:", 1)
        ))
    }

    /// A model version's ARN from its number in the group (same region and account as the
    /// state machine) or its ARN.
    pub fn version_arn(&self, version: &str) -> Result<String, CliError> {
        if version.starts_with("arn:") {
            return Ok(version.to_string());
        }
        let n: u32 = version
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| CliError::Invalid {
                field: "VERSION".into(),
                reason: format!(
                    "{version:?} is neither a version number (1, 2, ...) nor a model package ARN"
                ),
            })?;
        let machine = self.machine()?;
        let parts: Vec<&str> = machine.split(':').collect();
        if parts.len() < 5 {
            return Err(CliError::Invalid {
                field: "--state-machine".into(),
                reason: format!("{machine:?} is not a state machine ARN"),
            });
        }
        Ok(format!(
            "arn:{}:sagemaker:{}:{}:model-package/{}/{n}",
            parts[1], parts[3], parts[4], self.group
        ))
    }
}

/// The execution input of `retrain start`, checked by the code StartTraining checks it with
/// (the guide's defaults: the deployed functions check again with the stack's configuration).
pub fn start_input(s: &Start) -> Result<Value, CliError> {
    let mut input = Map::new();
    if let Some(t) = s.threshold {
        input.insert("mape_threshold".into(), json!(t));
    }
    if s.force {
        input.insert("force".into(), json!(true));
    }
    if let Some(p) = s.poll_seconds {
        input.insert("poll_seconds".into(), json!(p));
    }
    let mut training = Map::new();
    if let Some(v) = &s.instance_type {
        training.insert("instance_type".into(), json!(v));
    }
    if let Some(v) = s.instance_count {
        training.insert("instance_count".into(), json!(v));
    }
    if let Some(v) = s.volume_gb {
        training.insert("volume_gb".into(), json!(v));
    }
    if let Some(v) = s.max_runtime_seconds {
        training.insert("max_runtime_seconds".into(), json!(v));
    }
    if let Some(v) = s.spot {
        training.insert("spot".into(), json!(v));
    }
    if let Some(v) = s.max_wait_seconds {
        training.insert("max_wait_seconds".into(), json!(v));
    }
    if !training.is_empty() {
        input.insert("training".into(), Value::Object(training));
    }
    let input = Value::Object(input);
    retrain_contract::input::normalise(&input, &Config::example(instance_types())).map_err(
        |e| match e {
            retrain_contract::WorkerError::InvalidInput { field, reason } => CliError::Invalid {
                field: flag_of(&field),
                reason,
            },
            other => CliError::Refused(other.to_string()),
        },
    )?;
    if let Some(name) = &s.name {
        retrain_contract::names::check_execution_name(name).map_err(|reason| {
            CliError::Invalid {
                field: "--name".into(),
                reason,
            }
        })?;
    }
    Ok(input)
}

/// SageMaker's instance types as the SDK's model lists them: what a run's overrides are checked
/// against, as the workers check them.
fn instance_types() -> InstanceTypes {
    InstanceTypes {
        training: aws_sdk_sagemaker::types::TrainingInstanceType::values(),
        endpoint: aws_sdk_sagemaker::types::ProductionVariantInstanceType::values(),
    }
}

/// The flag a field of the execution input comes from.
fn flag_of(field: &str) -> String {
    let flag = match field {
        "mape_threshold" => "threshold",
        other => other.strip_prefix("training.").unwrap_or(other),
    };
    format!("--{}", flag.replace('_', "-"))
}

pub async fn start(ops: &Ops, s: &Start) -> Result<String, CliError> {
    let input = start_input(s)?;
    let name = s
        .name
        .clone()
        .unwrap_or_else(|| format!("manual-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
    let out = ops
        .sfn
        .start_execution()
        .state_machine_arn(ops.machine()?)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| aws("StartExecution", e))?;
    Ok(out.execution_arn().to_string())
}

pub async fn describe(ops: &Ops, arn: &str) -> Result<Described, CliError> {
    let d = ops
        .sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| aws("DescribeExecution", e))?;
    Ok(Described {
        name: d.name().unwrap_or_default().to_string(),
        arn: d.execution_arn().to_string(),
        status: d.status().as_str().to_string(),
        started: Some(date(d.start_date())),
        stopped: d.stop_date().map(date),
        input: d.input().map(str::to_string),
        output: d.output().map(str::to_string),
        error: d.error().map(str::to_string),
        cause: d.cause().map(str::to_string),
        redrive_count: d.redrive_count().unwrap_or(0),
    })
}

fn step(e: &HistoryEvent) -> Step {
    let mut s = Step {
        kind: e.r#type().as_str().to_string(),
        ..Default::default()
    };
    if let Some(d) = e.state_entered_event_details() {
        s.state = Some(d.name().to_string());
    }
    if let Some(d) = e.state_exited_event_details() {
        s.state = Some(d.name().to_string());
        s.output = d.output().map(str::to_string);
    }
    if let Some(d) = e.lambda_function_failed_event_details() {
        s.error = d.error().map(str::to_string);
        s.cause = d.cause().map(str::to_string);
    }
    if let Some(d) = e.lambda_function_timed_out_event_details() {
        s.error = d.error().map(str::to_string);
        s.cause = d.cause().map(str::to_string);
    }
    s
}

/// Every step of the execution's history, oldest first (all pages).
pub async fn steps(ops: &Ops, arn: &str) -> Result<Vec<Step>, CliError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = ops
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws("GetExecutionHistory", e))?;
        out.extend(page.events().iter().map(step));
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

pub async fn summary(ops: &Ops, arn: &str) -> Result<RunSummary, CliError> {
    let d = describe(ops, arn).await?;
    let steps = steps(ops, arn).await?;
    Ok(summarize(&d, &steps))
}

/// The newest execution's ARN.
pub async fn latest(ops: &Ops) -> Result<String, CliError> {
    let page = ops
        .sfn
        .list_executions()
        .state_machine_arn(ops.machine()?)
        .max_results(1)
        .send()
        .await
        .map_err(|e| aws("ListExecutions", e))?;
    page.executions()
        .first()
        .map(|e| e.execution_arn().to_string())
        .ok_or_else(|| CliError::Refused("the state machine has no executions yet".into()))
}

/// The last `n` executions, newest first, each from its description (no history).
pub async fn runs(ops: &Ops, n: i32) -> Result<Vec<RunSummary>, CliError> {
    if !(1..=1000).contains(&n) {
        return Err(CliError::Invalid {
            field: "--last".into(),
            reason: format!("{n} is outside [1, 1000]"),
        });
    }
    let page = ops
        .sfn
        .list_executions()
        .state_machine_arn(ops.machine()?)
        .max_results(n)
        .send()
        .await
        .map_err(|e| aws("ListExecutions", e))?;
    let mut out = Vec::new();
    for e in page.executions() {
        let d = describe(ops, e.execution_arn()).await?;
        out.push(summarize(&d, &[]));
    }
    Ok(out)
}

pub async fn redrive(ops: &Ops, arn: &str) -> Result<String, CliError> {
    let d = describe(ops, arn).await?;
    if !matches!(d.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED") {
        return Err(CliError::Refused(format!(
            "{} cannot be redriven: it is {}; only FAILED, TIMED_OUT or ABORTED executions redrive",
            d.name, d.status
        )));
    }
    let ended = d
        .stopped
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    if let Some(t) = ended {
        let age = chrono::Utc::now() - t.with_timezone(&chrono::Utc);
        if age > chrono::Duration::days(REDRIVE_DAYS) {
            return Err(CliError::Refused(format!(
                "{} cannot be redriven: it ended {} days ago, and Step Functions redrives only within {REDRIVE_DAYS} days; start a new run instead",
                d.name,
                age.num_days()
            )));
        }
    }
    let out = ops
        .sfn
        .redrive_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| {
            if let Some(RedriveExecutionError::ExecutionNotRedrivable(n)) = e.as_service_error() {
                return CliError::Refused(format!(
                    "{} cannot be redriven: {}",
                    d.name,
                    n.message().unwrap_or("Step Functions refused")
                ));
            }
            aws("RedriveExecution", e)
        })?;
    Ok(date(out.redrive_date()))
}

/// Approve or reject a model version, with a note (its approval description).
pub async fn decide(
    ops: &Ops,
    version: &str,
    approve: bool,
    note: Option<&str>,
) -> Result<String, CliError> {
    let arn = ops.version_arn(version)?;
    if let Some(n) = note {
        if n.chars().count() > 1024 {
            return Err(CliError::Invalid {
                field: "--note".into(),
                reason: format!(
                    "{} characters; SageMaker keeps at most 1024",
                    n.chars().count()
                ),
            });
        }
    }
    let status = if approve {
        ModelApprovalStatus::Approved
    } else {
        ModelApprovalStatus::Rejected
    };
    ops.sm
        .update_model_package()
        .model_package_arn(&arn)
        .model_approval_status(status)
        .set_approval_description(note.map(str::to_string))
        .send()
        .await
        .map_err(|e| aws("UpdateModelPackage", e))?;
    Ok(arn)
}
