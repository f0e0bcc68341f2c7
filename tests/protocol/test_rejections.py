"""Requests the parsers refuse, with the error class and the exact message."""

from __future__ import annotations

import pytest

from hadron import errors
from hadron.protocol import adapter_for, load_service, parse_operation_name
from hadron.types import HttpRequest
from tests.protocol.wire import form_request, json_request, synthetic_service

JSON_TYPE = "application/x-amz-json-1.0"


def _proton(
    method: str = "POST",
    target: str = "/",
    headers: tuple[tuple[str, str], ...] = (
        ("x-amz-target", "AwsProton20200720.GetService"),
        ("content-type", JSON_TYPE),
    ),
    body: bytes = b'{"name": "svc"}',
) -> HttpRequest:
    return HttpRequest(method=method, target=target, headers=headers, body=body)


JSON_CASES: list[tuple[str, HttpRequest, type[errors.ServiceError], str]] = [
    (
        "get",
        _proton(method="GET"),
        errors.UnsupportedMediaType,
        "HTTP method 'GET' is not supported; use POST",
    ),
    (
        "path",
        _proton(target="/x"),
        errors.InvalidURIPath,
        "Invalid URI path '/x'; the path must be '/'",
    ),
    (
        "no-target",
        _proton(headers=(("content-type", JSON_TYPE),)),
        errors.MissingAction,
        "Missing X-Amz-Target header; expected 'AwsProton20200720.<Operation>'",
    ),
    (
        "unknown-operation",
        _proton(headers=(("x-amz-target", "AwsProton20200720.Nope"), ("content-type", JSON_TYPE))),
        errors.InvalidAction,
        "Unknown operation 'AwsProton20200720.Nope' in X-Amz-Target; "
        "expected 'AwsProton20200720.<Operation>'",
    ),
    (
        "other-prefix",
        _proton(headers=(("x-amz-target", "DynamoDB_20120810.GetService"),)),
        errors.InvalidAction,
        "Unknown operation 'DynamoDB_20120810.GetService' in X-Amz-Target; "
        "expected 'AwsProton20200720.<Operation>'",
    ),
    (
        "two-targets",
        _proton(
            headers=(
                ("x-amz-target", "AwsProton20200720.GetService"),
                ("X-Amz-Target", "AwsProton20200720.DeleteService"),
                ("content-type", JSON_TYPE),
            )
        ),
        errors.InvalidAction,
        "The X-Amz-Target header must appear exactly once",
    ),
    (
        "lone-surrogate",
        _proton(body=b'{"name": "a\\ud800"}'),
        errors.SerializationException,
        "Invalid Unicode (unpaired surrogate) at 'name'",
    ),
    (
        "no-content-type",
        _proton(headers=(("x-amz-target", "AwsProton20200720.GetService"),)),
        errors.UnsupportedMediaType,
        "Unsupported Content-Type (missing); expected application/x-amz-json-1.0",
    ),
    (
        "json-1.1",
        _proton(
            headers=(
                ("x-amz-target", "AwsProton20200720.GetService"),
                ("content-type", "application/x-amz-json-1.1"),
            )
        ),
        errors.UnsupportedMediaType,
        "Unsupported Content-Type ('application/x-amz-json-1.1'); "
        "expected application/x-amz-json-1.0",
    ),
    (
        "bad-json",
        _proton(body=b'{"name": '),
        errors.SerializationException,
        "Malformed JSON: Expecting value at offset 9",
    ),
    (
        "bad-utf8",
        _proton(body=b'{"name": "\xff"}'),
        errors.SerializationException,
        "The request body is not valid UTF-8",
    ),
    (
        "array-body",
        _proton(body=b"[]"),
        errors.SerializationException,
        "Expected a JSON object as the request body, found an array",
    ),
    (
        "duplicate-key",
        _proton(body=b'{"name": "a", "name": "b"}'),
        errors.SerializationException,
        "Duplicate key 'name' in a JSON object",
    ),
    (
        "nan-literal",
        _proton(body=b'{"name": NaN}'),
        errors.SerializationException,
        "Invalid JSON literal NaN; non-finite numbers must be strings",
    ),
    (
        "too-deep",
        _proton(body=b"[" * 100_000 + b"]" * 100_000),
        errors.SerializationException,
        "Malformed JSON: value too large or too deep",
    ),
    (
        "null-body",
        _proton(body=b"null"),
        errors.SerializationException,
        "Expected a JSON object as the request body, found null",
    ),
    (
        "wrong-type",
        _proton(body=b'{"name": 5}'),
        errors.SerializationException,
        "Expected a string at 'name', found a number",
    ),
    (
        "unknown-members",
        _proton(body=b'{"name": "a", "foo": 1, "bar": {}}'),
        errors.ValidationError,
        "2 validation errors detected: Unknown member 'foo' at 'foo'; "
        "Unknown member 'bar' at 'bar'",
    ),
]


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [case[1:] for case in JSON_CASES],
    ids=[case[0] for case in JSON_CASES],
)
def test_json_rejections(
    request_: HttpRequest, error: type[errors.ServiceError], message: str
) -> None:
    proton = load_service("proton")
    with pytest.raises(error) as raised:
        adapter_for(proton).parse_request(request_, proton)
    assert type(raised.value) is error
    assert raised.value.message == message


