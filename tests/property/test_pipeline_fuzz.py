"""Fuzz invariant (h11's afl-server idea): any bytes into the pipeline yield an AWS error
response, never an exception and never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hadron.types import HttpRequest
from tests.pipeline import Pipeline, make_pipeline

_header_names = st.sampled_from(
    [
        "authorization",
        "x-amz-date",
        "x-amz-target",
        "content-type",
        "host",
        "x-amz-security-token",
        "date",
        "x-amz-content-sha256",
        "x-fuzz",
    ]
)
_text = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=80)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    p = make_pipeline(tmp_path_factory.mktemp("fuzz"))
    yield p
    p.store.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "\x00"]),
    target=st.one_of(_text, st.just("/"), st.builds(lambda q: "/?" + q, _text)),
    headers=st.lists(st.tuples(_header_names, _text), max_size=8),
    body=st.binary(max_size=200),
)
def test_arbitrary_requests_get_aws_errors(
    pipe: Pipeline, method: str, target: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    response = pipe.send(HttpRequest(method, target, tuple(headers), body))
    assert 400 <= response.status < 500
    assert response.body


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_signed_requests_never_crash(pipe: Pipeline, data: st.DataObject) -> None:
    req = pipe.query("sts", "Action=GetCallerIdentity&Version=2011-06-15")
    raw = bytearray(req.body)
    headers = list(req.headers)
    if data.draw(st.booleans()) and raw:
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    else:
        i = data.draw(st.integers(0, len(headers) - 1))
        name, value = headers[i]
        j = data.draw(st.integers(0, max(len(value) - 1, 0)))
        value = value[:j] + data.draw(_text) + value[j + 1 :]
        headers[i] = (name, value)
    response = pipe.send(HttpRequest("POST", "/", tuple(headers), bytes(raw)))
    assert response.status < 500
