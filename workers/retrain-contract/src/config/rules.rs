//! The rules AWS applies to the values the configuration names, checked at cold start so a
//! typo fails there, naming the variable, and not mid-run as an AWS error. Each rule is the one
//! in the API reference of the call that uses the value (botocore's model of it: length and
//! pattern), or the service's documented naming rule where the model has none.

use crate::excerpt::quote;

type Rule = std::result::Result<(), String>;

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_partition(s: &str) -> bool {
    s == "aws"
        || s.strip_prefix("aws-").is_some_and(|r| {
            !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        })
}

fn is_region(s: &str) -> bool {
    // `us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `cn-north-1`.
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// `SAGEMAKER_ROLE`: CreateTrainingJob's `RoleArn`, 20-2048 characters of
/// `arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`.
pub fn role_arn(value: &str) -> Rule {
    let fields: Vec<&str> = value.splitn(6, ':').collect();
    let ok = (20..=2048).contains(&value.len())
        && fields.len() == 6
        && fields[0] == "arn"
        && is_partition(fields[1])
        && fields[2] == "iam"
        && fields[3].is_empty()
        && is_account(fields[4])
        && fields[5].strip_prefix("role/").is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)",
            quote(value)
        ))
    }
}

/// `SNS_TOPIC_ARN`: `arn:aws:sns:<region>:<account>:<topic>`, the topic 1-256 letters, digits,
/// hyphens and underscores (`.fifo` at the end of a FIFO topic).
pub fn topic_arn(value: &str) -> Rule {
    let fields: Vec<&str> = value.split(':').collect();
    let ok = fields.len() == 6
        && fields[0] == "arn"
        && is_partition(fields[1])
        && fields[2] == "sns"
        && is_region(fields[3])
        && is_account(fields[4])
        && {
            let topic = fields[5].strip_suffix(".fifo").unwrap_or(fields[5]);
            (1..=256).contains(&fields[5].len())
                && !topic.is_empty()
                && topic
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic>)",
            quote(value)
        ))
    }
}

/// `ENDPOINT_NAME` and `MODEL_PACKAGE_GROUP`: SageMaker's entity names,
/// `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$` (1-63 characters, hyphens only between others), in
/// lower case: AWS lower-cases the names in model, endpoint-config and endpoint ARNs, and IAM
/// matches the policies' resources case-sensitively, so a capital letter would silently void
/// every grant on the endpoint and its models (template.yaml's AllowedPattern refuses it too).
pub fn sagemaker_name(value: &str) -> Rule {
    let ok = (1..=63).contains(&value.len())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok && value.chars().any(|c| c.is_ascii_uppercase()) {
        Err(format!(
            "{} has capital letters: AWS lower-cases model, endpoint-config and endpoint names in their ARNs and IAM matches case-sensitively, so the functions' grants would not match; use lower case",
            quote(value)
        ))
    } else if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a SageMaker name (1-63 letters, digits and hyphens, a letter or digit at each end)",
            quote(value)
        ))
    }
}

/// `ECR_IMAGE_URI`: CreateTrainingJob's `TrainingImage` (at most 255 characters, no
/// whitespace) in the form of an image reference: `[registry/]repository[:tag][@sha256:digest]`,
/// the repository's path in lower case (`[a-z0-9]+([._-][a-z0-9]+)*` per component), a tag of
/// at most 128 `[A-Za-z0-9_.-]` starting with a letter, digit or `_`.
pub fn image_uri(value: &str) -> Rule {
    let bad = |why: &str| {
        Err(format!(
            "{} is not an image URI ({why}; e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/prophet-forecast:latest)",
            quote(value)
        ))
    };
    if value.is_empty() || value.len() > 255 || value.contains(char::is_whitespace) {
        return bad("1-255 characters, no whitespace");
    }
    let (rest, digest) = match value.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (value, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad("a digest is sha256: and 64 hex digits");
        }
    }
    // A tag follows the last ':' after the last '/' (a registry may have a port).
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let first_ok = t
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !(first_ok
            && t.len() <= 128
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)))
        {
            return bad("a tag is 1-128 letters, digits, `_`, `.`, `-`");
        }
    }
    let mut components: Vec<&str> = name.split('/').collect();
    // A first component with a dot or a port, or `localhost`, is the registry.
    if components.len() > 1
        && (components[0].contains('.')
            || components[0].contains(':')
            || components[0] == "localhost")
    {
        components.remove(0);
    }
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.split(['.', '_', '-']).all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
    };
    if components.iter().all(|c| component_ok(c)) {
        Ok(())
    } else {
        bad("the repository is lower-case letters and digits, separated by `.`, `_`, `-` or `/`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert!(role_arn("arn:aws:iam::123456789012:role/SageMakerExecutionRole").is_ok());
        assert!(role_arn("arn:aws-us-gov:iam::123456789012:role/service-role/x+y=z,a.b@c").is_ok());
        for bad in [
            "SageMakerExecutionRole",
            "arn:aws:iam::1234:role/r",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:role/r",
            "arn:aws:iam:us-east-1:123456789012:role/r",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/has space",
        ] {
            assert!(role_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topic_arns() {
        assert!(topic_arn("arn:aws:sns:us-east-1:123456789012:model-drift-alerts").is_ok());
        assert!(topic_arn("arn:aws:sns:eu-west-1:123456789012:alerts.fifo").is_ok());
        for bad in [
            "arn:aws:sqs:us-east-1:123456789012:q",
            "arn:aws:sns:us-east-1:12345:t",
            "arn:aws:sns::123456789012:t",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:a.b",
            "model-drift-alerts",
        ] {
            assert!(topic_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sagemaker_names() {
        assert!(sagemaker_name("prophet-fastapi-endpoint-latest").is_ok());
        for bad in ["", "-x", "x-", "has_underscore", "dot.ted", &"a".repeat(64)] {
            assert!(sagemaker_name(bad).is_err(), "{bad}");
        }
        let err = sagemaker_name("Prophet-Models").unwrap_err();
        assert!(err.contains("capital letters"), "{err}");
    }

    #[test]
    fn image_uris() {
        for good in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/prophet-forecast:latest",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/prophet@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "localhost:5000/reference-trainer:v1",
            "local/reference-trainer:latest",
        ] {
            assert!(image_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/Prophet:latest",
            "repo:tag with space",
            "repo:-tag",
            "repo@sha256:abc",
            "repo//x",
            &format!("r:{}", "t".repeat(300)),
        ] {
            assert!(image_uri(bad).is_err(), "{bad}");
        }
    }
}