SYNTH_JSON_CASES: list[tuple[str, bytes, type[errors.ServiceError], str]] = [
    (
        "bool-for-int",
        b'{"Count": true}',
        errors.SerializationException,
        "Expected an integer number at 'Count', found a boolean",
    ),
    (
        "float-for-int",
        b'{"Count": 1.0}',
        errors.SerializationException,
        "Expected an integer number at 'Count', found a number",
    ),
    (
        "int-range",
        b'{"Count": 2147483648}',
        errors.SerializationException,
        "Number at 'Count' is out of range for integer",
    ),
    (
        "long-range",
        b'{"Big": 9223372036854775808}',
        errors.SerializationException,
        "Number at 'Big' is out of range for long",
    ),
    (
        "float-string",
        b'{"Ratio": "1.5"}',
        errors.SerializationException,
        "Expected a number at 'Ratio', found a string",
    ),
    (
        "huge-float",
        b'{"Ratio": 1' + b"0" * 400 + b"}",
        errors.SerializationException,
        "Number at 'Ratio' is out of range",
    ),
    (
        "bad-timestamp",
        b'{"When": "yesterday"}',
        errors.SerializationException,
        "Invalid timestamp at 'When'",
    ),
    (
        "inf-timestamp",
        b'{"When": 1e999}',
        errors.SerializationException,
        "Invalid timestamp at 'When'",
    ),
    (
        "bool-timestamp",
        b'{"When": true}',
        errors.SerializationException,
        "Expected a timestamp (epoch seconds) at 'When', found a boolean",
    ),
    (
        "bad-base64",
        b'{"Data": "abc"}',
        errors.SerializationException,
        "Invalid base64 data at 'Data'",
    ),
    (
        "number-blob",
        b'{"Data": 1}',
        errors.SerializationException,
        "Expected a base64 string at 'Data', found a number",
    ),
    (
        "list-for-map",
        b'{"Labels": []}',
        errors.SerializationException,
        "Expected an object at 'Labels', found an array",
    ),
    (
        "map-for-list",
        b'{"Items": {}}',
        errors.SerializationException,
        "Expected an array at 'Items', found an object",
    ),
    (
        "string-for-struct",
        b'{"Items": ["x"]}',
        errors.SerializationException,
        "Expected an object at 'Items.1.member', found a string",
    ),
    (
        "string-for-bool",
        b'{"Flag": "true"}',
        errors.SerializationException,
        "Expected a boolean at 'Flag', found a string",
    ),
    (
        "nested-unknown",
        b'{"Items": [{"Key": "a", "Kee": "b"}], "Name": "n"}',
        errors.ValidationError,
        "1 validation error detected: Unknown member 'Kee' at 'Items.1.member.Kee'",
    ),
    (
        "member-not-wire-name",
        b'{"Renamed": "x"}',
        errors.ValidationError,
        "1 validation error detected: Unknown member 'Renamed' at 'Renamed'",
    ),
]


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [case[1:] for case in SYNTH_JSON_CASES],
    ids=[case[0] for case in SYNTH_JSON_CASES],
)
def test_json_value_rejections(body: bytes, error: type[errors.ServiceError], message: str) -> None:
    service = synthetic_service("json")
    with pytest.raises(error) as raised:
        adapter_for(service).parse_request(json_request(body), service)
    assert raised.value.message == message


def test_json_operation_without_input_takes_no_members() -> None:
    service = synthetic_service("json")
    req = json_request(b'{"x": 1}', target="Synth20200101.Ping")
    with pytest.raises(errors.ValidationError, match="Unknown member 'x' at 'x'"):
        adapter_for(service).parse_request(req, service)


