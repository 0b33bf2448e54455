//! The serving endpoint: its state, and which model serves now.

use aws_sdk_sagemaker::Client;
use chrono::{DateTime, Utc};

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
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(status: &str) -> EndpointInfo {
        EndpointInfo {
            status: status.into(),
            config_name: "c".into(),
            failure_reason: None,
            last_modified: None,
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
}
