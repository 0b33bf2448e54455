//! Test data of the contract: the approval event EventBridge delivers, and a small instance-type
//! catalog for the contract's own tests (the real one is the SDK's, in `retrain-core`).

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

/// What EventBridge delivers when a version of `group` changes approval status: the event the
/// approval rule starts a run with. Its detail-type is written out, not taken from
/// `input::APPROVAL_EVENT`, so the tests fail if that constant drifts. Add
/// `detail.CustomerMetadataProperties` where a test needs the version's metadata.
pub fn approval_event(group: &str, version: i64, arn: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "0", "id": "e-1", "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker", "account": "123456789012", "time": "2026-11-23T10:00:00Z",
        "region": "us-east-1", "resources": [arn],
        "detail": {"ModelPackageGroupName": group, "ModelPackageVersion": version,
                   "ModelPackageArn": arn, "ModelApprovalStatus": status}
    })
}
