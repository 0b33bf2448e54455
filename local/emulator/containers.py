"""Training jobs and endpoints that run the user's image, as SageMaker runs it (with podman).

  EMULATOR_CONTAINER_RUNTIME  the container runtime (`podman`); unset: no container mode (the
                              training and serving commands run on the host, same contract)
  EMULATOR_IMAGES             JSON {image URI: local image}: the template's image URI (an ECR
                              URI on AWS) mapped to an image built here (tools/image.sh); an
                              image URI that names a local image itself needs no entry
  EMULATOR_STOP_GRACE         seconds between SIGTERM and SIGKILL when a container stops (5)

A training job whose TrainingImage resolves to a local image runs `RUNTIME run IMAGE train`:
  * /opt/ml is a directory of the emulator's: input/config/hyperparameters.json,
    resourceconfig.json and inputdataconfig.json; input/data/<channel> with the objects of each
    S3Prefix channel the job declares (File mode); model/ (packed into the job's model.tar.gz);
    output/failure (the job's FailureReason when it exits non-zero).
  * its environment is the job's Environment, TRAINING_JOB_NAME, TRAINING_JOB_ARN, the region,
    and credentials and AWS_ENDPOINT_URL that reach the emulator as the SageMaker execution role
    (the training code's own calls are IAM-checked like the workers'). SM_* variables are not
    set: they are the SageMaker training toolkit's, not SageMaker's.
  * host networking (the emulator listens on 127.0.0.1); MaxRuntimeInSeconds stops the container.
An endpoint's model whose container Image resolves to a local image runs `RUNTIME run IMAGE
serve` with the model archive unpacked read-only at /opt/ml/model and the container's port 8080
published on a free port of 127.0.0.1 (serving.py pings and invokes it there). Stopping sends
SIGTERM, then SIGKILL after the grace period (`RUNTIME stop -t`).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from typing import Any

RUNTIME_ENV = "EMULATOR_CONTAINER_RUNTIME"
IMAGES_ENV = "EMULATOR_IMAGES"
STOP_GRACE_ENV = "EMULATOR_STOP_GRACE"
SERVING_PORT = 8080  # SageMaker's: the image's server listens here


def runtime() -> str | None:
    return os.environ.get(RUNTIME_ENV) or None


def stop_grace() -> float:
    return float(os.environ.get(STOP_GRACE_ENV, "5"))


def _images() -> dict[str, str]:
    raw = os.environ.get(IMAGES_ENV)
    if not raw:
        return {}
    images = json.loads(raw)
    if not isinstance(images, dict):
        raise ValueError(f"{IMAGES_ENV} must be a JSON object of image URI -> local image")
    return images


def local_image(uri: str | None) -> str | None:
    """The local image that runs for `uri`: its mapping, or `uri` itself when the runtime has an
    image of that name; None without a runtime, or when neither exists."""
    rt = runtime()
    if not rt or not uri:
        return None
    image = _images().get(uri, uri)
    exists = subprocess.run([rt, "image", "exists", image], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, check=False)
    return image if exists.returncode == 0 else None


def container_name(kind: str, name: str) -> str:
    """A name podman accepts ([a-zA-Z0-9][a-zA-Z0-9_.-]*), unique per start:
    sm-<kind>-<the emulator's port>-<name>-<id>, so emulators side by side tell theirs apart."""
    safe = "".join(c if c.isalnum() or c in "_.-" else "-" for c in name)[:80]
    port = os.environ.get("MOTO_PORT", "0")
    return f"sm-{kind}-{port}-{safe}-{uuid.uuid4().hex[:8]}"


