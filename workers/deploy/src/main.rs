//! The deploy Lambda function: the shared entry point with this worker's handler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    retrain_core::lambda::run(&deploy::WORKER, deploy::handler::handle).await
}
