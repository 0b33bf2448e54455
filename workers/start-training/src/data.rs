//! The new ticket files: which, how many tickets a day, and whether that drifted.

use aws_sdk_cloudwatch::types::StandardUnit;
use chrono::{DateTime, Utc};
use tracing::{info, warn};

use retrain_core::aws::notify::{publish, put_metric, METRIC_BAD_ROW_RATE, METRIC_DATA_DRIFT};
use retrain_core::aws::s3::{self, BRONZE_PREFIX, LAST_TRAINED_KEY, STATISTICS_KEY};
use retrain_core::documents::{self, LastTrained, Statistics};
use retrain_core::drift::data_drift;
use retrain_core::duplicates::{self, duplicate_files};
use retrain_core::messages;
use retrain_core::payload::{DataReport, FileProblem, MAX_LISTED_FILES};
use retrain_core::tickets::{DailyCounts, DateWindow, FileScan};
use retrain_core::{Context, Result, WorkerError};

pub struct Scan {
    pub since: Option<DateTime<Utc>>,
    /// The days a ticket may be dated in this run: fixed here, once, and carried in the payload.
    pub window: DateWindow,
    pub new_files: u64,
    pub report: DataReport,
}

impl Scan {
    /// New files were listed, but none holds a usable row.
    pub fn nothing_usable(&self) -> bool {
        self.new_files > 0 && self.report.usable_files == 0
    }
}

/// List and count the new files, check drift and data quality, and alert on either when
/// `alert` (a re-run that adopts its job does not alert twice).
pub async fn scan(ctx: &Context, forced: bool, alert: bool) -> Result<Scan> {
    let cfg = &ctx.cfg;
    let mut problems = Vec::new();
    let last: Option<LastTrained> = lake_document(ctx, LAST_TRAINED_KEY, &mut problems).await?;
    let (since, problem) = documents::since(last.as_ref(), ctx.now());
    problems.extend(problem.map(|p| format!("{p}; every file under bronze/ counts as new")));
    // Every ticket file, for the copies among them; the new ones are those after `since`.
    let all = s3::list_csvs_since(&ctx.s3, &cfg.bucket, BRONZE_PREFIX, None).await?;
    let copies = duplicate_files(
        &all.iter()
            .map(|f| {
                (
                    f.key.as_str(),
                    f.etag.as_deref().unwrap_or(""),
                    f.size as u64,
                )
            })
            .collect::<Vec<_>>(),
    );
    let files: Vec<_> = all
        .into_iter()
        .filter(|f| since.is_none_or(|s| f.last_modified > s))
        .collect();
    info!(files = files.len(), since = ?since, copies = copies.len(), "new ticket files listed");
    let window = DateWindow::at(cfg.earliest_ticket_date, ctx.now());

    let keys: Vec<String> = files.iter().map(|f| f.key.clone()).collect();
    let results = s3::count_ticket_files(&ctx.s3, &cfg.bucket, keys, window).await?;

    let mut report = DataReport {
        new_files: files.len() as u64,
        forced,
        newest_file: files.iter().map(|f| f.last_modified).max(),
        since,
        window: Some(window),
        ..Default::default()
    };
    let total = tally(&mut report, results, cfg.bad_row_alert_rate);

    let stats: Option<Statistics> = lake_document(ctx, STATISTICS_KEY, &mut problems).await?;
    let (baseline, problem) = documents::baseline(stats.as_ref());
    problems.extend(problem.map(|p| format!("{p}; no drift check this run")));
    let mean = total.mean_daily();
    report.mean_daily_tickets = mean;
    report.baseline_mean = baseline;
    report.duplicates = copies;
    report.document_problems = problems;
    let check = data_drift(mean, report.baseline_mean, cfg.drift_threshold);
    report.relative_change = check.relative_change;
    report.drift = check.drift;
    if !total.per_day.is_empty() && report.duplicates.is_empty() {
        report.live = Some(crate::live::measure(ctx, &total.per_day).await);
    }
    let scan = Scan {
        since,
        window,
        new_files: files.len() as u64,
        report,
    };
    if !alert {
        return Ok(scan);
    }
    send_alerts(ctx, &scan).await?;
    Ok(scan)
}

