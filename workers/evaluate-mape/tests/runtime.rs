//! The evaluate-mape binary run as Lambda runs it, under a local Lambda Runtime API: events the
//! runtime's own deserializer could not have handed to a handler (a number out of range,
//! nesting past serde_json's limit) come back as `InvalidInput` naming the cause, like every
//! other bad input; a missing environment variable fails the cold start naming it, before any
//! event is taken. (Every worker's `main` is the same `retrain_core::lambda::run`.)

use std::process::{Command, Stdio};
use std::time::Duration;

use retrain_core::runtime_api::{wait_exit, RuntimeApi};

fn worker(api: &RuntimeApi, without: Option<&str>) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evaluate-mape"));
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "evaluate-mape")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/evaluate-mape")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "evaluate-mape")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        // Never reached: no event here gets as far as an AWS call.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env(
            "ECR_IMAGE_URI",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/prophet-forecast:latest",
        )
        .env(
            "SAGEMAKER_ROLE",
            "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        )
        .env(
            "SNS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:model-drift-alerts",
        );
    if let Some(var) = without {
        cmd.env_remove(var);
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker binary runs")
}

#[test]
fn events_the_runtime_could_not_deserialize_are_invalid_input() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let events = vec![
        r#"{"run": {"mape_threshold": 1e400}}"#.to_string(),
        deep,
        r#"{"job": {}}"#.to_string(),
    ];
    let api = RuntimeApi::serve(events).unwrap();
    let mut child = worker(&api, None);
    let expected = [
        ("req-1", "number out of range"),
        ("req-2", "recursion limit exceeded"),
        ("req-3", "field `job.kind`: missing field"),
    ];
    for (id, says) in expected {
        let answer = api
            .answer(Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no answer to {id}"));
        assert_eq!(answer.request_id.as_deref(), Some(id));
        assert_eq!(answer.kind, "error", "{answer:?}");
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(body["errorType"], "InvalidInput", "{body}");
        let message = body["errorMessage"].as_str().unwrap();
        assert!(message.contains(says), "{id}: {message}");
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_missing_variable_fails_the_cold_start_naming_it() {
    let api = RuntimeApi::serve(vec![r#"{"run": {}}"#.to_string()]).unwrap();
    let mut child = worker(&api, Some("SNS_TOPIC_ARN"));
    let status = wait_exit(&mut child, Duration::from_secs(30)).expect("the process exits");
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("SNS_TOPIC_ARN") && stderr.contains("is required and not set"),
        "{stderr}"
    );
    assert!(
        api.answer(Duration::from_millis(200)).is_none(),
        "no event was taken"
    );
}
