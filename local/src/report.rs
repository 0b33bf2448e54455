//! What the emulator holds after a run, read back through the same APIs a user would use: the
//! model serving the endpoint, the registry, the metrics, the alerts, `Model/last_trained.json`.

use std::fmt::Write;

use retrain_core::aws::endpoint::{describe_endpoint, serving_model};
use retrain_core::aws::notify::describe_alarm;
use retrain_core::aws::registry::list_versions;
use retrain_core::aws::s3::{get_bytes, get_json, LAST_TRAINED_KEY};
use retrain_core::aws::training::list_training_jobs;
use retrain_core::Context;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub version: i64,
    pub status: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub bucket: String,
    pub serving_model: String,
    pub endpoint_status: Option<String>,
    pub versions: Vec<Version>,
    pub training_jobs: Vec<(String, String)>,
    /// (metric, value)
    pub metrics: Vec<(String, f64)>,
    /// (subject, body)
    pub alerts: Vec<(String, String)>,
    pub alarm: Option<String>,
    pub last_trained: Option<Value>,
    /// Every CreateEndpoint / UpdateEndpoint the emulator accepted: (operation, config).
    pub deployments: Vec<(String, String)>,
    /// The run reports in the bucket (keys under `reports/`), oldest first.
    pub run_reports: Vec<String>,
}

/// The run report of `execution` (`reports/<execution>.html`), if it was written.
pub async fn run_report(harness: &Context, execution: &str) -> Result<Option<String>, String> {
    let key = run_report::report_key(execution);
    let bytes = get_bytes(&harness.s3, &harness.cfg.bucket, &key, 16 << 20)
        .await
        .map_err(|e| e.to_string())?;
    bytes
        .map(|(b, _)| String::from_utf8(b).map_err(|e| format!("{key} is not UTF-8: {e}")))
        .transpose()
}

async fn run_report_keys(harness: &Context) -> Result<Vec<String>, String> {
    let listed = harness
        .s3
        .list_objects_v2()
        .bucket(&harness.cfg.bucket)
        .prefix("reports/")
        .send()
        .await
        .map_err(|e| {
            format!(
                "listing reports/: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let mut objects: Vec<_> = listed
        .contents()
        .iter()
        .filter_map(|o| Some((o.last_modified()?.as_secs_f64(), o.key()?.to_string())))
        .collect();
    objects.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(objects.into_iter().map(|(_, k)| k).collect())
}

/// Read back, with the harness's context, what the emulator holds.
pub async fn collect(harness: &Context, emulator_state: &Value) -> Result<Report, String> {
    let (sm, cfg) = (&harness.sm, &harness.cfg);
    let err = |e: retrain_core::WorkerError| e.to_string();
    let serving = serving_model(sm, &cfg.endpoint_name).await.map_err(err)?;
    let endpoint_status = describe_endpoint(sm, &cfg.endpoint_name)
        .await
        .map_err(err)?
        .map(|e| e.status);
    let mut versions: Vec<Version> = list_versions(sm, &cfg.model_package_group)
        .await
        .map_err(err)?
        .into_iter()
        .map(|s| Version {
            version: s.version.version.unwrap_or_default(),
            status: s.version.status,
            description: s.description,
        })
        .collect();
    versions.sort_by_key(|v| v.version);
    let training_jobs = list_training_jobs(sm).await.map_err(err)?;
    let metrics = emulator_state["cloudwatch_metric_data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["Namespace"] == retrain_core::config::METRIC_NAMESPACE)
        .map(|m| {
            (
                m["MetricName"].as_str().unwrap_or_default().to_string(),
                m["Value"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    let alerts = emulator_state["sns_messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["Subject"].as_str().unwrap_or_default().to_string(),
                m["Message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let alarm = describe_alarm(&harness.cw, &cfg.alarm_name())
        .await
        .map_err(err)?
        .map(|m| {
            format!(
                "{} ({} {} {} {:?})",
                m.alarm_name().unwrap_or_default(),
                m.metric_name().unwrap_or_default(),
                m.comparison_operator()
                    .map(|c| c.as_str())
                    .unwrap_or_default(),
                m.threshold().unwrap_or_default(),
                m.alarm_actions()
            )
        });
    let last_trained = get_json::<Value>(&harness.s3, &cfg.bucket, LAST_TRAINED_KEY)
        .await
        .map_err(err)?;
    Ok(Report {
        bucket: cfg.bucket.clone(),
        serving_model: serving,
        endpoint_status,
        versions,
        training_jobs,
        metrics,
        alerts,
        alarm,
        last_trained,
        deployments: emulator_state["endpoint_deployments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
                (text("Operation"), text("EndpointConfigName"))
            })
            .collect(),
        run_reports: run_report_keys(harness).await?,
    })
}

impl Report {
    /// Every value published of metric `name`, in order.
    pub fn metric(&self, name: &str) -> Vec<f64> {
        self.metrics
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .collect()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "serving model     : {} ({})",
            self.serving_model,
            self.endpoint_status.as_deref().unwrap_or("no endpoint")
        );
        let _ = writeln!(
            out,
            "training jobs     : {}",
            self.training_jobs
                .iter()
                .map(|(n, s)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(out, "registry versions :");
        for v in &self.versions {
            let _ = writeln!(
                out,
                "  v{:<3} {:<22} {}",
                v.version, v.status, v.description
            );
        }
        let _ = writeln!(
            out,
            "metrics published : {}",
            self.metrics
                .iter()
                .map(|(n, v)| format!("{n}={v:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            out,
            "alarm             : {}",
            self.alarm.as_deref().unwrap_or("none")
        );
        let _ = writeln!(out, "alerts sent       : {}", self.alerts.len());
        for (subject, body) in &self.alerts {
            let _ = writeln!(out, "  [{subject}]");
            for line in body.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        let _ = writeln!(
            out,
            "Model/last_trained.json: {}",
            self.last_trained
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "absent".into())
        );
        let _ = writeln!(out, "run reports       : {}", self.run_reports.len());
        for key in &self.run_reports {
            let _ = writeln!(out, "  s3://{}/{key}", self.bucket);
        }
        out
    }
}
