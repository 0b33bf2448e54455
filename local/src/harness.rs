//! The local run's own side of the AWS emulator: its configuration, and the identity it calls
//! with when it seeds the lake, reads back what a run left and approves a version as a person
//! would. It goes through the same AWS layer and guard as the workers.

use retrain_core::aws::notify::create_topic;
use retrain_core::aws::{ops, Clients};
use retrain_core::{Config, Context, Worker};

pub const LOCAL_IMAGE: &str = "local/reference-trainer:latest";
pub const LOCAL_ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerExecutionRole";
pub const TOPIC_NAME: &str = "model-drift-alerts";

/// The harness, and every AWS operation it calls.
pub static HARNESS: Worker = Worker {
    name: "local-harness",
    operations: &[
        ops::S3_CREATE_BUCKET,
        ops::S3_PUT_OBJECT,
        ops::S3_GET_OBJECT,
        ops::SNS_CREATE_TOPIC,
        ops::SM_DESCRIBE_ENDPOINT,
        ops::SM_DESCRIBE_ENDPOINT_CONFIG,
        ops::SM_LIST_MODEL_PACKAGES,
        ops::SM_UPDATE_MODEL_PACKAGE,
        ops::SM_LIST_TRAINING_JOBS,
        ops::CW_DESCRIBE_ALARMS,
    ],
};

/// The workers' configuration for a local run: the guide's defaults, a fast poll.
pub fn local_config(topic_arn: &str) -> Config {
    let topic = topic_arn.to_string();
    Config::from_lookup(move |k| match k {
        "ECR_IMAGE_URI" => Some(LOCAL_IMAGE.to_string()),
        "SAGEMAKER_ROLE" => Some(LOCAL_ROLE.to_string()),
        "SNS_TOPIC_ARN" => Some(topic.clone()),
        "POLL_SECONDS" => Some("1".to_string()),
        _ => None,
    })
    .expect("the local configuration is valid")
}

/// The harness's context against `sdk` (the emulator's): the alert topic is created first, and
/// its ARN is the configuration's `SNS_TOPIC_ARN`.
pub async fn connect(sdk: &aws_config::SdkConfig) -> Result<Context, String> {
    let clients = Clients::from_sdk(sdk);
    let placeholder = format!("arn:aws:sns:us-east-1:123456789012:{TOPIC_NAME}");
    let mut harness = Context::new(local_config(&placeholder), clients, &HARNESS);
    let topic = create_topic(&harness.sns, TOPIC_NAME)
        .await
        .map_err(|e| e.to_string())?;
    harness.cfg = local_config(&topic);
    Ok(harness)
}
