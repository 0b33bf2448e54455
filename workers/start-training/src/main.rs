//! The start-training Lambda function: the shared entry point with this worker's handler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    retrain_core::lambda::run(&start_training::WORKER, start_training::handler::handle).await
}
