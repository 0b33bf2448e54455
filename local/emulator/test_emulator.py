"""Tests for emulator.py, talking to a real server process with boto3.

    pip install pytest && pytest -q test_emulator.py
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import tarfile
import time
from datetime import datetime, timezone
from pathlib import Path

import boto3
from conftest import running_emulator
import botocore.model
import cbor2
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT_DELAY = 0.5
ROLE = "arn:aws:iam::123456789012:role/sm"

# The training "container": the job's Environment decides what it does.
TRAINING_SCRIPT = r"""
import json, os, sys, boto3
print("training", os.environ["TRAINING_JOB_NAME"], flush=True)
if os.environ.get("FAIL"):
    print("loss is NaN", file=sys.stderr)
    sys.exit(3)
s3 = boto3.client("s3")  # AWS_ENDPOINT_URL points back at the emulator
data = s3.get_object(Bucket="data", Key="train.csv")["Body"].read().decode()
model_dir = os.environ["SM_MODEL_DIR"]
with open(os.path.join(model_dir, "model.json"), "w") as f:
    json.dump({"rows": len(data.splitlines()), "env": dict(os.environ)}, f)
"""


@pytest.fixture(scope="session")
def url(tmp_path_factory):
    script = tmp_path_factory.mktemp("training") / "train.py"
    script.write_text(TRAINING_SCRIPT)
    with running_emulator({"EMULATOR_TRAINING_COMMAND": f"{sys.executable} {script}",
                           "EMULATOR_ENDPOINT_DELAY": str(ENDPOINT_DELAY)}) as base:
        yield base


@pytest.fixture(autouse=True)
def reset(url):
    requests.post(f"{url}/moto-api/reset")


def client(url: str, service: str, session=None):
    return (session or boto3).client(
        service, endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test")


def wait_for(fn, predicate, timeout=20.0):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if predicate(value) or time.time() > deadline:
            return value
        time.sleep(0.1)


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


# --- training jobs -----------------------------------------------------------

def create_training_job(sm, name, environment):
    return sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": "img:latest", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://models/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
        Environment=environment)


def test_training_job_runs_command_and_uploads_model(url):
    sm, s3 = client(url, "sagemaker"), client(url, "s3")
    s3.create_bucket(Bucket="models")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="train.csv", Body=b"a\nb\nc\n")

    create_training_job(sm, "job1", {"MODEL_FLAVOR": "xgb"})
    first = sm.describe_training_job(TrainingJobName="job1")
    assert first["TrainingJobStatus"] == "InProgress"
    assert first["Environment"] == {"MODEL_FLAVOR": "xgb"}
    assert "ModelArtifacts" not in first

    job = wait_for(lambda: sm.describe_training_job(TrainingJobName="job1"),
                   lambda j: j["TrainingJobStatus"] != "InProgress")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == "s3://models/out/job1/output/model.tar.gz"
    assert job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting", "Training", "Uploading", "Completed"]

    body = s3.get_object(Bucket="models", Key="out/job1/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        model = json.load(tar.extractfile("model.json"))
    assert model["rows"] == 3
    assert model["env"]["MODEL_FLAVOR"] == "xgb"
    assert model["env"]["TRAINING_JOB_NAME"] == "job1"
    assert model["env"]["AWS_ENDPOINT_URL"] == url
    assert model["env"]["AWS_ACCESS_KEY_ID"] == "testing"
    assert model["env"]["SM_MODEL_DIR"].endswith("/model")


def test_training_job_failure_and_duplicate(url):
    sm = client(url, "sagemaker")
    create_training_job(sm, "bad", {"FAIL": "1"})
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName="bad"),
                   lambda j: j["TrainingJobStatus"] != "InProgress")
    assert job["TrainingJobStatus"] == "Failed"
    assert "exit code 3" in job["FailureReason"]
    assert "loss is NaN" in job["FailureReason"]

    code, message = error_of(lambda: create_training_job(sm, "bad", {}))
    assert code == "ResourceInUse"
    assert "already exists" in message


def test_the_failure_reason_keeps_the_lines_that_explain_it():
    from emulator import failure_summary
    traceback = [
        "INFO train: 12 files",
        "Traceback (most recent call last):",
        '  File "/opt/program/train", line 80, in <module>',
        "    main()",
        *[f"  frame {i}" for i in range(40)],
        "KeyError: 'created_date'",
        "During handling of the above exception, another exception occurred:",
        *[f"  cleanup {i}" for i in range(30)],
    ]
    reason = failure_summary(traceback)
    assert reason.startswith("KeyError: 'created_date'"), reason
    assert "cleanup 29" in reason, "the tail follows"
    assert len(reason) <= 1024
    long = ["x" * 5000, "ValueError: " + "y" * 3000]
    assert len(failure_summary(long)) <= 1024
    assert failure_summary([]) == "no output"
    assert failure_summary(["training failed: no ticket files"]).startswith("training failed")


def test_missing_resources_are_not_found(url):
    sm = client(url, "sagemaker")
    for call, fragment in [
        (lambda: sm.describe_endpoint(EndpointName="nope"), "Could not find endpoint"),
        (lambda: sm.describe_training_job(TrainingJobName="nope"), "Could not find training job"),
        (lambda: sm.describe_model_package_group(ModelPackageGroupName="nope"), "does not exist"),
        (lambda: sm.describe_model(ModelName="nope"), "Could not find model"),
        (lambda: sm.describe_endpoint_config(EndpointConfigName="nope"),
         "Could not find endpoint configuration"),
    ]:
        code, message = error_of(call)
        assert code == "ValidationException" and fragment in message, message


# --- models, endpoint configs, endpoints -------------------------------------

def make_model_and_configs(sm):
    sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"ModelPackageName": "arn:aws:sagemaker:us-east-1:"
                                      "123456789012:model-package/g/1"})
    for config in ("c1", "c2"):
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "m1",
            "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])


def test_duplicate_names_fail(url):
    sm = client(url, "sagemaker")
    make_model_and_configs(sm)
    sm.create_endpoint(EndpointName="e1", EndpointConfigName="c1")
    code, message = error_of(lambda: sm.create_model(
        ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"}))
    assert (code, message) == ("ValidationException", 'Cannot create already existing model '
                               '"arn:aws:sagemaker:us-east-1:123456789012:model/m1".')
    code, message = error_of(lambda: sm.create_endpoint_config(
        EndpointConfigName="c1", ProductionVariants=[{
            "VariantName": "v", "ModelName": "m1", "InstanceType": "ml.m5.large"}]))
    assert code == "ValidationException"
    assert message.startswith("Cannot create already existing endpoint configuration")
    code, message = error_of(lambda: sm.create_endpoint(EndpointName="e1", EndpointConfigName="c2"))
    assert code == "ValidationException"
    assert message.startswith("Cannot create already existing endpoint ")
    # the original survived
    assert sm.describe_model(ModelName="m1")["PrimaryContainer"]["ModelPackageName"].endswith("/g/1")


def test_endpoint_create_and_update_pass_through_transient_states(url):
    sm = client(url, "sagemaker")
    make_model_and_configs(sm)
    sm.create_endpoint(EndpointName="e1", EndpointConfigName="c1")
    assert sm.describe_endpoint(EndpointName="e1")["EndpointStatus"] == "Creating"
    code, _ = error_of(lambda: sm.update_endpoint(EndpointName="e1", EndpointConfigName="c2"))
    assert code == "ValidationException"  # cannot update an in-progress endpoint
    endpoint = wait_for(lambda: sm.describe_endpoint(EndpointName="e1"),
                        lambda e: e["EndpointStatus"] == "InService")
    assert endpoint["EndpointStatus"] == "InService"

    arn = sm.update_endpoint(EndpointName="e1", EndpointConfigName="c2")["EndpointArn"]
    assert arn.endswith(":endpoint/e1")
    updating = sm.describe_endpoint(EndpointName="e1")
    assert updating["EndpointStatus"] == "Updating"
    assert updating["EndpointConfigName"] == "c1"
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == "c2"
    endpoint = wait_for(lambda: sm.describe_endpoint(EndpointName="e1"),
                        lambda e: e["EndpointStatus"] == "InService")
    assert endpoint["EndpointConfigName"] == "c2"
    assert "PendingDeploymentSummary" not in endpoint

    code, message = error_of(lambda: sm.update_endpoint(EndpointName="e1", EndpointConfigName="zz"))
    assert code == "ValidationException" and "Could not find endpoint configuration" in message
    code, message = error_of(lambda: sm.update_endpoint(EndpointName="zz", EndpointConfigName="c1"))
    assert code == "ValidationException" and "Could not find endpoint" in message


# --- model packages ----------------------------------------------------------

def test_model_packages(url):
    sm = client(url, "sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="g")
    assert sm.describe_model_package_group(ModelPackageGroupName="g")["ModelPackageGroupName"] == "g"

    def create(token):
        return sm.create_model_package(
            ModelPackageGroupName="g", ClientToken=token,
            CustomerMetadataProperties={"git_sha": "abc", "dataset": "d1"},
            ModelMetrics={"ModelQuality": {"Statistics": {
                "ContentType": "application/json", "S3Uri": "s3://models/stats.json"}}},
            MetadataProperties={"GeneratedBy": "arn:aws:sagemaker:us-east-1:123456789012:"
                                "training-job/job1"},
            InferenceSpecification={
                "Containers": [{"Image": "img:latest",
                                "ModelDataUrl": "s3://models/out/job1/output/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        )["ModelPackageArn"]

    arn1 = create("token-1")
    assert create("token-1") == arn1  # retry with the same ClientToken is idempotent
    time.sleep(0.01)
    arn2 = create("token-2")
    assert arn1.endswith("/g/1") and arn2.endswith("/g/2")

    listed = sm.list_model_packages(ModelPackageGroupName="g", SortBy="CreationTime",
                                    SortOrder="Descending")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [arn2, arn1]

    described = sm.describe_model_package(ModelPackageName=arn1)
    assert described["ModelPackageName"] == "g"
    assert described["ModelApprovalStatus"] == "PendingManualApproval"

    sm.update_model_package(ModelPackageArn=arn1, ModelApprovalStatus="Approved")
    after = sm.describe_model_package(ModelPackageName=arn1)
    assert after["ModelApprovalStatus"] == "Approved"
    for field in ("CustomerMetadataProperties", "ModelMetrics", "MetadataProperties",
                  "InferenceSpecification"):
        assert after[field] == described[field], field

    sm.update_model_package(ModelPackageArn=arn1, CustomerMetadataProperties={"x": "1"},
                            CustomerMetadataPropertiesToRemove=["dataset"])
    after = sm.describe_model_package(ModelPackageName=arn1)
    assert after["CustomerMetadataProperties"] == {"git_sha": "abc", "x": "1"}
    assert after["ModelApprovalStatus"] == "Approved"


def test_arns_are_cased_as_aws_cases_them(url):
    sm = client(url, "sagemaker")
    prefix = "arn:aws:sagemaker:us-east-1:123456789012:"
    # Model-package ARNs keep the group's case.
    sm.create_model_package_group(ModelPackageGroupName="Prophet-Models")
    arn = sm.create_model_package(
        ModelPackageGroupName="Prophet-Models",
        InferenceSpecification={"Containers": [{"Image": "img:1"}],
                                "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    assert arn == prefix + "model-package/Prophet-Models/1"
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelPackageArn"] == arn
    assert described["ModelPackageGroupName"] == "Prophet-Models"
    listed = sm.list_model_packages(ModelPackageGroupName="Prophet-Models")
    assert [p["ModelPackageArn"] for p in listed["ModelPackageSummaryList"]] == [arn]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"

    # Model, endpoint-config and endpoint ARNs are lower-cased; the names keep their case.
    model_arn = sm.create_model(ModelName="My-Model", ExecutionRoleArn=ROLE,
                                PrimaryContainer={"ModelPackageName": arn})["ModelArn"]
    assert model_arn == prefix + "model/my-model"
    assert sm.describe_model(ModelName="My-Model")["ModelArn"] == model_arn
    config_arn = sm.create_endpoint_config(EndpointConfigName="My-Config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "My-Model", "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])["EndpointConfigArn"]
    assert config_arn == prefix + "endpoint-config/my-config"
    endpoint_arn = sm.create_endpoint(EndpointName="My-Endpoint",
                                      EndpointConfigName="My-Config")["EndpointArn"]
    assert endpoint_arn == prefix + "endpoint/my-endpoint"
    endpoint = sm.describe_endpoint(EndpointName="My-Endpoint")
    assert (endpoint["EndpointArn"], endpoint["EndpointName"]) == (endpoint_arn, "My-Endpoint")
    code, message = error_of(lambda: sm.create_model(
        ModelName="My-Model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"}))
    assert message == f'Cannot create already existing model "{model_arn}".'
    # Tags by the (lower-cased) ARN still find the resource.
    sm.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": "k", "Value": "v"}])
    assert sm.list_tags(ResourceArn=endpoint_arn)["Tags"] == [{"Key": "k", "Value": "v"}]


# --- SNS, S3 and inspection --------------------------------------------------

def test_sns_messages_and_reset(url):
    sns = client(url, "sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.publish(TopicArn=topic, Message=json.dumps({"k": "v"}), Subject="hello",
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}})
    state = requests.get(f"{url}/_emulator/state").json()
    [message] = state["sns_messages"]
    assert message["TopicArn"] == topic and json.loads(message["Message"]) == {"k": "v"}
    assert message["Subject"] == "hello"
    assert message["MessageAttributes"]["kind"]["Value"] == "x"
    # moto's own dump has it too
    data = requests.get(f"{url}/moto-api/data.json").json()
    assert data["sns"]["Topic"][0]["sent_notifications"][0][2] == "hello"

    requests.post(f"{url}/moto-api/reset")
    assert requests.get(f"{url}/_emulator/state").json()["sns_messages"] == []


def test_s3_path_style(url):
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test",
                      config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="bucket")
    s3.put_object(Bucket="bucket", Key="p/a.txt", Body=b"1")
    listed = s3.list_objects_v2(Bucket="bucket", Prefix="p/")["Contents"]
    assert [o["Key"] for o in listed] == ["p/a.txt"]
    assert s3.get_object(Bucket="bucket", Key="p/a.txt")["Body"].read() == b"1"


# --- CloudWatch over Smithy RPC v2 CBOR --------------------------------------

@pytest.fixture
def cbor_cloudwatch(url, monkeypatch):
    """A botocore CloudWatch client that speaks rpc-v2-cbor (boto3 prefers
    awsJson1_0 by default, the Rust SDK uses CBOR)."""
    monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS",
                        ("smithy-rpc-v2-cbor", "json", "query"))
    cw = client(url, "cloudwatch", boto3.session.Session())
    assert cw.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    seen = []
    cw.meta.events.register("before-send", lambda request, **_: seen.append(request))
    cw.seen = seen
    return cw


def test_cloudwatch_cbor_with_botocore(url, cbor_cloudwatch):
    cw = cbor_cloudwatch
    stamp = (int(time.time()) // 60 - 60) * 60  # an hour ago (CloudWatch takes two weeks back)
    cw.put_metric_data(Namespace="App", MetricData=[{
        "MetricName": "Latency", "Value": 12.5, "Unit": "Milliseconds",
        "Dimensions": [{"Name": "Model", "Value": "m1"}], "Timestamp": stamp}])
    request = cw.seen[-1]
    assert request.url.endswith("/service/GraniteServiceVersion20100801/operation/PutMetricData")
    assert request.headers["smithy-protocol"] == b"rpc-v2-cbor"

    cw.put_metric_alarm(AlarmName="a1", Namespace="App", MetricName="Latency",
                        Dimensions=[{"Name": "Model", "Value": "m1"}], Statistic="Average",
                        Period=60, EvaluationPeriods=1, Threshold=100,
                        ComparisonOperator="GreaterThanThreshold")
    [alarm] = cw.describe_alarms(AlarmNames=["a1"])["MetricAlarms"]
    assert alarm["Threshold"] == 100.0 and alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateUpdatedTimestamp"].year >= 2024
    assert cw.list_metrics(Namespace="App")["Metrics"][0]["MetricName"] == "Latency"

    [datum] = requests.get(f"{url}/_emulator/state").json()["cloudwatch_metric_data"]
    assert datum["Dimensions"] == {"Model": "m1"} and datum["Value"] == 12.5
    stored = datetime.fromisoformat(datum["Timestamp"])
    assert (stored if stored.tzinfo else stored.replace(tzinfo=timezone.utc)).timestamp() == stamp

    # large payloads are gzip-compressed by the SDKs
    cw.put_metric_data(Namespace="Big", MetricData=[
        {"MetricName": f"metric-{i:04d}-{'x' * 100}", "Value": float(i)} for i in range(150)])
    assert cw.seen[-1].headers.get("Content-Encoding") == b"gzip"
    assert len(cw.list_metrics(Namespace="Big")["Metrics"]) == 150

    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace="App", MetricData=[{
            "MetricName": "m", "Value": 1.0, "Values": [1.0]}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert e.value.response["Error"]["Message"]


def test_cloudwatch_cbor_raw(url):
    headers = {"Content-Type": "application/cbor", "Accept": "application/cbor",
               "smithy-protocol": "rpc-v2-cbor"}
    path = f"{url}/service/GraniteServiceVersion20100801/operation"
    r = requests.post(f"{path}/DescribeAlarms", data=cbor2.dumps({}), headers=headers)
    assert r.status_code == 200 and r.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert r.headers["Content-Type"] == "application/cbor"
    assert cbor2.loads(r.content)["MetricAlarms"] == []

    r = requests.post(f"{path}/DeleteDashboards",
                      data=cbor2.dumps({"DashboardNames": ["nope"]}), headers=headers)
    error = cbor2.loads(r.content)
    assert r.status_code == 404 and error["__type"] == "ResourceNotFound", error

    body = gzip.compress(cbor2.dumps({"Namespace": "G", "MetricData": [
        {"MetricName": "m", "Value": 1.0}]}))
    r = requests.post(f"{path}/PutMetricData", data=body,
                      headers={**headers, "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.content

# The Rust SDK's CBOR requests are exercised by the integration tests in tests/ (the real workers).


def test_injected_faults_throttle_fail_after_applying_and_delay(url):
    no_retry = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    sm = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing",
                      config=no_retry)
    group = {"ModelPackageGroupName": "g"}
    requests.post(f"{url}/_emulator/faults",
                  json={"operation": "CreateModelPackageGroup", "kind": "throttle", "count": 1})
    with pytest.raises(ClientError) as e:
        sm.create_model_package_group(**group)
    assert e.value.response["Error"]["Code"] == "ThrottlingException"
    with pytest.raises(ClientError):  # not applied: the group does not exist
        sm.describe_model_package_group(**group)

    # A 500 after applying: the caller sees an error, the group exists.
    requests.post(f"{url}/_emulator/faults", json={
        "operation": "CreateModelPackageGroup", "kind": "error", "after": True, "count": 1})
    with pytest.raises(ClientError) as e:
        sm.create_model_package_group(**group)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert sm.describe_model_package_group(**group)["ModelPackageGroupName"] == "g"

    # A delay: answered late, applied.
    requests.post(f"{url}/_emulator/faults", json={
        "operation": "ListModelPackageGroups", "kind": "delay", "seconds": 0.6, "count": 1})
    started = time.monotonic()
    sm.list_model_package_groups()
    assert time.monotonic() - started >= 0.6
    # Spent faults stay listed with how often they fired; a reset clears them.
    listed = requests.get(f"{url}/_emulator/faults").json()
    assert [f["fired"] for f in listed] == [1, 1, 1]
    assert requests.post(f"{url}/_emulator/faults", json={"kind": "nonsense"}).status_code == 400
    requests.post(f"{url}/moto-api/reset")
    assert requests.get(f"{url}/_emulator/faults").json() == []


# --- S3 conditional writes ---------------------------------------------------

def s3_client(url: str):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"total_max_attempts": 1, "mode": "standard"}))


def s3_status(call) -> tuple[int, str]:
    """(HTTP status, error code) of an S3 call; (200, "") when it succeeds."""
    try:
        call()
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    return 200, ""


def test_s3_conditional_writes_answer_412(url):
    s3 = s3_client(url)
    s3.create_bucket(Bucket="lake")
    etag = s3.put_object(Bucket="lake", Key="k", Body=b"1", IfNoneMatch="*")["ETag"]
    assert s3_status(lambda: s3.put_object(Bucket="lake", Key="k", Body=b"2",
                                           IfNoneMatch="*")) == (412, "PreconditionFailed")
    assert s3_status(lambda: s3.put_object(Bucket="lake", Key="k", Body=b"2",
                                           IfMatch='"0123456789abcdef0123456789abcdef"')) == (
        412, "PreconditionFailed")
    assert s3.get_object(Bucket="lake", Key="k")["Body"].read() == b"1"
    s3.put_object(Bucket="lake", Key="k", Body=b"3", IfMatch=etag)
    assert s3.get_object(Bucket="lake", Key="k")["Body"].read() == b"3"


def test_s3_conditional_write_conflict_409_on_demand(url):
    s3 = s3_client(url)
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="other", Body=b"0")
    r = requests.post(f"{url}/_emulator/faults", json={
        "operation": "PutObject", "kind": "conflict", "bucket": "lake", "key": "k", "count": 2})
    assert r.status_code == 200
    # Unconditional writes and other keys are not affected.
    s3.put_object(Bucket="lake", Key="plain", Body=b"x")
    s3.put_object(Bucket="lake", Key="other2", Body=b"x", IfNoneMatch="*")
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket="lake", Key="k", Body=b"1", IfNoneMatch="*")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        assert e.value.response["Error"]["Code"] == "ConditionalRequestConflict"
        assert "conflicting conditional operation" in e.value.response["Error"]["Message"]
    assert s3_status(lambda: s3.head_object(Bucket="lake", Key="k"))[0] == 404  # not applied
    s3.put_object(Bucket="lake", Key="k", Body=b"1", IfNoneMatch="*")  # the retry succeeds
    assert [f["fired"] for f in requests.get(f"{url}/_emulator/faults").json()] == [2]


@pytest.mark.parametrize("slow", [False, True])
def test_s3_concurrent_if_none_match_writes_one_wins(url, slow):
    """Concurrent `If-None-Match: *` PUTs of one key: exactly one succeeds, the others get 412.
    With `slow`, every write waits between moto's precondition check and its commit: without
    the emulator's per-key lock all of them would pass the check."""
    import threading
    s3 = s3_client(url)
    s3.create_bucket(Bucket="lake")
    writers = 8
    if slow:
        requests.post(f"{url}/_emulator/faults", json={
            "operation": "PutObject", "kind": "slow", "seconds": 0.3, "bucket": "lake",
            "key": "lock", "count": writers})
    clients = [s3_client(url) for _ in range(writers)]
    barrier = threading.Barrier(writers)
    results: list[tuple[int, str]] = [(0, "")] * writers

    def write(i: int) -> None:
        barrier.wait()
        results[i] = s3_status(lambda: clients[i].put_object(
            Bucket="lake", Key="lock", Body=f"writer-{i}".encode(), IfNoneMatch="*"))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [i for i, r in enumerate(results) if r == (200, "")]
    assert len(winners) == 1, results
    assert sorted(results)[1:] == [(412, "PreconditionFailed")] * (writers - 1), results
    body = s3.get_object(Bucket="lake", Key="lock")["Body"].read()
    assert body == f"writer-{winners[0]}".encode()
