//! One builder for the mocked context of a worker's tests: the rules each service answers
//! with, the clock, and the recorders of the calls every worker makes (SNS Publish, CloudWatch
//! PutMetricData, S3 PutObject), which answer success unless a rule of the test answers first.

use std::ops::{Deref, DerefMut};

use aws_sdk_cloudwatch::operation::put_metric_data::{PutMetricDataInput, PutMetricDataOutput};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_sns::operation::publish::{PublishInput, PublishOutput};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use chrono::{DateTime, Utc};

use super::Recorder;
use crate::aws::{Clients, Context, Worker};
use crate::config::Config;

/// An S3 PutObject as the test sees it (the SDK's input holds a stream, not the bytes).
#[derive(Clone, Debug)]
pub struct PutObject {
    pub bucket: String,
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

impl PutObject {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// The builder: `MockContext::new(&WORKER).at(t0).s3(rules).sm(rules).build()`. A service given
/// no rules answers nothing but the standard calls: any other call fails the test.
pub struct MockContext {
    worker: &'static Worker,
    cfg: Config,
    now: Option<DateTime<Utc>>,
    s3: Vec<Rule>,
    sm: Vec<Rule>,
    cw: Vec<Rule>,
    sns: Vec<Rule>,
    sfn: Vec<Rule>,
    smr: Vec<Rule>,
    s3_retries: bool,
}

impl MockContext {
    pub fn new(worker: &'static Worker) -> Self {
        MockContext {
            worker,
            cfg: crate::config::example(),
            now: None,
            s3: Vec::new(),
            sm: Vec::new(),
            cw: Vec::new(),
            sns: Vec::new(),
            sfn: Vec::new(),
            smr: Vec::new(),
            s3_retries: true,
        }
    }

    /// The clock stopped at `t` (the wall clock otherwise).
    pub fn at(mut self, t: DateTime<Utc>) -> Self {
        self.now = Some(t);
        self
    }

    pub fn s3<'a>(mut self, rules: impl IntoIterator<Item = &'a Rule>) -> Self {
        self.s3.extend(rules.into_iter().cloned());
        self
    }

    /// S3 without the SDK's own retries: a throttled call surfaces at once.
    pub fn s3_without_retries(mut self) -> Self {
        self.s3_retries = false;
        self
    }

    pub fn sm<'a>(mut self, rules: impl IntoIterator<Item = &'a Rule>) -> Self {
        self.sm.extend(rules.into_iter().cloned());
        self
    }

    pub fn cw<'a>(mut self, rules: impl IntoIterator<Item = &'a Rule>) -> Self {
        self.cw.extend(rules.into_iter().cloned());
        self
    }

    pub fn sns<'a>(mut self, rules: impl IntoIterator<Item = &'a Rule>) -> Self {
        self.sns.extend(rules.into_iter().cloned());
        self
    }

    pub fn sfn<'a>(mut self, rules: impl IntoIterator<Item = &'a Rule>) -> Self {
        self.sfn.extend(rules.into_iter().cloned());
        self
    }

    /// sagemaker-runtime (InvokeEndpoint).
    pub fn smr<'a>(mut self, rules: impl IntoIterator<Item = &'a Rule>) -> Self {
        self.smr.extend(rules.into_iter().cloned());
        self
    }

    pub fn build(self) -> Mocked {
        let recorders = Recorders::default();
        let [put, metric, publish] = recorders.rules();
        let s3 = self.s3.iter().chain([&put]);
        let s3 = if self.s3_retries {
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, s3)
        } else {
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, s3, |b| {
                b.retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            })
        };
        let clients = Clients {
            s3,
            // Unless a rule of the test answers first: no endpoint serves (a new account).
            sm: mock_client!(
                aws_sdk_sagemaker,
                RuleMode::MatchAny,
                self.sm.iter().chain([&no_endpoint()])
            ),
            cw: mock_client!(
                aws_sdk_cloudwatch,
                RuleMode::MatchAny,
                self.cw.iter().chain([&metric])
            ),
            sns: mock_client!(
                aws_sdk_sns,
                RuleMode::MatchAny,
                self.sns.iter().chain([&publish])
            ),
            sfn: mock_client!(aws_sdk_sfn, RuleMode::MatchAny, &self.sfn),
            smr: mock_client!(aws_sdk_sagemakerruntime, RuleMode::MatchAny, &self.smr),
        };
        let ctx = Context::new(self.cfg, clients, self.worker);
        let ctx = match self.now {
            Some(t) => ctx.at(t),
            None => ctx,
        };
        Mocked { ctx, recorders }
    }
}

/// DescribeEndpoint answering SageMaker's "Could not find endpoint".
fn no_endpoint() -> Rule {
    mock!(aws_sdk_sagemaker::Client::describe_endpoint).then_error(|| {
        aws_sdk_sagemaker::operation::describe_endpoint::DescribeEndpointError::generic(
            super::validation_not_found("endpoint"),
        )
    })
}

#[derive(Clone, Default)]
struct Recorders {
    published: Recorder<PublishInput>,
    metrics: Recorder<PutMetricDataInput>,
    puts: Recorder<PutObject>,
}

impl Recorders {
    /// PutObject, PutMetricData and Publish: recorded, and answered with success.
    fn rules(&self) -> [Rule; 3] {
        let rec = self.puts.clone();
        let put = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |req| {
            rec.record(&PutObject {
                bucket: req.bucket().unwrap_or_default().to_string(),
                key: req.key().unwrap_or_default().to_string(),
                body: req.body().bytes().unwrap_or_default().to_vec(),
                content_type: req.content_type().map(str::to_string),
            });
            PutObjectOutput::builder().build()
        });
        let rec = self.metrics.clone();
        let metric =
            mock!(aws_sdk_cloudwatch::Client::put_metric_data).then_compute_output(move |req| {
                rec.record(req);
                PutMetricDataOutput::builder().build()
            });
        let rec = self.published.clone();
        let publish = mock!(aws_sdk_sns::Client::publish).then_compute_output(move |req| {
            rec.record(req);
            PublishOutput::builder().message_id("msg-1").build()
        });
        [put, metric, publish]
    }
}

/// A mocked worker context (it derefs to [`Context`]) and what its standard calls received.
pub struct Mocked {
    ctx: Context,
    recorders: Recorders,
}

impl Mocked {
    /// Every SNS Publish.
    pub fn published(&self) -> &Recorder<PublishInput> {
        &self.recorders.published
    }

    /// Every CloudWatch PutMetricData.
    pub fn metrics(&self) -> &Recorder<PutMetricDataInput> {
        &self.recorders.metrics
    }

    /// Every S3 PutObject a rule of the test did not answer first.
    pub fn puts(&self) -> &Recorder<PutObject> {
        &self.recorders.puts
    }

    /// The body of the object put at `key`, as text.
    pub fn put_text(&self, key: &str) -> Option<String> {
        self.puts()
            .all()
            .into_iter()
            .find(|p| p.key == key)
            .map(|p| p.text())
    }

    /// The same context with the clock stopped at `t`.
    pub fn at(self, t: DateTime<Utc>) -> Self {
        Mocked {
            ctx: self.ctx.at(t),
            recorders: self.recorders,
        }
    }
}

impl Deref for Mocked {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl DerefMut for Mocked {
    fn deref_mut(&mut self) -> &mut Context {
        &mut self.ctx
    }
}
