//! The AWS adapter of the retraining workers: the one AWS layer every worker and the local
//! harness call through (`aws`), the Lambda entry point the workers share (`lambda`), errors as
//! AWS and Lambda see them (`error`), the configuration's SageMaker instance types (`config`),
//! and reading a job's archive (`archive`). What the states exchange and decide is the
//! contract's (`retrain-contract`), re-exported here under the same module names.

pub mod archive;
pub mod aws;
pub mod config;
pub mod error;
pub mod lambda;
pub mod time;
pub mod versioning;

pub use retrain_contract::{
    archive_names, bill, champion, doctor, documents, drift, duplicates, events, excerpt, gate,
    input, json, live, messages, metrics, names, payload, polling, predictions, rollout, serving,
    single_flight, tickets,
};

pub use aws::{Context, Worker};
pub use config::Config;
pub use error::{Result, WorkerError};

#[cfg(feature = "runtime-api")]
pub mod runtime_api;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
