//! The JSON documents that pass between the states: the contract with `statemachine/`.
//!
//! The state document grows as the run goes: StartTraining writes `run` (ResultPath `$`), then
//! CheckStatus writes `job`, EvaluateMape `evaluation`, Deploy `deployment`, the endpoint wait
//! `endpoint`, and a Catch writes `error`. Every worker reads the whole document and takes what
//! it needs; fields a worker does not know are ignored, so the document can grow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Result, WorkerError};
use crate::tickets::DateWindow;

/// How the run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    Manual,
    Approval,
}

/// What the run does after StartTraining.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A training job was started (or adopted): wait for it.
    Train,
    /// Nothing to do (no new data, an approval that needs no deploy): succeed.
    Skip,
    /// A person approved a version in the registry: deploy it.
    DeployApproved,
    /// An approval whose turn has not come (another run is in progress): wait, then ask again.
    Wait,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct State {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
}

impl State {
    /// The state StartTraining returns: the run, nothing else yet.
    pub fn started(run: Run) -> Self {
        State {
            run: Some(run),
            ..Default::default()
        }
    }

    pub fn run(&self) -> Result<&Run> {
        self.run
            .as_ref()
            .ok_or_else(|| WorkerError::invalid("run", "missing: StartTraining has not run"))
    }

    pub fn training(&self) -> Result<&TrainingJob> {
        self.run()?.training.as_ref().ok_or_else(|| {
            WorkerError::invalid("run.training", "missing: no training job in this run")
        })
    }

    pub fn evaluation(&self) -> Result<&Evaluation> {
        self.evaluation
            .as_ref()
            .ok_or_else(|| WorkerError::invalid("evaluation", "missing: EvaluateMape has not run"))
    }

    /// The training job's status once it completed, and its model artifact (CheckStatus reports
    /// it; SageMaker's `<output_path><job>/output/model.tar.gz` otherwise). A run whose job did not
    /// complete is refused.
    pub fn completed_job(&self) -> Result<CompletedJob<'_>> {
        let status = self
            .job
            .as_ref()
            .ok_or_else(|| WorkerError::invalid("job", "missing: CheckStatus has not run"))?;
        if status.outcome != Outcome::Succeeded {
            return Err(WorkerError::invalid(
                "job.outcome",
                format!("the job is {}, not Completed", status.status),
            ));
        }
        let training = self.training()?;
        let artifact = status.model_artifact.clone().unwrap_or_else(|| {
            format!(
                "{}{}/output/model.tar.gz",
                training.output_path, training.job_name
            )
        });
        Ok(CompletedJob {
            training,
            status,
            artifact,
        })
    }

    /// Parse a state document, naming the field that does not fit.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        crate::json::deserialize_named(value)
    }
}

/// A run's training job that completed: what StartTraining started and what CheckStatus saw.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedJob<'a> {
    pub training: &'a TrainingJob,
    pub status: &'a Status,
    /// S3 URI of the job's model.tar.gz.
    pub artifact: String,
}

impl CompletedJob<'_> {
    /// When the job started reading its data (its creation when SageMaker did not say).
    pub fn started_at(&self) -> DateTime<Utc> {
        self.status.started_at.unwrap_or(self.training.created_at)
    }
}

fn default_mape_floor() -> f64 {
    1.0
}

fn default_champion_margin() -> f64 {
    crate::champion::DEFAULT_MARGIN
}

/// Written by StartTraining: the normalised request and what it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub execution: String,
    /// The execution's ARN (`$$.Execution.Id`): the run report reads its history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    pub trigger: Trigger,
    pub action: Action,
    /// Why this action (e.g. "no new ticket files since 2026-11-22T09:00:00Z").
    pub reason: String,
    /// The MAPE gate in force for this run, percent.
    pub mape_threshold: f64,
    /// Below this MAPE (percent) a model is implausible and waits for a person.
    #[serde(default = "default_mape_floor")]
    pub mape_floor: f64,
    /// The champion/challenger margin in force, percentage points.
    #[serde(default = "default_champion_margin")]
    pub champion_margin: f64,
    /// Seconds between status checks (the Wait state's SecondsPath).
    pub poll_seconds: u32,
    /// Past this many seconds since the job was created, the wait loop gives up.
    pub deadline_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingJob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovedVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingJob {
    pub job_name: String,
    /// S3 prefix the job writes under (`s3://bucket/training-output/`); SageMaker adds `<job>/output/`.
    pub output_path: String,
    pub created_at: DateTime<Utc>,
    /// True when an earlier attempt of this execution had already started the job.
    pub adopted: bool,
}

