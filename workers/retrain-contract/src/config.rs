//! Configuration from the environment, read and validated once per cold start.
//! Names and defaults are those of the setup guide of the system this replaces.

use crate::error::{Result, WorkerError};
use crate::excerpt::quote;

pub mod rules;

/// CloudWatch namespace of every metric the pipeline publishes.
pub const METRIC_NAMESPACE: &str = "MLOps/Forecasting";

#[derive(Debug, Clone, PartialEq)]
pub struct TrainingResources {
    pub instance_type: String,
    pub instance_count: i32,
    pub volume_gb: i32,
    pub max_runtime_seconds: i32,
    /// Managed spot training: SageMaker waits for spare capacity (at up to 90 % off) and resumes
    /// an interrupted job, within `max_wait_seconds`.
    pub spot: bool,
    /// The explicit MaxWaitTimeInSeconds; `None`: twice the runtime ([`Self::max_wait`]).
    pub max_wait_seconds: Option<i32>,
}

/// SageMaker's StoppingCondition for managed spot training: MaxWaitTimeInSeconds "must be equal
/// to or greater than MaxRuntimeInSeconds" and is given only with EnableManagedSpotTraining.
impl TrainingResources {
    /// MaxWaitTimeInSeconds of the job: `None` on demand (SageMaker refuses it there).
    pub fn max_wait(&self) -> Option<i32> {
        self.spot.then(|| {
            self.max_wait_seconds
                .unwrap_or(self.max_runtime_seconds.saturating_mul(2))
        })
    }

    /// The longest a job may take from creation to its end: the wait for spot capacity and
    /// the runs it resumes included.
    pub fn longest_seconds(&self) -> i32 {
        self.max_wait().unwrap_or(self.max_runtime_seconds)
    }

    /// `Err`: why SageMaker would refuse these stopping conditions.
    pub fn check_wait(&self) -> std::result::Result<(), String> {
        match (self.spot, self.max_wait_seconds) {
            (false, Some(w)) => Err(format!(
                "a max wait ({w} s) applies only to spot training; turn spot on or leave it unset"
            )),
            (true, Some(w)) if w < self.max_runtime_seconds => Err(format!(
                "{w} s is less than the max runtime ({} s): SageMaker requires MaxWaitTimeInSeconds >= MaxRuntimeInSeconds",
                self.max_runtime_seconds
            )),
            _ => Ok(()),
        }
    }
}

