"""Training jobs and endpoints that run an image (containers.py through emulator.py and
serving.py), with the probe image (probe-image/: it reports what it was given).

Needs podman and the probe images (tools/image.sh local/emulator/probe-image
localhost/retrain-probe:latest). Without them these tests are skipped, unless
EMULATOR_CONTAINER_TESTS=1 (CI sets it after building the images), where that is a failure.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
import requests
from conftest import running_emulator
from test_emulator import client, wait_for

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "tools" / "image" / "containers.conf"
PROBE = "localhost/retrain-probe:latest"
# What a template names (an ECR URI), mapped to the image built here.
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/probe:latest"
ROLE = "arn:aws:iam::123456789012:role/sm"


def _missing() -> str | None:
    if not shutil.which("podman"):
        return "podman is not installed"
    env = {**os.environ, "CONTAINERS_CONF": str(CONF)}
    if subprocess.run(["podman", "image", "exists", PROBE], env=env).returncode != 0:
        return f"no image {PROBE}: tools/image.sh local/emulator/probe-image {PROBE}"
    return None


@pytest.fixture(scope="module")
def url():
    missing = _missing()
    if missing:
        if os.environ.get("EMULATOR_CONTAINER_TESTS") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    with running_emulator({
        "EMULATOR_CONTAINER_RUNTIME": "podman", "CONTAINERS_CONF": str(CONF),
        "EMULATOR_IMAGES": json.dumps({ECR: PROBE}), "EMULATOR_ENDPOINT_DELAY": "0.2",
        "EMULATOR_PING_TIMEOUT": "8", "EMULATOR_STOP_GRACE": "2",
    }, drop=("EMULATOR_TRAINING_COMMAND", "EMULATOR_SERVING_COMMAND", "EMULATOR_TEMPLATE")
    ) as base:
        yield base


@pytest.fixture(autouse=True)
def reset(url):
    requests.post(f"{url}/moto-api/reset")


def containers_named(part: str) -> list[str]:
    out = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True,
                         text=True, env={**os.environ, "CONTAINERS_CONF": str(CONF)})
    return [n for n in out.stdout.split() if part in n]


def train(sm, name: str, environment: dict[str, str], **extra) -> dict:
    sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": ECR, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://out/jobs"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": extra.pop("max_runtime", 600)},
        Environment=environment, **extra)
    return wait_for(lambda: sm.describe_training_job(TrainingJobName=name),
                    lambda j: j["TrainingJobStatus"] != "InProgress", timeout=90)


def test_a_training_job_runs_the_image_as_sagemaker_lays_it_out(url):
    sm, s3 = client(url, "sagemaker"), client(url, "s3")
    for bucket in ("data", "out"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="data", Key="train/a.csv", Body=b"created_date\n2026-11-01\n")
    s3.put_object(Bucket="data", Key="train/sub/b.csv", Body=b"created_date\n")
    job = train(sm, "probe-layout", {"S3_BUCKET": "data"}, HyperParameters={"epochs": "3"},
                InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": "s3://data/train/",
                    "S3DataDistributionType": "FullyReplicated"}}}])
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == "s3://out/jobs/probe-layout/output/model.tar.gz"
    body = s3.get_object(Bucket="out", Key="jobs/probe-layout/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.getnames() == ["seen.json"]  # /opt/ml/model's files at the archive root
        seen = json.load(tar.extractfile("seen.json"))
    assert seen["argv"][0].endswith("/train")
    env = seen["env"]
    assert env["S3_BUCKET"] == "data"  # the job's Environment
    assert (env["TRAINING_JOB_NAME"], env["AWS_REGION"]) == ("probe-layout", "us-east-1")
    assert env["TRAINING_JOB_ARN"].endswith(":training-job/probe-layout")
    assert env["AWS_ACCESS_KEY_ID"] == "testing"  # the execution role's key in the emulator
    assert not [k for k in env if k.startswith("SM_")]  # the toolkit's names, not SageMaker's
    assert seen["emulator"] == 200  # it reaches the emulator as AWS
    config = {k: json.loads(v) for k, v in seen["config"].items()}
    assert config["hyperparameters.json"] == {"epochs": "3"}
    assert config["resourceconfig.json"]["current_host"] == "algo-1"
    assert config["resourceconfig.json"]["current_instance_type"] == "ml.m5.xlarge"
    assert config["inputdataconfig.json"] == {"train": {
        "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None"}}
    assert seen["data"] == {"train/a.csv": "created_date\n2026-11-01\n",
                            "train/sub/b.csv": "created_date\n"}
    assert seen["dirs"] == ["/opt/ml/input", "/opt/ml/model", "/opt/ml/output"]
    assert containers_named("probe-layout") == []  # --rm: nothing left behind
    assert "probe: wrote /opt/ml/model/seen.json" in job_log(url, "probe-layout")


def job_log(url: str, job: str) -> list[str]:
    """The job's output, where SageMaker puts it."""
    logs = client(url, "logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=f"{job}/")["logStreams"]
    assert [s["logStreamName"].startswith(f"{job}/algo-1-") for s in streams] == [True]
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                 logStreamName=streams[0]["logStreamName"])["events"]
    return [e["message"] for e in events]


