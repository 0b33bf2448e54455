//! `retrain doctor` against the emulator: each check fails on an account that lacks what a first
//! run needs, says what to do, and passes once it is there: the image pushed to ECR, a role
//! SageMaker may assume, ticket files under bronze/, an endpoint of one variant (not to be made
//! serverless), Lambda concurrency, a subscription to the alerts.

use local::harness::{LOCAL_ENDPOINT, TOPIC_ARN};
use local::scenario::Scenario;
use local::testbed::Testbed;
use retrain::doctor::{examine, render, Clients, Params};
use retrain_core::doctor::{Check, Verdict};

const REPOSITORY: &str = "prophet-forecast";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prophet-forecast:latest";

fn params(role: &str) -> Params {
    Params {
        bucket: "ticket-forecasting-lake".into(),
        image: IMAGE.into(),
        role: role.into(),
        endpoint: LOCAL_ENDPOINT.into(),
        serverless: false,
        topic: TOPIC_ARN.into(),
        alert_email: String::new(),
        reserved_concurrency: 0,
        earliest_ticket_date: chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
    }
}

fn check<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks.iter().find(|c| c.name == name).unwrap()
}

fn trust(service: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_what_a_first_run_lacks_and_passes_once_it_is_there() {
    let l = Testbed::start(env!("CARGO_BIN_EXE_reference-trainer")).await;
    let c = Clients::new(&l.sdk);

    // An empty account: no image, no ticket files, nobody subscribed to the alerts.
    let checks = examine(&c, &params("")).await;
    let text = render(&checks);
    let image = check(&checks, "image");
    assert_eq!(image.verdict, Verdict::Fail, "{text}");
    assert!(image.fix.contains("aws ecr create-repository"), "{text}");
    assert_eq!(check(&checks, "data").verdict, Verdict::Fail, "{text}");
    assert!(check(&checks, "data").fix.contains("bronze/"), "{text}");
    assert_eq!(check(&checks, "alerts").verdict, Verdict::Fail, "{text}");
    assert!(
        check(&checks, "alerts").found.contains("nobody receives"),
        "{text}"
    );
    // The stack creates the role; no endpoint yet is fine; the account has concurrency.
    assert_eq!(check(&checks, "role").verdict, Verdict::Ok, "{text}");
    assert_eq!(check(&checks, "endpoint").verdict, Verdict::Ok, "{text}");
    assert_eq!(check(&checks, "concurrency").verdict, Verdict::Ok, "{text}");
    assert!(text.contains("check(s) failed"), "{text}");

    // The repository without the image.
    let ecr = aws_sdk_ecr::Client::new(&l.sdk);
    ecr.create_repository()
        .repository_name(REPOSITORY)
        .send()
        .await
        .unwrap();
    let checks = examine(&c, &params("")).await;
    let image = check(&checks, "image");
    assert_eq!(image.verdict, Verdict::Fail);
    assert!(image.fix.contains("docker push"), "{}", render(&checks));

    // A role SageMaker may not assume (Lambda's), then one it may.
    let iam = aws_sdk_iam::Client::new(&l.sdk);
    for (name, service) in [
        ("lambda-role", "lambda.amazonaws.com"),
        ("sagemaker-role", "sagemaker.amazonaws.com"),
    ] {
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(trust(service))
            .send()
            .await
            .unwrap();
    }
    let lambda_role = "arn:aws:iam::123456789012:role/lambda-role";
    let checks = examine(&c, &params(lambda_role)).await;
    let role = check(&checks, "role");
    assert_eq!(role.verdict, Verdict::Fail, "{}", render(&checks));
    assert!(
        role.found.contains("sagemaker.amazonaws.com"),
        "{}",
        role.found
    );
    let missing = examine(&c, &params("arn:aws:iam::123456789012:role/nobody")).await;
    assert_eq!(check(&missing, "role").verdict, Verdict::Fail);

    // Everything there: the image pushed, the lake seeded (ticket files and the earlier
    // model's endpoint), someone subscribed.
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                   "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
        "layers": []
    });
    ecr.put_image()
        .repository_name(REPOSITORY)
        .image_tag("latest")
        .image_manifest(manifest.to_string())
        .send()
        .await
        .unwrap();
    l.prepare(Scenario::Normal, 1).await;
    // (as a person subscribes: not one of the harness's declared operations)
    c.sns
        .subscribe()
        .topic_arn(TOPIC_ARN)
        .protocol("email")
        .endpoint("ops@example.com")
        .send()
        .await
        .unwrap();
    let sagemaker_role = "arn:aws:iam::123456789012:role/sagemaker-role";
    let checks = examine(&c, &params(sagemaker_role)).await;
    let text = render(&checks);
    assert!(
        checks.iter().all(|c| c.verdict == Verdict::Ok),
        "every check passes:\n{text}"
    );
    assert!(
        text.ends_with("ready for the first run: retrain start --wait\n"),
        "{text}"
    );
    assert!(
        check(&checks, "data").found.contains("usable rows"),
        "{text}"
    );
    assert!(
        check(&checks, "endpoint").found.contains("InService"),
        "{text}"
    );

    // The same endpoint cannot be made serverless: doctor says so before the first deploy.
    let serverless = Params {
        serverless: true,
        ..params(sagemaker_role)
    };
    let checks = examine(&c, &serverless).await;
    let endpoint = check(&checks, "endpoint");
    assert_eq!(endpoint.verdict, Verdict::Fail);
    assert!(
        endpoint.found.contains("new EndpointName"),
        "{}",
        endpoint.found
    );

    // The command itself, as a user runs it (`retrain doctor`, flags for the parameters): exit
    // status 0 on this account.
    use clap::Parser;
    let cli = retrain::Cli::try_parse_from([
        "retrain",
        "doctor",
        "--config",
        "/nonexistent/samconfig.toml",
        "--image",
        IMAGE,
        "--role",
        sagemaker_role,
        "--topic-arn",
        TOPIC_ARN,
    ])
    .unwrap();
    let err = retrain::run(&cli, &retrain::ops(&cli, &l.sdk), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let cli = retrain::Cli::try_parse_from([
        "retrain",
        "doctor",
        "--image",
        IMAGE,
        "--role",
        sagemaker_role,
        "--topic-arn",
        TOPIC_ARN,
    ])
    .unwrap();
    let mut out = Vec::new();
    let ready = retrain::run(&cli, &retrain::ops(&cli, &l.sdk), &mut out)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(ready, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok")).count(),
        6,
        "{out}"
    );
}
