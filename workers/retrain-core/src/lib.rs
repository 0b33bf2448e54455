//! Shared core of the retraining workers: configuration, the payloads between states, the pure
//! decisions (gate, drift, names, input normalisation), the one AWS layer every worker and the
//! local harness call through (`aws`), and the Lambda entry point the workers share (`lambda`).

pub mod archive;
pub mod aws;
pub mod config;
pub mod documents;
pub mod drift;
pub mod error;
pub mod excerpt;
pub mod gate;
pub mod input;
pub mod json;
pub mod lambda;
pub mod messages;
pub mod metrics;
pub mod names;
pub mod payload;
mod payload_docs;
pub mod polling;
pub mod rollout;
pub mod single_flight;
pub mod tickets;
pub mod time;
pub mod versioning;

pub use aws::{Context, Worker};
pub use config::Config;
pub use error::{Result, WorkerError};

#[cfg(feature = "runtime-api")]
pub mod runtime_api;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
