//! The S3 documents the pipeline keeps: `Model/last_trained.json` and `statistics/latest.json`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Result, WorkerError};

/// `Model/last_trained.json`. The original wrote `{"trained_at", "mape", "approval"}`; the rest
/// is optional so its files still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastTrained {
    /// When the training data was read (the job's start): files newer than this are new data.
    pub trained_at: String,
    pub mape: Option<f64>,
    /// "Approved" by the pipeline, or "ManualApproval" when a person approved the version.
    pub approval: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_job: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_package_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<String>,
    /// The run report of the run that deployed it (`s3://bucket/reports/<execution>.html`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// The same report in the S3 console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_url: Option<String>,
}

impl LastTrained {
    /// `trained_at` as RFC 3339, or the naive ISO form Python's `isoformat()` writes (read as UTC).
    pub fn trained_at(&self) -> Result<DateTime<Utc>> {
        parse_time(&self.trained_at).ok_or_else(|| {
            WorkerError::bad_data(
                "Model/last_trained.json",
                format!("`trained_at` is not a timestamp: `{}`", self.trained_at),
            )
        })
    }
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
                .ok()
                .map(|n| n.and_utc())
        })
}

/// `statistics/latest.json`: the baseline the next run's drift check compares against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    pub mean_daily_tickets: f64,
    #[serde(default)]
    pub days: u64,
    #[serde(default)]
    pub rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_job: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_originals_file() {
        let doc: LastTrained = serde_json::from_str(
            r#"{"trained_at": "2026-11-15T09:02:11.123456", "mape": 14.2, "approval": "Approved"}"#,
        )
        .unwrap();
        assert_eq!(
            doc.trained_at().unwrap().to_rfc3339(),
            "2026-11-15T09:02:11.123456+00:00"
        );
        assert_eq!(doc.training_job, None);
    }

    #[test]
    fn a_bad_timestamp_is_named() {
        let doc = LastTrained {
            trained_at: "last week".into(),
            mape: None,
            approval: "Approved".into(),
            training_job: None,
            model_package_arn: None,
            deployed_at: None,
            report: None,
            report_url: None,
        };
        let e = doc.trained_at().unwrap_err().to_string();
        assert!(e.contains("trained_at") && e.contains("last week"), "{e}");
    }
}
