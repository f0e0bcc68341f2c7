"""Test helpers: botocore (the reference client) on one side of the wire, Hadron on the other."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from hadron.types import HttpRequest, HttpResponse

SAMPLE_TIME = datetime(2026, 12, 3, 16, 5, 27, 123000, tzinfo=UTC)
SAMPLE_TEXT = "a b+c&d<e>\"f'%2F/é☃"


def client_request(service: ServiceModel, operation: str, params: Mapping[str, Any]) -> HttpRequest:
    """``params`` as botocore's serializer puts them on the wire, as an ``HttpRequest``."""
    model = service.operation_model(operation)
    serializer = create_serializer(service.protocol, include_validation=False)
    request_dict = serializer.serialize_to_request(dict(params), model)
    prepare_request_dict(request_dict, "https://hadron.example")
    prepared = create_request_object(request_dict).prepare()
    url = urlsplit(prepared.url)
    target = url.path + (f"?{url.query}" if url.query else "")
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = tuple(
        (name.lower(), value.decode("latin-1") if isinstance(value, bytes) else value)
        for name, value in prepared.headers.items()
    )
    return HttpRequest(method=prepared.method, target=target, headers=headers, body=body)


def client_parse(protocol: str, response: HttpResponse, shape: Shape | None) -> dict[str, Any]:
    """What botocore's response parser makes of ``response``."""
    parser = create_parser(protocol)
    raw = {"body": response.body, "headers": dict(response.headers), "status_code": response.status}
    parsed: dict[str, Any] = parser.parse(raw, shape)
    return parsed


def without_metadata(parsed: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in parsed.items() if key != "ResponseMetadata"}


def sample(shape: Shape, name: str = "", depth: int = 0) -> Any:
    """A deterministic, fully populated value of ``shape`` (recursion cut at depth 5).

    Strings carry characters that need escaping on every protocol. Empty structures, lists and
    maps are ``None`` (the EC2 protocol cannot carry them), so callers drop them.
    """
    kind = shape.type_name
    if kind == "structure":
        if depth > 5:
            return None
        members = list(shape.members.items())
        if shape.metadata.get("union"):
            members = members[:1]
        value = {}
        for member_name, member in members:
            item = sample(member, member_name, depth + 1)
            if item is not None:
                value[member_name] = item
        return value or None
    if kind == "list":
        item = sample(shape.member, name, depth + 1)
        return None if item is None else [item, item]
    if kind == "map":
        item = sample(shape.value, name, depth + 1)
        return None if item is None else {f"{name}-k1": item, "k2 &<": item}
    if kind == "string":
        enum = shape.metadata.get("enum")
        return enum[0] if enum else f"{name}:{SAMPLE_TEXT}"
    if kind in ("integer", "long", "short", "byte"):
        return 7
    if kind in ("float", "double"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return SAMPLE_TIME
    if kind == "blob":
        return b"\x00\xffblob"
    raise AssertionError(f"unexpected shape type {kind}")


def operations(service: ServiceModel, names: list[str] | None = None) -> list[OperationModel]:
    return [service.operation_model(name) for name in (names or service.operation_names)]


def synthetic_service(protocol: str) -> ServiceModel:
    """A small model with every shape type and naming trait the real models use (and more)."""
    name: dict[str, Any] = {"type": "string", "min": 1, "max": 8, "pattern": "^[a-z]+$"}
    shapes: dict[str, Any] = {
        "EchoInput": {
            "type": "structure",
            "required": ["Name"],
            "members": {
                "Name": {"shape": "Name"},
                "Count": {"shape": "Count"},
                "Big": {"shape": "Big"},
                "Ratio": {"shape": "Ratio"},
                "Flag": {"shape": "Flag"},
                "When": {"shape": "When"},
                "Data": {"shape": "Data"},
                "Secret": {"shape": "Secret"},
                "Mode": {"shape": "Mode"},
                "Labels": {"shape": "Labels"},
                "Items": {"shape": "Items"},
                "Flat": {"shape": "FlatList"},
                "FlatMap": {"shape": "FlatMap"},
                "Renamed": {"shape": "Text", "locationName": "renamedName"},
                "Choice": {"shape": "Choice"},
                "Vault": {"shape": "Vault"},
            },
        },
        "Name": name,
        "Text": {"type": "string"},
        "Count": {"type": "integer", "min": 1, "max": 100},
        "Big": {"type": "long"},
        "Ratio": {"type": "double", "min": 0, "max": 1},
        "Flag": {"type": "boolean"},
        "When": {"type": "timestamp"},
        "Data": {"type": "blob", "max": 4},
        "Secret": {"type": "string", "sensitive": True, "max": 4, "pattern": "^[0-9]+$"},
        "Mode": {"type": "string", "enum": ["ON", "OFF"]},
        "Labels": {
            "type": "map",
            "key": {"shape": "Name"},
            "value": {"shape": "Text"},
            "max": 2,
        },
        "Items": {"type": "list", "member": {"shape": "Item"}, "max": 2},
        "Item": {
            "type": "structure",
            "required": ["Key"],
            "members": {
                "Key": {"shape": "Name"},
                "Value": {"shape": "Text"},
                "Children": {"shape": "Items"},
            },
        },
        "FlatList": {
            "type": "list",
            "member": {"shape": "Text", "locationName": "Entry"},
            "flattened": True,
        },
        "FlatMap": {
            "type": "map",
            "key": {"shape": "Text", "locationName": "K"},
            "value": {"shape": "Text", "locationName": "V"},
            "flattened": True,
        },
        "Choice": {
            "type": "structure",
            "union": True,
            "members": {"Left": {"shape": "Text"}, "Right": {"shape": "Text"}},
        },
        "Vault": {
            "type": "structure",
            "sensitive": True,
            "members": {"Pin": {"shape": "Count"}},
        },
    }
    description = {
        "version": "2.0",
        "metadata": {
            "apiVersion": "2020-01-01",
            "endpointPrefix": "synth",
            "jsonVersion": "1.0",
            "protocol": protocol,
            "serviceId": "Synth",
            "signatureVersion": "v4",
            "targetPrefix": "Synth20200101",
            "uid": "synth-2020-01-01",
        },
        "operations": {
            "Echo": {
                "name": "Echo",
                "http": {"method": "POST", "requestUri": "/"},
                "input": {"shape": "EchoInput"},
                "output": {"shape": "EchoInput", "resultWrapper": "EchoResult"},
            },
            "Ping": {"name": "Ping", "http": {"method": "POST", "requestUri": "/"}},
        },
        "shapes": shapes,
    }
    return ServiceModel(description, service_name="synth")


def form_request(body: str, *, method: str = "POST", target: str = "/") -> HttpRequest:
    """A Query-protocol request with a hand-written form body."""
    headers = (("content-type", "application/x-www-form-urlencoded; charset=utf-8"),)
    return HttpRequest(method=method, target=target, headers=headers, body=body.encode("latin-1"))


def json_request(
    body: bytes, *, target: str = "Synth20200101.Echo", content_type: str | None = None
) -> HttpRequest:
    """A JSON-protocol request with a hand-written body."""
    headers = (
        ("x-amz-target", target),
        ("content-type", content_type or "application/x-amz-json-1.0"),
    )
    return HttpRequest(method="POST", target="/", headers=headers, body=body)
