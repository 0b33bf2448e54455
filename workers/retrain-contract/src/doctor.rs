//! `retrain doctor`'s decisions: what a first run needs of the account, judged from what the
//! account answers. Pure: the command asks AWS, these say whether the answer will do and, when
//! it will not, what to do.

use serde::Serialize;
use serde_json::Value;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    /// The first run works, but something deserves a look.
    Warn,
    /// The first run would fail, or its alerts would reach nobody.
    Fail,
}

/// One line of the doctor's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    /// What was found.
    pub found: String,
    /// What to do (empty when nothing is to be done).
    pub fix: String,
}

impl Check {
    pub fn ok(name: &'static str, found: impl Into<String>) -> Check {
        Check {
            name,
            verdict: Verdict::Ok,
            found: found.into(),
            fix: String::new(),
        }
    }

    pub fn warn(name: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            verdict: Verdict::Warn,
            found: found.into(),
            fix: fix.into(),
        }
    }

    pub fn fail(name: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            verdict: Verdict::Fail,
            found: found.into(),
            fix: fix.into(),
        }
    }
}

/// An ECR image URI: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    pub account: String,
    pub region: String,
    pub repository: String,
    /// `tag` or `sha256:...` digest; `latest` when the URI names neither.
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl EcrImage {
    /// `Err`: why SageMaker cannot pull it (it pulls from ECR only, by this form).
    pub fn parse(uri: &str) -> Result<EcrImage, String> {
        let not_ecr = || {
            format!(
                "{uri} is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>): SageMaker pulls training and serving images from ECR"
            )
        };
        let (registry, path) = uri.split_once('/').ok_or_else(not_ecr)?;
        let parts: Vec<&str> = registry.split('.').collect();
        let ok_registry = parts.len() >= 6
            && parts[1] == "dkr"
            && parts[2] == "ecr"
            && parts[0].len() == 12
            && parts[0].chars().all(|c| c.is_ascii_digit());
        if !ok_registry || path.is_empty() {
            return Err(not_ecr());
        }
        let (repository, tag, digest) = match path.split_once('@') {
            Some((repo, digest)) => (repo, None, Some(digest.to_string())),
            None => match path.rsplit_once(':') {
                Some((repo, tag)) => (repo, Some(tag.to_string()), None),
                None => (path, Some("latest".to_string()), None),
            },
        };
        Ok(EcrImage {
            account: parts[0].to_string(),
            region: parts[3].to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }
}

/// Whether a role's trust policy (`AssumeRolePolicyDocument`, as IAM returns it: URL-encoded
/// JSON, or plain JSON) lets SageMaker assume it. `Err`: why not.
pub fn sagemaker_may_assume(document: &str) -> Result<(), String> {
    let decoded = percent_decode(document);
    let doc: Value =
        serde_json::from_str(&decoded).map_err(|e| format!("its trust policy is not JSON: {e}"))?;
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    let names = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let allows = statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && names(&s["Action"])
                .iter()
                .any(|a| a == "sts:AssumeRole" || a == "sts:*" || a == "*")
            && names(&s["Principal"]["Service"])
                .iter()
                .any(|p| p == "sagemaker.amazonaws.com")
    });
    if allows {
        Ok(())
    } else {
        Err("its trust policy does not allow sagemaker.amazonaws.com to sts:AssumeRole".into())
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The template's functions (each reserves `ReservedConcurrency` when it is not 0).
pub const FUNCTIONS: i32 = 5;
/// Concurrent executions Lambda keeps unreserved in every account.
pub const UNRESERVED_MINIMUM: i32 = 100;

/// The account's Lambda concurrency against the stack's reservations: `Err` when the deploy
/// would fail (Lambda keeps 100 unreserved), or a run could not get a worker.
pub fn concurrency(
    account_limit: i32,
    unreserved: i32,
    reserved_each: i32,
) -> Result<String, String> {
    let reserved = reserved_each * FUNCTIONS;
    if reserved > 0 && account_limit - reserved < UNRESERVED_MINIMUM {
        return Err(format!(
            "the account's concurrency limit is {account_limit}; ReservedConcurrency={reserved_each} reserves {reserved} for the {FUNCTIONS} functions and Lambda keeps {UNRESERVED_MINIMUM} unreserved: the deploy fails. Set ReservedConcurrency=0, or ask for a limit of at least {}",
            reserved + UNRESERVED_MINIMUM
        ));
    }
    if reserved == 0 && unreserved < 1 {
        return Err(format!(
            "no unreserved concurrency is left in the account (limit {account_limit}): the workers could not run; free some, or raise the limit"
        ));
    }
    Ok(format!(
        "limit {account_limit}, {unreserved} unreserved; the stack reserves {reserved}"
    ))
}

/// The alert topic's subscriptions: `Err` when no confirmed subscription would receive an alert.
pub fn subscriptions(endpoints: &[(String, bool)]) -> Result<String, String> {
    let confirmed: Vec<&str> = endpoints
        .iter()
        .filter(|(_, c)| *c)
        .map(|(e, _)| e.as_str())
        .collect();
    let pending = endpoints.len() - confirmed.len();
    if confirmed.is_empty() {
        return Err(if pending > 0 {
            format!("{pending} subscription(s) pending confirmation and none confirmed: open the confirmation email AWS sent")
        } else {
            "no subscription: nobody receives the alerts. Deploy with AlertEmail, or subscribe: aws sns subscribe --topic-arn <topic> --protocol email --notification-endpoint <you>".into()
        });
    }
    Ok(format!(
        "{} confirmed ({}){}",
        confirmed.len(),
        confirmed.join(", "),
        if pending > 0 {
            format!(", {pending} pending")
        } else {
            String::new()
        }
    ))
}

/// `sam deploy --guided`'s `samconfig.toml` stores the parameters as one string of
/// `Key=Value` or `Key="Value with spaces"` pairs (or a list of them): the map.
pub fn parameter_overrides(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if chars.next() != Some('=') {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect();
        }
        out.insert(key.trim().to_string(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_uris_are_read_and_others_refused() {
        let i =
            EcrImage::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/prophet:2026-11")
                .unwrap();
        assert_eq!(
            (i.account.as_str(), i.region.as_str(), i.repository.as_str()),
            ("123456789012", "eu-west-1", "team/prophet")
        );
        assert_eq!(i.tag.as_deref(), Some("2026-11"));
        let d =
            EcrImage::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/p@sha256:abc").unwrap();
        assert_eq!((d.tag, d.digest.as_deref()), (None, Some("sha256:abc")));
        let l = EcrImage::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/p").unwrap();
        assert_eq!(l.tag.as_deref(), Some("latest"));
        for bad in [
            "prophet:latest",
            "docker.io/library/python:3.12",
            "local/reference-trainer:latest",
        ] {
            assert!(EcrImage::parse(bad).unwrap_err().contains("ECR"), "{bad}");
        }
    }

    #[test]
    fn a_trust_policy_must_let_sagemaker_assume_the_role() {
        let sagemaker = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(sagemaker_may_assume(sagemaker), Ok(()));
        // IAM's GetRole answers it URL-encoded.
        let encoded = sagemaker
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
            .replace(':', "%3A");
        assert_eq!(sagemaker_may_assume(&encoded), Ok(()));
        let lambda = sagemaker.replace("sagemaker", "lambda");
        assert!(sagemaker_may_assume(&lambda)
            .unwrap_err()
            .contains("sagemaker.amazonaws.com"));
        let denied = sagemaker.replace("Allow", "Deny");
        assert!(sagemaker_may_assume(&denied).is_err());
    }

    #[test]
    fn reservations_must_leave_lambdas_hundred_unreserved() {
        assert!(concurrency(1000, 1000, 0).is_ok());
        let err = concurrency(10, 10, 2).unwrap_err();
        assert!(
            err.contains("ReservedConcurrency=0") && err.contains("110"),
            "{err}"
        );
        assert!(concurrency(1000, 950, 10).is_ok());
        assert!(concurrency(10, 0, 0).unwrap_err().contains("no unreserved"));
    }

    #[test]
    fn alerts_need_a_confirmed_subscription() {
        assert!(subscriptions(&[]).unwrap_err().contains("nobody receives"));
        let pending = [("ops@example.com".to_string(), false)];
        assert!(subscriptions(&pending)
            .unwrap_err()
            .contains("pending confirmation"));
        let ok = [
            ("ops@example.com".to_string(), true),
            ("b@x".to_string(), false),
        ];
        assert_eq!(
            subscriptions(&ok).unwrap(),
            "1 confirmed (ops@example.com), 1 pending"
        );
    }

    #[test]
    fn samconfig_parameter_overrides_are_read() {
        let p = parameter_overrides(
            r#"BucketName="my-lake" TrainingImageUri="1.dkr.ecr.r.amazonaws.com/p:1" AlertEmail=a@b.c Description="two words""#,
        );
        assert_eq!(p["BucketName"], "my-lake");
        assert_eq!(p["TrainingImageUri"], "1.dkr.ecr.r.amazonaws.com/p:1");
        assert_eq!(p["AlertEmail"], "a@b.c");
        assert_eq!(p["Description"], "two words");
        assert!(parameter_overrides("").is_empty());
    }
}
