//! What the whole system costs a month: the endpoint (and the second fleet a blue/green update
//! runs while it bakes), training (on demand or spot), the orchestration (Step Functions
//! transitions and Lambda), CloudWatch (alarms, custom metrics, the dashboard, logs), SNS, SQS and
//! S3. Prices are data (`prices/us-east-1.json`, each with its source); usage is [`Usage`], every
//! figure a stated assumption or a measured run's. Pure: `retrain cost` and the local run's cost
//! line print it.

pub mod path;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The price book, us-east-1 (`prices/us-east-1.json`).
pub const PRICES: &str = include_str!("../../prices/us-east-1.json");

/// Hours in a month, as AWS prices a month of an instance (730 = 8,760 / 12).
pub const HOURS_A_MONTH: f64 = 730.0;
/// Days in a month (365 / 12).
pub const DAYS_A_MONTH: f64 = 365.0 / 12.0;

#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    pub region: String,
    pub as_of: String,
    pub sources: BTreeMap<String, String>,
    pub sagemaker_hosting_per_instance_hour_usd: BTreeMap<String, f64>,
    pub sagemaker_training_per_instance_hour_usd: BTreeMap<String, f64>,
    pub sagemaker_serverless_per_gb_second_usd: f64,
    pub sagemaker_serverless_per_gb_processed_usd: f64,
    pub step_functions_standard_per_transition_usd: f64,
    pub lambda_arm64_per_gb_second_usd: f64,
    pub lambda_per_request_usd: f64,
    pub cloudwatch_alarm_per_month_usd: f64,
    pub cloudwatch_custom_metric_per_month_usd: f64,
    pub cloudwatch_dashboard_per_month_usd: f64,
    pub cloudwatch_logs_ingested_per_gb_usd: f64,
    pub cloudwatch_put_metric_data_per_1000_requests_usd: f64,
    pub sns_per_million_requests_usd: f64,
    pub sns_email_per_100000_usd: f64,
    pub sqs_per_million_requests_usd: f64,
    pub s3_standard_per_gb_month_usd: f64,
    pub s3_put_per_1000_usd: f64,
    pub s3_get_per_1000_usd: f64,
}

impl Prices {
    /// The book this crate carries.
    pub fn us_east_1() -> Prices {
        serde_json::from_str(PRICES).expect("prices/us-east-1.json reads (a test holds it)")
    }
}

/// How the model is served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Endpoint {
    /// Instances billed every hour of the month, whatever the traffic.
    RealTime { instance_type: String, count: u32 },
    /// Billed per second of compute by memory size, plus the data in and out.
    Serverless {
        memory_mb: u32,
        /// Compute seconds an invocation is billed for (the model's answer, cold starts amortised).
        seconds_per_invocation: f64,
    },
}

/// What the system does in a month. Every field is an assumption the caller states, or a figure
/// measured on a run (`from_run` fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub runs_per_month: f64,
    /// Runs that deploy a new model (each update runs a second fleet while it bakes).
    pub deploys_per_month: f64,
    pub training_instance_type: String,
    pub training_instance_count: u32,
    pub training_minutes: f64,
    /// Managed spot training: the share of training seconds not billed (1 - billable/training).
    pub spot_savings: Option<f64>,
    pub endpoint: Endpoint,
    pub invocations_per_day: f64,
    pub request_bytes: f64,
    pub response_bytes: f64,
    /// How long a blue/green update runs the second fleet (provisioning, bake, termination wait).
    pub update_seconds: f64,
    pub transitions_per_run: f64,
    pub lambda_invocations_per_run: f64,
    /// Lambda GB-seconds a run bills (its invocations' billed durations by memory).
    pub lambda_gb_seconds_per_run: f64,
    pub alarms: u32,
    pub custom_metrics: u32,
    pub metric_puts_per_run: f64,
    pub dashboards: u32,
    pub log_bytes_per_run: f64,
    pub alerts_per_run: f64,
    pub email_subscriptions: u32,
    pub s3_gb: f64,
    pub s3_puts_per_run: f64,
    pub s3_gets_per_run: f64,
}

/// The template's CloudWatch alarms (a test counts them in template.yaml).
pub const TEMPLATE_ALARMS: u32 = 6;
/// The custom metrics the workers publish in `MLOps/Forecasting`, each by `EndpointName` (a test
/// holds this to the workers' metric names).
pub const CUSTOM_METRICS: u32 = 7;
/// Billed milliseconds assumed for each Lambda invocation at 128 MB: the slowest worker's cold
/// start measured by `coldstart-bench` (start-training: 11 ms init, 511 ms first invoke), rounded
/// up, as if every invocation were cold.
pub const LAMBDA_MS_PER_INVOCATION: f64 = 600.0;
pub const LAMBDA_MEMORY_GB: f64 = 0.125;

