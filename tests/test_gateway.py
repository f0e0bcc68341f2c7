"""The request pipeline in process: real store, real protocols, botocore-signed requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hadron.access import AllowAllAuthorizer
from hadron.gateway import Call, Connection
from hadron.types import HttpRequest, HttpResponse
from tests.pipeline import ACCOUNT, NOW, Pipeline, make_pipeline

CALLER = "Action=GetCallerIdentity&Version=2011-06-15"


@pytest.fixture
def pipe(tmp_path: Path) -> Iterator[Pipeline]:
    p = make_pipeline(tmp_path)
    yield p
    p.store.close()


@pytest.fixture
def open_pipe(tmp_path: Path) -> Iterator[Pipeline]:
    p = make_pipeline(tmp_path, AllowAllAuthorizer())
    yield p
    p.store.close()


def test_get_caller_identity(pipe: Pipeline) -> None:
    response = pipe.send(pipe.query("sts", CALLER))
    assert response.status == 200
    assert f"<Arn>arn:aws:iam::{ACCOUNT}:user/admin</Arn>".encode() in response.body
    assert pipe.events[-1]["eventName"] == "GetCallerIdentity"
    assert pipe.events[-1]["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"


def test_everything_else_is_denied_until_iam(pipe: Pipeline) -> None:
    response = pipe.send(pipe.proton("ListServices"))
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "AccessDeniedException"
    response = pipe.send(pipe.query("sts", "Action=GetSessionToken&Version=2011-06-15"))
    assert response.status == 403
    assert b"<Code>AccessDenied</Code>" in response.body
    assert b"sts:GetSessionToken because no identity-based policy allows" in response.body


@pytest.mark.parametrize(
    ("service", "make"),
    [
        ("proton", lambda p: p.proton("ListServices")),
        ("sts", lambda p: p.query("sts", "Action=GetSessionToken&Version=2011-06-15")),
        ("iam", lambda p: p.query("iam", "Action=ListUsers&Version=2010-05-08")),
        ("ec2", lambda p: p.query("ec2", "Action=DescribeVpcEndpoints&Version=2016-11-15")),
    ],
    ids=["proton", "sts", "iam", "ec2"],
)
def test_unimplemented_operation_names_itself(
    open_pipe: Pipeline, service: str, make: object
) -> None:
    response = open_pipe.send(make(open_pipe))  # type: ignore[operator]
    assert response.status == 501
    body = response.body.decode()
    assert "NotImplemented" in body
    assert "is not implemented by Hadron yet" in body


def test_validation_runs_after_authentication(open_pipe: Pipeline) -> None:
    bad = open_pipe.proton("GetService", b'{"name": ""}')
    response = open_pipe.send(bad)
    assert response.status == 400
    doc = json.loads(response.body)
    assert doc["__type"] == "ValidationException"
    assert "'name'" in doc["message"]
    unsigned = HttpRequest(
        "POST", "/", tuple(h for h in bad.headers if h[0] != "authorization"), bad.body
    )
    assert (
        json.loads(open_pipe.send(unsigned).body)["__type"] == "MissingAuthenticationTokenException"
    )


def test_inactive_key_is_unknown(pipe: Pipeline) -> None:
    pipe.store.set_access_key_status(pipe.akid, "Inactive")
    pipe.gateway._resolver.forget(pipe.akid)
    response = pipe.send(pipe.query("sts", CALLER))
    assert response.status == 403
    assert b"<Code>InvalidClientTokenId</Code>" in response.body


def test_internal_errors_carry_only_the_request_id(pipe: Pipeline) -> None:
    def boom(*_: object) -> None:
        raise RuntimeError("secret internals")

    pipe.gateway._handlers[("sts", "GetCallerIdentity")] = boom
    response = pipe.send(pipe.query("sts", CALLER))
    assert response.status == 500
    assert b"secret internals" not in response.body
    assert b"<Code>InternalFailure</Code>" in response.body
    assert pipe.events[-1]["errorCode"] == "InternalFailure"


def test_usage_is_noted(pipe: Pipeline) -> None:
    pipe.send(pipe.query("sts", CALLER))
    batch = pipe.gateway._usage.drain()
    assert [(akid, svc, region) for akid, _, svc, region in batch] == [
        (pipe.akid, "sts", "us-east-1")
    ]
    pipe.store.record_key_usage(batch)
    key = pipe.store.get_access_key(pipe.akid)
    assert key is not None and key.last_used_service == "sts"


def _recording_pipe(tmp_path: Path) -> tuple[Pipeline, list[Call]]:
    calls: list[Call] = []

    def record(call: Call) -> dict[str, object]:
        calls.append(call)
        return {"services": []}

    pipe = make_pipeline(tmp_path, AllowAllAuthorizer(), {("proton", "ListServices"): record})
    return pipe, calls


def test_call_handlers_see_region_clock_and_context(tmp_path: Path) -> None:
    pipe, calls = _recording_pipe(tmp_path)
    try:
        response = pipe.send(pipe.proton("ListServices", region="us-east-1"))
        assert response.status == 200, response.body
        assert json.loads(response.body) == {"services": []}
        (call,) = calls
        assert (call.service, call.operation, call.region) == (
            "proton",
            "ListServices",
            "us-east-1",
        )
        assert call.now == NOW
        assert call.principal.arn == f"arn:aws:iam::{ACCOUNT}:user/admin"
        assert call.request_id == response_request_id(response)
        assert call.context["aws:SourceIp"] == "127.0.0.1"
        assert "aws:SourceVpce" not in call.context
        assert call.context["aws:RequestedRegion"] == "us-east-1"
    finally:
        pipe.store.close()


def test_endpoint_connections_carry_vpc_keys_and_no_source_ip(tmp_path: Path) -> None:
    pipe, calls = _recording_pipe(tmp_path)
    try:
        conn = Connection("127.77.0.5", vpc_endpoint_id="vpce-0a1b2c3d4e5f60718", vpc_id="vpc-1")
        assert pipe.send(pipe.proton("ListServices"), conn).status == 200
        context = calls[0].context
        assert context["aws:SourceVpce"] == "vpce-0a1b2c3d4e5f60718"
        assert context["aws:SourceVpc"] == "vpc-1"
        assert context["aws:VpcSourceIp"] == "127.77.0.5"
        assert "aws:SourceIp" not in context
    finally:
        pipe.store.close()


def response_request_id(response: HttpResponse) -> str:
    return dict(response.headers)["x-amzn-requestid"]
