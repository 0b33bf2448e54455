//! EvaluateMape: read THIS job's metrics and publish its MAPE.
//!
//! `metrics.json` inside the job's own model.tar.gz decides; `Model/metrics.json` (the fixed key
//! every run overwrites) is read only when the archive has none and only when that object was
//! written after this job started. Anything else leaves MAPE unknown: never a number that passes.

use aws_sdk_cloudwatch::types::StandardUnit;
use serde_json::Value;
use tracing::{info, warn, Instrument};

use retrain_core::archive::metrics_from_model_tar;
use retrain_core::gate::{verdict, Verdict};
use retrain_core::metrics::{parse, ModelMetrics};
use retrain_core::notify::{put_metric, METRIC_MAPE};
use retrain_core::payload::{Evaluation, MetricsSource, State};
use retrain_core::s3::{self, FIXED_METRICS_KEY};
use retrain_core::versioning::model_artifact;
use retrain_core::{Config, Result, WorkerError};

pub struct Deps {
    pub cfg: Config,
    pub s3: aws_sdk_s3::Client,
    pub cw: aws_sdk_cloudwatch::Client,
}

pub async fn handle(deps: &Deps, event: Value) -> Result<Evaluation> {
    let state = State::from_value(event)?;
    let run = state.run()?;
    let training = state.training()?;
    // This job's own artifact; a job that did not complete is refused.
    let artifact = model_artifact(&state)?;
    let job = state.job.as_ref().expect("checked by model_artifact");
    let span =
        tracing::info_span!("evaluate_mape", execution = %run.execution, job = %training.job_name);
    async move {
        let started = job.started_at.unwrap_or(training.created_at);
        let (metrics, source) = read_metrics(deps, &artifact, started).await?;
        let threshold = run.mape_threshold;
        let passed = verdict(metrics.mape, threshold) == Verdict::Deploy;
        if let Some(mape) = metrics.mape {
            put_metric(&deps.cw, &deps.cfg, METRIC_MAPE, mape, StandardUnit::None).await?;
        }
        info!(mape = ?metrics.mape, threshold, passed, source = ?source,
              unknown_reason = ?metrics.unknown_reason, "model evaluated");
        Ok(Evaluation {
            job_name: training.job_name.clone(),
            mape: metrics.mape,
            rmse: metrics.rmse,
            mae: metrics.mae,
            threshold,
            source,
            passed,
            unknown_reason: metrics.unknown_reason,
        })
    }
    .instrument(span)
    .await
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
    deps: &Deps,
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
        match s3::read_streaming(&deps.s3, &bucket, &key, metrics_from_model_tar).await? {
            Some(Ok(Some(bytes))) => {
                return Ok((
                    parsed(&bytes, "metrics.json in the model archive"),
                    MetricsSource::JobArtifact,
                ))
            }
            Some(Ok(None)) => "the model archive has no metrics.json".to_string(),
            Some(Err(e)) => format!("the model archive is unreadable: {e}"),
            None => format!("the model archive {artifact} does not exist"),
        };
    warn!(reason = %why_not_artifact, "falling back to the fixed key");
    match s3::get_bytes(&deps.s3, &deps.cfg.bucket, FIXED_METRICS_KEY).await? {
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
