//! Model, endpoint config and endpoint: each found by its derived name before it is created.

use aws_sdk_sagemaker::types::{
    Alarm, AutoRollbackConfig, BlueGreenUpdatePolicy, CapacitySize, CapacitySizeType,
    DeploymentConfig, RollingUpdatePolicy, TrafficRoutingConfig, TrafficRoutingConfigType,
};

use retrain_core::aws::endpoint::{
    config_model, create_endpoint, create_endpoint_config, create_model, describe_endpoint,
    model_exists, update_endpoint,
};
use retrain_core::payload::EndpointAction;
use retrain_core::rollout::{
    adopt_variant, rollout_to, switch_allowed, Rollout, BAKE_SECONDS, MAX_UPDATE_SECONDS,
};
use retrain_core::{Context, Result, WorkerError};

/// What the endpoint served before: its config, when this call switched it.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub action: EndpointAction,
    pub previous_config: Option<String>,
}

/// Make `name` (model and endpoint config) serve on the endpoint.
pub async fn serve(ctx: &Context, name: &str, version_arn: &str) -> Result<Served> {
    let served = |action, previous_config| Served {
        action,
        previous_config,
    };
    let (sm, cfg) = (&ctx.sm, &ctx.cfg);
    if !model_exists(sm, name).await? {
        create_model(sm, name, &cfg.role_arn, version_arn).await?;
    }
    let endpoint = describe_endpoint(sm, &cfg.endpoint_name).await?;
    // The serving endpoint's variant name and fleet size, whoever created it.
    let (variant, instance_count) = adopt_variant(
        endpoint.as_ref().map(|e| e.variants.as_slice()),
        cfg.endpoint.instance_count,
    )
    .map_err(|reason| WorkerError::EndpointFailed {
        endpoint: cfg.endpoint_name.clone(),
        status: "unsupported".into(),
        reason,
    })?;
    // Refused before anything is created: SageMaker cannot make an instance-based endpoint
    // serverless (a new endpoint name is the way over).
    let serverless = cfg.endpoint.serverless.is_some();
    if let Some(e) = endpoint.as_ref().filter(|e| e.config_name != name) {
        switch_allowed(&cfg.endpoint_name, &e.variants, serverless).map_err(|reason| {
            WorkerError::EndpointFailed {
                endpoint: cfg.endpoint_name.clone(),
                status: e.status.clone(),
                reason,
            }
        })?;
    }
    if config_model(sm, name).await?.is_none() {
        create_endpoint_config(sm, name, &variant, name, &cfg.endpoint, instance_count).await?;
    }
    let Some(endpoint) = endpoint else {
        create_endpoint(sm, &cfg.endpoint_name, name).await?;
        return Ok(served(EndpointAction::Created, None));
    };
    if endpoint.config_name == name {
        // An earlier attempt already switched it (it may still be Updating): nothing to do.
        return Ok(served(EndpointAction::AlreadyServing, None));
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
    // Another update may start between our describe and our update: busy, retried later.
    let deployment = deployment(instance_count, serverless, &cfg.rollback_alarms);
    if update_endpoint(sm, &cfg.endpoint_name, name, deployment).await? {
        Ok(served(EndpointAction::Updated, Some(endpoint.config_name)))
    } else {
        Err(WorkerError::EndpointBusy {
            endpoint: cfg.endpoint_name.clone(),
            status: "Updating".into(),
        })
    }
}

/// The update for the new config's instance count (see `rollout`; a serverless config is always
/// blue/green), with SageMaker's automatic rollback on the endpoint's own alarms when the
/// configuration names any.
pub fn deployment(
    instance_count: i32,
    serverless: bool,
    rollback_alarms: &[String],
) -> DeploymentConfig {
    let mut config = DeploymentConfig::builder();
    config = match rollout_to(instance_count, serverless) {
        Rollout::BlueGreenAllAtOnce => config.blue_green_update_policy(
            BlueGreenUpdatePolicy::builder()
                .traffic_routing_configuration(
                    TrafficRoutingConfig::builder()
                        .r#type(TrafficRoutingConfigType::AllAtOnce)
                        .wait_interval_in_seconds(0)
                        .build(),
                )
                .termination_wait_in_seconds(BAKE_SECONDS)
                .maximum_execution_timeout_in_seconds(MAX_UPDATE_SECONDS)
                .build(),
        ),
        Rollout::Rolling { batch } => config.rolling_update_policy(
            RollingUpdatePolicy::builder()
                .maximum_batch_size(
                    CapacitySize::builder()
                        .r#type(CapacitySizeType::InstanceCount)
                        .value(batch)
                        .build(),
                )
                .wait_interval_in_seconds(BAKE_SECONDS)
                .maximum_execution_timeout_in_seconds(MAX_UPDATE_SECONDS)
                .build(),
        ),
    };
    if !rollback_alarms.is_empty() {
        let mut rollback = AutoRollbackConfig::builder();
        for name in rollback_alarms {
            rollback = rollback.alarms(Alarm::builder().alarm_name(name).build());
        }
        config = config.auto_rollback_configuration(rollback.build());
    }
    config.build()
}
