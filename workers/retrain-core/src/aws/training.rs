//! SageMaker training jobs: describe, create (adopting one of the same name), list.

use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, OutputDataConfig, ResourceConfig, StoppingCondition, Tag,
    TrainingInputMode, TrainingInstanceType,
};
use aws_sdk_sagemaker::Client;
use chrono::{DateTime, Utc};

use crate::config::TrainingResources;
use crate::error::{aws_error, is_not_found, Result};
use crate::time::from_smithy;

/// What DescribeTrainingJob says of a job.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobDescription {
    pub name: String,
    pub arn: Option<String>,
    /// TrainingJobStatus: InProgress, Completed, Failed, Stopping, Stopped.
    pub status: String,
    pub secondary_status: Option<String>,
    pub failure_reason: Option<String>,
    pub model_artifact: Option<String>,
    pub output_path: String,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    /// Seconds the job trained, and the seconds billed (less with managed spot training).
    pub training_seconds: Option<i32>,
    pub billable_seconds: Option<i32>,
    pub spot: bool,
}

/// The job, or None when no job has that name.
pub async fn describe_training_job(sm: &Client, name: &str) -> Result<Option<JobDescription>> {
    let d = match sm
        .describe_training_job()
        .training_job_name(name)
        .send()
        .await
    {
        Ok(d) => d,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found() || is_not_found(s)) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(aws_error("DescribeTrainingJob", e)),
    };
    Ok(Some(JobDescription {
        name: name.to_string(),
        arn: d.training_job_arn().map(str::to_string),
        status: d
            .training_job_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        secondary_status: d.secondary_status().map(|s| s.as_str().to_string()),
        failure_reason: d.failure_reason().map(str::to_string),
        model_artifact: d
            .model_artifacts()
            .and_then(|a| a.s3_model_artifacts())
            .map(str::to_string),
        output_path: d
            .output_data_config()
            .and_then(|o| o.s3_output_path())
            .unwrap_or_default()
            .to_string(),
        created_at: d.creation_time().map(from_smithy),
        started_at: d.training_start_time().map(from_smithy),
        training_seconds: d.training_time_in_seconds(),
        billable_seconds: d.billable_time_in_seconds(),
        spot: d.enable_managed_spot_training().unwrap_or(false),
    }))
}

/// A training job to create.
#[derive(Debug, Clone)]
pub struct NewTrainingJob<'a> {
    pub name: &'a str,
    pub role_arn: &'a str,
    pub image: &'a str,
    /// `s3://bucket/prefix/`: SageMaker writes `<output_path><job>/output/model.tar.gz`.
    pub output_path: &'a str,
    pub resources: &'a TrainingResources,
    pub environment: &'a [(&'a str, &'a str)],
    pub tags: &'a [(&'a str, &'a str)],
}

/// Create the job. Returns false when a job of that name exists already (`ResourceInUse`: an
/// overlapping attempt created it), which the caller adopts.
pub async fn create_training_job(sm: &Client, job: &NewTrainingJob<'_>) -> Result<bool> {
    let mut req = sm
        .create_training_job()
        .training_job_name(job.name)
        .role_arn(job.role_arn)
        .algorithm_specification(
            AlgorithmSpecification::builder()
                .training_image(job.image)
                .training_input_mode(TrainingInputMode::File)
                .build(),
        )
        .output_data_config(
            OutputDataConfig::builder()
                .s3_output_path(job.output_path)
                .build(),
        )
        .resource_config(
            ResourceConfig::builder()
                .instance_type(TrainingInstanceType::from(
                    job.resources.instance_type.as_str(),
                ))
                .instance_count(job.resources.instance_count)
                .volume_size_in_gb(job.resources.volume_gb)
                .build(),
        )
        .stopping_condition(
            StoppingCondition::builder()
                .max_runtime_in_seconds(job.resources.max_runtime_seconds)
                .set_max_wait_time_in_seconds(job.resources.max_wait())
                .build(),
        );
    if job.resources.spot {
        req = req.enable_managed_spot_training(true);
    }
    for (k, v) in job.environment {
        req = req.environment(*k, *v);
    }
    for (k, v) in job.tags {
        req = req.tags(Tag::builder().key(*k).value(*v).build());
    }
    match req.send().await {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_resource_in_use() || s.meta().code() == Some("ResourceInUse")
            }) =>
        {
            Ok(false)
        }
        Err(e) => Err(aws_error("CreateTrainingJob", e)),
    }
}

/// (name, status) of every training job, all pages.
pub async fn list_training_jobs(sm: &Client) -> Result<Vec<(String, String)>> {
    let mut pages = sm.list_training_jobs().into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("ListTrainingJobs", e))?;
        for j in page.training_job_summaries() {
            out.push((
                j.training_job_name().unwrap_or_default().to_string(),
                j.training_job_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            ));
        }
    }
    Ok(out)
}
