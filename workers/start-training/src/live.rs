//! The serving model measured against the new days, before training: its forecast of the days
//! the new files cover (sagemaker-runtime InvokeEndpoint, the serving contract) against their
//! tickets. A model that cannot be asked leaves the live MAPE unknown, with the reason; that
//! never stops the run.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::StandardUnit;
use chrono::NaiveDate;
use tracing::{info, warn};

use retrain_core::aws::endpoint::{describe_endpoint, invoke};
use retrain_core::aws::notify::{publish, put_metric, METRIC_SERVING_MAPE};
use retrain_core::live::{live_request, LiveAccuracy};
use retrain_core::messages;
use retrain_core::serving::check_answer;
use retrain_core::{Context, Result};

/// Ask the serving endpoint for the new days and measure its forecast against `actuals`.
pub async fn measure(ctx: &Context, actuals: &BTreeMap<NaiveDate, u64>) -> LiveAccuracy {
    let cfg = &ctx.cfg;
    let (endpoint, threshold) = (cfg.endpoint_name.as_str(), cfg.mape_threshold);
    let unknown = |model: Option<String>, why: String| {
        info!(endpoint, reason = %why, "live MAPE unknown");
        LiveAccuracy::unknown(endpoint, model, threshold, why)
    };
    let Some(request) = live_request(actuals) else {
        return unknown(None, "no new days with tickets".into());
    };
    let model = match describe_endpoint(&ctx.sm, endpoint).await {
        Ok(Some(e)) if matches!(e.status.as_str(), "InService" | "Updating") => e.config_name,
        Ok(Some(e)) => return unknown(None, format!("endpoint {endpoint} is {}", e.status)),
        Ok(None) => return unknown(None, format!("no endpoint {endpoint} serves yet")),
        Err(e) => return unknown(None, format!("DescribeEndpoint: {e}")),
    };
    let body = serde_json::to_vec(&request).expect("json");
    let answer = match invoke(&ctx.smr, endpoint, body).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(model_error)) => return unknown(Some(model), model_error),
        Err(e) => return unknown(Some(model), e.to_string()),
    };
    // The request names its start: `today` is not read.
    let today = request.start_date.unwrap_or_default();
    match check_answer(&request, today, &answer) {
        Ok(days) => {
            let live = LiveAccuracy::measured(endpoint, model, threshold, actuals, &days);
            info!(endpoint, model = ?live.model, mape = ?live.mape, days = live.days.len(),
                  drifted = live.drifted, "serving model measured against the new days");
            live
        }
        Err(problem) => unknown(
            Some(model),
            format!("its answer breaks the serving contract: {problem}"),
        ),
    }
}

/// The live MAPE as a metric (`ServingModelMAPE`, alarmed at the threshold), and the alert
/// when the serving model has drifted.
pub async fn report(ctx: &Context, live: &LiveAccuracy) -> Result<()> {
    let Some(mape) = live.mape else {
        return Ok(());
    };
    put_metric(
        &ctx.cw,
        &ctx.cfg,
        METRIC_SERVING_MAPE,
        mape,
        StandardUnit::Percent,
    )
    .await?;
    if live.drifted {
        warn!(mape, model = ?live.model, "serving model drift");
        publish(
            &ctx.sns,
            &ctx.cfg.topic_arn,
            messages::SUBJECT_SERVING_DRIFT,
            &messages::serving_drift(live),
        )
        .await?;
    }
    Ok(())
}
