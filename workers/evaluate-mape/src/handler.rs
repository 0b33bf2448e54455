//! EvaluateMape: read THIS job's metrics and publish its MAPE.
//!
//! `metrics.json` inside the job's own model.tar.gz decides; `Model/metrics.json` (the fixed key
//! every run overwrites) is read only when the archive has none and only when that object was
//! written after this job started. Anything else leaves MAPE unknown: never a number that passes.

use aws_sdk_cloudwatch::types::StandardUnit;
use serde_json::Value;
use tracing::{info, warn, Instrument};

use retrain_core::archive::{
    file_from_model_tar, metrics_from_model_tar, MAX_METRICS_BYTES, MAX_PREDICTIONS_BYTES,
    PREDICTIONS_FILE,
};
use retrain_core::aws::notify::{put_metric, METRIC_MAPE, METRIC_TRAINING_BILLABLE};
use retrain_core::aws::s3::{self, FIXED_METRICS_KEY};
use retrain_core::champion::{compare, ChampionCheck};
use retrain_core::gate::{verdict, Verdict};
use retrain_core::metrics::{parse, ModelMetrics};
use retrain_core::payload::{Evaluation, MetricsSource, Run, State};
use retrain_core::predictions;
use retrain_core::{Context, Result, WorkerError};

pub async fn handle(ctx: &Context, event: Value) -> Result<Evaluation> {
    let state = State::from_value(event)?;
    let run = state.run()?;
    // This job's own artifact; a job that did not complete is refused.
    let job = state.completed_job()?;
    let training = job.training;
    let billing = state.job.as_ref().and_then(|j| j.billing);
    let span =
        tracing::info_span!("evaluate_mape", execution = %run.execution, job = %training.job_name);
    async move {
        let (metrics, source) = read_metrics(ctx, &job.artifact, job.started_at()).await?;
        let threshold = run.mape_threshold;
        let passed = verdict(metrics.mape, threshold, run.mape_floor) == Verdict::Deploy;
        if let Some(mape) = metrics.mape {
            put_metric(&ctx.cw, &ctx.cfg, METRIC_MAPE, mape, StandardUnit::None).await?;
        }
        if let Some(b) = billing {
            info!(
                spot = b.spot,
                training_seconds = b.training_seconds,
                billable_seconds = b.billable_seconds,
                savings_percent = b.savings_percent(),
                "training billed"
            );
            put_metric(
                &ctx.cw,
                &ctx.cfg,
                METRIC_TRAINING_BILLABLE,
                b.billable_seconds as f64,
                StandardUnit::Seconds,
            )
            .await?;
        }
        let champion = champion(ctx, run, &job.artifact).await?;
        info!(mape = ?metrics.mape, threshold, passed, source = ?source,
              unknown_reason = ?metrics.unknown_reason, champion = ?champion.verdict,
              serving_mape = ?champion.serving_mape, challenger_mape = ?champion.challenger_mape,
              "model evaluated");
        Ok(Evaluation {
            job_name: training.job_name.clone(),
            mape: metrics.mape,
            rmse: metrics.rmse,
            mae: metrics.mae,
            threshold,
            source,
            passed,
            unknown_reason: metrics.unknown_reason,
            champion: Some(champion),
        })
    }
    .instrument(span)
    .await
}

/// The new model against the serving one on the days StartTraining measured the serving model
/// on: its `predictions.csv` (read only when there are such days). Never an error but S3's own.
async fn champion(ctx: &Context, run: &Run, artifact: &str) -> Result<ChampionCheck> {
    let margin = run.champion_margin;
    let live = run.data.as_ref().and_then(|d| d.live.as_ref());
    if live.is_none_or(|l| l.days.is_empty()) {
        return Ok(compare(live, Err("not read"), margin));
    }
    let Some((bucket, key)) = s3::parse_uri(artifact) else {
        return Ok(ChampionCheck::none(
            margin,
            format!("the model artifact `{artifact}` is not an S3 URI"),
        ));
    };
    let found = s3::read_streaming(&ctx.s3, &bucket, &key, |r| {
        file_from_model_tar(r, PREDICTIONS_FILE, MAX_PREDICTIONS_BYTES)
    })
    .await?;
    let by_day = match found {
        Some(Ok(Some(bytes))) => predictions::parse(&bytes).map(|f| f.forecast_by_day()),
        Some(Ok(None)) => Err(format!("the trainer wrote no {PREDICTIONS_FILE}")),
        Some(Err(why)) => Err(format!("the model archive: {why}")),
        None => Err(format!("the model archive {artifact} does not exist")),
    };
    Ok(compare(
        live,
        by_day.as_ref().map_err(String::as_str),
        margin,
    ))
}

fn unknown(reason: String) -> ModelMetrics {
    ModelMetrics {
        mape: None,
        rmse: None,
        mae: None,
        unknown_reason: Some(reason),
    }
}

fn parsed(bytes: &[u8], location: &str) -> ModelMetrics {
    parse(bytes).unwrap_or_else(|e| unknown(format!("{location}: {e}")))
}

async fn read_metrics(
    ctx: &Context,
    artifact: &str,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<(ModelMetrics, MetricsSource)> {
    let (bucket, key) = s3::parse_uri(artifact).ok_or_else(|| {
        WorkerError::invalid(
            "job.model_artifact",
            format!("`{artifact}` is not an s3:// URI"),
        )
    })?;
    let why_not_artifact =
        match s3::read_streaming(&ctx.s3, &bucket, &key, metrics_from_model_tar).await? {
            Some(Ok(Some(bytes))) => {
                return Ok((
                    parsed(&bytes, "metrics.json in the model archive"),
                    MetricsSource::JobArtifact,
                ))
            }
            Some(Ok(None)) => "the model archive has no metrics.json".to_string(),
            // The archive has metrics that cannot be trusted, or cannot be read at all: the
            // fixed key is no stand-in for this job's own verdict.
            Some(Err(e)) => {
                return Ok((
                    unknown(format!("the model archive {artifact}: {e}")),
                    MetricsSource::None,
                ))
            }
            None => format!("the model archive {artifact} does not exist"),
        };
    warn!(reason = %why_not_artifact, "falling back to the fixed key");
    let fixed = match s3::get_bytes(
        &ctx.s3,
        &ctx.cfg.bucket,
        FIXED_METRICS_KEY,
        MAX_METRICS_BYTES,
    )
    .await
    {
        Err(WorkerError::BadData { reason, .. }) => {
            return Ok((
                unknown(format!("{why_not_artifact}; {FIXED_METRICS_KEY}: {reason}")),
                MetricsSource::None,
            ))
        }
        other => other?,
    };
    match fixed {
        Some((bytes, Some(modified))) if modified >= started => {
            Ok((parsed(&bytes, FIXED_METRICS_KEY), MetricsSource::FixedKey))
        }
        Some((_, modified)) => Ok((
            unknown(format!(
                "{why_not_artifact}; {FIXED_METRICS_KEY} is stale (written {}, before this job started {})",
                modified.map(|m| m.to_rfc3339()).unwrap_or_else(|| "at an unknown time".into()),
                started.to_rfc3339()
            )),
            MetricsSource::None,
        )),
        None => Ok((
            unknown(format!("{why_not_artifact}; no {FIXED_METRICS_KEY} either")),
            MetricsSource::None,
        )),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
