//! The reject-and-alert worker: its handler, callable with any clients (the Lambda binary, tests, the local run).

pub mod handler;
