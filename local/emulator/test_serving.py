"""Endpoints that serve (serving.py through emulator.py): the model's server started from its
archive, /ping before InService, InvokeEndpoint as sagemaker-runtime answers it, blue/green
with the rollback alarms watched through the bake, SIGTERM on stop."""

from __future__ import annotations

import io
import json
import sys
import tarfile
import time

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import running_emulator
from test_emulator import client, error_of, wait_for

# A model server: its model.json says how it behaves ("ok", "no-ping", "error"); it records
# SIGTERM in a file beside the test's directory.
SERVER = r"""
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
model_dir = os.environ["SM_MODEL_DIR"]
model = json.load(open(os.path.join(model_dir, "model.json")))
def on_term(*_):
    with open(model["term_file"], "a") as f:
        f.write(model["name"] + "\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.send(500 if model["mode"] == "no-ping" else 200, {"model": model["name"]})
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if model["mode"] == "error":
            return self.send(500, {"error": "the model failed"})
        self.send(200, {"model": model["name"], "asked": req,
                        "writable": bool(os.stat(os.path.join(model_dir, "model.json")).st_mode & 0o222)})
HTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), H).serve_forever()
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    script = tmp_path_factory.mktemp("serving") / "serve.py"
    script.write_text(SERVER)
    with running_emulator({"EMULATOR_SERVING_COMMAND": f"{sys.executable} {script}",
                           "EMULATOR_ENDPOINT_DELAY": "0.2", "EMULATOR_BAKE_SECONDS": "3",
                           "EMULATOR_PING_TIMEOUT": "3", "EMULATOR_STOP_GRACE": "2"},
                          drop=("EMULATOR_TEMPLATE",)) as base:
        yield base


@pytest.fixture(autouse=True)
def reset(url):
    requests.post(f"{url}/moto-api/reset")


def model(sm, s3, name: str, mode: str, term_file) -> None:
    buf = io.BytesIO()
    body = json.dumps({"name": name, "mode": mode, "term_file": str(term_file)}).encode()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    s3.put_object(Bucket="models", Key=f"{name}/model.tar.gz", Body=buf.getvalue())
    sm.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
                    PrimaryContainer={"Image": "img:latest",
                                      "ModelDataUrl": f"s3://models/{name}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=f"c-{name}", ProductionVariants=[{
        "VariantName": "primary", "ModelName": name, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])


def clients(url):
    sm, s3 = client(url, "sagemaker"), client(url, "s3")
    s3.create_bucket(Bucket="models")
    return sm, s3, client(url, "sagemaker-runtime"), client(url, "cloudwatch")


def status(sm, name="e"):
    return sm.describe_endpoint(EndpointName=name)


def invoke(runtime, body=None):
    out = runtime.invoke_endpoint(EndpointName="e", ContentType="application/json",
                                  Body=json.dumps(body or {"horizon_days": 7}))
    return out, json.loads(out["Body"].read())


def update(sm, config, alarms=()):
    deployment = {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
        "TerminationWaitInSeconds": 0, "MaximumExecutionTimeoutInSeconds": 1800}}
    if alarms:
        deployment["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return sm.update_endpoint(EndpointName="e", EndpointConfigName=config,
                              DeploymentConfig=deployment)


def in_service(sm):
    return wait_for(lambda: status(sm), lambda e: e["EndpointStatus"] != "Creating"
                    and e["EndpointStatus"] != "Updating" and e["EndpointStatus"] != "RollingBack")


def test_an_endpoint_serves_its_model_after_ping(url, tmp_path):
    sm, s3, runtime, cw = clients(url)
    model(sm, s3, "m1", "ok", tmp_path / "term")
    code, message = error_of(lambda: runtime.invoke_endpoint(EndpointName="e", Body=b"{}"))
    assert (code, message) == ("ValidationError", "Endpoint e of account 123456789012 not found.")
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c-m1")
    assert in_service(sm)["EndpointStatus"] == "InService"
    out, answer = invoke(runtime, {"horizon_days": 3, "start_date": "2026-11-23"})
    assert answer == {"model": "m1", "asked": {"horizon_days": 3, "start_date": "2026-11-23"},
                      "writable": False}  # the model directory is read-only
    assert out["InvokedProductionVariant"] == "primary"
    assert out["ContentType"] == "application/json"
    stats = cw.get_metric_statistics(
        Namespace="AWS/SageMaker", MetricName="Invocations", Statistics=["Sum"], Period=60,
        StartTime=time.time() - 600, EndTime=time.time() + 60,
        Dimensions=[{"Name": "EndpointName", "Value": "e"},
                    {"Name": "VariantName", "Value": "primary"}])
    assert sum(p["Sum"] for p in stats["Datapoints"]) == 1


def test_a_model_that_never_answers_ping_fails_the_endpoint(url, tmp_path):
    sm, s3, runtime, _ = clients(url)
    model(sm, s3, "bad", "no-ping", tmp_path / "term")
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c-bad")
    e = in_service(sm)
    assert e["EndpointStatus"] == "Failed"
    assert e["FailureReason"].startswith(
        "The primary container for production variant primary did not pass the ping health check")
    assert error_of(lambda: invoke(runtime))[0] == "ValidationError"


def test_a_failed_update_leaves_the_old_model_serving(url, tmp_path):
    sm, s3, runtime, _ = clients(url)
    model(sm, s3, "m1", "ok", tmp_path / "term")
    model(sm, s3, "bad", "no-ping", tmp_path / "term")
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c-m1")
    in_service(sm)
    update(sm, "c-bad")
    e = in_service(sm)
    assert (e["EndpointStatus"], e["EndpointConfigName"]) == ("InService", "c-m1")
    assert "did not pass the ping health check" in e["FailureReason"]
    assert invoke(runtime)[1]["model"] == "m1"


def test_blue_green_moves_traffic_then_stops_the_old_fleet_with_sigterm(url, tmp_path):
    sm, s3, runtime, _ = clients(url)
    term = tmp_path / "term"
    model(sm, s3, "m1", "ok", term)
    model(sm, s3, "m2", "ok", term)
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c-m1")
    in_service(sm)
    update(sm, "c-m2")
    baking = wait_for(lambda: status(sm), lambda e: (e.get("PendingDeploymentSummary") or {}).get(
        "ProductionVariants", [{}])[0].get("VariantStatus", [{}])[0].get("Status") == "Baking")
    assert baking["EndpointStatus"] == "Updating"
    assert invoke(runtime)[1]["model"] == "m2"  # all traffic on the new fleet while it bakes
    assert not term.exists()  # the old fleet is kept through the bake
    e = in_service(sm)
    assert (e["EndpointStatus"], e["EndpointConfigName"]) == ("InService", "c-m2")
    assert wait_for(lambda: term.exists() and term.read_text(), bool) == "m1\n"


def test_an_alarm_in_the_bake_rolls_back_to_the_old_model(url, tmp_path):
    sm, s3, runtime, cw = clients(url)
    model(sm, s3, "m1", "ok", tmp_path / "term")
    model(sm, s3, "broken", "error", tmp_path / "term")
    cw.put_metric_alarm(
        AlarmName="e-5xx", Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": "e"},
                    {"Name": "VariantName", "Value": "primary"}],
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
        ComparisonOperator="GreaterThanThreshold")
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c-m1")
    in_service(sm)
    invoke(runtime)  # a 0 before the update is not a breach, and is not counted in the bake
    update(sm, "c-broken", alarms=["e-5xx"])
    wait_for(lambda: status(sm), lambda e: "PendingDeploymentSummary" in e
             and e["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"][0][
                 "Status"] == "Baking")
    with pytest.raises(ClientError) as err:
        invoke(runtime)
    body = err.value.response
    assert body["Error"]["Code"] == "ModelError"
    assert body["OriginalStatusCode"] == 500
    assert "Received server error (500) from primary" in body["Error"]["Message"]
    e = in_service(sm)
    assert (e["EndpointStatus"], e["EndpointConfigName"]) == ("InService", "c-m1")
    alarm = cw.describe_alarms(AlarmNames=["e-5xx"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    assert invoke(runtime)[1]["model"] == "m1"


def test_deleting_an_endpoint_stops_its_server(url, tmp_path):
    sm, s3, runtime, _ = clients(url)
    term = tmp_path / "term"
    model(sm, s3, "m1", "ok", term)
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c-m1")
    in_service(sm)
    sm.delete_endpoint(EndpointName="e")
    assert term.read_text() == "m1\n"
    assert error_of(lambda: invoke(runtime))[0] == "ValidationError"
