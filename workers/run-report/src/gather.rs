//! Gathering what the report shows, from the run's own state and from AWS: the ticket files
//! under `bronze/`, the trainer's `predictions.csv` in the job's model archive, the registry's
//! versions, the execution's history. Each part is bounded (time, bytes) and may fail on its
//! own: the report then says what is missing. Nothing here fails the run.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};
use tracing::{info, warn};

use retrain_core::archive::{file_from_model_tar, MAX_PREDICTIONS_BYTES, PREDICTIONS_FILE};
use retrain_core::aws::executions::{state_events, StateEvent};
use retrain_core::aws::registry::{describe_version, list_versions};
use retrain_core::aws::s3::{self, parse_uri, put_bytes, ObjectInfo, BRONZE_PREFIX};
use retrain_core::documents::parse_time;
use retrain_core::payload::{DataReport, State};
use retrain_core::tickets::{DailyCounts, DateWindow};
use retrain_core::versioning::{META_MAPE, META_TRAINED_AT, META_TRAINING_JOB};
use retrain_core::{Context, WorkerError};

use crate::model::*;

/// Each part of the report is gathered within this; past it, the part is left out.
pub const GATHER_BUDGET: Duration = Duration::from_secs(25);
/// The newest ticket files are read up to this many bytes (the rest is left out and said so).
pub const SCAN_BUDGET_BYTES: i64 = 256 * 1024 * 1024;
/// Versions drawn in the MAPE history: half a year of weekly runs.
pub const HISTORY_VERSIONS: usize = 26;
/// Events of the execution history read (a week-long wait loop stays far below).
pub const MAX_HISTORY_EVENTS: usize = 5000;

/// How the run ended, as the worker writing the report knows it.
#[derive(Debug, Clone)]
pub struct Ending {
    pub decision: Decision,
    pub reason: String,
    pub serving_before: String,
    pub serving_after: String,
    pub version_arn: Option<String>,
    /// The alert this worker sends (its subject), if any.
    pub alert: Option<String>,
}

/// Where the report was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub uri: String,
    /// The S3 console's page of the object (commercial partition only).
    pub console_url: Option<String>,
}

/// `reports/<execution>.html`.
pub fn report_key(execution: &str) -> String {
    format!("reports/{execution}.html")
}

/// The S3 console's page of an object, from the region and partition of `arn`.
pub fn console_url(arn: Option<&str>, bucket: &str, key: &str) -> Option<String> {
    let mut parts = arn?.split(':');
    let (partition, region) = (parts.nth(1)?, parts.nth(1)?);
    (partition == "aws" && !region.is_empty()).then(|| {
        format!("https://{region}.console.aws.amazon.com/s3/object/{bucket}?region={region}&prefix={key}")
    })
}

/// Gather, draw and write the report of this run to `reports/<execution>.html`. None (logged)
/// when it could not be written: the run goes on without it.
pub async fn publish(ctx: &Context, state: &State, ending: Ending) -> Option<Published> {
    let report = gather(ctx, state, ending).await;
    let html = crate::render::render(&report);
    let key = report_key(&report.execution);
    let bucket = &ctx.cfg.bucket;
    match put_bytes(
        &ctx.s3,
        bucket,
        &key,
        "text/html; charset=utf-8",
        html.into_bytes(),
    )
    .await
    {
        Ok(()) => {
            let arn = state.run.as_ref().and_then(|r| r.execution_arn.as_deref());
            let published = Published {
                uri: format!("s3://{bucket}/{key}"),
                console_url: console_url(arn, bucket, &key),
            };
            info!(report = %published.uri, "run report written");
            Some(published)
        }
        Err(e) => {
            warn!(error = %e, key = %key, "the run report could not be written");
            None
        }
    }
}

async fn within<T>(what: &str, f: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    let result = tokio::time::timeout(GATHER_BUDGET, f)
        .await
        .unwrap_or_else(|_| Err(format!("not gathered within {} s", GATHER_BUDGET.as_secs())));
    if let Err(why) = &result {
        warn!(part = what, reason = %why, "report part left out");
    }
    result
}

/// Everything the page shows.
pub async fn gather(ctx: &Context, state: &State, ending: Ending) -> Report {
    let run = state.run.as_ref();
    let job = state.training().ok().map(|t| t.job_name.clone());
    let data = run.and_then(|r| r.data.clone());
    let (daily, folds, history, states) = tokio::join!(
        within("daily", daily_counts(ctx, state)),
        within("folds", fold_predictions(ctx, state)),
        within("history", version_history(ctx, job.as_deref())),
        within(
            "states",
            execution_states(ctx, run.and_then(|r| r.execution_arn.clone()))
        ),
    );
    let mut alerts = Vec::new();
    if let Some(d) = &data {
        if d.drift {
            alerts.push("data drift (StartTraining)".to_string());
        }
        if d.quality_alert {
            alerts.push("data quality (StartTraining)".to_string());
        }
    }
    alerts.extend(ending.alert.clone());
    Report {
        execution: run
            .map(|r| r.execution.clone())
            .unwrap_or_else(|| "unknown".into()),
        generated_at: ctx.now(),
        decision: ending.decision,
        reason: ending.reason,
        job,
        billing: state.job.as_ref().and_then(|j| j.billing),
        mape: state.evaluation.as_ref().and_then(|e| e.mape),
        threshold: run.map(|r| r.mape_threshold).unwrap_or_default(),
        floor: run.map(|r| r.mape_floor).unwrap_or_default(),
        version_arn: ending.version_arn,
        serving_before: ending.serving_before,
        serving_after: ending.serving_after,
        alerts,
        data,
        states,
        daily,
        folds,
        history,
    }
}

