//! Preparing the emulator's lake for a scenario: the bucket, the alert topic, the ticket files,
//! and what an earlier run would have left (`Model/last_trained.json`, `statistics/latest.json`).

use chrono::{Duration, NaiveDate, Utc};
use retrain_core::archive::build_model_tar;
use retrain_core::aws::endpoint::describe_endpoint;
use retrain_core::aws::registry::ensure_group;
use retrain_core::aws::Clients;
use serde_json::json;

use crate::launcher::identity;
use retrain_core::aws::s3::{create_bucket, put_bytes, put_json, LAST_TRAINED_KEY, STATISTICS_KEY};
use retrain_core::documents::{LastTrained, Statistics};
use retrain_core::Context;

use crate::scenario::{
    daily_counts, messy_week, weekly_files, Scenario, DRIFT_FACTOR, REGIME_FACTOR,
};

/// Days of history a lake has before the first run (two years).
pub const HISTORY_DAYS: i64 = 728;
pub const SEED: u64 = 42;

/// The first day of the synthetic timeline (a Monday). The two years of history end on
/// 2024-11-25 and the simulated weeks follow, so every ticket is dated in the past of any clock
/// that runs the demo: StartTraining refuses tickets dated over a day past its clock.
pub fn origin() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 11, 28).expect("valid date")
}

/// The lake of a local run, written with the harness's context. `sdk` is the emulator's SDK
/// configuration: the model an earlier run deployed is deployed by the Deploy worker itself.
pub struct Lake<'a> {
    pub ctx: &'a Context,
    pub sdk: &'a aws_config::SdkConfig,
}

/// The training job of the run before the first one (its model serves when a lake starts).
pub const PREVIOUS_JOB: &str = "prophet-retrain-previous-run";
/// The file in the earlier model's archive that says the seed made it (a reference trainer
/// model): the proving ground serves it with the reference trainer, whatever the run's trainer.
pub const SEEDED_MARKER: &str = "seeded-earlier-model";
/// The image URI the earlier model was registered with: an earlier image of the reference
/// trainer's, never mapped to a container, so it serves with the reference trainer's server
/// whatever image the run trains with (`launcher::Emulator::start_image`).
pub const SEEDED_IMAGE: &str = "local/reference-trainer:earlier";
/// Its MAPE, as `Model/last_trained.json` records it.
pub const PREVIOUS_MAPE: f64 = 9.8;

