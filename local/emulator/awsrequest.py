"""Parse a WSGI request to an AWS API into (service, operation, input parameters).

`parse_request(environ)` recognises the protocols the project's SDKs speak to the
emulator and turns the wire form back into botocore's input-shape form (member
names as in the botocore model, nested dicts/lists):

  * awsJson1_0 / awsJson1_1 (SageMaker; CloudWatch's old JSON API): X-Amz-Target
    "<targetPrefix>.<Operation>", JSON body.
  * Smithy RPC v2 CBOR (CloudWatch, aws-sdk-cloudwatch for Rust >= 1.100): POST
    /service/<Smithy service>/operation/<Operation>, CBOR body, maybe gzip.
  * awsQuery (SNS; CloudWatch's old query API): form body (or query string)
    Action=<Operation>&Version=<apiVersion>&..., flattened members
    (`Tags.member.1.Key`, `Attributes.entry.1.key`, ...).
  * restXml (S3, path-style /bucket/key): method + path + query select the
    operation from the botocore model's requestUri; URI, query-string and
    header members are filled in, an XML structure payload is parsed (blob
    payloads such as PutObject's Body are not read into params).

The body is read once and put back as io.BytesIO, so whoever comes next reads
the request as sent.  Values keep their wire scalar types where the wire has
them (JSON/CBOR numbers, CBOR datetimes); query/header/URI strings are converted
to int/float/bool where the shape says so (left as strings when they do not
convert, so that a validator can report them).
"""

from __future__ import annotations

import base64
import functools
import gzip
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import botocore.session
import cbor2
from botocore.model import OperationNotFoundError

__all__ = ["AwsRequest", "parse_request", "service_model", "operation_model"]


@dataclass
class AwsRequest:
    service: str            # botocore service name: "sagemaker", "s3", "sns", "cloudwatch", ...
    operation: str          # botocore operation name, e.g. "CreateTrainingJob"
    params: dict            # input in botocore's input-shape form
    access_key: str | None  # SigV4 Credential=<key>/...
    region: str | None      # SigV4 credential scope region
    protocol: str = ""      # "json", "smithy-rpc-v2-cbor", "query", "rest-xml"
    signing_name: str | None = field(default=None, repr=False)  # scope service, e.g. "monitoring"


# Services this module parses: botocore name <- SigV4 signing name.
SIGNING_NAMES = {"sagemaker": "sagemaker", "s3": "s3", "sns": "sns", "monitoring": "cloudwatch",
                 "states": "stepfunctions",
                 # retrain doctor's: the image, the role, the account's concurrency.
                 "ecr": "ecr", "iam": "iam", "lambda": "lambda"}
SERVICES = set(SIGNING_NAMES.values())
# Smithy service name in an RPC v2 CBOR URL -> botocore service name.
RPCV2_SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}
_RPCV2_PATH = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")


@functools.lru_cache(maxsize=None)
def service_model(name: str) -> Any:
    return botocore.session.get_session().get_service_model(name)


def operation_model(service: str, operation: str) -> Any | None:
    try:
        return service_model(service).operation_model(operation)
    except OperationNotFoundError:
        return None


@functools.lru_cache(maxsize=None)
def _target_prefixes() -> dict[str, str]:
    return {service_model(s).metadata.get("targetPrefix"): s for s in sorted(SERVICES)
            if service_model(s).metadata.get("targetPrefix")}


@functools.lru_cache(maxsize=None)
def _query_versions() -> dict[str, str]:
    return {service_model(s).metadata["apiVersion"]: s for s in sorted(SERVICES)
            if "query" in (service_model(s).metadata.get("protocols")
                           or [service_model(s).protocol])}


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------


def _credential(environ: dict) -> tuple[str | None, str | None, str | None]:
    """(access key, region, signing name) from the Authorization header or a presigned URL."""
    text = environ.get("HTTP_AUTHORIZATION") or ""
    if not text:
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        credential = query.get("X-Amz-Credential")
        if credential:
            text = f"Credential={credential}"
    match = _CREDENTIAL.search(text)
    if match:
        return match.group(1), match.group(3), match.group(4)
    match = re.search(r"^AWS ([^:\s]+):", text)  # SigV2 (no scope)
    return (match.group(1) if match else None), None, None


