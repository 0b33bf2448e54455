//! Lambda entry point: wires tracing, configuration and clients once per cold start.

use start_training::handler;

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use retrain_core::Config;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    retrain_core::init_tracing();
    let cfg = Config::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let deps = handler::Deps {
        cfg,
        s3: retrain_core::s3_client(&sdk),
        sm: aws_sdk_sagemaker::Client::new(&sdk),
        cw: aws_sdk_cloudwatch::Client::new(&sdk),
        sns: aws_sdk_sns::Client::new(&sdk),
    };
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler::handle(deps, event.payload, chrono::Utc::now()).await
    }))
    .await
}
