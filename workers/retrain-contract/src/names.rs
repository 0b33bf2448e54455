//! Names of the resources a run creates. They derive from the execution (training job) or the
//! model version (model, endpoint config), never from the clock, so a retry or a redrive of the
//! same execution finds what its earlier attempt created.

use sha2::{Digest, Sha256};

/// SageMaker's limit for training job, model and endpoint config names.
pub const MAX_NAME: usize = 63;
pub const JOB_PREFIX: &str = "prophet-retrain";

fn short_hash(text: &str, hex_len: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..hex_len].to_string()
}

/// Keep `[A-Za-z0-9]`, turn runs of anything else into one `-`, trim `-` at both ends.
fn sanitise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// `<stem>-<readable part of key>-<hash of key>`, at most 63 characters, matching SageMaker's
/// `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`. The hash keeps names distinct when truncation would not.
fn derived(stem: &str, key: &str) -> String {
    let hash = short_hash(key, 10);
    let stem = sanitise(stem);
    let room = MAX_NAME.saturating_sub(stem.len() + hash.len() + 2);
    let readable: String = sanitise(key).chars().take(room).collect();
    let readable = readable.trim_end_matches('-');
    let mut name = if readable.is_empty() {
        format!("{stem}-{hash}")
    } else {
        format!("{stem}-{readable}-{hash}")
    };
    name.truncate(MAX_NAME);
    name
}

/// The training job of one execution: stable across retries and redrives of that execution,
/// distinct across executions.
pub fn training_job_name(execution: &str) -> String {
    derived(JOB_PREFIX, execution)
}

/// SageMaker's limit for `CreateModelPackage.ClientToken` (`^[a-zA-Z0-9-]+$`).
pub const MAX_CLIENT_TOKEN: usize = 36;

/// The idempotency token of the version registered for one training job: 32 hex characters of
/// a hash of the job name, the same on every retry, distinct across jobs.
pub fn version_client_token(job: &str) -> String {
    short_hash(&format!("model-package:{job}"), 32)
}

/// Model and endpoint config of one model version: `<group>-v<n>-<hash of the artifact>` (the
/// artifact is in the key, so a recreated group whose numbers restart cannot reuse an old model).
pub fn version_resource_name(group: &str, version: i64, artifact: &str) -> String {
    let hash = short_hash(artifact, 10);
    let suffix = format!("-v{version}-{hash}");
    let stem: String = sanitise(group)
        .chars()
        .take(MAX_NAME - suffix.len())
        .collect();
    format!("{}{suffix}", stem.trim_end_matches('-'))
}

/// Version number at the end of a model package ARN (`.../group/7`).
pub fn version_of_arn(arn: &str) -> Option<i64> {
    arn.rsplit('/').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_fit_sagemakers_limit_and_stay_per_job() {
        let long = "prophet-retrain-local-normal-week1-114218-17149cd5a0";
        let t = version_client_token(long);
        assert_eq!(t.len(), 32);
        assert!(t.len() <= MAX_CLIENT_TOKEN);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert_eq!(t, version_client_token(long), "deterministic");
        assert_ne!(t, version_client_token("prophet-retrain-other"));
    }

    fn valid(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_NAME
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && name.chars().next().unwrap().is_ascii_alphanumeric()
            && name.chars().last().unwrap().is_ascii_alphanumeric()
    }

    #[test]
    fn job_names_are_stable_distinct_and_valid() {
        let a = training_job_name("0b7a1c9e-4d2f-4f7e-9a55-3e1f2b7c8d90");
        assert_eq!(a, training_job_name("0b7a1c9e-4d2f-4f7e-9a55-3e1f2b7c8d90"));
        assert_ne!(a, training_job_name("0b7a1c9e-4d2f-4f7e-9a55-3e1f2b7c8d91"));
        assert!(valid(&a), "{a}");
        assert!(a.starts_with("prophet-retrain-0b7a1c9e"));
    }

    #[test]
    fn long_or_odd_execution_names_still_fit() {
        let long = "x".repeat(80);
        let odd = "manual run: 2026/11/27 (retry #2)";
        let a = training_job_name(&long);
        let b = training_job_name(&format!("{long}y"));
        assert!(valid(&a) && valid(&b));
        assert_ne!(a, b, "truncation must not merge names");
        assert!(valid(&training_job_name(odd)), "{}", training_job_name(odd));
        assert!(valid(&training_job_name("___")));
    }

    #[test]
    fn version_names_fit_and_differ_by_artifact() {
        let g = "prophet-forecasting-models-with-a-very-long-group-name-indeed";
        let a = version_resource_name(g, 12, "s3://b/training-output/j1/output/model.tar.gz");
        let b = version_resource_name(g, 12, "s3://b/training-output/j2/output/model.tar.gz");
        assert!(valid(&a) && valid(&b), "{a} {b}");
        assert_ne!(a, b);
        assert!(a.contains("-v12-"));
        assert_eq!(
            version_of_arn("arn:aws:sagemaker:us-east-1:1:model-package/g/12"),
            Some(12)
        );
        assert_eq!(
            version_of_arn("arn:aws:sagemaker:us-east-1:1:model-package/g"),
            None
        );
    }
}

/// Step Functions redrives a failed, timed-out or stopped execution only within this many days
/// of its end.
pub const REDRIVE_DAYS: i64 = 14;

/// What Step Functions accepts as an execution name (API reference, StartExecution `name`):
/// 1 to 80 characters, none of them whitespace, brackets, wildcards, the listed punctuation or
/// control characters.
pub fn check_execution_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if !(1..=80).contains(&n) {
        return Err(format!("must be 1 to 80 characters, not {n}"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(*c))
    {
        return Err(format!("may not contain {c:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod execution_name_tests {
    use super::check_execution_name;

    #[test]
    fn step_functions_execution_names() {
        assert!(check_execution_name("manual-20261127T180000Z").is_ok());
        assert!(check_execution_name(&"a".repeat(80)).is_ok());
        assert!(check_execution_name(&"a".repeat(81))
            .unwrap_err()
            .contains("81"));
        assert!(check_execution_name("").is_err());
        for bad in ["a b", "a/b", "a:b", "a*b", "a\u{7}b"] {
            assert!(check_execution_name(bad).is_err(), "{bad:?}");
        }
    }
}
