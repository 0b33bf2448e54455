//! The contract between the retraining states, with no AWS dependency: what they exchange
//! (`payload`, `documents`), how a run's input becomes a request (`input`, `config`), what they
//! decide (`gate`, `drift`, `single_flight`, `rollout`, `polling`), what they name and say
//! (`names`, `messages`), how ticket files are read (`tickets`, over any reader), which of them
//! are copies (`duplicates`), and how a model archive's entry names resolve (`archive_names`).
//! The AWS adapter is `retrain-core`; the operator's command depends on this crate and two SDKs
//! only.

pub mod archive_names;
pub mod bill;
pub mod champion;
pub mod config;
pub mod doctor;
pub mod documents;
pub mod drift;
pub mod duplicates;
pub mod error;
pub mod events;
pub mod excerpt;
pub mod gate;
pub mod input;
pub mod json;
pub mod live;
pub mod messages;
pub mod metrics;
pub mod names;
pub mod payload;
mod payload_docs;
pub mod polling;
pub mod predictions;
pub mod rollout;
pub mod serving;
pub mod single_flight;
pub mod tickets;

pub use config::Config;
pub use error::{Result, WorkerError};

#[cfg(any(test, feature = "test-support"))]
pub mod testing;
