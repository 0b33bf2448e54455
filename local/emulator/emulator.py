"""AWS emulator for local tests: moto server + a few AWS-like behaviours.

Run:
    python emulator.py -H 127.0.0.1 -p 5000

Everything moto offers stays available (same process, same backends, same
/moto-api/* endpoints).  On top of moto 5.2.5 this module adds:

SageMaker
  * CreateTrainingJob keeps `Environment`, starts `InProgress` and runs
    $EMULATOR_TRAINING_COMMAND (a shell command) in a background thread with
    the environment a SageMaker container would get.  Exit 0: the model dir is
    tarred to <S3OutputPath>/<job>/output/model.tar.gz in moto's S3 and the job
    is `Completed`; otherwise `Failed` with the output tail as FailureReason.
    No command configured: the job completes with an empty model.tar.gz.
    A TrainingImage that resolves to a local image (containers.py:
    EMULATOR_CONTAINER_RUNTIME, EMULATOR_IMAGES) runs as `podman run IMAGE train`
    with /opt/ml laid out as SageMaker does, instead of the command. Either
    way the output goes to CloudWatch Logs, /aws/sagemaker/TrainingJobs.
  * A duplicate training job name fails with ResourceInUse; duplicate model,
    endpoint config and endpoint names fail with ValidationException
    "Cannot create already existing ...".
  * CreateEndpoint goes Creating -> InService, UpdateEndpoint (missing in moto)
    goes Updating -> InService with the new config, each after
    $EMULATOR_ENDPOINT_DELAY seconds (default 1).
  * UpdateModelPackage keeps the fields that are not passed; CreateModelPackage
    honours ClientToken (idempotent) and defaults a versioned package to
    PendingManualApproval; DescribeModelPackage returns ModelPackageName for
    versioned packages (the group name), as AWS does.
  * ARNs as AWS spells them: model, endpoint-config, endpoint and training-job
    ARNs carry the name lower-cased (moto keeps the case); a versioned
    model package's ARN keeps the group's case (moto lower-cases it):
    model-package/Prophet-Models/1.
CloudWatch
  * New alarms start in INSUFFICIENT_DATA, as on AWS (moto: OK).
  * Smithy RPC v2 CBOR (used by aws-sdk-cloudwatch for Rust >= 1.100): requests
    to /service/GraniteServiceVersion20100801/operation/<Op> are translated to
    moto's awsJson1_0 CloudWatch API and the answer back to CBOR.
Step Functions
  * POST /_emulator/stepfunctions {"url": U} routes the Step Functions API
    (X-Amz-Target: AWSStepFunctions.*) to the local Step Functions at U (the
    Rust harness runs the executions) once a request has passed the IAM and
    parameter checks; without a route, moto answers.
S3
  * Writes of one key (PutObject, CopyObject, CompleteMultipartUpload,
    DeleteObject) are serialized, so a conditional write is atomic: of two
    concurrent `If-None-Match: *` PUTs one succeeds, the other gets 412
    PreconditionFailed (moto answers the 412s; its check-then-store was racy).
Faults
  * POST /_emulator/faults {"operation", "kind": throttle|error|delay, "after",
    "count", "seconds"}: the next `count` requests of that operation (after
    the IAM and parameter checks) are throttled, answered 500 (before or after
    being applied), or answered `seconds` late; GET lists them and how many
    fired.  Reset with POST /moto-api/reset.
  * S3, with optional "bucket" and "key": kind "conflict": the next `count`
    conditional writes (If-None-Match / If-Match) of that operation on the key
    answer 409 ConditionalRequestConflict, not applied, as S3 answers when a
    conflicting write is in flight (clients retry); kind "slow": the next
    `count` writes wait `seconds` between moto's precondition check and the
    commit, holding the key (a slow upload; shows the writes are serialized).
Inspection
  * GET /_emulator/state: JSON with every SNS message published, every
    CloudWatch datum put (all accounts/regions) and every endpoint deployment
    (CreateEndpoint / UpdateEndpoint accepted).  Reset with POST /moto-api/reset.

Environment variables:
  EMULATOR_TRAINING_COMMAND  shell command run for each training job
  EMULATOR_ENDPOINT_DELAY    seconds an endpoint stays Creating/Updating (1.0)
  EMULATOR_URL               URL handed to training jobs as AWS_ENDPOINT_URL
                             (default http://<host>:<port> of this server)
"""

from __future__ import annotations

import argparse
import atexit
import base64
import collections
import copy
import functools
import gzip
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import urlparse

import botocore.session
import cbor2
from botocore.model import OperationNotFoundError
from botocore.utils import parse_timestamp
from moto.cloudwatch.models import (
    CloudWatchBackend,
    MetricAggregatedDatum,
    cloudwatch_backends,
)
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3.models import S3Backend, s3_backends
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import (
    FakeEndpoint,
    FakeEndpointConfig,
    FakeTrainingJob,
    ModelPackage,
    SageMakerModelBackend,
)
from moto.sagemaker.responses import SageMakerResponse
import moto.sagemaker.models as sagemaker_models
import moto.sagemaker.utils as sagemaker_utils
from moto.logs.models import logs_backends
from moto.sns.models import sns_backends
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import run_simple

import authorize
import awsrequest
import containers
import serving
import validate

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
# Lock for state changes that must be atomic against request threads.
_LOCK = threading.RLock()


def _endpoint_delay() -> float:
    return float(os.environ.get("EMULATOR_ENDPOINT_DELAY", "1.0"))


def _later(delay: float, fn: Callable[[], None]) -> None:
    timer = threading.Timer(delay, fn)
    timer.daemon = True
    timer.start()


def _patch(cls: type, name: str) -> Callable[[Callable], Callable]:
    """Decorator: replace cls.name by the decorated function, which receives
    the original as its first argument."""

    def decorator(fn: Callable) -> Callable:
        original = getattr(cls, name, None)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(original, *args, **kwargs)

        setattr(cls, name, wrapper)
        return wrapper

    return decorator


# ---------------------------------------------------------------------------
# SageMaker: ARNs spelled as AWS spells them
# ---------------------------------------------------------------------------

# SageMaker lower-cases the name in these ARNs (DescribeEndpoint of MyEndpoint answers
# .../endpoint/myendpoint; IAM matches ARNs case-sensitively); moto keeps the case.
LOWERCASE_ARN_TYPES = frozenset({"model", "endpoint-config", "endpoint", "training-job"})
_moto_arn_formatter = sagemaker_utils.arn_formatter


def arn_formatter(_type: str, _id: str, account_id: str, region_name: str) -> str:
    if _type in LOWERCASE_ARN_TYPES:
        _id = _id.lower()
    return _moto_arn_formatter(_type, _id, account_id, region_name)


