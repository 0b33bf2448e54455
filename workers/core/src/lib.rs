//! Shared core of the retraining workers: configuration, the payloads between states, the pure
//! decisions (gate, drift, names, input normalisation) and the AWS helpers the workers share.

pub mod archive;
pub mod config;
pub mod documents;
pub mod drift;
pub mod endpoint;
pub mod error;
pub mod gate;
pub mod input;
pub mod messages;
pub mod metrics;
pub mod names;
pub mod notify;
pub mod payload;
mod payload_docs;
pub mod registry;
pub mod s3;
pub mod tickets;
pub mod time;
pub mod versioning;

pub use config::Config;
pub use error::{Result, WorkerError};

/// An S3 client for `sdk`; path-style addressing when an endpoint URL is set (an emulator on
/// 127.0.0.1 has no bucket subdomains).
pub fn s3_client(sdk: &aws_types::SdkConfig) -> aws_sdk_s3::Client {
    let path_style = sdk.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .build(),
    )
}

/// Run a worker's handler under `lambda_runtime`: JSON logs in Lambda, text locally.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

#[cfg(feature = "test-support")]
pub mod testing;