/// SageMaker Serverless Inference: memory sizes it offers (MB).
pub const SERVERLESS_MEMORY_SIZES: [i32; 6] = [1024, 2048, 3072, 4096, 5120, 6144];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerlessResources {
    pub memory_mb: i32,
    pub max_concurrency: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointResources {
    pub instance_type: String,
    pub instance_count: i32,
    /// Serverless inference instead of instances (ENDPOINT_TYPE=Serverless).
    pub serverless: Option<ServerlessResources>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub bucket: String,
    pub image_uri: String,
    pub role_arn: String,
    pub endpoint_name: String,
    pub topic_arn: String,
    pub model_package_group: String,
    /// MAPE gate, percent: a model deploys only when its MAPE is strictly below this.
    pub mape_threshold: f64,
    /// A MAPE below this (percent) is implausible (a fraction for a percentage, a trainer that
    /// grouped per second): it waits for a person instead of deploying.
    pub mape_floor: f64,
    /// Percentage points a new model may be worse than the serving model, on the same days, and
    /// still replace it (champion/challenger).
    pub champion_margin: f64,
    /// Relative change of the mean daily ticket count that counts as data drift (0.5 = 50%).
    pub drift_threshold: f64,
    /// Share of the new rows that may be unusable before a data-quality alert goes out.
    pub bad_row_alert_rate: f64,
    /// Tickets dated before this day are bad rows (a date typed wrong, an epoch default).
    pub earliest_ticket_date: chrono::NaiveDate,
    pub training: TrainingResources,
    pub endpoint: EndpointResources,
    /// Seconds between two status checks of a training job or endpoint.
    pub poll_seconds: u32,
    /// CloudWatch alarms on the endpoint's own errors: an endpoint update that sets one off
    /// during its baking period is rolled back by SageMaker (deployment guardrails).
    pub rollback_alarms: Vec<String>,
    /// What an instance type is checked against (cold start, and a run's overrides).
    pub instance_types: InstanceTypes,
}

/// One row of the configuration table (docs/configuration.md; a test holds it to these facts).
pub struct Var {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub meaning: &'static str,
}

pub const VARS: &[Var] = &[
    Var {
        name: "S3_BUCKET",
        default: Some("ticket-forecasting-lake"),
        meaning: "data lake bucket: bronze/, Model/, statistics/, training-output/",
    },
    Var {
        name: "ECR_IMAGE_URI",
        default: None,
        meaning: "training and serving image (the Prophet container)",
    },
    Var {
        name: "SAGEMAKER_ROLE",
        default: None,
        meaning: "execution role ARN passed to SageMaker",
    },
    Var {
        name: "ENDPOINT_NAME",
        default: Some("prophet-fastapi-endpoint-latest"),
        meaning: "the serving endpoint",
    },
    Var {
        name: "SNS_TOPIC_ARN",
        default: None,
        meaning: "topic for alerts",
    },
    Var {
        name: "MODEL_PACKAGE_GROUP",
        default: Some("prophet-forecasting-models"),
        meaning: "model registry group",
    },
    Var {
        name: "MAPE_THRESHOLD",
        default: Some("20"),
        meaning: "deploy only when MAPE (percent) is below this; (0, 100]",
    },
    Var {
        name: "MAPE_PLAUSIBILITY_FLOOR",
        default: Some("1"),
        meaning: "a MAPE (percent) below this is implausible: the version waits for approval; [0, MAPE_THRESHOLD)",
    },
    Var {
        name: "CHAMPION_MARGIN",
        default: Some("1"),
        meaning: "deploy only when the new model's MAPE on the serving model's live days is at most the serving model's plus this (percentage points); [0, 100]",
    },
    Var {
        name: "BAD_ROW_ALERT_RATE",
        default: Some("0.05"),
        meaning: "share of the new rows that may be unusable before a data-quality alert; [0, 1]",
    },
    Var {
        name: "EARLIEST_TICKET_DATE",
        default: Some("2000-01-01"),
        meaning: "tickets dated before this day (or over a day in the future) are bad rows",
    },
    Var {
        name: "DRIFT_THRESHOLD",
        default: Some("0.5"),
        meaning: "relative change of mean daily tickets that is data drift",
    },
    Var {
        name: "TRAINING_INSTANCE_TYPE",
        default: Some("ml.m5.large"),
        meaning: "training instance type",
    },
    Var {
        name: "TRAINING_INSTANCE_COUNT",
        default: Some("1"),
        meaning: "training instance count",
    },
    Var {
        name: "TRAINING_VOLUME_GB",
        default: Some("10"),
        meaning: "training volume size",
    },
    Var {
        name: "TRAINING_MAX_RUNTIME_SECONDS",
        default: Some("3600"),
        meaning: "training job stopping condition",
    },
    Var {
        name: "TRAINING_SPOT",
        default: Some("true"),
        meaning: "managed spot training (`true`/`false`): billed for the seconds it runs on spare capacity",
    },
    Var {
        name: "TRAINING_MAX_WAIT_SECONDS",
        default: Some(""),
        meaning: "spot only: the job's limit, waiting for capacity included (>= the max runtime; empty: twice it)",
    },
    Var {
        name: "ENDPOINT_TYPE",
        default: Some("RealTime"),
        meaning: "`RealTime` (instances, billed by the hour) or `Serverless` (billed per second of use)",
    },
    Var {
        name: "ENDPOINT_INSTANCE_TYPE",
        default: Some("ml.t2.medium"),
        meaning: "serving instance type (RealTime)",
    },
    Var {
        name: "ENDPOINT_INSTANCE_COUNT",
        default: Some("1"),
        meaning: "serving instance count (RealTime)",
    },
    Var {
        name: "SERVERLESS_MEMORY_MB",
        default: Some("2048"),
        meaning: "Serverless: 1024, 2048, 3072, 4096, 5120 or 6144",
    },
    Var {
        name: "SERVERLESS_MAX_CONCURRENCY",
        default: Some("5"),
        meaning: "Serverless: concurrent invocations, [1, 200]",
    },
    Var {
        name: "POLL_SECONDS",
        default: Some("60"),
        meaning: "wait between status checks",
    },
    Var {
        name: "ROLLBACK_ALARMS",
        default: Some(""),
        meaning: "comma-separated CloudWatch alarms that roll an endpoint update back (at most 10)",
    },
];

/// The instance types SageMaker's API knows, by use. The contract holds no AWS model:
/// `retrain-core` supplies the SDK's lists (`retrain_core::config::instance_types`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceTypes {
    pub training: &'static [&'static str],
    pub endpoint: &'static [&'static str],
}