# moto's models call the module-level name at call time (FakeEndpoint.arn_formatter and friends
# too), so replacing it there is enough.
sagemaker_utils.arn_formatter = arn_formatter
sagemaker_models.arn_formatter = arn_formatter


@_patch(SageMakerModelBackend, "_get_resource_from_arn")
def _get_resource_from_arn(original: Callable, self: SageMakerModelBackend, arn: str) -> Any:
    """Tags by ARN: the name in a lower-cased ARN finds the resource whatever its case."""
    resource = original(self, arn)
    if resource is None:
        kind, _, name = arn.split(":")[-1].partition("/")
        table = {"model": self._models, "endpoint": self.endpoints,
                 "endpoint-config": self.endpoint_configs,
                 "training-job": self.training_jobs}.get(kind, {})
        resource = next((v for k, v in list(table.items()) if k.lower() == name), None)
    return resource


@_patch(ModelPackage, "__init__")
def _model_package_init(original: Callable, self: ModelPackage, *args: Any, **kwargs: Any) -> None:
    """A versioned package's ARN keeps its group's case (model-package/Prophet-Models/1), as on
    AWS; moto lower-cases it."""
    original(self, *args, **kwargs)
    if self.model_package_version and self.model_package_group_name:
        arn = _moto_arn_formatter(
            "model-package", f"{self.model_package_group_name}/{self.model_package_version}",
            kwargs["account_id"], kwargs["region_name"])
        for status in (self.model_package_status_details or {}).values():
            for item in status:
                if item.get("Name") == self.arn:
                    item["Name"] = arn
        self.arn = arn


# ---------------------------------------------------------------------------
# SageMaker: training jobs that run a local command
# ---------------------------------------------------------------------------


@_patch(SageMakerResponse, "create_training_job")
def _create_training_job(original: Callable, self: SageMakerResponse) -> Any:
    backend = self.sagemaker_backend
    name = self._get_param("TrainingJobName")
    if name in backend.training_jobs:
        arn = FakeTrainingJob.arn_formatter(name, backend.account_id, backend.region_name)
        raise ResourceInUseException(
            "Training job names must be unique within an AWS account and region, "
            f"and a training job with this name already exists ({arn})"
        )
    # moto injects fake MetricDefinitions into this dict: keep the caller's.
    algorithm_specification = copy.deepcopy(self._get_param("AlgorithmSpecification"))
    result = original(self)

    job = backend.training_jobs[name]
    now = utcnow()
    job.algorithm_specification = algorithm_specification
    job.environment = self._get_param("Environment") or {}
    job.enable_managed_spot_training = bool(self._get_param("EnableManagedSpotTraining"))
    job.training_job_status = "InProgress"
    job.secondary_status = "Starting"
    job.secondary_status_transitions = [
        {"Status": "Starting", "StartTime": now, "StatusMessage": "Launching requested ML instances"}
    ]
    # Fields AWS only fills in once the job has run.
    job.model_artifacts = job.training_start_time = job.training_end_time = None
    job.final_metric_data_list = None
    threading.Thread(
        target=_run_training_job, args=(backend.account_id, job), daemon=True,
        name=f"training-{name}",
    ).start()
    return result


def _secondary_status(job: FakeTrainingJob, status: str, message: str) -> None:
    now = utcnow()
    if job.secondary_status_transitions:
        job.secondary_status_transitions[-1].setdefault("EndTime", now)
    job.secondary_status_transitions.append(
        {"Status": status, "StartTime": now, "StatusMessage": message}
    )
    job.secondary_status = status
    job.last_modified_time = now


def _finish_training_job(job: FakeTrainingJob, status: str, secondary: str,
                         message: str, failure_reason: str | None = None) -> None:
    _secondary_status(job, secondary, message)
    job.secondary_status_transitions[-1]["EndTime"] = job.last_modified_time
    job.training_end_time = job.last_modified_time
    if job.training_start_time:
        seconds = max(int((job.training_end_time - job.training_start_time).total_seconds()), 1)
        job.training_time_in_seconds = job.billable_time_in_seconds = seconds
        if getattr(job, "enable_managed_spot_training", False):
            # Managed spot: billed for the spot seconds only (DescribeTrainingJob's
            # BillableTimeInSeconds; savings = 1 - billable / training).
            job.billable_time_in_seconds = max(1, round(seconds * (1 - _spot_savings())))
    if failure_reason:
        job.failure_reason = failure_reason[:1024]  # AWS limit; the explanation comes first
    job.training_job_status = status


# Managed spot training (EnableManagedSpotTraining): EMULATOR_SPOT_CAPACITY says what the spot
# market does to a spot job: "available" (the default), "interrupted" (capacity is taken back once,
# while it trains: SecondaryStatus Interrupted, then it restarts and trains again), "none" (no
# capacity within MaxWaitTimeInSeconds: Stopped / MaxWaitTimeExceeded, after
# EMULATOR_SPOT_WAIT_SECONDS, default 2: the wait compressed). EMULATOR_SPOT_SAVINGS (0.7): the
# share of training seconds not billed.
def _spot_savings() -> float:
    return float(os.environ.get("EMULATOR_SPOT_SAVINGS", "0.7"))


def _spot_capacity(job: FakeTrainingJob) -> bool:
    """Wait for spot capacity as EMULATOR_SPOT_CAPACITY says; False: the job was stopped at its
    max wait."""
    if not getattr(job, "enable_managed_spot_training", False):
        return True
    mode = os.environ.get("EMULATOR_SPOT_CAPACITY", "available")
    if mode == "none":
        _secondary_status(job, "Pending", "Waiting for spot capacity")
        time.sleep(float(os.environ.get("EMULATOR_SPOT_WAIT_SECONDS", "2")))
        _finish_training_job(job, "Stopped", "MaxWaitTimeExceeded",
                             "Training job stopped: MaxWaitTimeInSeconds exceeded.")
        return False
    if mode == "interrupted":
        job.training_start_time = utcnow()
        _secondary_status(job, "Training", "Training in progress on spot capacity.")
        time.sleep(1)
        _secondary_status(job, "Interrupted", "Spot capacity was reclaimed: the job restarts.")
        time.sleep(1)
        _secondary_status(job, "Starting", "Launching requested ML instances (restart)")
    return True


