//! The model registry: the group, and finding or registering the version of a training job.

use std::collections::HashMap;

use aws_sdk_sagemaker::types::{
    InferenceSpecification, MetadataProperties, MetricsSource, ModelApprovalStatus, ModelMetrics,
    ModelPackageContainerDefinition, ModelQuality,
};
use aws_sdk_sagemaker::Client;
use chrono::{DateTime, Utc};

use crate::error::{aws_error, is_not_found, Result, WorkerError};
use crate::time::from_smithy;

/// The description a version of one training job carries: how a re-run finds it.
pub fn description_for_job(job: &str) -> String {
    format!("Prophet ticket forecast trained by {job}")
}

#[derive(Debug, Clone, PartialEq)]
pub struct VersionRef {
    pub arn: String,
    pub version: Option<i64>,
    pub status: String,
}

/// One line of the group's version list.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSummary {
    pub version: VersionRef,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VersionDetails {
    pub arn: String,
    pub group: String,
    pub version: Option<i64>,
    pub status: String,
    pub model_data_url: String,
    pub image: String,
    pub metadata: HashMap<String, String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// What a new version records.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub group: &'a str,
    pub job_name: &'a str,
    pub job_arn: Option<&'a str>,
    pub image: &'a str,
    pub model_artifact: &'a str,
    /// S3 URI of the model-quality JSON.
    pub quality_uri: &'a str,
    pub status: ModelApprovalStatus,
    pub metadata: Vec<(String, String)>,
}

/// Create the group unless it exists. Returns true when it was created.
pub async fn ensure_group(sm: &Client, group: &str) -> Result<bool> {
    match sm
        .describe_model_package_group()
        .model_package_group_name(group)
        .send()
        .await
    {
        Ok(_) => return Ok(false),
        Err(e) if e.as_service_error().is_some_and(is_not_found) => {}
        Err(e) => return Err(aws_error("DescribeModelPackageGroup", e)),
    }
    match sm
        .create_model_package_group()
        .model_package_group_name(group)
        .model_package_group_description(
            "Prophet daily support-ticket forecasts (retraining pipeline)",
        )
        .send()
        .await
    {
        Ok(_) => Ok(true),
        // Created meanwhile by an overlapping run.
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.meta()
                    .message()
                    .unwrap_or_default()
                    .contains("already exists")
            }) =>
        {
            Ok(false)
        }
        Err(e) => Err(aws_error("CreateModelPackageGroup", e)),
    }
}

/// Every version of the group, all pages, newest first.
pub async fn list_versions(sm: &Client, group: &str) -> Result<Vec<VersionSummary>> {
    let mut pages = sm
        .list_model_packages()
        .model_package_group_name(group)
        .sort_by(aws_sdk_sagemaker::types::ModelPackageSortBy::CreationTime)
        .sort_order(aws_sdk_sagemaker::types::SortOrder::Descending)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("ListModelPackages", e))?;
        for s in page.model_package_summary_list() {
            out.push(VersionSummary {
                version: VersionRef {
                    arn: s.model_package_arn().unwrap_or_default().to_string(),
                    version: s.model_package_version().map(i64::from),
                    status: s
                        .model_approval_status()
                        .map(|a| a.as_str().to_string())
                        .unwrap_or_default(),
                },
                description: s
                    .model_package_description()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
    Ok(out)
}

/// The version registered for `job`, if any.
pub async fn find_version_for_job(
    sm: &Client,
    group: &str,
    job: &str,
) -> Result<Option<VersionRef>> {
    let wanted = description_for_job(job);
    Ok(list_versions(sm, group)
        .await?
        .into_iter()
        .find(|s| s.description == wanted)
        .map(|s| s.version))
}

/// Find the job's version or register it. Returns the version and whether this call created it.
pub async fn register_version(sm: &Client, v: &NewVersion<'_>) -> Result<(VersionRef, bool)> {
    if let Some(found) = find_version_for_job(sm, v.group, v.job_name).await? {
        return Ok((found, false));
    }
    let container = ModelPackageContainerDefinition::builder()
        .image(v.image)
        .model_data_url(v.model_artifact)
        .build();
    let spec = InferenceSpecification::builder()
        .containers(container)
        .supported_content_types("application/json")
        .supported_response_mime_types("application/json")
        .build();
    let metrics = ModelMetrics::builder()
        .model_quality(
            ModelQuality::builder()
                .statistics(
                    MetricsSource::builder()
                        .content_type("application/json")
                        .s3_uri(v.quality_uri)
                        .build(),
                )
                .build(),
        )
        .build();
    let mut req = sm
        .create_model_package()
        .model_package_group_name(v.group)
        .model_package_description(description_for_job(v.job_name))
        .model_approval_status(v.status.clone())
        .inference_specification(spec)
        .model_metrics(metrics)
        // Idempotency on AWS's side too: the same job never makes two versions.
        .client_token(crate::names::version_client_token(v.job_name));
    if let Some(arn) = v.job_arn {
        req = req.metadata_properties(MetadataProperties::builder().generated_by(arn).build());
    }
    for (k, val) in &v.metadata {
        req = req.customer_metadata_properties(k, val);
    }
    let out = req
        .send()
        .await
        .map_err(|e| aws_error("CreateModelPackage", e))?;
    let arn = out
        .model_package_arn()
        .ok_or_else(|| {
            WorkerError::bad_data("CreateModelPackage", "no ModelPackageArn in the answer")
        })?
        .to_string();
    Ok((
        VersionRef {
            version: crate::names::version_of_arn(&arn),
            arn,
            status: v.status.as_str().to_string(),
        },
        true,
    ))
}

pub async fn describe_version(sm: &Client, arn: &str) -> Result<VersionDetails> {
    let d = match sm
        .describe_model_package()
        .model_package_name(arn)
        .send()
        .await
    {
        Ok(d) => d,
        Err(e) if e.as_service_error().is_some_and(is_not_found) => {
            return Err(WorkerError::NotFound {
                what: format!("model package {arn}"),
            })
        }
        Err(e) => return Err(aws_error("DescribeModelPackage", e)),
    };
    let container = d
        .inference_specification()
        .and_then(|s| s.containers().first())
        .ok_or_else(|| WorkerError::bad_data(arn, "the version has no inference container"))?;
    let model_data_url = container
        .model_data_url()
        .ok_or_else(|| WorkerError::bad_data(arn, "the version's container has no ModelDataUrl"))?
        .to_string();
    Ok(VersionDetails {
        arn: d.model_package_arn().unwrap_or(arn).to_string(),
        group: d.model_package_group_name().unwrap_or_default().to_string(),
        version: d.model_package_version().map(i64::from),
        status: d
            .model_approval_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        model_data_url,
        image: container.image().unwrap_or_default().to_string(),
        metadata: d
            .customer_metadata_properties()
            .cloned()
            .unwrap_or_default(),
        created_at: d.creation_time().map(from_smithy),
    })
}

/// Set a version's approval status, as a person does in the registry (`approve`/`reject`).
pub async fn set_approval(
    sm: &Client,
    arn: &str,
    status: ModelApprovalStatus,
    note: &str,
) -> Result<()> {
    sm.update_model_package()
        .model_package_arn(arn)
        .model_approval_status(status)
        .approval_description(note)
        .send()
        .await
        .map_err(|e| aws_error("UpdateModelPackage", e))?;
    Ok(())
}