def _read_body(environ: dict) -> bytes:
    """Read the whole body and put it back, readable again from the start."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            body = stream.read(int(length))
        except ValueError:
            body = b""
    elif environ.get("wsgi.input_terminated") or "chunked" in environ.get(
            "HTTP_TRANSFER_ENCODING", "").lower():
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    if length:
        environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _decoded(body: bytes, environ: dict) -> bytes:
    """The body without its request compression (Content-Encoding: gzip)."""
    if "gzip" in environ.get("HTTP_CONTENT_ENCODING", "").lower():
        try:
            return gzip.decompress(body)
        except (OSError, EOFError):
            return body
    return body


def _path(environ: dict) -> str:
    """PATH_INFO as text (WSGI hands it over as latin-1 decoded bytes)."""
    raw = environ.get("PATH_INFO", "")
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def parse_request(environ: dict) -> AwsRequest | None:
    """The AWS API call in this WSGI request, or None when it is not one this module knows."""
    try:
        return _parse(environ)
    except Exception:  # never let a parsing problem break the emulator: let moto answer
        if not isinstance(environ.get("wsgi.input"), io.BytesIO):
            _read_body(environ)
        return None


def _parse(environ: dict) -> AwsRequest | None:
    access_key, region, signing_name = _credential(environ)
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "")

    def made(service: str, operation: str, params: dict, protocol: str) -> AwsRequest:
        return AwsRequest(service, operation, params, access_key, region, protocol, signing_name)

    # Smithy RPC v2 CBOR
    match = _RPCV2_PATH.match(path)
    if match and method == "POST" and match.group("service") in RPCV2_SERVICES:
        service = RPCV2_SERVICES[match.group("service")]
        operation = match.group("operation")
        body = _decoded(_read_body(environ), environ)
        if operation_model(service, operation) is None:
            return None
        params = cbor2.loads(body) if body else {}
        return made(service, operation, params if isinstance(params, dict) else {},
                    "smithy-rpc-v2-cbor")

    # awsJson: X-Amz-Target
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        prefix, operation = target.rsplit(".", 1)
        service = _target_prefixes().get(prefix)
        if service is None or operation_model(service, operation) is None:
            return None
        body = _decoded(_read_body(environ), environ)
        params = json.loads(body) if body.strip() else {}
        return made(service, operation, params if isinstance(params, dict) else {}, "json")

    service = SIGNING_NAMES.get(signing_name or "")
    content_type = environ.get("CONTENT_TYPE", "").lower()

    # awsQuery: Action=...&Version=...
    if service is None or service in _query_versions().values():
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        form: list[tuple[str, str]] = []
        if method == "POST" and (not content_type
                                 or content_type.startswith("application/x-www-form-urlencoded")):
            body = _decoded(_read_body(environ), environ)
            form = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        flat = dict(query + form)
        if "Action" not in flat:
            return None
        if service is None:
            service = _query_versions().get(flat.get("Version", ""))
            if service is None:
                return None
        operation = flat.pop("Action")
        flat.pop("Version", None)
        op = operation_model(service, operation)
        if op is None:
            return None
        params = _from_query(flat, op.input_shape, "") if op.input_shape else {}
        return made(service, operation, params or {}, "query")

    if service == "s3":
        return _parse_s3(environ, method, made)
    if service == "sagemaker":  # signed as sagemaker, no X-Amz-Target: the runtime's REST API
        return _parse_rest_json(environ, method, "sagemaker-runtime", made)
    return None


# ---------------------------------------------------------------------------
# restJson1 (sagemaker-runtime: POST /endpoints/{EndpointName}/invocations)
# ---------------------------------------------------------------------------


def _parse_rest_json(environ: dict, method: str, service: str, made: Any) -> AwsRequest | None:
    """URI labels and header members into params; a blob payload (InvokeEndpoint's Body) as the
    bytes sent."""
    segments = [unquote(s) for s in _path(environ).split("/") if s]
    headers = _headers(environ)
    for route_method, template, _literals, name in _rest_routes(service):
        labels = _match_path(template, segments) if route_method == method else None
        if labels is None:
            continue
        shape = service_model(service).operation_model(name).input_shape
        params: dict[str, Any] = {}
        for member_name, member in (shape.members.items() if shape else ()):
            where = member.serialization.get("location")
            wire = member.serialization.get("name", member_name)
            if where == "uri" and wire in labels:
                params[member_name] = labels[wire]
            elif where == "header" and wire.lower() in headers:
                params[member_name] = _scalar(headers[wire.lower()], member)
        payload = shape.serialization.get("payload") if shape else None
        if payload:
            params[payload] = _decoded(_read_body(environ), environ)
        return made(service, name, params, "rest-json")
    return None


# ---------------------------------------------------------------------------
# awsQuery
# ---------------------------------------------------------------------------


def _serialized_name(shape: Any, default: str) -> str:
    return shape.serialization.get("name", default)


def _present(flat: dict, prefix: str) -> bool:
    if prefix in flat:
        return True
    dotted = prefix + "."
    return any(k.startswith(dotted) for k in flat)


def _indices(flat: dict, prefix: str) -> list[int]:
    found = set()
    dotted = prefix + "."
    for key in flat:
        if key.startswith(dotted):
            head = key[len(dotted):].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def _scalar(value: str, shape: Any) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
        if kind == "boolean":
            return {"true": True, "false": False}.get(value.lower(), value)
        if kind == "blob":
            return base64.b64decode(value)
    except ValueError:
        return value
    return value


def _from_query(flat: dict, shape: Any, prefix: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            key = _serialized_name(member, name)
            sub = f"{prefix}.{key}" if prefix else key
            if _present(flat, sub):
                out[name] = _from_query(flat, member, sub)
        return out
    if kind == "list":
        if flat.get(prefix) == "":
            return []
        if shape.serialization.get("flattened"):
            list_prefix = prefix
            if shape.member.serialization.get("name"):
                list_prefix = ".".join(prefix.split(".")[:-1] + [shape.member.serialization["name"]])
        else:
            list_prefix = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        return [_from_query(flat, shape.member, f"{list_prefix}.{i}")
                for i in _indices(flat, list_prefix)]
    if kind == "map":
        full = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = _serialized_name(shape.key, "key")
        value_name = _serialized_name(shape.value, "value")
        out = {}
        for i in _indices(flat, full):
            key = flat.get(f"{full}.{i}.{key_name}")
            value_prefix = f"{full}.{i}.{value_name}"
            out[key] = (_from_query(flat, shape.value, value_prefix)
                        if _present(flat, value_prefix) else None)
        return out
    return _scalar(flat.get(prefix, ""), shape)


# ---------------------------------------------------------------------------
# S3 (restXml, path-style)
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _rest_routes(service: str) -> list[tuple[str, list[str], dict[str, str | None], str]]:
    """(method, path segments of the template, literal query {key: value or None}, operation)."""
    routes = []
    model = service_model(service)
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        literals: dict[str, str | None] = {}
        for part in filter(None, query.split("&")):
            key, eq, value = part.partition("=")
            literals[key] = value if eq else None
        routes.append((http.get("method", "GET").upper(),
                       [s for s in path.split("/") if s], literals, name))
    return routes


def _match_path(template: list[str], segments: list[str]) -> dict[str, str] | None:
    labels: dict[str, str] = {}
    for i, part in enumerate(template):
        if part.startswith("{") and part.endswith("+}"):  # greedy label: the rest of the path
            rest = "/".join(segments[i:])
            if not rest:
                return None
            labels[part[1:-2]] = rest
            return labels
        if i >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            labels[part[1:-1]] = segments[i]
        elif part != segments[i]:
            return None
    return labels if len(template) == len(segments) else None


def _headers(environ: dict) -> dict[str, str]:
    out = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out[key[5:].replace("_", "-").lower()] = value
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            out[key.replace("_", "-").lower()] = environ[key]
    return out


def _parse_s3(environ: dict, method: str, made: Any) -> AwsRequest | None:
    path = _path(environ)
    if not path.startswith("/"):
        path = "/" + path
    # Path-style only: /bucket/key (the key keeps its inner and trailing slashes).
    bucket, _, key = path[1:].partition("/")
    segments = [bucket] + ([key] if key else []) if bucket else []
    query_pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    query = dict(query_pairs)
    headers = _headers(environ)
    model = service_model("s3")

    candidates = []
    for route_method, template, literals, name in _rest_routes("s3"):
        if route_method != method:
            continue
        labels = _match_path(template, segments)
        if labels is None:
            continue
        if any(k not in query or (v is not None and query[k] != v) for k, v in literals.items()):
            continue
        op = model.operation_model(name)
        shape = op.input_shape
        required_here = True
        located = 0
        if shape is not None:
            for member_name in shape.required_members:
                member = shape.members[member_name]
                where = member.serialization.get("location")
                wire = member.serialization.get("name", member_name)
                if where == "querystring":
                    required_here &= wire in query
                    located += 1
                elif where == "header":
                    required_here &= wire.lower() in headers
                    located += 1
        if not required_here:
            continue
        named = query.get("x-id") == name
        candidates.append((named, len(literals), located, not op.deprecated, name, labels))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[:4], reverse=True)
    _, _, _, _, operation, labels = candidates[0]
    op = model.operation_model(operation)
    shape = op.input_shape
    params: dict[str, Any] = {}
    if shape is None:
        return made("s3", operation, params, "rest-xml")

    body: bytes | None = None
    for name, member in shape.members.items():
        where = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if where == "uri":
            if wire in labels:
                params[name] = labels[wire]
        elif where == "querystring":
            if member.type_name == "list":
                values = [v for k, v in query_pairs if k == wire]
                if values:
                    params[name] = [_scalar(v, member.member) for v in values]
            elif member.type_name == "map":
                params[name] = dict(query)
            elif wire in query:
                params[name] = _scalar(query[wire], member)
        elif where == "header":
            if wire.lower() in headers:
                value = headers[wire.lower()]
                if member.type_name == "list":
                    params[name] = [v.strip() for v in value.split(",")]
                else:
                    params[name] = _scalar(value, member)
        elif where == "headers":
            prefix = wire.lower()
            found = {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}
            if found:
                params[name] = found
    payload = shape.serialization.get("payload")
    if payload:
        member = shape.members[payload]
        streaming = headers.get("x-amz-content-sha256", "").startswith("STREAMING-") or \
            "aws-chunked" in headers.get("content-encoding", "")
        if member.type_name == "structure" and not streaming:
            body = _read_body(environ)
            if body.strip():
                root = ET.fromstring(body)
                params[payload] = _from_xml(root, member)
        # blob/string payloads (PutObject's Body) are not read: only their headers matter here
    return made("s3", operation, params, "rest-xml")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _from_xml(node: ET.Element, shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        children = list(node)
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if member.serialization.get("xmlAttribute"):
                for attr, value in node.attrib.items():
                    if _local(attr) == wire.split(":")[-1]:
                        out[name] = value
                continue
            if member.type_name == "list" and member.serialization.get("flattened"):
                item_name = member.member.serialization.get("name", wire)
                items = [c for c in children if _local(c.tag) == item_name]
                if items:
                    out[name] = [_from_xml(c, member.member) for c in items]
                continue
            for child in children:
                if _local(child.tag) == wire:
                    out[name] = _from_xml(child, member)
                    break
        return out
    if kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        return [_from_xml(c, shape.member) for c in node if _local(c.tag) == item_name]
    if kind == "map":
        key_name = _serialized_name(shape.key, "key")
        value_name = _serialized_name(shape.value, "value")
        out = {}
        for entry in node:
            key = value = None
            for c in entry:
                if _local(c.tag) == key_name:
                    key = c.text or ""
                elif _local(c.tag) == value_name:
                    value = _from_xml(c, shape.value)
            out[key] = value
        return out
    return _scalar(node.text or "", shape)
