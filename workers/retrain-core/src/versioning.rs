//! Registering the version of this run's training job, as Deploy (Approved) and RejectAndAlert
//! (PendingManualApproval) both do: model-quality JSON beside the job's output, metrics and
//! lineage on the version, and never a second version for the same job.

use aws_sdk_sagemaker::types::ModelApprovalStatus;
use serde_json::json;

use crate::aws::registry::{register_version, NewVersion, VersionRef};
use crate::aws::s3::put_json;
use crate::aws::Context;
use crate::error::Result;
use crate::input::{APPROVED_BY_KEY, APPROVED_BY_PIPELINE};
use crate::payload::State;

/// Metadata keys on the versions the pipeline registers.
pub const META_TRAINING_JOB: &str = "training_job";
pub const META_TRAINED_AT: &str = "trained_at";
pub const META_MAPE: &str = "mape";

/// Register (or find) the version of this run's job with `status`.
pub async fn register_for_job(
    ctx: &Context,
    state: &State,
    status: ModelApprovalStatus,
    decision: &str,
) -> Result<(VersionRef, bool)> {
    let cfg = &ctx.cfg;
    let run = state.run()?;
    let evaluation = state.evaluation()?;
    let job = state.completed_job()?;
    let training = job.training;
    let trained_at = job.started_at().to_rfc3339();
    let fmt = |v: Option<f64>| {
        v.map(|x| format!("{x}"))
            .unwrap_or_else(|| "unknown".into())
    };

    let quality_key = format!(
        "training-output/{}/evaluation/model-quality.json",
        training.job_name
    );
    let quality = json!({
        "regression_metrics": {
            "mape": {"value": evaluation.mape, "unit": "percent"},
            "rmse": {"value": evaluation.rmse},
            "mae": {"value": evaluation.mae}
        },
        "threshold": evaluation.threshold,
        "source": evaluation.source,
        "training_job": training.job_name,
    });
    put_json(&ctx.s3, &cfg.bucket, &quality_key, &quality).await?;

    let mut metadata = vec![
        (META_TRAINING_JOB.to_string(), training.job_name.clone()),
        ("execution".to_string(), run.execution.clone()),
        (META_MAPE.to_string(), fmt(evaluation.mape)),
        ("rmse".to_string(), fmt(evaluation.rmse)),
        ("mae".to_string(), fmt(evaluation.mae)),
        (
            "mape_threshold".to_string(),
            format!("{}", run.mape_threshold),
        ),
        (META_TRAINED_AT.to_string(), trained_at),
        ("decision".to_string(), decision.to_string()),
    ];
    if status == ModelApprovalStatus::Approved {
        metadata.push((
            APPROVED_BY_KEY.to_string(),
            APPROVED_BY_PIPELINE.to_string(),
        ));
    }
    let quality_uri = format!("s3://{}/{quality_key}", cfg.bucket);
    register_version(
        &ctx.sm,
        &NewVersion {
            group: &cfg.model_package_group,
            job_name: &training.job_name,
            job_arn: job.status.arn.as_deref(),
            image: &cfg.image_uri,
            model_artifact: &job.artifact,
            quality_uri: &quality_uri,
            status,
            metadata,
        },
    )
    .await
}
