//! RejectAndAlert: keep the serving model and tell people why. It never touches the endpoint.
//!
//! - `rejected`: MAPE at or over the threshold: version PendingManualApproval, `ModelDriftDetected`,
//!   the alarm ensured, `Model Needs Manual Approval` naming the serving model.
//! - `unknown_mape`: version PendingManualApproval, its own alert.
//! - `worse_than_serving`: MAPE passed, but the new model lost to the serving one on the same
//!   days: version PendingManualApproval, an alert with both MAPEs and the days.
//! - `training_failed`, `deadline_passed`, `deploy_failed`, `error`: an alert with the reason.

use aws_sdk_cloudwatch::types::StandardUnit;
use aws_sdk_sagemaker::types::ModelApprovalStatus;
use serde_json::Value;
use tracing::{info, Instrument};

use retrain_core::aws::endpoint::serving_model;
use retrain_core::aws::notify::{ensure_alarm, publish, put_metric, METRIC_MODEL_DRIFT};
use retrain_core::champion;
use retrain_core::gate::{verdict, Verdict};
use retrain_core::json::deserialize_named;
use retrain_core::messages::{self, *};
use retrain_core::payload::{AlertMode, AlertOutcome, AlertRequest, State, Status};
use retrain_core::versioning::register_for_job;
use retrain_core::{Context, Result, WorkerError};
use run_report::{Decision, Ending};

fn decision_of(mode: AlertMode) -> Decision {
    match mode {
        AlertMode::Rejected => Decision::Rejected,
        AlertMode::WorseThanServing => Decision::WorseThanServing,
        AlertMode::UnknownMape => Decision::MapeUnknown,
        AlertMode::ImplausibleMape => Decision::MapeImplausible,
        AlertMode::TrainingFailed => Decision::TrainingFailed,
        AlertMode::DeadlinePassed => Decision::DeadlinePassed,
        AlertMode::DeployFailed => Decision::DeployFailed,
        AlertMode::Error => Decision::Error,
    }
}

/// What one alert says: its subject and body, and the sentence for the run report (why the run
/// ends here).
struct Alert {
    subject: &'static str,
    body: String,
    reason: String,
}

pub async fn handle(ctx: &Context, event: Value) -> Result<AlertOutcome> {
    // The execution-status rule sends the event's detail whole: read into execution and error.
    let req = deserialize_named::<AlertRequest>(event)?.normalised();
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
            report: None,
        };
        let alert = match req.mode {
            AlertMode::Rejected
            | AlertMode::UnknownMape
            | AlertMode::ImplausibleMape
            | AlertMode::WorseThanServing => {
                verdict_alert(ctx, req.mode, &state, &serving, &job, &mut outcome).await?
            }
            AlertMode::TrainingFailed => training_failed(&state, &serving)?,
            AlertMode::DeadlinePassed => deadline_passed(&state, &serving)?,
            AlertMode::DeployFailed => deploy_failed(&state, &serving)?,
            AlertMode::Error => pipeline_error(&req, &state, &execution, &serving)?,
        };
        outcome.subject = alert.subject.into();
        let mut body = alert.body;
        // A run that trained gets its report, named in the alert.
        if state.training().is_ok() {
            let ending = Ending {
                decision: decision_of(req.mode),
                reason: alert.reason,
                serving_before: serving.clone(),
                serving_after: serving.clone(),
                version_arn: outcome.model_package_arn.clone(),
                alert: Some(outcome.subject.clone()),
            };
            if let Some(report) = run_report::publish(ctx, &state, ending).await {
                body.push_str(&messages::report_lines(
                    &report.uri,
                    report.console_url.as_deref(),
                ));
                outcome.report = Some(report.uri);
            }
        }
        outcome.message_id = publish(&ctx.sns, &ctx.cfg.topic_arn, &outcome.subject, &body).await?;
        info!(mode = ?req.mode, subject = %outcome.subject, serving = %serving, "alert sent");
        Ok(outcome)
    }
    .instrument(span)
    .await
}

