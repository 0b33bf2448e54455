//! SageMaker answers several workers' tests share: the serving endpoint, a registered version.

use aws_sdk_sagemaker::operation::create_model_package::{
    CreateModelPackageInput, CreateModelPackageOutput,
};
use aws_sdk_sagemaker::operation::describe_endpoint::{
    DescribeEndpointError, DescribeEndpointOutput,
};
use aws_sdk_sagemaker::operation::describe_model_package::builders::DescribeModelPackageOutputBuilder;
use aws_sdk_sagemaker::operation::describe_model_package::DescribeModelPackageOutput;
use aws_sdk_sagemaker::types::{
    EndpointStatus, InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition,
    ModelPackageSummary,
};
use aws_smithy_mocks::{mock, MockResponse, Rule};

use super::{validation_not_found, Recorder};
use crate::aws::registry::description_for_job;

/// The endpoint of `config::example()`.
pub const SERVING_ENDPOINT: &str = "prophet-fastapi-endpoint-latest";

/// DescribeEndpoint: (status, endpoint config) of the serving endpoint; None: it does not exist.
pub fn serving_endpoint(endpoint: Option<(EndpointStatus, String)>) -> Rule {
    mock!(aws_sdk_sagemaker::Client::describe_endpoint).then_compute_response(move |_| {
        match &endpoint {
            Some((status, config)) => MockResponse::Output(
                DescribeEndpointOutput::builder()
                    .endpoint_name(SERVING_ENDPOINT)
                    .endpoint_config_name(config)
                    .endpoint_status(status.clone())
                    .build(),
            ),
            None => MockResponse::Error(DescribeEndpointError::generic(validation_not_found(
                "endpoint",
            ))),
        }
    })
}

/// DescribeModelPackage's answer for version `version` (`arn`) of `group`, its container's
/// model data at `artifact`; the test adds the metadata.
pub fn model_package(
    arn: &str,
    group: &str,
    version: i32,
    status: ModelApprovalStatus,
    artifact: &str,
) -> DescribeModelPackageOutputBuilder {
    DescribeModelPackageOutput::builder()
        .model_package_arn(arn)
        .model_package_group_name(group)
        .model_package_version(version)
        .model_approval_status(status)
        .inference_specification(
            InferenceSpecification::builder()
                .containers(
                    ModelPackageContainerDefinition::builder()
                        .image("img")
                        .model_data_url(artifact)
                        .build(),
                )
                .build(),
        )
}

/// A ListModelPackages entry: version `version` (`arn`) registered for training job `job`.
pub fn version_summary(
    arn: &str,
    version: i32,
    job: &str,
    status: Option<ModelApprovalStatus>,
) -> ModelPackageSummary {
    ModelPackageSummary::builder()
        .model_package_arn(arn)
        .model_package_version(version)
        .model_package_description(description_for_job(job))
        .set_model_approval_status(status)
        .build()
}

/// CreateModelPackage: recorded in `rec`, answered with `arn`.
pub fn registering(arn: &'static str, rec: &Recorder<CreateModelPackageInput>) -> Rule {
    let rec = rec.clone();
    mock!(aws_sdk_sagemaker::Client::create_model_package).then_compute_output(move |req| {
        rec.record(req);
        CreateModelPackageOutput::builder()
            .model_package_arn(arn)
            .build()
    })
}