/// What StartTraining saw in the new ticket files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DataReport {
    /// Ticket files newer than the last training.
    pub new_files: u64,
    /// Of those, files with at least one usable row: only these count as new data.
    #[serde(default)]
    pub usable_files: u64,
    /// Usable rows (a readable `created_date` inside the plausible window).
    pub rows: u64,
    /// Rows that cannot be read or dated, or are dated outside the window.
    pub bad_rows: u64,
    /// Of `bad_rows`: rows dated outside the window.
    #[serde(default)]
    pub out_of_window_rows: u64,
    /// bad_rows / (rows + bad_rows) of the new files.
    #[serde(default)]
    pub bad_row_rate: Option<f64>,
    /// True when the bad-row rate passed `BAD_ROW_ALERT_RATE` or a file was unusable.
    #[serde(default)]
    pub quality_alert: bool,
    /// How many new files hold no usable row.
    #[serde(default)]
    pub unusable_count: u64,
    /// The first of them (at most [`MAX_LISTED_FILES`]) with the reason.
    #[serde(default)]
    pub unusable_files: Vec<FileProblem>,
    /// Usable files with bad rows: the first of them, with their first bad line.
    #[serde(default)]
    pub files_with_bad_rows: Vec<FileProblem>,
    pub days: u64,
    pub mean_daily_tickets: Option<f64>,
    pub baseline_mean: Option<f64>,
    pub relative_change: Option<f64>,
    pub drift: bool,
    pub forced: bool,
    /// Newest LastModified of the files read.
    pub newest_file: Option<DateTime<Utc>>,
    /// Files modified after this were new (the last training's `trained_at`); none: every file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// The days a ticket may be dated in this run, fixed once by StartTraining: its scan, the
    /// training job's `EARLIEST_TICKET_DATE`/`LATEST_TICKET_DATE` and the run report all use it.
    /// None only in a payload written before the window was carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<DateWindow>,
    /// Files under bronze/ that are copies of another (same content): the run does not train.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<crate::duplicates::Duplicate>,
    /// The pipeline's own documents that did not hold up (`Model/last_trained.json`,
    /// `statistics/latest.json`), each with the safe default the run took instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub document_problems: Vec<String>,
    /// Usable files whose slash dates read either way (read month first): named in the
    /// data-quality alert.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ambiguous_dates: Vec<FileProblem>,
    /// The serving model's forecast of the new days against their tickets (StartTraining asks
    /// the endpoint before training); unknown, with the reason, when it could not be asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<crate::live::LiveAccuracy>,
}

/// Files listed in a report (the state payload stays far below Step Functions' 256 KiB).
pub const MAX_LISTED_FILES: usize = 20;

/// A ticket file and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileProblem {
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovedVersion {
    pub model_package_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    Training,
    Endpoint,
}

/// What CheckStatus is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub kind: StatusKind,
    pub name: String,
    pub deadline_seconds: u64,
    /// For an endpoint: the config the deploy switched to; InService on another config means
    /// the update was rolled back.
    #[serde(default)]
    pub expected_config: Option<String>,
    /// The execution, for the logs.
    #[serde(default)]
    pub execution: Option<String>,
    /// The run's poll interval: the shortest wait before the next check.
    #[serde(default)]
    pub poll_seconds: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Running,
    Succeeded,
    Failed,
}

/// What CheckStatus answers, for a training job or an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub kind: StatusKind,
    pub name: String,
    /// SageMaker's status (TrainingJobStatus or EndpointStatus), verbatim.
    pub status: String,
    pub outcome: Outcome,
    /// Training: the job's ARN (lineage of the registered version).
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub secondary_status: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// Training: S3 URI of the job's model.tar.gz, once Completed.
    #[serde(default)]
    pub model_artifact: Option<String>,
    /// Training: when the job started (its data snapshot); creation time until then.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// Endpoint: the config it serves now.
    #[serde(default)]
    pub config_name: Option<String>,
    pub elapsed_seconds: u64,
    pub deadline_passed: bool,
    /// How long the wait loop waits before the next check: grows with the time already spent
    /// (see `polling`), so the longest allowed wait stays inside the execution history limit.
    #[serde(default)]
    pub next_poll_seconds: u64,
    /// Endpoint: the forecast asked of the new model while it bakes, or once it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    /// Training, once it ended: the seconds trained against the seconds billed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<TrainingBilling>,
}

/// A training job's seconds, as DescribeTrainingJob gives them once it ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainingBilling {
    pub spot: bool,
    pub training_seconds: i64,
    pub billable_seconds: i64,
}

impl TrainingBilling {
    /// SageMaker's formula: `(1 - BillableTimeInSeconds / TrainingTimeInSeconds) * 100`.
    pub fn savings_percent(&self) -> f64 {
        if self.training_seconds <= 0 {
            return 0.0;
        }
        (1.0 - self.billable_seconds as f64 / self.training_seconds as f64) * 100.0
    }
}

