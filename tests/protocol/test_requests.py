"""Vectors from the reference client: botocore serializes a request, Hadron parses it back."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from hadron.protocol import adapter_for, load_service
from hadron.types import HttpRequest
from tests.protocol.wire import (
    client_request,
    form_request,
    json_request,
    sample,
    synthetic_service,
)

# (service, operation, params): the operations the brief names, written by hand.
HAND_WRITTEN: list[tuple[str, str, dict[str, Any]]] = [
    (
        "proton",
        "CreateEnvironmentTemplate",
        {
            "name": "env-tmpl",
            "displayName": "Env template",
            "description": "d",
            "encryptionKey": "arn:aws:kms:us-east-1:123456789012:key/k",
            "provisioning": "CUSTOMER_MANAGED",
            "tags": [{"key": "team", "value": "platform"}],
        },
    ),
    (
        "proton",
        "CreateService",
        {
            "name": "svc",
            "templateName": "tmpl",
            "templateMajorVersion": "1",
            "spec": 'proton: ServiceSpec\ninstances:\n  - name: "a b"\n',
            "repositoryConnectionArn": "arn:aws:codestar-connections:us-east-1:1:connection/x",
            "repositoryId": "org/repo",
            "branchName": "main",
            "tags": [{"key": "k1", "value": "v1"}, {"key": "k2", "value": ""}],
        },
    ),
    (
        "proton",
        "ListServiceInstances",
        {
            "serviceName": "svc",
            "maxResults": 25,
            "nextToken": "abc=",
            "filters": [
                {"key": "name", "value": "x"},
                {"key": "deployedTemplateVersionStatus", "value": "DEPLOYED"},
            ],
            "sortBy": "createdAt",
            "sortOrder": "DESCENDING",
        },
    ),
    (
        "proton",
        "UpdateEnvironment",
        {
            "name": "env",
            "deploymentType": "MINOR_VERSION",
            "spec": "{}",
            "templateMajorVersion": "2",
            "templateMinorVersion": "1",
            "provisioningRepository": {"provider": "GITHUB", "name": "o/r", "branch": "main"},
        },
    ),
    ("proton", "GetService", {"name": "svc"}),
    (
        "iam",
        "CreateUser",
        {
            "Path": "/eng/",
            "UserName": "alice",
            "PermissionsBoundary": "arn:aws:iam::123456789012:policy/b",
            "Tags": [{"Key": "cost center", "Value": "1+1=2 & more"}, {"Key": "k", "Value": ""}],
        },
    ),
    (
        "iam",
        "PutUserPolicy",
        {
            "UserName": "alice",
            "PolicyName": "inline",
            "PolicyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            '"Action":"proton:*","Resource":"*"}]}',
        },
    ),
    ("iam", "ListUsers", {"PathPrefix": "/", "Marker": "m%2F", "MaxItems": 100}),
    (
        "iam",
        "CreatePolicy",
        {
            "PolicyName": "p",
            "Path": "/",
            "PolicyDocument": "{}",
            "Description": "d",
            "Tags": [{"Key": "a", "Value": "b"}],
        },
    ),
    ("sts", "GetCallerIdentity", {}),
    (
        "sts",
        "AssumeRole",
        {
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "RoleSessionName": "session",
            "PolicyArns": [
                {"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
                {"arn": "arn:aws:iam::123456789012:policy/p"},
            ],
            "Policy": '{"Version":"2012-10-17"}',
            "DurationSeconds": 3600,
            "Tags": [{"Key": "project", "Value": "hadron"}, {"Key": "team", "Value": "x y"}],
            "TransitiveTagKeys": ["project", "team"],
            "ExternalId": "ext",
            "SerialNumber": "arn:aws:iam::123456789012:mfa/u",
            "TokenCode": "123456",
        },
    ),
    (
        "ec2",
        "CreateVpcEndpoint",
        {
            "DryRun": False,
            "VpcEndpointType": "Interface",
            "VpcId": "vpc-1",
            "ServiceName": "com.amazonaws.us-east-1.proton",
            "SubnetIds": ["subnet-1", "subnet-2"],
            "SecurityGroupIds": ["sg-1"],
            "PrivateDnsEnabled": True,
            "TagSpecifications": [
                {"ResourceType": "vpc-endpoint", "Tags": [{"Key": "Name", "Value": "e p"}]}
            ],
            "DnsOptions": {"DnsRecordIpType": "ipv4"},
        },
    ),
    (
        "ec2",
        "DescribeVpcEndpoints",
        {
            "VpcEndpointIds": ["vpce-1"],
            "Filters": [
                {"Name": "vpc-id", "Values": ["vpc-1", "vpc-2"]},
                {"Name": "tag:Name", "Values": ["x"]},
            ],
            "MaxResults": 5,
            "NextToken": "t",
        },
    ),
]


@pytest.mark.parametrize(
    ("service_name", "operation", "params"),
    HAND_WRITTEN,
    ids=[f"{service}-{operation}" for service, operation, _ in HAND_WRITTEN],
)
def test_parse_what_botocore_serializes(
    service_name: str, operation: str, params: dict[str, Any]
) -> None:
    service = load_service(service_name)
    req = client_request(service, operation, params)
    parsed_operation, parsed = adapter_for(service).parse_request(req, service)
    assert parsed_operation.name == operation
    assert parsed == params


def _generated() -> list[tuple[str, str]]:
    cases = [("proton", name) for name in load_service("proton").operation_names]
    cases += [("sts", name) for name in load_service("sts").operation_names]
    cases += [("iam", name) for name in load_service("iam").operation_names]
    ec2 = ["CreateVpcEndpoint", "DescribeVpcEndpoints", "ModifyVpcEndpoint", "DeleteVpcEndpoints"]
    cases += [("ec2", name) for name in [*ec2, "RunInstances", "CreateLaunchTemplate"]]
    return cases


GENERATED = _generated()


@pytest.mark.parametrize(
    ("service_name", "operation"), GENERATED, ids=[f"{s}-{o}" for s, o in GENERATED]
)
def test_parse_every_member_of_every_operation(service_name: str, operation: str) -> None:
    """Every member of every input shape (sampled values) survives botocore -> Hadron."""
    service = load_service(service_name)
    model = service.operation_model(operation)
    params = sample(model.input_shape) if model.input_shape is not None else None
    params = params or {}
    req = client_request(service, operation, params)
    _, parsed = adapter_for(service).parse_request(req, service)
    assert parsed == params


@pytest.mark.parametrize(
    ("service_name", "operation", "params"),
    [
        ("sts", "GetCallerIdentity", {}),
        ("iam", "CreateUser", {"UserName": "u", "Tags": []}),
        ("sts", "AssumeRole", {"RoleArn": "r", "RoleSessionName": "s", "PolicyArns": []}),
        ("proton", "CreateService", {"name": "n", "templateName": "t", "spec": "", "tags": []}),
    ],
    ids=["no-input", "query-empty-list", "query-empty-list-of-structures", "json-empty-list"],
)
def test_empty_values(service_name: str, operation: str, params: dict[str, Any]) -> None:
    service = load_service(service_name)
    req = client_request(service, operation, params)
    _, parsed = adapter_for(service).parse_request(req, service)
    assert parsed == params


def test_timestamps_are_aware_utc_datetimes() -> None:
    ec2 = load_service("ec2")
    when = datetime(2026, 12, 3, 16, 5, 27, 500, tzinfo=UTC)
    req = client_request(ec2, "DescribeSpotPriceHistory", {"StartTime": when, "EndTime": when})
    parsed = adapter_for(ec2).parse_request(req, ec2)[1]
    assert parsed == {"StartTime": when, "EndTime": when}
    assert parsed["StartTime"].tzinfo is UTC


@pytest.mark.parametrize("protocol", ["json", "query", "ec2"])
def test_every_shape_type_and_naming_trait(protocol: str) -> None:
    """Maps, flattened lists/maps, locationName, unions, blobs, floats, longs, timestamps."""
    service = synthetic_service(protocol)
    params = sample(service.operation_model("Echo").input_shape)
    req = client_request(service, "Echo", params)
    operation, parsed = adapter_for(service).parse_request(req, service)
    assert operation.name == "Echo"
    assert parsed == params


@pytest.mark.parametrize("protocol", ["json", "query", "ec2"])
def test_operation_without_input(protocol: str) -> None:
    service = synthetic_service(protocol)
    req = client_request(service, "Ping", {})
    operation, parsed = adapter_for(service).parse_request(req, service)
    assert (operation.name, parsed) == ("Ping", {})


def test_query_parameters_may_come_in_the_query_string() -> None:
    iam = load_service("iam")
    req = HttpRequest(
        method="GET",
        target="/?Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fa+b%2F&MaxItems=10",
        headers=(),
    )
    operation, parsed = adapter_for(iam).parse_request(req, iam)
    assert (operation.name, parsed) == ("ListUsers", {"PathPrefix": "/a b/", "MaxItems": 10})


def test_presigned_query_parameters_are_not_members() -> None:
    sts = load_service("sts")
    target = (
        "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIDEXAMPLE%2F20261203%2Fus-east-1%2Fsts%2Faws4_request"
        "&X-Amz-Date=20261203T160527Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=abc&X-Amz-Security-Token=tok"
    )
    req = HttpRequest(method="GET", target=target, headers=())
    assert adapter_for(sts).parse_request(req, sts)[1] == {}


def test_query_string_and_form_body_are_combined() -> None:
    sts = load_service("sts")
    req = form_request("Version=2011-06-15", target="/?Action=GetCallerIdentity")
    assert adapter_for(sts).parse_request(req, sts)[0].name == "GetCallerIdentity"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"Name": "a", "renamedName": null, "Flat": ["x", null]}',
            {"Name": "a", "Flat": ["x", None]},
        ),
        (
            b'{"When": "2026-12-03T16:05:27Z"}',
            {"When": datetime(2026, 12, 3, 16, 5, 27, tzinfo=UTC)},
        ),
        (b'{"When": 1796313927}', {"When": datetime(2026, 12, 3, 16, 5, 27, tzinfo=UTC)}),
        (b'{"Ratio": "NaN", "Big": 9223372036854775807}', {"Ratio": math.nan, "Big": 2**63 - 1}),
        (b'{"Ratio": 1}', {"Ratio": 1.0}),
        (b"", {}),
    ],
    ids=[
        "null-is-absent",
        "iso-timestamp",
        "epoch-timestamp",
        "nan-and-long",
        "int-as-double",
        "empty",
    ],
)
def test_json_decoding(body: bytes, expected: dict[str, Any]) -> None:
    service = synthetic_service("json")
    parsed = adapter_for(service).parse_request(json_request(body), service)[1]
    if "Ratio" in expected and math.isnan(expected["Ratio"]):
        assert math.isnan(parsed.pop("Ratio"))
        expected = {k: v for k, v in expected.items() if k != "Ratio"}
    assert parsed == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Flag=TRUE&Count=-3&Ratio=Infinity", {"Flag": True, "Count": -3, "Ratio": math.inf}),
        ("Items.member.2.Key=b&Items.member.1.Key=a", {"Items": [{"Key": "a"}, {"Key": "b"}]}),
        ("When=1796313927", {"When": datetime(2026, 12, 3, 16, 5, 27, tzinfo=UTC)}),
        ("Labels.entry.1.key=k", {"Labels": {"k": None}}),
        ("Flat=&Labels.entry.1.key=k&Labels.entry.1.value=", {"Flat": [], "Labels": {"k": ""}}),
        (
            "Labels=&Entry.1=a&FlatMap.1.K=k&FlatMap.1.V=v",
            {"Labels": {}, "Flat": ["a"], "FlatMap": {"k": "v"}},
        ),
    ],
    ids=[
        "scalars",
        "list-order-by-index",
        "epoch-timestamp",
        "map-value-missing",
        "empty-values",
        "empty-map-and-flattened",
    ],
)
def test_query_decoding(body: str, expected: dict[str, Any]) -> None:
    service = synthetic_service("query")
    req = form_request(f"Action=Echo&Version=2020-01-01&{body}")
    assert adapter_for(service).parse_request(req, service)[1] == expected
