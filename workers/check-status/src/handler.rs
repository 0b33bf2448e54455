//! CheckStatus: where a training job or an endpoint is, and whether the wait is over.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, Instrument};

use aws_sdk_cloudwatch::types::StandardUnit;
use retrain_core::aws::endpoint::{describe_endpoint, invoke, EndpointInfo};
use retrain_core::aws::notify::{put_metric, METRIC_CANARY};
use retrain_core::aws::training::describe_training_job;
use retrain_core::json::deserialize_named;
use retrain_core::messages::spot_wait_exceeded;
use retrain_core::payload::{Canary, Outcome, Status, StatusKind, StatusRequest, TrainingBilling};
use retrain_core::polling::next_poll_seconds;
use retrain_core::serving::{canary_request, check_answer};
use retrain_core::{Context, Result, WorkerError};

pub async fn handle(ctx: &Context, event: Value) -> Result<Status> {
    let (sm, now) = (&ctx.sm, ctx.now());
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
            StatusKind::Endpoint => endpoint(ctx, &req, now).await?,
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
    let d = describe_training_job(sm, &req.name)
        .await?
        .ok_or_else(|| WorkerError::NotFound {
            what: format!("training job {}", req.name),
        })?;
    let status = d.status;
    let outcome = training_outcome(&status);
    let elapsed_seconds = elapsed(d.created_at, now);
    let deadline_passed = outcome == Outcome::Running && elapsed_seconds > req.deadline_seconds;
    // A spot job SageMaker stopped at its max wait: say so, and what to do.
    let given = match d.secondary_status.as_deref() {
        Some("MaxWaitTimeExceeded") => Some(spot_wait_exceeded(d.failure_reason.as_deref())),
        _ => d.failure_reason,
    };
    if d.secondary_status.as_deref() == Some("Interrupted") {
        info!(
            job = %req.name,
            "spot capacity interrupted the job; SageMaker resumes it within its max wait"
        );
    }
    let failure_reason = failure_reason(
        &format!("training job {}", req.name),
        &status,
        outcome,
        deadline_passed.then_some((elapsed_seconds, req.deadline_seconds)),
        given,
    );
    let billing = match (outcome, d.training_seconds, d.billable_seconds) {
        (Outcome::Running, _, _) => None,
        (_, Some(t), Some(b)) => Some(TrainingBilling {
            spot: d.spot,
            training_seconds: t.into(),
            billable_seconds: b.into(),
        }),
        _ => None,
    };
    Ok(Status {
        kind: StatusKind::Training,
        name: req.name.clone(),
        outcome,
        arn: d.arn,
        secondary_status: d.secondary_status,
        failure_reason,
        model_artifact: d.model_artifact,
        started_at: d.started_at.or(d.created_at),
        config_name: None,
        elapsed_seconds,
        deadline_passed,
        next_poll_seconds: next_poll_seconds(req.poll_seconds.unwrap_or(60), elapsed_seconds),
        status,
        canary: None,
        billing,
    })
}

