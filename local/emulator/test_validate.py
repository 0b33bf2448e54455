"""Tests for awsrequest.py and validate.py: the emulator refuses what AWS would refuse.

    pytest -q test_validate.py

boto3 validates parameters itself, so the clients here are built with
parameter_validation=False to get invalid requests onto the wire.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import time

import boto3
import cbor2
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.test import EnvironBuilder

import awsrequest
from conftest import running_emulator
import validate

ROLE = "arn:aws:iam::123456789012:role/sm"
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{}/aws4_request, "
        "SignedHeaders=host, Signature=0")


@pytest.fixture(scope="module")
def url():
    with running_emulator({"EMULATOR_ENDPOINT_DELAY": "0.2"},
                          drop=("EMULATOR_TRAINING_COMMAND",)) as base:
        yield base


@pytest.fixture(autouse=True)
def reset(request):
    if "url" in request.fixturenames:
        requests.post(f"{request.getfixturevalue('url')}/moto-api/reset")


def client(url: str, service: str):
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(parameter_validation=False, s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}))


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        call()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 413)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def wait_in_service(sm, name: str) -> None:
    deadline = time.time() + 10
    while sm.describe_endpoint(EndpointName=name)["EndpointStatus"] != "InService":
        assert time.time() < deadline
        time.sleep(0.1)


# --- parsing -------------------------------------------------------------------


def environ(method="POST", path="/", query="", headers=None, body=b""):
    return EnvironBuilder(method=method, path=path, query_string=query,
                          headers=headers or {}, data=body).get_environ()


def test_parse_sagemaker_json_leaves_the_body_readable():
    body = json.dumps({"ModelPackageGroupName": "g", "ClientToken": "t"}).encode()
    env = environ(headers={"X-Amz-Target": "SageMaker.CreateModelPackage",
                           "Content-Type": "application/x-amz-json-1.1",
                           "Authorization": AUTH.format("sagemaker")}, body=body)
    req = awsrequest.parse_request(env)
    assert (req.service, req.operation, req.access_key, req.region) == (
        "sagemaker", "CreateModelPackage", "AKIDEXAMPLE", "us-east-1")
    assert req.params == {"ModelPackageGroupName": "g", "ClientToken": "t"}
    assert env["wsgi.input"].read() == body and env["CONTENT_LENGTH"] == str(len(body))


def test_parse_cloudwatch_cbor_gzip():
    body = gzip.compress(cbor2.dumps({"Namespace": "N", "MetricData": [
        {"MetricName": "m", "Value": 1.5, "Dimensions": [{"Name": "a", "Value": "b"}]}]}))
    env = environ(path="/service/GraniteServiceVersion20100801/operation/PutMetricData",
                  headers={"Content-Type": "application/cbor", "Content-Encoding": "gzip",
                           "Authorization": AUTH.format("monitoring")}, body=body)
    req = awsrequest.parse_request(env)
    assert (req.service, req.operation) == ("cloudwatch", "PutMetricData")
    assert req.params["MetricData"][0]["Dimensions"] == [{"Name": "a", "Value": "b"}]
    assert env["wsgi.input"].read() == body


def test_parse_sns_query():
    form = ("Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At"
            "&Subject=Hi%20there&Message=m&MessageAttributes.entry.1.Name=k"
            "&MessageAttributes.entry.1.Value.DataType=String"
            "&MessageAttributes.entry.1.Value.StringValue=v")
    env = environ(headers={"Content-Type": "application/x-www-form-urlencoded",
                           "Authorization": AUTH.format("sns")}, body=form.encode())
    req = awsrequest.parse_request(env)
    assert (req.service, req.operation) == ("sns", "Publish")
    assert req.params == {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Subject": "Hi there",
                          "Message": "m", "MessageAttributes": {
                              "k": {"DataType": "String", "StringValue": "v"}}}
    form = ("Action=CreateTopic&Version=2010-03-31&Name=t&Attributes.entry.1.key=A"
            "&Attributes.entry.1.value=B&Tags.member.1.Key=k&Tags.member.1.Value=v")
    req = awsrequest.parse_request(environ(
        headers={"Content-Type": "application/x-www-form-urlencoded"}, body=form.encode()))
    assert req.params == {"Name": "t", "Attributes": {"A": "B"},
                          "Tags": [{"Key": "k", "Value": "v"}]}
    assert req.access_key is None  # unsigned: recognised by its Version


@pytest.mark.parametrize("method,path,query,operation", [
    ("GET", "/b", "list-type=2&prefix=p%2F", "ListObjectsV2"),
    ("GET", "/b", "", "ListObjects"),
    ("GET", "/b/dir/k%20ey", "", "GetObject"),
    ("GET", "/b/k", "x-id=GetObject", "GetObject"),
    ("GET", "/b/k", "uploadId=u", "ListParts"),
    ("PUT", "/b/dir/k", "", "PutObject"),
    ("PUT", "/b", "", "CreateBucket"),
    ("HEAD", "/b/k", "", "HeadObject"),
    ("HEAD", "/b", "", "HeadBucket"),
    ("DELETE", "/b/k", "", "DeleteObject"),
    ("GET", "/", "", "ListBuckets"),
])
def test_parse_s3_operations(method, path, query, operation):
    env = environ(method=method, path=path, query=query,
                  headers={"Authorization": AUTH.format("s3")})
    req = awsrequest.parse_request(env)
    assert (req.service, req.operation) == ("s3", operation)
    if path.count("/") > 1:
        assert req.params["Key"] == path.split("/", 2)[2].replace("%20", " ")
    if operation == "ListObjectsV2":
        assert req.params["Prefix"] == "p/"


def test_parse_s3_streaming_put_reads_headers_only():
    body = b"5;chunk-signature=0\r\nhello\r\n0;chunk-signature=0\r\n\r\n"
    env = environ(method="PUT", path="/b/k", headers={
        "Authorization": AUTH.format("s3"), "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": "5", "x-amz-meta-owner": "me"}, body=body)
    req = awsrequest.parse_request(env)
    assert req.operation == "PutObject" and req.params["Metadata"] == {"owner": "me"}
    assert env["wsgi.input"].read() == body


def test_not_an_aws_request():
    assert awsrequest.parse_request(environ(method="GET", path="/_something")) is None


def test_unit_messages_are_aws_shaped():
    req = awsrequest.AwsRequest("sagemaker", "CreateModelPackage",
                                {"ClientToken": "x" * 37}, None, None, "json")
    rejection = validate.validate(req)
    assert rejection.code == "ValidationException"
    assert rejection.message == (
        f"1 validation error detected: Value '{'x' * 37}' at 'clientToken' failed to satisfy "
        "constraint: Member must have length less than or equal to 36")


def test_known_findings_can_be_ignored_for_a_run():
    req = awsrequest.AwsRequest("sagemaker", "CreateModelPackage",
                                {"ClientToken": "x" * 37, "ModelPackageGroupName": "a_b"},
                                None, None, "json")
    rejection = validate.validate(req, ignore=["at 'clientToken'"])
    assert rejection.message.startswith("1 validation error detected: Value 'a_b' at "
                                        "'modelPackageGroupName'")
    assert validate.validate(req, ignore=["clientToken", "modelPackageGroupName"]) is None


# --- SageMaker (awsJson1_1) ------------------------------------------------------


def test_client_token_longer_than_36_is_refused(url):
    sm = client(url, "sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g")
    spec = {"Containers": [{"Image": "img:1", "ModelDataUrl": "s3://models/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}
    code, message = error_of(lambda: sm.create_model_package(
        ModelPackageGroupName="g", ClientToken="a" * 37, InferenceSpecification=spec))
    assert code == "ValidationException"
    assert message == (f"1 validation error detected: Value '{'a' * 37}' at 'clientToken' "
                       "failed to satisfy constraint: Member must have length less than or "
                       "equal to 36")
    arn = sm.create_model_package(ModelPackageGroupName="g", ClientToken="a" * 36,
                                  InferenceSpecification=spec)["ModelPackageArn"]
    assert arn.endswith("/g/1")


def test_unknown_member_is_refused(url):
    body = json.dumps({"ModelPackageGroupName": "g", "Colour": "blue"})
    r = requests.post(url, data=body, headers={
        "X-Amz-Target": "SageMaker.CreateModelPackageGroup",
        "Content-Type": "application/x-amz-json-1.1", "Authorization": AUTH.format("sagemaker")})
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert r.json()["__type"] == "SerializationException"
    assert "Colour" in r.json()["message"] and r.headers["x-amzn-ErrorType"]
    assert client(url, "sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_missing_required_and_patterns_are_refused(url):
    sm = client(url, "sagemaker")
    code, message = error_of(lambda: sm.create_model_package_group())
    assert code == "ValidationException"
    assert message == ("1 validation error detected: Value null at 'modelPackageGroupName' "
                       "failed to satisfy constraint: Member must not be null")
    # The whole name must match (AWS refuses "my_job" though "my" matches the pattern).
    code, message = error_of(lambda: sm.create_model(
        ModelName="my_model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"}))
    assert code == "ValidationException"
    assert "at 'modelName' failed to satisfy constraint: Member must satisfy regular " \
        "expression pattern" in message


def test_customer_metadata_and_tags_limits(url):
    sm = client(url, "sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g")
    code, message = error_of(lambda: sm.create_model_package(
        ModelPackageGroupName="g",
        CustomerMetadataProperties={f"k{i}": "v" for i in range(51)}))
    assert code == "ValidationException" and "customerMetadataProperties" in message
    code, message = error_of(lambda: sm.create_model_package(
        ModelPackageGroupName="g", CustomerMetadataProperties={"k": ""}))
    assert "Map value must satisfy constraint" in message
    code, message = error_of(lambda: sm.create_model_package_group(
        ModelPackageGroupName="h", Tags=[{"Key": "k" * 129, "Value": "v"}]))
    assert "at 'tags.1.member.key'" in message


def endpoint_with(sm, config: str, instances: int) -> None:
    sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"})
    for name in ("c1", config):
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "m1", "InstanceType": "ml.m5.large",
            "InitialInstanceCount": instances}])
    sm.create_endpoint(EndpointName="e1", EndpointConfigName="c1")
    wait_in_service(sm, "e1")


def rolling(batch_type: str, value: int) -> dict:
    return {"RollingUpdatePolicy": {
        "MaximumBatchSize": {"Type": batch_type, "Value": value},
        "WaitIntervalInSeconds": 60, "MaximumExecutionTimeoutInSeconds": 1800}}


def test_rolling_update_of_one_instance_is_refused(url):
    sm = client(url, "sagemaker")
    endpoint_with(sm, "c2", 1)
    code, message = error_of(lambda: sm.update_endpoint(
        EndpointName="e1", EndpointConfigName="c2", DeploymentConfig=rolling("INSTANCE_COUNT", 1)))
    assert code == "ValidationException"
    assert "between 5% and 50%" in message and "MaximumBatchSize" in message
    code, _ = error_of(lambda: sm.update_endpoint(
        EndpointName="e1", EndpointConfigName="c2",
        DeploymentConfig=rolling("CAPACITY_PERCENT", 60)))
    assert code == "ValidationException"
    policy = rolling("INSTANCE_COUNT", 1)
    policy["RollingUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] = 599
    code, message = error_of(lambda: sm.update_endpoint(
        EndpointName="e1", EndpointConfigName="c2", DeploymentConfig=policy))
    assert "Member must have value greater than or equal to 600" in message
    assert sm.describe_endpoint(EndpointName="e1")["EndpointStatus"] == "InService"


def test_blue_green_all_at_once_of_one_instance_passes(url):
    sm = client(url, "sagemaker")
    endpoint_with(sm, "c2", 1)
    sm.update_endpoint(EndpointName="e1", EndpointConfigName="c2", DeploymentConfig={
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
            "Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
            "TerminationWaitInSeconds": 0, "MaximumExecutionTimeoutInSeconds": 1800}})
    assert sm.describe_endpoint(EndpointName="e1")["EndpointStatus"] == "Updating"


def test_rolling_update_within_bounds_passes(url):
    sm = client(url, "sagemaker")
    endpoint_with(sm, "c2", 10)
    sm.update_endpoint(EndpointName="e1", EndpointConfigName="c2",
                       DeploymentConfig=rolling("INSTANCE_COUNT", 2))
    assert sm.describe_endpoint(EndpointName="e1")["EndpointStatus"] == "Updating"


def blue_green(timeout: int, termination: int, interval: int, routing_type="ALL_AT_ONCE",
               **routing) -> dict:
    return {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": routing_type, "WaitIntervalInSeconds": interval,
                                        **routing},
        "TerminationWaitInSeconds": termination, "MaximumExecutionTimeoutInSeconds": timeout}}


def test_blue_green_timeout_must_exceed_the_waits(url):
    sm = client(url, "sagemaker")
    endpoint_with(sm, "c2", 1)
    code, message = error_of(lambda: sm.update_endpoint(
        EndpointName="e1", EndpointConfigName="c2", DeploymentConfig=blue_green(600, 300, 300)))
    assert code == "ValidationException"
    assert "MaximumExecutionTimeoutInSeconds (600) must be greater than" in message
    assert "TerminationWaitInSeconds (300)" in message and "WaitIntervalInSeconds (300)" in message
    code, message = error_of(lambda: sm.create_endpoint(
        EndpointName="e2", EndpointConfigName="c2",
        DeploymentConfig=blue_green(3600, 3600, 0)))
    assert code == "ValidationException" and "MaximumExecutionTimeoutInSeconds" in message
    code, message = error_of(lambda: sm.update_endpoint(  # the model's range
        EndpointName="e1", EndpointConfigName="c2", DeploymentConfig=blue_green(28801, 0, 0)))
    assert "Member must have value less than or equal to 28800" in message
    assert sm.describe_endpoint(EndpointName="e1")["EndpointStatus"] == "InService"
    sm.update_endpoint(EndpointName="e1", EndpointConfigName="c2",
                       DeploymentConfig=blue_green(601, 300, 300))
    assert sm.describe_endpoint(EndpointName="e1")["EndpointStatus"] == "Updating"


def test_canary_and_linear_step_sizes(url):
    sm = client(url, "sagemaker")
    endpoint_with(sm, "c2", 4)
    code, message = error_of(lambda: sm.update_endpoint(
        EndpointName="e1", EndpointConfigName="c2", DeploymentConfig=blue_green(
            1800, 0, 60, "CANARY", CanarySize={"Type": "INSTANCE_COUNT", "Value": 3})))
    assert code == "ValidationException" and "CanarySize" in message and "75%" in message
    code, message = error_of(lambda: sm.update_endpoint(
        EndpointName="e1", EndpointConfigName="c2", DeploymentConfig=blue_green(
            1800, 0, 60, "LINEAR", LinearStepSize={"Type": "CAPACITY_PERCENT", "Value": 5})))
    assert code == "ValidationException" and "LinearStepSize" in message
    sm.update_endpoint(EndpointName="e1", EndpointConfigName="c2", DeploymentConfig=blue_green(
        1800, 0, 60, "LINEAR", LinearStepSize={"Type": "INSTANCE_COUNT", "Value": 1}))


def test_auto_rollback_alarms_must_exist(url):
    sm, cw = client(url, "sagemaker"), client(url, "cloudwatch")
    endpoint_with(sm, "c2", 1)
    deployment = {**blue_green(1800, 300, 0),
                  "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "ep-5xx"},
                                                           {"AlarmName": "ep-latency"}]}}
    cw.put_metric_alarm(AlarmName="ep-5xx", MetricName="Invocation5XXErrors",
                        Namespace="AWS/SageMaker", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1.0,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    code, message = error_of(lambda: sm.update_endpoint(
        EndpointName="e1", EndpointConfigName="c2", DeploymentConfig=deployment))
    assert code == "ValidationException"
    assert "'ep-latency'" in message and "AutoRollbackConfiguration" in message
    assert "ep-5xx" not in message
    cw.put_metric_alarm(AlarmName="ep-latency", MetricName="ModelLatency",
                        Namespace="AWS/SageMaker", Statistic="Average", Period=60,
                        EvaluationPeriods=1, Threshold=1e6,
                        ComparisonOperator="GreaterThanThreshold")
    sm.update_endpoint(EndpointName="e1", EndpointConfigName="c2", DeploymentConfig=deployment)
    assert sm.describe_endpoint(EndpointName="e1")["EndpointStatus"] == "Updating"


def test_guarded_update_needs_the_serving_variant_names(url):
    sm = client(url, "sagemaker")
    endpoint_with(sm, "c2", 10)
    sm.create_endpoint_config(EndpointConfigName="other", ProductionVariants=[{
        "VariantName": "primary", "ModelName": "m1", "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 10}])
    for deployment in (rolling("INSTANCE_COUNT", 2), blue_green(1800, 0, 0)):
        code, message = error_of(lambda: sm.update_endpoint(
            EndpointName="e1", EndpointConfigName="other", DeploymentConfig=deployment))
        assert code == "ValidationException"
        assert "variant names" in message and "primary" in message and "AllTraffic" in message
    # Without a guarded policy SageMaker replaces the fleet: other names are fine.
    sm.update_endpoint(EndpointName="e1", EndpointConfigName="other")
    assert sm.describe_endpoint(EndpointName="e1")["EndpointStatus"] == "Updating"


def test_training_max_runtime_is_at_most_28_days(url):
    sm = client(url, "sagemaker")
    job = dict(AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
               RoleArn=ROLE, OutputDataConfig={"S3OutputPath": "s3://out/"},
               ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1,
                               "VolumeSizeInGB": 10})
    code, message = error_of(lambda: sm.create_training_job(
        TrainingJobName="t1", StoppingCondition={"MaxRuntimeInSeconds": 2419201}, **job))
    assert code == "ValidationException"
    assert "MaxRuntimeInSeconds" in message and "2419200" in message
    sm.create_training_job(TrainingJobName="t1",
                           StoppingCondition={"MaxRuntimeInSeconds": 2419200}, **job)


def test_spot_training_needs_a_max_wait_of_at_least_the_runtime(url):
    sm = client(url, "sagemaker")
    job = dict(AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
               RoleArn=ROLE, OutputDataConfig={"S3OutputPath": "s3://out/"},
               ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1,
                               "VolumeSizeInGB": 10})
    for stopping, spot, says in (
            ({"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}, False,
             "only supported when EnableManagedSpotTraining"),
            ({"MaxRuntimeInSeconds": 3600}, True, "required when EnableManagedSpotTraining"),
            ({"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 1800}, True,
             "greater than or equal to MaxRuntimeInSeconds")):
        code, message = error_of(lambda: sm.create_training_job(
            TrainingJobName="t1", StoppingCondition=stopping, EnableManagedSpotTraining=spot,
            **job))
        assert code == "ValidationException" and says in message, message
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []
    sm.create_training_job(TrainingJobName="t1", EnableManagedSpotTraining=True, StoppingCondition={
        "MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 3600}, **job)


def serverless_variant(memory: int = 2048, **extra) -> dict:
    return {"VariantName": "AllTraffic", "ModelName": "m1",
            "ServerlessConfig": {"MemorySizeInMB": memory, "MaxConcurrency": 5}, **extra}


def test_serverless_configs_follow_the_serverless_rules(url):
    sm = client(url, "sagemaker")
    sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"})
    provisioned = serverless_variant()
    provisioned["ServerlessConfig"]["ProvisionedConcurrency"] = 6
    second = {**serverless_variant(), "VariantName": "b"}
    for variants, says in (
            ([serverless_variant(1500)], "must be one of 1024"),
            ([serverless_variant(InstanceType="ml.m5.large")], "both ServerlessConfig"),
            ([provisioned], "less than or equal to MaxConcurrency"),
            ([serverless_variant(), second], "one production variant")):
        code, message = error_of(lambda: sm.create_endpoint_config(
            EndpointConfigName="s1", ProductionVariants=variants))
        assert code == "ValidationException" and says in message, message
    sm.create_endpoint_config(EndpointConfigName="s1", ProductionVariants=[serverless_variant()])


def test_an_instance_based_endpoint_cannot_become_serverless(url):
    sm = client(url, "sagemaker")
    endpoint_with(sm, "c2", 1)
    sm.create_endpoint_config(EndpointConfigName="s1", ProductionVariants=[serverless_variant()])
    code, message = error_of(lambda: sm.update_endpoint(
        EndpointName="e1", EndpointConfigName="s1", DeploymentConfig=blue_green(1800, 0, 0)))
    assert code == "ValidationException" and "instance-based" in message, message
    # A serverless endpoint updates blue/green, never rolling.
    sm.create_endpoint_config(EndpointConfigName="s2",
                              ProductionVariants=[serverless_variant(3072)])
    sm.create_endpoint(EndpointName="e2", EndpointConfigName="s1")
    wait_in_service(sm, "e2")
    code, message = error_of(lambda: sm.update_endpoint(
        EndpointName="e2", EndpointConfigName="s2", DeploymentConfig=rolling("INSTANCE_COUNT", 1)))
    assert code == "ValidationException" and "RollingUpdatePolicy" in message, message
    sm.update_endpoint(EndpointName="e2", EndpointConfigName="s2",
                       DeploymentConfig=blue_green(1800, 0, 0))
    assert sm.describe_endpoint(EndpointName="e2")["EndpointStatus"] == "Updating"


# --- SNS (query) ---------------------------------------------------------------------


def sent(url) -> list[dict]:
    return requests.get(f"{url}/_emulator/state").json()["sns_messages"]


def test_sns_subject_rules(url):
    sns = client(url, "sns")
    arn = sns.create_topic(Name="t")["TopicArn"]
    for bad in ("S" * 100, "line\nbreak", "tab\there", " leading space", ""):
        code, message = error_of(lambda: sns.publish(TopicArn=arn, Subject=bad, Message="m"))
        assert (code, message) == ("InvalidParameter", "Invalid parameter: Subject"), bad
    sns.publish(TopicArn=arn, Subject="S" * 99, Message="m")
    sns.publish(TopicArn=arn, Subject="[OK] Model MAPE 12.5% - deployed", Message="m")
    assert [m["Subject"] for m in sent(url)] == ["S" * 99, "[OK] Model MAPE 12.5% - deployed"]


def test_sns_message_size_and_target(url):
    sns = client(url, "sns")
    arn = sns.create_topic(Name="t")["TopicArn"]
    code, message = error_of(lambda: sns.publish(TopicArn=arn, Message="x" * 262145))
    assert code == "InvalidParameter"
    code, _ = error_of(lambda: sns.publish(TopicArn=arn, Message=""))
    assert code == "InvalidParameter"
    code, _ = error_of(lambda: sns.publish(Message="m"))
    assert code == "InvalidParameter"
    code, message = error_of(lambda: sns.publish(TopicArn=arn))
    assert code == "ValidationError" and "at 'message'" in message
    sns.publish(TopicArn=arn, Message="x" * 262144)
    assert len(sent(url)) == 1


# --- CloudWatch (RPC v2 CBOR) --------------------------------------------------------


def test_cloudwatch_put_metric_data_rules(url):
    cw = client(url, "cloudwatch")
    code, message = error_of(lambda: cw.put_metric_data(
        Namespace="AWS/Foo", MetricData=[{"MetricName": "m", "Value": 1.0}]))
    assert (code, message) == ("InvalidParameterValue",
                               "The value AWS/Foo for parameter Namespace is invalid.")
    code, _ = error_of(lambda: cw.put_metric_data(
        Namespace="App", MetricData=[{"MetricName": "m", "Value": math.nan}]))
    assert code == "InvalidParameterValue"
    code, message = error_of(lambda: cw.put_metric_data(Namespace="App", MetricData=[{
        "MetricName": "m", "Value": 1.0,
        "Dimensions": [{"Name": f"d{i}", "Value": "v"} for i in range(31)]}]))
    assert code == "InvalidParameterValue" and "metricData.1.member.dimensions" in message
    code, _ = error_of(lambda: cw.put_metric_data(
        Namespace="App", MetricData=[{"MetricName": "m", "Value": float(i)} for i in range(1001)]))
    assert code == "InvalidParameterValue"
    code, message = error_of(lambda: cw.put_metric_data(
        Namespace="App", MetricData=[{"Value": 1.0}]))
    assert (code, message) == ("MissingParameter",
                               "The parameter MetricData.member.1.MetricName is required.")
    cw.put_metric_data(Namespace="App", MetricData=[
        {"MetricName": "mape", "Value": 12.5, "Unit": "Percent",
         "Dimensions": [{"Name": "Model", "Value": "m1"}]}])
    state = requests.get(f"{url}/_emulator/state").json()["cloudwatch_metric_data"]
    assert [d["MetricName"] for d in state] == ["mape"]


@pytest.mark.parametrize("value", [1e-109, -1e-109, 2e108, -2e108, math.inf, math.nan])
def test_cloudwatch_metric_values_out_of_range_are_refused(url, value):
    cw = client(url, "cloudwatch")
    code, message = error_of(lambda: cw.put_metric_data(
        Namespace="App", MetricData=[{"MetricName": "m", "Value": value}]))
    assert code == "InvalidParameterValue" and "MetricData.member.1.Value" in message
    code, message = error_of(lambda: cw.put_metric_data(
        Namespace="App", MetricData=[{"MetricName": "m", "Values": [1.0, value]}]))
    assert code == "InvalidParameterValue" and "MetricData.member.1.Values.member.2" in message


def test_cloudwatch_metric_values_in_range_pass(url):
    cw = client(url, "cloudwatch")
    values = [0.0, 8.52e-109, -8.52e-109, 1.17e108, -1.17e108, 12.5]
    cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "m", "Value": v}
                                                    for v in values])
    state = requests.get(f"{url}/_emulator/state").json()["cloudwatch_metric_data"]
    assert len(state) == len(values)


def cbor_put_metric_data(url, timestamp) -> requests.Response:
    """PutMetricData as aws-sdk-cloudwatch (Rust) sends it: RPC v2 CBOR, the timestamp as tag 1."""
    body = cbor2.dumps({"Namespace": "App", "MetricData": [
        {"MetricName": "m", "Value": 1.0, "Timestamp": cbor2.CBORTag(1, timestamp)}]})
    return requests.post(
        f"{url}/service/GraniteServiceVersion20100801/operation/PutMetricData", data=body,
        headers={"Content-Type": "application/cbor", "Accept": "application/cbor",
                 "smithy-protocol": "rpc-v2-cbor", "Authorization": AUTH.format("monitoring")})


def test_cloudwatch_metric_timestamps_within_two_weeks_and_two_hours(url):
    now = time.time()
    for stamp, words in ((now - 15 * 86400, "two weeks in the past"),
                         (now + 3 * 3600, "two hours in the future")):
        r = cbor_put_metric_data(url, stamp)
        error = cbor2.loads(r.content)
        assert r.status_code == 400, error
        assert error["__type"] == "InvalidParameterValue", error
        assert "MetricData.member.1.Timestamp" in error["message"] and words in error["message"]
        assert r.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    for stamp in (now - 13 * 86400, now + 3600, now):
        r = cbor_put_metric_data(url, stamp)
        assert r.status_code == 200, cbor2.loads(r.content)
    cw = client(url, "cloudwatch")  # boto3's protocol too
    code, _ = error_of(lambda: cw.put_metric_data(Namespace="App", MetricData=[
        {"MetricName": "m", "Value": 1.0, "Timestamp": now - 20 * 86400}]))
    assert code == "InvalidParameterValue"


def test_cloudwatch_put_metric_alarm_rules(url):
    cw = client(url, "cloudwatch")
    alarm = dict(AlarmName="a", MetricName="mape", Namespace="App", Statistic="Maximum",
                 Period=60, EvaluationPeriods=1, Threshold=20.0,
                 ComparisonOperator="GreaterThanThreshold")
    code, message = error_of(lambda: cw.put_metric_alarm(**{**alarm, "Period": 45}))
    assert code == "InvalidParameterValue"
    code, message = error_of(lambda: cw.put_metric_alarm(
        **{**alarm, "ComparisonOperator": "Bigger"}))
    assert code == "InvalidParameterValue" and "enum value set" in message
    code, _ = error_of(lambda: cw.put_metric_alarm(**{**alarm, "ExtendedStatistic": "p90"}))
    assert code == "InvalidParameterCombination"
    cw.put_metric_alarm(**alarm)
    assert cw.describe_alarms()["MetricAlarms"][0]["AlarmName"] == "a"


# --- S3 (rest-xml) ---------------------------------------------------------------------


def test_s3_key_and_bucket_rules(url):
    s3 = client(url, "s3")
    s3.create_bucket(Bucket="data-bucket.1")
    code, message = error_of(lambda: s3.put_object(Bucket="data-bucket.1", Key="k" * 1025,
                                                   Body=b"x"))
    assert (code, message) == ("KeyTooLongError", "Your key is too long")
    code, _ = error_of(lambda: s3.put_object(Bucket="data-bucket.1", Key="é" * 513, Body=b"x"))
    assert code == "KeyTooLongError"  # 1026 bytes of UTF-8
    s3.put_object(Bucket="data-bucket.1", Key="k" * 1024, Body=b"x")
    assert s3.get_object(Bucket="data-bucket.1", Key="k" * 1024)["Body"].read() == b"x"
    for bad in ("Upper-Case", "ab", "under_score", "a" * 64, "-dash", "a..b", "192.168.1.1"):
        code, _ = error_of(lambda: s3.create_bucket(Bucket=bad))
        assert code == "InvalidBucketName", bad
    listing = s3.list_objects_v2(Bucket="data-bucket.1", Prefix="k")
    assert listing["KeyCount"] == 1
    with pytest.raises(ClientError) as e:  # HEAD: the status only, as S3 answers
        s3.head_object(Bucket="data-bucket.1", Key="k" * 1025)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
