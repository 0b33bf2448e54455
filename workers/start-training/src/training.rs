//! The training job of this execution: find it, or start it.

use tracing::info;

use retrain_core::aws::s3::{BRONZE_PREFIX, TRAINING_OUTPUT_PREFIX};
use retrain_core::aws::training::{create_training_job, describe_training_job, NewTrainingJob};
use retrain_core::config::TrainingResources;
use retrain_core::payload::TrainingJob;
use retrain_core::tickets::DateWindow;
use retrain_core::{Context, Result, WorkerError};

/// The job, if an earlier attempt already created it: adopted.
pub async fn find(ctx: &Context, job_name: &str) -> Result<Option<TrainingJob>> {
    Ok(describe_training_job(&ctx.sm, job_name)
        .await?
        .map(|d| TrainingJob {
            job_name: job_name.to_string(),
            output_path: d.output_path,
            created_at: d.created_at.unwrap_or_default(),
            adopted: true,
        }))
}

pub async fn start(
    ctx: &Context,
    job_name: &str,
    execution: &str,
    resources: &TrainingResources,
    window: DateWindow,
) -> Result<TrainingJob> {
    let cfg = &ctx.cfg;
    // SageMaker writes <output_path><job>/output/model.tar.gz: one prefix per job.
    let output_path = format!("s3://{}/{}", cfg.bucket, TRAINING_OUTPUT_PREFIX);
    // The window the scan counted with (`run.data.window`): the trainer drops rows outside it.
    let (earliest, latest) = (window.earliest.to_string(), window.latest.to_string());
    let created = create_training_job(
        &ctx.sm,
        &NewTrainingJob {
            name: job_name,
            role_arn: &cfg.role_arn,
            image: &cfg.image_uri,
            output_path: &output_path,
            resources,
            environment: &[
                ("S3_BUCKET", &cfg.bucket),
                ("DATA_PREFIX", BRONZE_PREFIX),
                ("EXECUTION_NAME", execution),
                ("EARLIEST_TICKET_DATE", &earliest),
                ("LATEST_TICKET_DATE", &latest),
            ],
            tags: &[("pipeline", "prophet-retraining"), ("execution", execution)],
        },
    )
    .await?;
    if created {
        info!(output_path = %output_path, "training job started");
        return Ok(TrainingJob {
            job_name: job_name.to_string(),
            output_path,
            created_at: ctx.now(),
            adopted: false,
        });
    }
    // Created meanwhile by an overlapping attempt of this execution: adopt it.
    find(ctx, job_name)
        .await?
        .ok_or_else(|| WorkerError::NotFound {
            what: format!("training job {job_name} (ResourceInUse, then not found)"),
        })
}
