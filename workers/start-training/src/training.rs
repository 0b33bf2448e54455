//! The training job of this execution: find it, or start it.

use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, OutputDataConfig, ResourceConfig, StoppingCondition, Tag,
    TrainingInputMode, TrainingInstanceType,
};
use chrono::{DateTime, Utc};
use tracing::info;

use retrain_core::config::TrainingResources;
use retrain_core::error::{aws_error, is_not_found};
use retrain_core::payload::TrainingJob;
use retrain_core::s3::{BRONZE_PREFIX, TRAINING_OUTPUT_PREFIX};
use retrain_core::time::from_smithy;
use retrain_core::Result;

use crate::handler::Deps;

/// The job, if an earlier attempt already created it.
pub async fn describe(
    sm: &aws_sdk_sagemaker::Client,
    job_name: &str,
) -> Result<Option<TrainingJob>> {
    match sm
        .describe_training_job()
        .training_job_name(job_name)
        .send()
        .await
    {
        Ok(d) => Ok(Some(TrainingJob {
            job_name: job_name.to_string(),
            output_path: d
                .output_data_config()
                .and_then(|o| o.s3_output_path())
                .unwrap_or_default()
                .to_string(),
            created_at: d.creation_time().map(from_smithy).unwrap_or_default(),
            adopted: true,
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found() || is_not_found(s)) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error("DescribeTrainingJob", e)),
    }
}

pub async fn start(
    deps: &Deps,
    job_name: &str,
    execution: &str,
    resources: &TrainingResources,
    now: DateTime<Utc>,
) -> Result<TrainingJob> {
    let cfg = &deps.cfg;
    let output_path = format!("s3://{}/{}", cfg.bucket, TRAINING_OUTPUT_PREFIX);
    let result = deps
        .sm
        .create_training_job()
        .training_job_name(job_name)
        .role_arn(&cfg.role_arn)
        .algorithm_specification(
            AlgorithmSpecification::builder()
                .training_image(&cfg.image_uri)
                .training_input_mode(TrainingInputMode::File)
                .build(),
        )
        // SageMaker writes <output_path><job>/output/model.tar.gz: one prefix per job.
        .output_data_config(
            OutputDataConfig::builder()
                .s3_output_path(&output_path)
                .build(),
        )
        .resource_config(
            ResourceConfig::builder()
                .instance_type(TrainingInstanceType::from(resources.instance_type.as_str()))
                .instance_count(resources.instance_count)
                .volume_size_in_gb(resources.volume_gb)
                .build(),
        )
        .stopping_condition(
            StoppingCondition::builder()
                .max_runtime_in_seconds(resources.max_runtime_seconds)
                .build(),
        )
        .environment("S3_BUCKET", &cfg.bucket)
        .environment("DATA_PREFIX", BRONZE_PREFIX)
        .environment("EXECUTION_NAME", execution)
        .tags(
            Tag::builder()
                .key("pipeline")
                .value("prophet-retraining")
                .build(),
        )
        .tags(Tag::builder().key("execution").value(execution).build())
        .send()
        .await;
    match result {
        Ok(_) => {
            info!(output_path = %output_path, "training job started");
            Ok(TrainingJob {
                job_name: job_name.to_string(),
                output_path,
                created_at: now,
                adopted: false,
            })
        }
        // Created meanwhile by an overlapping attempt of this execution: adopt it.
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_resource_in_use() || s.meta().code() == Some("ResourceInUse")
            }) =>
        {
            describe(&deps.sm, job_name)
                .await?
                .ok_or_else(|| retrain_core::WorkerError::NotFound {
                    what: format!("training job {job_name} (ResourceInUse, then not found)"),
                })
        }
        Err(e) => Err(aws_error("CreateTrainingJob", e)),
    }
}
