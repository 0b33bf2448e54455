//! The deploy worker: its handler, called with a `retrain_core::Context` (by the Lambda binary, the tests and the local run).

mod endpoint;
pub mod handler;

use retrain_core::aws::ops;
use retrain_core::Worker;

/// This worker, and every AWS operation it calls: its clients refuse any other, and its
/// function's policy in template.yaml allows exactly these (tests/template.rs).
pub static WORKER: Worker = Worker {
    name: "deploy",
    operations: &[
        ops::S3_PUT_OBJECT,
        ops::S3_LIST_OBJECTS_V2,
        ops::S3_GET_OBJECT,
        ops::SFN_GET_EXECUTION_HISTORY,
        ops::SM_LIST_MODEL_PACKAGES,
        ops::SM_CREATE_MODEL_PACKAGE,
        ops::SM_DESCRIBE_MODEL_PACKAGE,
        ops::SM_DESCRIBE_MODEL,
        ops::SM_CREATE_MODEL,
        ops::SM_DESCRIBE_ENDPOINT_CONFIG,
        ops::SM_CREATE_ENDPOINT_CONFIG,
        ops::SM_DESCRIBE_ENDPOINT,
        ops::SM_CREATE_ENDPOINT,
        ops::SM_UPDATE_ENDPOINT,
    ],
};
