//! The reference trainer (`examples/reference-trainer`) as a command: the proving ground's
//! default training job.

#[tokio::main]
async fn main() {
    reference_trainer::main().await
}
