//! How Deploy switches a serving endpoint to a new model: a decision on the variant's instance
//! count, by SageMaker's documented rules. A rolling update moves batches of 5 % to 50 % of the
//! instances, so one instance cannot roll: it gets a blue/green update that shifts all traffic at
//! once to a new fleet, then bakes. Either way SageMaker watches the rollback alarms and rolls
//! back by itself when one goes off.

/// Seconds the new fleet serves, watched by the rollback alarms, before the old one is
/// terminated (blue/green) or between batches (rolling).
pub const BAKE_SECONDS: i32 = 300;
/// The whole update's limit (SageMaker: 600 to 28,800 s).
pub const MAX_UPDATE_SECONDS: i32 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// All traffic to the new fleet at once, the old fleet kept through the bake.
    BlueGreenAllAtOnce,
    /// Batches of `batch` instances.
    Rolling { batch: i32 },
}

/// The rollout for a variant of `instance_count` instances: rolling in batches of about 10 %
/// (within SageMaker's 5 %-50 %) where that is possible, blue/green otherwise.
pub fn rollout(instance_count: i32) -> Rollout {
    if instance_count < 2 {
        return Rollout::BlueGreenAllAtOnce;
    }
    let n = instance_count;
    let at_least = (n + 19) / 20; // 5 %, rounded up
    let at_most = n / 2; // 50 %, rounded down
    let tenth = (n + 9) / 10;
    Rollout::Rolling {
        batch: tenth.clamp(at_least, at_most),
    }
}

/// Whether SageMaker accepts a rolling batch of `batch` instances out of `instance_count`.
/// A production variant an endpoint serves: its name and the instances it runs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingVariant {
    pub name: String,
    pub instance_count: Option<i32>,
    /// A serverless variant (no instances).
    pub serverless: bool,
}

/// The rollout of an update to a serverless config: blue/green, all at once (deployment
/// guardrails exclude serverless endpoints from rolling updates; there are no instances to roll).
pub fn rollout_to(instance_count: i32, serverless: bool) -> Rollout {
    if serverless {
        Rollout::BlueGreenAllAtOnce
    } else {
        rollout(instance_count)
    }
}

/// `Err`: why SageMaker cannot switch an endpoint serving `serving` to a config of the other
/// kind, and what to do. SageMaker cannot update an instance-based endpoint to serverless
/// ("you receive a ValidationError"); the way over is a new endpoint. A serverless endpoint may
/// become instance-based.
pub fn switch_allowed(
    endpoint: &str,
    serving: &[ServingVariant],
    to_serverless: bool,
) -> Result<(), String> {
    let instance_based = !serving.is_empty() && serving.iter().all(|v| !v.serverless);
    if to_serverless && instance_based {
        return Err(format!(
            "endpoint {endpoint} runs on instances, and SageMaker cannot update an instance-based \
             endpoint to serverless. To move to Serverless: deploy the stack with a new \
             EndpointName (the next run creates that endpoint serverless), move your callers to \
             it, then delete {endpoint}; or keep EndpointType=RealTime"
        ));
    }
    Ok(())
}

/// The variant name a new config gives its one variant when the endpoint is created.
pub const NEW_VARIANT: &str = "primary";

/// The variant name and instance count a new endpoint config takes: the serving endpoint's
/// (a guarded update needs the same variant names; an endpoint created another way, such as the
/// SageMaker Python SDK's `AllTraffic`, keeps its name, and its fleet keeps its size), else
/// [`NEW_VARIANT`] and the configured count. `Err`: an endpoint of several variants, which one
/// model cannot replace under the same names.
pub fn adopt_variant(
    serving: Option<&[ServingVariant]>,
    configured_count: i32,
) -> Result<(String, i32), String> {
    match serving {
        None | Some([]) => Ok((NEW_VARIANT.to_string(), configured_count)),
        Some([one]) => Ok((
            one.name.clone(),
            one.instance_count
                .filter(|n| *n >= 1)
                .unwrap_or(configured_count),
        )),
        Some(many) => Err(format!(
            "it serves {} variants ({}); the pipeline replaces an endpoint of one variant",
            many.len(),
            many.iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

pub fn valid_rolling_batch(batch: i32, instance_count: i32) -> bool {
    batch >= 1 && 20 * batch >= instance_count && 2 * batch <= instance_count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serving_endpoints_variant_and_fleet_are_adopted() {
        assert_eq!(adopt_variant(None, 1), Ok(("primary".into(), 1)));
        let sdk = [ServingVariant {
            name: "AllTraffic".into(),
            instance_count: Some(2),
            serverless: false,
        }];
        assert_eq!(adopt_variant(Some(&sdk), 1), Ok(("AllTraffic".into(), 2)));
        let unknown = [ServingVariant {
            name: "v".into(),
            instance_count: None,
            serverless: false,
        }];
        assert_eq!(adopt_variant(Some(&unknown), 3), Ok(("v".into(), 3)));
        let two = [sdk[0].clone(), unknown[0].clone()];
        let err = adopt_variant(Some(&two), 1).unwrap_err();
        assert!(err.contains("2 variants (AllTraffic, v)"), "{err}");
    }

    #[test]
    fn an_instance_based_endpoint_cannot_become_serverless_the_other_way_can() {
        let variant = |serverless: bool| ServingVariant {
            name: "AllTraffic".into(),
            instance_count: (!serverless).then_some(1),
            serverless,
        };
        let err = switch_allowed("e", &[variant(false)], true).unwrap_err();
        assert!(err.contains("new EndpointName"), "{err}");
        assert_eq!(switch_allowed("e", &[variant(true)], true), Ok(()));
        assert_eq!(switch_allowed("e", &[variant(true)], false), Ok(()));
        assert_eq!(switch_allowed("e", &[variant(false)], false), Ok(()));
        assert_eq!(switch_allowed("e", &[], true), Ok(()), "no endpoint yet");
        assert_eq!(rollout_to(4, true), Rollout::BlueGreenAllAtOnce);
        assert_eq!(rollout_to(4, false), Rollout::Rolling { batch: 1 });
    }

    #[test]
    fn one_instance_cannot_roll() {
        assert_eq!(rollout(1), Rollout::BlueGreenAllAtOnce);
        assert!(!valid_rolling_batch(1, 1));
    }

    #[test]
    fn every_rolling_batch_is_within_sagemakers_bounds() {
        for n in 2..=100 {
            match rollout(n) {
                Rollout::Rolling { batch } => {
                    assert!(valid_rolling_batch(batch, n), "{batch} of {n}")
                }
                other => panic!("{n}: {other:?}"),
            }
        }
        assert_eq!(rollout(2), Rollout::Rolling { batch: 1 });
        assert_eq!(rollout(40), Rollout::Rolling { batch: 4 });
    }
}
