"""Refuse AWS requests that AWS itself would refuse, before moto sees them.

moto accepts almost anything; AWS validates every request against the
service's model and a few documented rules.  `check(environ)` (registered in
emulator.REQUEST_CHECKS) parses the request with awsrequest.parse_request and
answers with the error AWS would send, in the protocol's own error format, or
None to let the request through.

From botocore's service model (recursively through the input shape):
  * required members ("Member must not be null"),
  * unknown members and wrong JSON/CBOR types (awsJson, RPC v2 CBOR only: the
    query and REST protocols have no way to send them),
  * string and blob length (min/max), list length, map size,
  * patterns.  AWS's (Java) validators match a pattern against the WHOLE value
    (TrainingJobName "a_b" is refused although "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    occurs in it), so patterns are full-matched here,
  * enums, numeric ranges.
Documented rules the models do not encode: see DOCUMENTED_RULES below.

Every refusal is logged ("[validate] refused ...") to stderr, i.e. the emulator's log.
  EMULATOR_VALIDATE_LOG     also append the log lines to this file
  EMULATOR_VALIDATE_TRACE   log every request as parsed (service.operation, protocol, params)
  EMULATOR_VALIDATE_IGNORE  `Operation:text,...`: skip violations of that operation whose
                            message contains text (to look past a known finding; not for CI)
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from xml.sax.saxutils import escape

import cbor2

import awsrequest

try:  # \p{L} and friends (the models' patterns are Java regexes)
    import regex as _regex
except ImportError:  # pragma: no cover
    _regex = re  # type: ignore[assignment]

Refusal = tuple[int, dict[str, str], bytes]

# ---------------------------------------------------------------------------
# violations
# ---------------------------------------------------------------------------


@dataclass
class Violation:
    """One model constraint a value breaks.  path: member names and 1-based list indexes."""
    path: tuple
    value: Any
    constraint: str
    kind: str = "constraint"  # constraint | required | type | unknown


@dataclass
class Rejection:
    """A documented (service-specific) rule: its own error code, message and status."""
    code: str
    message: str
    status: int = 400


def _coral_path(path: tuple) -> str:
    parts = []
    for p in path:
        if isinstance(p, int):
            parts.append(f"{p}.member")
        else:
            parts.append(p[:1].lower() + p[1:])
    return ".".join(parts)


def _query_path(path: tuple) -> str:
    parts = []
    for p in path:
        parts.append(f"member.{p}" if isinstance(p, int) else p)
    return ".".join(parts)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, bytes):
        text = f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    elif isinstance(value, list):
        text = "[" + ", ".join(_show(v).strip("'") if v is not None else "null" for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}={_show(v).strip(chr(39))}" for k, v in value.items()) + "}"
    else:
        text = str(value)
    if len(text) > 1024:
        text = text[:1024] + "..."
    return f"'{text}'"


def coral_message(violations: list[Violation]) -> str:
    """AWS's validation message: "1 validation error detected: Value 'x' at 'a.b' failed to ..."."""
    parts = [f"Value {_show(v.value)} at '{_coral_path(v.path)}' failed to satisfy constraint: "
             f"{v.constraint}" for v in violations]
    n = len(violations)
    return f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(parts)


# ---------------------------------------------------------------------------
# the model walk
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _pattern(text: str) -> Any:
    # Java writes a supplementary character as its UTF-16 surrogate pair.
    def pair(m: re.Match) -> str:
        hi, lo = int(m.group(1), 16), int(m.group(2), 16)
        return "\\U%08X" % (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    text = re.sub(r"\\u(D[89AB][0-9A-Fa-f]{2})\\u(D[C-Fa-f][0-9A-Fa-f]{2})", pair, text)
    try:
        return _regex.compile(text)
    except Exception:
        return None  # a pattern Python cannot read is not enforced


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "double"):
        return _is_number(value) or value in _SPECIAL_FLOATS
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "blob":
        return isinstance(value, (str, bytes, bytearray))
    if kind == "timestamp":
        return _is_number(value) or isinstance(value, (str, datetime))
    return True


