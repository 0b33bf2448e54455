//! The floor of a Rust Lambda cold start: a minimal `lambda_runtime` function that answers its
//! event as it came. `coldstart-bench` measures every worker beside it.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
