//! Model, endpoint config and endpoint: each found by its derived name before it is created.

use aws_sdk_sagemaker::types::{
    CapacitySize, CapacitySizeType, DeploymentConfig, RollingUpdatePolicy,
};

use retrain_core::aws::endpoint::{
    config_model, create_endpoint, create_endpoint_config, create_model, describe_endpoint,
    model_exists, update_endpoint,
};
use retrain_core::payload::EndpointAction;
use retrain_core::{Context, Result, WorkerError};

pub const VARIANT: &str = "primary";

/// Make `name` (model and endpoint config) serve on the endpoint.
pub async fn serve(ctx: &Context, name: &str, version_arn: &str) -> Result<EndpointAction> {
    let (sm, cfg) = (&ctx.sm, &ctx.cfg);
    if !model_exists(sm, name).await? {
        create_model(sm, name, &cfg.role_arn, version_arn).await?;
    }
    if config_model(sm, name).await?.is_none() {
        create_endpoint_config(sm, name, VARIANT, name, &cfg.endpoint).await?;
    }
    let Some(endpoint) = describe_endpoint(sm, &cfg.endpoint_name).await? else {
        create_endpoint(sm, &cfg.endpoint_name, name).await?;
        return Ok(EndpointAction::Created);
    };
    if endpoint.config_name == name {
        // An earlier attempt already switched it (it may still be Updating): nothing to do.
        return Ok(EndpointAction::AlreadyServing);
    }
    let busy = || WorkerError::EndpointBusy {
        endpoint: cfg.endpoint_name.clone(),
        status: "Updating".into(),
    };
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
    // Another update may start between our describe and our update: busy, retried later.
    if update_endpoint(sm, &cfg.endpoint_name, name, rolling_update()).await? {
        Ok(EndpointAction::Updated)
    } else {
        Err(busy())
    }
}

/// Rolling update: one instance at a time, 120 s between batches, an hour at most.
fn rolling_update() -> DeploymentConfig {
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
    DeploymentConfig::builder()
        .rolling_update_policy(rolling)
        .build()
}
