//! The local run's own side of the AWS emulator: its configuration (and the template parameters
//! the emulator reads the functions' IAM policies with), and the identity it calls with when it
//! seeds the lake, reads back what a run left and approves a version as a person would. It goes
//! through the same AWS layer and guard as the workers; its access key (`local-harness`) is the
//! emulator's administrator.

use retrain_core::aws::notify::create_topic;
use retrain_core::aws::{ops, Clients};
use retrain_core::{Config, Context, Worker};

/// The region and account of the local "stack" (the emulator's).
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

pub const LOCAL_IMAGE: &str = "local/reference-trainer:latest";
/// The SageMaker execution role the template creates (parameter `SageMakerRoleArn` left empty, as
/// the local stack leaves it): the emulator authorizes the training jobs' calls with its policies.
pub const LOCAL_ROLE: &str = "arn:aws:iam::123456789012:role/retraining-SageMakerExecutionRole";
pub const TOPIC_NAME: &str = "model-drift-alerts";
/// The ARN of the alert topic the harness creates (`connect`).
pub const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:model-drift-alerts";

/// The harness, and every AWS operation it calls.
pub static HARNESS: Worker = Worker {
    name: "local-harness",
    operations: &[
        ops::S3_CREATE_BUCKET,
        ops::S3_PUT_OBJECT,
        ops::S3_GET_OBJECT,
        ops::S3_LIST_OBJECTS_V2,
        ops::SNS_CREATE_TOPIC,
        ops::SM_DESCRIBE_ENDPOINT,
        ops::SM_DESCRIBE_ENDPOINT_CONFIG,
        ops::SM_LIST_MODEL_PACKAGES,
        ops::SM_UPDATE_MODEL_PACKAGE,
        ops::SM_LIST_TRAINING_JOBS,
        ops::SM_DESCRIBE_TRAINING_JOB,
        ops::SMR_INVOKE_ENDPOINT,
        ops::CW_DESCRIBE_ALARMS,
    ],
};

/// The endpoint of a local run (the configuration's default).
pub const LOCAL_ENDPOINT: &str = "prophet-fastapi-endpoint-latest";

/// The rollback alarms template.yaml gives Deploy (ROLLBACK_ALARMS) for `endpoint`.
pub fn rollback_alarms(endpoint: &str) -> String {
    ["invocation-5xx-errors", "model-latency", "forecast-canary"]
        .map(|a| format!("{endpoint}-{a}"))
        .join(",")
}

/// The configuration a local run takes from its environment (`make demo ENDPOINT_TYPE=Serverless
/// TRAINING_SPOT=false`): the endpoint's type and the training's spot option. Everything else is
/// the guide's defaults.
pub const LOCAL_CHOICES: &[&str] = &[
    "ENDPOINT_TYPE",
    "SERVERLESS_MEMORY_MB",
    "SERVERLESS_MAX_CONCURRENCY",
    "TRAINING_SPOT",
    "TRAINING_MAX_WAIT_SECONDS",
];

/// The workers' configuration for a local run: the guide's defaults, a fast poll.
pub fn local_config(topic_arn: &str) -> Config {
    let topic = topic_arn.to_string();
    retrain_core::config::from_lookup(move |k| match k {
        "ECR_IMAGE_URI" => Some(LOCAL_IMAGE.to_string()),
        "SAGEMAKER_ROLE" => Some(LOCAL_ROLE.to_string()),
        "SNS_TOPIC_ARN" => Some(topic.clone()),
        "POLL_SECONDS" => Some("1".to_string()),
        // The template's deployment guardrails (the emulator creates them as the stack would).
        "ROLLBACK_ALARMS" => Some(rollback_alarms(LOCAL_ENDPOINT)),
        // The cost options a local run may choose (`make demo ENDPOINT_TYPE=Serverless`).
        k if LOCAL_CHOICES.contains(&k) => std::env::var(k).ok(),
        _ => None,
    })
    .expect("the local configuration is valid")
}