impl Lake<'_> {
    pub async fn create_bucket(&self) -> Result<(), String> {
        create_bucket(&self.ctx.s3, &self.ctx.cfg.bucket)
            .await
            .map_err(|e| e.to_string())
    }

    /// Put one file as it is (a test's malformed ticket file).
    pub async fn put_file(&self, key: &str, body: &[u8]) -> Result<(), String> {
        put_bytes(
            &self.ctx.s3,
            &self.ctx.cfg.bucket,
            key,
            "text/csv",
            body.to_vec(),
        )
        .await
        .map_err(|e| e.to_string())
    }

    async fn put(&self, key: &str, body: String) -> Result<(), String> {
        put_bytes(
            &self.ctx.s3,
            &self.ctx.cfg.bucket,
            key,
            "text/csv",
            body.into_bytes(),
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// Upload the days `[from, from + days)` of the series as weekly files, volume multiplied
    /// from the shift's day on (`(day, factor)`). Returns the number of tickets.
    pub async fn upload_days(
        &self,
        from_day: i64,
        days: i64,
        shift: Option<(i64, f64)>,
    ) -> Result<u64, String> {
        let start = origin() + Duration::days(from_day);
        let regime = shift.map(|(d, f)| (origin() + Duration::days(d), f));
        let series = daily_counts(start, days, SEED + from_day as u64, regime);
        for (key, csv) in weekly_files(&series, SEED + from_day as u64) {
            self.put(&key, csv).await?;
        }
        Ok(series.iter().map(|(_, n)| *n as u64).sum())
    }

    /// The model an earlier run deployed, serving: its archive, version (Approved), model,
    /// endpoint config and endpoint, made by the Deploy worker from that run's state, then
    /// waited for until InService. Returns what `Model/last_trained.json` records of it.
    async fn previous_model(&self, history_days: i64) -> Result<LastTrained, String> {
        let cfg = &self.ctx.cfg;
        let artifact_key = format!("training-output/{PREVIOUS_JOB}/output/model.tar.gz");
        let metrics = format!(r#"{{"mape": {PREVIOUS_MAPE}, "rmse": 20.0, "mae": 15.0}}"#);
        // A model the reference trainer's `serve` loads: the history's daily counts.
        let series: Vec<u32> = daily_counts(origin(), history_days, SEED, None)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let model = json!({"model": "the model an earlier run deployed (reference trainer)",
                           "first_day": origin(), "series": series});
        let archive = build_model_tar(&[
            (
                "model.json",
                serde_json::to_vec(&model).expect("json").as_slice(),
            ),
            ("metrics.json", metrics.as_bytes()),
            (
                SEEDED_MARKER,
                b"the proving ground's seed made this model; the reference trainer serves it\n",
            ),
        ]);
        put_bytes(
            &self.ctx.s3,
            &cfg.bucket,
            &artifact_key,
            "application/gzip",
            archive,
        )
        .await
        .map_err(|e| e.to_string())?;
        let started = Utc::now() - Duration::days(7);
        let state = json!({
            "run": {"execution": "previous-run", "trigger": "schedule", "action": "train",
                    "reason": "the run before this lake's first", "mape_threshold": cfg.mape_threshold,
                    "mape_floor": cfg.mape_floor, "poll_seconds": 60, "deadline_seconds": 5400,
                    "training": {"job_name": PREVIOUS_JOB,
                                 "output_path": format!("s3://{}/training-output/", cfg.bucket),
                                 "created_at": started.to_rfc3339(), "adopted": false}},
            "job": {"kind": "training", "name": PREVIOUS_JOB, "status": "Completed",
                    "outcome": "succeeded", "started_at": started.to_rfc3339(),
                    "model_artifact": format!("s3://{}/{artifact_key}", cfg.bucket),
                    "elapsed_seconds": 900, "deadline_passed": false},
            "evaluation": {"job_name": PREVIOUS_JOB, "mape": PREVIOUS_MAPE, "rmse": 20.0,
                           "mae": 15.0, "threshold": cfg.mape_threshold,
                           "source": "job_artifact", "passed": true}
        });
        // StartTraining ensures the group; then Deploy registers and serves, as in a real run.
        let starter = Context::new(
            cfg.clone(),
            Clients::from_sdk(&identity(self.sdk, start_training::WORKER.name)),
            &start_training::WORKER,
        );
        ensure_group(&starter.sm, &cfg.model_package_group)
            .await
            .map_err(|e| e.to_string())?;
        let earlier = retrain_core::Config {
            image_uri: SEEDED_IMAGE.into(),
            ..cfg.clone()
        };
        let deployer = Context::new(
            earlier,
            Clients::from_sdk(&identity(self.sdk, deploy::WORKER.name)),
            &deploy::WORKER,
        );
        let deployed = deploy::handler::handle(&deployer, state)
            .await
            .map_err(|e| format!("deploying the earlier model: {e}"))?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let status = describe_endpoint(&self.ctx.sm, &cfg.endpoint_name)
                .await
                .map_err(|e| e.to_string())?
                .map(|e| e.status);
            if status.as_deref() == Some("InService") {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "the earlier model's endpoint is {status:?}, not InService"
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Ok(LastTrained {
            trained_at: Utc::now().to_rfc3339(),
            mape: Some(PREVIOUS_MAPE),
            approval: "Approved".into(),
            training_job: Some(PREVIOUS_JOB.into()),
            model_package_arn: Some(deployed.model_package_arn),
            deployed_at: Some(Utc::now().to_rfc3339()),
            report: None,
            report_url: None,
        })
    }

    /// What a previous run that deployed would have left: its model serving the endpoint,
    /// `trained_at` now (every file uploaded so far is old data), and the drift baseline of the
    /// last four weeks of history.
    pub async fn previous_run(&self, history_end_day: i64) -> Result<(), String> {
        let last_trained = self.previous_model(history_end_day).await?;
        let last = daily_counts(
            origin() + Duration::days(history_end_day - 28),
            28,
            SEED + 7,
            None,
        );
        let mean = last.iter().map(|(_, n)| *n as f64).sum::<f64>() / last.len() as f64;
        let s3 = &self.ctx.s3;
        let bucket = &self.ctx.cfg.bucket;
        put_json(
            s3,
            bucket,
            STATISTICS_KEY,
            &Statistics {
                mean_daily_tickets: mean,
                days: 28,
                rows: last.iter().map(|(_, n)| *n as u64).sum(),
                computed_at: Some(Utc::now().to_rfc3339()),
                training_job: None,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        put_json(s3, bucket, LAST_TRAINED_KEY, &last_trained)
            .await
            .map_err(|e| e.to_string())?;
        // S3 keeps LastModified to the second: files uploaded next must be strictly newer.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        Ok(())
    }
}

/// Seed the lake for `scenario`, week `week` (1 = the first run against this lake).
/// Week 1 lays down the history (and, but for a new lake, what a previous run left); every week
/// then adds its own new files, except `no-new-data`.
pub async fn prepare(lake: &Lake<'_>, scenario: Scenario, week: i64) -> Result<String, String> {
    let week_start = HISTORY_DAYS + 7 * (week - 1);
    let mut said = Vec::new();
    if week == 1 {
        lake.create_bucket().await?;
        match scenario {
            Scenario::ShortHistory => {
                let n = lake.upload_days(HISTORY_DAYS - 30, 30, None).await?;
                said.push(format!("a new lake: 30 days, {n} tickets"));
            }
            _ => {
                let n = lake.upload_days(0, HISTORY_DAYS, None).await?;
                lake.previous_run(HISTORY_DAYS).await?;
                said.push(format!(
                    "{HISTORY_DAYS} days of history ({n} tickets), trained and deployed before"
                ));
            }
        }
    }
    match scenario {
        Scenario::Normal => {
            let n = lake.upload_days(week_start, 7, None).await?;
            said.push(format!("a normal new week: {n} tickets"));
        }
        Scenario::WorseChallenger => {
            let n = lake.upload_days(week_start, 7, None).await?;
            said.push(format!(
                "a normal new week: {n} tickets; the trainer makes a model biased {}x",
                reference_trainer::BIAS
            ));
        }
        Scenario::ServingDrift => {
            // Four weeks after a level shift: the serving model, trained before it, misses them;
            // the new model's three backtest weeks each train on at least a week of it.
            let n = lake
                .upload_days(week_start, 28, Some((week_start, DRIFT_FACTOR)))
                .await?;
            said.push(format!(
                "four new weeks after a {DRIFT_FACTOR}x level shift: {n} tickets"
            ));
        }
        Scenario::BrokenModel => {
            let n = lake.upload_days(week_start, 7, None).await?;
            said.push(format!(
                "a normal new week: {n} tickets; the trainer makes a model that answers garbage"
            ));
        }
        Scenario::RegimeChange => {
            // Three weeks at 2.2x: the last folds of the cross-validation see the jump.
            let n = lake
                .upload_days(week_start, 21, Some((week_start, REGIME_FACTOR)))
                .await?;
            said.push(format!(
                "three new weeks after a regime change: {n} tickets"
            ));
        }
        Scenario::MessyFiles => {
            let series = daily_counts(
                origin() + Duration::days(week_start),
                7,
                SEED + week_start as u64,
                None,
            );
            let files = messy_week(&series, SEED + week_start as u64);
            for (key, csv) in &files {
                lake.put_file(key, csv.as_bytes()).await?;
            }
            said.push(format!(
                "a normal week as {} messy exports: {} tickets, 2 bad rows, 1 empty file",
                files.len(),
                series.iter().map(|(_, n)| *n as u64).sum::<u64>()
            ));
        }
        Scenario::NoNewData => said.push("no new files".into()),
        Scenario::ShortHistory if week > 1 => {
            let n = lake.upload_days(week_start - 7, 7, None).await?;
            said.push(format!("another week: {n} tickets"));
        }
        Scenario::ShortHistory => {}
    }
    Ok(said.join("; "))
}
