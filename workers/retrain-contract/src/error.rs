//! The workers' error type. Each variant's name is the `error_type` Lambda reports, which is the
//! name the state machine's `Retry` and `Catch` blocks match in `ErrorEquals`. The AWS side
//! (classifying an SDK error, the Lambda `Diagnostic`) is in `retrain-core`'s `error`.

use crate::excerpt::{clip, REASON_CHARS};

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

pub type Result<T> = std::result::Result<T, WorkerError>;

#[cfg(test)]
mod tests {
    use super::*;

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
