//! The serving endpoint and what it serves: models, endpoint configs, the endpoint itself.

use aws_sdk_sagemaker::types::{
    ContainerDefinition, DeploymentConfig, ProductionVariant, ProductionVariantInstanceType,
    ProductionVariantServerlessConfig, Tag,
};
use aws_sdk_sagemaker::Client;
use chrono::{DateTime, Utc};

use crate::config::EndpointResources;
use crate::error::{aws_error, is_not_found, Result};
use crate::time::from_smithy;

/// What `ServingModel` reports when there is no endpoint.
pub const NO_MODEL: &str = "none";

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointInfo {
    pub status: String,
    pub config_name: String,
    pub failure_reason: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    /// The variants it serves: name, and the instances running now (autoscaling included).
    pub variants: Vec<ServingVariant>,
    /// The config an update in progress moves to, and whether its new fleet bakes (serves all
    /// traffic, watched by the rollback alarms).
    pub pending_config: Option<String>,
    pub baking: bool,
}

pub use retrain_contract::rollout::ServingVariant;

impl EndpointInfo {
    /// States in which SageMaker refuses an UpdateEndpoint: wait, then try again.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Creating" | "Updating" | "SystemUpdating" | "RollingBack"
        )
    }
}

pub async fn describe_endpoint(sm: &Client, name: &str) -> Result<Option<EndpointInfo>> {
    match sm.describe_endpoint().endpoint_name(name).send().await {
        Ok(d) => Ok(Some(EndpointInfo {
            status: d
                .endpoint_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            config_name: d.endpoint_config_name().unwrap_or_default().to_string(),
            failure_reason: d.failure_reason().map(str::to_string),
            last_modified: d.last_modified_time().map(from_smithy),
            variants: d
                .production_variants()
                .iter()
                .map(|v| ServingVariant {
                    name: v.variant_name().unwrap_or_default().to_string(),
                    instance_count: v.current_instance_count(),
                    serverless: v.current_serverless_config().is_some()
                        || v.desired_serverless_config().is_some(),
                })
                .collect(),
            pending_config: d
                .pending_deployment_summary()
                .and_then(|p| p.endpoint_config_name())
                .map(str::to_string),
            baking: d.pending_deployment_summary().is_some_and(|p| {
                p.production_variants().iter().any(|v| {
                    v.variant_status().last().and_then(|s| s.status())
                        == Some(&aws_sdk_sagemaker::types::VariantStatus::Baking)
                })
            }),
        })),
        Err(e) if e.as_service_error().is_some_and(is_not_found) => Ok(None),
        Err(e) => Err(aws_error("DescribeEndpoint", e)),
    }
}

/// The model of the first variant of a config, None when the config does not exist.
pub async fn config_model(sm: &Client, config: &str) -> Result<Option<String>> {
    match sm
        .describe_endpoint_config()
        .endpoint_config_name(config)
        .send()
        .await
    {
        Ok(c) => Ok(c
            .production_variants()
            .first()
            .and_then(|v| v.model_name())
            .map(str::to_string)),
        Err(e) if e.as_service_error().is_some_and(is_not_found) => Ok(None),
        Err(e) => Err(aws_error("DescribeEndpointConfig", e)),
    }
}

/// endpoint → endpoint config → model; `none` without an endpoint.
pub async fn serving_model(sm: &Client, endpoint: &str) -> Result<String> {
    let Some(info) = describe_endpoint(sm, endpoint).await? else {
        return Ok(NO_MODEL.to_string());
    };
    Ok(config_model(sm, &info.config_name)
        .await?
        .unwrap_or_else(|| format!("unknown (config {} not found)", info.config_name)))
}

/// Whether a model of that name exists.
pub async fn model_exists(sm: &Client, name: &str) -> Result<bool> {
    match sm.describe_model().model_name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(is_not_found) => Ok(false),
        Err(e) => Err(aws_error("DescribeModel", e)),
    }
}

