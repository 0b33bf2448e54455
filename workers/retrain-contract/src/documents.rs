//! The S3 documents the pipeline keeps: `Model/last_trained.json` and `statistics/latest.json`.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Result, WorkerError};

/// The S3 key of [`LastTrained`].
pub const LAST_TRAINED_DOC: &str = "Model/last_trained.json";
/// The S3 key of [`Statistics`].
pub const STATISTICS_DOC: &str = "statistics/latest.json";

/// Parse one of the pipeline's own documents, naming the field that does not fit:
/// `bad data in Model/last_trained.json: field `trained_at`: invalid type: integer `5`, expected
/// a string`. (`serde_json::from_slice` alone says only "invalid type ... at line 1 column 17".)
/// `location` is the key (or the `s3://` URI) the error names.
pub fn parse_document<T: DeserializeOwned>(location: &str, bytes: &[u8]) -> Result<T> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| WorkerError::bad_data(location, format!("not JSON: {e}")))?;
    crate::json::deserialize_named(value).map_err(|e| match e {
        WorkerError::InvalidInput { field, reason } => {
            WorkerError::bad_data(location, format!("field `{field}`: {reason}"))
        }
        other => other,
    })
}

/// A document the pipeline wrote itself that does not hold up: what the alert says.
#[derive(Debug, Clone, PartialEq)]
pub struct DocProblem {
    /// The S3 key ([`LAST_TRAINED_DOC`], [`STATISTICS_DOC`]).
    pub document: &'static str,
    pub field: &'static str,
    pub reason: String,
}

impl fmt::Display for DocProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: field `{}`: {}",
            self.document,
            self.field,
            crate::excerpt::clip(&self.reason, crate::excerpt::REASON_CHARS)
        )
    }
}

/// How far ahead of the worker's clock a `trained_at` may be and still be believed: clocks of
/// the training host and the Lambda differ by seconds, never by an hour.
pub const CLOCK_SKEW: Duration = Duration::hours(1);

/// `Model/last_trained.json` checked like user input: its `trained_at` must read as a time and
/// must not be more than [`CLOCK_SKEW`] in the future.
///
/// Safe default (see [`since`]): a bad `trained_at` is treated as **absent**, so every file under
/// `bronze/` counts as new and the run trains on the whole lake. The other way round, a time
/// in the future, would make every file look old and skip training on every run, silently and
/// for ever; an unreadable one would fail every run.
pub fn check_last_trained(
    doc: &LastTrained,
    now: DateTime<Utc>,
) -> std::result::Result<(), DocProblem> {
    let problem = |reason: String| DocProblem {
        document: LAST_TRAINED_DOC,
        field: "trained_at",
        reason,
    };
    let at = parse_time(&doc.trained_at)
        .ok_or_else(|| problem(format!("not a timestamp: `{}`", doc.trained_at)))?;
    if at > now + CLOCK_SKEW {
        return Err(problem(format!(
            "{} is in the future (now {}): every file would look already trained on",
            at.to_rfc3339(),
            now.to_rfc3339()
        )));
    }
    Ok(())
}

/// The time files must be newer than to count as new, from `Model/last_trained.json` (None when
/// there is none): `(since, problem)`. A document that fails [`check_last_trained`] gives
/// `(None, Some(problem))`: every file is new (the whole lake is read) and the caller alerts
/// with the problem.
pub fn since(
    doc: Option<&LastTrained>,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DocProblem>) {
    let Some(doc) = doc else {
        return (None, None);
    };
    match check_last_trained(doc, now) {
        Ok(()) => (parse_time(&doc.trained_at), None),
        Err(p) => (None, Some(p)),
    }
}

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

/// `statistics/latest.json` checked like user input: `mean_daily_tickets` finite and above 0;
/// `days` and `rows` either both absent (0: files older than these fields) or both there with
/// `rows >= days` (a counted day has a ticket) and `mean_daily_tickets` = `rows / days` (it is
/// computed so) to within a ticket over the whole period.
///
/// Safe default (see [`baseline`]): a bad baseline is **no baseline**: the drift check is off
/// for this run and the caller alerts with the problem. Comparing against NaN says "no drift"
/// whatever the data, against 0 or a negative mean says "drift" every week; both are wrong
/// answers given quietly. Training goes on, as it does on a first run.
pub fn check_statistics(doc: &Statistics) -> std::result::Result<(), DocProblem> {
    let problem = |field: &'static str, reason: String| DocProblem {
        document: STATISTICS_DOC,
        field,
        reason,
    };
    let mean = doc.mean_daily_tickets;
    if !mean.is_finite() {
        return Err(problem(
            "mean_daily_tickets",
            format!("{mean} is not a finite number"),
        ));
    }
    if mean <= 0.0 {
        return Err(problem(
            "mean_daily_tickets",
            format!("{mean}: a baseline of tickets per day must be above 0"),
        ));
    }
    match (doc.days, doc.rows) {
        (0, 0) => {}
        (0, rows) => return Err(problem("days", format!("0 days counted for {rows} rows"))),
        (days, 0) => return Err(problem("rows", format!("0 rows counted over {days} days"))),
        (days, rows) if rows < days => {
            return Err(problem(
                "rows",
                format!("{rows} rows over {days} days: each counted day has at least one ticket"),
            ))
        }
        (days, rows) if (mean * days as f64 - rows as f64).abs() > 1.0 => {
            return Err(problem(
                "mean_daily_tickets",
                format!(
                    "{mean} does not match {rows} rows over {days} days ({:.3})",
                    rows as f64 / days as f64
                ),
            ))
        }
        _ => {}
    }
    Ok(())
}

