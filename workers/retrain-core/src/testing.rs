//! Test support for the workers: request recorders for aws-smithy-mocks rules, and canned
//! SageMaker "not found" errors in the shapes the service really uses.

use std::sync::{Arc, Mutex};

use aws_smithy_types::error::ErrorMetadata;

/// Records every request a mocked operation receives, so a test can assert its fields.
#[derive(Debug)]
pub struct Recorder<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Recorder<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for Recorder<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<T: Clone> Recorder<T> {
    pub fn record(&self, req: &T) {
        self.0.lock().unwrap().push(req.clone());
    }

    pub fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The only request; panics (failing the test) when there were none or several.
    pub fn one(&self) -> T {
        let all = self.all();
        assert_eq!(
            all.len(),
            1,
            "expected exactly one request, got {}",
            all.len()
        );
        all[0].clone()
    }
}

/// SageMaker's "does not exist" for Describe* of endpoints, configs, models and groups.
pub fn validation_not_found(what: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("ValidationException")
        .message(format!("Could not find {what}."))
        .build()
}

pub fn throttled() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("ThrottlingException")
        .message("Rate exceeded")
        .build()
}

/// Clients that answer nothing: every call fails the test ("no rule matched"). Tests replace the
/// clients their worker uses with mocks: `Clients { sm, ..testing::clients() }`.
pub fn clients() -> crate::aws::Clients {
    use aws_smithy_mocks::{mock_client, Rule, RuleMode};
    let none: &[&Rule] = &[];
    crate::aws::Clients {
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, none),
        sm: mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, none),
        cw: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, none),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, none),
        sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, none),
        smr: mock_client!(aws_sdk_sagemakerruntime, RuleMode::MatchAny, none),
    }
}

pub use retrain_contract::testing::approval_event;

mod mock_context;
mod sagemaker;
pub use mock_context::{MockContext, Mocked, PutObject};
pub use sagemaker::{
    model_package, registering, serving_endpoint, version_summary, SERVING_ENDPOINT,
};
