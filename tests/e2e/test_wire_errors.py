"""The §1.9 authentication matrix and malformed requests, over real TLS against a real server.

Valid requests are signed by botocore (the reference signer); each case then breaks one thing.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.server import Server

STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
PROTON_TARGET = "AwsProton20200720.ListServices"


@contextmanager
def _frozen(at: datetime | None) -> Iterator[None]:
    if at is None:
        yield
        return
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
        yield


def _context(server: Server) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(server.ca))
    return ctx


def _send(
    server: Server, method: str, target: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=_context(server))
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    if not any(name.lower() == "content-length" for name in headers):
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def _signed(
    server: Server,
    service: str,
    *,
    secret: str | None = None,
    at: datetime | None = None,
    region: str = "us-east-1",
    akid: str | None = None,
    token: str | None = None,
) -> tuple[dict[str, str], bytes]:
    key, real_secret = server.credentials()
    creds = Credentials(akid or key, secret or real_secret, token)
    host = f"127.0.0.1:{server.port}"
    if service == "proton":
        body = b"{}"
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": PROTON_TARGET,
        }
    else:
        body = STS_BODY.encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = AWSRequest("POST", f"https://{host}/", data=body, headers=headers)
    with _frozen(at):
        SigV4Auth(creds, service, region).add_auth(request)
    out = {k: v for k, v in request.headers.items()}
    out["Host"] = host
    return out, body


def _error(service: str, body: bytes) -> tuple[str, str]:
    if service == "proton":
        doc = json.loads(body)
        return doc["__type"], doc["message"]
    text = body.decode()
    code = re.search(r"<Code>(.*?)</Code>", text)
    message = re.search(r"<Message>(.*?)</Message>", text, re.S)
    assert code and message, text
    return code.group(1), message.group(1)


def _post(
    server: Server, service: str, headers: dict[str, str], body: bytes
) -> tuple[int, str, str]:
    status, response_headers, data = _send(server, "POST", "/", headers, body)
    assert "x-amzn-requestid" in response_headers
    assert "date" in response_headers
    code, message = _error(service, data)
    return status, code, message


def test_valid_signatures_pass(server: Server) -> None:
    for service in ("sts",):
        headers, body = _signed(server, service)
        status, _, data = _send(server, "POST", "/", headers, body)
        assert status == 200, data
        assert b"<Arn>arn:aws:iam::" in data


@pytest.mark.parametrize(
    ("service", "status", "code"),
    [
        ("proton", 400, "MissingAuthenticationTokenException"),
        ("sts", 403, "MissingAuthenticationToken"),
    ],
)
def test_row1_missing_authentication(server: Server, service: str, status: int, code: str) -> None:
    headers, body = _signed(server, service)
    del headers["Authorization"]
    assert _post(server, service, headers, body) == (
        status,
        code,
        "Request is missing Authentication Token",
    )


@pytest.mark.parametrize(
    ("service", "status", "code"),
    [("proton", 400, "InvalidSignatureException"), ("sts", 403, "SignatureDoesNotMatch")],
)
def test_row15_signature_mismatch(server: Server, service: str, status: int, code: str) -> None:
    headers, body = _signed(server, service, secret="x" * 40)
    assert _post(server, service, headers, body) == (
        status,
        code,
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details.",
    )


@pytest.mark.parametrize(
    ("service", "status", "code"),
    [("proton", 400, "UnrecognizedClientException"), ("sts", 403, "InvalidClientTokenId")],
)
def test_row12_unknown_key(server: Server, service: str, status: int, code: str) -> None:
    headers, body = _signed(server, service, akid="AKIAAAAAAAAAAAAAAAAA")
    assert _post(server, service, headers, body) == (
        status,
        code,
        "The security token included in the request is invalid.",
    )


def test_row13_session_token_not_issued_here(server: Server) -> None:
    headers, body = _signed(server, "sts", akid="ASIAAAAAAAAAAAAAAAAA", token="forged")
    status, code, _ = _post(server, "sts", headers, body)
    assert (status, code) == (403, "InvalidClientTokenId")


@pytest.mark.parametrize("minutes", [-6, 6])
def test_row9_skew(server: Server, minutes: int) -> None:
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    headers, body = _signed(server, "sts", at=at)
    status, code, message = _post(server, "sts", headers, body)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    stamp = at.strftime("%Y%m%dT%H%M%SZ")
    if minutes < 0:
        assert re.fullmatch(
            rf"Signature expired: {stamp} is now earlier than \d{{8}}T\d{{6}}Z "
            r"\(\d{8}T\d{6}Z - 5 min\.\)",
            message,
        ), message
    else:
        assert re.fullmatch(
            rf"Signature not yet current: {stamp} is still later than \d{{8}}T\d{{6}}Z "
            r"\(\d{8}T\d{6}Z \+ 5 min\.\)",
            message,
        ), message


def test_row11_unserved_region(server: Server) -> None:
    headers, body = _signed(server, "sts", region="eu-west-3")
    status, code, message = _post(server, "sts", headers, body)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert message == "Credential should be scoped to a valid region, not 'eu-west-3'."


def test_row11_wrong_service_in_scope(server: Server) -> None:
    headers, body = _signed(server, "proton")
    key, secret = server.credentials()
    request = AWSRequest(
        "POST",
        f"https://127.0.0.1:{server.port}/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": PROTON_TARGET},
    )
    SigV4Auth(Credentials(key, secret), "sts", "us-east-1").add_auth(request)
    headers = dict(request.headers.items()) | {"Host": f"127.0.0.1:{server.port}"}
    status, code, message = _post(server, "proton", headers, body)
    assert (status, code) == (400, "InvalidSignatureException")
    assert message == "Credential should be scoped to correct service: 'proton'."


def test_row2_both_forms(server: Server) -> None:
    headers, body = _signed(server, "sts")
    status, _, data = _send(server, "POST", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256", headers, body)
    assert (status, _error("sts", data)) == (
        403,
        (
            "SignatureDoesNotMatch",
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP "
            "header.",
        ),
    )


def test_row3_and_row4_incomplete_signature(server: Server) -> None:
    headers, body = _signed(server, "sts")
    headers["Authorization"] = "AWS4-HMAC-SHA512 Credential=x"
    status, code, message = _post(server, "sts", headers, body)
    assert (status, code) == (400, "IncompleteSignature")
    assert message.startswith("Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'")
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/sts/aws4_request"
    )
    status, code, message = _post(server, "sts", headers, body)
    assert (status, code) == (400, "IncompleteSignature")
    assert "Authorization header requires 'Signature' parameter." in message
    assert "Authorization header requires 'SignedHeaders' parameter." in message


def test_row8_host_not_signed(server: Server) -> None:
    headers, body = _signed(server, "sts")
    headers["Authorization"] = headers["Authorization"].replace("host;", "")
    status, code, message = _post(server, "sts", headers, body)
    assert (status, code, message) == (
        403,
        "SignatureDoesNotMatch",
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    )


def test_row7_bad_date(server: Server) -> None:
    headers, body = _signed(server, "sts")
    headers["X-Amz-Date"] = "2026-12-03T10:00:00Z"
    status, code, message = _post(server, "sts", headers, body)
    assert (status, code) == (400, "IncompleteSignature")
    assert message == (
        "Date must be in ISO-8601 'basic format'. Got '2026-12-03T10:00:00Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _presigned(server: Server, expires: int, at: datetime | None = None) -> str:
    key, secret = server.credentials()
    url = f"https://127.0.0.1:{server.port}/?{STS_BODY}"
    request = AWSRequest("GET", url)
    with _frozen(at):
        SigV4QueryAuth(Credentials(key, secret), "sts", "us-east-1", expires=expires).add_auth(
            request
        )
    url_out: str = request.url
    return url_out.split(f":{server.port}", 1)[1]


def test_presigned_get_works_and_expires(server: Server) -> None:
    target = _presigned(server, 60)
    host = {"Host": f"127.0.0.1:{server.port}"}
    status, _, data = _send(server, "GET", target, host)
    assert status == 200, data
    old = _presigned(server, 60, at=datetime.now(UTC) - timedelta(minutes=2))
    status, _, data = _send(server, "GET", old, host)
    assert (status, _error("sts", data)) == (400, ("RequestExpired", "Request has expired."))


def test_row17_malformed_query_escape(server: Server) -> None:
    status, _, data = _send(
        server, "GET", "/?Action=GetCallerIdentity&Version=2011-06-15&x=%zz", {"Host": "x"}
    )
    assert status == 400
    assert _error("sts", data)[0] in ("MalformedQueryString",)


def test_bad_json_body(server: Server) -> None:
    headers, _ = _signed(server, "proton")
    status, code, _ = _post(server, "proton", headers, b"{not json")
    assert (status, code) == (400, "SerializationException")


def test_wrong_content_type(server: Server) -> None:
    headers, body = _signed(server, "proton")
    headers["Content-Type"] = "text/plain"
    status, code, _ = _post(server, "proton", headers, body)
    assert (status, code) == (400, "SerializationException")


def test_unknown_and_missing_target(server: Server) -> None:
    headers, body = _signed(server, "proton")
    headers["X-Amz-Target"] = "AwsProton20200720.NoSuchThing"
    status, code, message = _post(server, "proton", headers, body)
    assert (status, code) == (400, "UnknownOperationException")
    assert "NoSuchThing" in message
    del headers["X-Amz-Target"]
    status, code, _ = _post(server, "proton", headers, body)
    assert (status, code) == (400, "UnknownOperationException")


def test_unknown_query_action(server: Server) -> None:
    body = b"Action=StealEverything&Version=2011-06-15"
    status, code, message = _post(
        server,
        "sts",
        {"Host": "x", "Content-Type": "application/x-www-form-urlencoded"},
        body,
    )
    assert (status, code) == (400, "InvalidAction")
    assert "StealEverything" in message


def _read_all(tls: ssl.SSLSocket) -> bytes:
    reply = b""
    try:
        while chunk := tls.recv(65536):
            reply += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass
    return reply


def test_body_over_limit_is_refused_before_it_is_read(server: Server) -> None:
    with _raw_tls(server) as tls:
        tls.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b"X-Amz-Target: AwsProton20200720.ListServices\r\n"
            b"Content-Length: 2097152\r\n\r\n{"
        )
        reply = _read_all(tls)
    assert reply.startswith(b"HTTP/1.1 413")
    assert b'"__type":"RequestEntityTooLarge"' in reply.replace(b" ", b"")


def test_chunked_body_over_limit(server: Server) -> None:
    chunk = b"x" * 65536
    with _raw_tls(server) as tls:
        tls.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b"X-Amz-Target: AwsProton20200720.ListServices\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for _ in range(20):
                tls.sendall(b"10000\r\n" + chunk + b"\r\n")
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            pass
        reply = _read_all(tls)
    assert reply.startswith(b"HTTP/1.1 413")


def _raw_tls(server: Server) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return _context(server).wrap_socket(raw, server_hostname="127.0.0.1")


def test_truncated_body_then_close_leaves_server_serving(server: Server) -> None:
    with _raw_tls(server) as tls:
        tls.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b'Content-Length: 100\r\n\r\n{"a":'
        )
    headers, body = _signed(server, "sts")
    assert _send(server, "POST", "/", headers, body)[0] == 200


def test_garbage_after_tls_gets_400(server: Server) -> None:
    with _raw_tls(server) as tls:
        tls.sendall(b"\x00\x01\x02 not http at all\r\n\r\n")
        reply = tls.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400")


def test_slow_headers_are_cut_off(tmp_path: object, fresh_dir: object) -> None:
    srv = Server(fresh_dir, ("--header-timeout", "1")).start()  # type: ignore[arg-type]
    try:
        with _raw_tls(srv) as tls:
            tls.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            assert tls.recv(4096) == b""
            assert time.monotonic() - started < 10
    finally:
        srv.stop()


def test_slow_body_gets_408(fresh_dir: object) -> None:
    srv = Server(fresh_dir, ("--body-timeout", "1")).start()  # type: ignore[arg-type]
    try:
        with _raw_tls(srv) as tls:
            tls.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
                b"X-Amz-Target: AwsProton20200720.ListServices\r\nContent-Length: 10\r\n\r\n{"
            )
            reply = _read_all(tls)
        assert reply.startswith(b"HTTP/1.1 408")
        assert b"RequestTimeout" in reply
    finally:
        srv.stop()


def test_form_params_in_query_string_for_post(server: Server) -> None:
    body = urlencode({"Action": "GetCallerIdentity", "Version": "2011-06-15"}).encode()
    status, code, _ = _post(
        server, "sts", {"Host": "x", "Content-Type": "application/x-www-form-urlencoded"}, body
    )
    assert (status, code) == (403, "MissingAuthenticationToken")
