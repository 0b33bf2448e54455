//! Test data of the contract: a small instance-type catalog for the contract's own tests (the
//! real one is the SDK's, in `retrain-core`), and the approval event (`events`) re-exported.

use crate::config::InstanceTypes;

/// A few of SageMaker's instance types, enough for the contract's tests of the checks.
pub const TEST_TYPES: InstanceTypes = InstanceTypes {
    training: &[
        "ml.m5.large",
        "ml.m5.xlarge",
        "ml.m5.2xlarge",
        "ml.c5.xlarge",
    ],
    endpoint: &[
        "ml.t2.medium",
        "ml.m5.large",
        "ml.m5.xlarge",
        "ml.m5.2xlarge",
        "ml.g5.xlarge",
    ],
};

pub use crate::events::approval_event;