def _container_environment(job: FakeTrainingJob, workdir: str) -> dict[str, str]:
    """What a SageMaker training container sees, with /opt/ml under workdir."""
    region = job.arn.split(":")[3]
    env = dict(os.environ)
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    env.update(FAKE_CREDENTIALS)
    env.update(AWS_REGION=region, AWS_DEFAULT_REGION=region, AWS_ENDPOINT_URL=EMULATOR_URL)
    env.update(job.environment)
    env.update(
        TRAINING_JOB_NAME=job.training_job_name,
        TRAINING_JOB_ARN=job.arn,
        SM_MODEL_DIR=os.path.join(workdir, "model"),
        SM_OUTPUT_DIR=os.path.join(workdir, "output"),
        SM_OUTPUT_DATA_DIR=os.path.join(workdir, "output", "data"),
        SM_INPUT_DIR=os.path.join(workdir, "input"),
        SM_INPUT_CONFIG_DIR=os.path.join(workdir, "input", "config"),
        SM_HPS=json.dumps(job.hyper_parameters or {}),
    )
    return env


def _image_environment(job: FakeTrainingJob) -> dict[str, str]:
    """What SageMaker gives a training container: the job's Environment, its name and ARN, the
    region, and (for the emulator) credentials of the execution role and its endpoint."""
    region = job.arn.split(":")[3]
    return {
        **job.environment, **FAKE_CREDENTIALS,
        "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": EMULATOR_URL,
        "TRAINING_JOB_NAME": job.training_job_name, "TRAINING_JOB_ARN": job.arn,
    }


# Training containers running now (stopped with the emulator).
_TRAINING_CONTAINERS: set[str] = set()


