//! The new ticket files: which, how many tickets a day, and whether that drifted.

use aws_sdk_cloudwatch::types::StandardUnit;
use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};
use tracing::{info, warn};

use retrain_core::aws::notify::{publish, put_metric, METRIC_DATA_DRIFT};
use retrain_core::aws::s3::{self, BRONZE_PREFIX, LAST_TRAINED_KEY, STATISTICS_KEY};
use retrain_core::documents::{LastTrained, Statistics};
use retrain_core::drift::data_drift;
use retrain_core::messages;
use retrain_core::payload::DataReport;
use retrain_core::tickets::{count_daily, DailyCounts};
use retrain_core::{Context, Result};

/// Files read at once.
const CONCURRENT_READS: usize = 16;

pub struct Scan {
    pub since: Option<DateTime<Utc>>,
    pub new_files: u64,
    pub report: DataReport,
}

/// List and count the new files, check drift, and alert on drift when `alert` (a re-run that
/// adopts its job does not alert twice).
pub async fn scan(ctx: &Context, forced: bool, alert: bool) -> Result<Scan> {
    let cfg = &ctx.cfg;
    let last: Option<LastTrained> = s3::get_json(&ctx.s3, &cfg.bucket, LAST_TRAINED_KEY).await?;
    let since = last.as_ref().map(LastTrained::trained_at).transpose()?;
    let files = s3::list_csvs_since(&ctx.s3, &cfg.bucket, BRONZE_PREFIX, since).await?;
    info!(files = files.len(), since = ?since, "new ticket files listed");

    // Owned keys and clients: the stream's futures must not borrow from the listing.
    let keys: Vec<String> = files.iter().map(|f| f.key.clone()).collect();
    let results: Vec<(String, std::result::Result<DailyCounts, String>)> = stream::iter(keys)
        .map(|key| {
            let (s3, bucket) = (ctx.s3.clone(), cfg.bucket.clone());
            async move {
                let counted = s3::read_streaming(&s3, &bucket, &key, |r| count_daily(r)).await?;
                // A file deleted between list and read is simply gone.
                Ok::<_, retrain_core::WorkerError>((
                    key,
                    counted.unwrap_or_else(|| Ok(DailyCounts::default())),
                ))
            }
        })
        .buffer_unordered(CONCURRENT_READS)
        .try_collect()
        .await?;

    let mut total = DailyCounts::default();
    let mut bad_files = Vec::new();
    for (key, counted) in results {
        match counted {
            Ok(c) => total.merge(c),
            Err(reason) => {
                warn!(key = %key, reason = %reason, "unreadable ticket file skipped");
                bad_files.push(key);
            }
        }
    }
    bad_files.sort();
    if total.bad_rows > 0 {
        warn!(
            bad_rows = total.bad_rows,
            "rows without a readable created_date were skipped"
        );
    }

    let baseline: Option<Statistics> = s3::get_json(&ctx.s3, &cfg.bucket, STATISTICS_KEY).await?;
    let mean = total.mean_daily();
    let baseline_mean = baseline.map(|b| b.mean_daily_tickets);
    let check = data_drift(mean, baseline_mean, cfg.drift_threshold);
    let report = DataReport {
        new_files: files.len() as u64,
        rows: total.rows,
        bad_rows: total.bad_rows,
        bad_files,
        days: total.days(),
        mean_daily_tickets: mean,
        baseline_mean,
        relative_change: check.relative_change,
        drift: check.drift,
        forced,
        newest_file: files.iter().map(|f| f.last_modified).max(),
    };
    if check.drift && alert {
        warn!(mean = ?mean, baseline = ?baseline_mean, change = ?check.relative_change, "data drift");
        put_metric(&ctx.cw, cfg, METRIC_DATA_DRIFT, 1.0, StandardUnit::Count).await?;
        publish(
            &ctx.sns,
            &cfg.topic_arn,
            messages::SUBJECT_DATA_DRIFT,
            &messages::data_drift(&report, cfg.drift_threshold),
        )
        .await?;
    }
    Ok(Scan {
        since,
        new_files: files.len() as u64,
        report,
    })
}
