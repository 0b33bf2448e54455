//! The one AWS layer: the context every worker (and the local harness) builds once, and one
//! module per service concern. Every SDK call of the project goes through a client of a
//! [`Context`], which only lets through the operations its [`Worker`] declares: the IAM test
//! reads those declarations, so the template's policies follow the code by construction.

pub mod endpoint;
pub mod executions;
pub mod lease;
pub mod notify;
pub mod registry;
pub mod s3;
pub mod training;

mod guard;
pub mod ops;
mod worker;

use chrono::{DateTime, Utc};

use crate::config::Config;
pub use ops::Operation;
pub use worker::Worker;

/// The service clients, before the guard of a worker is put on them.
#[derive(Clone, Debug)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sm: aws_sdk_sagemaker::Client,
    pub cw: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// sagemaker-runtime: InvokeEndpoint.
    pub smr: aws_sdk_sagemakerruntime::Client,
}

impl Clients {
    /// Clients for `sdk`; S3 path-style when an endpoint URL is set (an emulator on 127.0.0.1 has
    /// no bucket subdomains).
    pub fn from_sdk(sdk: &aws_types::SdkConfig) -> Self {
        let path_style = sdk.endpoint_url().is_some();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(path_style)
                    .build(),
            ),
            sm: aws_sdk_sagemaker::Client::new(sdk),
            cw: aws_sdk_cloudwatch::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            smr: aws_sdk_sagemakerruntime::Client::new(sdk),
        }
    }

    /// The same clients, refusing (before anything is sent) every operation `worker` does not
    /// declare.
    pub fn guarded(self, worker: &'static Worker) -> Self {
        let g = guard::Guard(worker);
        Clients {
            s3: aws_sdk_s3::Client::from_conf(self.s3.config().to_builder().interceptor(g).build()),
            sm: aws_sdk_sagemaker::Client::from_conf(
                self.sm.config().to_builder().interceptor(g).build(),
            ),
            cw: aws_sdk_cloudwatch::Client::from_conf(
                self.cw.config().to_builder().interceptor(g).build(),
            ),
            sns: aws_sdk_sns::Client::from_conf(
                self.sns.config().to_builder().interceptor(g).build(),
            ),
            sfn: aws_sdk_sfn::Client::from_conf(
                self.sfn.config().to_builder().interceptor(g).build(),
            ),
            smr: aws_sdk_sagemakerruntime::Client::from_conf(
                self.smr.config().to_builder().interceptor(g).build(),
            ),
        }
    }
}

/// The time a handler reads: the wall clock in Lambda, a fixed instant in tests.
#[derive(Clone, Copy, Debug)]
enum Clock {
    System,
    Fixed(DateTime<Utc>),
}

/// Configuration, clients and clock of one worker, built once per cold start.
#[derive(Clone, Debug)]
pub struct Context {
    pub cfg: Config,
    pub s3: aws_sdk_s3::Client,
    pub sm: aws_sdk_sagemaker::Client,
    pub cw: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub smr: aws_sdk_sagemakerruntime::Client,
    clock: Clock,
}

impl Context {
    /// The context of `worker`: each client refuses, before anything is sent, an operation the
    /// worker does not declare.
    pub fn new(cfg: Config, clients: Clients, worker: &'static Worker) -> Self {
        let Clients {
            s3,
            sm,
            cw,
            sns,
            sfn,
            smr,
        } = clients.guarded(worker);
        Context {
            cfg,
            s3,
            sm,
            cw,
            sns,
            sfn,
            smr,
            clock: Clock::System,
        }
    }

    pub fn from_sdk(cfg: Config, sdk: &aws_types::SdkConfig, worker: &'static Worker) -> Self {
        Self::new(cfg, Clients::from_sdk(sdk), worker)
    }

    /// The same context with the clock stopped at `t` (tests).
    pub fn at(mut self, t: DateTime<Utc>) -> Self {
        self.clock = Clock::Fixed(t);
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.clock {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::error::WorkerError;

    static READER: Worker = Worker {
        name: "reader",
        operations: &[ops::S3_GET_OBJECT],
    };

    /// Clients whose every request would go to a closed port of 127.0.0.1.
    fn unreachable() -> Clients {
        use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
        let sdk = aws_types::SdkConfig::builder()
            .endpoint_url("http://127.0.0.1:9")
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "test",
            )))
            .behavior_version(BehaviorVersion::latest())
            .build();
        Clients::from_sdk(&sdk)
    }

    #[tokio::test]
    async fn a_context_refuses_what_its_worker_does_not_declare_before_sending_it() {
        let ctx = Context::new(crate::config::example(), unreachable(), &READER);
        let err = s3::put_json(&ctx.s3, "b", "k", &serde_json::json!({}))
            .await
            .unwrap_err();
        // Refused, not a connection error: the request never left.
        match err {
            WorkerError::Aws { code, message, .. } => {
                assert_eq!(code, "UndeclaredOperation");
                assert!(
                    message.contains("reader does not declare S3:PutObject"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A declared operation is sent (and fails to connect here).
        let err = s3::get_bytes(&ctx.s3, "b", "k", 1024).await.unwrap_err();
        assert_eq!(err.name(), "AwsTransient", "{err}");
    }

    #[tokio::test]
    async fn a_declared_operation_goes_through() {
        let get = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from_static(b"{}"))
                .build()
        });
        let clients = Clients {
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&get]),
            ..unreachable()
        };
        let ctx = Context::new(crate::config::example(), clients, &READER);
        let doc: Option<serde_json::Value> = s3::get_json(&ctx.s3, "b", "k").await.unwrap();
        assert_eq!(doc, Some(serde_json::json!({})));
        assert_eq!(get.num_calls(), 1);
    }

    #[tokio::test]
    async fn documents_over_their_cap_are_refused_naming_the_size() {
        // Content-Length says 50 MB: refused before the body is read.
        let announced = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .content_length(50_000_000)
                .body(ByteStream::from_static(b"{}"))
                .build()
        });
        // No Content-Length, a body over the cap: refused after reading cap + 1 bytes.
        let unannounced = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from(vec![b' '; 2000]))
                .build()
        });
        for rule in [&announced, &unannounced] {
            let clients = Clients {
                s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[rule]),
                ..unreachable()
            };
            let ctx = Context::new(crate::config::example(), clients, &READER);
            match s3::get_bytes(&ctx.s3, "b", "Model/metrics.json", 1024).await {
                Err(WorkerError::BadData { location, reason }) => {
                    assert_eq!(location, "s3://b/Model/metrics.json");
                    assert!(reason.contains("at most 1024"), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn iam_actions_include_what_an_operation_implies() {
        static STARTER: Worker = Worker {
            name: "starter",
            operations: &[ops::SM_CREATE_TRAINING_JOB, ops::SM_DESCRIBE_TRAINING_JOB],
        };
        assert_eq!(
            STARTER.iam_actions(),
            vec![
                "iam:PassRole",
                "sagemaker:AddTags",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob"
            ]
        );
        assert!(STARTER.declares("SageMaker", "CreateTrainingJob"));
        assert!(!STARTER.declares("SageMaker", "CreateModel"));
    }
}