def write_training_config(opt_ml: str, job: Any) -> None:
    """/opt/ml/input/config as SageMaker writes it for a single-instance job."""
    config = os.path.join(opt_ml, "input", "config")
    os.makedirs(config, exist_ok=True)
    resource = job.resource_config or {}
    instance_type = resource.get("InstanceType", "ml.m5.large")
    files = {
        "hyperparameters.json": {k: str(v) for k, v in (job.hyper_parameters or {}).items()},
        "resourceconfig.json": {
            "current_host": "algo-1", "hosts": ["algo-1"],
            "current_group_name": "homogeneousCluster", "current_instance_type": instance_type,
            "instance_groups": [{"instance_group_name": "homogeneousCluster",
                                 "instance_type": instance_type, "hosts": ["algo-1"]}],
            "network_interface_name": "eth0",
        },
        "inputdataconfig.json": {
            c["ChannelName"]: {
                "TrainingInputMode": c.get("InputMode")
                or (job.algorithm_specification or {}).get("TrainingInputMode", "File"),
                "S3DistributionType": (c.get("DataSource", {}).get("S3DataSource", {})
                                       .get("S3DataDistributionType", "FullyReplicated")),
                "RecordWrapperType": c.get("RecordWrapperType", "None"),
                **({"ContentType": c["ContentType"]} if c.get("ContentType") else {}),
            }
            for c in (job.input_data_config or [])
        },
    }
    for name, body in files.items():
        with open(os.path.join(config, name), "w") as f:
            json.dump(body, f)


def copy_channels(opt_ml: str, job: Any, s3: Any) -> None:
    """Each S3Prefix channel's objects into /opt/ml/input/data/<channel>/<key under the prefix>."""
    for channel in job.input_data_config or []:
        source = channel.get("DataSource", {}).get("S3DataSource", {})
        uri = source.get("S3Uri", "")
        if source.get("S3DataType", "S3Prefix") != "S3Prefix" or not uri.startswith("s3://"):
            raise ValueError(f"channel {channel.get('ChannelName')}: only S3Prefix channels "
                             f"are emulated, not {source.get('S3DataType')} {uri!r}")
        bucket, _, prefix = uri[len("s3://"):].partition("/")
        into = os.path.join(opt_ml, "input", "data", channel["ChannelName"])
        os.makedirs(into, exist_ok=True)
        keys, _, _, _ = s3.list_objects(s3.get_bucket(bucket), prefix, delimiter=None,
                                        marker=None, max_keys=100000)
        keys = sorted(keys, key=lambda k: k.name)
        if not keys:
            raise ValueError(f"channel {channel['ChannelName']}: no objects under {uri}")
        for obj in keys:
            relative = obj.name[len(prefix):].lstrip("/") or os.path.basename(obj.name)
            path = os.path.join(into, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(s3.get_object(bucket, obj.name).value)


def _env_args(env: dict[str, str]) -> list[str]:
    """`-e NAME` for each variable: the values reach the container from the runtime's own
    environment, never the command line."""
    args: list[str] = []
    for name in sorted(env):
        args += ["-e", name]
    return args


def training_command(image: str, name: str, opt_ml: str, env: dict[str, str]) -> list[str]:
    return [runtime() or "podman", "run", "--rm", "--name", name, "--network", "host",
            "-v", f"{opt_ml}:/opt/ml", *_env_args(env), image, "train"]


def serving_command(image: str, name: str, model_dir: str, port: int,
                    env: dict[str, str]) -> list[str]:
    return [runtime() or "podman", "run", "--rm", "--name", name,
            "-p", f"127.0.0.1:{port}:{SERVING_PORT}",
            "-v", f"{model_dir}:/opt/ml/model:ro", *_env_args(env), image, "serve"]


def process_env(env: dict[str, str]) -> dict[str, str]:
    """The runtime's own environment: the emulator's (PATH, CONTAINERS_CONF) plus `env`, which
    `-e NAME` passes on."""
    return {**os.environ, **env}


def stop(name: str) -> int | None:
    """SIGTERM to the container, SIGKILL after the grace period; the runtime's exit code."""
    rt = runtime() or "podman"
    done = subprocess.run([rt, "stop", "-t", str(int(stop_grace())), name],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return done.returncode