/// The template parameters of the local run's "stack", matching `local_config` (the emulator
/// reads template.yaml's policies with them). The alert topic is the one the harness creates
/// (`ExistingTopicArn`).
pub fn template_parameters(cfg: &Config) -> serde_json::Value {
    serde_json::json!({
        "BucketName": cfg.bucket,
        "TrainingImageUri": cfg.image_uri,
        // Empty: the stack creates the execution role (`LOCAL_ROLE` is its ARN).
        "SageMakerRoleArn": "",
        "EndpointName": cfg.endpoint_name,
        "ModelPackageGroupName": cfg.model_package_group,
        "MapeThreshold": cfg.mape_threshold.to_string(),
        "MapePlausibilityFloor": cfg.mape_floor.to_string(),
        "ChampionMargin": cfg.champion_margin.to_string(),
        "DriftThreshold": cfg.drift_threshold.to_string(),
        "BadRowAlertRate": cfg.bad_row_alert_rate.to_string(),
        "EarliestTicketDate": cfg.earliest_ticket_date.to_string(),
        "ExistingTopicArn": cfg.topic_arn,
        "TrainingInstanceType": cfg.training.instance_type,
        "TrainingInstanceCount": cfg.training.instance_count.to_string(),
        "TrainingVolumeGb": cfg.training.volume_gb.to_string(),
        "TrainingMaxRuntimeSeconds": cfg.training.max_runtime_seconds.to_string(),
        "EndpointInstanceType": cfg.endpoint.instance_type,
        "EndpointInstanceCount": cfg.endpoint.instance_count.to_string(),
        "TrainingSpot": cfg.training.spot.to_string(),
        "TrainingMaxWaitSeconds": cfg.training.max_wait_seconds.map(|w| w.to_string()).unwrap_or_default(),
        "EndpointType": if cfg.endpoint.serverless.is_some() { "Serverless" } else { "RealTime" },
        "ServerlessMemorySizeInMB": cfg.endpoint.serverless.map_or(2048, |s| s.memory_mb).to_string(),
        "ServerlessMaxConcurrency": cfg.endpoint.serverless.map_or(5, |s| s.max_concurrency).to_string(),
    })
}

/// The harness's context against `sdk` (the emulator's, with the harness's credentials): the
/// alert topic is created first, and its ARN is the configuration's `SNS_TOPIC_ARN`.
pub async fn connect(sdk: &aws_config::SdkConfig) -> Result<Context, String> {
    let clients = Clients::from_sdk(sdk);
    let mut harness = Context::new(local_config(TOPIC_ARN), clients, &HARNESS);
    let topic = create_topic(&harness.sns, TOPIC_NAME)
        .await
        .map_err(|e| e.to_string())?;
    if topic != TOPIC_ARN {
        return Err(format!(
            "the alert topic is {topic}, not {TOPIC_ARN} (the emulator's IAM policies name it)"
        ));
    }
    harness.cfg = local_config(&topic);
    Ok(harness)
}

/// The state machine's ARN in the local "stack" (what `$$.StateMachine.Id` is locally).
pub fn state_machine_arn() -> String {
    format!(
        "arn:aws:states:{}:{}:stateMachine:{}",
        REGION,
        ACCOUNT,
        retraining_pipeline::STATE_MACHINE_NAME
    )
}

/// What the state machine passes StartTraining for its execution `execution` of `input`,
/// started now (the definition's Parameters, with the context object's values).
pub fn start_training_request(input: serde_json::Value, execution: &str) -> serde_json::Value {
    serde_json::json!({
        "input": input,
        "execution": execution,
        "execution_arn": state_machine_arn()
            .replacen(":stateMachine:", ":execution:", 1) + ":" + execution,
        "started_at": chrono::Utc::now().to_rfc3339(),
        "state_machine": state_machine_arn(),
    })
}

/// For workers run outside an execution (the benchmarks): the state machine, with no executions,
/// in the emulator's own Step Functions, so StartTraining's single-flight check finds nobody ahead.
pub async fn create_state_machine(sdk: &aws_config::SdkConfig) -> Result<(), String> {
    aws_sdk_sfn::Client::new(sdk)
        .create_state_machine()
        .name(retraining_pipeline::STATE_MACHINE_NAME)
        .role_arn(LOCAL_ROLE)
        .definition(r#"{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}"#)
        .send()
        .await
        .map_err(|e| format!("CreateStateMachine: {e:?}"))?;
    Ok(())
}