def test_json_content_type_parameters_are_allowed() -> None:
    service = synthetic_service("json")
    req = json_request(b"{}", content_type="Application/X-Amz-Json-1.0; charset=UTF-8")
    assert adapter_for(service).parse_request(req, service)[1] == {}


QUERY_CASES: list[tuple[str, HttpRequest, type[errors.ServiceError], str]] = [
    (
        "incomplete-escape",
        form_request("Action=GetCallerIdentity&Version=2011-06-15&X=%4"),
        errors.MalformedQueryString,
        "Incomplete trailing escape % sequence",
    ),
    (
        "illegal-hex",
        form_request("Action=GetCallerIdentity%zz"),
        errors.MalformedQueryString,
        "Illegal hex character in escape % pattern: %zz",
    ),
    (
        "illegal-hex-in-query-string",
        HttpRequest("GET", "/?Action=%G1", ()),
        errors.MalformedQueryString,
        "Illegal hex character in escape % pattern: %G1",
    ),
    (
        "not-utf8",
        form_request("Action=%C3%28"),
        errors.MalformedQueryString,
        "The query string is not valid UTF-8",
    ),
    (
        "duplicate",
        form_request("Action=GetCallerIdentity&Version=2011-06-15", target="/?Action=AssumeRole"),
        errors.MalformedQueryString,
        "Parameter 'Action' appears more than once",
    ),
    (
        "missing-action",
        form_request("Version=2011-06-15"),
        errors.MissingAction,
        "The request is missing an action or a required parameter.",
    ),
    (
        "unknown-action",
        form_request("Action=Foo&Version=2011-06-15"),
        errors.InvalidAction,
        "Could not find operation Foo for version 2011-06-15",
    ),
    (
        "wrong-version",
        form_request("Action=GetCallerIdentity&Version=2010-05-08"),
        errors.InvalidAction,
        "Could not find operation GetCallerIdentity for version 2010-05-08",
    ),
    (
        "missing-version",
        form_request("Action=GetCallerIdentity"),
        errors.InvalidAction,
        "Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED",
    ),
    (
        "put",
        form_request("Action=GetCallerIdentity", method="PUT"),
        errors.UnsupportedMediaType,
        "HTTP method 'PUT' is not supported",
    ),
    (
        "path",
        form_request("Action=GetCallerIdentity", target="/sts"),
        errors.InvalidURIPath,
        "Invalid URI path '/sts'; the path must be '/'",
    ),
    (
        "json-body",
        HttpRequest("POST", "/", (("content-type", JSON_TYPE),), b"{}"),
        errors.UnsupportedMediaType,
        "Unsupported Content-Type 'application/x-amz-json-1.0'; "
        "expected application/x-www-form-urlencoded",
    ),
    (
        "latin1-charset",
        HttpRequest(
            "POST",
            "/",
            (("content-type", "application/x-www-form-urlencoded; charset=ISO-8859-1"),),
            b"Action=GetCallerIdentity",
        ),
        errors.UnsupportedMediaType,
        "Unsupported Content-Type 'application/x-www-form-urlencoded; charset=ISO-8859-1'; "
        "expected application/x-www-form-urlencoded",
    ),
    (
        "unknown-parameters",
        form_request(
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::1:role/r"
            "&RoleSessionName=s1&Foo=1&Tags.member.1.Kee=k&Tags.member.x.Key=k&PolicyArns.1.arn=a"
        ),
        errors.ValidationError,
        "4 validation errors detected: Unknown member 'Foo' at 'Foo'; "
        "Unknown member 'Kee' at 'Tags.member.1.Kee'; Unknown member 'Key' at 'Tags.member.x.Key'; "
        "Unknown member 'arn' at 'PolicyArns.1.arn'",
    ),
    (
        "undecodable-values",
        form_request(
            "Action=AssumeRole&Version=2011-06-15&RoleArn=r&RoleSessionName=s1"
            "&DurationSeconds=abc&Tags=x&Policy.x=1&TokenCode=99999999999999999999999"
        ),
        errors.ValidationError,
        "3 validation errors detected: "
        "Value 'abc' at 'durationSeconds' failed to satisfy constraint: "
        "Member must be of type integer; "
        "Value 'x' at 'tags' failed to satisfy constraint: Member must be of type list; "
        "Unknown member 'x' at 'Policy.x'",
    ),
]


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [case[1:] for case in QUERY_CASES],
    ids=[case[0] for case in QUERY_CASES],
)
def test_query_rejections(
    request_: HttpRequest, error: type[errors.ServiceError], message: str
) -> None:
    sts = load_service("sts")
    with pytest.raises(error) as raised:
        adapter_for(sts).parse_request(request_, sts)
    assert type(raised.value) is error
    assert raised.value.message == message