def stop_training_containers() -> None:
    with _LOCK:
        names = list(_TRAINING_CONTAINERS)
    threads = [threading.Thread(target=containers.stop, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _run_training_job(account_id: str, job: FakeTrainingJob) -> None:
    workdir = tempfile.mkdtemp(prefix=f"sm-training-{job.training_job_name}-")
    try:
        for sub in ("model", "output/data", "input/config"):
            os.makedirs(os.path.join(workdir, sub), exist_ok=True)
        image = containers.local_image(
            (job.algorithm_specification or {}).get("TrainingImage"))
        if image:
            containers.write_training_config(workdir, job)
            containers.copy_channels(workdir, job, s3_backends[account_id]["aws"])
        else:
            with open(os.path.join(workdir, "input", "config", "hyperparameters.json"), "w") as f:
                json.dump(job.hyper_parameters or {}, f)

        if not _spot_capacity(job):
            return
        job.training_start_time = job.training_start_time or utcnow()
        _secondary_status(job, "Training", "Training image download completed. Training in progress.")
        command = os.environ.get("EMULATOR_TRAINING_COMMAND")
        max_runtime = (job.stopping_condition or {}).get("MaxRuntimeInSeconds", 86400)
        if image:
            env = _image_environment(job)
            name = containers.container_name("training", job.training_job_name)
            with _LOCK:
                _TRAINING_CONTAINERS.add(name)
            try:
                returncode, tail, output = _run_command(
                    containers.training_command(image, name, workdir, env),
                    containers.process_env(env), workdir, max_runtime, job.training_job_name,
                    stop=lambda: containers.stop(name))
            finally:
                with _LOCK:
                    _TRAINING_CONTAINERS.discard(name)
        elif command:
            returncode, tail, output = _run_command(
                command, _container_environment(job, workdir), workdir, max_runtime,
                job.training_job_name)
        if image or command:
            _job_log(account_id, job, output)
            if returncode is None:
                _finish_training_job(job, "Stopped", "MaxRuntimeExceeded",
                                     "Training job stopped: MaxRuntimeInSeconds exceeded.")
                return
            if returncode != 0:
                failure_file = os.path.join(workdir, "output", "failure")
                reason = tail
                if os.path.exists(failure_file):
                    with open(failure_file, errors="replace") as f:
                        reason = f.read().strip() or tail
                _finish_training_job(
                    job, "Failed", "Failed", "Training job failed",
                    f"AlgorithmError: exit code {returncode}: {reason}",
                )
                return

        _secondary_status(job, "Uploading", "Uploading generated training model")
        artifact = _upload_model(account_id, job, os.path.join(workdir, "model"))
        job.model_artifacts = {"S3ModelArtifacts": artifact}
        _finish_training_job(job, "Completed", "Completed", "Training job completed")
    except Exception as e:  # never leave a job InProgress forever
        _finish_training_job(job, "Failed", "Failed", "Training job failed",
                             f"ClientError: {type(e).__name__}: {e}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_command(command: str | list[str], env: dict[str, str], cwd: str, timeout: float,
                 label: str, stop: Callable[[], Any] | None = None
                 ) -> tuple[int | None, str, list[str]]:
    """Run command (a shell command, or an argv), echo its output to stderr, return (exit code
    or None on timeout, what its output says about a failure, its last 5,000 lines). On timeout `stop` stops it (a container: SIGTERM,
    then SIGKILL), else its process group is killed."""
    proc = subprocess.Popen(
        command, shell=isinstance(command, str), env=env, cwd=cwd, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace",
        start_new_session=True,  # own process group: a timeout kills children too
    )
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        if stop is not None:
            stop()
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    lines: collections.deque[str] = collections.deque(maxlen=5000)
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stderr.write(f"[training {label}] {line}")
        lines.append(line.rstrip("\n"))
    returncode = proc.wait()
    timer.cancel()
    return (None if timed_out.is_set() else returncode), failure_summary(list(lines)), list(lines)


TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def _job_log(account_id: str, job: FakeTrainingJob, lines: list[str]) -> None:
    """The job's output (stdout and stderr) where SageMaker puts it: CloudWatch Logs,
    /aws/sagemaker/TrainingJobs, stream <job>/algo-1-<start epoch>."""
    region = job.arn.split(":")[3]
    logs = logs_backends[account_id][region]
    with _LOCK:
        if TRAINING_LOG_GROUP not in logs.groups:
            logs.create_log_group(TRAINING_LOG_GROUP, tags={})
        start = job.training_start_time or utcnow()
        stream = f"{job.training_job_name}/algo-1-{int(start.timestamp())}"
        logs.ensure_log_stream(TRAINING_LOG_GROUP, stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in lines if line] or \
            [{"timestamp": now, "message": "(no output)"}]
        logs.put_log_events(TRAINING_LOG_GROUP, stream, events)


# `ValueError: ...`, `pandas.errors.EmptyDataError: ...`, `KeyError: 'created_date'`: the line
# a Python traceback ends with; also any line that says error or failed.
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b|Traceback)")
_SAYS_FAILURE = re.compile(r"\b(error|failed|failure|fatal|panicked)\b", re.IGNORECASE)


def failure_summary(lines: list[str], limit: int = 1024) -> str:
    """What a failed job's output says about its failure, within `limit` characters: the lines
    that explain it (exception lines, lines saying error or failed; the last few of them, most
    recent last), then the last lines of output, never the same line twice."""
    explaining = [l for l in lines
                  if (_EXCEPTION_LINE.match(l) and not l.startswith("Traceback"))
                  or _SAYS_FAILURE.search(l)]
    chosen: list[str] = []
    for line in explaining[-4:] + lines[-6:]:
        line = line.strip()
        if line and line not in chosen:
            chosen.append(line)
    out = ""
    for line in chosen:
        piece = line if not out else f" | {line}"
        if len(out) + len(piece) > limit:
            break
        out += piece
    return out or "no output"


def _upload_model(account_id: str, job: FakeTrainingJob, model_dir: str) -> str:
    """tar.gz model_dir (files at the archive root, like SageMaker) into S3."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for entry in sorted(os.listdir(model_dir)):
            tar.add(os.path.join(model_dir, entry), arcname=entry)
    output = urlparse(job.output_data_config["S3OutputPath"])
    prefix = output.path.strip("/")
    key = "/".join(p for p in (prefix, job.training_job_name, "output", "model.tar.gz") if p)
    s3_backends[account_id]["aws"].put_object(output.netloc, key, buffer.getvalue())
    return f"s3://{output.netloc}/{key}"


# ---------------------------------------------------------------------------
# SageMaker: duplicate names fail like on AWS
# ---------------------------------------------------------------------------


def _already_exists(kind: str, arn: str) -> ValidationError:
    return ValidationError(message=f'Cannot create already existing {kind} "{arn}".')


@_patch(SageMakerModelBackend, "create_model")
def _create_model(original: Callable, self: SageMakerModelBackend, model_name: str,
                  *args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        if model_name in self._models:
            raise _already_exists(
                "model", arn_formatter("model", model_name, self.account_id, self.region_name))
        return original(self, model_name, *args, **kwargs)


@_patch(SageMakerModelBackend, "create_endpoint_config")
def _create_endpoint_config(original: Callable, self: SageMakerModelBackend,
                            endpoint_config_name: str, *args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        if endpoint_config_name in self.endpoint_configs:
            raise _already_exists("endpoint configuration", FakeEndpointConfig.arn_formatter(
                endpoint_config_name, self.account_id, self.region_name))
        return original(self, endpoint_config_name, *args, **kwargs)


# ---------------------------------------------------------------------------
# SageMaker: endpoints pass through Creating / Updating
# ---------------------------------------------------------------------------

# Every CreateEndpoint / UpdateEndpoint accepted, in order (GET /_emulator/state): how many
# deployments a run made.
_DEPLOYMENTS: list[dict[str, Any]] = []


@_patch(SageMakerModelBackend, "create_endpoint")
def _create_endpoint(original: Callable, self: SageMakerModelBackend, endpoint_name: str,
                     *args: Any, **kwargs: Any) -> FakeEndpoint:
    with _LOCK:
        if endpoint_name in self.endpoints:
            raise _already_exists("endpoint", FakeEndpoint.arn_formatter(
                endpoint_name, self.account_id, self.region_name))
        endpoint = original(self, endpoint_name, *args, **kwargs)
        endpoint.endpoint_status = "Creating"
        _DEPLOYMENTS.append({"Operation": "CreateEndpoint", "EndpointName": endpoint_name,
                             "EndpointConfigName": endpoint.endpoint_config_name})

    def in_service() -> None:
        with _LOCK:
            endpoint.endpoint_status = "InService"
            endpoint.last_modified_time = utcnow()

    if not serving.enabled():
        _later(_endpoint_delay(), in_service)
        return endpoint

    def start() -> None:  # the model's server, InService once it answers /ping
        fleet = serving.start(self.account_id, self, endpoint_name, endpoint.endpoint_config_name)
        if isinstance(fleet, str):
            with _LOCK:
                endpoint.endpoint_status, endpoint.failure_reason = "Failed", fleet
                endpoint.last_modified_time = utcnow()
            return
        time.sleep(_endpoint_delay())
        serving.route(endpoint_name, fleet)
        in_service()

    threading.Thread(target=start, daemon=True, name=f"endpoint-{endpoint_name}").start()
    return endpoint


def _update_endpoint(self: SageMakerModelBackend, endpoint_name: str,
                     endpoint_config_name: str,
                     deployment_config: dict[str, Any] | None = None) -> str:
    with _LOCK:
        endpoint = self.endpoints.get(endpoint_name)
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint '{arn}'.")
        if endpoint.endpoint_status != "InService":
            raise ValidationError(message=f'Cannot update in-progress endpoint "{arn}".')
        config = self.describe_endpoint_config(endpoint_config_name)  # raises if missing
        _DEPLOYMENTS.append({"Operation": "UpdateEndpoint", "EndpointName": endpoint_name,
                             "EndpointConfigName": endpoint_config_name})
        now = utcnow()
        endpoint.endpoint_status = "Updating"
        endpoint.last_modified_time = now
        endpoint.pending_deployment_summary = {
            "EndpointConfigName": endpoint_config_name,
            "ProductionVariants": [
                {"VariantName": v["VariantName"], "VariantStatus": [
                    {"Status": "Creating", "StartTime": now}]}
                for v in config["ProductionVariants"]
            ],
            "StartTime": now,
        }

    def in_service() -> None:
        with _LOCK:
            endpoint.endpoint_config_name = endpoint_config_name
            endpoint.production_variants = endpoint._process_production_variants(
                config["ProductionVariants"])
            endpoint.data_capture_config = config.get("DataCaptureConfig")
            endpoint.pending_deployment_summary = None
            endpoint.failure_reason = None
            endpoint.endpoint_status = "InService"
            endpoint.last_modified_time = utcnow()

    if not serving.enabled():
        _later(_endpoint_delay(), in_service)
        return endpoint.arn
    alarms = [a["AlarmName"] for a in ((deployment_config or {}).get(
        "AutoRollbackConfiguration") or {}).get("Alarms") or []]
    threading.Thread(target=_blue_green, daemon=True, name=f"update-{endpoint_name}",
                     args=(self, endpoint, endpoint_config_name, alarms, in_service)).start()
    return endpoint.arn


def _variant_status(endpoint: FakeEndpoint, status: str) -> None:
    summary = endpoint.pending_deployment_summary or {}
    for v in summary.get("ProductionVariants") or []:
        v["VariantStatus"] = [{"Status": status, "StartTime": utcnow()}]


def _back_to(endpoint: FakeEndpoint, reason: str | None) -> None:
    """The update is over and the old config serves on (a failed or rolled-back update)."""
    with _LOCK:
        endpoint.pending_deployment_summary = None
        endpoint.endpoint_status = "InService"
        endpoint.failure_reason = reason
        endpoint.last_modified_time = utcnow()


def _blue_green(backend: SageMakerModelBackend, endpoint: FakeEndpoint, config_name: str,
                alarms: list[str], in_service: Callable[[], None]) -> None:
    """Blue/green, all at once: the new fleet starts beside the old one and must pass /ping;
    all traffic moves to it; it bakes while the rollback alarms are watched; then the old fleet
    stops. A fleet that fails /ping, or an alarm in ALARM during the bake, leaves the old fleet
    serving and the old config in service."""
    name = endpoint.endpoint_name
    old = serving.serving(name)
    fleet = serving.start(backend.account_id, backend, name, config_name)
    if isinstance(fleet, str):
        _back_to(endpoint, fleet)
        return
    with _LOCK:
        _variant_status(endpoint, "Baking")
    serving.route(name, fleet)
    bake_start = serving.now()
    deadline = time.monotonic() + _bake_seconds()
    tripped: list[tuple[str, str]] = []
    while time.monotonic() < deadline and not tripped:
        time.sleep(0.2)
        for alarm in alarms:
            reason = serving.breached(backend.account_id, backend.region_name, alarm, bake_start)
            if reason:
                tripped.append((alarm, reason))
    if tripped:
        with _LOCK:
            endpoint.endpoint_status = "RollingBack"
        for alarm, reason in tripped:
            serving.trip(backend.account_id, backend.region_name, alarm, reason)
        serving.route(name, old)
        fleet.stop()
        time.sleep(min(_endpoint_delay(), 1.0))
        _back_to(endpoint, None)  # SageMaker: InService on the old config, no failure reason
        return
    in_service()
    if old is not None:
        old.stop()


def _bake_seconds() -> float:
    return float(os.environ.get("EMULATOR_BAKE_SECONDS", _endpoint_delay()))


def _update_endpoint_action(self: SageMakerResponse) -> ActionResult:
    arn = self.sagemaker_backend.update_endpoint(
        self._get_param("EndpointName"), self._get_param("EndpointConfigName"),
        self._get_param("DeploymentConfig"))
    return ActionResult({"EndpointArn": arn})


@_patch(SageMakerModelBackend, "delete_endpoint")
def _delete_endpoint(original: Callable, self: SageMakerModelBackend, endpoint_name: str) -> None:
    original(self, endpoint_name)
    fleet = serving.serving(endpoint_name)
    serving.route(endpoint_name, None)
    if fleet is not None:
        fleet.stop()


def create_stack_alarms() -> list[str]:
    """The template's CloudWatch alarms, as `sam deploy` creates them: the deployment guardrails
    Deploy's ROLLBACK_ALARMS names (so an UpdateEndpoint's AutoRollbackConfiguration finds them,
    and the bake can set them off), the MAPE alarms (ServingModelDriftAlarm, MapeDriftAlarm).
    Alarms on what the emulator does not model (SQS) are left out. Their names. Their actions are
    not kept: the alarms change state (`evaluate_alarms`), the alerts the tests read are the
    workers' own."""
    template = authorize.stack_template()
    if template is None:
        return []
    backend = cloudwatch_backends[authorize.ACCOUNT][template.region]
    created = []
    for resource in template.resources.values():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        props = resource.get("Properties") or {}
        try:
            p = template.resolve(props)
        except ValueError as e:  # an alarm on what the emulator does not model (SQS)
            sys.stderr.write(f"[stack] alarm not created: {e}\n")
            continue
        backend.put_metric_alarm(
            name=p["AlarmName"], namespace=p["Namespace"], metric_name=p["MetricName"],
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]), period=int(p["Period"]),
            threshold=float(p["Threshold"]), statistic=p.get("Statistic"),
            description=p.get("AlarmDescription", ""), dimensions=p.get("Dimensions") or [],
            alarm_actions=[], datapoints_to_alarm=p.get("DatapointsToAlarm"),
            treat_missing_data=p.get("TreatMissingData"))
        created.append(p["AlarmName"])
    return created


