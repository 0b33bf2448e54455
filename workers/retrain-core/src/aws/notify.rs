//! What the pipeline tells people: CloudWatch metrics, the MAPE alarm, SNS alerts.

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, MetricDatum, StandardUnit, Statistic,
};
use aws_sdk_cloudwatch::Client as CloudWatch;
use aws_sdk_sns::Client as Sns;

use crate::config::{Config, METRIC_NAMESPACE};
use crate::error::{aws_error, Result, WorkerError};

pub const METRIC_MAPE: &str = "ModelMAPE";
pub const METRIC_MODEL_DRIFT: &str = "ModelDriftDetected";
pub const METRIC_DATA_DRIFT: &str = "DataDrift";
/// Share of the new ticket rows StartTraining could not use, percent (published every run with new rows).
pub const METRIC_BAD_ROW_RATE: &str = "TicketBadRowRate";
/// 1 when the forecast canary found the newly deployed model's answer outside the serving
/// contract, 0 when it held (CheckStatus; the template's rollback alarm watches it).
pub const METRIC_CANARY: &str = "ForecastCanaryFailures";
/// The serving model's MAPE on the new days (StartTraining, before training; the template's
/// ServingModelDriftAlarm watches it at the threshold).
pub const METRIC_SERVING_MAPE: &str = "ServingModelMAPE";
/// Seconds a run's training job was billed (fewer than it trained with managed spot; EvaluateMape
/// publishes it with the job's end).
pub const METRIC_TRAINING_BILLABLE: &str = "TrainingBillableSeconds";
pub const DIMENSION: &str = "EndpointName";

/// One datum in `MLOps/Forecasting`, dimension EndpointName (what the alarm watches).
pub async fn put_metric(
    cw: &CloudWatch,
    cfg: &Config,
    name: &str,
    value: f64,
    unit: StandardUnit,
) -> Result<()> {
    let datum = MetricDatum::builder()
        .metric_name(name)
        .value(value)
        .unit(unit)
        .dimensions(
            Dimension::builder()
                .name(DIMENSION)
                .value(&cfg.endpoint_name)
                .build(),
        )
        .build();
    cw.put_metric_data()
        .namespace(METRIC_NAMESPACE)
        .metric_data(datum)
        .send()
        .await
        .map_err(|e| aws_error("PutMetricData", e))?;
    Ok(())
}

/// The alarm of that name, if it exists.
pub async fn describe_alarm(
    cw: &CloudWatch,
    name: &str,
) -> Result<Option<aws_sdk_cloudwatch::types::MetricAlarm>> {
    let found = cw
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .map_err(|e| aws_error("DescribeAlarms", e))?;
    Ok(found.metric_alarms().first().cloned())
}

/// Create `<ENDPOINT_NAME>-mape-drift-alarm` unless it exists (a stack-managed alarm is left as
/// it is). Returns true when it was created.
pub async fn ensure_alarm(cw: &CloudWatch, cfg: &Config) -> Result<bool> {
    let name = cfg.alarm_name();
    if describe_alarm(cw, &name).await?.is_some() {
        return Ok(false);
    }
    cw.put_metric_alarm()
        .alarm_name(&name)
        .alarm_description("MAPE of the newest retrained forecasting model is over the threshold")
        .namespace(METRIC_NAMESPACE)
        .metric_name(METRIC_MAPE)
        .dimensions(
            Dimension::builder()
                .name(DIMENSION)
                .value(&cfg.endpoint_name)
                .build(),
        )
        .statistic(Statistic::Maximum)
        .period(86_400)
        .evaluation_periods(1)
        .threshold(cfg.mape_threshold)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(&cfg.topic_arn)
        .send()
        .await
        .map_err(|e| aws_error("PutMetricAlarm", e))?;
    Ok(true)
}

/// SNS's limit on a message (body and attributes): 256 KiB. Bodies are cut below it, leaving
/// room for the attributes SNS counts.
pub const MAX_MESSAGE_BYTES: usize = 262_144 - 4096;
/// SNS's limit on a subject: fewer than 100 characters, no line breaks or control characters.
pub const MAX_SUBJECT_CHARS: usize = 99;

/// A subject SNS accepts: control characters become spaces, at most 99 characters.
pub fn subject_for_sns(subject: &str) -> String {
    let clean: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::excerpt::clip(clean.trim(), MAX_SUBJECT_CHARS)
}

/// Publish an alert; returns the message id. The subject and body are kept within SNS's
/// limits, so an alert is never refused for its size (a body that was cut says so).
pub async fn publish(sns: &Sns, topic: &str, subject: &str, body: &str) -> Result<Option<String>> {
    let out = sns
        .publish()
        .topic_arn(topic)
        .subject(subject_for_sns(subject))
        .message(crate::excerpt::clip_bytes(body, MAX_MESSAGE_BYTES))
        .send()
        .await
        .map_err(|e| aws_error("Publish", e))?;
    Ok(out.message_id().map(str::to_string))
}

/// Create (or find: CreateTopic is idempotent) the topic `name`; its ARN.
pub async fn create_topic(sns: &Sns, name: &str) -> Result<String> {
    let out = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .map_err(|e| aws_error("CreateTopic", e))?;
    out.topic_arn()
        .map(str::to_string)
        .ok_or_else(|| WorkerError::bad_data("CreateTopic", "no TopicArn in the answer"))
}