impl InstanceTypes {
    /// A training instance type SageMaker's API knows: `Err` says why not.
    pub fn training_type(&self, value: &str) -> std::result::Result<(), String> {
        known_instance_type(value, self.training, "training")
    }

    /// A serving (production variant) instance type SageMaker's API knows.
    pub fn endpoint_type(&self, value: &str) -> std::result::Result<(), String> {
        known_instance_type(value, self.endpoint, "endpoint")
    }
}

fn known_instance_type(value: &str, known: &[&str], kind: &str) -> std::result::Result<(), String> {
    if known.contains(&value) {
        return Ok(());
    }
    let family = value.rsplit_once('.').map(|(f, _)| f).unwrap_or(value);
    let near: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| k.starts_with(family) && family.starts_with("ml."))
        .take(6)
        .collect();
    Err(if near.is_empty() {
        format!(
            "{} is not a SageMaker {kind} instance type (ml.<family>.<size>)",
            quote(value)
        )
    } else {
        format!(
            "{} is not a SageMaker {kind} instance type; this family has: {}",
            quote(value),
            near.join(", ")
        )
    })
}

/// S3's bucket naming rules: 3-63 characters of lower-case letters, digits, dots and hyphens,
/// starting and ending with a letter or digit, no `..`, not an IP address.
pub fn bucket_name(value: &str) -> std::result::Result<(), String> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ip = value.split('.').count() == 4 && value.split('.').all(|p| p.parse::<u8>().is_ok());
    if (3..=63).contains(&value.len())
        && ok_chars
        && ends(value.chars().next())
        && ends(value.chars().last())
        && !value.contains("..")
        && !ip
    {
        Ok(())
    } else {
        Err(format!(
            "{} is not an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens; a letter or digit at each end; not an IP address)",
            quote(value)
        ))
    }
}

/// SageMaker's limit on the alarms of an AutoRollbackConfiguration.
pub const MAX_ROLLBACK_ALARMS: usize = 10;

fn alarm_names(raw: &str) -> Result<Vec<String>> {
    let names: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    if names.len() > MAX_ROLLBACK_ALARMS {
        return Err(WorkerError::config(
            "ROLLBACK_ALARMS",
            format!(
                "{} alarms; SageMaker takes at most {MAX_ROLLBACK_ALARMS}",
                names.len()
            ),
        ));
    }
    if let Some(bad) = names
        .iter()
        .find(|n| n.len() > 255 || n.chars().any(char::is_control))
    {
        return Err(WorkerError::config(
            "ROLLBACK_ALARMS",
            format!(
                "{} is not an alarm name (1-255 characters, no control characters)",
                quote(bad)
            ),
        ));
    }
    Ok(names)
}