def _invoke_endpoint(req: awsrequest.AwsRequest, environ: dict[str, Any]
                     ) -> tuple[int, dict[str, str], bytes]:
    """sagemaker-runtime InvokeEndpoint, once IAM and the model checks let it through."""
    account = authorize.ACCOUNT
    region = req.region or "us-east-1"
    name = req.params.get("EndpointName", "")
    backend = sagemaker_models.sagemaker_backends[account][region]
    with _LOCK:
        endpoint = backend.endpoints.get(name)
        status = endpoint.endpoint_status if endpoint else None
    headers = {k: environ[h] for k, h in (("Content-Type", "CONTENT_TYPE"),
                                          ("Accept", "HTTP_ACCEPT")) if environ.get(h)}
    body = req.params.get("Body") or b""
    return serving.invoke(account, region, name, status, body, headers)


SageMakerModelBackend.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
SageMakerResponse.update_endpoint = _update_endpoint_action  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# SageMaker: model packages
# ---------------------------------------------------------------------------


@_patch(SageMakerModelBackend, "create_model_package")
def _create_model_package(original: Callable, self: SageMakerModelBackend,
                          **kwargs: Any) -> str:
    with _LOCK:
        token = kwargs.get("client_token")
        if token:  # idempotent retry: same token -> same package
            for package in self.model_packages.values():
                if package.client_token == token:
                    return package.arn
        if kwargs.get("model_package_group_name") and not kwargs.get("model_approval_status"):
            kwargs["model_approval_status"] = "PendingManualApproval"
        return original(self, **kwargs)


@_patch(SageMakerModelBackend, "update_model_package")
def _update_model_package(
    original: Callable,
    self: SageMakerModelBackend,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str] | None,
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    """Like moto's, but fields that are not passed are left alone."""
    with _LOCK:
        package = self.describe_model_package(model_package_arn)
        if model_approval_status is not None:
            package.set_model_approval_status(model_approval_status)
        if approval_description is not None:
            package.approval_description = approval_description
        if customer_metadata_properties:
            package.customer_metadata_properties = {
                **(package.customer_metadata_properties or {}),
                **customer_metadata_properties,
            }
        if customer_metadata_properties_to_remove and package.customer_metadata_properties:
            package.remove_customer_metadata_property(customer_metadata_properties_to_remove)
        if additional_inference_specifications_to_add:
            package.add_additional_inference_specifications(
                additional_inference_specifications_to_add)
        package.modifications_done()
        return package.arn


@_patch(ModelPackage, "gen_response_object")
def _model_package_response(original: Callable, self: ModelPackage) -> dict[str, Any]:
    response = original(self)
    if self.model_package_group_name:
        response.setdefault("ModelPackageName", self.model_package_group_name)
    return response


