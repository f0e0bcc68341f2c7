"""The request pipeline in process: real store, real protocols, botocore-signed requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hadron.access import AllowAllAuthorizer
from hadron.types import HttpRequest
from tests.pipeline import ACCOUNT, Pipeline, make_pipeline

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