impl Config {
    /// Read from the process environment.
    pub fn from_env(types: InstanceTypes) -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok(), types)
    }

    /// Read through `lookup` (tests pass a map). Empty values count as missing.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        types: InstanceTypes,
    ) -> Result<Self> {
        let env = Env(lookup);
        let t = Thresholds::read(&env)?;
        let (training, endpoint) = resources(&env, types)?;
        let bucket = env.get("S3_BUCKET")?;
        bucket_name(&bucket).map_err(|e| WorkerError::config("S3_BUCKET", e))?;
        Ok(Config {
            bucket,
            image_uri: env.checked("ECR_IMAGE_URI", rules::image_uri)?,
            role_arn: env.checked("SAGEMAKER_ROLE", rules::role_arn)?,
            endpoint_name: env.checked("ENDPOINT_NAME", rules::sagemaker_name)?,
            topic_arn: topic(&env)?,
            model_package_group: env.checked("MODEL_PACKAGE_GROUP", rules::sagemaker_name)?,
            mape_threshold: t.mape,
            mape_floor: t.floor,
            champion_margin: t.margin,
            drift_threshold: t.drift,
            bad_row_alert_rate: t.bad_rows,
            earliest_ticket_date: env.date("EARLIEST_TICKET_DATE")?,
            training,
            endpoint,
            poll_seconds: env.integer("POLL_SECONDS", 1, 3600)? as u32,
            rollback_alarms: alarm_names(&env.get("ROLLBACK_ALARMS")?)?,
            instance_types: types,
        })
    }

    pub fn alarm_name(&self) -> String {
        format!("{}-mape-drift-alarm", self.endpoint_name)
    }

    /// A configuration for tests and examples: the guide's defaults with placeholder ARNs.
    pub fn example(types: InstanceTypes) -> Self {
        Self::from_lookup(
            |k| match k {
                "ECR_IMAGE_URI" => Some(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/prophet-forecast:latest".into(),
                ),
                "SAGEMAKER_ROLE" => {
                    Some("arn:aws:iam::123456789012:role/SageMakerExecutionRole".into())
                }
                "SNS_TOPIC_ARN" => {
                    Some("arn:aws:sns:us-east-1:123456789012:model-drift-alerts".into())
                }
                _ => None,
            },
            types,
        )
        .expect("example configuration is valid")
    }
}

/// The variables as read through a lookup, each with its default from [`VARS`].
struct Env<L>(L);

impl<L: Fn(&str) -> Option<String>> Env<L> {
    fn get(&self, name: &str) -> Result<String> {
        let var = VARS
            .iter()
            .find(|v| v.name == name)
            .expect("every variable read is listed in VARS");
        match (self.0)(name).map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => var
                .default
                .map(str::to_string)
                .ok_or_else(|| WorkerError::config(name, "is required and not set")),
        }
    }

    /// A finite number that `ok` accepts; `Err` from `ok` says why not.
    fn number(
        &self,
        name: &str,
        ok: impl Fn(f64) -> std::result::Result<(), String>,
    ) -> Result<f64> {
        let raw = self.get(name)?;
        let v = raw
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| WorkerError::config(name, format!("{} is not a number", quote(&raw))))?;
        ok(v).map_err(|why| WorkerError::config(name, why))?;
        Ok(v)
    }

    fn integer(&self, name: &str, min: i64, max: i64) -> Result<i64> {
        let raw = self.get(name)?;
        match raw.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(WorkerError::config(
                name,
                format!("{} is not an integer in [{min}, {max}]", quote(&raw)),
            )),
        }
    }

    fn boolean(&self, name: &str) -> Result<bool> {
        let raw = self.get(name)?;
        match raw.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(WorkerError::config(
                name,
                format!("{} is neither true nor false", quote(&raw)),
            )),
        }
    }

    fn checked(
        &self,
        name: &str,
        rule: fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String> {
        let v = self.get(name)?;
        rule(&v).map_err(|e| WorkerError::config(name, e))?;
        Ok(v)
    }

    fn date(&self, name: &str) -> Result<chrono::NaiveDate> {
        let raw = self.get(name)?;
        chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d").map_err(|e| {
            WorkerError::config(
                name,
                format!("{} is not a YYYY-MM-DD date: {e}", quote(&raw)),
            )
        })
    }
}