# ---------------------------------------------------------------------------
# CloudWatch: an alarm follows its metric. AWS evaluates each alarm once a period over the last
# EvaluationPeriods x Period; the emulator evaluates the alarms on a metric when data arrives for
# it (at most one period late on AWS), with the alarm's statistic over that window.
@_patch(CloudWatchBackend, "put_metric_data")
def _put_metric_data(original: Callable, self: CloudWatchBackend, namespace: str,
                     metric_data: list[dict[str, Any]]) -> None:
    original(self, namespace, metric_data)
    names = {m.get("MetricName") for m in metric_data}
    for alarm in list(self.alarms.values()):
        if alarm.namespace != namespace or alarm.metric_name not in names:
            continue
        window = timedelta(seconds=int(alarm.period or 60) * int(alarm.evaluation_periods or 1))
        since = serving.now() - window
        reason = serving.breached(self.account_id, self.region_name, alarm.name, since)
        if reason is not None and alarm.state_value != "ALARM":
            alarm.update_state(reason, json.dumps({"emulator": "metric"}), "ALARM")
        elif reason is None and alarm.state_value != "OK":
            alarm.update_state(
                f"Threshold Crossed: no datapoint of {alarm.metric_name} since "
                f"{since:%Y-%m-%d %H:%M:%S} breached {float(alarm.threshold):g}.",
                json.dumps({"emulator": "metric"}), "OK")


# CloudWatch: new alarms start in INSUFFICIENT_DATA (moto: OK)
# ---------------------------------------------------------------------------


