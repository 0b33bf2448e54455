//! The configuration (the contract's [`retrain_contract::config`]) with SageMaker's instance
//! types as the SDK's service model lists them: read once per cold start.

pub use retrain_contract::config::*;

use crate::error::Result;

/// The instance types SageMaker's API knows, from the SDK's model of it.
pub fn instance_types() -> InstanceTypes {
    InstanceTypes {
        training: aws_sdk_sagemaker::types::TrainingInstanceType::values(),
        endpoint: aws_sdk_sagemaker::types::ProductionVariantInstanceType::values(),
    }
}

/// Read from the process environment.
pub fn from_env() -> Result<Config> {
    Config::from_env(instance_types())
}

/// Read through `lookup` (tests pass a map). Empty values count as missing.
pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config> {
    Config::from_lookup(lookup, instance_types())
}

/// A configuration for tests and examples: the guide's defaults with placeholder ARNs.
pub fn example() -> Config {
    Config::example(instance_types())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_instance_types_are_the_catalog() {
        let types = instance_types();
        assert!(types.training_type("ml.m5.large").is_ok());
        assert!(types.endpoint_type("ml.g5.xlarge").is_ok());
        let err = types.training_type("ml.m5.huge").unwrap_err();
        assert!(err.contains("ml.m5.large"), "{err}");
        // ml.t2 serves but does not train.
        assert!(types.endpoint_type("ml.t2.medium").is_ok());
        assert!(types.training_type("ml.t2.medium").is_err());
        let cfg = example();
        assert_eq!(cfg.instance_types, types);
    }
}