/// Tickets a day over the files the job trained on: those under `bronze/` when it started.
async fn daily_counts(ctx: &Context, state: &State) -> Result<DailySeries, String> {
    let data: Option<&DataReport> = state.run.as_ref().and_then(|r| r.data.as_ref());
    let since = data.and_then(|d| d.since);
    let until: Option<DateTime<Utc>> = state
        .job
        .as_ref()
        .and_then(|j| j.started_at)
        .or_else(|| state.training().ok().map(|t| t.created_at));
    let cfg = &ctx.cfg;
    let mut files = s3::list_csvs_since(&ctx.s3, &cfg.bucket, BRONZE_PREFIX, None)
        .await
        .map_err(|e| format!("the ticket files could not be listed: {e}"))?;
    files.retain(|f| until.is_none_or(|u| f.last_modified <= u));
    if files.is_empty() {
        return Err("no ticket files under bronze/".into());
    }
    let (files, partial) = newest_within(files, SCAN_BUDGET_BYTES);
    // The run's own window (StartTraining fixed it); a payload from before it was carried
    // falls back to the configured one at the report's clock.
    let window = data
        .and_then(|d| d.window)
        .unwrap_or_else(|| DateWindow::at(cfg.earliest_ticket_date, ctx.now()));
    let new_keys: BTreeSet<String> = files
        .iter()
        .filter(|f| since.is_none_or(|s| f.last_modified > s))
        .map(|f| f.key.clone())
        .collect();
    let keys = files.into_iter().map(|f| f.key).collect();
    let read: Vec<(bool, DailyCounts)> = s3::count_ticket_files(&ctx.s3, &cfg.bucket, keys, window)
        .await
        .map_err(|e| format!("the ticket files could not be read: {e}"))?
        .into_iter()
        .map(|(key, counted)| {
            let counts = match counted {
                Some(Ok(scan)) => scan.counts,
                // Gone since the listing, or unreadable (StartTraining reported it).
                _ => DailyCounts::default(),
            };
            (new_keys.contains(&key), counts)
        })
        .collect();
    let mut days: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    let new_files = read.iter().filter(|(new, _)| *new).count();
    let files_read = read.len();
    for (new, counts) in read {
        for (day, n) in counts.per_day {
            let d = days.entry(day).or_insert(Day {
                day,
                old: 0,
                new: 0,
            });
            if new {
                d.new += n;
            } else {
                d.old += n;
            }
        }
    }
    if days.is_empty() {
        return Err("the ticket files hold no dated row".into());
    }
    Ok(DailySeries {
        days: days.into_values().collect(),
        baseline_mean: data.and_then(|d| d.baseline_mean),
        new_mean: data.and_then(|d| d.mean_daily_tickets),
        files_read,
        new_files,
        partial,
    })
}

/// The newest files whose sizes add up to at most `budget` bytes, and what was left out.
fn newest_within(mut files: Vec<ObjectInfo>, budget: i64) -> (Vec<ObjectInfo>, Option<String>) {
    files.sort_by_key(|f| std::cmp::Reverse(f.last_modified));
    let total = files.len();
    let mut left = budget;
    files.retain(|f| {
        left -= f.size;
        left >= 0
    });
    let partial = (files.len() < total).then(|| {
        format!(
            "only the newest {} of {total} ticket files were read ({} MiB budget)",
            files.len(),
            budget >> 20
        )
    });
    (files, partial)
}

/// The trainer's `predictions.csv`, from this job's model archive.
async fn fold_predictions(ctx: &Context, state: &State) -> Result<Folds, String> {
    let job = state
        .completed_job()
        .map_err(|_| "the training job did not complete: no predictions".to_string())?;
    let (bucket, key) = parse_uri(&job.artifact)
        .ok_or_else(|| format!("the model artifact `{}` is not an S3 URI", job.artifact))?;
    let found = s3::read_streaming(&ctx.s3, &bucket, &key, |r| {
        file_from_model_tar(r, PREDICTIONS_FILE, MAX_PREDICTIONS_BYTES)
    })
    .await
    .map_err(|e| format!("the model archive could not be read: {e}"))?;
    match found {
        None => Err(format!("the model archive {} is gone", job.artifact)),
        Some(Err(why)) => Err(format!("the model archive could not be read: {why}")),
        Some(Ok(None)) => Err(format!(
            "the trainer wrote no {PREDICTIONS_FILE} (optional in the training contract: date,actual,forecast,fold)"
        )),
        Some(Ok(Some(bytes))) => crate::predictions::parse(&bytes),
    }
}