impl Usage {
    /// The seed's usage, with the template's defaults, for `endpoint` and `spot_savings`: a weekly
    /// run (52 a year), each training 10 minutes on one ml.m5.large (the seed's "~10-minute job")
    /// and deploying (an upper bound), a 10-minute endpoint update, a few dozen (36) forecasts a
    /// day of a week each (60 B asked, 1 kB answered), 1 s of serverless compute each, 100 kB of
    /// logs and one alert a run, 1 GB in S3. The orchestration is the state machine's path for
    /// those waits ([`path::deploying_run`], 60 s polls).
    pub fn assumed(endpoint: Endpoint, spot_savings: Option<f64>) -> Usage {
        let training_minutes = 10.0;
        let update_seconds = 600.0;
        let run = path::deploying_run((training_minutes * 60.0) as u64, update_seconds as u64, 60);
        let transitions: u64 = run.iter().map(|(_, n)| n).sum();
        let invocations: u64 = run
            .iter()
            .filter(|(state, _)| path::TASKS.iter().any(|(s, _)| s == state))
            .map(|(_, n)| n)
            .sum();
        Usage {
            runs_per_month: 52.0 / 12.0,
            deploys_per_month: 52.0 / 12.0,
            training_instance_type: "ml.m5.large".into(),
            training_instance_count: 1,
            training_minutes,
            spot_savings,
            endpoint,
            invocations_per_day: 36.0,
            request_bytes: 60.0,
            response_bytes: 1000.0,
            update_seconds,
            transitions_per_run: transitions as f64,
            lambda_invocations_per_run: invocations as f64,
            lambda_gb_seconds_per_run: invocations as f64 * LAMBDA_MS_PER_INVOCATION / 1000.0
                * LAMBDA_MEMORY_GB,
            alarms: TEMPLATE_ALARMS,
            custom_metrics: CUSTOM_METRICS,
            metric_puts_per_run: 7.0,
            dashboards: 1,
            log_bytes_per_run: 100_000.0,
            alerts_per_run: 1.0,
            email_subscriptions: 1,
            s3_gb: 1.0,
            s3_puts_per_run: 10.0,
            s3_gets_per_run: 100.0,
        }
    }
}

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub item: &'static str,
    /// The quantity priced, in words ("730 h x 1 ml.m5.large at $0.115/h").
    pub usage: String,
    pub usd: f64,
    /// The price book's source for this line (a key of `Prices::sources`).
    pub source: &'static str,
}

