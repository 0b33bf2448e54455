//! Deploy: register this run's version as Approved (or take the version a person approved),
//! then model → endpoint config → endpoint, and only then record what serves.

use aws_sdk_sagemaker::types::ModelApprovalStatus;
use serde_json::Value;
use tracing::{info, Instrument};

use retrain_core::aws::registry::describe_version;
use retrain_core::aws::s3::{put_json, LAST_TRAINED_KEY, STATISTICS_KEY};
use retrain_core::champion;
use retrain_core::documents::{LastTrained, Statistics};
use retrain_core::gate::{verdict, Verdict};
use retrain_core::names::version_resource_name;
use retrain_core::payload::{Action, Deployment, EndpointAction, State};
use run_report::{Decision, Ending};

use crate::endpoint::Served;
use retrain_core::versioning::{register_for_job, META_MAPE, META_TRAINED_AT, META_TRAINING_JOB};
use retrain_core::{Context, Result, WorkerError};

/// The version to serve, whichever path brought it.
struct Chosen {
    arn: String,
    version: i64,
    artifact: String,
    registered: bool,
    last_trained: LastTrained,
}

pub async fn handle(ctx: &Context, event: Value) -> Result<Deployment> {
    let now = ctx.now();
    let state = State::from_value(event)?;
    let execution = state.run()?.execution.clone();
    let job = state
        .training()
        .map(|t| t.job_name.clone())
        .unwrap_or_default();
    let span = tracing::info_span!("deploy", execution = %execution, job = %job);
    async move {
        let run = state.run()?;
        let chosen = match run.action {
            Action::DeployApproved => approved_by_a_person(ctx, &state).await?,
            Action::Train => registered_by_this_run(ctx, &state).await?,
            Action::Skip | Action::Wait => {
                return Err(WorkerError::invalid(
                    "run.action",
                    "a skipped or waiting run deploys nothing",
                ))
            }
        };
        let name = version_resource_name(
            &ctx.cfg.model_package_group,
            chosen.version,
            &chosen.artifact,
        );
        let served = crate::endpoint::serve(ctx, &name, &chosen.arn).await?;
        let action = served.action;
        info!(version = %chosen.arn, model = %name, action = ?action, "endpoint call made");

        // Only now: the endpoint accepted the new config. A run that trained gets its report.
        let mut last = chosen.last_trained.clone();
        last.deployed_at = Some(now.to_rfc3339());
        if run.action == Action::Train {
            let ending = ending(&state, &served, &name, &chosen);
            if let Some(report) = run_report::publish(ctx, &state, ending).await {
                last.report = Some(report.uri);
                last.report_url = report.console_url;
            }
        }
        put_json(&ctx.s3, &ctx.cfg.bucket, LAST_TRAINED_KEY, &last).await?;
        if let (Some(data), true) = (&run.data, chosen.registered) {
            if let Some(mean) = data.mean_daily_tickets {
                let stats = Statistics {
                    mean_daily_tickets: mean,
                    days: data.days,
                    rows: data.rows,
                    computed_at: Some(now.to_rfc3339()),
                    training_job: last.training_job.clone(),
                };
                put_json(&ctx.s3, &ctx.cfg.bucket, STATISTICS_KEY, &stats).await?;
            }
        }
        Ok(Deployment {
            model_package_arn: chosen.arn,
            model_name: name.clone(),
            endpoint_config_name: name,
            endpoint_name: ctx.cfg.endpoint_name.clone(),
            action,
            registered: chosen.registered,
        })
    }
    .instrument(span)
    .await
}

/// How a deployed run ends, for its report.
fn ending(state: &State, served: &Served, name: &str, chosen: &Chosen) -> Ending {
    let (mape, threshold) = (
        state.evaluation.as_ref().and_then(|e| e.mape),
        state
            .run
            .as_ref()
            .map(|r| r.mape_threshold)
            .unwrap_or_default(),
    );
    let before = match (served.action, &served.previous_config) {
        (EndpointAction::Created, _) => "none (the endpoint was created)".to_string(),
        (_, Some(config)) => config.clone(),
        _ => format!("{name} (an earlier attempt of this run switched the endpoint)"),
    };
    let what = match served.action {
        EndpointAction::Created => "serves on the endpoint it created",
        EndpointAction::Updated => "replaces the serving model (blue/green or rolling update)",
        EndpointAction::AlreadyServing => {
            "already serves (an earlier attempt switched the endpoint)"
        }
    };
    Ending {
        decision: Decision::Deployed,
        reason: format!(
            "MAPE {} is under the threshold {threshold:.2} %: version {} {what}",
            mape.map(|m| format!("{m:.2} %")).unwrap_or_default(),
            chosen.version,
        ),
        serving_before: before,
        serving_after: name.to_string(),
        version_arn: Some(chosen.arn.clone()),
        alert: None,
    }
}

