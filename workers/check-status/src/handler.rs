//! CheckStatus: where a training job or an endpoint is, and whether the wait is over.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, Instrument};

use retrain_core::endpoint::describe_endpoint;
use retrain_core::error::{aws_error, is_not_found};
use retrain_core::input::deserialize_named;
use retrain_core::payload::{Outcome, Status, StatusKind, StatusRequest};
use retrain_core::time::from_smithy;
use retrain_core::{Result, WorkerError};

pub async fn handle(
    sm: &aws_sdk_sagemaker::Client,
    event: Value,
    now: DateTime<Utc>,
) -> Result<Status> {
    let req: StatusRequest = deserialize_named(event)?;
    if req.name.trim().is_empty() {
        return Err(WorkerError::invalid("name", "is empty"));
    }
    let execution = req.execution.clone().unwrap_or_default();
    let span = match req.kind {
        StatusKind::Training => {
            tracing::info_span!("check_status", execution = %execution, job = %req.name)
        }
        StatusKind::Endpoint => {
            tracing::info_span!("check_status", execution = %execution, endpoint = %req.name)
        }
    };
    async move {
        let status = match req.kind {
            StatusKind::Training => training(sm, &req, now).await?,
            StatusKind::Endpoint => endpoint(sm, &req, now).await?,
        };
        info!(status = %status.status, outcome = ?status.outcome, elapsed = status.elapsed_seconds,
              deadline_passed = status.deadline_passed, "status checked");
        Ok(status)
    }
    .instrument(span)
    .await
}

fn elapsed(since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> u64 {
    since
        .map(|s| (now - s).num_seconds().max(0) as u64)
        .unwrap_or(0)
}

/// SageMaker's TrainingJobStatus → the wait loop's outcome.
pub fn training_outcome(status: &str) -> Outcome {
    match status {
        "Completed" => Outcome::Succeeded,
        "Failed" | "Stopped" => Outcome::Failed,
        _ => Outcome::Running,
    }
}

async fn training(
    sm: &aws_sdk_sagemaker::Client,
    req: &StatusRequest,
    now: DateTime<Utc>,
) -> Result<Status> {
    let d = match sm
        .describe_training_job()
        .training_job_name(&req.name)
        .send()
        .await
    {
        Ok(d) => d,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found() || is_not_found(s)) =>
        {
            return Err(WorkerError::NotFound {
                what: format!("training job {}", req.name),
            })
        }
        Err(e) => return Err(aws_error("DescribeTrainingJob", e)),
    };
    let status = d
        .training_job_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let outcome = training_outcome(&status);
    let created = d.creation_time().map(from_smithy);
    let elapsed_seconds = elapsed(created, now);
    Ok(Status {
        kind: StatusKind::Training,
        name: req.name.clone(),
        outcome,
        arn: d.training_job_arn().map(str::to_string),
        secondary_status: d.secondary_status().map(|s| s.as_str().to_string()),
        failure_reason: d.failure_reason().map(str::to_string),
        model_artifact: d
            .model_artifacts()
            .and_then(|a| a.s3_model_artifacts())
            .map(str::to_string),
        started_at: d.training_start_time().map(from_smithy).or(created),
        config_name: None,
        elapsed_seconds,
        deadline_passed: outcome == Outcome::Running && elapsed_seconds > req.deadline_seconds,
        status,
    })
}

/// EndpointStatus (and, after a deploy, the config it serves) → the wait loop's outcome.
pub fn endpoint_outcome(
    status: &str,
    config: &str,
    expected: Option<&str>,
) -> (Outcome, Option<String>) {
    match status {
        "InService" => match expected {
            Some(want) if want != config => (
                Outcome::Failed,
                Some(format!(
                    "the update was rolled back: serving {config}, not {want}"
                )),
            ),
            _ => (Outcome::Succeeded, None),
        },
        "Creating" | "Updating" | "SystemUpdating" | "RollingBack" => (Outcome::Running, None),
        _ => (Outcome::Failed, None),
    }
}

async fn endpoint(
    sm: &aws_sdk_sagemaker::Client,
    req: &StatusRequest,
    now: DateTime<Utc>,
) -> Result<Status> {
    let info = describe_endpoint(sm, &req.name)
        .await?
        .ok_or_else(|| WorkerError::NotFound {
            what: format!("endpoint {}", req.name),
        })?;
    let (outcome, rollback) = endpoint_outcome(
        &info.status,
        &info.config_name,
        req.expected_config.as_deref(),
    );
    let elapsed_seconds = elapsed(info.last_modified, now);
    Ok(Status {
        kind: StatusKind::Endpoint,
        name: req.name.clone(),
        outcome,
        arn: None,
        secondary_status: None,
        failure_reason: rollback.or(info.failure_reason),
        model_artifact: None,
        started_at: None,
        config_name: Some(info.config_name),
        elapsed_seconds,
        deadline_passed: outcome == Outcome::Running && elapsed_seconds > req.deadline_seconds,
        status: info.status,
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
