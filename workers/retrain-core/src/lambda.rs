//! The one entry point of every worker's Lambda binary: tracing, configuration and clients once
//! per cold start, then the handler for each event under `lambda_runtime`.
//!
//! The runtime is handed the event as raw JSON text ([`RawValue`] accepts any well-formed JSON:
//! it checks no number range and no nesting depth); the worker parses it itself
//! ([`event_value`]), so an event that no handler could read (a number out of range, nesting
//! beyond serde_json's limit) fails as `InvalidInput` naming the cause, like every other bad
//! input, not as the runtime's own `Runtime.DeserializeError`.

use std::future::Future;

use lambda_runtime::{service_fn, LambdaEvent};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::aws::{Context, Worker};
use crate::error::{diagnostic, Result, WorkerError};
use crate::excerpt::quote;

/// The event as a JSON value, or `InvalidInput` saying why it cannot be one.
pub fn event_value(raw: &RawValue) -> Result<Value> {
    serde_json::from_str(raw.get()).map_err(|e| {
        WorkerError::invalid(
            "input",
            format!(
                "the event is not usable JSON: {e} (event {})",
                quote(raw.get())
            ),
        )
    })
}

/// One invocation: parse the raw event, then run the handler. The handler's future is boxed:
/// the workers' futures are deep, and nesting them in the runtime's own types as they are
/// overflows the compiler's layout depth.
pub async fn invoke<F, Fut, T>(ctx: &'static Context, handler: &F, raw: Box<RawValue>) -> Result<T>
where
    F: Fn(&'static Context, Value) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let event = event_value(&raw)?;
    drop(raw);
    Box::pin(handler(ctx, event)).await
}

/// Run `handler` as `worker`'s Lambda function. A configuration error fails the cold start
/// (Lambda reports it as an init error, naming the variable) before any event is taken.
pub async fn run<F, Fut, T>(
    worker: &'static Worker,
    handler: F,
) -> std::result::Result<(), lambda_runtime::Error>
where
    F: Fn(&'static Context, Value) -> Fut,
    Fut: Future<Output = Result<T>>,
    T: Serialize,
{
    // JSON logs in Lambda (AWS_LAMBDA_LOG_FORMAT=JSON), text elsewhere.
    lambda_runtime::tracing::init_default_subscriber();
    let cfg = crate::config::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Built once and kept for the life of the process, as every invocation shares it.
    let ctx: &'static Context = Box::leak(Box::new(Context::from_sdk(cfg, &sdk, worker)));
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            invoke(ctx, handler, event.payload)
                .await
                .map_err(diagnostic)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the runtime does with an invocation's body: `serde_path_to_error` over
    /// `serde_json::Deserializer::from_slice` (lambda_runtime 1.5 `deserializer.rs`).
    fn as_the_runtime_reads(body: &str) -> Box<RawValue> {
        let de = &mut serde_json::Deserializer::from_slice(body.as_bytes());
        serde_path_to_error::deserialize(de).expect("the runtime accepts any well-formed JSON")
    }

    #[test]
    fn events_no_handler_could_read_are_invalid_input() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        for (body, says) in [
            (
                r#"{"input": {"mape_threshold": 1e400}}"#,
                "number out of range",
            ),
            (deep.as_str(), "recursion limit"),
        ] {
            let raw = as_the_runtime_reads(body);
            match event_value(&raw) {
                Err(WorkerError::InvalidInput { field, reason }) => {
                    assert_eq!(field, "input");
                    assert!(reason.contains(says), "{reason}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_huge_event_is_quoted_as_an_excerpt() {
        let body = format!(
            r#"{{"input": {{"x": "{}", "n": 1e999}}}}"#,
            "a".repeat(1 << 20)
        );
        let err = event_value(&as_the_runtime_reads(&body)).unwrap_err();
        let text = err.to_string();
        assert!(text.len() < 700, "{} bytes", text.len());
        assert!(text.contains("bytes)"), "{text}");
    }

    #[test]
    fn a_good_event_reads_unchanged() {
        let raw = as_the_runtime_reads(r#"{"input": {"force": true}, "execution": "e"}"#);
        assert_eq!(
            event_value(&raw).unwrap(),
            serde_json::json!({"input": {"force": true}, "execution": "e"})
        );
    }
}
