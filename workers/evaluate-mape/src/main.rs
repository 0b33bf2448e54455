//! The evaluate-mape Lambda function: the shared entry point with this worker's handler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    retrain_core::lambda::run(&evaluate_mape::WORKER, evaluate_mape::handler::handle).await
}