/// A model serving a registered version, tagged with the version's ARN.
pub async fn create_model(
    sm: &Client,
    name: &str,
    role_arn: &str,
    version_arn: &str,
) -> Result<()> {
    sm.create_model()
        .model_name(name)
        .execution_role_arn(role_arn)
        .primary_container(
            ContainerDefinition::builder()
                .model_package_name(version_arn)
                .build(),
        )
        .tags(
            Tag::builder()
                .key("model_package")
                .value(version_arn)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .or_else(|e| already_exists(e, "CreateModel"))
}

/// A create that failed because the resource exists is done: the names derive from the version
/// and its artifact, so an existing model or endpoint config of that name is this one (made by
/// another attempt of the same run, e.g. an invocation still running after its execution was
/// stopped and redriven).
fn already_exists<E, R>(
    e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    operation: &str,
) -> Result<()>
where
    E: aws_sdk_sagemaker::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let exists = e.as_service_error().is_some_and(|s| {
        s.meta().code() == Some("ValidationException")
            && s.meta()
                .message()
                .unwrap_or_default()
                .contains("Cannot create already existing")
    });
    if exists {
        Ok(())
    } else {
        Err(aws_error(operation, e))
    }
}

/// A config of one variant `variant` serving `model`: serverless when `resources` say so (memory
/// and concurrency, no instances), else on `instance_count` instances of the configured type.
pub async fn create_endpoint_config(
    sm: &Client,
    name: &str,
    variant: &str,
    model: &str,
    resources: &EndpointResources,
    instance_count: i32,
) -> Result<()> {
    let builder = ProductionVariant::builder()
        .variant_name(variant)
        .model_name(model)
        .initial_variant_weight(1.0);
    let variant = match resources.serverless {
        Some(s) => builder.serverless_config(
            ProductionVariantServerlessConfig::builder()
                .memory_size_in_mb(s.memory_mb)
                .max_concurrency(s.max_concurrency)
                .build(),
        ),
        None => builder
            .initial_instance_count(instance_count)
            .instance_type(ProductionVariantInstanceType::from(
                resources.instance_type.as_str(),
            )),
    };
    sm.create_endpoint_config()
        .endpoint_config_name(name)
        .production_variants(variant.build())
        .send()
        .await
        .map(|_| ())
        .or_else(|e| already_exists(e, "CreateEndpointConfig"))
}

/// The SDK does not retry a deployment call by itself: an attempt that AWS applied but whose
/// answer was lost (a 5xx, a timeout) would be sent again and start a second deployment once the
/// first has ended. The error goes up instead (`AwsTransient`), and Deploy's next attempt
/// describes the endpoint first: already serving, or busy deploying, this config.
fn no_sdk_retry() -> aws_sdk_sagemaker::config::Builder {
    aws_sdk_sagemaker::config::Builder::default()
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
}

pub async fn create_endpoint(sm: &Client, endpoint: &str, config: &str) -> Result<()> {
    sm.create_endpoint()
        .endpoint_name(endpoint)
        .endpoint_config_name(config)
        .tags(
            Tag::builder()
                .key("pipeline")
                .value("prophet-retraining")
                .build(),
        )
        .customize()
        .config_override(no_sdk_retry())
        .send()
        .await
        .map_err(|e| aws_error("CreateEndpoint", e))?;
    Ok(())
}

/// Switch the endpoint to `config` with `deployment`. Returns false when SageMaker refuses
/// because another update is in progress (the endpoint is busy: retry later).
pub async fn update_endpoint(
    sm: &Client,
    endpoint: &str,
    config: &str,
    deployment: DeploymentConfig,
) -> Result<bool> {
    let result = sm
        .update_endpoint()
        .endpoint_name(endpoint)
        .endpoint_config_name(config)
        .deployment_config(deployment)
        .customize()
        .config_override(no_sdk_retry())
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.meta().code() == Some("ValidationException")
                    && s.meta()
                        .message()
                        .unwrap_or_default()
                        .contains("Cannot update in-progress")
            }) =>
        {
            Ok(false)
        }
        Err(e) => Err(aws_error("UpdateEndpoint", e)),
    }
}