def _length_constraints(size: int, meta: dict) -> list[str]:
    """The model's min/max on a string's, blob's, list's or map's length that `size` breaks."""
    out = []
    if "min" in meta and size < meta["min"]:
        out.append(f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and size > meta["max"]:
        out.append(f"Member must have length less than or equal to {meta['max']}")
    return out


def _scalar_constraints(value: Any, shape: Any) -> list[str]:
    """The model constraints a (well-typed) scalar value breaks."""
    meta = shape.metadata
    kind = shape.type_name
    out = []
    if kind in ("string", "blob"):
        size = len(value) if kind == "string" or isinstance(value, (bytes, bytearray)) else \
            len(value) * 3 // 4  # base64 text (JSON): about its decoded size
        out.extend(_length_constraints(size, meta))
        if kind == "string" and meta.get("pattern"):
            compiled = _pattern(meta["pattern"])
            if compiled is not None and compiled.fullmatch(value) is None:
                out.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if kind == "string" and meta.get("enum") and value not in meta["enum"]:
            out.append(f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]")
    elif kind in ("integer", "long", "float", "double"):
        number = _SPECIAL_FLOATS.get(value, value) if isinstance(value, str) else value
        if "min" in meta and not math.isnan(number) and number < meta["min"]:
            out.append(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and not math.isnan(number) and number > meta["max"]:
            out.append(f"Member must have value less than or equal to {meta['max']}")
    return out


def walk(value: Any, shape: Any, path: tuple, out: list[Violation], strict: bool) -> None:
    """Collect the violations of value against shape.  strict: the wire carries member names
    and types (JSON, CBOR), so unknown members and wrong types are reported too."""
    if value is None or shape is None:
        return
    kind = shape.type_name
    if kind == "structure":
        if shape.metadata.get("document"):
            return
        if not isinstance(value, dict):
            if strict:
                out.append(Violation(path, value, "Member must be a structure", "type"))
            return
        for name in shape.required_members:
            if value.get(name) is None:
                out.append(Violation(path + (name,), None, "Member must not be null", "required"))
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None:
                if strict:
                    out.append(Violation(path + (name,), member_value,
                                         "Member is not a member of the input", "unknown"))
                continue
            walk(member_value, member, path + (name,), out, strict)
        return
    if kind == "list":
        if not isinstance(value, list):
            if strict:
                out.append(Violation(path, value, "Member must be a list", "type"))
            return
        out.extend(Violation(path, value, message)
                   for message in _length_constraints(len(value), shape.metadata))
        for i, item in enumerate(value, 1):
            if item is None and strict:
                out.append(Violation(path + (i,), None, "Member must not be null", "required"))
                continue
            walk(item, shape.member, path + (i,), out, strict)
        return
    if kind == "map":
        if not isinstance(value, dict):
            if strict:
                out.append(Violation(path, value, "Member must be a map", "type"))
            return
        out.extend(Violation(path, value, message)
                   for message in _length_constraints(len(value), shape.metadata))
        key_errors: list[str] = []
        value_errors: list[str] = []
        for key, item in value.items():
            for text in _scalar_constraints(key, shape.key) if isinstance(key, str) else []:
                if text not in key_errors:
                    key_errors.append(text)
            if item is None:
                continue
            if shape.value.type_name in ("structure", "list", "map"):
                walk(item, shape.value, path + (str(key),), out, strict)
            elif not _type_ok(item, shape.value.type_name):
                if strict:
                    out.append(Violation(path, value, "Map value has the wrong type", "type"))
            else:
                for text in _scalar_constraints(item, shape.value):
                    if text not in value_errors:
                        value_errors.append(text)
        if key_errors:
            out.append(Violation(path, value,
                                 f"Map keys must satisfy constraint: [{', '.join(key_errors)}]"))
        if value_errors:
            out.append(Violation(path, value,
                                 f"Map value must satisfy constraint: [{', '.join(value_errors)}]"))
        return
    if not _type_ok(value, kind):
        # Query/REST strings that did not convert to the member's type, or a JSON/CBOR type error.
        out.append(Violation(path, value, f"Member must be of type {kind}", "type"))
        return
    for text in _scalar_constraints(value, shape):
        out.append(Violation(path, value, text))


# ---------------------------------------------------------------------------
# documented rules the models do not encode
# ---------------------------------------------------------------------------


def _percent_of(size: Any, count: int) -> float | None:
    """A CapacitySize ({"Type": INSTANCE_COUNT | CAPACITY_PERCENT, "Value": n}) as a percentage
    of the variant's `count` instances; None when it is not one."""
    if not isinstance(size, dict) or not _is_number(size.get("Value")):
        return None
    kind, value = size.get("Type"), size["Value"]
    if kind == "INSTANCE_COUNT":
        return 100.0 * value / count if count else math.inf
    if kind == "CAPACITY_PERCENT":
        return float(value)
    return None


def _capacity_violation(size: dict | None, count: int, what: str, variant: str) -> str | None:
    """SageMaker: a rolling batch "must be between 5% to 50% of the variant's total instance
    count" (API_RollingUpdatePolicy)."""
    percent = _percent_of(size, count)
    if percent is None:
        return None
    kind, value = size.get("Type"), size["Value"]
    if 5.0 <= percent <= 50.0:
        return None
    return (f"{what} of {kind} {value} is {percent:g}% of the {count} instance(s) of production "
            f"variant '{variant}': it must be between 5% and 50% of the variant's total "
            "instance count.")


def _sagemaker_backends(req: awsrequest.AwsRequest) -> list[Any]:
    """moto's SageMaker backends, the request's region first."""
    from moto.sagemaker.models import sagemaker_backends
    found = []
    for account_id, regions in list(sagemaker_backends.items()):
        for region, backend in list(regions.items()):
            found.insert(0, backend) if region == req.region else found.append(backend)
    return found


def _endpoint_config_variants(req: awsrequest.AwsRequest, name: str) -> list[dict] | None:
    for backend in _sagemaker_backends(req):
        config = backend.endpoint_configs.get(name)
        if config is not None:
            return config.production_variants
    return None


def _serving_variants(req: awsrequest.AwsRequest, endpoint_name: str) -> list[dict] | None:
    """The production variants of the config the endpoint serves now (None: no such endpoint)."""
    for backend in _sagemaker_backends(req):
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is not None:
            return _endpoint_config_variants(req, endpoint.endpoint_config_name) or []
    return None


def _alarm_exists(req: awsrequest.AwsRequest, name: str) -> bool:
    """Whether moto's CloudWatch (the request's account and region) holds an alarm of that name."""
    from moto.cloudwatch.models import cloudwatch_backends
    for account_id, regions in list(cloudwatch_backends.items()):
        for region, backend in list(regions.items()):
            if region == (req.region or "us-east-1") and name in backend.alarms:
                return True
    return False


def _routing_size_violation(routing: dict, count: int, variant: str) -> str | None:
    """API_TrafficRoutingConfig: CanarySize "must be less than or equal to 50% of the variant's
    total instance count", LinearStepSize "must be 10-50%"."""
    for member, low in (("CanarySize", 0.0), ("LinearStepSize", 10.0)):
        size = routing.get(member)
        percent = _percent_of(size, count)
        if percent is None:
            continue
        kind, value = size.get("Type"), size["Value"]
        if not low <= percent <= 50.0:
            bounds = "at most 50%" if low == 0 else f"between {low:g}% and 50%"
            return (f"TrafficRoutingConfiguration.{member} of {kind} {value} is {percent:g}% of "
                    f"the {count} instance(s) of production variant '{variant}': it must be "
                    f"{bounds} of the variant's total instance count.")
    return None


def _sagemaker_deployment(req: awsrequest.AwsRequest) -> list[Rejection]:
    """DeploymentConfig of CreateEndpoint / UpdateEndpoint (API_DeploymentConfig and the
    deployment guardrails guide); see DOCUMENTED_RULES."""
    deployment = req.params.get("DeploymentConfig")
    if not isinstance(deployment, dict):
        return []
    out = []
    rolling = deployment.get("RollingUpdatePolicy")
    blue_green = deployment.get("BlueGreenUpdatePolicy")
    rolling = rolling if isinstance(rolling, dict) else None
    blue_green = blue_green if isinstance(blue_green, dict) else None
    if rolling and blue_green:
        out.append(Rejection("ValidationException",
                             "Only one of BlueGreenUpdatePolicy and RollingUpdatePolicy can be "
                             "specified in DeploymentConfig."))
    config_name = str(req.params.get("EndpointConfigName"))
    variants = _endpoint_config_variants(req, config_name)
    if blue_green:
        # API_BlueGreenUpdatePolicy: "the timeout value should be larger than the total waiting
        # time specified in TerminationWaitInSeconds and WaitIntervalInSeconds".
        routing = blue_green.get("TrafficRoutingConfiguration")
        routing = routing if isinstance(routing, dict) else {}
        timeout = blue_green.get("MaximumExecutionTimeoutInSeconds")
        termination = blue_green.get("TerminationWaitInSeconds") or 0
        interval = routing.get("WaitIntervalInSeconds") or 0
        if (_is_number(timeout) and _is_number(termination) and _is_number(interval)
                and timeout <= termination + interval):
            out.append(Rejection(
                "ValidationException",
                f"BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds ({timeout}) must be "
                "greater than the total waiting time: TerminationWaitInSeconds "
                f"({termination}) + TrafficRoutingConfiguration.WaitIntervalInSeconds "
                f"({interval}) = {termination + interval}."))
        for variant in variants or []:
            count = variant.get("InitialInstanceCount")
            if _is_number(count):
                problem = _routing_size_violation(routing, int(count),
                                                  variant.get("VariantName", ""))
                if problem:
                    out.append(Rejection("ValidationException", problem))
    if rolling:
        for variant in variants or []:
            count = variant.get("InitialInstanceCount")
            if not _is_number(count):
                continue  # serverless variant: no instance count
            name = variant.get("VariantName", "")
            for member in ("MaximumBatchSize", "RollbackMaximumBatchSize"):
                problem = _capacity_violation(rolling.get(member), int(count), member, name)
                if problem:
                    out.append(Rejection("ValidationException", problem))
    rollback = deployment.get("AutoRollbackConfiguration")
    alarms = rollback.get("Alarms") if isinstance(rollback, dict) else None
    for alarm in alarms if isinstance(alarms, list) else []:
        name = alarm.get("AlarmName") if isinstance(alarm, dict) else None
        if isinstance(name, str) and not _alarm_exists(req, name):
            # Deployment guardrails guide: the auto-rollback alarms must exist (SageMaker reads
            # them with cloudwatch:DescribeAlarms before it starts the deployment).
            out.append(Rejection(
                "ValidationException",
                f"The CloudWatch alarm '{name}' in DeploymentConfig.AutoRollbackConfiguration."
                "Alarms does not exist. Create the alarm before you reference it."))
    if req.operation == "UpdateEndpoint" and (rolling or blue_green) and variants is not None:
        # Deployment guardrails, Exclusions: "When doing a blue/green or rolling deployment,
        # your new endpoint configuration must have the same variant name as the old endpoint
        # configuration."
        serving = _serving_variants(req, str(req.params.get("EndpointName")))
        new_names = sorted(str(v.get("VariantName")) for v in variants)
        old_names = sorted(str(v.get("VariantName")) for v in serving or [])
        if serving is not None and new_names != old_names:
            out.append(Rejection(
                "ValidationException",
                f"The production variant names of endpoint config '{config_name}' "
                f"({', '.join(new_names)}) differ from the ones the endpoint serves "
                f"({', '.join(old_names)}): a blue/green or rolling update (DeploymentConfig) "
                "needs the same ProductionVariants.VariantName."))
    return out


# API_StoppingCondition: "The maximum length of time ... is 28 days."
MAX_TRAINING_RUNTIME_SECONDS = 28 * 86400


def _sagemaker_training_job(req: awsrequest.AwsRequest) -> list[Rejection]:
    stopping = req.params.get("StoppingCondition")
    stopping = stopping if isinstance(stopping, dict) else {}
    runtime = stopping.get("MaxRuntimeInSeconds")
    if _is_number(runtime) and runtime > MAX_TRAINING_RUNTIME_SECONDS:
        return [Rejection(
            "ValidationException",
            f"StoppingCondition.MaxRuntimeInSeconds ({runtime}) must be less than or equal to "
            f"{MAX_TRAINING_RUNTIME_SECONDS} seconds (28 days).")]
    # Managed spot training (API_StoppingCondition, the managed spot training guide):
    # MaxWaitTimeInSeconds only with EnableManagedSpotTraining (SageMaker's own words below),
    # required with it, and "equal to or greater than MaxRuntimeInSeconds".
    spot = req.params.get("EnableManagedSpotTraining") is True
    wait = stopping.get("MaxWaitTimeInSeconds")
    if wait is not None and not spot:
        return [Rejection("ValidationException",
                          "Invalid MaxWaitTimeInSeconds. It is only supported when "
                          "EnableManagedSpotTraining is set to true")]
    if spot and wait is None:
        return [Rejection("ValidationException",
                          "Invalid MaxWaitTimeInSeconds. It is required when "
                          "EnableManagedSpotTraining is set to true")]
    if spot and _is_number(wait) and _is_number(runtime) and wait < runtime:
        return [Rejection("ValidationException",
                          f"Invalid MaxWaitTimeInSeconds ({wait}). It must be greater than or "
                          f"equal to MaxRuntimeInSeconds ({runtime})")]
    return []


SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)


def _is_serverless(variants: list[dict] | None) -> bool:
    return any(isinstance(v, dict) and v.get("ServerlessConfig") for v in variants or [])


def _sagemaker_endpoint_config(req: awsrequest.AwsRequest) -> list[Rejection]:
    """CreateEndpointConfig's serverless rules (API_ProductionVariantServerlessConfig, the
    serverless inference guide's feature exclusions)."""
    variants = req.params.get("ProductionVariants")
    variants = [v for v in variants if isinstance(v, dict)] if isinstance(variants, list) else []
    out = []
    for v in variants:
        config = v.get("ServerlessConfig")
        if not isinstance(config, dict):
            continue
        name = v.get("VariantName", "")
        if v.get("InstanceType") is not None or v.get("InitialInstanceCount") is not None:
            out.append(Rejection(
                "ValidationException",
                f"Production variant '{name}' specifies both ServerlessConfig and "
                "InstanceType/InitialInstanceCount: a variant is either serverless or "
                "instance-based."))
        memory = config.get("MemorySizeInMB")
        if _is_number(memory) and memory not in SERVERLESS_MEMORY_SIZES:
            out.append(Rejection(
                "ValidationException",
                f"ServerlessConfig.MemorySizeInMB ({memory}) of production variant '{name}' "
                "must be one of 1024, 2048, 3072, 4096, 5120, 6144 MB."))
        provisioned, most = config.get("ProvisionedConcurrency"), config.get("MaxConcurrency")
        if _is_number(provisioned) and _is_number(most) and provisioned > most:
            out.append(Rejection(
                "ValidationException",
                f"ServerlessConfig.ProvisionedConcurrency ({provisioned}) of production variant "
                f"'{name}' must be less than or equal to MaxConcurrency ({most})."))
    if _is_serverless(variants) and len(variants) > 1:
        out.append(Rejection(
            "ValidationException",
            "Serverless endpoints support one production variant: multiple production "
            "variants are not supported with ServerlessConfig."))
    return out


def _sagemaker_serverless_update(req: awsrequest.AwsRequest) -> list[Rejection]:
    """UpdateEndpoint to a serverless config: SageMaker cannot convert an instance-based endpoint
    to serverless (serverless inference guide: "you receive a ValidationError"), and a rolling
    deployment excludes serverless endpoints (deployment guardrails, Exclusions)."""
    variants = _endpoint_config_variants(req, str(req.params.get("EndpointConfigName")))
    if not _is_serverless(variants):
        return []
    out = []
    serving = _serving_variants(req, str(req.params.get("EndpointName")))
    if serving and not _is_serverless(serving):
        out.append(Rejection(
            "ValidationException",
            f"Endpoint '{req.params.get('EndpointName')}' is instance-based: it cannot be "
            "updated to the serverless endpoint config "
            f"'{req.params.get('EndpointConfigName')}'. Create a new endpoint with it."))
    deployment = req.params.get("DeploymentConfig")
    if isinstance(deployment, dict) and isinstance(deployment.get("RollingUpdatePolicy"), dict):
        out.append(Rejection(
            "ValidationException",
            "RollingUpdatePolicy is not supported for serverless endpoints: use a "
            "BlueGreenUpdatePolicy."))
    return out


_SUBJECT_FIRST = re.compile(r"[\w!-/:-@\[-`{-~]")  # a letter, a number or punctuation


def _sns_publish(req: awsrequest.AwsRequest) -> list[Rejection]:
    p = req.params
    out = []
    if not (p.get("TopicArn") or p.get("TargetArn") or p.get("PhoneNumber")):
        out.append(Rejection("InvalidParameter", "Invalid parameter: TopicArn or TargetArn "
                             "Reason: no value for required parameter"))
    subject = p.get("Subject")
    if subject is not None:
        # API_Publish: "Subjects must be UTF-8 text with no line breaks or control characters,
        # and less than 100 characters long" (earlier: ASCII, beginning with a letter, a number
        # or a punctuation mark).
        if (subject == "" or len(subject) >= 100
                or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in subject)
                or not _SUBJECT_FIRST.match(subject)):
            out.append(Rejection("InvalidParameter", "Invalid parameter: Subject"))
    message = p.get("Message")
    if message == "":
        out.append(Rejection("InvalidParameter", "Invalid parameter: Empty message"))
    elif isinstance(message, str):
        size = len(message.encode("utf-8"))
        for name, attribute in (p.get("MessageAttributes") or {}).items():
            size += len(str(name).encode("utf-8"))
            if isinstance(attribute, dict):
                for field in ("DataType", "StringValue"):
                    size += len(str(attribute.get(field) or "").encode("utf-8"))
                binary = attribute.get("BinaryValue")
                size += len(binary) if isinstance(binary, (bytes, bytearray)) else 0
        limit = _sns_max_message_size(req, p.get("TopicArn"))
        if size > limit:
            out.append(Rejection("InvalidParameter", "Invalid parameter: Message too long"))
        if p.get("MessageStructure") == "json":
            try:
                parsed = json.loads(message)
                ok = isinstance(parsed, dict) and isinstance(parsed.get("default"), str)
            except ValueError:
                ok = False
            if not ok:
                out.append(Rejection("InvalidParameter", "Invalid parameter: Message Structure "
                                     "- No default entry in JSON message body"))
    return out


