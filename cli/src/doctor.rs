//! `retrain doctor`: before (or right after) the first `sam deploy`, whether the account holds what
//! a first run needs: the image in ECR, a role SageMaker may assume, ticket files under bronze/
//! that the pipeline can read, an endpoint (if any) the pipeline can update, Lambda concurrency
//! for the workers, and someone subscribed to the alerts. Each check asks AWS once; the
//! decisions are `retrain_contract::doctor`'s. The parameters are the stack's: `samconfig.toml`
//! (as `sam deploy --guided` saved them), the flags, else the template's defaults.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use retrain_contract::doctor::{
    concurrency, parameter_overrides, sagemaker_may_assume, subscriptions, Check, EcrImage, Verdict,
};
use retrain_contract::rollout::{adopt_variant, switch_allowed, ServingVariant};
use retrain_contract::tickets::{count_daily, DateWindow};

use crate::args::Doctor;
use crate::commands::CliError;

/// The clients the checks call.
pub struct Clients {
    pub sdk: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub sm: aws_sdk_sagemaker::Client,
    pub sns: aws_sdk_sns::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        // S3 path-style, as the workers address the emulator and any bucket name works.
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build();
        Clients {
            sdk: sdk.clone(),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sm: aws_sdk_sagemaker::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
        }
    }

    /// ECR in the image's own region (SageMaker pulls from the region it runs in).
    fn ecr(&self, region: &str) -> aws_sdk_ecr::Client {
        let conf = aws_sdk_ecr::config::Builder::from(&self.sdk)
            .region(aws_sdk_ecr::config::Region::new(region.to_string()))
            .build();
        aws_sdk_ecr::Client::from_conf(conf)
    }
}

/// The stack's parameters the checks need.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub bucket: String,
    pub image: String,
    pub role: String,
    pub endpoint: String,
    pub serverless: bool,
    pub topic: String,
    pub alert_email: String,
    pub reserved_concurrency: i32,
    pub earliest_ticket_date: chrono::NaiveDate,
}

/// The template's defaults, then `samconfig.toml`'s overrides, then the flags.
pub fn params(d: &Doctor) -> Result<Params, CliError> {
    let invalid = |field: &str, reason: String| CliError::Invalid {
        field: field.into(),
        reason,
    };
    let mut p: BTreeMap<String, String> = [
        ("BucketName", "ticket-forecasting-lake"),
        ("TrainingImageUri", ""),
        ("SageMakerRoleArn", ""),
        ("EndpointName", "prophet-fastapi-endpoint-latest"),
        ("EndpointType", "RealTime"),
        ("ExistingTopicArn", ""),
        ("AlertEmail", ""),
        ("ReservedConcurrency", "0"),
        ("EarliestTicketDate", "2000-01-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let path = std::path::Path::new(&d.config);
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid("--config", format!("{}: {e}", d.config)))?;
        p.extend(samconfig_parameters(&text).map_err(|e| invalid("--config", e))?);
    } else if d.config != "samconfig.toml" {
        return Err(invalid("--config", format!("{} does not exist", d.config)));
    }
    for (key, flag) in [
        ("BucketName", &d.bucket),
        ("TrainingImageUri", &d.image),
        ("SageMakerRoleArn", &d.role),
        ("EndpointName", &d.endpoint),
        ("EndpointType", &d.endpoint_type),
        ("ExistingTopicArn", &d.topic_arn),
    ] {
        if let Some(v) = flag {
            p.insert(key.into(), v.clone());
        }
    }
    if p["TrainingImageUri"].is_empty() {
        return Err(invalid(
            "--image",
            "missing: give TrainingImageUri (--image, or samconfig.toml)".into(),
        ));
    }
    Ok(Params {
        bucket: p["BucketName"].clone(),
        image: p["TrainingImageUri"].clone(),
        role: p["SageMakerRoleArn"].clone(),
        endpoint: p["EndpointName"].clone(),
        serverless: p["EndpointType"] == "Serverless",
        topic: p["ExistingTopicArn"].clone(),
        alert_email: p["AlertEmail"].clone(),
        reserved_concurrency: p["ReservedConcurrency"].parse().map_err(|_| {
            invalid(
                "--config",
                format!(
                    "ReservedConcurrency {:?} is not a number",
                    p["ReservedConcurrency"]
                ),
            )
        })?,
        earliest_ticket_date: chrono::NaiveDate::parse_from_str(
            &p["EarliestTicketDate"],
            "%Y-%m-%d",
        )
        .map_err(|e| invalid("--config", format!("EarliestTicketDate: {e}")))?,
    })
}

