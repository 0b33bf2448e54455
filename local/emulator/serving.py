"""Endpoints that serve: each endpoint's model runs as a server process, as SageMaker runs the
image's `serve`, and InvokeEndpoint (sagemaker-runtime) reaches it.

  * A model whose container Image resolves to a local image (containers.py) runs as
    `RUNTIME run IMAGE serve`, the archive unpacked read-only at /opt/ml/model and port 8080
    published on 127.0.0.1; otherwise:

  * EMULATOR_SERVING_COMMAND (a shell command) is started for a production variant with the
    model's `model.tar.gz` (its ModelDataUrl, or its model package's) unpacked read-only in a
    temporary directory: SM_MODEL_DIR names it, SAGEMAKER_BIND_TO_PORT the port to serve on
    (SageMaker: /opt/ml/model and 8080), beside the model container's Environment.
  * The variant is up once GET /ping answers 200. One that does not within
    EMULATOR_PING_TIMEOUT seconds (default 30) fails as SageMaker fails it: "The primary
    container for production variant <v> did not pass the ping health check."
  * A fleet stops with SIGTERM, then SIGKILL after EMULATOR_STOP_GRACE seconds (default 5).
  * InvokeEndpoint forwards the body to POST /invocations of the fleet that has the traffic and
    answers as AWS does: the model's body and Content-Type, or 424 ModelError with the model's
    status and message. Each call records AWS/SageMaker Invocations, Invocation4XXErrors,
    Invocation5XXErrors and ModelLatency (microseconds) by EndpointName and VariantName.
  * breached(): whether a rollback alarm's metric breaches its threshold over the data since a
    time (the bake): the statistic over all those datapoints, against the alarm's comparison.
    One evaluation over the bake, not CloudWatch's per-period one; datapoints-to-alarm is not
    modelled.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

import containers
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

from moto.cloudwatch.models import MetricAggregatedDatum, cloudwatch_backends
from moto.core.utils import utcnow
from moto.s3.models import s3_backends

COMMAND_ENV = "EMULATOR_SERVING_COMMAND"
PING_TIMEOUT_ENV = "EMULATOR_PING_TIMEOUT"
STOP_GRACE_ENV = "EMULATOR_STOP_GRACE"
PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
MODEL_DIR_ENV = "SM_MODEL_DIR"
MAX_PAYLOAD = 6 * 1024 * 1024  # InvokeEndpoint's request and response limit
# Serverless inference: "The maximum request and response payload size for serverless
# invocations is 4 MB" (serverless-endpoints-invoke).
MAX_SERVERLESS_PAYLOAD = 4 * 1024 * 1024


def enabled() -> bool:
    """Whether endpoints run servers: a serving command, or a container runtime for images."""
    return bool(os.environ.get(COMMAND_ENV)) or containers.runtime() is not None


@dataclass
class Fleet:
    """One production variant's server: the process, its port and its model directory."""
    endpoint: str
    config: str
    variant: str
    port: int
    model_dir: str
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)
    container: str | None = None  # the container's name when the model runs as an image
    exit_code: int | None = None  # once stopped: 0 or 143 took SIGTERM, 137 needed SIGKILL
    serverless: bool = False  # a ServerlessConfig variant: its own payload limit

    def ping(self) -> bool:
        try:
            status, _, _ = _http(self.port, "GET", "/ping", b"", {}, timeout=2)
            return status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM to the server's process group (or container), SIGKILL after the grace
        period."""
        if self.container is not None:
            if self.process.poll() is None:
                containers.stop(self.container)
            try:
                self.exit_code = self.process.wait(containers.stop_grace() + 10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.exit_code = self.process.wait()
            with _LOCK:
                _STOPPED.append({"EndpointName": self.endpoint, "Container": self.container,
                                 "ExitCode": self.exit_code})
            sys.stderr.write(f"[serving {self.endpoint}/{self.variant}] container "
                             f"{self.container} stopped: exit code {self.exit_code}\n")
            shutil.rmtree(self.model_dir, ignore_errors=True)
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(float(os.environ.get(STOP_GRACE_ENV, "5")))
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait()
        shutil.rmtree(self.model_dir, ignore_errors=True)


# Endpoint name -> the fleet its traffic goes to; every fleet started, to stop them all.
_TRAFFIC: dict[str, Fleet] = {}
_ALL: list[Fleet] = []
_LOCK = threading.RLock()
# Each serving container stopped, with its exit code (GET /_emulator/state).
_STOPPED: list[dict[str, Any]] = []


def stopped_containers() -> list[dict[str, Any]]:
    with _LOCK:
        return list(_STOPPED)


def route(endpoint: str, fleet: Fleet | None) -> None:
    with _LOCK:
        if fleet is None:
            _TRAFFIC.pop(endpoint, None)
        else:
            _TRAFFIC[endpoint] = fleet


def serving(endpoint: str) -> Fleet | None:
    with _LOCK:
        return _TRAFFIC.get(endpoint)


def stop_all() -> None:
    with _LOCK:
        fleets = list(_ALL)
        _ALL.clear()
        _TRAFFIC.clear()
    threads = [threading.Thread(target=f.stop) for f in fleets]  # in parallel: each has a grace
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with _LOCK:
        _STOPPED.clear()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(port: int, method: str, path: str, body: bytes, headers: dict[str, str],
          timeout: float) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def model_data_url(backend: Any, model_name: str) -> tuple[str | None, dict[str, str]]:
    """The model's artifact (its container's ModelDataUrl, or its model package's) and its
    container Environment."""
    url, env, _ = model_container(backend, model_name)
    return url, env


def model_container(backend: Any, model_name: str
                    ) -> tuple[str | None, dict[str, str], str | None]:
    """The model's artifact, container Environment and Image: its container's, or (a model made
    from a model package) its package's first inference container's."""
    model = backend.describe_model(model_name)
    container = model.primary_container or (model.containers or [{}])[0] or {}
    env = dict(container.get("Environment") or {})
    url = container.get("ModelDataUrl")
    image = container.get("Image")
    package = container.get("ModelPackageName")
    if package:
        for p in backend.model_packages.values():
            if package in (p.arn, p.model_package_name):
                spec = p.inference_specification or {}
                first = (spec.get("Containers") or [{}])[0]
                url = url or first.get("ModelDataUrl")
                image = image or first.get("Image")
                env = {**(first.get("Environment") or {}), **env}
    return url, env, image


def _unpack(account_id: str, url: str, into: str) -> None:
    parsed = urlparse(url)
    obj = s3_backends[account_id]["aws"].get_object(parsed.netloc, parsed.path.lstrip("/"))
    with tarfile.open(fileobj=io.BytesIO(obj.value), mode="r:*") as tar:
        tar.extractall(into, filter="data")
    for root, dirs, files in os.walk(into):  # read-only, as SageMaker mounts it
        for name in files:
            os.chmod(os.path.join(root, name), stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def _pump(fleet: Fleet, stream: Any) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace")
        fleet.log.append(line)
        del fleet.log[:-200]
        sys.stderr.write(f"[serving {fleet.endpoint}/{fleet.variant}] {line}")
        sys.stderr.flush()


def start(account_id: str, backend: Any, endpoint: str, config_name: str) -> Fleet | str:
    """Start the config's (first) variant and wait for /ping: the fleet, or why it failed as
    SageMaker words it."""
    config = backend.describe_endpoint_config(config_name)
    variant = config["ProductionVariants"][0]
    name = variant["VariantName"]
    failed = (f"The primary container for production variant {name} did not pass the ping "
              "health check. Please check CloudWatch logs for this endpoint.")
    model_dir = tempfile.mkdtemp(prefix=f"sm-model-{endpoint}-")
    try:
        url, env, image_uri = model_container(backend, variant["ModelName"])
        if not url:
            raise ValueError(f"model {variant['ModelName']} has no ModelDataUrl")
        _unpack(account_id, url, model_dir)
    except Exception as e:  # noqa: BLE001: any failure to fetch is the variant's failure
        shutil.rmtree(model_dir, ignore_errors=True)
        return f"Failed to download model data for production variant {name}: {e}"
    port = _free_port()
    image = containers.local_image(image_uri)
    container = None
    if image:
        container = containers.container_name("endpoint", endpoint)
        process = subprocess.Popen(
            containers.serving_command(image, container, model_dir, port, env),
            cwd=model_dir, start_new_session=True, env=containers.process_env(env),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    elif os.environ.get(COMMAND_ENV):
        process = subprocess.Popen(
            os.environ[COMMAND_ENV], shell=True, cwd=model_dir, start_new_session=True,
            env={**os.environ, **env, MODEL_DIR_ENV: model_dir, PORT_ENV: str(port)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    else:
        shutil.rmtree(model_dir, ignore_errors=True)
        return (f"Failed to pull the image for production variant {name}: {image_uri} is not "
                "an image of this machine (EMULATOR_IMAGES maps image URIs to local images).")
    fleet = Fleet(endpoint, config_name, name, port, model_dir, process, container=container,
                  serverless=bool(variant.get("ServerlessConfig")))
    with _LOCK:
        _ALL.append(fleet)
    threading.Thread(target=_pump, args=(fleet, process.stdout), daemon=True).start()
    deadline = time.monotonic() + float(os.environ.get(PING_TIMEOUT_ENV, "30"))
    while time.monotonic() < deadline and process.poll() is None:
        if fleet.ping():
            return fleet
        time.sleep(0.1)
    fleet.stop()
    return failed


# ---------------------------------------------------------------------------
# InvokeEndpoint
# ---------------------------------------------------------------------------


def _error(status: int, code: str, message: str, extra: dict[str, Any] | None = None
           ) -> tuple[int, dict[str, str], bytes]:
    body = {"message": message, **(extra or {})}
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, \
        json.dumps(body).encode()


def _metrics(account_id: str, region: str, endpoint: str, variant: str, status: int | None,
             latency_us: float) -> None:
    dims = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    ok = status is not None
    data = [
        {"MetricName": "Invocations", "Value": 1.0, "Dimensions": dims},
        {"MetricName": "Invocation4XXErrors",
         "Value": float(ok and 400 <= status < 500), "Dimensions": dims},
        {"MetricName": "Invocation5XXErrors",
         "Value": float(not ok or status >= 500), "Dimensions": dims},
        {"MetricName": "ModelLatency", "Value": latency_us, "Dimensions": dims,
         "Unit": "Microseconds"},
    ]
    cloudwatch_backends[account_id][region].put_metric_data("AWS/SageMaker", data)


def invoke(account_id: str, region: str, endpoint: str, endpoint_status: str | None,
           body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """InvokeEndpoint's answer, as sagemaker-runtime gives it."""
    fleet = serving(endpoint)
    if endpoint_status is None or fleet is None or endpoint_status not in (
            "InService", "Updating", "SystemUpdating", "RollingBack"):
        return _error(400, "ValidationError",
                      f"Endpoint {endpoint} of account {account_id} not found.")
    if len(body) > (MAX_SERVERLESS_PAYLOAD if fleet.serverless else MAX_PAYLOAD):
        return _error(413, "ValidationError", "Request payload is too large")
    started = time.monotonic()
    try:
        status, model_headers, answer = _http(fleet.port, "POST", "/invocations", body,
                                              headers, timeout=60)
    except OSError as e:
        _metrics(account_id, region, endpoint, fleet.variant, None,
                 (time.monotonic() - started) * 1e6)
        return _error(424, "ModelError",
                      f"Received server error (0) from {fleet.variant} with message "
                      f"\"{e}\". See the emulator's log for this endpoint.",
                      {"OriginalStatusCode": 0, "OriginalMessage": str(e)})
    latency = (time.monotonic() - started) * 1e6
    _metrics(account_id, region, endpoint, fleet.variant, status, latency)
    if fleet.serverless and len(answer) > MAX_SERVERLESS_PAYLOAD:
        return _error(424, "ModelError",
                      f"Received server error (0) from {fleet.variant} with message \"The "
                      "response payload exceeds the 4 MB limit of serverless inference\".",
                      {"OriginalStatusCode": 0,
                       "OriginalMessage": "response payload over 4 MB"})
    if status >= 400:
        kind = "server" if status >= 500 else "client"
        text = answer.decode("utf-8", errors="replace")[:1024]
        return _error(424, "ModelError",
                      f"Received {kind} error ({status}) from {fleet.variant} with message "
                      f"\"{text}\". See the emulator's log for this endpoint.",
                      {"OriginalStatusCode": status, "OriginalMessage": text})
    out = {"Content-Type": model_headers.get("content-type", "application/octet-stream"),
           "x-Amzn-Invoked-Production-Variant": fleet.variant}
    return 200, out, answer