/// The champion margin's range (configuration and a run's override): percentage points.
pub fn margin_in_range(v: f64) -> std::result::Result<(), String> {
    (0.0..=100.0)
        .contains(&v)
        .then_some(())
        .ok_or(format!("{v} is outside [0, 100] (percentage points)"))
}

/// The decision thresholds, each in its range and the floor below the gate.
struct Thresholds {
    mape: f64,
    floor: f64,
    margin: f64,
    drift: f64,
    bad_rows: f64,
}

impl Thresholds {
    fn read<L: Fn(&str) -> Option<String>>(env: &Env<L>) -> Result<Self> {
        let mape = env.number("MAPE_THRESHOLD", |v| {
            (v > 0.0 && v <= 100.0)
                .then_some(())
                .ok_or(format!("{v} is outside (0, 100]"))
        })?;
        let drift = env.number("DRIFT_THRESHOLD", |v| {
            (v > 0.0)
                .then_some(())
                .ok_or(format!("{v} must be above 0"))
        })?;
        let floor = env.number("MAPE_PLAUSIBILITY_FLOOR", |v| {
            (0.0..mape).contains(&v).then_some(()).ok_or(format!(
                "{v} must be at least 0 and below MAPE_THRESHOLD ({mape})"
            ))
        })?;
        let margin = env.number("CHAMPION_MARGIN", margin_in_range)?;
        let bad_rows = env.number("BAD_ROW_ALERT_RATE", |v| {
            (0.0..=1.0)
                .contains(&v)
                .then_some(())
                .ok_or(format!("{v} is outside [0, 1] (a share of the new rows)"))
        })?;
        Ok(Thresholds {
            mape,
            floor,
            margin,
            drift,
            bad_rows,
        })
    }
}

/// The topic, in the functions' own region: SNS takes a Publish only in the topic's region.
fn topic<L: Fn(&str) -> Option<String>>(env: &Env<L>) -> Result<String> {
    let topic_arn = env.checked("SNS_TOPIC_ARN", rules::topic_arn)?;
    if let Some(region) = (env.0)("AWS_REGION").filter(|r| !r.is_empty()) {
        let topic_region = topic_arn.split(':').nth(3).unwrap_or_default();
        if topic_region != region {
            return Err(WorkerError::config(
                "SNS_TOPIC_ARN",
                format!("the topic is in {topic_region}, but the functions run in {region} (AWS_REGION); SNS publishes only to a topic of the caller's region"),
            ));
        }
    }
    Ok(topic_arn)
}