/// `[default.deploy.parameters] parameter_overrides` of a samconfig.toml (a string of pairs, or a
/// list of them).
fn samconfig_parameters(text: &str) -> Result<BTreeMap<String, String>, String> {
    let doc: toml::Table = text.parse().map_err(|e| format!("samconfig.toml: {e}"))?;
    let overrides = doc
        .get("default")
        .and_then(|d| d.get("deploy"))
        .and_then(|d| d.get("parameters"))
        .and_then(|d| d.get("parameter_overrides"));
    Ok(match overrides {
        Some(toml::Value::String(s)) => parameter_overrides(s),
        Some(toml::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .flat_map(|s| parameter_overrides(s).into_iter())
            .collect(),
        _ => BTreeMap::new(),
    })
}

fn error_text<E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> (String, String) {
    match e.as_service_error() {
        Some(s) => (
            s.code().unwrap_or("Unknown").to_string(),
            s.message().unwrap_or_default().to_string(),
        ),
        None => ("RequestFailed".into(), format!("{e:?}")),
    }
}

async fn image(c: &Clients, uri: &str) -> Check {
    const NAME: &str = "image";
    let img = match EcrImage::parse(uri) {
        Ok(i) => i,
        Err(e) => {
            return Check::fail(
                NAME,
                e,
                "push the image to ECR and deploy with its URI (TrainingImageUri)",
            )
        }
    };
    let mut id = aws_sdk_ecr::types::ImageIdentifier::builder();
    id = match (&img.digest, &img.tag) {
        (Some(d), _) => id.image_digest(d),
        (None, Some(t)) => id.image_tag(t),
        (None, None) => id,
    };
    let push = format!(
        "push it: make image (or your own); aws ecr get-login-password --region {} | docker login --username AWS --password-stdin {}.dkr.ecr.{}.amazonaws.com; docker tag localhost/prophet-trainer:latest {uri}; docker push {uri} (podman works the same)",
        img.region, img.account, img.region
    );
    match c
        .ecr(&img.region)
        .describe_images()
        .registry_id(&img.account)
        .repository_name(&img.repository)
        .image_ids(id.build())
        .send()
        .await
    {
        Ok(out) if !out.image_details().is_empty() => Check::ok(NAME, format!("{uri} is in ECR")),
        Ok(_) => Check::fail(NAME, format!("{uri} is not in ECR"), push),
        Err(e) => {
            let (code, message) = error_text(&e);
            let fix = if code == "RepositoryNotFoundException" {
                format!("create the repository (aws ecr create-repository --repository-name {}), then {push}", img.repository)
            } else if code == "ImageNotFoundException" {
                push
            } else {
                "check your credentials may call ecr:DescribeImages on the repository".into()
            };
            Check::fail(NAME, format!("{code}: {message}"), fix)
        }
    }
}

async fn role(c: &Clients, arn: &str) -> Check {
    const NAME: &str = "role";
    if arn.is_empty() {
        return Check::ok(
            NAME,
            "SageMakerRoleArn is empty: the stack creates SageMakerExecutionRole for the jobs and models",
        );
    }
    let name = arn.rsplit('/').next().unwrap_or(arn);
    match c.iam.get_role().role_name(name).send().await {
        Ok(out) => {
            let doc = out
                .role()
                .and_then(|r| r.assume_role_policy_document())
                .unwrap_or_default();
            match sagemaker_may_assume(doc) {
                Ok(()) => Check::ok(NAME, format!("{arn}: SageMaker may assume it")),
                Err(e) => Check::fail(
                    NAME,
                    format!("{arn}: {e}"),
                    "add sagemaker.amazonaws.com as a trusted service of the role, or leave SageMakerRoleArn empty and let the stack create one",
                ),
            }
        }
        Err(e) => {
            let (code, message) = error_text(&e);
            Check::fail(
                NAME,
                format!("{arn}: {code}: {message}"),
                "give an existing role's ARN, or leave SageMakerRoleArn empty and let the stack create one",
            )
        }
    }
}

/// The newest ticket files read (each a full GetObject).
const FILES_READ: usize = 3;

async fn data(c: &Clients, p: &Params) -> Check {
    const NAME: &str = "data";
    let where_ = format!("s3://{}/bronze/", p.bucket);
    let fix = format!(
        "put the ticket export's CSV files (a header with a date column) under {where_}: aws s3 cp tickets.csv {where_}"
    );
    let mut files = Vec::new();
    let mut pages =
        c.s3.list_objects_v2()
            .bucket(&p.bucket)
            .prefix("bronze/")
            .into_paginator()
            .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                for o in page.contents() {
                    let key = o.key().unwrap_or_default();
                    if key.to_ascii_lowercase().ends_with(".csv") {
                        files.push((o.last_modified().cloned(), key.to_string()));
                    }
                }
            }
            Err(e) => {
                let (code, message) = error_text(&e);
                let fix = if code == "NoSuchBucket" {
                    format!(
                        "create the bucket {} (or deploy with BucketName of yours), then {fix}",
                        p.bucket
                    )
                } else {
                    fix
                };
                return Check::fail(NAME, format!("{where_}: {code}: {message}"), fix);
            }
        }
    }
    if files.is_empty() {
        return Check::fail(NAME, format!("no .csv file under {where_}"), fix);
    }
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let window = DateWindow::at(p.earliest_ticket_date, chrono::Utc::now());
    let (mut rows, mut problems) = (0u64, Vec::new());
    for (_, key) in files.iter().take(FILES_READ) {
        let body = match c.s3.get_object().bucket(&p.bucket).key(key).send().await {
            Ok(o) => o.body,
            Err(e) => {
                let (code, message) = error_text(&e);
                problems.push(format!("{key}: {code}: {message}"));
                continue;
            }
        };
        let bytes = match ByteStream::collect(body).await {
            Ok(b) => b.into_bytes(),
            Err(e) => {
                problems.push(format!("{key}: {e}"));
                continue;
            }
        };
        match count_daily(&bytes[..], window) {
            Ok(scan) => match scan.unusable() {
                Some(why) => problems.push(format!("{key}: {why}")),
                None => rows += scan.counts.rows,
            },
            Err(e) => problems.push(format!("{key}: {e}")),
        }
    }
    let read = files.len().min(FILES_READ);
    if rows == 0 {
        return Check::fail(
            NAME,
            format!(
                "{} file(s); none of the newest {read} has a usable row: {}",
                files.len(),
                problems.join("; ")
            ),
            fix,
        );
    }
    let found = format!(
        "{} file(s) under {where_}; the newest {read} hold {rows} usable rows",
        files.len()
    );
    if problems.is_empty() {
        Check::ok(NAME, found)
    } else {
        Check::warn(
            NAME,
            format!("{found}; {}", problems.join("; ")),
            "fix or remove those files: the pipeline skips them and alerts on data quality",
        )
    }
}