/// `rejected`, `unknown_mape`, `implausible_mape`: the mode must fit the evaluation; the version
/// is registered PendingManualApproval; a rejection is drift (the metric, the alarm).
async fn verdict_alert(
    ctx: &Context,
    mode: AlertMode,
    state: &State,
    serving: &str,
    job: &str,
    outcome: &mut AlertOutcome,
) -> Result<Alert> {
    let run = state.run()?;
    let evaluation = state.evaluation()?;
    let (expected, decision) = match mode {
        AlertMode::Rejected => (Verdict::Reject, "rejected"),
        AlertMode::UnknownMape => (Verdict::Unknown, "mape_unknown"),
        AlertMode::WorseThanServing => (Verdict::Deploy, "worse_than_serving"),
        _ => (Verdict::Implausible, "mape_implausible"),
    };
    let actual = verdict(evaluation.mape, run.mape_threshold, run.mape_floor);
    let worse = evaluation
        .champion
        .as_ref()
        .filter(|c| c.verdict == champion::Verdict::Worse);
    if mode == AlertMode::WorseThanServing && worse.is_none() {
        return Err(WorkerError::invalid(
            "mode",
            "`WorseThanServing` does not fit an evaluation whose champion verdict is not `worse`",
        ));
    }
    if actual != expected {
        return Err(WorkerError::invalid(
            "mode",
            format!(
                "`{:?}` does not fit MAPE {:?} against {}",
                mode, evaluation.mape, run.mape_threshold
            ),
        ));
    }
    let pending = ModelApprovalStatus::PendingManualApproval;
    let (version, created) = register_for_job(ctx, state, pending, decision).await?;
    info!(version = %version.arn, created, "version registered for manual approval");
    outcome.model_package_arn = Some(version.arn.clone());
    let arn = &version.arn;
    Ok(match (mode, evaluation.mape) {
        (AlertMode::WorseThanServing, Some(mape)) => {
            let check = worse.expect("checked above");
            Alert {
                subject: SUBJECT_WORSE_THAN_SERVING,
                reason: format!(
                    "MAPE {mape:.2} % passed the threshold {:.2} %, but {}: the serving model stays",
                    run.mape_threshold, check.reason
                ),
                body: messages::worse_than_serving(check, mape, serving, arn, job),
            }
        }
        (AlertMode::ImplausibleMape, Some(mape)) => Alert {
            subject: SUBJECT_MAPE_IMPLAUSIBLE,
            reason: format!(
                "MAPE {mape:.2} % is below the plausibility floor {:.2} %: a person decides",
                run.mape_floor
            ),
            body: messages::mape_implausible(mape, run.mape_floor, serving, arn, job),
        },
        (_, Some(mape)) => {
            put_metric(
                &ctx.cw,
                &ctx.cfg,
                METRIC_MODEL_DRIFT,
                1.0,
                StandardUnit::Count,
            )
            .await?;
            outcome.alarm_created = ensure_alarm(&ctx.cw, &ctx.cfg).await?;
            Alert {
                subject: SUBJECT_NEEDS_APPROVAL,
                reason: format!(
                    "MAPE {mape:.2} % is at or over the threshold {:.2} %: the serving model stays",
                    run.mape_threshold
                ),
                body: messages::needs_approval(mape, run.mape_threshold, serving, arn, job),
            }
        }
        (_, None) => {
            let why = evaluation
                .unknown_reason
                .as_deref()
                .unwrap_or("no usable metrics");
            Alert {
                subject: SUBJECT_MAPE_UNKNOWN,
                reason: format!("MAPE is unknown ({why}): the serving model stays"),
                body: messages::mape_unknown(why, run.mape_threshold, serving, arn, job),
            }
        }
    })
}

fn job_status(state: &State) -> Result<&Status> {
    state
        .job
        .as_ref()
        .ok_or_else(|| WorkerError::invalid("state.job", "missing: no job status to report"))
}

fn training_failed(state: &State, serving: &str) -> Result<Alert> {
    let status = job_status(state)?;
    let why = status
        .failure_reason
        .as_deref()
        .unwrap_or("no reason given by SageMaker");
    Ok(Alert {
        subject: SUBJECT_TRAINING_FAILED,
        reason: format!("the training job is {}: {why}", status.status),
        body: messages::training_failed(&status.name, &status.status, why, serving),
    })
}

fn deadline_passed(state: &State, serving: &str) -> Result<Alert> {
    let status = job_status(state)?;
    Ok(Alert {
        subject: SUBJECT_DEADLINE,
        reason: format!(
            "the training job was still running after {} s, past the run's deadline",
            status.elapsed_seconds
        ),
        body: messages::deadline_passed(&status.name, status.elapsed_seconds, serving),
    })
}

fn deploy_failed(state: &State, serving: &str) -> Result<Alert> {
    let status = state.endpoint.as_ref().ok_or_else(|| {
        WorkerError::invalid("state.endpoint", "missing: no endpoint status to report")
    })?;
    let why = status
        .failure_reason
        .as_deref()
        .unwrap_or("no reason given by SageMaker");
    Ok(Alert {
        subject: SUBJECT_DEPLOY_FAILED,
        reason: format!("the endpoint update ended {}: {why}", status.status),
        body: messages::deploy_failed(&status.name, &status.status, why, serving),
    })
}

fn pipeline_error(
    req: &AlertRequest,
    state: &State,
    execution: &str,
    serving: &str,
) -> Result<Alert> {
    let error = req
        .error
        .as_ref()
        .or(state.error.as_ref())
        .ok_or_else(|| WorkerError::invalid("error", "missing: no error to report"))?;
    let cause = error.cause.as_deref();
    Ok(Alert {
        subject: SUBJECT_PIPELINE_ERROR,
        reason: format!("{}: {}", error.error, cause.unwrap_or("no cause given")),
        body: messages::pipeline_error(execution, &error.error, cause.unwrap_or(""), serving),
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
