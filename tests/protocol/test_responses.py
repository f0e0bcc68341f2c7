"""Vectors for the other direction: Hadron serializes, botocore's parsers read it back."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from hadron import errors
from hadron.protocol import adapter_for, load_service
from tests.protocol.wire import client_parse, sample, synthetic_service, without_metadata


def _generated() -> list[tuple[str, str]]:
    cases = [("proton", name) for name in load_service("proton").operation_names]
    cases += [("sts", name) for name in load_service("sts").operation_names]
    cases += [("iam", name) for name in load_service("iam").operation_names]
    ec2 = ["CreateVpcEndpoint", "DescribeVpcEndpoints", "ModifyVpcEndpoint", "DeleteVpcEndpoints"]
    cases += [("ec2", name) for name in [*ec2, "DescribeInstances", "DescribeLaunchTemplates"]]
    return cases


GENERATED = _generated()


@pytest.mark.parametrize(
    ("service_name", "operation"), GENERATED, ids=[f"{s}-{o}" for s, o in GENERATED]
)
def test_botocore_reads_every_output_member(service_name: str, operation: str) -> None:
    service = load_service(service_name)
    model = service.operation_model(operation)
    result = (sample(model.output_shape) if model.output_shape is not None else None) or {}
    adapter = adapter_for(service)
    response = adapter.serialize_response(result, model, "req-1")
    assert response.status == 200
    assert ("x-amzn-requestid", "req-1") in response.headers
    parsed = client_parse(service.protocol, response, model.output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert without_metadata(parsed) == result


def test_query_envelope_is_what_aws_sends() -> None:
    sts = load_service("sts")
    model = sts.operation_model("GetCallerIdentity")
    result = {
        "UserId": "AIDA",
        "Account": "123456789012",
        "Arn": "arn:aws:iam::123456789012:user/a",
    }
    response = adapter_for(sts).serialize_response(result, model, "rid")
    assert dict(response.headers)["content-type"] == "text/xml"
    assert response.body.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<GetCallerIdentityResult><UserId>AIDA</UserId><Account>123456789012</Account>"
        "<Arn>arn:aws:iam::123456789012:user/a</Arn></GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )


def test_query_operation_without_output() -> None:
    iam = load_service("iam")
    model = iam.operation_model("PutUserPolicy")
    response = adapter_for(iam).serialize_response(None, model, "rid")
    assert response.body.decode().endswith(
        '<PutUserPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"
        "</PutUserPolicyResponse>"
    )
    assert client_parse("query", response, model.output_shape)["ResponseMetadata"] == {
        "RequestId": "rid",
        "HTTPStatusCode": 200,
        "HTTPHeaders": {"content-type": "text/xml", "x-amzn-requestid": "rid"},
    }


def test_ec2_envelope_is_what_aws_sends() -> None:
    ec2 = load_service("ec2")
    model = ec2.operation_model("DescribeVpcEndpoints")
    when = datetime(2026, 12, 3, 16, 5, 27, tzinfo=UTC)
    result = {
        "VpcEndpoints": [{"VpcEndpointId": "vpce-1", "SubnetIds": [], "CreationTimestamp": when}]
    }
    response = adapter_for(ec2).serialize_response(result, model, "rid")
    assert response.body.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<DescribeVpcEndpointsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        "<requestId>rid</requestId><vpcEndpointSet><item><vpcEndpointId>vpce-1</vpcEndpointId>"
        "<subnetIdSet></subnetIdSet><creationTimestamp>2026-12-03T16:05:27.000Z</creationTimestamp>"
        "</item></vpcEndpointSet></DescribeVpcEndpointsResponse>"
    )
    assert without_metadata(client_parse("ec2", response, model.output_shape)) == result


def test_json_response_shape() -> None:
    proton = load_service("proton")
    model = proton.operation_model("GetService")
    when = datetime(2026, 12, 3, 16, 5, 27, 250000, tzinfo=UTC)
    result: dict[str, Any] = {
        "service": {
            "name": "s",
            "arn": "arn",
            "templateName": "t",
            "createdAt": when,
            "lastModifiedAt": datetime(2026, 1, 1, tzinfo=UTC),
            "status": "ACTIVE",
            "spec": "x",
            "description": None,
        }
    }
    response = adapter_for(proton).serialize_response(result, model, "rid")
    assert response.status == 200
    assert dict(response.headers) == {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-requestid": "rid",
    }
    assert json.loads(response.body) == {
        "service": {
            "name": "s",
            "arn": "arn",
            "templateName": "t",
            "createdAt": 1796313927.25,
            "lastModifiedAt": 1767225600,
            "status": "ACTIVE",
            "spec": "x",
        }
    }


def test_json_operation_without_output_members() -> None:
    proton = load_service("proton")
    model = proton.operation_model("DeleteEnvironmentAccountConnection")
    response = adapter_for(proton).serialize_response(None, model, "rid")
    assert response.body == b"{}"


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        ({"service": {"name": 5}}, TypeError),
        ({"service": {"nom": "x"}}, ValueError),
        ({"nope": 1}, ValueError),
        ({"service": {"createdAt": object()}}, ValueError),
    ],
    ids=["wrong-type", "unknown-nested-member", "unknown-member", "bad-timestamp"],
)
def test_handler_output_that_does_not_fit_the_model_is_a_server_bug(
    result: dict[str, Any], problem: type[Exception]
) -> None:
    proton = load_service("proton")
    with pytest.raises(problem):
        adapter_for(proton).serialize_response(result, proton.operation_model("GetService"), "r")


@pytest.mark.parametrize("service_name", ["iam", "ec2"])
def test_xml_output_that_does_not_fit_the_model_is_a_server_bug(service_name: str) -> None:
    service = load_service(service_name)
    operation = "GetUser" if service_name == "iam" else "DescribeVpcEndpoints"
    member = "User" if service_name == "iam" else "VpcEndpoints"
    adapter = adapter_for(service)
    with pytest.raises(TypeError):
        adapter.serialize_response({member: 5}, service.operation_model(operation), "r")
    with pytest.raises(ValueError, match="has no members"):
        adapter.serialize_response({"Nope": 1}, service.operation_model(operation), "r")


def test_xml_text_is_escaped_and_kept() -> None:
    sts = load_service("sts")
    model = sts.operation_model("GetCallerIdentity")
    tricky = '<a href="x">&amp;</a>\r\n\t \'é☃\U0001f600'
    response = adapter_for(sts).serialize_response({"Arn": tricky}, model, "<id&>")
    parsed = client_parse("query", response, model.output_shape)
    assert parsed["Arn"] == tricky
    assert parsed["ResponseMetadata"]["RequestId"] == "<id&>"


def test_characters_xml_cannot_carry_become_replacement_characters() -> None:
    sts = load_service("sts")
    model = sts.operation_model("GetCallerIdentity")
    response = adapter_for(sts).serialize_response({"Arn": "a\x00b\udc80c\ufffe"}, model, "r")
    parsed = client_parse("query", response, model.output_shape)
    assert parsed["Arn"] == "a\ufffdb\ufffdc\ufffd"


ERRORS: list[errors.ServiceError] = [
    errors.ValidationError("1 validation error detected: Value null at 'name' ..."),
    errors.AccessDenied("User: arn:aws:iam::1:user/a is not authorized"),
    errors.InvalidClientTokenId("The security token included in the request is invalid."),
    errors.SignatureDoesNotMatch("The request signature we calculated does not match"),
    errors.ExpiredToken("The security token included in the request is expired"),
    errors.InvalidAction("Could not find operation Foo for version 2011-06-15"),
    errors.InternalFailure(""),
    errors.NotImplementedOperation("not yet"),
    errors.ServiceError("Proton says no <&>", code="ConflictException", status=409),
]


@pytest.mark.parametrize("error", ERRORS, ids=[repr(e) for e in ERRORS])
@pytest.mark.parametrize("service_name", ["proton", "sts", "ec2"])
def test_botocore_reads_our_errors(service_name: str, error: errors.ServiceError) -> None:
    service = load_service(service_name)
    adapter = adapter_for(service)
    code, status, message = error.wire(adapter.name)
    response = adapter.serialize_error(error, service, "rid-9")
    assert response.status == status
    assert ("x-amzn-requestid", "rid-9") in response.headers
    operation = service.operation_model(service.operation_names[0])
    parsed = client_parse(service.protocol, response, operation.output_shape)
    assert parsed["Error"]["Code"] == code
    # An empty XML element reads back as None.
    assert (parsed["Error"]["Message"] or "") == message
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status


def test_error_envelopes() -> None:
    error = errors.InvalidClientTokenId("The security token included in the request is invalid.")
    proton, sts, ec2 = load_service("proton"), load_service("sts"), load_service("ec2")
    as_json = adapter_for(proton).serialize_error(error, proton, "r1")
    assert (as_json.status, as_json.body) == (
        400,
        b'{"__type":"UnrecognizedClientException",'
        b'"message":"The security token included in the request is invalid."}',
    )
    assert dict(as_json.headers)["content-type"] == "application/x-amz-json-1.0"
    as_query = adapter_for(sts).serialize_error(error, sts, "r2")
    assert as_query.status == 403
    assert as_query.body.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        "<Type>Sender</Type><Code>InvalidClientTokenId</Code>"
        "<Message>The security token included in the request is invalid.</Message></Error>"
        "<RequestId>r2</RequestId></ErrorResponse>"
    )
    as_ec2 = adapter_for(ec2).serialize_error(error, ec2, "r3")
    assert as_ec2.status == 401
    assert as_ec2.body.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Response><Errors><Error><Code>AuthFailure</Code>"
        "<Message>AWS was not able to validate the provided access credentials</Message>"
        "</Error></Errors><RequestID>r3</RequestID></Response>"
    )


def test_server_faults_are_receiver_faults() -> None:
    iam = load_service("iam")
    response = adapter_for(iam).serialize_error(errors.InternalFailure("boom"), iam, "r")
    assert response.status == 500
    assert b"<Type>Receiver</Type><Code>InternalFailure</Code>" in response.body
    assert b'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"' in response.body


BAD_OUTPUT: list[dict[str, Any]] = [
    {"Name": 1},
    {"Count": "1"},
    {"Count": True},
    {"Ratio": "x"},
    {"Flag": 1},
    {"Data": 1},
    {"Labels": []},
    {"Items": {}},
    {"Items": [1]},
    {"Items": [None]},
    {"Labels": {"a": None}},
    {"Choice": "x"},
    {"Ratio": True},
    {"Flat": "x"},
    {"FlatMap": ["x"]},
]


# JSON can carry null list items and map values; XML cannot.
NULLABLE_IN_JSON = ({"Items": [None]}, {"Labels": {"a": None}})
BAD_OUTPUT_CASES = [
    (protocol, result)
    for protocol in ("json", "query", "ec2")
    for result in BAD_OUTPUT
    if not (protocol == "json" and result in NULLABLE_IN_JSON)
]


@pytest.mark.parametrize(
    ("protocol", "result"), BAD_OUTPUT_CASES, ids=[f"{p}-{r!r}" for p, r in BAD_OUTPUT_CASES]
)
def test_output_of_the_wrong_type_is_a_type_error(protocol: str, result: dict[str, Any]) -> None:
    service = synthetic_service(protocol)
    with pytest.raises(TypeError, match="cannot write"):
        adapter_for(service).serialize_response(result, service.operation_model("Echo"), "r")


@pytest.mark.parametrize("protocol", ["json", "query", "ec2"])
def test_result_for_an_operation_without_output_is_a_server_bug(protocol: str) -> None:
    service = synthetic_service(protocol)
    ping = service.operation_model("Ping")
    adapter = adapter_for(service)
    with pytest.raises(ValueError, match="Ping has no output"):
        adapter.serialize_response({"x": 1}, ping, "r")
    assert adapter.serialize_response({}, ping, "r").status == 200


@pytest.mark.parametrize("protocol", ["json", "query", "ec2"])
def test_non_finite_floats_and_lenient_timestamps(protocol: str) -> None:
    service = synthetic_service(protocol)
    model = service.operation_model("Echo")
    result = {"Ratio": math.inf, "Big": -(2**63), "When": "2026-12-03T16:05:27Z", "Data": "tx"}
    response = adapter_for(service).serialize_response({"Ratio": 1}, model, "r")
    assert without_metadata(client_parse(protocol, response, model.output_shape)) == {"Ratio": 1.0}
    response = adapter_for(service).serialize_response(result, model, "r")
    parsed = without_metadata(client_parse(protocol, response, model.output_shape))
    expected_ratio = "Infinity" if protocol == "json" else math.inf  # botocore keeps the JSON text
    assert parsed == {
        "Ratio": expected_ratio,
        "Big": -(2**63),
        "When": datetime(2026, 12, 3, 16, 5, 27, tzinfo=UTC),
        "Data": b"tx",
    }


@pytest.mark.parametrize("protocol", ["json", "query", "ec2"])
def test_every_shape_type_and_naming_trait(protocol: str) -> None:
    service = synthetic_service(protocol)
    model = service.operation_model("Echo")
    result = sample(model.output_shape)
    response = adapter_for(service).serialize_response(result, model, "rid")
    assert without_metadata(client_parse(protocol, response, model.output_shape)) == result
