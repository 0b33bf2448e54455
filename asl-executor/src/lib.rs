//! An offline executor for the Amazon States Language subset this project's state machine uses.
//!
//! It loads the definition file itself (with CloudFormation-style `${...}` substitutions),
//! rejects at load time what it does not support or what AWS would refuse, and runs executions
//! with Task states dispatched to in-process async handlers. All time goes through tokio, so
//! tests run with paused time. No crate does this (see docs/testing.md).

pub mod choice;
pub mod definition;
pub mod errors;
pub mod exec;
pub mod io;
pub mod path;
pub mod retry;

pub use definition::{Definition, LoadError};
pub use exec::{
    handler, Event, Execution, Executor, Handler, HistoryEvent, Observer, Status, StopSignal,
    TaskError, PAYLOAD_LIMIT_BYTES,
};