/// The month's bill, line by line; an instance type the book does not price is an error that
/// names it.
pub fn monthly(p: &Prices, u: &Usage) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    let hosting = |t: &str| {
        p.sagemaker_hosting_per_instance_hour_usd
            .get(t)
            .copied()
            .ok_or(format!(
                "no hosting price for {t} in prices/{}.json (priced: {})",
                p.region,
                keys(&p.sagemaker_hosting_per_instance_hour_usd)
            ))
    };
    let invocations = u.invocations_per_day * DAYS_A_MONTH;
    match &u.endpoint {
        Endpoint::RealTime {
            instance_type,
            count,
        } => {
            let price = hosting(instance_type)?;
            let n = f64::from(*count);
            lines.push(Line {
                item: "SageMaker endpoint (real-time)",
                usage: format!(
                    "{HOURS_A_MONTH} h x {count} {instance_type} at ${price}/h, whatever the traffic"
                ),
                usd: HOURS_A_MONTH * n * price,
                source: "sagemaker",
            });
            let hours = u.deploys_per_month * u.update_seconds / 3600.0;
            lines.push(Line {
                item: "blue/green: the second fleet while it bakes",
                usage: format!(
                    "{:.2} deploys x {:.0} min x {count} {instance_type}",
                    u.deploys_per_month,
                    u.update_seconds / 60.0
                ),
                usd: hours * n * price,
                source: "sagemaker",
            });
        }
        Endpoint::Serverless {
            memory_mb,
            seconds_per_invocation,
        } => {
            let gb = f64::from(*memory_mb) / 1024.0;
            let seconds = invocations * seconds_per_invocation;
            lines.push(Line {
                item: "SageMaker endpoint (serverless)",
                usage: format!(
                    "{invocations:.0} invocations x {seconds_per_invocation} s x {gb} GB at ${}/GB-s",
                    p.sagemaker_serverless_per_gb_second_usd
                ),
                usd: seconds * gb * p.sagemaker_serverless_per_gb_second_usd,
                source: "sagemaker",
            });
            let data_gb = invocations * (u.request_bytes + u.response_bytes) / 1e9;
            lines.push(Line {
                item: "serverless: data in and out",
                usage: format!("{data_gb:.6} GB"),
                usd: data_gb * p.sagemaker_serverless_per_gb_processed_usd,
                source: "sagemaker",
            });
        }
    }
    let training_price = p
        .sagemaker_training_per_instance_hour_usd
        .get(&u.training_instance_type)
        .copied()
        .ok_or(format!(
            "no training price for {} in prices/{}.json (priced: {})",
            u.training_instance_type,
            p.region,
            keys(&p.sagemaker_training_per_instance_hour_usd)
        ))?;
    let billed = 1.0 - u.spot_savings.unwrap_or(0.0);
    lines.push(Line {
        item: "SageMaker training",
        usage: format!(
            "{:.2} runs x {} min x {} {} at ${training_price}/h{}",
            u.runs_per_month,
            u.training_minutes,
            u.training_instance_count,
            u.training_instance_type,
            match u.spot_savings {
                Some(s) => format!(", spot: {:.0} % of the seconds not billed", s * 100.0),
                None => ", on demand".into(),
            }
        ),
        usd: u.runs_per_month * u.training_minutes / 60.0
            * f64::from(u.training_instance_count)
            * training_price
            * billed,
        source: "sagemaker",
    });
    lines.push(Line {
        item: "Step Functions (Standard)",
        usage: format!(
            "{:.2} runs x {:.0} state transitions",
            u.runs_per_month, u.transitions_per_run
        ),
        usd: u.runs_per_month
            * u.transitions_per_run
            * p.step_functions_standard_per_transition_usd,
        source: "step_functions",
    });
    lines.push(Line {
        item: "Lambda (arm64)",
        usage: format!(
            "{:.2} runs x {:.0} invocations, {:.3} GB-s",
            u.runs_per_month, u.lambda_invocations_per_run, u.lambda_gb_seconds_per_run
        ),
        usd: u.runs_per_month
            * (u.lambda_gb_seconds_per_run * p.lambda_arm64_per_gb_second_usd
                + u.lambda_invocations_per_run * p.lambda_per_request_usd),
        source: "lambda",
    });
    lines.push(Line {
        item: "CloudWatch alarms",
        usage: format!("{} standard-resolution alarms", u.alarms),
        usd: f64::from(u.alarms) * p.cloudwatch_alarm_per_month_usd,
        source: "cloudwatch",
    });
    lines.push(Line {
        item: "CloudWatch custom metrics",
        usage: format!(
            "{} metrics (name x dimensions), {:.0} PutMetricData a run",
            u.custom_metrics, u.metric_puts_per_run
        ),
        usd: f64::from(u.custom_metrics) * p.cloudwatch_custom_metric_per_month_usd
            + u.runs_per_month * u.metric_puts_per_run / 1000.0
                * p.cloudwatch_put_metric_data_per_1000_requests_usd,
        source: "cloudwatch",
    });
    lines.push(Line {
        item: "CloudWatch dashboard",
        usage: format!("{} dashboard", u.dashboards),
        usd: f64::from(u.dashboards) * p.cloudwatch_dashboard_per_month_usd,
        source: "cloudwatch",
    });
    let log_gb = u.runs_per_month * u.log_bytes_per_run / 1e9;
    lines.push(Line {
        item: "CloudWatch Logs",
        usage: format!("{log_gb:.6} GB ingested"),
        usd: log_gb * p.cloudwatch_logs_ingested_per_gb_usd,
        source: "cloudwatch",
    });
    let alerts = u.runs_per_month * u.alerts_per_run;
    lines.push(Line {
        item: "SNS alerts",
        usage: format!(
            "{alerts:.2} publishes, to {} email subscription(s)",
            u.email_subscriptions
        ),
        usd: alerts * p.sns_per_million_requests_usd / 1e6
            + alerts * f64::from(u.email_subscriptions) * p.sns_email_per_100000_usd / 1e5,
        source: "sns",
    });
    lines.push(Line {
        item: "SQS (failed alert deliveries)",
        usage: "only when an alert cannot be delivered: none in a normal month".into(),
        usd: 0.0,
        source: "sqs",
    });
    lines.push(Line {
        item: "S3",
        usage: format!(
            "{} GB stored, {:.0} PUT and {:.0} GET a run",
            u.s3_gb, u.s3_puts_per_run, u.s3_gets_per_run
        ),
        usd: u.s3_gb * p.s3_standard_per_gb_month_usd
            + u.runs_per_month
                * (u.s3_puts_per_run / 1000.0 * p.s3_put_per_1000_usd
                    + u.s3_gets_per_run / 1000.0 * p.s3_get_per_1000_usd),
        source: "s3",
    });
    Ok(lines)
}

pub fn total(lines: &[Line]) -> f64 {
    lines.iter().map(|l| l.usd).sum()
}

fn keys(m: &BTreeMap<String, f64>) -> String {
    m.keys().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
