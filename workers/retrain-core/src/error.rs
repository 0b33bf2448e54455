//! The workers' error type. Each variant's name is the `error_type` Lambda reports, which is the
//! name the state machine's `Retry` and `Catch` blocks match in `ErrorEquals`.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;

use crate::excerpt::{clip, MESSAGE_CHARS, REASON_CHARS};

/// The longest field, variable or location name an error keeps.
const FIELD_CHARS: usize = 160;

/// Error names the state machine retries (see `statemachine/retrain.asl.json`).
pub const RETRYABLE: &[&str] = &["AwsTransient", "EndpointBusy"];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WorkerError {
    /// The execution input (or a payload between states) is malformed. Nothing was changed.
    #[error("invalid input: field `{field}`: {reason}")]
    InvalidInput { field: String, reason: String },

    /// An environment variable is missing or malformed. Raised at cold start.
    #[error("invalid configuration: {var}: {reason}")]
    Config { var: String, reason: String },

    /// Throttling, a 5xx, a timeout or a dropped connection: worth retrying.
    #[error("transient AWS error in {operation}: {message}")]
    AwsTransient { operation: String, message: String },

    /// Any other AWS error: retrying will not help.
    #[error("AWS error in {operation}: {code}: {message}")]
    Aws {
        operation: String,
        code: String,
        message: String,
    },

    /// The endpoint is Creating/Updating/RollingBack: retry later, the deploy has not started.
    #[error("endpoint {endpoint} is busy ({status}); retry once it is InService")]
    EndpointBusy { endpoint: String, status: String },

    /// The endpoint is in a state no deploy can recover from (Failed, Deleting, ...).
    #[error("endpoint {endpoint} cannot be updated: {status}: {reason}")]
    EndpointFailed {
        endpoint: String,
        status: String,
        reason: String,
    },

    /// Something the run depends on does not exist (training job, model version, endpoint).
    #[error("not found: {what}")]
    NotFound { what: String },

    /// Deploy was asked to ship a model the gate refuses (MAPE unknown, or at or over the threshold).
    #[error("refusing to deploy: {reason}")]
    GateRefused { reason: String },

    /// Data read from S3 is unusable (a JSON document that does not parse, a bad archive).
    #[error("bad data in {location}: {reason}")]
    BadData { location: String, reason: String },

    /// An approval waited its longest for another run to end: not deployed, redrive it later.
    #[error("another run is still in progress after {waited_seconds} s: {other}; redrive this execution once it has ended")]
    RunInProgress { other: String, waited_seconds: u64 },
}

/// What a [`Context`](crate::aws::Context)'s client fails with when its worker does not declare
/// the operation (the source of the SDK's error; nothing was sent).
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{worker} does not declare {service}:{operation} (add it to the worker's operations, and its IAM action to the function's policy in template.yaml)")]
pub struct UndeclaredOperation {
    pub worker: String,
    pub service: String,
    pub operation: String,
}

impl WorkerError {
    /// The name the state machine sees as the error (`Diagnostic::error_type`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "InvalidInput",
            Self::Config { .. } => "ConfigError",
            Self::AwsTransient { .. } => "AwsTransient",
            Self::Aws { .. } => "AwsError",
            Self::EndpointBusy { .. } => "EndpointBusy",
            Self::EndpointFailed { .. } => "EndpointFailed",
            Self::NotFound { .. } => "NotFound",
            Self::GateRefused { .. } => "GateRefused",
            Self::BadData { .. } => "BadData",
            Self::RunInProgress { .. } => "RunInProgress",
        }
    }

    pub fn is_retryable(&self) -> bool {
        RETRYABLE.contains(&self.name())
    }

    /// The constructors clip what they are given (see [`crate::excerpt`]): an error never
    /// carries a whole oversized input into a cause or an alert.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: clip(&field.into(), FIELD_CHARS),
            reason: clip(&reason.into(), REASON_CHARS),
        }
    }

    pub fn config(var: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            var: clip(&var.into(), FIELD_CHARS),
            reason: clip(&reason.into(), REASON_CHARS),
        }
    }

    pub fn bad_data(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadData {
            location: clip(&location.into(), FIELD_CHARS),
            reason: clip(&reason.into(), REASON_CHARS),
        }
    }
}

impl From<WorkerError> for Diagnostic {
    fn from(err: WorkerError) -> Self {
        Diagnostic {
            error_type: err.name().to_string(),
            // Every variant's text is bounded here, whichever way it was built.
            error_message: clip(&err.to_string(), MESSAGE_CHARS),
        }
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

pub type Result<T> = std::result::Result<T, WorkerError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_the_variant_name() {
        let d: Diagnostic = WorkerError::EndpointBusy {
            endpoint: "ep".into(),
            status: "Updating".into(),
        }
        .into();
        assert_eq!(d.error_type, "EndpointBusy");
        assert!(d.error_message.contains("Updating"));
        let d: Diagnostic = WorkerError::invalid("mape_threshold", "must be in (0, 100]").into();
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
            let d: Diagnostic = err.into();
            assert!(d.error_message.chars().count() <= MESSAGE_CHARS);
            assert!(
                d.error_message.contains("bytes in all"),
                "{}",
                d.error_message
            );
        }
    }

    #[test]
    fn only_transient_and_busy_are_retryable() {
        assert!(WorkerError::AwsTransient {
            operation: "x".into(),
            message: "y".into()
        }
        .is_retryable());
        assert!(!WorkerError::invalid("a", "b").is_retryable());
        assert!(!WorkerError::GateRefused { reason: "x".into() }.is_retryable());
    }
}