async fn endpoint(c: &Clients, p: &Params) -> Check {
    const NAME: &str = "endpoint";
    let d = match c
        .sm
        .describe_endpoint()
        .endpoint_name(&p.endpoint)
        .send()
        .await
    {
        Ok(d) => d,
        Err(e) => {
            let (code, message) = error_text(&e);
            if code == "ValidationException" && message.contains("Could not find") {
                return Check::ok(
                    NAME,
                    format!(
                        "{} does not exist yet: the first run that deploys creates it",
                        p.endpoint
                    ),
                );
            }
            return Check::fail(
                NAME,
                format!("{code}: {message}"),
                "check your credentials may call sagemaker:DescribeEndpoint",
            );
        }
    };
    let variants: Vec<ServingVariant> = d
        .production_variants()
        .iter()
        .map(|v| ServingVariant {
            name: v.variant_name().unwrap_or_default().to_string(),
            instance_count: v.current_instance_count(),
            serverless: v.current_serverless_config().is_some(),
        })
        .collect();
    if let Err(why) = adopt_variant(Some(&variants), 1) {
        return Check::fail(
            NAME,
            format!("{}: {why}", p.endpoint),
            "deploy with another EndpointName (the pipeline creates it), or reduce the endpoint to one variant",
        );
    }
    if let Err(why) = switch_allowed(&p.endpoint, &variants, p.serverless) {
        return Check::fail(
            NAME,
            why,
            "deploy with EndpointType=RealTime, or a new EndpointName",
        );
    }
    let status = d
        .endpoint_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let found = format!(
        "{} is {status}, variant {} ({}): the pipeline updates it blue/green",
        p.endpoint,
        variants[0].name,
        if variants[0].serverless {
            "serverless"
        } else {
            "instances"
        }
    );
    if status == "InService" {
        Check::ok(NAME, found)
    } else {
        Check::warn(
            NAME,
            found,
            "a run deploys only to an InService endpoint: wait, or look at its FailureReason",
        )
    }
}

