//! The events EventBridge delivers to the pipeline, as the local proving ground plays EventBridge
//! (a person's approval in `Testbed`) and as the tests build them.

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