/// The drift baseline from `statistics/latest.json` (None when there is none):
/// `(baseline_mean, problem)`. A document that fails [`check_statistics`] gives
/// `(None, Some(problem))`: no drift check this run, and the caller alerts with the problem.
pub fn baseline(doc: Option<&Statistics>) -> (Option<f64>, Option<DocProblem>) {
    match doc.map(check_statistics) {
        None => (None, None),
        Some(Ok(())) => (doc.map(|d| d.mean_daily_tickets), None),
        Some(Err(p)) => (None, Some(p)),
    }
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

    fn last(trained_at: &str) -> LastTrained {
        LastTrained {
            trained_at: trained_at.into(),
            mape: Some(12.0),
            approval: "Approved".into(),
            training_job: None,
            model_package_arn: None,
            deployed_at: None,
            report: None,
            report_url: None,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    fn stats(mean: f64, days: u64, rows: u64) -> Statistics {
        Statistics {
            mean_daily_tickets: mean,
            days,
            rows,
            computed_at: None,
            training_job: None,
        }
    }

    #[test]
    fn a_future_trained_at_is_refused_past_the_clock_skew() {
        let now = at("2026-11-15T10:00:00Z");
        assert_eq!(
            check_last_trained(&last("2026-11-15T09:02:11.123456"), now),
            Ok(())
        );
        assert_eq!(
            check_last_trained(&last("2026-11-15T10:59:00Z"), now),
            Ok(())
        );
        let p = check_last_trained(&last("2027-11-15T09:00:00Z"), now).unwrap_err();
        assert_eq!((p.document, p.field), (LAST_TRAINED_DOC, "trained_at"));
        let text = p.to_string();
        assert!(
            text.starts_with("Model/last_trained.json: field `trained_at`: 2027-11-15T09:00:00+00:00 is in the future"),
            "{text}"
        );
        let p = check_last_trained(&last("last week"), now).unwrap_err();
        assert!(
            p.to_string().contains("not a timestamp: `last week`"),
            "{p}"
        );
    }

    #[test]
    fn a_bad_trained_at_counts_as_absent_every_file_is_new() {
        let now = at("2026-11-15T10:00:00Z");
        let (s, p) = since(Some(&last("2099-01-01T00:00:00Z")), now);
        assert_eq!(s, None);
        assert_eq!(p.map(|p| p.field), Some("trained_at"));
        let (s, p) = since(Some(&last("2026-11-08T09:00:00Z")), now);
        assert_eq!((s, p), (Some(at("2026-11-08T09:00:00Z")), None));
        assert_eq!(since(None, now), (None, None));
    }

    #[test]
    fn a_bad_baseline_is_refused_with_its_field() {
        for (doc, field, says) in [
            (
                stats(f64::NAN, 0, 0),
                "mean_daily_tickets",
                "not a finite number",
            ),
            (
                stats(f64::INFINITY, 0, 0),
                "mean_daily_tickets",
                "not a finite number",
            ),
            (stats(0.0, 0, 0), "mean_daily_tickets", "above 0"),
            (stats(-3.0, 0, 0), "mean_daily_tickets", "above 0"),
            (stats(10.0, 0, 70), "days", "0 days counted for 70 rows"),
            (stats(10.0, 7, 0), "rows", "0 rows counted over 7 days"),
            (stats(0.5, 8, 4), "rows", "at least one ticket"),
            (
                stats(10.0, 7, 700),
                "mean_daily_tickets",
                "does not match 700 rows over 7 days",
            ),
        ] {
            let p = check_statistics(&doc).unwrap_err();
            assert_eq!((p.document, p.field), (STATISTICS_DOC, field), "{doc:?}");
            assert!(p.reason.contains(says), "{p}");
        }
        assert_eq!(check_statistics(&stats(100.0, 0, 0)), Ok(()));
        assert_eq!(check_statistics(&stats(700.0 / 3.0, 3, 700)), Ok(()));
    }

    #[test]
    fn a_bad_baseline_is_no_baseline() {
        let bad = stats(f64::NAN, 7, 700);
        let (b, p) = baseline(Some(&bad));
        assert_eq!(b, None);
        assert_eq!(p.map(|p| p.field), Some("mean_daily_tickets"));
        assert_eq!(baseline(Some(&stats(100.0, 7, 700))), (Some(100.0), None));
        assert_eq!(baseline(None), (None, None));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e = parse_document::<LastTrained>(
            LAST_TRAINED_DOC,
            br#"{"trained_at": 1763197331, "mape": 14.2, "approval": "Approved"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "bad data in Model/last_trained.json: field `trained_at`: invalid type: integer"
            ),
            "{e}"
        );
        let e = parse_document::<Statistics>(
            STATISTICS_DOC,
            br#"{"mean_daily_tickets": "NaN", "days": 7}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("bad data in statistics/latest.json: field `mean_daily_tickets`: invalid type: string"),
            "{e}"
        );
        // serde_json writes a NaN mean as `null`: it reads back as a named type error.
        let e = parse_document::<Statistics>(STATISTICS_DOC, br#"{"mean_daily_tickets": null}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("field `mean_daily_tickets`: invalid type: null"),
            "{e}"
        );
        let e = parse_document::<Statistics>(STATISTICS_DOC, br#"{"days": 7}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("field `mean_daily_tickets`: missing field"),
            "{e}"
        );
        let e = parse_document::<Statistics>(STATISTICS_DOC, b"{not json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("statistics/latest.json: not JSON"), "{e}");
        let ok: Statistics =
            parse_document(STATISTICS_DOC, br#"{"mean_daily_tickets": 12.5}"#).unwrap();
        assert_eq!(ok, stats(12.5, 0, 0));
    }
}