# ---------------------------------------------------------------------------
# Rollback alarms over the bake
# ---------------------------------------------------------------------------


_COMPARE = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def _statistic(values: list[tuple[float, float, float, float]], name: str) -> float | None:
    """values: (sum, min, max, count) per datum."""
    if not values:
        return None
    total = sum(v[0] for v in values)
    count = sum(v[3] for v in values)
    return {"Sum": total, "SampleCount": count, "Average": total / count if count else None,
            "Minimum": min(v[1] for v in values), "Maximum": max(v[2] for v in values)}.get(name)


def breached(account_id: str, region: str, alarm_name: str, since: datetime) -> str | None:
    """The alarm's reason when its metric breaches over the data since `since`, else None."""
    backend = cloudwatch_backends[account_id][region]
    alarm = backend.alarms.get(alarm_name)
    if alarm is None or not alarm.metric_name:
        return None
    dims = {(d.name, d.value) for d in alarm.dimensions}
    values = []
    for m in backend.get_all_metrics():
        ts = m.timestamp
        if isinstance(ts, str):
            ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        if ts.tzinfo is not None:
            ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
        if (m.namespace != alarm.namespace or m.name != alarm.metric_name
                or {(d.name, d.value) for d in m.dimensions} != dims or ts < since):
            continue
        if isinstance(m, MetricAggregatedDatum):
            values.append((m.sum_stat, m.min_stat, m.max_stat, m.sample_count))
        else:
            values.append((m.value, m.value, m.value, 1.0))
    value = _statistic(values, alarm.statistic or "Average")
    compare = _COMPARE.get(alarm.comparison_operator)
    if value is None or compare is None or not compare(value, float(alarm.threshold)):
        return None
    return (f"Threshold Crossed: {alarm.statistic} of {alarm.metric_name} since {since:%H:%M:%S} "
            f"was {value:g} ({alarm.comparison_operator} {float(alarm.threshold):g}).")


def trip(account_id: str, region: str, alarm_name: str, reason: str) -> None:
    alarm = cloudwatch_backends[account_id][region].alarms.get(alarm_name)
    if alarm is not None and alarm.state_value != "ALARM":
        alarm.update_state(reason, json.dumps({"emulator": "bake"}), "ALARM")


def now() -> datetime:
    return utcnow()
