//! The workers' errors as AWS sees them: the Lambda `Diagnostic` (its `error_type` is the name
//! the state machine's `Retry` and `Catch` match), an SDK error classified as transient or not,
//! and the context's refusal of an undeclared operation. The error type itself is the
//! contract's ([`retrain_contract::error`]).

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;

pub use retrain_contract::error::{Result, WorkerError, RETRYABLE};
use retrain_contract::excerpt::{clip, MESSAGE_CHARS};

/// What a [`Context`](crate::aws::Context)'s client fails with when its worker does not declare
/// the operation (the source of the SDK's error; nothing was sent).
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{worker} does not declare {service}:{operation} (add it to the worker's operations, and its IAM action to the function's policy in template.yaml)")]
pub struct UndeclaredOperation {
    pub worker: String,
    pub service: String,
    pub operation: String,
}

/// What Lambda reports for a failed invocation: the variant's name and its bounded text.
pub fn diagnostic(err: WorkerError) -> Diagnostic {
    Diagnostic {
        error_type: err.name().to_string(),
        // Every variant's text is bounded here, whichever way it was built.
        error_message: clip(&err.to_string(), MESSAGE_CHARS),
    }
}

/// Error codes AWS services use for throttling or temporary unavailability.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "RequestTimeout",
];

/// Classify an SDK error of any operation: transient (retryable) or not.
pub fn aws_error<E, R>(
    operation: &str,
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> WorkerError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    // Refused by the context's guard before it was sent: a bug in the worker's declarations.
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&err);
    while let Some(e) = source {
        if let Some(undeclared) = e.downcast_ref::<UndeclaredOperation>() {
            return WorkerError::Aws {
                operation: operation.to_string(),
                code: "UndeclaredOperation".into(),
                message: undeclared.to_string(),
            };
        }
        source = e.source();
    }
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            WorkerError::AwsTransient {
                operation: operation.to_string(),
                message: format!("{err:?}"),
            }
        }
        _ => {
            let code = err.code().unwrap_or("Unknown").to_string();
            let message = err
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| err.to_string());
            if TRANSIENT_CODES.contains(&code.as_str()) {
                WorkerError::AwsTransient {
                    operation: operation.to_string(),
                    message: format!("{code}: {message}"),
                }
            } else {
                WorkerError::Aws {
                    operation: operation.to_string(),
                    code,
                    message,
                }
            }
        }
    }
}

/// SageMaker reports "does not exist" in several shapes: a modeled `ResourceNotFound`, or a
/// `ValidationException` whose message says so (DescribeEndpoint, DescribeModel, ...).
pub fn is_not_found<E: ProvideErrorMetadata>(err: &E) -> bool {
    let code = err.code().unwrap_or_default();
    let message = err.message().unwrap_or_default().to_ascii_lowercase();
    code == "ResourceNotFound"
        || code == "NoSuchKey"
        || code == "NotFound"
        || (code == "ValidationException"
            && (message.contains("could not find")
                || message.contains("does not exist")
                || message.contains("not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_the_variant_name() {
        let d = diagnostic(WorkerError::EndpointBusy {
            endpoint: "ep".into(),
            status: "Updating".into(),
        });
        assert_eq!(d.error_type, "EndpointBusy");
        assert!(d.error_message.contains("Updating"));
        let d = diagnostic(WorkerError::invalid(
            "mape_threshold",
            "must be in (0, 100]",
        ));
        assert_eq!(d.error_type, "InvalidInput");
        assert!(d.error_message.contains("mape_threshold"));
    }

    #[test]
    fn errors_never_carry_a_whole_oversized_value() {
        let huge = "9".repeat(1 << 20);
        for err in [
            WorkerError::invalid("mape_threshold", format!("`{huge}` is not a number")),
            WorkerError::config(huge.clone(), "x"),
            WorkerError::bad_data("s3://b/k", huge.clone()),
            WorkerError::Aws {
                operation: "Publish".into(),
                code: "InvalidParameter".into(),
                message: huge.clone(),
            },
        ] {
            let d = diagnostic(err);
            assert!(d.error_message.chars().count() <= MESSAGE_CHARS);
            assert!(
                d.error_message.contains("bytes in all"),
                "{}",
                d.error_message
            );
        }
    }
}