@_patch(CloudWatchBackend, "put_metric_alarm")
def _put_metric_alarm(original: Callable, self: CloudWatchBackend, name: str,
                      *args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        is_new = name not in self.alarms
        alarm = original(self, name, *args, **kwargs)
        if is_new:
            alarm.state_value = "INSUFFICIENT_DATA"
        return alarm


# ---------------------------------------------------------------------------
# CloudWatch: Smithy RPC v2 CBOR -> moto's awsJson1_0 API -> CBOR
# ---------------------------------------------------------------------------

# Smithy service name in the URL -> (botocore service name, signing name).
RPCV2_CBOR_SERVICES = {"GraniteServiceVersion20100801": ("cloudwatch", "monitoring")}
_RPCV2_PATH = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$")


@functools.lru_cache(maxsize=None)
def _service_model(name: str) -> Any:
    return botocore.session.get_session().get_service_model(name)


def _convert(value: Any, shape: Any, to_json: bool) -> Any:
    """Convert between CBOR-decoded and JSON-protocol values, guided by the
    botocore shape (timestamps: CBOR tag 1 <-> epoch seconds, blobs: bytes <->
    base64, doubles must stay CBOR floats)."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {k: _convert(v, shape.members[k], to_json)
                for k, v in value.items() if k in shape.members}
    if kind == "list":
        return [_convert(v, shape.member, to_json) for v in value]
    if kind == "map":
        return {k: _convert(v, shape.value, to_json) for k, v in value.items()}
    if kind == "timestamp":
        if to_json:
            return value.timestamp() if isinstance(value, datetime) else value
        if not isinstance(value, (int, float)):
            value = parse_timestamp(value).timestamp()
        return cbor2.CBORTag(1, value)
    if kind == "blob":
        return base64.b64encode(value).decode() if to_json else base64.b64decode(value)
    if kind in ("float", "double") and not to_json and isinstance(value, int):
        return float(value)
    return value


def _call_wsgi(app: Callable, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    captured: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
        captured["status"], captured["headers"] = int(status.split()[0]), dict(headers)
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured["status"], captured["headers"], b"".join(chunks)


def _cbor_response(start_response: Callable, status: int, payload: Any,
                   extra_headers: dict[str, str] | None = None) -> list[bytes]:
    body = b"" if payload is None else cbor2.dumps(payload)
    headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor",
               "Content-Length": str(len(body)), **(extra_headers or {})}
    start_response(f"{status} {'OK' if status < 300 else 'Error'}", list(headers.items()))
    return [body]


def _rpcv2_cbor(app: Callable, environ: dict[str, Any], start_response: Callable,
                target_prefix: str, operation: str) -> list[bytes]:
    service_name, signing_name = RPCV2_CBOR_SERVICES[target_prefix]
    try:
        operation_model = _service_model(service_name).operation_model(operation)
    except OperationNotFoundError:
        return _cbor_response(start_response, 404, {
            "__type": "UnknownOperationException", "message": f"Unknown operation {operation}"})

    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":  # request compression
        body = gzip.decompress(body)
    params = cbor2.loads(body) if body else {}
    json_body = json.dumps(_convert(params, operation_model.input_shape, to_json=True)).encode()

    inner = {k: v for k, v in environ.items()
             if k not in ("HTTP_CONTENT_ENCODING", "HTTP_SMITHY_PROTOCOL", "HTTP_ACCEPT")}
    if not inner.get("HTTP_AUTHORIZATION"):
        # moto routes by the SigV4 credential scope (it does not check signatures).
        inner["HTTP_AUTHORIZATION"] = (
            f"AWS4-HMAC-SHA256 Credential=test/20000101/us-east-1/{signing_name}/aws4_request, "
            "SignedHeaders=host, Signature=0")
    inner.update({
        "PATH_INFO": "/", "QUERY_STRING": "", "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "CONTENT_LENGTH": str(len(json_body)),
        "HTTP_X_AMZ_TARGET": f"{target_prefix}.{operation}",
        "HTTP_X_AMZN_QUERY_MODE": "true",
        "wsgi.input": io.BytesIO(json_body),
    })
    status, headers, out = _call_wsgi(app, inner)
    passthrough = {k: v for k, v in headers.items()
                   if k.lower() in ("x-amzn-requestid", "x-amzn-query-error")}

    if status < 300:
        data = json.loads(out) if out.strip() else {}
        payload = _convert(data, operation_model.output_shape, to_json=False)
        return _cbor_response(start_response, status, payload or {}, passthrough)

    try:
        error = json.loads(out)
        code = error.get("__type") or error.get("code") or "InternalFailure"
        message = error.get("message") or error.get("Message") or ""
    except ValueError:  # not JSON (e.g. an XML or HTML error page)
        code_match = re.search(rb"<Code>([^<]+)</Code>", out)
        message_match = re.search(rb"<Message>([^<]*)</Message>", out)
        code = code_match.group(1).decode() if code_match else "InternalFailure"
        message = message_match.group(1).decode() if message_match else out.decode(errors="replace")[:500]
    return _cbor_response(start_response, status,
                          {"__type": code.split("#")[-1], "message": message}, passthrough)


# ---------------------------------------------------------------------------
# Inspection endpoint for tests
# ---------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _state() -> dict[str, Any]:
    messages = []
    for account_id, regions in list(sns_backends.items()):
        for region, backend in list(regions.items()):
            for topic in list(backend.topics.values()):
                for message_id, message, subject, attributes, group_id in list(
                        topic.sent_notifications):
                    messages.append({
                        "TopicArn": topic.arn, "MessageId": message_id, "Message": message,
                        "Subject": subject, "MessageAttributes": attributes or {},
                        "MessageGroupId": group_id,
                    })
    metrics = []
    for account_id, regions in list(cloudwatch_backends.items()):
        for region, backend in list(regions.items()):
            for datum in list(backend.metric_data):
                item = {
                    "AccountId": account_id, "Region": region,
                    "Namespace": datum.namespace, "MetricName": datum.name,
                    "Dimensions": {d.name: d.value for d in datum.dimensions},
                    "Timestamp": _iso(datum.timestamp), "Unit": datum.unit,
                }
                if isinstance(datum, MetricAggregatedDatum):
                    item["StatisticValues"] = {"Minimum": datum.min, "Maximum": datum.max,
                                               "SampleCount": datum.sample_count, "Sum": datum.sum}
                else:
                    item["Value"] = datum.value
                metrics.append(item)
    return {"sns_messages": messages, "cloudwatch_metric_data": metrics,
            "endpoint_deployments": list(_DEPLOYMENTS),
            "containers_stopped": serving.stopped_containers()}


# ---------------------------------------------------------------------------
# WSGI application and launcher
# ---------------------------------------------------------------------------

EMULATOR_URL = os.environ.get("EMULATOR_URL", "http://127.0.0.1:5000")

# Checks every AWS request passes before moto sees it, in order: each takes the WSGI environ (it
# may read the body, and must leave `wsgi.input` readable again from the start) and returns None
# to let the request through, or (status, headers, body) of the error AWS would answer.
Refusal = tuple[int, dict[str, str], bytes]
REQUEST_CHECKS: list[Callable[[dict[str, Any]], Refusal | None]] = []
REQUEST_CHECKS.append(validate.check)
REQUEST_CHECKS.insert(0, authorize.check)  # IAM first, as AWS authorizes before validating


_SFN_ROUTE: dict[str, str] = {}


def _forward_stepfunctions(environ: dict[str, Any], start_response: Callable) -> Any:
    """Forward a Step Functions request to the routed local Step Functions."""
    import urllib.error
    import urllib.request
    body = awsrequest._read_body(environ)
    req = urllib.request.Request(
        _SFN_ROUTE["url"] + "/", data=body, method="POST",
        headers={"Content-Type": environ.get("CONTENT_TYPE", "application/x-amz-json-1.0"),
                 "X-Amz-Target": environ.get("HTTP_X_AMZ_TARGET", "")})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, payload = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    except OSError as e:
        status = 500
        payload = json.dumps({"__type": "InternalFailure",
                              "message": f"local Step Functions unreachable: {e}"}).encode()
    start_response(f"{status} {'OK' if status == 200 else 'Error'}",
                   [("Content-Type", "application/x-amz-json-1.0"),
                    ("Content-Length", str(len(payload)))])
    return [payload]


# ---------------------------------------------------------------------------
# Injected faults (POST /_emulator/faults)
# ---------------------------------------------------------------------------

# Each: {"operation": "CreateTrainingJob", "kind": "throttle" | "error" | "delay",
#        "after": bool, "count": N, "seconds": S}.  "throttle" answers the throttling error of
# the service (before the request is applied); "error" a 500 InternalFailure (with "after": the
# request is applied first and its answer lost, the worst case of a 5xx); "delay" applies the
# request and answers S seconds later (a caller with a shorter timeout is cut off mid-call).
_FAULTS: list[dict[str, Any]] = []
_FAULTS_LOCK = threading.Lock()
_THROTTLING = {"s3": ("SlowDown", 503), "sns": ("Throttling", 400)}
_INTERNAL = {"s3": ("InternalError", 500), "sns": ("InternalError", 500)}


FAULT_KINDS = ("throttle", "error", "delay", "conflict", "slow")


def _fault_applies(fault: dict[str, Any], req: awsrequest.AwsRequest) -> bool:
    if fault.get("operation") != req.operation or int(fault.get("count", 1)) <= 0:
        return False
    if fault["kind"] in ("conflict", "slow"):
        # S3 writes of one key (when "bucket"/"key" are given); "conflict": conditional only.
        if req.service != "s3" or _s3_write_key(req) is None:
            return False
        if fault["kind"] == "conflict" and not _is_conditional_write(req):
            return False
        for name in ("bucket", "key"):
            if fault.get(name) is not None and req.params.get(name.title()) != fault[name]:
                return False
    return True


def _take_fault(req: awsrequest.AwsRequest) -> dict[str, Any] | None:
    with _FAULTS_LOCK:
        for fault in _FAULTS:
            if _fault_applies(fault, req):
                fault["count"] = int(fault.get("count", 1)) - 1
                fault["fired"] = int(fault.get("fired", 0)) + 1
                return dict(fault)
    return None


def _fault_refusal(req: awsrequest.AwsRequest, fault: dict[str, Any]) -> Refusal:
    if fault["kind"] == "conflict":
        return validate.refusal(req, validate.Rejection(
            "ConditionalRequestConflict", "A conflicting conditional operation is currently in "
            "progress against this resource. Please try again.", 409))
    if fault["kind"] == "throttle":
        code, status = _THROTTLING.get(req.service, ("ThrottlingException", 400))
        message = "Rate exceeded"
    else:
        code, status = _INTERNAL.get(req.service, ("InternalFailure", 500))
        message = "We encountered an internal error. Please try again."
    return validate.refusal(req, validate.Rejection(code, message, status))


# ---------------------------------------------------------------------------
# S3: writes of one key are serialized (conditional writes are atomic)
# ---------------------------------------------------------------------------

# moto checks If-None-Match / If-Match and then stores the object, with other request threads
# running in between: two `If-None-Match: *` writes could both pass. S3 is strongly consistent
# here (the first write to finish wins, the others get 412), so every write of a key holds
# that key's lock from before moto's precondition check to after its commit.
_S3_WRITES = ("PutObject", "CopyObject", "CompleteMultipartUpload", "DeleteObject")
_S3_KEY_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_S3_KEY_LOCKS_LOCK = threading.Lock()
# A "slow" fault: seconds this thread's write waits between moto's check and its commit.
_S3_HOLD = threading.local()


def _s3_write_key(req: awsrequest.AwsRequest) -> tuple[str, str] | None:
    bucket, key = req.params.get("Bucket"), req.params.get("Key")
    if req.operation in _S3_WRITES and isinstance(bucket, str) and isinstance(key, str):
        return bucket, key
    return None


def _is_conditional_write(req: awsrequest.AwsRequest) -> bool:
    return bool(req.params.get("IfNoneMatch") or req.params.get("IfMatch"))


def _s3_key_lock(where: tuple[str, str]) -> threading.Lock:
    with _S3_KEY_LOCKS_LOCK:
        return _S3_KEY_LOCKS.setdefault(where, threading.Lock())


@_patch(S3Backend, "put_object")
def _s3_put_object(original: Callable, self: S3Backend, *args: Any, **kwargs: Any) -> Any:
    hold = getattr(_S3_HOLD, "seconds", 0.0)
    if hold:
        time.sleep(hold)  # a slow upload: stored after its preconditions were checked
    return original(self, *args, **kwargs)


def _serve_s3_write(serve: Callable, environ: dict[str, Any], start_response: Callable,
                    req: awsrequest.AwsRequest | None, hold: float = 0.0) -> Any:
    """serve, holding the key's lock when req is an S3 write of a key."""
    where = _s3_write_key(req) if req is not None and req.service == "s3" else None
    if where is None:
        return serve(environ, start_response)
    with _s3_key_lock(where):
        _S3_HOLD.seconds = hold
        try:
            status, headers, body = _call_wsgi(serve, environ)
        finally:
            _S3_HOLD.seconds = 0.0
    headers = {**headers, "Content-Length": str(len(body))}
    start_response(f"{status} {'OK' if status < 400 else 'Error'}", list(headers.items()))
    return [body]


def _respond(start_response: Callable, refusal: Refusal) -> list[bytes]:
    status, headers, body = refusal
    headers = {**headers, "Content-Length": str(len(body))}
    start_response(f"{status} Refused", list(headers.items()))
    return [body]


def make_app() -> Callable:
    """moto's server app, wrapped with the request checks, the CBOR shim, injected faults and
    /_emulator/*."""
    moto_app = DomainDispatcherApplication(create_backend_app)

    def serve(environ: dict[str, Any], start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if (_SFN_ROUTE and environ.get("REQUEST_METHOD") == "POST"
                and environ.get("HTTP_X_AMZ_TARGET", "").startswith("AWSStepFunctions.")):
            return _forward_stepfunctions(environ, start_response)
        match = _RPCV2_PATH.match(path)
        if (match and environ.get("REQUEST_METHOD") == "POST"
                and match.group("service") in RPCV2_CBOR_SERVICES):
            return _rpcv2_cbor(moto_app, environ, start_response,
                               match.group("service"), match.group("operation"))
        return moto_app(environ, start_response)

    def app(environ: dict[str, Any], start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/_emulator/state":
            body = json.dumps(_state(), default=str).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if path == "/moto-api/reset":
            _DEPLOYMENTS.clear()
            serving.stop_all()
            with _FAULTS_LOCK:
                _FAULTS.clear()
        if path == "/_emulator/stepfunctions" and environ.get("REQUEST_METHOD") == "POST":
            route = json.loads(awsrequest._read_body(environ) or b"{}")
            _SFN_ROUTE["url"] = str(route["url"]).rstrip("/")
            start_response("204 No Content", [("Content-Length", "0")])
            return [b""]
        if path == "/_emulator/faults":
            if environ.get("REQUEST_METHOD") == "POST":
                fault = json.loads(awsrequest._read_body(environ) or b"{}")
                if fault.get("kind") not in FAULT_KINDS:
                    start_response("400 Bad Request", [("Content-Length", "0")])
                    return [b""]
                with _FAULTS_LOCK:
                    _FAULTS.append(fault)
            with _FAULTS_LOCK:
                body = json.dumps(_FAULTS).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if path == "/moto-api/reset":
            answer = serve(environ, start_response)
            create_stack_alarms()
            return answer
        if path.startswith("/moto-api"):
            return serve(environ, start_response)
        for check in REQUEST_CHECKS:
            refusal = check(environ)
            if refusal is not None:
                return _respond(start_response, refusal)
        if path.rstrip("/") == "/2016-08-19/account-settings":
            return _lambda_account_settings(start_response)
        req = awsrequest.parse_request(environ) if (
            _FAULTS or environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE")) else None
        fault = _take_fault(req) if req is not None and _FAULTS else None
        if fault is None and req is not None and req.service == "sagemaker-runtime":
            status, headers, body = _invoke_endpoint(req, environ)
            start_response(f"{status} {HTTP_STATUS_CODES.get(status, '')}",
                           list({**headers, "Content-Length": str(len(body))}.items()))
            return [body]
        if fault is None:
            return _serve_s3_write(serve, environ, start_response, req)
        _log_fault(req, fault)
        if fault["kind"] in ("throttle", "conflict") or (
                fault["kind"] == "error" and not fault.get("after")):
            return _respond(start_response, _fault_refusal(req, fault))
        if fault["kind"] == "slow":
            return _serve_s3_write(serve, environ, start_response, req,
                                   float(fault.get("seconds", 1)))
        status, headers, body = _call_wsgi(  # applied
            lambda e, s: _serve_s3_write(serve, e, s, req), environ)
        if fault["kind"] == "delay":
            time.sleep(float(fault.get("seconds", 1)))
            headers = {**headers, "Content-Length": str(len(body))}
            start_response(f"{status} OK", list(headers.items()))
            return [body]
        return _respond(start_response, _fault_refusal(req, fault))

    return app


def _lambda_account_settings(start_response: Callable) -> list[bytes]:
    """Lambda GetAccountSettings, which moto lacks: the account's concurrency limit
    (EMULATOR_LAMBDA_CONCURRENCY, default 1000, all unreserved: the local stack reserves none)."""
    limit = int(os.environ.get("EMULATOR_LAMBDA_CONCURRENCY", "1000"))
    body = json.dumps({
        "AccountLimit": {"TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000,
                         "CodeSizeZipped": 52428800, "ConcurrentExecutions": limit,
                         "UnreservedConcurrentExecutions": limit},
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0}}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def _log_fault(req: awsrequest.AwsRequest, fault: dict[str, Any]) -> None:
    sys.stderr.write(f"[fault] {fault['kind']}{' after applying' if fault.get('after') else ''} "
                     f"{req.service}.{req.operation} (key {req.access_key})\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    global EMULATOR_URL
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)))
    args = parser.parse_args(argv)

    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto_server does
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    EMULATOR_URL = os.environ.get("EMULATOR_URL", f"http://{host}:{args.port}")
    atexit.register(serving.stop_all)  # the model servers run in their own sessions
    atexit.register(stop_training_containers)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    app = make_app()
    create_stack_alarms()
    run_simple(args.host, args.port, app, threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
