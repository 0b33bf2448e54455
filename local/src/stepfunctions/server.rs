//! The local Step Functions over HTTP (the awsJson1_0 protocol: `X-Amz-Target:
//! AWSStepFunctions.<Operation>`), on a free port of 127.0.0.1, for the emulator to forward to.

use std::sync::Arc;

use serde_json::{json, Value};

use super::StepFunctions;

/// Serve `sfn` on a free port of 127.0.0.1 until the process ends; its URL.
pub fn serve(sfn: Arc<StepFunctions>) -> Result<String, String> {
    let server = tiny_http::Server::http("127.0.0.1:0").map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}",
        server
            .server_addr()
            .to_ip()
            .ok_or("the local Step Functions has no IP address")?
    );
    let runtime = tokio::runtime::Handle::current();
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let target = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("X-Amz-Target"))
                .map(|h| h.value.as_str().to_string())
                .unwrap_or_default();
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let operation = target.strip_prefix("AWSStepFunctions.").unwrap_or("");
            let parsed: Value = if body.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str(&body).unwrap_or(Value::Null)
            };
            let result = {
                let _in_runtime = runtime.enter();
                if parsed.is_object() {
                    sfn.call(operation, &parsed)
                } else {
                    Err(super::api_error(
                        "SerializationException",
                        "the body is not a JSON object",
                    ))
                }
            };
            let (status, payload) = match result {
                Ok(v) => (200, v),
                Err(e) => (400, json!({"__type": e.code, "message": e.message})),
            };
            let header = tiny_http::Header::from_bytes(
                &b"Content-Type"[..],
                &b"application/x-amz-json-1.0"[..],
            )
            .expect("a valid header");
            let response = tiny_http::Response::from_string(payload.to_string())
                .with_status_code(status)
                .with_header(header);
            let _ = request.respond(response);
        }
    });
    Ok(url)
}
