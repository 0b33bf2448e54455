//! The start-training worker: its handler, called with a `retrain_core::Context` (by the Lambda binary, the tests and the local run).

mod approval;
mod data;
pub mod handler;
mod live;
pub mod training;

use retrain_core::aws::ops;
use retrain_core::Worker;

/// This worker, and every AWS operation it calls: its clients refuse any other, and its
/// function's policy in template.yaml allows exactly these (tests/template.rs).
pub static WORKER: Worker = Worker {
    name: "start-training",
    operations: &[
        ops::S3_LIST_OBJECTS_V2,
        ops::S3_GET_OBJECT,
        ops::SM_DESCRIBE_TRAINING_JOB,
        ops::SM_CREATE_TRAINING_JOB,
        ops::SM_DESCRIBE_MODEL_PACKAGE_GROUP,
        ops::SM_CREATE_MODEL_PACKAGE_GROUP,
        ops::SM_DESCRIBE_MODEL_PACKAGE,
        ops::SM_DESCRIBE_ENDPOINT,
        ops::SM_DESCRIBE_ENDPOINT_CONFIG,
        ops::SMR_INVOKE_ENDPOINT,
        ops::CW_PUT_METRIC_DATA,
        ops::SNS_PUBLISH,
        ops::SFN_LIST_EXECUTIONS,
        ops::SFN_DESCRIBE_EXECUTION,
        ops::S3_PUT_OBJECT,
    ],
};
