"""Strict validation: every constraint of the model, every violation reported, exact messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hadron.errors import ValidationError
from hadron.protocol import load_service, validate
from tests.protocol.wire import synthetic_service

NAME_PATTERN = "^[0-9A-Za-z]+[0-9A-Za-z_\\-]*$"
DEPLOYMENT_TYPES = "[NONE, CURRENT_VERSION, MINOR_VERSION, MAJOR_VERSION]"

# (id, service, operation, params, the one violation expected)
SINGLE: list[tuple[str, str, str, dict[str, Any], str]] = [
    (
        "required",
        "proton",
        "CreateEnvironmentTemplate",
        {},
        "Value null at 'name' failed to satisfy constraint: Member must not be null",
    ),
    (
        "pattern",
        "proton",
        "CreateEnvironmentTemplate",
        {"name": "x y"},
        f"Value 'x y' at 'name' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAME_PATTERN}",
    ),
    (
        "pattern-no-trailing-newline",
        "proton",
        "CreateEnvironmentTemplate",
        {"name": "abc\n"},
        f"Value 'abc\n' at 'name' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAME_PATTERN}",
    ),
    (
        "max-length",
        "proton",
        "CreateEnvironmentTemplate",
        {"name": "a" * 101},
        f"Value '{'a' * 101}' at 'name' failed to satisfy constraint: "
        "Member must have length less than or equal to 100",
    ),
    (
        "max-value",
        "proton",
        "ListServiceInstances",
        {"maxResults": 200},
        "Value '200' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100",
    ),
    (
        "min-value",
        "proton",
        "ListServiceInstances",
        {"maxResults": 0},
        "Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    (
        "enum",
        "proton",
        "UpdateEnvironment",
        {"name": "env", "deploymentType": "FOO"},
        "Value 'FOO' at 'deploymentType' failed to satisfy constraint: "
        f"Member must satisfy enum value set: {DEPLOYMENT_TYPES}",
    ),
    (
        "sensitive-not-echoed",
        "proton",
        "CreateEnvironmentTemplate",
        {"name": "n", "description": "s" * 501},
        "Value at 'description' failed to satisfy constraint: "
        "Member must have length less than or equal to 500",
    ),
    (
        "nested-required",
        "proton",
        "UpdateEnvironment",
        {
            "name": "env",
            "deploymentType": "NONE",
            "provisioningRepository": {"provider": "GITHUB", "name": "o/r"},
        },
        "Value null at 'provisioningRepository.branch' failed to satisfy constraint: "
        "Member must not be null",
    ),
    (
        "list-item-member",
        "proton",
        "CreateEnvironmentTemplate",
        {"name": "n", "tags": [{"key": "k", "value": "v"}, {"key": "", "value": "v"}]},
        "Value '' at 'tags.2.member.key' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
    (
        "null-list-item",
        "proton",
        "CreateEnvironmentTemplate",
        {"name": "n", "tags": [None]},
        "Value null at 'tags.1.member' failed to satisfy constraint: Member must not be null",
    ),
    (
        "list-length",
        "iam",
        "TagUser",
        {"UserName": "u", "Tags": [{"Key": "k", "Value": "v"}] * 51},
        "Value '[" + ", ".join(["{Key=k, Value=v}"] * 51) + "]' at 'tags' failed to satisfy "
        "constraint: Member must have length less than or equal to 50",
    ),
    (
        "query-member-names",
        "iam",
        "CreateUser",
        {"UserName": "a b"},
        "Value 'a b' at 'userName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    ),
    (
        "ascii-word-characters",
        "iam",
        "CreateUser",
        {"UserName": "é"},
        "Value 'é' at 'userName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    ),
    (
        "unicode-property-classes",
        "iam",
        "CreateUser",
        {"UserName": "u", "Tags": [{"Key": "ключ 1", "Value": "bad\u0001"}]},
        "Value 'bad\u0001' at 'tags.1.member.value' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
    ),
    (
        "unknown-member",
        "sts",
        "GetCallerIdentity",
        {"Extra": 1},
        "Unknown member 'Extra' at 'extra'",
    ),
]


@pytest.mark.parametrize(
    ("service_name", "operation", "params", "expected"),
    [case[1:] for case in SINGLE],
    ids=[case[0] for case in SINGLE],
)
def test_one_violation(
    service_name: str, operation: str, params: dict[str, Any], expected: str
) -> None:
    service = load_service(service_name)
    shape = service.operation_model(operation).input_shape
    protocol = "json" if service_name == "proton" else "query"
    with pytest.raises(ValidationError) as raised:
        validate(params, shape, protocol)
    assert raised.value.message == f"1 validation error detected: {expected}"


def test_all_violations_are_reported_together() -> None:
    shape = load_service("proton").operation_model("UpdateEnvironment").input_shape
    with pytest.raises(ValidationError) as raised:
        validate({"name": "", "deploymentType": "FOO", "spec": ""}, shape, "json")
    # In the order of the model's members (like botocore's own validator).
    assert raised.value.message == (
        "4 validation errors detected: "
        "Value 'FOO' at 'deploymentType' failed to satisfy constraint: "
        f"Member must satisfy enum value set: {DEPLOYMENT_TYPES}; "
        "Value '' at 'name' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; "
        f"Value '' at 'name' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAME_PATTERN}; "
        "Value at 'spec' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )
    assert raised.value.wire("json") == ("ValidationException", 400, raised.value.message)
    assert raised.value.wire("query")[:2] == ("ValidationError", 400)


def test_valid_params_pass() -> None:
    proton = load_service("proton")
    shape = proton.operation_model("CreateService").input_shape
    params = {
        "name": "svc-1",
        "templateName": "tmpl",
        "templateMajorVersion": "1",
        "spec": "x",
        "tags": [{"key": "k", "value": ""}],
    }
    validate(params, shape, "json")
    iam = load_service("iam").operation_model("CreateUser").input_shape
    validate({"UserName": "a", "Tags": [{"Key": "日本 \u0661", "Value": ""}]}, iam, "query")
    validate({}, None, "json")


SYNTHETIC: list[tuple[str, dict[str, Any], str]] = [
    (
        "map-size",
        {"Labels": {"a": "1", "b": "2", "c": "3"}},
        "Value '{a=1, b=2, c=3}' at 'labels' failed to satisfy constraint: "
        "Member must have length less than or equal to 2",
    ),
    (
        "map-key",
        {"Labels": {"A": "1"}},
        "Value 'A' at 'labels' failed to satisfy constraint: Map keys must satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-z]+$",
    ),
    (
        "null-map-value",
        {"Labels": {"a": None}},
        "Value null at 'labels.a' failed to satisfy constraint: Member must not be null",
    ),
    (
        "blob-length-not-echoed",
        {"Data": b"12345"},
        "Value at 'data' failed to satisfy constraint: "
        "Member must have length less than or equal to 4",
    ),
    (
        "double-range",
        {"Ratio": 1.5},
        "Value '1.5' at 'ratio' failed to satisfy constraint: "
        "Member must have value less than or equal to 1",
    ),
    (
        "nan-is-out-of-every-range",
        {"Ratio": float("nan")},
        "Value 'NaN' at 'ratio' failed to satisfy constraint: "
        "Member must have value greater than or equal to 0",
    ),
    (
        "union-none-set",
        {"Choice": {}},
        "Value '{}' at 'choice' failed to satisfy constraint: "
        "Member must have exactly one member set",
    ),
    (
        "union-two-set",
        {"Choice": {"Left": "l", "Right": "r"}},
        "Value '{Left=l, Right=r}' at 'choice' failed to satisfy constraint: "
        "Member must have exactly one member set",
    ),
    (
        "sensitive-structure",
        {"Vault": {"Pin": 500}},
        "Value at 'vault.pin' failed to satisfy constraint: "
        "Member must have value less than or equal to 100",
    ),
    (
        "sensitive-pattern",
        {"Secret": "abc"},
        "Value at 'secret' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[0-9]+$",
    ),
    (
        "list-length-echoes-items",
        {"Items": [{"Key": "a"}] * 3},
        "Value '[{Key=a}, {Key=a}, {Key=a}]' at 'items' failed to satisfy constraint: "
        "Member must have length less than or equal to 2",
    ),
    (
        "recursive-shapes",
        {"Items": [{"Key": "a", "Children": [{"Key": "B"}]}]},
        "Value 'B' at 'items.1.member.children.1.member.key' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-z]+$",
    ),
    (
        "blobs-in-containers-not-echoed",
        {"Labels": {"a": b"x", "b": "1", "c": "2"}},
        "Value '{a=<1 bytes>, b=1, c=2}' at 'labels' failed to satisfy constraint: "
        "Member must have length less than or equal to 2",
    ),
    (
        "structure-wrong-type",
        {"Vault": "x"},
        "Value at 'vault' failed to satisfy constraint: Member must be of type structure",
    ),
    (
        "float-wrong-type",
        {"Ratio": "x"},
        "Value 'x' at 'ratio' failed to satisfy constraint: Member must be of type double",
    ),
    (
        "wrong-python-type",
        {"Count": "7"},
        "Value '7' at 'count' failed to satisfy constraint: Member must be of type integer",
    ),
    (
        "bool-is-not-an-integer",
        {"Count": True},
        "Value 'true' at 'count' failed to satisfy constraint: Member must be of type integer",
    ),
    (
        "integer-out-of-range",
        {"Big": 2**63},
        f"Value '{2**63}' at 'big' failed to satisfy constraint: Member must be of type long",
    ),
    (
        "naive-timestamp",
        {"When": datetime(2026, 1, 1)},
        "Value '2026-01-01T00:00:00Z' at 'when' failed to satisfy constraint: "
        "Member must be of type timestamp",
    ),
    (
        "wrong-container",
        {"Items": "x"},
        "Value 'x' at 'items' failed to satisfy constraint: Member must be of type list",
    ),
]


@pytest.mark.parametrize(
    ("params", "expected"), [case[1:] for case in SYNTHETIC], ids=[case[0] for case in SYNTHETIC]
)
def test_synthetic_violations(params: dict[str, Any], expected: str) -> None:
    shape = synthetic_service("query").operation_model("Echo").input_shape
    with pytest.raises(ValidationError) as raised:
        validate({"Name": "ok", **params}, shape, "query")
    assert raised.value.message.split(": ", 1)[1].split("; ")[0] == expected


def test_wrong_python_types() -> None:
    shape = synthetic_service("json").operation_model("Echo").input_shape
    with pytest.raises(ValidationError) as raised:
        validate({"Name": 1, "Labels": ["x"], "Flag": "true", "Data": "x"}, shape, "json")
    assert raised.value.message == (
        "4 validation errors detected: "
        "Value '1' at 'Name' failed to satisfy constraint: Member must be of type string; "
        "Value 'true' at 'Flag' failed to satisfy constraint: Member must be of type boolean; "
        "Value at 'Data' failed to satisfy constraint: Member must be of type blob; "
        "Value '[x]' at 'Labels' failed to satisfy constraint: Member must be of type map"
    )


def test_synthetic_valid_values() -> None:
    shape = synthetic_service("json").operation_model("Echo").input_shape
    validate(
        {
            "Name": "ok",
            "Count": 100,
            "Ratio": 1,
            "When": datetime(2026, 1, 1, tzinfo=UTC),
            "Data": b"1234",
            "Secret": "1234",
            "Mode": "ON",
            "Labels": {"a": "", "b": "x"},
            "Choice": {"Right": "r"},
            "Flag": False,
        },
        shape,
        "json",
    )