def test_a_failing_image_gives_its_failure_file_as_the_reason(url):
    sm, s3 = client(url, "sagemaker"), client(url, "s3")
    s3.create_bucket(Bucket="out")
    job = train(sm, "probe-fails", {"PROBE": "fail"})
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        "AlgorithmError: exit code 1: ProbeError: the probe image failed as asked")
    assert "ModelArtifacts" not in job or not job["ModelArtifacts"].get("S3ModelArtifacts")
    assert job_log(url, "probe-fails") == ["probe: failing as asked (PROBE=fail)"]


def test_max_runtime_stops_the_container(url):
    sm, s3 = client(url, "sagemaker"), client(url, "s3")
    s3.create_bucket(Bucket="out")
    job = train(sm, "probe-sleeps", {"PROBE": "sleep"}, max_runtime=3)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert containers_named("probe-sleeps") == []


def model(sm, s3, name: str, environment: dict[str, str] | None = None) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("weights.bin")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    s3.put_object(Bucket="models", Key=f"{name}/model.tar.gz", Body=buf.getvalue())
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": ECR, "ModelDataUrl": f"s3://models/{name}/model.tar.gz",
        "Environment": environment or {}})
    sm.create_endpoint_config(EndpointConfigName=f"c-{name}", ProductionVariants=[{
        "VariantName": "primary", "ModelName": name, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])


def settled(sm, name: str) -> dict:
    return wait_for(lambda: sm.describe_endpoint(EndpointName=name),
                    lambda e: e["EndpointStatus"] not in ("Creating", "Updating"), timeout=40)


def stopped(url: str, endpoint: str) -> list[int]:
    state = requests.get(f"{url}/_emulator/state").json()
    return [c["ExitCode"] for c in state["containers_stopped"] if c["EndpointName"] == endpoint]


def test_an_endpoint_serves_the_image_on_8080_with_the_model_read_only(url):
    sm, s3, runtime = client(url, "sagemaker"), client(url, "s3"), client(url, "sagemaker-runtime")
    s3.create_bucket(Bucket="models")
    model(sm, s3, "m1", {"MODEL_SETTING": "x"})
    sm.create_endpoint(EndpointName="served", EndpointConfigName="c-m1")
    assert settled(sm, "served")["EndpointStatus"] == "InService"
    out = runtime.invoke_endpoint(EndpointName="served", ContentType="application/json",
                                  Body=b'{"horizon_days": 2}')
    answer = json.loads(out["Body"].read())
    assert answer["body"] == '{"horizon_days": 2}'
    assert answer["argv"][0].endswith("/serve")
    assert answer["model"] == ["weights.bin"] and answer["model_writable"] is False
    assert answer["env"]["MODEL_SETTING"] == "x"
    # SageMaker's port, not the proving ground's variable.
    assert "SAGEMAKER_BIND_TO_PORT" not in answer["env"] and "SM_MODEL_DIR" not in answer["env"]
    assert len(containers_named("served")) == 1
    sm.delete_endpoint(EndpointName="served")
    wait_for(lambda: stopped(url, "served"), bool, timeout=20)
    assert stopped(url, "served") == [0]  # it took SIGTERM
    assert containers_named("served") == []


def test_a_server_that_ignores_sigterm_is_killed_after_the_grace(url):
    sm, s3 = client(url, "sagemaker"), client(url, "s3")
    s3.create_bucket(Bucket="models")
    model(sm, s3, "deaf", {"PROBE": "ignore-sigterm"})
    sm.create_endpoint(EndpointName="deaf", EndpointConfigName="c-deaf")
    assert settled(sm, "deaf")["EndpointStatus"] == "InService"
    started = time.monotonic()
    sm.delete_endpoint(EndpointName="deaf")
    wait_for(lambda: stopped(url, "deaf"), bool, timeout=20)
    assert stopped(url, "deaf") == [137]  # SIGKILL
    assert time.monotonic() - started >= 2  # after EMULATOR_STOP_GRACE


def test_an_image_that_never_answers_ping_fails_the_update_and_the_old_model_serves(url):
    sm, s3, runtime = client(url, "sagemaker"), client(url, "s3"), client(url, "sagemaker-runtime")
    s3.create_bucket(Bucket="models")
    model(sm, s3, "good")
    model(sm, s3, "mute", {"PROBE": "no-ping"})
    sm.create_endpoint(EndpointName="bg", EndpointConfigName="c-good")
    assert settled(sm, "bg")["EndpointStatus"] == "InService"
    sm.update_endpoint(EndpointName="bg", EndpointConfigName="c-mute")
    e = settled(sm, "bg")
    assert (e["EndpointStatus"], e["EndpointConfigName"]) == ("InService", "c-good")
    assert "did not pass the ping health check" in e["FailureReason"]
    out = runtime.invoke_endpoint(EndpointName="bg", ContentType="application/json", Body=b"{}")
    assert json.loads(out["Body"].read())["env"]["PROBE"] == ""  # the good model answers
    assert len(containers_named("bg")) == 1  # the new container was stopped, the old serves

    sm.create_endpoint(EndpointName="never", EndpointConfigName="c-mute")
    e = settled(sm, "never")
    assert e["EndpointStatus"] == "Failed"
    assert e["FailureReason"].startswith(
        "The primary container for production variant primary did not pass the ping health check")
