//! Model, endpoint config and endpoint: each found by its derived name before it is created.

use aws_sdk_sagemaker::types::{
    CapacitySize, CapacitySizeType, ContainerDefinition, DeploymentConfig, ProductionVariant,
    ProductionVariantInstanceType, RollingUpdatePolicy, Tag,
};

use retrain_core::endpoint::{config_model, describe_endpoint};
use retrain_core::error::{aws_error, is_not_found};
use retrain_core::payload::EndpointAction;
use retrain_core::{Result, WorkerError};

use crate::handler::Deps;

pub const VARIANT: &str = "primary";

/// Make `name` (model and endpoint config) serve on the endpoint.
pub async fn serve(deps: &Deps, name: &str, version_arn: &str) -> Result<EndpointAction> {
    ensure_model(deps, name, version_arn).await?;
    ensure_config(deps, name).await?;
    let cfg = &deps.cfg;
    let Some(endpoint) = describe_endpoint(&deps.sm, &cfg.endpoint_name).await? else {
        deps.sm
            .create_endpoint()
            .endpoint_name(&cfg.endpoint_name)
            .endpoint_config_name(name)
            .tags(
                Tag::builder()
                    .key("pipeline")
                    .value("prophet-retraining")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("CreateEndpoint", e))?;
        return Ok(EndpointAction::Created);
    };
    if endpoint.config_name == name {
        // An earlier attempt already switched it (it may still be Updating): nothing to do.
        return Ok(EndpointAction::AlreadyServing);
    }
    if endpoint.is_busy() {
        return Err(WorkerError::EndpointBusy {
            endpoint: cfg.endpoint_name.clone(),
            status: endpoint.status,
        });
    }
    if endpoint.status != "InService" {
        return Err(WorkerError::EndpointFailed {
            endpoint: cfg.endpoint_name.clone(),
            reason: endpoint
                .failure_reason
                .unwrap_or_else(|| "no reason given".into()),
            status: endpoint.status,
        });
    }
    let rolling = RollingUpdatePolicy::builder()
        .maximum_batch_size(
            CapacitySize::builder()
                .r#type(CapacitySizeType::InstanceCount)
                .value(1)
                .build(),
        )
        .wait_interval_in_seconds(120)
        .maximum_execution_timeout_in_seconds(3600)
        .build();
    let result = deps
        .sm
        .update_endpoint()
        .endpoint_name(&cfg.endpoint_name)
        .endpoint_config_name(name)
        .deployment_config(
            DeploymentConfig::builder()
                .rolling_update_policy(rolling)
                .build(),
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(EndpointAction::Updated),
        // Another update started between our describe and our update.
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.meta().code() == Some("ValidationException")
                    && s.meta()
                        .message()
                        .unwrap_or_default()
                        .contains("Cannot update in-progress")
            }) =>
        {
            Err(WorkerError::EndpointBusy {
                endpoint: cfg.endpoint_name.clone(),
                status: "Updating".into(),
            })
        }
        Err(e) => Err(aws_error("UpdateEndpoint", e)),
    }
}

async fn ensure_model(deps: &Deps, name: &str, version_arn: &str) -> Result<()> {
    match deps.sm.describe_model().model_name(name).send().await {
        Ok(_) => return Ok(()),
        Err(e) if e.as_service_error().is_some_and(is_not_found) => {}
        Err(e) => return Err(aws_error("DescribeModel", e)),
    }
    deps.sm
        .create_model()
        .model_name(name)
        .execution_role_arn(&deps.cfg.role_arn)
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
        .map_err(|e| aws_error("CreateModel", e))?;
    Ok(())
}

async fn ensure_config(deps: &Deps, name: &str) -> Result<()> {
    if config_model(&deps.sm, name).await?.is_some() {
        return Ok(());
    }
    let resources = &deps.cfg.endpoint;
    deps.sm
        .create_endpoint_config()
        .endpoint_config_name(name)
        .production_variants(
            ProductionVariant::builder()
                .variant_name(VARIANT)
                .model_name(name)
                .initial_instance_count(resources.instance_count)
                .instance_type(ProductionVariantInstanceType::from(
                    resources.instance_type.as_str(),
                ))
                .initial_variant_weight(1.0)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error("CreateEndpointConfig", e))?;
    Ok(())
}
