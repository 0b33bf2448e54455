//! Normalisation of every way a run starts into one typed request.

use serde::Deserialize;
use serde_json::Value;

use crate::config::{Config, TrainingResources};
use crate::error::{Result, WorkerError};
use crate::excerpt::quote_json;
use crate::json::deserialize_named;
use crate::payload::{ApprovedVersion, Trigger};

pub const SCHEDULED_EVENT: &str = "Scheduled Event";
pub const APPROVAL_EVENT: &str = "SageMaker Model Package State Change";
/// Customer metadata key the pipeline sets on the versions it approves itself.
pub const APPROVED_BY_KEY: &str = "approved_by";
pub const APPROVED_BY_PIPELINE: &str = "retraining-pipeline";

/// Overrides a person may pass to `StartExecution`. Unknown fields are errors.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManualInput {
    pub mape_threshold: Option<f64>,
    pub champion_margin: Option<f64>,
    pub force: Option<bool>,
    pub poll_seconds: Option<u32>,
    pub training: Option<TrainingOverrides>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingOverrides {
    pub instance_type: Option<String>,
    pub instance_count: Option<i32>,
    pub volume_gb: Option<i32>,
    pub max_runtime_seconds: Option<i32>,
    pub spot: Option<bool>,
    pub max_wait_seconds: Option<i32>,
}

/// The parts of the approval event we read (`detail` of the EventBridge event).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApprovalDetail {
    model_package_group_name: String,
    model_package_arn: String,
    model_approval_status: String,
    #[serde(default)]
    model_package_version: Option<i64>,
    #[serde(default)]
    customer_metadata_properties: Option<std::collections::HashMap<String, String>>,
}

/// One typed request, whatever started the run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    pub trigger: Trigger,
    pub force: bool,
    pub mape_threshold: f64,
    /// The plausibility floor (configuration only): a threshold override must stay above it.
    pub mape_floor: f64,
    /// Champion/challenger margin, percentage points.
    pub champion_margin: f64,
    pub poll_seconds: u32,
    pub training: TrainingResources,
    /// Approval path: the version to deploy.
    pub approval: Option<ApprovedVersion>,
    /// Set when the request needs no work (an approval the pipeline made itself, a status that
    /// is not Approved): the reason.
    pub skip: Option<String>,
}

pub fn normalise(input: &Value, cfg: &Config) -> Result<RunRequest> {
    let obj = input.as_object().ok_or_else(|| {
        WorkerError::invalid(
            "input",
            format!("must be a JSON object, got {}", quote_json(input)),
        )
    })?;
    let base = RunRequest {
        trigger: Trigger::Manual,
        force: false,
        mape_threshold: cfg.mape_threshold,
        mape_floor: cfg.mape_floor,
        champion_margin: cfg.champion_margin,
        poll_seconds: cfg.poll_seconds,
        training: cfg.training.clone(),
        approval: None,
        skip: None,
    };
    match obj.get("detail-type") {
        None => manual(input.clone(), cfg, base),
        Some(Value::String(t)) if t == SCHEDULED_EVENT => Ok(RunRequest {
            trigger: Trigger::Schedule,
            ..base
        }),
        Some(Value::String(t)) if t == APPROVAL_EVENT => approval(obj.get("detail"), cfg, base),
        Some(other) => Err(WorkerError::invalid(
            "detail-type",
            format!("{} is not an event this pipeline handles (`{SCHEDULED_EVENT}` or `{APPROVAL_EVENT}`)", quote_json(other)),
        )),
    }
}

