//! What the emulator holds after a run, read back through the same APIs a user would use: the
//! model serving the endpoint, the registry, the metrics, the alerts, `Model/last_trained.json`.

use std::fmt::Write;

use retrain_core::endpoint::serving_model;
use retrain_core::s3::LAST_TRAINED_KEY;
use retrain_core::Config;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub version: i64,
    pub status: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Report {
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
}

pub async fn collect(
    sdk: &aws_config::SdkConfig,
    cfg: &Config,
    emulator_state: &Value,
) -> Result<Report, String> {
    let sm = aws_sdk_sagemaker::Client::new(sdk);
    let s3 = retrain_core::s3_client(sdk);
    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    let serving = serving_model(&sm, &cfg.endpoint_name)
        .await
        .map_err(|e| e.to_string())?;
    let endpoint_status = retrain_core::endpoint::describe_endpoint(&sm, &cfg.endpoint_name)
        .await
        .map_err(|e| e.to_string())?
        .map(|e| e.status);
    let mut versions = Vec::new();
    if let Ok(list) = sm
        .list_model_packages()
        .model_package_group_name(&cfg.model_package_group)
        .send()
        .await
    {
        for s in list.model_package_summary_list() {
            versions.push(Version {
                version: s.model_package_version().unwrap_or_default() as i64,
                status: s
                    .model_approval_status()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_default(),
                description: s
                    .model_package_description()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
    versions.sort_by_key(|v| v.version);
    let jobs = sm
        .list_training_jobs()
        .send()
        .await
        .map_err(|e| format!("ListTrainingJobs: {e:?}"))?;
    let training_jobs = jobs
        .training_job_summaries()
        .iter()
        .map(|j| {
            (
                j.training_job_name().unwrap_or_default().to_string(),
                j.training_job_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
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
    let alarm = cw
        .describe_alarms()
        .alarm_names(cfg.alarm_name())
        .send()
        .await
        .ok()
        .and_then(|a| {
            a.metric_alarms().first().map(|m| {
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
            })
        });
    let last_trained = retrain_core::s3::get_json::<Value>(&s3, &cfg.bucket, LAST_TRAINED_KEY)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Report {
        serving_model: serving,
        endpoint_status,
        versions,
        training_jobs,
        metrics,
        alerts,
        alarm,
        last_trained,
    })
}

impl Report {
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
        out
    }
}
