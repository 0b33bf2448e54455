//! RejectAndAlert: keep the serving model and tell people why. It never touches the endpoint.
//!
//! - `rejected`: MAPE at or over the threshold: version PendingManualApproval, `ModelDriftDetected`,
//!   the alarm ensured, `Model Needs Manual Approval` naming the serving model.
//! - `unknown_mape`: version PendingManualApproval, its own alert.
//! - `training_failed`, `deadline_passed`, `deploy_failed`, `error`: an alert with the reason.

use aws_sdk_cloudwatch::types::StandardUnit;
use aws_sdk_sagemaker::types::ModelApprovalStatus;
use serde_json::Value;
use tracing::{info, Instrument};

use retrain_core::aws::endpoint::serving_model;
use retrain_core::aws::notify::{ensure_alarm, publish, put_metric, METRIC_MODEL_DRIFT};
use retrain_core::gate::{verdict, Verdict};
use retrain_core::json::deserialize_named;
use retrain_core::messages::{self, *};
use retrain_core::payload::{AlertMode, AlertOutcome, AlertRequest};
use retrain_core::versioning::register_for_job;
use retrain_core::{Context, Result, WorkerError};

pub async fn handle(ctx: &Context, event: Value) -> Result<AlertOutcome> {
    let req: AlertRequest = deserialize_named(event)?;
    let state = req.state.clone().unwrap_or_default();
    let execution = req
        .execution
        .clone()
        .or_else(|| state.run.as_ref().map(|r| r.execution.clone()))
        .unwrap_or_else(|| "unknown".into());
    let job = state
        .training()
        .map(|t| t.job_name.clone())
        .unwrap_or_default();
    let span = tracing::info_span!("reject_and_alert", execution = %execution, job = %job);
    async move {
        let serving = serving_model(&ctx.sm, &ctx.cfg.endpoint_name).await?;
        let mut outcome = AlertOutcome {
            mode: req.mode,
            subject: String::new(),
            message_id: None,
            serving_model: serving.clone(),
            model_package_arn: None,
            alarm_created: false,
        };
        let body = match req.mode {
            AlertMode::Rejected | AlertMode::UnknownMape | AlertMode::ImplausibleMape => {
                let run = state.run()?;
                let evaluation = state.evaluation()?;
                let (expected, decision) = match req.mode {
                    AlertMode::Rejected => (Verdict::Reject, "rejected"),
                    AlertMode::UnknownMape => (Verdict::Unknown, "mape_unknown"),
                    _ => (Verdict::Implausible, "mape_implausible"),
                };
                let actual = verdict(evaluation.mape, run.mape_threshold, run.mape_floor);
                if actual != expected {
                    return Err(WorkerError::invalid(
                        "mode",
                        format!(
                            "`{:?}` does not fit MAPE {:?} against {}",
                            req.mode, evaluation.mape, run.mape_threshold
                        ),
                    ));
                }
                let (version, created) = register_for_job(
                    ctx,
                    &state,
                    ModelApprovalStatus::PendingManualApproval,
                    decision,
                )
                .await?;
                info!(version = %version.arn, created, "version registered for manual approval");
                outcome.model_package_arn = Some(version.arn.clone());
                if let (AlertMode::ImplausibleMape, Some(mape)) = (req.mode, evaluation.mape) {
                    outcome.subject = SUBJECT_MAPE_IMPLAUSIBLE.into();
                    messages::mape_implausible(mape, run.mape_floor, &serving, &version.arn, &job)
                } else if let Some(mape) = evaluation.mape {
                    put_metric(
                        &ctx.cw,
                        &ctx.cfg,
                        METRIC_MODEL_DRIFT,
                        1.0,
                        StandardUnit::Count,
                    )
                    .await?;
                    outcome.alarm_created = ensure_alarm(&ctx.cw, &ctx.cfg).await?;
                    outcome.subject = SUBJECT_NEEDS_APPROVAL.into();
                    messages::needs_approval(mape, run.mape_threshold, &serving, &version.arn, &job)
                } else {
                    outcome.subject = SUBJECT_MAPE_UNKNOWN.into();
                    let reason = evaluation
                        .unknown_reason
                        .as_deref()
                        .unwrap_or("no usable metrics");
                    messages::mape_unknown(reason, run.mape_threshold, &serving, &version.arn, &job)
                }
            }
            AlertMode::TrainingFailed => {
                let status = state.job.as_ref().ok_or_else(|| {
                    WorkerError::invalid("state.job", "missing: no job status to report")
                })?;
                outcome.subject = SUBJECT_TRAINING_FAILED.into();
                let reason = status
                    .failure_reason
                    .as_deref()
                    .unwrap_or("no reason given by SageMaker");
                messages::training_failed(&status.name, &status.status, reason, &serving)
            }
            AlertMode::DeadlinePassed => {
                let status = state.job.as_ref().ok_or_else(|| {
                    WorkerError::invalid("state.job", "missing: no job status to report")
                })?;
                outcome.subject = SUBJECT_DEADLINE.into();
                messages::deadline_passed(&status.name, status.elapsed_seconds, &serving)
            }
            AlertMode::DeployFailed => {
                let status = state.endpoint.as_ref().ok_or_else(|| {
                    WorkerError::invalid("state.endpoint", "missing: no endpoint status to report")
                })?;
                outcome.subject = SUBJECT_DEPLOY_FAILED.into();
                let reason = status
                    .failure_reason
                    .as_deref()
                    .unwrap_or("no reason given by SageMaker");
                messages::deploy_failed(&status.name, &status.status, reason, &serving)
            }
            AlertMode::Error => {
                let error =
                    req.error.as_ref().or(state.error.as_ref()).ok_or_else(|| {
                        WorkerError::invalid("error", "missing: no error to report")
                    })?;
                outcome.subject = SUBJECT_PIPELINE_ERROR.into();
                messages::pipeline_error(
                    &execution,
                    &error.error,
                    error.cause.as_deref().unwrap_or(""),
                    &serving,
                )
            }
        };
        outcome.message_id = publish(&ctx.sns, &ctx.cfg.topic_arn, &outcome.subject, &body).await?;
        info!(mode = ?req.mode, subject = %outcome.subject, serving = %serving, "alert sent");
        Ok(outcome)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
