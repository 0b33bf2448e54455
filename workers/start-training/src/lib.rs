//! The start-training worker: its handler, callable with any clients (the Lambda binary, tests, the local run).

mod approval;
mod data;
pub mod handler;
mod training;