fn manual(input: Value, cfg: &Config, base: RunRequest) -> Result<RunRequest> {
    let m: ManualInput = deserialize_named(input)?;
    let mut req = base;
    if let Some(t) = m.mape_threshold {
        if !(t > 0.0 && t <= 100.0) {
            return Err(WorkerError::invalid(
                "mape_threshold",
                format!("{t} is outside (0, 100]"),
            ));
        }
        if t <= req.mape_floor {
            return Err(WorkerError::invalid(
                "mape_threshold",
                format!(
                    "{t} is at or below the plausibility floor {} (MAPE_PLAUSIBILITY_FLOOR): no model could deploy",
                    req.mape_floor
                ),
            ));
        }
        req.mape_threshold = t;
    }
    if let Some(margin) = m.champion_margin {
        crate::config::margin_in_range(margin)
            .map_err(|e| WorkerError::invalid("champion_margin", e))?;
        req.champion_margin = margin;
    }
    if let Some(p) = m.poll_seconds {
        if !(1..=3600).contains(&p) {
            return Err(WorkerError::invalid(
                "poll_seconds",
                format!("{p} is outside [1, 3600]"),
            ));
        }
        req.poll_seconds = p;
    }
    req.force = m.force.unwrap_or(false);
    if let Some(t) = m.training {
        if let Some(it) = t.instance_type {
            cfg.instance_types
                .training_type(&it)
                .map_err(|e| WorkerError::invalid("training.instance_type", e))?;
            req.training.instance_type = it;
        }
        let ranged = |field: &str, v: Option<i32>, lo: i32, hi: i32| -> Result<Option<i32>> {
            match v {
                Some(x) if !(lo..=hi).contains(&x) => Err(WorkerError::invalid(
                    format!("training.{field}"),
                    format!("{x} is outside [{lo}, {hi}]"),
                )),
                other => Ok(other),
            }
        };
        if let Some(c) = ranged("instance_count", t.instance_count, 1, 100)? {
            req.training.instance_count = c;
        }
        if let Some(v) = ranged("volume_gb", t.volume_gb, 1, 16384)? {
            req.training.volume_gb = v;
        }
        if let Some(s) = ranged("max_runtime_seconds", t.max_runtime_seconds, 60, 86_400)? {
            req.training.max_runtime_seconds = s;
        }
        if let Some(spot) = t.spot {
            req.training.spot = spot;
            if !spot {
                req.training.max_wait_seconds = None;
            }
        }
        if let Some(w) = ranged("max_wait_seconds", t.max_wait_seconds, 60, 2 * 86_400)? {
            req.training.max_wait_seconds = Some(w);
        }
        // A configured wait shorter than a longer runtime asked for this run: twice the runtime.
        if t.max_wait_seconds.is_none()
            && req
                .training
                .max_wait_seconds
                .is_some_and(|w| w < req.training.max_runtime_seconds)
        {
            req.training.max_wait_seconds = None;
        }
        req.training
            .check_wait()
            .map_err(|e| WorkerError::invalid("training.max_wait_seconds", e))?;
    }
    Ok(req)
}