def _sns_max_message_size(req: awsrequest.AwsRequest, topic_arn: Any) -> int:
    """256 KiB, or the topic's MaximumMessageSize (up to 1 MiB)."""
    if isinstance(topic_arn, str):
        from moto.sns.models import sns_backends
        parts = topic_arn.split(":")
        if len(parts) >= 6:
            try:
                topic = sns_backends[parts[4]][parts[3]].topics.get(topic_arn)
                size = (getattr(topic, "attributes", None) or {}).get("MaximumMessageSize") \
                    if topic is not None else None
                if size:
                    return min(int(size), 1048576)
            except (KeyError, ValueError, TypeError):
                pass
    return 262144


# API_MetricDatum: "CloudWatch rejects values that are either too small or too large. Values
# must be in the range of -2^360 to 2^360" -- in effect 0, or a magnitude between 8.515920e-109
# and 1.174271e+108 (2^-359 .. 2^359); NaN and +-Infinity are not supported.
METRIC_MIN_MAGNITUDE = 8.515920e-109
METRIC_MAX_MAGNITUDE = 1.174271e+108
# API_PutMetricData: a datum's Timestamp up to two weeks in the past and two hours ahead.
METRIC_MAX_AGE = timedelta(days=14)
METRIC_MAX_AHEAD = timedelta(hours=2)