/// The training job's and the endpoint's resources, instance types checked against `types`.
fn resources<L: Fn(&str) -> Option<String>>(
    env: &Env<L>,
    types: InstanceTypes,
) -> Result<(TrainingResources, EndpointResources)> {
    let training_type = env.get("TRAINING_INSTANCE_TYPE")?;
    types
        .training_type(&training_type)
        .map_err(|e| WorkerError::config("TRAINING_INSTANCE_TYPE", e))?;
    let endpoint_type = env.get("ENDPOINT_INSTANCE_TYPE")?;
    types
        .endpoint_type(&endpoint_type)
        .map_err(|e| WorkerError::config("ENDPOINT_INSTANCE_TYPE", e))?;
    let training = TrainingResources {
        instance_type: training_type,
        instance_count: env.integer("TRAINING_INSTANCE_COUNT", 1, 100)? as i32,
        volume_gb: env.integer("TRAINING_VOLUME_GB", 1, 16384)? as i32,
        max_runtime_seconds: env.integer("TRAINING_MAX_RUNTIME_SECONDS", 60, 86_400)? as i32,
        spot: env.boolean("TRAINING_SPOT")?,
        max_wait_seconds: match env.get("TRAINING_MAX_WAIT_SECONDS")?.as_str() {
            "" => None,
            _ => Some(env.integer("TRAINING_MAX_WAIT_SECONDS", 60, 2 * 86_400)? as i32),
        },
    };
    training
        .check_wait()
        .map_err(|e| WorkerError::config("TRAINING_MAX_WAIT_SECONDS", e))?;
    let serverless = match env.get("ENDPOINT_TYPE")?.as_str() {
        "RealTime" => None,
        "Serverless" => {
            let memory_mb = env.integer("SERVERLESS_MEMORY_MB", 1024, 6144)? as i32;
            if !SERVERLESS_MEMORY_SIZES.contains(&memory_mb) {
                return Err(WorkerError::config(
                    "SERVERLESS_MEMORY_MB",
                    format!("{memory_mb} is not a serverless memory size (1024, 2048, 3072, 4096, 5120 or 6144)"),
                ));
            }
            Some(ServerlessResources {
                memory_mb,
                max_concurrency: env.integer("SERVERLESS_MAX_CONCURRENCY", 1, 200)? as i32,
            })
        }
        other => {
            return Err(WorkerError::config(
                "ENDPOINT_TYPE",
                format!("{} is neither RealTime nor Serverless", quote(other)),
            ))
        }
    };
    Ok((
        training,
        EndpointResources {
            instance_type: endpoint_type,
            instance_count: env.integer("ENDPOINT_INSTANCE_COUNT", 1, 100)? as i32,
            serverless,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TEST_TYPES;

    #[test]
    fn instance_types_and_the_bucket_are_checked_at_cold_start() {
        let with = |k: &'static str, v: &'static str| {
            Config::from_lookup(
                move |name| {
                    (name == k).then(|| v.to_string()).or_else(|| match name {
                        "ECR_IMAGE_URI" => Some("img:latest".into()),
                        "SAGEMAKER_ROLE" => Some("arn:aws:iam::123456789012:role/r".into()),
                        "SNS_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".into()),
                        _ => None,
                    })
                },
                TEST_TYPES,
            )
        };
        for (var, value, says) in [
            ("TRAINING_INSTANCE_TYPE", "ml.m5.huge", "ml.m5.large"),
            ("TRAINING_INSTANCE_TYPE", "m5.large", "ml.<family>"),
            ("ENDPOINT_INSTANCE_TYPE", "ml.m5.larg", "ml.m5.xlarge"),
            ("S3_BUCKET", "Ticket_Lake", "bucket name"),
            ("S3_BUCKET", "10.0.0.1", "IP address"),
            ("S3_BUCKET", "a..b", "bucket name"),
        ] {
            match with(var, value) {
                Err(WorkerError::Config { var: v, reason }) => {
                    assert_eq!(v, var);
                    assert!(reason.contains(says), "{value}: {reason}");
                }
                other => panic!("{var}={value}: {other:?}"),
            }
        }
        assert!(with("ENDPOINT_INSTANCE_TYPE", "ml.g5.xlarge").is_ok());
        assert!(with("S3_BUCKET", "ticket-forecasting-lake").is_ok());
    }
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let mut map: HashMap<String, String> = [
            ("ECR_IMAGE_URI", "img:latest"),
            ("SAGEMAKER_ROLE", "arn:aws:iam::123456789012:role/r"),
            ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            map.insert(k.to_string(), v.to_string());
        }
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_guides() {
        let c = Config::from_lookup(env(&[]), TEST_TYPES).unwrap();
        assert_eq!(c.bucket, "ticket-forecasting-lake");
        assert_eq!(c.endpoint_name, "prophet-fastapi-endpoint-latest");
        assert_eq!(c.model_package_group, "prophet-forecasting-models");
        assert_eq!(c.mape_threshold, 20.0);
        assert_eq!(c.drift_threshold, 0.5);
        assert_eq!(c.training.instance_type, "ml.m5.large");
        assert_eq!(c.training.max_runtime_seconds, 3600);
        assert_eq!(c.training.volume_gb, 10);
        // Spot on, waiting at most twice the runtime; a real-time endpoint on the original's type.
        assert!(c.training.spot);
        assert_eq!(c.training.max_wait(), Some(7200));
        assert_eq!(c.training.longest_seconds(), 7200);
        assert_eq!(c.endpoint.instance_type, "ml.t2.medium");
        assert_eq!(c.endpoint.serverless, None);
        assert_eq!(
            c.alarm_name(),
            "prophet-fastapi-endpoint-latest-mape-drift-alarm"
        );
    }

    #[test]
    fn spot_and_serverless_follow_sagemakers_rules() {
        let read = |pairs: &[(&str, &str)]| Config::from_lookup(env(pairs), TEST_TYPES);
        let c = read(&[("TRAINING_SPOT", "false")]).unwrap();
        assert_eq!(
            c.training.max_wait(),
            None,
            "on demand: no MaxWaitTimeInSeconds"
        );
        assert_eq!(c.training.longest_seconds(), 3600);
        let c = read(&[("TRAINING_MAX_WAIT_SECONDS", "5400")]).unwrap();
        assert_eq!(c.training.max_wait(), Some(5400));
        let c = read(&[
            ("ENDPOINT_TYPE", "Serverless"),
            ("SERVERLESS_MEMORY_MB", "3072"),
            ("SERVERLESS_MAX_CONCURRENCY", "20"),
        ])
        .unwrap();
        assert_eq!(
            c.endpoint.serverless,
            Some(ServerlessResources {
                memory_mb: 3072,
                max_concurrency: 20
            })
        );
        for (pairs, var, says) in [
            (
                &[("TRAINING_MAX_WAIT_SECONDS", "1800")][..],
                "TRAINING_MAX_WAIT_SECONDS",
                "less than the max runtime (3600 s)",
            ),
            (
                &[
                    ("TRAINING_SPOT", "false"),
                    ("TRAINING_MAX_WAIT_SECONDS", "7200"),
                ],
                "TRAINING_MAX_WAIT_SECONDS",
                "only to spot training",
            ),
            (&[("TRAINING_SPOT", "yes")], "TRAINING_SPOT", "neither true"),
            (
                &[("ENDPOINT_TYPE", "Async")],
                "ENDPOINT_TYPE",
                "neither RealTime",
            ),
            (
                &[
                    ("ENDPOINT_TYPE", "Serverless"),
                    ("SERVERLESS_MEMORY_MB", "1500"),
                ],
                "SERVERLESS_MEMORY_MB",
                "not a serverless memory size",
            ),
            (
                &[
                    ("ENDPOINT_TYPE", "Serverless"),
                    ("SERVERLESS_MAX_CONCURRENCY", "201"),
                ],
                "SERVERLESS_MAX_CONCURRENCY",
                "[1, 200]",
            ),
        ] {
            match read(pairs) {
                Err(WorkerError::Config { var: v, reason }) => {
                    assert_eq!(v, var, "{pairs:?}");
                    assert!(reason.contains(says), "{pairs:?}: {reason}");
                }
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_missing_required_variable_is_named() {
        for var in ["ECR_IMAGE_URI", "SAGEMAKER_ROLE", "SNS_TOPIC_ARN"] {
            let err = Config::from_lookup(env(&[(var, "")]), TEST_TYPES).unwrap_err();
            assert_eq!(err, WorkerError::config(var, "is required and not set"));
        }
    }

    #[test]
    fn malformed_values_are_named() {
        let cases = [
            ("MAPE_THRESHOLD", "abc"),
            ("MAPE_THRESHOLD", "0"),
            ("MAPE_THRESHOLD", "120"),
            ("MAPE_THRESHOLD", "NaN"),
            ("DRIFT_THRESHOLD", "-1"),
            ("TRAINING_INSTANCE_COUNT", "0"),
            ("TRAINING_MAX_RUNTIME_SECONDS", "1.5"),
            ("SAGEMAKER_ROLE", "my-role"),
            ("SNS_TOPIC_ARN", "arn:aws:sqs:us-east-1:1:q"),
            ("POLL_SECONDS", "0"),
        ];
        for (var, value) in cases {
            match Config::from_lookup(env(&[(var, value)]), TEST_TYPES) {
                Err(WorkerError::Config { var: v, .. }) => assert_eq!(v, var, "{value}"),
                other => panic!("{var}={value}: {other:?}"),
            }
        }
    }

    /// The configuration family of the refusals: every variable against the rule AWS (or the
    /// pipeline) applies, each refusal naming the variable and saying why.
    #[test]
    fn configuration_table() {
        let huge = "9".repeat(1 << 20);
        let cases: Vec<(&str, &str, &str)> = vec![
            ("SAGEMAKER_ROLE", "arn:aws:iam::1234:role/r", "IAM role ARN"),
            (
                "SAGEMAKER_ROLE",
                "arn:aws:iam::123456789012:user/u",
                "IAM role ARN",
            ),
            (
                "SNS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:a.b",
                "SNS topic ARN",
            ),
            (
                "SNS_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:123456789012:t",
                "the topic is in eu-west-1",
            ),
            (
                "ECR_IMAGE_URI",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/Prophet:latest",
                "lower-case",
            ),
            ("ECR_IMAGE_URI", "repo:tag with space", "no whitespace"),
            ("ENDPOINT_NAME", "prophet_endpoint", "SageMaker name"),
            ("MODEL_PACKAGE_GROUP", "-models", "SageMaker name"),
            ("MAPE_PLAUSIBILITY_FLOOR", "20", "below MAPE_THRESHOLD"),
            ("MAPE_PLAUSIBILITY_FLOOR", "-1", "at least 0"),
            ("BAD_ROW_ALERT_RATE", "5", "outside [0, 1]"),
            ("EARLIEST_TICKET_DATE", "2000/01/01", "YYYY-MM-DD"),
            ("S3_BUCKET", "Ticket_Lake", "bucket name"),
            ("TRAINING_INSTANCE_TYPE", "ml.m5.huge", "ml.m5.large"),
            ("ROLLBACK_ALARMS", "a,b,c,d,e,f,g,h,i,j,k", "at most 10"),
            ("MAPE_THRESHOLD", &huge, "bytes)"),
        ];
        for (var, value, says) in cases {
            let lookup = env(&[(var, value), ("AWS_REGION", "us-east-1")]);
            match Config::from_lookup(lookup, TEST_TYPES) {
                Err(e @ WorkerError::Config { .. }) => {
                    let WorkerError::Config { var: v, reason } = &e else {
                        unreachable!()
                    };
                    assert_eq!(v, var, "{value}");
                    assert!(reason.contains(says), "{var}: {reason}");
                    assert!(
                        e.to_string().len() < 700,
                        "{var}: the error quotes an excerpt"
                    );
                }
                other => panic!("{var}={value}: {other:?}"),
            }
        }
        let ok = Config::from_lookup(
            env(&[
                ("AWS_REGION", "us-east-1"),
                ("EARLIEST_TICKET_DATE", "2015-06-01"),
                ("MAPE_PLAUSIBILITY_FLOOR", "0"),
            ]),
            TEST_TYPES,
        )
        .unwrap();
        assert_eq!(ok.earliest_ticket_date.to_string(), "2015-06-01");
        assert_eq!(ok.mape_floor, 0.0);
    }

    #[test]
    fn overrides_are_read() {
        let c = Config::from_lookup(
            env(&[
                ("MAPE_THRESHOLD", "15.5"),
                ("ENDPOINT_INSTANCE_COUNT", "2"),
                ("S3_BUCKET", "other"),
            ]),
            TEST_TYPES,
        )
        .unwrap();
        assert_eq!(c.mape_threshold, 15.5);
        assert_eq!(c.endpoint.instance_count, 2);
        assert_eq!(c.bucket, "other");
    }
}
