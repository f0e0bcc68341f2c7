"""Hypothesis: any request parses or raises a ServiceError; values survive a wire round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from botocore.model import ServiceModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hadron.errors import ServiceError, ValidationError
from hadron.protocol import adapter_for, load_service, validate
from hadron.protocol.form import decode_form
from hadron.types import HttpRequest
from tests.protocol.wire import client_parse, client_request, synthetic_service, without_metadata

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUND_TRIP = settings(max_examples=100, deadline=None)

SERVICES: list[ServiceModel] = [
    load_service("proton"),
    load_service("iam"),
    load_service("sts"),
    load_service("ec2"),
    synthetic_service("json"),
    synthetic_service("query"),
    synthetic_service("ec2"),
]

# --- fuzz: parse it or raise a protocol error (h11's afl invariant) ---------------------------

content_types = st.sampled_from(
    [
        "application/x-amz-json-1.0",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
    ]
) | st.text(max_size=40)
targets = st.sampled_from(
    [
        "AwsProton20200720.CreateService",
        "AwsProton20200720.ListServiceInstances",
        "Synth20200101.Echo",
        "Synth20200101.Ping",
    ]
) | st.text(max_size=40)
header_names = st.sampled_from(["content-type", "x-amz-target", "host"]) | st.text(max_size=12)
headers = st.lists(
    st.one_of(
        st.tuples(st.just("content-type"), content_types),
        st.tuples(st.just("x-amz-target"), targets),
        st.tuples(header_names, st.text(max_size=20)),
    ),
    max_size=4,
).map(tuple)

MEMBER_NAMES = (
    "name spec tags key value templateName filters maxResults "
    "Name Count Ratio When Data Labels Items Flat Choice Left"
).split()
member_names = st.sampled_from(MEMBER_NAMES) | st.text(max_size=6)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["NaN", "Infinity", "2026-12-03T16:05:27Z", "AAAA", "not base64"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(member_names, inner, max_size=4),
    max_leaves=12,
)
json_bodies = st.dictionaries(member_names, json_values, max_size=6).map(
    lambda document: json.dumps(document).encode("utf-8")
)

SEGMENTS = (
    "Tags member entry 1 2 0 01 Key Value key value Name PolicyArns arn RoleArn DurationSeconds "
    "Filter Labels Items Flat Entry FlatMap K V Count Flag Vault Pin X-Amz-Date"
).split()
segments = st.sampled_from(SEGMENTS) | st.text(max_size=4)
form_keys = st.lists(segments, min_size=1, max_size=5).map(".".join)
form_values = st.text(max_size=10) | st.sampled_from(["", "true", "1", "abc", "%", "%zz"])
actions = st.sampled_from(
    [
        "Action=Echo&Version=2020-01-01",
        "Action=AssumeRole&Version=2011-06-15",
        "Action=CreateUser&Version=2010-05-08",
        "Action=CreateVpcEndpoint&Version=2016-11-15",
        "Action=Ping&Version=2020-01-01",
    ]
)
form_bodies = st.builds(
    lambda action, pairs, raw: "&".join(
        [action, *(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs), raw]
    ).encode("utf-8"),
    actions,
    st.lists(st.tuples(form_keys, form_values), max_size=8),
    st.text(max_size=6),
)
bodies = st.binary(max_size=200) | json_bodies | form_bodies

requests = st.builds(
    HttpRequest,
    method=st.sampled_from(["POST", "GET", "PUT"]) | st.text(max_size=5),
    target=st.sampled_from(["/", "/?Action=Ping&Version=2020-01-01"])
    | st.text(max_size=30)
    | form_bodies.map(lambda body: "/?" + body.decode("utf-8")),
    headers=headers,
    body=bodies,
)


@FUZZ
@given(service_index=st.integers(0, len(SERVICES) - 1), req=requests)
def test_any_request_parses_or_raises_a_service_error(service_index: int, req: HttpRequest) -> None:
    service = SERVICES[service_index]
    adapter = adapter_for(service)
    try:
        operation, params = adapter.parse_request(req, service)
        validate(params, operation.input_shape, adapter.name)
    except ServiceError as error:
        response = adapter.serialize_error(error, service, "rid")
        parsed = client_parse(service.protocol, response, None)
        assert parsed["Error"]["Code"] == error.wire(adapter.name)[0]
    adapter.operation_name(req, service)


@FUZZ
@given(
    protocol=st.sampled_from(["json", "query", "ec2"]),
    body=json_bodies | form_bodies,
)
def test_well_formed_requests_with_random_members(protocol: str, body: bytes) -> None:
    service = synthetic_service(protocol)
    if protocol == "json":
        req = HttpRequest(
            "POST",
            "/",
            (
                ("x-amz-target", "Synth20200101.Echo"),
                ("content-type", "application/x-amz-json-1.0"),
            ),
            body,
        )
    else:
        req = HttpRequest(
            "POST", "/", (("content-type", "application/x-www-form-urlencoded"),), body
        )
    adapter = adapter_for(service)
    try:
        operation, params = adapter.parse_request(req, service)
    except ServiceError:
        return
    try:
        validate(params, operation.input_shape, adapter.name)
    except ValidationError:
        return


# --- round trips -------------------------------------------------------------------------------

# Characters a request can carry (UTF-8 on the wire, so no lone surrogates).
encodable = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
# Characters an XML 1.0 document can carry.
xml_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff").filter(
        lambda c: c in "\t\n\r" or c >= " "
    ),
    max_size=30,
)
instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
tags = st.lists(
    st.fixed_dictionaries({"key": st.text(max_size=20), "value": st.text()}), max_size=3
)


@ROUND_TRIP
@given(name=encodable, spec=encodable, tags=tags)
def test_json_requests_round_trip(name: str, spec: str, tags: list[dict[str, str]]) -> None:
    proton = load_service("proton")
    params = {"name": name, "templateName": "t", "spec": spec, "tags": tags}
    req = client_request(proton, "CreateService", params)
    assert adapter_for(proton).parse_request(req, proton)[1] == params


@ROUND_TRIP
@given(user=encodable, path=encodable, key=encodable, value=encodable)
def test_query_requests_round_trip(user: str, path: str, key: str, value: str) -> None:
    iam = load_service("iam")
    params: dict[str, Any] = {
        "UserName": user,
        "Path": path,
        "Tags": [{"Key": key, "Value": value}],
    }
    req = client_request(iam, "CreateUser", params)
    assert adapter_for(iam).parse_request(req, iam)[1] == params


@ROUND_TRIP
@given(values=st.lists(encodable, min_size=1, max_size=3), token=encodable)
def test_ec2_requests_round_trip(values: list[str], token: str) -> None:
    ec2 = load_service("ec2")
    params: dict[str, Any] = {"Filters": [{"Name": "vpc-id", "Values": values}], "NextToken": token}
    req = client_request(ec2, "DescribeVpcEndpoints", params)
    assert adapter_for(ec2).parse_request(req, ec2)[1] == params


@ROUND_TRIP
@given(name=st.text(), spec=st.text(), when=instants)
def test_json_responses_round_trip(name: str, spec: str, when: datetime) -> None:
    proton = load_service("proton")
    model = proton.operation_model("GetService")
    result = {
        "service": {
            "name": name,
            "arn": "a",
            "templateName": "t",
            "createdAt": when,
            "lastModifiedAt": when,
            "status": "ACTIVE",
            "spec": spec,
        }
    }
    response = adapter_for(proton).serialize_response(result, model, "rid")
    assert without_metadata(client_parse("json", response, model.output_shape)) == result


@ROUND_TRIP
@given(
    name=xml_text,
    when=instants,
    ratio=st.floats(allow_nan=False),
    labels=st.dictionaries(xml_text, xml_text, max_size=3),
    flat=st.lists(xml_text, min_size=1, max_size=3),
    protocol=st.sampled_from(["query", "ec2"]),
)
def test_xml_responses_round_trip(
    name: str,
    when: datetime,
    ratio: float,
    labels: dict[str, str],
    flat: list[str],
    protocol: str,
) -> None:
    service = synthetic_service(protocol)
    model = service.operation_model("Echo")
    result = {"Name": name, "When": when, "Ratio": ratio, "Labels": labels, "Flat": flat}
    response = adapter_for(service).serialize_response(result, model, "rid")
    assert without_metadata(client_parse(protocol, response, model.output_shape)) == result


@ROUND_TRIP
@given(pairs=st.lists(st.tuples(encodable, encodable), max_size=5))
def test_form_decoding_inverts_form_encoding(pairs: list[tuple[str, str]]) -> None:
    encoded = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs)
    decoded = decode_form(encoded)
    assert decoded == pairs
