//! The check-status Lambda function: the shared entry point with this worker's handler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    retrain_core::lambda::run(&check_status::WORKER, check_status::handler::handle).await
}