/// A forecast from the endpoint (sagemaker-runtime InvokeEndpoint, JSON in and out). `Ok(Ok)`:
/// the model's answer; `Ok(Err)`: the model failed to answer (SageMaker's ModelError, with the
/// model's own status and message); `Err`: the call itself failed (throttled, denied, no such
/// endpoint), classified as every AWS error is.
pub async fn invoke(
    smr: &aws_sdk_sagemakerruntime::Client,
    endpoint: &str,
    body: Vec<u8>,
) -> Result<std::result::Result<Vec<u8>, String>> {
    use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
    match smr
        .invoke_endpoint()
        .endpoint_name(endpoint)
        .content_type("application/json")
        .accept("application/json")
        .body(aws_sdk_sagemakerruntime::primitives::Blob::new(body))
        .send()
        .await
    {
        Ok(out) => Ok(Ok(out
            .body()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default())),
        Err(e) => match e.as_service_error() {
            Some(InvokeEndpointError::ModelError(m)) => Ok(Err(format!(
                "the model answered {}: {}",
                m.original_status_code().unwrap_or_default(),
                m.original_message().unwrap_or_default()
            ))),
            _ => Err(aws_error("InvokeEndpoint", e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(status: &str) -> EndpointInfo {
        EndpointInfo {
            status: status.into(),
            config_name: "c".into(),
            failure_reason: None,
            last_modified: None,
            variants: Vec::new(),
            pending_config: None,
            baking: false,
        }
    }

    #[test]
    fn busy_states() {
        for s in ["Creating", "Updating", "SystemUpdating", "RollingBack"] {
            assert!(info(s).is_busy(), "{s}");
        }
        for s in [
            "InService",
            "Failed",
            "OutOfService",
            "Deleting",
            "UpdateRollbackFailed",
        ] {
            assert!(!info(s).is_busy(), "{s}");
        }
    }

    #[tokio::test]
    async fn a_model_or_config_that_exists_is_created_and_other_refusals_are_errors() {
        use aws_sdk_sagemaker::operation::create_endpoint_config::CreateEndpointConfigError;
        use aws_sdk_sagemaker::operation::create_model::CreateModelError;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        use aws_smithy_types::error::ErrorMetadata;
        let refusal = |message: &'static str| {
            ErrorMetadata::builder()
                .code("ValidationException")
                .message(message)
                .build()
        };
        let exists = mock!(aws_sdk_sagemaker::Client::create_model).then_error(move || {
            CreateModelError::generic(refusal(
                "Cannot create already existing model \"arn:aws:sagemaker:us-east-1:1:model/m\".",
            ))
        });
        let sm = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, &[&exists]);
        assert!(create_model(&sm, "m", "arn:aws:iam::1:role/r", "arn:v")
            .await
            .is_ok());
        let bad_role = mock!(aws_sdk_sagemaker::Client::create_model)
            .then_error(move || CreateModelError::generic(refusal("Could not assume role")));
        let sm = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, &[&bad_role]);
        let err = create_model(&sm, "m", "arn:aws:iam::1:role/r", "arn:v")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Could not assume role"), "{err}");
        let config_exists =
            mock!(aws_sdk_sagemaker::Client::create_endpoint_config).then_error(move || {
                CreateEndpointConfigError::generic(refusal(
                    "Cannot create already existing endpoint configuration \"arn\".",
                ))
            });
        let sm = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, &[&config_exists]);
        let resources = crate::config::example().endpoint;
        assert!(
            create_endpoint_config(&sm, "c", "primary", "m", &resources, 1)
                .await
                .is_ok()
        );
    }
}
