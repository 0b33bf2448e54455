//! Mocked AWS for the tests of the workers that write reports: a lake with ticket files and a
//! model archive (S3 rules to add to the worker's own), and an execution history (a rule).

use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_sdk_s3::types::Object;
use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
use aws_sdk_sfn::types::{
    HistoryEvent, HistoryEventType, StateEnteredEventDetails, StateExitedEventDetails,
};
use aws_smithy_mocks::{mock, MockResponse, Rule};
use chrono::{DateTime, Utc};

use retrain_core::archive::build_model_tar;

fn smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

/// The objects of a lake: key, body, last modified.
#[derive(Clone, Default)]
pub struct Lake {
    pub objects: Vec<(String, Vec<u8>, DateTime<Utc>)>,
}

impl Lake {
    pub fn with(mut self, key: &str, body: impl Into<Vec<u8>>, modified: DateTime<Utc>) -> Self {
        self.objects.push((key.to_string(), body.into(), modified));
        self
    }

    /// A model archive holding `metrics.json` and, when given, `predictions.csv`.
    pub fn with_model(self, key: &str, predictions: Option<&str>, modified: DateTime<Utc>) -> Self {
        let mut files: Vec<(&str, &[u8])> = vec![("metrics.json", br#"{"mape": 12.3}"#)];
        if let Some(p) = predictions {
            files.push(("predictions.csv", p.as_bytes()));
        }
        self.with(key, build_model_tar(&files), modified)
    }

    /// ListObjectsV2 (by prefix) and GetObject (by key; NoSuchKey otherwise) over the lake.
    pub fn rules(&self) -> Vec<Rule> {
        let objects = self.objects.clone();
        let list = mock!(aws_sdk_s3::Client::list_objects_v2).then_compute_output(move |req| {
            let prefix = req.prefix().unwrap_or_default();
            let mut out = ListObjectsV2Output::builder();
            for (key, body, modified) in objects.iter().filter(|o| o.0.starts_with(prefix)) {
                out = out.contents(
                    Object::builder()
                        .key(key)
                        .size(body.len() as i64)
                        .last_modified(smithy(*modified))
                        .build(),
                );
            }
            out.build()
        });
        let objects = self.objects.clone();
        let get = mock!(aws_sdk_s3::Client::get_object).then_compute_response(move |req| {
            match objects.iter().find(|o| Some(o.0.as_str()) == req.key()) {
                Some((_, body, _)) => MockResponse::Output(
                    GetObjectOutput::builder()
                        .body(ByteStream::from(body.clone()))
                        .build(),
                ),
                None => {
                    MockResponse::Error(GetObjectError::NoSuchKey(NoSuchKey::builder().build()))
                }
            }
        });
        vec![list, get]
    }
}

/// A state's entry in a mocked history: (state, entered, exited); `exited` None: still running.
pub type Entry<'a> = (&'a str, DateTime<Utc>, Option<DateTime<Utc>>);

/// An execution history: each entry in order.
pub fn history(states: &[Entry<'_>]) -> Vec<HistoryEvent> {
    let mut events = Vec::new();
    for (name, entered, exited) in states {
        let id = events.len() as i64 + 1;
        events.push(
            HistoryEvent::builder()
                .id(id)
                .timestamp(smithy(*entered))
                .r#type(HistoryEventType::TaskStateEntered)
                .state_entered_event_details(
                    StateEnteredEventDetails::builder()
                        .name(*name)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        );
        if let Some(exited) = exited {
            events.push(
                HistoryEvent::builder()
                    .id(id + 1)
                    .timestamp(smithy(*exited))
                    .r#type(HistoryEventType::TaskStateExited)
                    .state_exited_event_details(
                        StateExitedEventDetails::builder()
                            .name(*name)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            );
        }
    }
    events
}

/// GetExecutionHistory of `arn`, answered with `events` (a Step Functions rule).
pub fn execution_history(arn: &'static str, events: Vec<HistoryEvent>) -> Rule {
    mock!(aws_sdk_sfn::Client::get_execution_history)
        .match_requests(move |r| r.execution_arn() == Some(arn))
        .then_output(move || {
            GetExecutionHistoryOutput::builder()
                .set_events(Some(events.clone()))
                .build()
                .unwrap()
        })
}