SYNTH_QUERY_CASES: list[tuple[str, str, str]] = [
    (
        "bool",
        "Flag=yes",
        "Value 'yes' at 'flag' failed to satisfy constraint: Member must be of type boolean",
    ),
    (
        "int-range",
        "Count=2147483648",
        "Value '2147483648' at 'count' failed to satisfy constraint: "
        "Member must be of type integer",
    ),
    (
        "int-underscore",
        "Count=1_0",
        "Value '1_0' at 'count' failed to satisfy constraint: Member must be of type integer",
    ),
    (
        "float",
        "Ratio=inf",
        "Value 'inf' at 'ratio' failed to satisfy constraint: Member must be of type double",
    ),
    (
        "timestamp",
        "When=soon",
        "Value 'soon' at 'when' failed to satisfy constraint: Member must be of type timestamp",
    ),
    (
        "blob-hidden",
        "Data=%21%21",
        "Value at 'data' failed to satisfy constraint: Member must be of type blob",
    ),
    (
        "sensitive-hidden",
        "Vault.Pin=x",
        "Value at 'vault.pin' failed to satisfy constraint: Member must be of type integer",
    ),
    (
        "struct-value",
        "Vault=1",
        "Value at 'vault' failed to satisfy constraint: Member must be of type structure",
    ),
    ("scalar-with-children", "Count.x=1", "Unknown member 'x' at 'Count.x'"),
    (
        "map-value",
        "Labels=x",
        "Value 'x' at 'labels' failed to satisfy constraint: Member must be of type map",
    ),
    (
        "map-key-missing",
        "Labels.entry.1.value=v",
        "Value null at 'labels' failed to satisfy constraint: Map keys must not be null",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"),
    [case[1:] for case in SYNTH_QUERY_CASES],
    ids=[case[0] for case in SYNTH_QUERY_CASES],
)
def test_query_value_rejections(body: str, message: str) -> None:
    service = synthetic_service("query")
    req = form_request(f"Action=Echo&Version=2020-01-01&{body}")
    with pytest.raises(errors.ValidationError) as raised:
        adapter_for(service).parse_request(req, service)
    assert raised.value.message.split(": ", 1)[1] == message


def test_names_with_thousands_of_dots_are_unknown_members() -> None:
    service = synthetic_service("query")
    deep = "a." * 20_000 + "b"
    req = form_request(f"Action=Echo&Version=2020-01-01&{deep}=1")
    with pytest.raises(errors.ValidationError) as raised:
        adapter_for(service).parse_request(req, service)
    assert raised.value.message == f"1 validation error detected: Unknown member 'b' at '{deep}'"


def test_ec2_messages() -> None:
    ec2 = load_service("ec2")
    adapter = adapter_for(ec2)
    with pytest.raises(errors.InvalidAction) as raised:
        adapter.parse_request(form_request("Action=Foo&Version=2016-11-15"), ec2)
    assert raised.value.message == "The action Foo is not valid for this web service."
    req = form_request("Action=DeleteVpcEndpoints&Version=2016-11-15&VpcEndpointId.x=1")
    with pytest.raises(errors.ValidationError) as invalid:
        adapter.parse_request(req, ec2)
    assert invalid.value.wire("ec2")[:2] == ("InvalidParameterValue", 400)
    assert invalid.value.message.endswith("Unknown member 'x' at 'VpcEndpointId.x'")


@pytest.mark.parametrize(
    ("service_name", "request_", "expected"),
    [
        ("proton", _proton(), "GetService"),
        ("proton", _proton(headers=()), None),
        ("proton", _proton(headers=(("x-amz-target", "Other.GetService"),)), None),
        ("sts", form_request("Action=AssumeRole&Version=2011-06-15"), "AssumeRole"),
        ("sts", form_request("Action=AssumeRole"), None),
        ("sts", form_request("Action=Nope"), None),
        ("sts", form_request("Action=%"), None),
    ],
    ids=[
        "json",
        "json-missing",
        "json-other-prefix",
        "query",
        "query-no-version",
        "query-unknown",
        "query-malformed",
    ],
)
def test_parse_operation_name(
    service_name: str, request_: HttpRequest, expected: str | None
) -> None:
    assert parse_operation_name(request_, load_service(service_name)) == expected
