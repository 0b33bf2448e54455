//! Lambda entry point: wires tracing, configuration and clients once per cold start.

use check_status::handler;

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    retrain_core::init_tracing();
    // Validated like every worker's, so a broken deployment fails at cold start everywhere.
    retrain_core::Config::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sm = aws_sdk_sagemaker::Client::new(&sdk);
    let sm = &sm;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler::handle(sm, event.payload, chrono::Utc::now()).await
    }))
    .await
}