async fn registered_by_this_run(ctx: &Context, state: &State) -> Result<Chosen> {
    let run = state.run()?;
    let evaluation = state.evaluation()?;
    // The state machine's Choice already gated; the worker never trusts that alone.
    match verdict(evaluation.mape, run.mape_threshold, run.mape_floor) {
        Verdict::Deploy => {}
        Verdict::Reject => {
            return Err(WorkerError::GateRefused {
                reason: format!(
                    "MAPE {:?} is at or over the threshold {}",
                    evaluation.mape, run.mape_threshold
                ),
            })
        }
        Verdict::Unknown => {
            return Err(WorkerError::GateRefused {
                reason: "MAPE is unknown".into(),
            })
        }
        Verdict::Implausible => {
            return Err(WorkerError::GateRefused {
                reason: format!(
                    "MAPE {:?} is below the plausibility floor {}",
                    evaluation.mape, run.mape_floor
                ),
            })
        }
    }
    // Nor the champion check: a new model worse than the serving one on the same days stays out.
    if let Some(c) = evaluation
        .champion
        .as_ref()
        .filter(|c| c.verdict == champion::Verdict::Worse)
    {
        return Err(WorkerError::GateRefused {
            reason: format!(
                "the new model is worse than the serving model: {}",
                c.reason
            ),
        });
    }
    let job = state.completed_job()?;
    let (version, _) =
        register_for_job(ctx, state, ModelApprovalStatus::Approved, "deployed").await?;
    Ok(Chosen {
        version: version
            .version
            .ok_or_else(|| WorkerError::bad_data(&version.arn, "the version has no number"))?,
        arn: version.arn.clone(),
        artifact: job.artifact.clone(),
        registered: true,
        last_trained: LastTrained {
            trained_at: job.started_at().to_rfc3339(),
            mape: evaluation.mape,
            approval: "Approved".into(),
            training_job: Some(job.training.job_name.clone()),
            model_package_arn: Some(version.arn),
            deployed_at: None,
            report: None,
            report_url: None,
        },
    })
}

async fn approved_by_a_person(ctx: &Context, state: &State) -> Result<Chosen> {
    let approval = state
        .run()?
        .approval
        .as_ref()
        .ok_or_else(|| WorkerError::invalid("run.approval", "missing for an approval run"))?;
    let v = describe_version(&ctx.sm, &approval.model_package_arn).await?;
    if v.status != "Approved" {
        return Err(WorkerError::GateRefused {
            reason: format!("version {} is {}, not Approved", v.arn, v.status),
        });
    }
    if v.group != ctx.cfg.model_package_group {
        return Err(WorkerError::invalid(
            "run.approval.model_package_arn",
            format!(
                "the version belongs to `{}`, not `{}`",
                v.group, ctx.cfg.model_package_group
            ),
        ));
    }
    let version = v
        .version
        .ok_or_else(|| WorkerError::bad_data(&v.arn, "the version has no number"))?;
    let trained_at = v
        .metadata
        .get(META_TRAINED_AT)
        .cloned()
        .or_else(|| v.created_at.map(|t| t.to_rfc3339()))
        .unwrap_or_default();
    Ok(Chosen {
        arn: v.arn.clone(),
        version,
        artifact: v.model_data_url.clone(),
        registered: false,
        last_trained: LastTrained {
            trained_at,
            mape: v.metadata.get(META_MAPE).and_then(|m| m.parse().ok()),
            approval: "ManualApproval".into(),
            training_job: v.metadata.get(META_TRAINING_JOB).cloned(),
            model_package_arn: Some(v.arn),
            deployed_at: None,
            report: None,
            report_url: None,
        },
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