/// The reason of a failed, stopped or overdue outcome, always a string (the Fail states'
/// CausePath and the alerts need one): SageMaker's own when it gives one.
pub fn failure_reason(
    what: &str,
    status: &str,
    outcome: Outcome,
    overdue: Option<(u64, u64)>,
    given: Option<String>,
) -> Option<String> {
    let given = given.filter(|r| !r.trim().is_empty());
    match (outcome, overdue) {
        (Outcome::Failed, _) => Some(
            given
                .unwrap_or_else(|| format!("{what} is {status}; SageMaker gave no failure reason")),
        ),
        (_, Some((elapsed, deadline))) => Some(format!(
            "{what} is still {status} after {elapsed} s, past the deadline of {deadline} s"
        )),
        _ => given,
    }
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

/// When the canary asks the new model for a forecast: while it bakes (it has all the traffic
/// and the rollback alarms are watched) or once it serves on the expected config; never while a
/// fleet is still starting or after a rollback. The config asked, and the phase.
pub fn canary_phase(
    info: &EndpointInfo,
    outcome: Outcome,
    expected: Option<&str>,
) -> Option<(String, &'static str)> {
    let wanted = |config: &str| expected.is_none_or(|want| want == config);
    match (&info.pending_config, info.baking, outcome) {
        (Some(pending), true, _) if wanted(pending) => Some((pending.clone(), "baking")),
        (_, _, Outcome::Succeeded) => Some((info.config_name.clone(), "in_service")),
        _ => None,
    }
}

/// The run's verdict on a failed canary: why the deploy failed.
pub fn canary_failure(canary: &Canary, serving_config: &str) -> String {
    let problem = canary.problem.as_deref().unwrap_or("no answer");
    match canary.during.as_str() {
        "baking" => format!(
            "the new model ({}) failed the forecast canary while it baked: {problem}; \
             the rollback alarm on {METRIC_CANARY} returns the endpoint to {serving_config}",
            canary.config_name
        ),
        _ => format!(
            "the endpoint serves {}, whose forecast fails the serving contract: {problem}",
            canary.config_name
        ),
    }
}

/// Ask the endpoint for the canary's forecast, check the answer, and publish the verdict
/// (`ForecastCanaryFailures`: 1 failed, 0 passed; a rollback alarm watches it).
async fn canary(ctx: &Context, endpoint: &str, config: String, during: &str) -> Result<Canary> {
    let today = ctx.now().date_naive();
    let request = canary_request(today);
    let body = serde_json::to_vec(&request).expect("json");
    let problem = match invoke(&ctx.smr, endpoint, body).await? {
        Ok(answer) => check_answer(&request, today, &answer).err(),
        Err(model_error) => Some(model_error),
    };
    let failed = problem.is_some();
    put_metric(
        &ctx.cw,
        &ctx.cfg,
        METRIC_CANARY,
        if failed { 1.0 } else { 0.0 },
        StandardUnit::Count,
    )
    .await?;
    info!(config = %config, during, passed = !failed, problem = problem.as_deref().unwrap_or(""),
          "forecast canary");
    Ok(Canary {
        config_name: config,
        during: during.to_string(),
        request,
        passed: !failed,
        problem,
    })
}

async fn endpoint(ctx: &Context, req: &StatusRequest, now: DateTime<Utc>) -> Result<Status> {
    let info = describe_endpoint(&ctx.sm, &req.name)
        .await?
        .ok_or_else(|| WorkerError::NotFound {
            what: format!("endpoint {}", req.name),
        })?;
    let expected = req.expected_config.as_deref();
    let (mut outcome, mut reason) = endpoint_outcome(&info.status, &info.config_name, expected);
    let canary = match canary_phase(&info, outcome, expected) {
        Some((config, during)) => Some(canary(ctx, &req.name, config, during).await?),
        None => None,
    };
    if let Some(c) = canary.as_ref().filter(|c| !c.passed) {
        outcome = Outcome::Failed;
        reason = Some(canary_failure(c, &info.config_name));
    }
    let elapsed_seconds = elapsed(info.last_modified, now);
    let deadline_passed = outcome == Outcome::Running && elapsed_seconds > req.deadline_seconds;
    let failure_reason = failure_reason(
        &format!("endpoint {}", req.name),
        &info.status,
        outcome,
        deadline_passed.then_some((elapsed_seconds, req.deadline_seconds)),
        match (reason, info.failure_reason) {
            // Rolled back by SageMaker, and it said why (the new fleet failed /ping).
            (Some(ours), Some(given)) if outcome == Outcome::Failed => {
                Some(format!("{ours}: {given}"))
            }
            (ours, given) => ours.or(given),
        },
    );
    Ok(Status {
        kind: StatusKind::Endpoint,
        name: req.name.clone(),
        outcome,
        arn: None,
        secondary_status: None,
        failure_reason,
        model_artifact: None,
        started_at: None,
        config_name: Some(info.config_name),
        elapsed_seconds,
        deadline_passed,
        next_poll_seconds: next_poll_seconds(req.poll_seconds.unwrap_or(60), elapsed_seconds),
        status: info.status,
        canary,
        billing: None,
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