async fn lambda_concurrency(c: &Clients, p: &Params) -> Check {
    const NAME: &str = "concurrency";
    match c.lambda.get_account_settings().send().await {
        Ok(out) => {
            let limits = out.account_limit();
            let limit = limits
                .map(|l| l.concurrent_executions())
                .unwrap_or_default();
            let unreserved = limits
                .and_then(|l| l.unreserved_concurrent_executions())
                .unwrap_or(limit);
            match concurrency(limit, unreserved, p.reserved_concurrency) {
                Ok(found) => Check::ok(NAME, found),
                Err(why) => Check::fail(NAME, why, "see ReservedConcurrency in template.yaml"),
            }
        }
        Err(e) => {
            let (code, message) = error_text(&e);
            Check::fail(
                NAME,
                format!("{code}: {message}"),
                "check your credentials may call lambda:GetAccountSettings",
            )
        }
    }
}

async fn alerts(c: &Clients, p: &Params) -> Check {
    const NAME: &str = "alerts";
    if p.topic.is_empty() {
        return if p.alert_email.is_empty() {
            Check::fail(
                NAME,
                "no topic given and no AlertEmail: the stack creates a topic nobody is subscribed to",
                "deploy with AlertEmail=<you>, or run doctor with --topic-arn <the stack's TopicArn output> once subscribed",
            )
        } else {
            Check::warn(
                NAME,
                format!("the stack creates the topic and subscribes {}", p.alert_email),
                "confirm the email AWS sends after the deploy; then `retrain doctor --topic-arn <TopicArn output>` checks it",
            )
        };
    }
    let mut found = Vec::new();
    let mut pages = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&p.topic)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                for s in page.subscriptions() {
                    let arn = s.subscription_arn().unwrap_or_default();
                    found.push((
                        s.endpoint().unwrap_or_default().to_string(),
                        arn.starts_with("arn:"),
                    ));
                }
            }
            Err(e) => {
                let (code, message) = error_text(&e);
                return Check::fail(
                    NAME,
                    format!("{}: {code}: {message}", p.topic),
                    "give the topic the stack uses (ExistingTopicArn or its TopicArn output)",
                );
            }
        }
    }
    match subscriptions(&found) {
        Ok(text) => Check::ok(NAME, format!("{}: {text}", p.topic)),
        Err(why) => Check::fail(
            NAME,
            format!("{}: {why}", p.topic),
            "subscribe someone, and confirm",
        ),
    }
}

/// Every check, in the order a first deploy meets them.
pub async fn examine(c: &Clients, p: &Params) -> Vec<Check> {
    vec![
        image(c, &p.image).await,
        role(c, &p.role).await,
        data(c, p).await,
        endpoint(c, p).await,
        lambda_concurrency(c, p).await,
        alerts(c, p).await,
    ]
}

/// The report: one line per check, the fix under each that is not ok.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let mark = match c.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        out += &format!("{mark}  {:<12} {}\n", c.name, c.found);
        if !c.fix.is_empty() {
            out += &format!("      {:<12} fix: {}\n", "", c.fix);
        }
    }
    let failed = checks.iter().filter(|c| c.verdict == Verdict::Fail).count();
    out += &if failed == 0 {
        "ready for the first run: retrain start --wait\n".to_string()
    } else {
        format!("{failed} check(s) failed: the first run would fail or its alerts reach nobody\n")
    };
    out
}