/// The group's newest versions with the MAPE and decision each recorded, oldest first.
async fn version_history(ctx: &Context, job: Option<&str>) -> Result<Vec<HistoryPoint>, String> {
    let versions = list_versions(&ctx.sm, &ctx.cfg.model_package_group)
        .await
        .map_err(|e| format!("the registry could not be listed: {e}"))?;
    let arns: Vec<String> = versions
        .into_iter()
        .take(HISTORY_VERSIONS)
        .map(|v| v.version.arn)
        .collect();
    let details: Vec<_> = stream::iter(arns)
        .map(|arn| {
            let sm = ctx.sm.clone();
            async move { describe_version(&sm, &arn).await }
        })
        .buffered(4)
        .try_collect()
        .await
        .map_err(|e| format!("a version could not be described: {e}"))?;
    let mut points: Vec<HistoryPoint> = details
        .into_iter()
        .filter_map(|v| {
            let meta = |k: &str| v.metadata.get(k).map(String::as_str);
            Some(HistoryPoint {
                version: v.version?,
                trained_at: meta(META_TRAINED_AT).and_then(parse_time).or(v.created_at),
                mape: meta(META_MAPE)
                    .and_then(|m| m.parse::<f64>().ok())
                    .filter(|m| m.is_finite()),
                threshold: meta("mape_threshold").and_then(|m| m.parse().ok()),
                decision: meta("decision").unwrap_or("-").to_string(),
                status: v.status.clone(),
                this_run: job.is_some() && meta(META_TRAINING_JOB) == job,
            })
        })
        .collect();
    if points.is_empty() {
        return Err("no version is registered yet".into());
    }
    points.sort_by_key(|p| p.version);
    Ok(points)
}

/// Each state's entries and time, from the execution's history (oldest first).
async fn execution_states(ctx: &Context, arn: Option<String>) -> Result<Vec<StateSpan>, String> {
    let arn = arn.ok_or("the run does not carry its execution's ARN")?;
    let events = state_events(&ctx.sfn, &arn, MAX_HISTORY_EVENTS)
        .await
        .map_err(|e| {
            let why = match e {
                WorkerError::Aws { code, message, .. } => format!("{code}: {message}"),
                other => other.to_string(),
            };
            format!("the execution's history could not be read: {why}")
        })?;
    let spans = state_spans(events);
    if spans.is_empty() {
        return Err("the execution's history holds no state".into());
    }
    Ok(spans)
}

/// Each state's first entry, time spent and entries, from its entries and exits in order.
fn state_spans(events: Vec<StateEvent>) -> Vec<StateSpan> {
    let mut spans: Vec<StateSpan> = Vec::new();
    let mut open: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for event in events {
        match event {
            StateEvent::Entered { name, at } => {
                open.insert(name.clone(), at);
                match spans.iter_mut().find(|s| s.name == name) {
                    Some(s) => {
                        s.entries += 1;
                        s.running = true;
                    }
                    None => spans.push(StateSpan {
                        name,
                        entered: at,
                        seconds: 0.0,
                        entries: 1,
                        running: true,
                    }),
                }
            }
            StateEvent::Exited { name, at } => {
                if let (Some(start), Some(s)) = (
                    open.remove(&name),
                    spans.iter_mut().find(|s| s.name == name),
                ) {
                    s.seconds += (at - start).num_milliseconds() as f64 / 1000.0;
                    s.running = false;
                }
            }
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(key: &str, minutes: i64, size: i64) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            last_modified: DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0).unwrap(),
            size,
            etag: None,
        }
    }

    #[test]
    fn the_newest_files_are_read_within_the_budget() {
        let files = vec![
            file("a", 1, 40 << 20),
            file("b", 3, 30 << 20),
            file("c", 2, 50 << 20),
        ];
        let (kept, partial) = newest_within(files.clone(), 100 << 20);
        let keys: Vec<&str> = kept.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["b", "c"], "newest first; a would pass the budget");
        assert_eq!(
            partial.as_deref(),
            Some("only the newest 2 of 3 ticket files were read (100 MiB budget)")
        );
        let (kept, partial) = newest_within(files, 120 << 20);
        assert_eq!((kept.len(), partial), (3, None));
    }

    #[test]
    fn the_console_link_follows_the_executions_region_and_partition() {
        let arn = "arn:aws:states:eu-west-1:123456789012:execution:retraining:weekly-1";
        assert_eq!(
            console_url(Some(arn), "lake", "reports/weekly-1.html").as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/s3/object/lake?region=eu-west-1&prefix=reports/weekly-1.html")
        );
        let china = "arn:aws-cn:states:cn-north-1:123456789012:execution:retraining:weekly-1";
        assert_eq!(
            console_url(Some(china), "lake", "k"),
            None,
            "another console"
        );
        assert_eq!(console_url(None, "lake", "k"), None);
        assert_eq!(report_key("weekly-1"), "reports/weekly-1.html");
    }
}
