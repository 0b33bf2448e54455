//! The check-status worker: its handler, called with a `retrain_core::Context` (by the Lambda binary, the tests and the local run).

pub mod handler;

use retrain_core::aws::ops;
use retrain_core::Worker;

/// This worker, and every AWS operation it calls: its clients refuse any other, and its
/// function's policy in template.yaml allows exactly these (tests/template.rs).
pub static WORKER: Worker = Worker {
    name: "check-status",
    operations: &[
        ops::SM_DESCRIBE_TRAINING_JOB,
        ops::SM_DESCRIBE_ENDPOINT,
        ops::SMR_INVOKE_ENDPOINT,
        ops::CW_PUT_METRIC_DATA,
    ],
};
