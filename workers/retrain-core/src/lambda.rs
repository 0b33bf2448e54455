//! The one entry point of every worker's Lambda binary: tracing, configuration and clients once
//! per cold start, then the handler for each event under `lambda_runtime`.

use std::future::Future;

use lambda_runtime::{service_fn, LambdaEvent};
use serde::Serialize;
use serde_json::Value;

use crate::aws::{Context, Worker};
use crate::config::Config;
use crate::error::Result;

/// Run `handler` as `worker`'s Lambda function. A configuration error fails the cold start
/// (Lambda reports it as an init error, naming the variable) before any event is taken.
pub async fn run<F, Fut, T>(
    worker: &'static Worker,
    handler: F,
) -> std::result::Result<(), lambda_runtime::Error>
where
    F: Fn(&'static Context, Value) -> Fut,
    Fut: Future<Output = Result<T>>,
    T: Serialize,
{
    // JSON logs in Lambda (AWS_LAMBDA_LOG_FORMAT=JSON), text elsewhere.
    lambda_runtime::tracing::init_default_subscriber();
    let cfg = Config::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Built once and kept for the life of the process, as every invocation shares it.
    let ctx: &'static Context = Box::leak(Box::new(Context::from_sdk(cfg, &sdk, worker)));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        handler(ctx, event.payload)
    }))
    .await
}
