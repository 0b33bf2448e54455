//! The deploy worker: its handler, callable with any clients (the Lambda binary, tests, the local run).

mod endpoint;
pub mod handler;
