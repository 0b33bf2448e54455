//! The reference training command, run as a SageMaker training job would run the user's
//! container: reads every `bronze/*.csv` of `S3_BUCKET`, counts tickets per day, fits the model,
//! cross-validates, and writes `model.json` and `metrics.json` (`{"mape", "rmse", "mae"}`, MAPE
//! null with under 51 days) into `SM_MODEL_DIR`; like the user's container it also uploads them
//! to `Model/metrics.json` and `Model/model.tar.gz`. A failure exits non-zero with the reason.

//!
//! The crate is the trainer; the `local` crate builds it as the `reference-trainer` binary,
//! the proving ground's default training command.

pub mod forecast;
pub mod holidays;
pub mod serve;

use std::path::PathBuf;

use crate::forecast::{cross_validate_scaled, daily_series, forecast, periods, predictions_csv};
use retrain_core::archive::build_model_tar;
use retrain_core::aws::s3::{
    list_csvs_since, put_bytes, read_streaming, ObjectInfo, FIXED_METRICS_KEY,
};
use retrain_core::aws::{ops, Clients};
use retrain_core::tickets::{count_daily, DailyCounts, DateWindow};
use retrain_core::Worker;
use serde_json::json;

/// The training job's calls (what the SageMaker execution role must allow on the bucket).
pub static TRAINER: Worker = Worker {
    name: "reference-trainer",
    operations: &[
        ops::S3_LIST_OBJECTS_V2,
        ops::S3_GET_OBJECT,
        ops::S3_PUT_OBJECT,
    ],
};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// Train once, as a SageMaker training job: the environment in, the model directory and the
/// fixed S3 keys out. `Err` is the reason the job fails with.
pub async fn run() -> Result<(), String> {
    let bucket = env("S3_BUCKET")?;
    let prefix = std::env::var("DATA_PREFIX").unwrap_or_else(|_| "bronze/".into());
    let model_dir = PathBuf::from(env("SM_MODEL_DIR")?);
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = Clients::from_sdk(&sdk).guarded(&TRAINER).s3;

    let window = window_from_env()?;
    let (files, total) = count_tickets(&s3, &bucket, &prefix, window).await?;
    let (first, y) = daily_series(&total.per_day)
        .ok_or_else(|| format!("no tickets under s3://{bucket}/{prefix}"))?;
    println!(
        "{} files, {} tickets, {} days from {first}",
        files.len(),
        total.rows,
        y.len()
    );
    let bias = bias_from_env()?;
    let metrics = cross_validate_scaled(first, &y, bias.unwrap_or(1.0))?;
    println!("cross-validation: {metrics:?}");
    let next = forecast(first, &y, 14)?;
    let model = json!({
        "model": "augurs MSTL + AutoETS trend on log1p(daily tickets)",
        "periods": periods(y.len()),
        "first_day": first,
        "days": y.len(),
        "forecast_next_14_days": next,
        // What `serve` fits again when it starts: the daily counts from `first_day`.
        "series": y,
    });
    let mut model = with_fault(model)?;
    if let Some(bias) = bias {
        model["bias"] = json!(bias);
    }
    let metrics_doc = json!({
        "mape": metrics.mape, "rmse": metrics.rmse, "mae": metrics.mae,
        "baseline_mape_seasonal_naive": metrics.baseline_mape,
    });
    std::fs::create_dir_all(&model_dir).map_err(|e| e.to_string())?;
    let model_bytes = serde_json::to_vec_pretty(&model).expect("json");
    let metrics_bytes = serde_json::to_vec_pretty(&metrics_doc).expect("json");
    std::fs::write(model_dir.join("model.json"), &model_bytes).map_err(|e| e.to_string())?;
    std::fs::write(model_dir.join("metrics.json"), &metrics_bytes).map_err(|e| e.to_string())?;
    // The optional cross-validation predictions the run report draws (empty: too little history).
    let predictions = predictions_csv(first, &metrics.predictions);
    if !metrics.predictions.is_empty() {
        std::fs::write(model_dir.join("predictions.csv"), &predictions)
            .map_err(|e| e.to_string())?;
    }
    // The fixed keys the original container writes (EvaluateMape reads the job's own archive).
    let mut files: Vec<(&str, &[u8])> = vec![
        ("model.json", &model_bytes),
        ("metrics.json", &metrics_bytes),
    ];
    if !metrics.predictions.is_empty() {
        files.push(("predictions.csv", predictions.as_bytes()));
    }
    let tar = build_model_tar(&files);
    for (key, content_type, body) in [
        ("Model/model.tar.gz", "application/gzip", tar),
        (FIXED_METRICS_KEY, "application/json", metrics_bytes),
    ] {
        put_bytes(&s3, &bucket, key, content_type, body)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The plausible window StartTraining passes (`EARLIEST_TICKET_DATE`, `LATEST_TICKET_DATE`, the
/// run's `run.data.window`); rows dated outside it are not trained on.
fn window_from_env() -> Result<DateWindow, String> {
    let date = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| {
                chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map_err(|e| format!("{name}: {e}"))
            })
            .transpose()
    };
    let now = chrono::Utc::now();
    let mut window = DateWindow::at(
        date("EARLIEST_TICKET_DATE")?.unwrap_or(chrono::NaiveDate::MIN),
        now,
    );
    if let Some(latest) = date("LATEST_TICKET_DATE")? {
        window.latest = latest;
    }
    Ok(window)
}

/// Every ticket file under `prefix`, counted per day within `window`: the files, the counts.
async fn count_tickets(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    window: DateWindow,
) -> Result<(Vec<ObjectInfo>, DailyCounts), String> {
    let files = list_csvs_since(s3, bucket, prefix, None)
        .await
        .map_err(|e| e.to_string())?;
    let mut total = DailyCounts::default();
    for f in &files {
        match read_streaming(s3, bucket, &f.key, move |r| count_daily(r, window))
            .await
            .map_err(|e| e.to_string())?
        {
            Some(Ok(scan)) => {
                if let Some((line, why)) = &scan.first_bad {
                    eprintln!(
                        "{}: {} rows left out, the first at line {line}: {why}",
                        f.key, scan.counts.bad_rows
                    );
                }
                total.merge(scan.counts)
            }
            Some(Err(e)) => eprintln!("skipping {}: {e}", f.key),
            None => {}
        }
    }
    Ok((files, total))
}

/// What `REFERENCE_TRAINER_FAULT=biased` multiplies every forecast by, in the backtest and in
/// serving: a model that passes the MAPE gate (the normal week's backtest goes from 5.4 % to
/// about 15 %) but is clearly worse than the model serving (the `worse-challenger` scenario).
pub const BIAS: f64 = 1.15;

fn bias_from_env() -> Result<Option<f64>, String> {
    Ok(
        (std::env::var("REFERENCE_TRAINER_FAULT").ok().as_deref() == Some("biased"))
            .then_some(BIAS),
    )
}

/// The proving ground's broken models: `REFERENCE_TRAINER_FAULT=garbage` trains a model whose
/// server answers outside the serving contract, `no-ping` one that cannot load (its `/ping`
/// fails). Both pass the MAPE gate: only serving them shows they are broken.
fn with_fault(mut model: serde_json::Value) -> Result<serde_json::Value, String> {
    match std::env::var("REFERENCE_TRAINER_FAULT").ok().as_deref() {
        None | Some("") => {}
        Some("garbage") => model["fault"] = json!("garbage"),
        Some("no-ping") => model["series"] = json!([]),
        // Not broken, only worse: `run` scales its backtest and `serve` its answers.
        Some("biased") => {}
        Some(other) => {
            return Err(format!(
                "REFERENCE_TRAINER_FAULT={other}: not garbage, no-ping or biased"
            ))
        }
    }
    Ok(model)
}

/// The command, as SageMaker runs a container: `train` (or no argument) trains and exits 1 with
/// the reason when training fails; `serve` serves the model (`serve::serve`).
pub async fn main() {
    let serving = std::env::args().nth(1).as_deref() == Some("serve");
    let result = if serving {
        tokio::task::spawn_blocking(serve::serve)
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
    } else {
        run().await
    };
    if let Err(e) = result {
        eprintln!(
            "{} failed: {e}",
            if serving { "serving" } else { "training" }
        );
        std::process::exit(1);
    }
}