def _metric_value_ok(number: float) -> bool:
    if math.isnan(number) or math.isinf(number):
        return False
    return number == 0 or METRIC_MIN_MAGNITUDE <= abs(number) <= METRIC_MAX_MAGNITUDE


def _timestamp(value: Any) -> datetime | None:
    """A timestamp member as sent: a datetime (CBOR tag 1), epoch seconds (JSON, CBOR) or text
    (query: ISO 8601); None when absent or unreadable (the model walk reports the type)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, datetime):
            when = value
        elif _is_number(value):
            when = datetime.fromtimestamp(value, timezone.utc)
        elif isinstance(value, str):
            from botocore.utils import parse_timestamp
            when = parse_timestamp(value)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _cloudwatch_put_metric_data(req: awsrequest.AwsRequest, raw_size: int) -> list[Rejection]:
    p = req.params
    out = []
    if raw_size > 1048576:
        out.append(Rejection("RequestEntityTooLarge",
                             "Request size exceeded 1048576 bytes", 413))
    namespace = p.get("Namespace")
    if isinstance(namespace, str):
        if namespace.startswith("AWS/"):
            out.append(Rejection("InvalidParameterValue",
                                 f"The value {namespace} for parameter Namespace is invalid."))
        elif any(ord(c) < 0x20 or ord(c) > 0x7E for c in namespace):
            out.append(Rejection("InvalidParameterValue",
                                 f"The value {namespace} for parameter Namespace is invalid."))
    data = p.get("MetricData") or []
    entity_data = p.get("EntityMetricData") or []
    all_data = [(("MetricData",), data)] + [
        (("EntityMetricData", i, "MetricData"), e.get("MetricData") or [])
        for i, e in enumerate(entity_data, 1) if isinstance(e, dict)]
    total = sum(len(d) for _, d in all_data if isinstance(d, list))
    if total == 0:
        out.append(Rejection("MissingParameter", "The parameter MetricData is required."))
    if total > 1000:
        out.append(Rejection("InvalidParameterValue",
                             f"The collection MetricData must not have a size greater than 1000."))
    for prefix, items in all_data:
        if not isinstance(items, list):
            continue
        for i, datum in enumerate(items, 1):
            if not isinstance(datum, dict):
                continue
            where = _query_path(prefix + (i,))
            if len(datum.get("Dimensions") or []) > 30:
                out.append(Rejection("InvalidParameterValue",
                                     f"The collection {where}.Dimensions must not have a size "
                                     "greater than 30."))
            given = [k for k in ("Value", "StatisticValues", "Values") if datum.get(k) is not None]
            if not given:
                out.append(Rejection("InvalidParameterCombination",
                                     f"At least one of the parameters {where}.Value and "
                                     f"{where}.StatisticValues must be specified."))
            elif len(given) > 1:
                # AWS's codes as moto records them: Value+Values is InvalidParameterValue.
                out.append(Rejection("InvalidParameterValue" if "Values" in given[:2]
                                     else "InvalidParameterCombination",
                                     f"The parameters {where}.{given[0]} and {where}.{given[1]} "
                                     "are mutually exclusive and you have specified both."))
            values = [("Value", datum.get("Value"))]
            values += [(f"Values.member.{j}", v) for j, v in enumerate(datum.get("Values") or [], 1)]
            stats = datum.get("StatisticValues")
            if isinstance(stats, dict):
                values += [(f"StatisticValues.{k}", stats.get(k)) for k in stats]
            for name, value in values:
                number = _SPECIAL_FLOATS.get(value, value) if isinstance(value, str) else value
                if _is_number(number) and not _metric_value_ok(number):
                    out.append(Rejection("InvalidParameterValue",
                                         f"The value {value} for parameter {where}.{name} is "
                                         "invalid."))
            when = _timestamp(datum.get("Timestamp"))
            if when is not None:
                now = datetime.now(timezone.utc)
                if when < now - METRIC_MAX_AGE:
                    out.append(Rejection("InvalidParameterValue",
                                         f"The parameter {where}.Timestamp must specify a time "
                                         "no more than two weeks in the past."))
                elif when > now + METRIC_MAX_AHEAD:
                    out.append(Rejection("InvalidParameterValue",
                                         f"The parameter {where}.Timestamp must specify a time "
                                         "no more than two hours in the future."))
            counts, vals = datum.get("Counts"), datum.get("Values")
            if isinstance(vals, list) and len(vals) > 150:
                out.append(Rejection("InvalidParameterValue",
                                     f"The collection {where}.Values must not have a size "
                                     "greater than 150."))
            if counts is not None and (not isinstance(vals, list) or len(counts) != len(vals)):
                out.append(Rejection("InvalidParameterValue",
                                     f"The parameters {where}.Values and {where}.Counts must be "
                                     "of the same size."))
            if datum.get("StorageResolution") not in (None, 1, 60):
                out.append(Rejection("InvalidParameterValue",
                                     f"The value {datum.get('StorageResolution')} for parameter "
                                     f"{where}.StorageResolution is invalid."))
    return out


def _cloudwatch_put_metric_alarm(req: awsrequest.AwsRequest, raw_size: int) -> list[Rejection]:
    """API_PutMetricAlarm: MetricName, Metrics or EvaluationCriteria; with MetricName exactly one
    of Statistic/ExtendedStatistic and a Period of 10, 20, 30 or a multiple of 60; with Metrics
    none of the single-metric parameters; a Threshold unless ThresholdMetricId; M <= N."""
    p = req.params
    given = {k for k, v in p.items() if v is not None}
    out = []
    if not given & {"MetricName", "Metrics", "EvaluationCriteria"}:
        out.append(Rejection("MissingParameter", "At least one of the parameters MetricName, "
                             "Metrics or EvaluationCriteria must be specified."))
    if "Metrics" in given:
        for name in ("MetricName", "Namespace", "Dimensions", "Period", "Unit", "Statistic",
                     "ExtendedStatistic"):
            if name in given:
                out.append(Rejection("InvalidParameterCombination",
                                     f"The parameters Metrics and {name} are mutually exclusive "
                                     "and you have specified both."))
    if "MetricName" in given:
        if "Statistic" in given and "ExtendedStatistic" in given:
            out.append(Rejection("InvalidParameterCombination",
                                 "The parameters Statistic and ExtendedStatistic are mutually "
                                 "exclusive and you have specified both."))
        if not given & {"Statistic", "ExtendedStatistic"}:
            out.append(Rejection("MissingParameter", "At least one of the parameters Statistic "
                                 "and ExtendedStatistic must be specified."))
        if "Period" not in given:
            out.append(Rejection("MissingParameter", "The parameter Period is required."))
    period = p.get("Period")
    if _is_number(period) and period not in (10, 20, 30) and period % 60 != 0:
        out.append(Rejection("InvalidParameterValue", f"The value {period} for parameter Period "
                             "is invalid: valid values are 10, 20, 30 and any multiple of 60."))
    if not given & {"Threshold", "ThresholdMetricId", "EvaluationCriteria"}:
        out.append(Rejection("MissingParameter", "The parameter Threshold is required."))
    evaluation, datapoints = p.get("EvaluationPeriods"), p.get("DatapointsToAlarm")
    if _is_number(evaluation) and _is_number(datapoints) and datapoints > evaluation:
        out.append(Rejection("InvalidParameterValue", "DatapointsToAlarm must be less than or "
                             "equal to EvaluationPeriods."))
    if _is_number(period) and _is_number(evaluation) and period * evaluation > 7 * 86400:
        out.append(Rejection("InvalidParameterValue", "The evaluation period of the alarm (Period "
                             "* EvaluationPeriods) must not exceed 7 days (604800 seconds)."))
    return out


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d+\.\d+\.\d+\.\d+")


def bucket_name_problem(name: str) -> str | None:
    """S3 general purpose bucket naming rules (bucketnamingrules.html)."""
    if not _BUCKET.fullmatch(name):
        return "The specified bucket is not valid."
    if ".." in name or ".-" in name or "-." in name or _IPV4.fullmatch(name):
        return "The specified bucket is not valid."
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or \
            name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")):
        return "The specified bucket is not valid."
    return None


def _s3(req: awsrequest.AwsRequest) -> list[Rejection]:
    out = []
    bucket = req.params.get("Bucket")
    if isinstance(bucket, str):
        problem = bucket_name_problem(bucket)
        # Existing buckets are answered by name; only a new name must follow today's rules.
        if problem and (req.operation == "CreateBucket" or not _s3_bucket_exists(bucket)):
            out.append(Rejection("InvalidBucketName", problem))
    for member in ("Key", "CopySource"):
        key = req.params.get(member)
        if member == "CopySource" and isinstance(key, str):
            key = key.split("?")[0].split("/", 1)[-1]
        if isinstance(key, str) and len(key.encode("utf-8")) > 1024:
            out.append(Rejection("KeyTooLongError", "Your key is too long"))
    return out


def _s3_bucket_exists(name: str) -> bool:
    from moto.s3.models import s3_backends
    for account_id, partitions in list(s3_backends.items()):
        for partition, backend in list(partitions.items()):
            if name in backend.buckets:
                return True
    return False


# Documented rules (AWS API references), per (service, operation or "*"):
#   SageMaker Create/UpdateEndpoint: RollingUpdatePolicy.MaximumBatchSize and
#     RollbackMaximumBatchSize between 5% and 50% of each variant's InitialInstanceCount
#     (endpoint config from moto's backend); not both BlueGreen and Rolling policies;
#     BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds greater than
#     TerminationWaitInSeconds + WaitIntervalInSeconds (as API_BlueGreenUpdatePolicy states it;
#     no per-step multiple for CANARY/LINEAR, which the reference does not state); CanarySize
#     <= 50%, LinearStepSize 10-50% of the instances; every AutoRollbackConfiguration alarm
#     exists in moto's CloudWatch (same region); UpdateEndpoint with a blue/green or rolling
#     policy: the new config's variant names are the serving config's.
#     (The 600-28800 and 0-3600 ranges come from the model.)
#   SageMaker CreateTrainingJob: StoppingCondition.MaxRuntimeInSeconds <= 28 days;
#     MaxWaitTimeInSeconds only and always with EnableManagedSpotTraining, >= MaxRuntimeInSeconds.
#   SageMaker CreateEndpointConfig: a serverless variant has no InstanceType or
#     InitialInstanceCount, a memory size of 1024-6144 in 1 GB steps, ProvisionedConcurrency <=
#     MaxConcurrency, and is the config's only variant.
#   SageMaker UpdateEndpoint to a serverless config: not from an instance-based endpoint, not
#     with a RollingUpdatePolicy.
#   SNS Publish: TopicArn/TargetArn/PhoneNumber; Subject non-empty, < 100 characters, no
#     control characters or line breaks, starting with a letter, number or punctuation;
#     Message non-empty, body + attributes <= 256 KiB (or the topic's MaximumMessageSize);
#     MessageStructure=json needs a "default" string.
#   CloudWatch PutMetricData: request <= 1 MB, Namespace not "AWS/..." and printable ASCII,
#     <= 1000 data (MetricData + EntityMetricData), <= 30 dimensions, <= 150 Values, Counts as
#     many as Values, one of Value/StatisticValues/Values, values 0 or of magnitude
#     8.515920e-109..1.174271e+108 (no NaN/Infinity), Timestamp within two weeks past / two
#     hours ahead, StorageResolution 1 or 60.  PutMetricAlarm: MetricName/Metrics/
#     EvaluationCriteria, Statistic xor ExtendedStatistic, Period 10/20/30/60n, Threshold, DatapointsToAlarm <= EvaluationPeriods.
#   S3: bucket naming rules (new buckets, and unknown ones), keys <= 1024 bytes of UTF-8.
# rule(req, raw body size) -> rejections
DOCUMENTED_RULES: dict[tuple[str, str], Callable[[awsrequest.AwsRequest, int], list[Rejection]]] = {
    ("sagemaker", "UpdateEndpoint"): lambda r, n: (_sagemaker_serverless_update(r)
                                                   + _sagemaker_deployment(r)),
    ("sagemaker", "CreateEndpointConfig"): lambda r, n: _sagemaker_endpoint_config(r),
    ("sagemaker", "CreateEndpoint"): lambda r, n: _sagemaker_deployment(r),
    ("sagemaker", "CreateTrainingJob"): lambda r, n: _sagemaker_training_job(r),
    ("sns", "Publish"): lambda r, n: _sns_publish(r),
    ("cloudwatch", "PutMetricData"): _cloudwatch_put_metric_data,
    ("cloudwatch", "PutMetricAlarm"): _cloudwatch_put_metric_alarm,
    ("s3", "*"): lambda r, n: _s3(r),
}


# ---------------------------------------------------------------------------
# error responses, per protocol
# ---------------------------------------------------------------------------


def _request_id() -> str:
    return str(uuid.uuid4())


def _model_rejection(req: awsrequest.AwsRequest, violations: list[Violation]) -> Rejection:
    """The error AWS answers for model violations, per service."""
    if req.protocol in ("json", "smithy-rpc-v2-cbor") and any(
            v.kind in ("unknown", "type") for v in violations):
        wrong = next(v for v in violations if v.kind in ("unknown", "type"))
        what = (f"Unknown member '{_query_path(wrong.path)}'" if wrong.kind == "unknown"
                else f"Wrong type at '{_query_path(wrong.path)}': {wrong.constraint}")
        return Rejection("SerializationException", what)
    if req.service == "cloudwatch":
        missing = next((v for v in violations if v.kind == "required"), None)
        if missing is not None:
            return Rejection("MissingParameter",
                             f"The parameter {_query_path(missing.path)} is required.")
        return Rejection("InvalidParameterValue", coral_message(violations))
    if req.service == "sns":
        return Rejection("ValidationError", coral_message(violations))
    if req.service == "s3":
        return Rejection("InvalidArgument", coral_message(violations))
    if req.service == "sagemaker-runtime":
        return Rejection("ValidationError", coral_message(violations))
    return Rejection("ValidationException", coral_message(violations))


def refusal(req: awsrequest.AwsRequest, rejection: Rejection) -> Refusal:
    code, message, status = rejection.code, rejection.message, rejection.status
    request_id = _request_id()
    if req.protocol == "json":
        json_version = awsrequest.service_model(req.service).metadata.get("jsonVersion", "1.1")
        headers = {"Content-Type": f"application/x-amz-json-{json_version}",
                   "x-amzn-ErrorType": code, "x-amzn-RequestId": request_id}
        if awsrequest.service_model(req.service).metadata.get("awsQueryCompatible") is not None:
            headers["x-amzn-query-error"] = f"{code};Sender"
        return status, headers, json.dumps({"__type": code, "message": message}).encode()
    if req.protocol == "rest-json":
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code,
                   "x-amzn-RequestId": request_id}
        return status, headers, json.dumps({"message": message}).encode()
    if req.protocol == "smithy-rpc-v2-cbor":
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor",
                   "x-amzn-RequestId": request_id, "x-amzn-query-error": f"{code};Sender"}
        return status, headers, cbor2.dumps({"__type": code, "message": message})
    if req.protocol == "query":
        namespace = {"sns": "http://sns.amazonaws.com/doc/2010-03-31/",
                     "cloudwatch": "http://monitoring.amazonaws.com/doc/2010-08-01/"}.get(
                         req.service, "")
        body = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
                f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode()
    # S3 (rest-xml)
    extra = ""
    if code == "InvalidBucketName" and isinstance(req.params.get("Bucket"), str):
        extra = f"<BucketName>{escape(req.params['Bucket'])}</BucketName>"
    elif code == "KeyTooLongError":
        key = req.params.get("Key") or ""
        extra = f"<Size>{len(str(key).encode('utf-8'))}</Size><MaxSizeAllowed>1024</MaxSizeAllowed>"
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{extra}"
            f"<RequestId>{request_id}</RequestId><HostId>emulator</HostId></Error>")
    return status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, \
        body.encode()


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------


def validate(req: awsrequest.AwsRequest, raw_size: int = 0,
             ignore: list[str] = ()) -> Rejection | None:
    """The first error AWS would answer for this request, or None.  ignore: texts; a violation
    whose message contains one of them is logged and skipped (EMULATOR_VALIDATE_IGNORE)."""

    def kept(text: str) -> bool:
        if any(t in text for t in ignore):
            _log(f"[validate] IGNORED (EMULATOR_VALIDATE_IGNORE) {req.service}.{req.operation}: "
                 f"{text}")
            return False
        return True

    operation = awsrequest.operation_model(req.service, req.operation)
    if operation is None:
        return None
    violations: list[Violation] = []
    strict = req.protocol in ("json", "smithy-rpc-v2-cbor")
    if operation.input_shape is not None:
        walk(req.params, operation.input_shape, (), violations, strict)
    if req.protocol == "rest-xml":
        # Only what reaches the wire: URI/header/query members and a parsed XML payload.
        # Missing required body members of a blob payload are not violations.
        violations = [v for v in violations
                      if not (v.kind == "required" and _is_payload_member(operation, v.path))]
    violations = [v for v in violations if kept(coral_message([v]))]
    if violations:
        return _model_rejection(req, violations)
    for key in ((req.service, req.operation), (req.service, "*")):
        rule = DOCUMENTED_RULES.get(key)
        if rule:
            problems = [p for p in rule(req, raw_size) if kept(p.message)]
            if problems:
                return problems[0]
    return None


def _is_payload_member(operation: Any, path: tuple) -> bool:
    payload = operation.input_shape.serialization.get("payload")
    return bool(path) and path[0] == payload and \
        operation.input_shape.members[payload].type_name in ("blob", "string")


def _log(line: str) -> None:
    """To stderr (the emulator's log) and to $EMULATOR_VALIDATE_LOG when set."""
    print(line, file=sys.stderr, flush=True)
    path = os.environ.get("EMULATOR_VALIDATE_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def _ignored() -> list[tuple[str, str]]:
    """EMULATOR_VALIDATE_IGNORE: comma-separated `Operation:text` entries; a violation in that
    operation whose message contains text is skipped (with a log line).  For known
    findings that are being fixed, so that a run can look past them; never set it in CI."""
    out = []
    for entry in os.environ.get("EMULATOR_VALIDATE_IGNORE", "").split(","):
        operation, _, text = entry.strip().partition(":")
        if operation:
            out.append((operation, text))
    return out


def check(environ: dict) -> Refusal | None:
    """REQUEST_CHECKS entry: the refusal AWS would answer, or None to let the request through.
    Every refusal is logged to stderr (the emulator's log) with the message AWS would send."""
    req = awsrequest.parse_request(environ)
    if os.environ.get("EMULATOR_VALIDATE_TRACE"):  # every request as parsed, for debugging
        _log(f"[validate] trace {environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} -> "
             + (f"{req.service}.{req.operation} ({req.protocol}) {req.params!r:.300}"
                if req else "not parsed"))
    if req is None:
        return None
    try:
        raw_size = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raw_size = 0
    ignore = [text for op, text in _ignored() if op == req.operation]
    rejection = validate(req, raw_size, ignore)
    if rejection is None:
        return None
    _log(f"[validate] refused {req.service}.{req.operation} (key {req.access_key}): "
         f"{rejection.code}: {rejection.message}")
    status, headers, body = refusal(req, rejection)
    if environ.get("REQUEST_METHOD", "").upper() == "HEAD":
        body = b""  # a HEAD answer has no body; the code travels in the status only
    return status, headers, body