/// Each file's counts into `report` (usable and unusable files, bad rows, the quality alert):
/// the new files' daily counts together.
fn tally(
    report: &mut DataReport,
    results: Vec<(String, Option<std::result::Result<FileScan, String>>)>,
    bad_row_alert_rate: f64,
) -> DailyCounts {
    let mut total = DailyCounts::default();
    for (key, counted) in results {
        // A file deleted between list and read is simply gone.
        let problem = match counted.unwrap_or_else(|| Ok(FileScan::default())) {
            Ok(scan) => {
                report.out_of_window_rows += scan.out_of_window;
                let unusable = scan.unusable();
                if let (None, Some(warning)) = (&unusable, scan.date_warning()) {
                    if report.ambiguous_dates.len() < MAX_LISTED_FILES {
                        report.ambiguous_dates.push(FileProblem {
                            key: key.clone(),
                            reason: warning,
                        });
                    }
                }
                if unusable.is_none() {
                    report.usable_files += 1;
                    if let (Some((line, why)), true) = (
                        &scan.first_bad,
                        report.files_with_bad_rows.len() < MAX_LISTED_FILES,
                    ) {
                        report.files_with_bad_rows.push(FileProblem {
                            key: key.clone(),
                            reason: format!(
                                "{} bad rows, the first at line {line}: {why}",
                                scan.counts.bad_rows
                            ),
                        });
                    }
                }
                total.merge(scan.counts);
                unusable
            }
            Err(reason) => Some(reason),
        };
        if let Some(reason) = problem {
            warn!(key = %key, reason = %reason, "ticket file holds no usable row");
            report.unusable_count += 1;
            if report.unusable_files.len() < MAX_LISTED_FILES {
                report.unusable_files.push(FileProblem { key, reason });
            }
        }
    }
    report.rows = total.rows;
    report.bad_rows = total.bad_rows;
    report.days = total.days();
    let seen = total.rows + total.bad_rows;
    report.bad_row_rate = (seen > 0).then(|| total.bad_rows as f64 / seen as f64);
    report.quality_alert = report.unusable_count > 0
        || !report.ambiguous_dates.is_empty()
        || report.bad_row_rate.is_some_and(|r| r > bad_row_alert_rate);
    if total.bad_rows > 0 {
        warn!(
            bad_rows = total.bad_rows,
            out_of_window = report.out_of_window_rows,
            "rows without a usable created_date were left out"
        );
    }

    total
}

/// One of the pipeline's own documents, read like user input: absent, or parsed with the field
/// named when it does not hold up. One that does not parse counts as absent (the safe default),
/// with the reason in `problems` (alerted).
async fn lake_document<T: serde::de::DeserializeOwned>(
    ctx: &Context,
    key: &str,
    problems: &mut Vec<String>,
) -> Result<Option<T>> {
    let Some((bytes, _)) = s3::get_bytes(&ctx.s3, &ctx.cfg.bucket, key, s3::MAX_DOCUMENT_BYTES)
        .await
        .or_else(|e| match e {
            // Too large to be ours: as unusable as one that does not parse.
            WorkerError::BadData { reason, .. } => {
                problems.push(format!("{key}: {reason}; read as absent"));
                Ok(None)
            }
            other => Err(other),
        })?
    else {
        return Ok(None);
    };
    match documents::parse_document(key, &bytes) {
        Ok(doc) => Ok(Some(doc)),
        Err(e) => {
            warn!(document = key, error = %e, "a pipeline document does not hold up");
            problems.push(format!("{e}; read as absent"));
            Ok(None)
        }
    }
}

/// The bad-row metric, and the alert the scan calls for: nothing usable or copies (the run ends
/// skipped), the pipeline's own documents, data quality, drift (with its metric).
async fn send_alerts(ctx: &Context, scan: &Scan) -> Result<()> {
    let cfg = &ctx.cfg;
    let report = &scan.report;
    if let Some(rate) = report.bad_row_rate {
        put_metric(
            &ctx.cw,
            cfg,
            METRIC_BAD_ROW_RATE,
            rate * 100.0,
            StandardUnit::Percent,
        )
        .await?;
    }
    if let Some(live) = &report.live {
        crate::live::report(ctx, live).await?;
    }
    if !report.document_problems.is_empty() {
        publish(
            &ctx.sns,
            &cfg.topic_arn,
            messages::SUBJECT_DOCUMENT_INVALID,
            &messages::document_invalid(&report.document_problems),
        )
        .await?;
    }
    if let Some(alert) = duplicates::decide(&report.duplicates) {
        // The run ends skipped; this alert is the one it sends about the data.
        publish(&ctx.sns, &cfg.topic_arn, alert.subject, &alert.body).await?;
        return Ok(());
    }
    if scan.nothing_usable() {
        // The run ends skipped; this alert is the one it sends.
        publish(
            &ctx.sns,
            &cfg.topic_arn,
            messages::SUBJECT_DATA_UNUSABLE,
            &messages::data_unusable(report),
        )
        .await?;
        return Ok(());
    }
    if report.quality_alert {
        warn!(rate = ?report.bad_row_rate, unusable = report.unusable_count, "data quality");
        publish(
            &ctx.sns,
            &cfg.topic_arn,
            messages::SUBJECT_DATA_QUALITY,
            &messages::data_quality(report, cfg.bad_row_alert_rate),
        )
        .await?;
    }
    if report.drift {
        warn!(mean = ?report.mean_daily_tickets, baseline = ?report.baseline_mean, change = ?report.relative_change, "data drift");
        put_metric(&ctx.cw, cfg, METRIC_DATA_DRIFT, 1.0, StandardUnit::Count).await?;
        publish(
            &ctx.sns,
            &cfg.topic_arn,
            messages::SUBJECT_DATA_DRIFT,
            &messages::data_drift(report, cfg.drift_threshold),
        )
        .await?;
    }
    Ok(())
}
