//! The reject-and-alert Lambda function: the shared entry point with this worker's handler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    retrain_core::lambda::run(&reject_and_alert::WORKER, reject_and_alert::handler::handle).await
}