fn approval(detail: Option<&Value>, cfg: &Config, base: RunRequest) -> Result<RunRequest> {
    let detail = detail.ok_or_else(|| WorkerError::invalid("detail", "missing"))?;
    let d: ApprovalDetail = deserialize_named(detail.clone()).map_err(|e| match e {
        WorkerError::InvalidInput { field, reason } if field == "input" => {
            WorkerError::invalid("detail", reason)
        }
        WorkerError::InvalidInput { field, reason } => {
            WorkerError::invalid(format!("detail.{field}"), reason)
        }
        other => other,
    })?;
    if d.model_package_group_name != cfg.model_package_group {
        return Err(WorkerError::invalid(
            "detail.ModelPackageGroupName",
            format!(
                "`{}` is not this pipeline's group `{}`",
                d.model_package_group_name, cfg.model_package_group
            ),
        ));
    }
    if !d.model_package_arn.starts_with("arn:") {
        return Err(WorkerError::invalid(
            "detail.ModelPackageArn",
            "is not an ARN",
        ));
    }
    let skip = if d.model_approval_status != "Approved" {
        Some(format!(
            "version status is {}, not Approved",
            d.model_approval_status
        ))
    } else if d
        .customer_metadata_properties
        .as_ref()
        .and_then(|m| m.get(APPROVED_BY_KEY))
        .is_some_and(|v| v == APPROVED_BY_PIPELINE)
    {
        Some("the pipeline approved and deployed this version itself".to_string())
    } else {
        None
    };
    Ok(RunRequest {
        trigger: Trigger::Approval,
        approval: Some(ApprovedVersion {
            model_package_arn: d.model_package_arn,
            version: d.model_package_version,
        }),
        skip,
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg() -> Config {
        Config::example(crate::testing::TEST_TYPES)
    }

    fn err_field(input: Value) -> String {
        match normalise(&input, &cfg()) {
            Err(WorkerError::InvalidInput { field, .. }) => field,
            other => panic!("{input}: expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn empty_input_is_a_manual_run_with_defaults() {
        let r = normalise(&json!({}), &cfg()).unwrap();
        assert_eq!(r.trigger, Trigger::Manual);
        assert!(!r.force);
        assert_eq!(r.mape_threshold, 20.0);
        assert_eq!(r.training, cfg().training);
        assert!(r.approval.is_none() && r.skip.is_none());
    }

    #[test]
    fn the_weekly_schedule_event_is_recognised() {
        let ev = json!({
            "version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-22T09:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/weekly-prophet-retrain"],
            "detail": {}
        });
        let r = normalise(&ev, &cfg()).unwrap();
        assert_eq!(r.trigger, Trigger::Schedule);
        assert_eq!(r.mape_threshold, 20.0);
    }

    #[test]
    fn spot_overrides_keep_sagemakers_wait_rule() {
        let r = normalise(&json!({"training": {"spot": false}}), &cfg()).unwrap();
        assert_eq!(r.training.max_wait(), None);
        let r = normalise(
            &json!({"training": {"max_runtime_seconds": 7200, "max_wait_seconds": 9000}}),
            &cfg(),
        )
        .unwrap();
        assert_eq!(r.training.max_wait(), Some(9000));
        let r = normalise(&json!({"training": {"max_runtime_seconds": 7200}}), &cfg()).unwrap();
        assert_eq!(
            r.training.max_wait(),
            Some(14_400),
            "twice the longer runtime"
        );
        for bad in [
            json!({"training": {"max_wait_seconds": 600}}),
            json!({"training": {"spot": false, "max_wait_seconds": 7200}}),
            json!({"training": {"spot": "yes"}}),
        ] {
            assert!(
                err_field(bad.clone()).starts_with("training."),
                "{bad}: {}",
                err_field(bad.clone())
            );
        }
    }

    #[test]
    fn manual_overrides_apply() {
        let r = normalise(
            &json!({"mape_threshold": 12.5, "force": true, "poll_seconds": 30,
                    "training": {"instance_type": "ml.m5.xlarge", "max_runtime_seconds": 7200}}),
            &cfg(),
        )
        .unwrap();
        assert_eq!(r.mape_threshold, 12.5);
        assert!(r.force);
        assert_eq!(r.poll_seconds, 30);
        assert_eq!(r.training.instance_type, "ml.m5.xlarge");
        assert_eq!(r.training.max_runtime_seconds, 7200);
        assert_eq!(r.training.instance_count, 1);
    }

    #[test]
    fn bad_inputs_name_their_field() {
        assert_eq!(err_field(json!([1, 2])), "input");
        assert_eq!(err_field(json!("go")), "input");
        assert_eq!(err_field(json!({"mape_threshold": "20"})), "mape_threshold");
        assert_eq!(err_field(json!({"mape_threshold": 0})), "mape_threshold");
        assert_eq!(
            err_field(json!({"mape_threshold": 100.5})),
            "mape_threshold"
        );
        assert_eq!(err_field(json!({"mape_threshold": -3})), "mape_threshold");
        assert_eq!(err_field(json!({"mape_threshold": 0.5})), "mape_threshold");
        assert_eq!(err_field(json!({"force": "yes"})), "force");
        assert_eq!(err_field(json!({"treshold": 10})), "treshold");
        assert_eq!(
            err_field(json!({"training": {"instance_count": 0}})),
            "training.instance_count"
        );
        assert_eq!(
            err_field(json!({"training": {"instance_count": 1.5}})),
            "training.instance_count"
        );
        assert_eq!(
            err_field(json!({"training": {"gpu": true}})),
            "training.gpu"
        );
        assert_eq!(
            err_field(json!({"training": {"instance_type": "m5.large"}})),
            "training.instance_type"
        );
        assert_eq!(err_field(json!({"poll_seconds": 0})), "poll_seconds");
        assert_eq!(
            err_field(json!({"detail-type": "Object Created"})),
            "detail-type"
        );
    }

    #[test]
    fn unknown_field_message_names_it() {
        let e = normalise(&json!({"treshold": 10}), &cfg()).unwrap_err();
        assert!(e.to_string().contains("treshold"), "{e}");
    }

    fn approval_event(group: &str, status: &str, meta: Value) -> Value {
        let arn =
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/prophet-forecasting-models/7";
        let mut event = crate::testing::approval_event(group, 7, arn, status);
        event["detail"]["CustomerMetadataProperties"] = meta;
        event
    }

    #[test]
    fn a_human_approval_deploys_that_version() {
        let r = normalise(
            &approval_event("prophet-forecasting-models", "Approved", json!({})),
            &cfg(),
        )
        .unwrap();
        assert_eq!(r.trigger, Trigger::Approval);
        assert_eq!(r.skip, None);
        let a = r.approval.unwrap();
        assert!(a.model_package_arn.ends_with("/7"));
        assert_eq!(a.version, Some(7));
    }

    #[test]
    fn the_pipelines_own_approval_is_skipped() {
        let r = normalise(
            &approval_event(
                "prophet-forecasting-models",
                "Approved",
                json!({"approved_by": "retraining-pipeline"}),
            ),
            &cfg(),
        )
        .unwrap();
        assert!(r.skip.unwrap().contains("itself"));
    }

    #[test]
    fn a_rejection_event_is_skipped_and_another_group_is_an_error() {
        let r = normalise(
            &approval_event("prophet-forecasting-models", "Rejected", json!({})),
            &cfg(),
        )
        .unwrap();
        assert!(r.skip.unwrap().contains("Rejected"));
        assert_eq!(
            err_field(approval_event("other-group", "Approved", json!({}))),
            "detail.ModelPackageGroupName"
        );
        let mut ev = approval_event("prophet-forecasting-models", "Approved", json!({}));
        ev["detail"]
            .as_object_mut()
            .unwrap()
            .remove("ModelPackageArn");
        let e = normalise(&ev, &cfg()).unwrap_err();
        assert_eq!(
            e,
            WorkerError::invalid("detail.ModelPackageArn", "missing field `ModelPackageArn`")
        );
    }
}