/// The canary: a forecast of the serving contract asked of the newly deployed model, and
/// whether its answer holds to the contract (`serving::check_answer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Canary {
    /// The config whose model answered.
    pub config_name: String,
    /// The endpoint's state when asked: `baking` (the new fleet has all traffic, the rollback
    /// alarms are watched) or `in_service`.
    pub during: String,
    pub request: crate::serving::ForecastRequest,
    pub passed: bool,
    /// What was wrong (the first problem), when it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Where the metrics came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsSource {
    /// `metrics.json` inside this job's own model.tar.gz.
    JobArtifact,
    /// `Model/metrics.json`, written after this job started.
    FixedKey,
    /// Neither: MAPE is unknown.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub job_name: String,
    /// Percent; `null` when unknown (missing, null, NaN, negative, not a number, no metrics).
    pub mape: Option<f64>,
    pub rmse: Option<f64>,
    pub mae: Option<f64>,
    pub threshold: f64,
    pub source: MetricsSource,
    /// The gate's verdict: true only when MAPE is known and below the threshold.
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// The new model against the serving one on the same days; MapeGate reads its `verdict`.
    /// EvaluateMape always writes it (None only in a state written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub champion: Option<crate::champion::ChampionCheck>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointAction {
    Created,
    Updated,
    /// The endpoint already runs this config (a re-run after the update was made).
    AlreadyServing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub model_package_arn: String,
    pub model_name: String,
    pub endpoint_config_name: String,
    pub endpoint_name: String,
    pub action: EndpointAction,
    /// False when the version was approved by a person (nothing registered by this run).
    pub registered: bool,
}

/// What a `Catch` with `ResultPath: $.error` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

/// Which alert RejectAndAlert sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertMode {
    /// MAPE at or over the threshold: register PendingManualApproval, drift metric, alarm, alert.
    Rejected,
    /// MAPE unknown: register PendingManualApproval, alert.
    UnknownMape,
    /// MAPE below the plausibility floor: register PendingManualApproval, alert.
    ImplausibleMape,
    /// The training job Failed or was Stopped.
    TrainingFailed,
    /// The training job outlived the wait loop's deadline.
    DeadlinePassed,
    /// The endpoint update failed or rolled back.
    DeployFailed,
    /// The MAPE passed the gate but the new model is worse than the serving one on the same
    /// days: register PendingManualApproval, alert with both MAPEs.
    WorseThanServing,
    /// A task failed with an error the state machine caught.
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRequest {
    pub mode: AlertMode,
    #[serde(default)]
    pub execution: Option<String>,
    #[serde(default)]
    pub error: Option<TaskError>,
    #[serde(default)]
    pub state: Option<State>,
    /// The execution-status rule's event detail, passed whole as JSON (`<detail>`, never a value
    /// interpolated into a string: EventBridge does not escape what it substitutes). Read by
    /// [`AlertRequest::normalised`] into `execution` and `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_status: Option<ExecutionStatusChange>,
}

/// The detail of a `Step Functions Execution Status Change` event: the fields the alert uses
/// (the event carries more: ARNs, dates, input, redrive fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionStatusChange {
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

impl AlertRequest {
    /// The request with a status-change detail read into `execution` and `error`: the
    /// execution's name, its error (or its status when it has none: an abort), and the status
    /// before the cause, as an operator reads it.
    pub fn normalised(mut self) -> AlertRequest {
        if let Some(d) = self.execution_status.take() {
            self.execution = Some(d.name);
            let cause = match d.cause.as_deref() {
                Some(c) if !c.is_empty() => format!("{}: {c}", d.status),
                _ => d.status.clone(),
            };
            self.error = Some(TaskError {
                error: d.error.filter(|e| !e.is_empty()).unwrap_or(d.status),
                cause: Some(cause),
            });
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertOutcome {
    pub mode: AlertMode,
    pub subject: String,
    pub message_id: Option<String>,
    /// The model serving the endpoint, "none" without an endpoint.
    pub serving_model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_package_arn: Option<String>,
    pub alarm_created: bool,
    /// The run report the alert names (`s3://bucket/reports/<execution>.html`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_change_detail_becomes_the_execution_and_its_error() {
        // A failed Lambda task's cause is itself JSON, with quotes and escaped newlines.
        let cause = r#"{"errorMessage":"a \"quoted\" cause\nover lines","errorType":"AwsError"}"#;
        let detail = serde_json::json!({
            "executionArn": "arn:aws:states:us-east-1:1:execution:m:e-1",
            "name": "e-1", "status": "FAILED", "error": "AwsError", "cause": cause,
            "startDate": 1, "stopDate": 2, "input": "{}", "output": null
        });
        let req: AlertRequest = serde_json::from_value(
            serde_json::json!({"mode": "error", "execution_status": detail}),
        )
        .unwrap();
        let req = req.normalised();
        assert_eq!(req.execution.as_deref(), Some("e-1"));
        let err = req.error.unwrap();
        assert_eq!(err.error, "AwsError");
        assert_eq!(err.cause.unwrap(), format!("FAILED: {cause}"));
        let aborted: AlertRequest = serde_json::from_value(serde_json::json!(
            {"mode": "error", "execution_status": {"name": "e-2", "status": "ABORTED"}}
        ))
        .unwrap();
        let err = aborted.normalised().error.unwrap();
        assert_eq!(
            (err.error.as_str(), err.cause.as_deref()),
            ("ABORTED", Some("ABORTED"))
        );
    }
}
