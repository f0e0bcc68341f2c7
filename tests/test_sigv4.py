"""Tests for ``hadron.sigv4``: AWS vectors, botocore-signed requests, tampering, error catalogue.

The reference signer is botocore itself (``SigV4Auth``/``SigV4QueryAuth``) with its clock frozen
by patching ``botocore.auth.get_current_datetime``, the one clock read in ``add_auth``. Requests
are converted to what the server would receive: the raw request-target, the header list with
repeats, the body. Inputs of the AWS signing-suite cases are written by hand from the suite's
descriptions (no copied files).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path, percent_encode_sequence

from hadron import sigv4
from hadron.errors import (
    IncompleteSignature,
    InvalidClientTokenId,
    InvalidURIPath,
    MalformedQueryString,
    MissingAuthenticationToken,
    RequestExpired,
    ServiceError,
    SignatureDoesNotMatch,
)
from hadron.types import HttpRequest

# The AWS signing test suite's inputs (spec §1.3).
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
HOST = "example.amazonaws.com"
REGION = "us-east-1"
SERVICE = "service"
SIGNED_AT = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
AMZ_DATE = "20150830T123600Z"
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

LONG_TERM = "AKIAIOSFODNN7EXAMPLE"
TEMPORARY = "ASIAIOSFODNN7EXAMPLE"
OTHER_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLE+token/with=padding=="
KEYS = {AKID: SECRET, LONG_TERM: OTHER_SECRET, TEMPORARY: OTHER_SECRET}

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)


# --- helpers: botocore signs, the server receives -----------------------------------------------


def wire(text: str) -> str:
    """Text as the server sees it: UTF-8 bytes on the wire, latin-1 decoded (HttpRequest)."""
    return text.encode("utf-8").decode("latin-1")


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Freeze botocore's signing clock (botocore reads naive UTC via get_current_datetime)."""
    naive = at.astimezone(UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
        yield


def received(url: str, method: str, headers: Sequence[tuple[str, Any]], body: Any) -> HttpRequest:
    """The request as the server receives it, from a URL, header pairs and a body."""
    parts = urlsplit(url)
    target = wire(parts.path or "/") + (f"?{wire(parts.query)}" if parts.query else "")
    pairs = [(name.lower(), _text(value)) for name, value in headers]
    if "host" not in {name for name, _ in pairs}:
        pairs.insert(0, ("host", botocore.auth._host_from_url(url)))
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpRequest(method, target, tuple(pairs), body or b"")


def to_http_request(request: Any) -> HttpRequest:
    """Convert a signed ``AWSRequest``; its own header list keeps repeats (prepare() folds them)."""
    prepared = request.prepare()
    headers = list(request.headers.items())
    names = {name.lower() for name, _ in headers}
    headers += [(n, v) for n, v in prepared.headers.items() if n.lower() not in names]
    return received(prepared.url, prepared.method, headers, prepared.body)


def sign(
    method: str = "GET",
    url: str = f"https://{HOST}/",
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    params: Sequence[tuple[str, str]] | None = None,
    token: str | None = None,
    presign: int | None = None,
    at: datetime = SIGNED_AT,
    akid: str = AKID,
    secret: str = SECRET,
    region: str = REGION,
    service: str = SERVICE,
    unsigned_payload: bool = False,
    signer: Any = None,
) -> HttpRequest:
    """Sign with botocore (header form, or presigned when ``presign`` is the expiry)."""
    request = AWSRequest(method=method, url=url, data=body, params=list(params or ()))
    for name, value in headers:
        request.headers[name] = value  # HTTPMessage appends: repeats are kept
    if unsigned_payload:
        request.context["payload_signing_enabled"] = False
    credentials = Credentials(akid, secret, token)
    if signer is None:
        if presign is None:
            signer = botocore.auth.SigV4Auth(credentials, service, region)
        else:
            signer = botocore.auth.SigV4QueryAuth(credentials, service, region, expires=presign)
    else:
        signer = signer(credentials, service, region, expires=presign)
    with frozen(at):
        signer.add_auth(request)
    return to_http_request(request)


def secret_for(access_key_id: str, session_token: str | None) -> str | None:
    return KEYS.get(access_key_id)


def authenticate(
    req: HttpRequest,
    *,
    now: datetime = SIGNED_AT,
    regions: frozenset[str] | None = None,
    services: frozenset[str] | None = None,
    max_skew: timedelta = timedelta(minutes=5),
    lookup: Callable[[str, str | None], str | None] = secret_for,
) -> sigv4.Claim:
    return sigv4.verify_request(
        req.method,
        req.target,
        req.headers,
        req.body,
        lookup,
        now=now,
        max_skew=max_skew,
        regions=regions,
        services=services,
    )


def canonical(req: HttpRequest) -> str:
    return sigv4.canonical_request(sigv4.parse(req), req)


def with_header(req: HttpRequest, name: str, value: str) -> HttpRequest:
    return replace(req, headers=(*req.headers, (name, value)))


def set_header(req: HttpRequest, name: str, value: str) -> HttpRequest:
    return replace(req, headers=tuple((n, value if n == name else v) for n, v in req.headers))


def drop_header(req: HttpRequest, name: str) -> HttpRequest:
    return replace(req, headers=tuple((n, v) for n, v in req.headers if n != name))


def raw(target: str, headers: Sequence[tuple[str, str]], method: str = "GET") -> HttpRequest:
    return HttpRequest(method, target, (("host", HOST), *headers))


def auth_header(
    credential: str = f"{AKID}/20150830/{REGION}/{SERVICE}/aws4_request",
    signed: str = "host;x-amz-date",
    signature: str = "0" * 64,
) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed}, Signature={signature}"
    )


# --- the AWS get-vanilla vector (spec §1.3) -----------------------------------------------------

VANILLA_AUTH = auth_header(
    signature="5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
)
VANILLA = raw("/", [("x-amz-date", AMZ_DATE), ("authorization", VANILLA_AUTH)])
VANILLA_PRESIGNED = raw(
    "/?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request"
    "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
    [],
)


def test_get_vanilla_steps() -> None:
    claim = sigv4.parse(VANILLA)
    creq = sigv4.canonical_request(claim, VANILLA)
    assert creq == (f"GET\n/\n\nhost:{HOST}\nx-amz-date:{AMZ_DATE}\n\nhost;x-amz-date\n{EMPTY}")
    assert (
        hashlib.sha256(creq.encode()).hexdigest()
        == "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    )
    assert sigv4.string_to_sign(claim, creq) == (
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    )
    key = sigv4.derive_signing_key(SECRET, "20150830", REGION, SERVICE)
    assert key.hex() == "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75"
    assert sigv4.compute_signature(key, sigv4.string_to_sign(claim, creq)) == claim.signature
    sigv4.check(claim, VANILLA, now=SIGNED_AT)
    sigv4.verify(claim, VANILLA, key)


@pytest.mark.parametrize("req", [VANILLA, VANILLA_PRESIGNED], ids=["header", "presigned"])
def test_get_vanilla_verifies(req: HttpRequest) -> None:
    claim = authenticate(req, regions=frozenset({REGION}), services=frozenset({SERVICE}))
    assert (claim.access_key_id, claim.date, claim.region, claim.service) == (
        AKID,
        "20150830",
        REGION,
        SERVICE,
    )
    assert claim.signed_at == SIGNED_AT
    assert claim.presigned is (req is VANILLA_PRESIGNED)


def test_botocore_reproduces_the_vanilla_signatures() -> None:
    # Proves the clock freezing: botocore's own output equals the published signatures.
    header = sign()
    assert header.header("authorization") == VANILLA_AUTH
    presigned = sign(presign=3600)
    assert presigned.target == VANILLA_PRESIGNED.target


# --- AWS signing-suite cases, inputs written by hand --------------------------------------------


def _suite_creq(method: str, uri: str, query: str, headers: str, signed: str, body: str) -> str:
    return f"{method}\n{uri}\n{query}\n{headers}\n{signed}\n{body}"


SUITE = [
    pytest.param(
        sign(url=f"https://{HOST}//example//"),
        _suite_creq(
            "GET",
            "/example/",
            "",
            f"host:{HOST}\nx-amz-date:{AMZ_DATE}\n",
            "host;x-amz-date",
            EMPTY,
        ),
        id="get-slashes-normalized",
    ),
    pytest.param(
        sign(url=f"https://{HOST}/example1/example2/../.."),
        _suite_creq(
            "GET", "/", "", f"host:{HOST}\nx-amz-date:{AMZ_DATE}\n", "host;x-amz-date", EMPTY
        ),
        id="get-relative-relative",
    ),
    pytest.param(
        sign(url=f"https://{HOST}/ሴ"),
        _suite_creq(
            "GET",
            "/%E1%88%B4",
            "",
            f"host:{HOST}\nx-amz-date:{AMZ_DATE}\n",
            "host;x-amz-date",
            EMPTY,
        ),
        id="get-utf8",
    ),
    pytest.param(
        sign(url=f"https://{HOST}/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1"),
        _suite_creq(
            "GET",
            "/",
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3",
            f"host:{HOST}\nx-amz-date:{AMZ_DATE}\n",
            "host;x-amz-date",
            EMPTY,
        ),
        id="get-vanilla-query-order-encoded",
    ),
    pytest.param(
        sign(headers=[("My-Header1", " value1"), ("My-Header2", ' "a   b   c"')]),
        _suite_creq(
            "GET",
            "/",
            "",
            f'host:{HOST}\nmy-header1:value1\nmy-header2:"a b c"\nx-amz-date:{AMZ_DATE}\n',
            "host;my-header1;my-header2;x-amz-date",
            EMPTY,
        ),
        id="get-header-value-trim",
    ),
    pytest.param(
        sign(
            headers=[("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")]
        ),
        _suite_creq(
            "GET",
            "/",
            "",
            f"host:{HOST}\nmy-header1:value2,value2,value1\nx-amz-date:{AMZ_DATE}\n",
            "host;my-header1;x-amz-date",
            EMPTY,
        ),
        id="get-header-key-duplicate",
    ),
    pytest.param(
        sign(
            "POST",
            headers=[("Content-Type", "application/x-www-form-urlencoded")],
            body=b"Param1=value1",
        ),
        _suite_creq(
            "POST",
            "/",
            "",
            f"content-type:application/x-www-form-urlencoded\nhost:{HOST}\nx-amz-date:{AMZ_DATE}\n",
            "content-type;host;x-amz-date",
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
        ),
        id="post-x-www-form-urlencoded",
    ),
]


@pytest.mark.parametrize(("req", "expected"), SUITE)
def test_suite_case(req: HttpRequest, expected: str) -> None:
    assert canonical(req) == expected
    authenticate(req)


# --- differential: whatever botocore signs, we verify -------------------------------------------

SDK_QUERY = percent_encode_sequence([("q", "a b+c"), ("u", "ሴ/€"), ("e", ""), ("s", "x?y&z=w")])

DIFFERENTIAL: list[Any] = [
    pytest.param({"url": f"https://{HOST}/a/./b/../c/"}, id="dot-segments"),
    pytest.param({"url": f"https://{HOST}//a//b///c"}, id="double-slashes"),
    pytest.param({"url": f"https://{HOST}/caf%C3%A9/%E1%88%B4"}, id="sdk-encoded-unicode-path"),
    pytest.param({"url": f"https://{HOST}/café/ሴ"}, id="raw-utf8-path"),
    pytest.param({"url": f"https://{HOST}/a%20b/c%2Fd/%25"}, id="escaped-path-double-encoded"),
    pytest.param({"url": f"https://{HOST}/a:b@c!$&'()*+,;=d~e-f_g.h"}, id="reserved-path-chars"),
    pytest.param({"url": f"https://{HOST}/p?b=2&a=2&a=1&a=&c"}, id="repeated-query-keys"),
    pytest.param(
        {"params": [("q", "a b+c"), ("u", "ሴ/€"), ("e", ""), ("q", "a")]},
        id="params-urlencoded-plus-space",
    ),
    pytest.param({"url": f"https://{HOST}/?{SDK_QUERY}"}, id="query-sdk-encoded"),
    pytest.param({"headers": [("X-Custom", "  a   b \t c  ")]}, id="multi-space-header"),
    pytest.param(
        {"headers": [("X-Dup", "one"), ("X-Other", "x"), ("X-Dup", " two "), ("X-Dup", "3")]},
        id="repeated-headers",
    ),
    pytest.param({"headers": [("X-Case", "MiXeD Case")]}, id="header-value-case"),
    pytest.param({"headers": [("X-Empty", "")]}, id="empty-header-value"),
    pytest.param({"token": SESSION_TOKEN}, id="session-token"),
    pytest.param({"headers": [("Date", "placeholder")]}, id="date-header-instead-of-x-amz-date"),
    pytest.param({"url": f"https://{HOST}:8443/"}, id="non-default-port"),
    pytest.param(
        {
            "method": "POST",
            "headers": [
                ("X-Amz-Target", "AwsProton20200720.GetEnvironment"),
                ("Content-Type", "application/x-amz-json-1.0"),
            ],
            "body": b'{"name": "env"}',
            "service": "proton",
        },
        id="json-post",
    ),
    pytest.param(
        {
            "method": "POST",
            "headers": [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            "body": b"Action=GetCallerIdentity&Version=2011-06-15",
            "service": "sts",
        },
        id="query-protocol-post",
    ),
    pytest.param({"method": "PUT", "body": bytes(range(256))}, id="binary-body"),
    pytest.param({"unsigned_payload": True, "method": "PUT", "body": b"x"}, id="unsigned-payload"),
    pytest.param({"presign": 3600}, id="presigned"),
    pytest.param({"presign": 900, "token": SESSION_TOKEN}, id="presigned-session-token"),
    pytest.param(
        {"presign": 60, "url": f"https://{HOST}/x/./y//z?Action=Get&Version=1&q=a%20b"},
        id="presigned-with-query-and-dots",
    ),
    pytest.param(
        {"presign": 60, "params": [("k", "v w+x"), ("u", "ሴ")]}, id="presigned-with-params"
    ),
    pytest.param({"presign": 604800, "url": f"https://{HOST}/caf%C3%A9"}, id="presigned-max"),
    pytest.param(
        {"presign": 60, "signer": botocore.auth.S3SigV4QueryAuth, "url": f"https://{HOST}/b/k"},
        id="presigned-unsigned-payload",
    ),
]


@pytest.mark.parametrize("kwargs", DIFFERENTIAL)
def test_botocore_signed_request_verifies(kwargs: dict[str, Any]) -> None:
    req = sign(**kwargs)
    claim = authenticate(req)
    assert claim.presigned is ("presign" in kwargs)
    assert claim.session_token == kwargs.get("token")


def test_paths_canonicalise_like_botocore() -> None:
    paths = ["", "/", "//", "/a/b/", "/./a/.", "/a/../b/./c//", "/%2F%20x", "/~a!b", "/é", "x/y"]
    for path in paths:
        assert sigv4.canonical_uri(wire(path)) == quote(normalize_url_path(path), safe="/~"), path


def test_query_canonicalises_like_botocore_params() -> None:
    signer = botocore.auth.SigV4Auth(Credentials(AKID, SECRET), SERVICE, REGION)
    params = [("b", "2"), ("a", "x y"), ("a", "+"), ("ሴ", "~-._"), ("k", "")]
    request = AWSRequest(method="GET", url=f"https://{HOST}/", params=params)
    expected = signer.canonical_query_string(request)
    on_the_wire = urlsplit(request.prepare().url).query  # urlencode: spaces as '+'
    assert sigv4.canonical_query_string(on_the_wire) == expected


# --- boto3 clients, captured before send ---------------------------------------------------------


class _Captured(Exception):
    pass


def _boto3_request(service: str, call: Callable[[Any], object], token: str | None) -> HttpRequest:
    session = boto3.session.Session(
        aws_access_key_id=TEMPORARY if token else LONG_TERM,
        aws_secret_access_key=OTHER_SECRET,
        aws_session_token=token,
        region_name=REGION,
    )
    client = session.client(
        service,
        endpoint_url="https://proton.example:8443",
        config=Config(retries={"total_max_attempts": 1}),
    )
    captured: list[Any] = []

    def before_send(request: Any, **_: Any) -> None:
        captured.append(request)
        raise _Captured

    client.meta.events.register("before-send", before_send)
    with frozen(SIGNED_AT), pytest.raises(_Captured):
        call(client)
    request = captured[0]
    return received(request.url, request.method, list(request.headers.items()), request.body)


@pytest.mark.parametrize("token", [None, SESSION_TOKEN], ids=["long-term", "session"])
@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("proton", lambda c: c.get_environment(name="my-env")),
        ("proton", lambda c: c.list_environments(maxResults=10)),
        ("sts", lambda c: c.get_caller_identity()),
        ("iam", lambda c: c.list_users(PathPrefix="/a b+c/ሴ/")),
    ],
    ids=["proton-get", "proton-list", "sts", "iam"],
)
def test_boto3_client_requests_verify(
    service: str, call: Callable[[Any], object], token: str | None
) -> None:
    req = _boto3_request(service, call, token)
    claim = authenticate(req, regions=frozenset({REGION}), services=frozenset({service}))
    assert claim.access_key_id == (TEMPORARY if token else LONG_TERM)
    assert claim.session_token == token


@pytest.mark.parametrize("method", ["GET", None])
def test_boto3_presigned_url_verifies(method: str | None) -> None:
    client = boto3.session.Session(
        aws_access_key_id=LONG_TERM, aws_secret_access_key=OTHER_SECRET, region_name=REGION
    ).client("sts", endpoint_url=f"https://{HOST}")
    extra = {"HttpMethod": method} if method else {}
    with frozen(SIGNED_AT):
        url = client.generate_presigned_url("get_caller_identity", ExpiresIn=120, **extra)
    # Without HttpMethod boto3 signs the operation's own method (POST for STS); the URL then
    # only verifies when POSTed, as at AWS.
    req = received(url, method or "POST", [], b"")
    claim = authenticate(req, now=SIGNED_AT + timedelta(seconds=120))
    assert (claim.presigned, claim.expires, claim.service) == (True, 120, "sts")
    with pytest.raises(SignatureDoesNotMatch):
        authenticate(replace(req, method="PUT"))


# --- tampering: any signed component changed → SignatureDoesNotMatch -----------------------------

BASE = sign(
    "POST",
    f"https://{HOST}/p/a?x=1&y=2",
    headers=[
        ("X-Amz-Target", "AwsProton20200720.GetService"),
        ("Content-Type", "application/x-amz-json-1.0"),
        ("X-Custom", "v"),
    ],
    body=b'{"name": "svc"}',
    token=SESSION_TOKEN,
)
PRESIGNED = sign(url=f"https://{HOST}/p?x=1", presign=300)


def _flip_last(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


TAMPERING = [
    pytest.param(lambda r: replace(r, method="PUT"), id="method"),
    pytest.param(lambda r: replace(r, target=r.target.replace("/p/a", "/p/b")), id="path-char"),
    pytest.param(lambda r: replace(r, target=r.target.replace("/p/a", "/p/a/")), id="path-slash"),
    pytest.param(lambda r: replace(r, target=r.target.replace("y=2", "y=3")), id="query-value"),
    pytest.param(lambda r: replace(r, target=r.target + "&z=1"), id="query-added"),
    pytest.param(lambda r: replace(r, target=r.target.replace("x=1&", "")), id="query-removed"),
    pytest.param(lambda r: set_header(r, "x-custom", "w"), id="signed-header-value"),
    pytest.param(lambda r: with_header(r, "x-custom", "v"), id="signed-header-repeated"),
    pytest.param(lambda r: drop_header(r, "x-custom"), id="signed-header-removed"),
    pytest.param(
        lambda r: set_header(r, "x-amz-target", "AwsProton20200720.DeleteService"), id="target"
    ),
    pytest.param(lambda r: set_header(r, "host", "evil.example.com"), id="host"),
    pytest.param(lambda r: set_header(r, "x-amz-security-token", "other"), id="session-token"),
    pytest.param(lambda r: replace(r, body=b'{"name": "svd"}'), id="body"),
    pytest.param(lambda r: replace(r, body=r.body + b" "), id="body-appended"),
    pytest.param(lambda r: set_header(r, "x-amz-date", "20150830T123601Z"), id="date"),
    pytest.param(
        lambda r: set_header(r, "authorization", _flip_last(r.header("authorization") or "")),
        id="signature",
    ),
]


@pytest.mark.parametrize("tamper", TAMPERING)
def test_tampering_fails(tamper: Callable[[HttpRequest], HttpRequest]) -> None:
    authenticate(BASE)
    with pytest.raises(SignatureDoesNotMatch) as caught:
        authenticate(tamper(BASE))
    assert caught.value.message == MISMATCH
    assert isinstance(caught.value, sigv4.SignatureMismatch)
    assert caught.value.canonical_request  # for the DEBUG log line


PRESIGNED_TAMPERING = [
    pytest.param(lambda t: t.replace("x=1", "x=2"), id="query-value"),
    pytest.param(lambda t: t.replace("X-Amz-Expires=300", "X-Amz-Expires=301"), id="expires"),
    pytest.param(lambda t: t.replace("/p?", "/q?"), id="path"),
    pytest.param(_flip_last, id="signature"),
    pytest.param(lambda t: t + "&X-Amz-Signature=" + "0" * 64, id="second-signature-ignored"),
]


@pytest.mark.parametrize("tamper", PRESIGNED_TAMPERING)
def test_presigned_tampering_fails(tamper: Callable[[str], str]) -> None:
    authenticate(PRESIGNED)
    mutated = replace(PRESIGNED, target=tamper(PRESIGNED.target))
    if mutated.target.endswith("0" * 64):  # first X-Amz-Signature wins; both are excluded
        authenticate(mutated)
        return
    with pytest.raises(SignatureDoesNotMatch) as caught:
        authenticate(mutated)
    assert caught.value.message == MISMATCH


def test_signature_case_and_shape() -> None:
    auth = VANILLA.header("authorization") or ""
    upper = set_header(VANILLA, "authorization", auth[:-64] + auth[-64:].upper())
    authenticate(upper)  # compared after lower-casing
    for bad in ("5fa00f", "z" * 64, "5fa00f" + "é" * 58, ""):
        with pytest.raises(SignatureDoesNotMatch) as caught:
            authenticate(set_header(VANILLA, "authorization", auth[:-64] + bad))
        assert caught.value.message == MISMATCH


def test_claim_from_another_request_is_recomputed() -> None:
    other = replace(VANILLA, target="/other")
    claim = sigv4.parse(VANILLA)
    key = sigv4.derive_signing_key(SECRET, claim.date, claim.region, claim.service)
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify(claim, other, key)


# --- the error catalogue, §1.9 rows 1-11, 12-13, 15-17: code and exact message ------------------

NOW_LATE = SIGNED_AT + timedelta(minutes=15)
CRED = f"{AKID}/20150830/{REGION}/{SERVICE}/aws4_request"
QUERY_AUTH = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"
    "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=" + "0" * 64
)
NO_PARAMS = "AWS4-HMAC-SHA256 Credential=" + CRED
SIGNED_UNDATED = auth_header(signed="host")

ERRORS = [
    pytest.param(
        raw("/", [("x-amz-date", AMZ_DATE)]),
        MissingAuthenticationToken,
        "Request is missing Authentication Token",
        id="1-no-authentication",
    ),
    pytest.param(
        raw("/", [("authorization", "Basic dXNlcjpwYXNz")]),
        MissingAuthenticationToken,
        "Request is missing Authentication Token",
        id="1-not-aws4",
    ),
    pytest.param(
        raw(f"/?{QUERY_AUTH}", [("authorization", VANILLA_AUTH), ("x-amz-date", AMZ_DATE)]),
        SignatureDoesNotMatch,
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
        id="2-both-forms",
    ),
    pytest.param(
        raw("/", [("authorization", VANILLA_AUTH.replace("SHA256", "SHA512", 1))]),
        IncompleteSignature,
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'",
        id="3-algorithm",
    ),
    pytest.param(
        raw("/", [("authorization", "AWS4-ECDSA-P256-SHA256 Credential=x")]),
        IncompleteSignature,
        "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'",
        id="3-sigv4a",
    ),
    pytest.param(
        raw("/?" + QUERY_AUTH.replace("HMAC-SHA256", "HMAC-SHA1"), []),
        MissingAuthenticationToken,
        "Request is missing Authentication Token",
        id="3b-query-algorithm",
    ),
    pytest.param(
        raw("/", [("authorization", NO_PARAMS)]),
        IncompleteSignature,
        "Authorization header requires 'Signature' parameter. Authorization header requires "
        "'SignedHeaders' parameter. Authorization header requires existence of either a "
        f"'X-Amz-Date' or a 'Date' header. Authorization={NO_PARAMS}",
        id="4-missing-parameters",
    ),
    pytest.param(
        raw("/", [("authorization", "AWS4-HMAC-SHA256 "), ("x-amz-date", AMZ_DATE)]),
        IncompleteSignature,
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
        "Authorization=AWS4-HMAC-SHA256",
        id="4-all-parameters",
    ),
    pytest.param(
        raw("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=x", []),
        IncompleteSignature,
        "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string "
        "parameters must include 'X-Amz-Signature'. AWS query-string parameters must include "
        "'X-Amz-SignedHeaders'. Re-examine the query-string parameters.",
        id="5-query-parameters",
    ),
    pytest.param(
        raw(
            "/",
            [
                (
                    "authorization",
                    f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders, Signature=0",
                ),
                ("x-amz-date", AMZ_DATE),
            ],
        ),
        IncompleteSignature,
        "'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization "
        f"header: 'AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders, Signature=0'",
        id="6-not-key-value",
    ),
    pytest.param(
        raw("/", [("authorization", VANILLA_AUTH), ("x-amz-date", "2015-08-30T12:36:00Z")]),
        IncompleteSignature,
        "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
        id="7-date-format",
    ),
    pytest.param(
        raw("/", [("authorization", auth_header(signed="date")), ("date", "yesterday")]),
        SignatureDoesNotMatch,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        id="8-host-before-date",
    ),
    pytest.param(
        raw("/", [("authorization", auth_header(signed="host;date")), ("date", "yesterday")]),
        IncompleteSignature,
        "Date must be in ISO-8601 'basic format'. Got 'yesterday'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
        id="7-date-header-format",
    ),
    pytest.param(
        raw("/", [("authorization", auth_header(signed="x-amz-date")), ("x-amz-date", AMZ_DATE)]),
        SignatureDoesNotMatch,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        id="8-host-not-signed",
    ),
    pytest.param(
        raw("/", [("authorization", auth_header(credential=CRED.rsplit("/", 1)[0]))]),
        IncompleteSignature,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={auth_header(credential=CRED.rsplit('/', 1)[0])}",
        id="4-date-missing",
    ),
    pytest.param(
        raw(
            "/",
            [
                ("authorization", auth_header(credential=CRED.rsplit("/", 1)[0])),
                ("x-amz-date", AMZ_DATE),
            ],
        ),
        IncompleteSignature,
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got 'AKIDEXAMPLE/20150830/us-east-1/service'",
        id="10-credential-parts",
    ),
    pytest.param(
        raw(
            "/",
            [
                ("authorization", auth_header(credential=f"{AKID}/20150829/mars-1/s3/aws4")),
                ("x-amz-date", AMZ_DATE),
            ],
        ),
        SignatureDoesNotMatch,
        "Credential should be scoped to a valid region, not 'mars-1'. Credential should be "
        "scoped to correct service: 'service'. Credential should be scoped with a valid "
        "terminator: 'aws4_request', not 'aws4'. Date in Credential scope does not match "
        "YYYYMMDD from ISO-8601 version of date from HTTP: '20150829' != '20150830', from "
        "'20150830T123600Z'.",
        id="11-scope",
    ),
    pytest.param(
        sign(akid="AKIAUNKNOWN0EXAMPLE0"),
        InvalidClientTokenId,
        "The security token included in the request is invalid.",
        id="12-unknown-key",
    ),
    pytest.param(
        sign(akid=TEMPORARY, secret=OTHER_SECRET),
        InvalidClientTokenId,
        "The security token included in the request is invalid",
        id="13-temporary-key-without-token",
    ),
    pytest.param(
        sign(akid=LONG_TERM, secret=OTHER_SECRET, token=SESSION_TOKEN),
        InvalidClientTokenId,
        "The security token included in the request is invalid",
        id="13-long-term-key-with-token",
    ),
    pytest.param(
        sign(secret=OTHER_SECRET),
        SignatureDoesNotMatch,
        MISMATCH,
        id="15-wrong-secret",
    ),
    pytest.param(
        raw("/?a=%zz", [("authorization", VANILLA_AUTH), ("x-amz-date", AMZ_DATE)]),
        MalformedQueryString,
        "Illegal hex character in escape % pattern: %zz",
        id="17-query-illegal-hex",
    ),
    pytest.param(
        raw("/?a=1&b=%4", [("authorization", VANILLA_AUTH), ("x-amz-date", AMZ_DATE)]),
        MalformedQueryString,
        "Incomplete trailing escape % sequence",
        id="17-query-incomplete",
    ),
    pytest.param(
        raw("/a%g1b?a=%zz", []),
        InvalidURIPath,
        "Illegal hex character in escape % pattern: %g1",
        id="path-illegal-hex-before-query",
    ),
    pytest.param(
        raw("/a%2", []),
        InvalidURIPath,
        "Incomplete trailing escape % sequence",
        id="path-incomplete",
    ),
    pytest.param(
        raw("/a/../..", []),
        InvalidURIPath,
        "Relative path entry '..' navigates above root",
        id="path-above-root",
    ),
]


@pytest.mark.parametrize(("req", "error", "message"), ERRORS)
def test_error_catalogue(req: HttpRequest, error: type[ServiceError], message: str) -> None:
    with pytest.raises(error) as caught:
        authenticate(req, regions=frozenset({REGION}), services=frozenset({SERVICE}))
    assert caught.value.code == error.code
    assert caught.value.message == message


def test_error_codes_on_the_json_protocol() -> None:
    with pytest.raises(ServiceError) as caught:
        authenticate(sign(secret=OTHER_SECRET))
    assert caught.value.wire("json") == ("InvalidSignatureException", 400, MISMATCH)
    with pytest.raises(ServiceError) as caught:
        authenticate(raw("/", []))
    assert caught.value.wire("json")[:2] == ("MissingAuthenticationTokenException", 400)


@pytest.mark.parametrize(
    ("now", "skew", "message"),
    [
        (
            SIGNED_AT + timedelta(minutes=15),
            timedelta(minutes=5),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z "
            "(20150830T125100Z - 5 min.)",
        ),
        (
            SIGNED_AT - timedelta(minutes=10),
            timedelta(minutes=5),
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123100Z "
            "(20150830T122600Z + 5 min.)",
        ),
        (
            SIGNED_AT + timedelta(minutes=16),
            timedelta(minutes=15),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z "
            "(20150830T125200Z - 15 min.)",
        ),
    ],
    ids=["expired-5", "not-yet-current-5", "expired-15"],
)
def test_9_skew_window(now: datetime, skew: timedelta, message: str) -> None:
    with pytest.raises(SignatureDoesNotMatch) as caught:
        authenticate(VANILLA, now=now, max_skew=skew)
    assert (caught.value.code, caught.value.message) == ("SignatureDoesNotMatch", message)


def test_9_skew_window_edges_are_inclusive() -> None:
    authenticate(VANILLA, now=SIGNED_AT + timedelta(minutes=5))
    authenticate(VANILLA, now=SIGNED_AT - timedelta(minutes=5))


def test_skew_checked_before_scope() -> None:
    # AWS's order (§1.6): the clock (step 6) before the credential scope (step 7).
    bad_scope = raw(
        "/", [("authorization", auth_header(credential="AKIDEXAMPLE/x")), ("x-amz-date", AMZ_DATE)]
    )
    with pytest.raises(SignatureDoesNotMatch, match=r"^Signature expired"):
        authenticate(bad_scope, now=NOW_LATE)


# --- presigned expiry (§1.4) --------------------------------------------------------------------


def test_16_presigned_url_expires() -> None:
    req = sign(presign=300)
    authenticate(req, now=SIGNED_AT + timedelta(seconds=300))  # long past the skew window
    with pytest.raises(RequestExpired) as caught:
        authenticate(req, now=SIGNED_AT + timedelta(seconds=301))
    assert (caught.value.code, caught.value.message) == ("RequestExpired", "Request has expired.")


def test_presigned_url_from_the_future() -> None:
    with pytest.raises(SignatureDoesNotMatch, match=r"^Signature not yet current: "):
        authenticate(sign(presign=300), now=SIGNED_AT - timedelta(minutes=6))


def test_presigned_without_expires_lives_as_long_as_the_skew() -> None:
    req = sign(presign=300)
    target = "&".join(p for p in req.target.split("&") if not p.startswith("X-Amz-Expires="))
    claim = sigv4.parse(replace(req, target=target))
    assert claim.expires is None
    with pytest.raises(SignatureDoesNotMatch, match=r"^Signature expired: "):
        sigv4.check(claim, req, now=SIGNED_AT + timedelta(minutes=6))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "X-Amz-Expires should be a number"),
        ("1.5", "X-Amz-Expires should be a number"),
        ("-5", "X-Amz-Expires must be non-negative"),
        ("0", "X-Amz-Expires must be a positive number of seconds"),
        ("604801", "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
        ("9" * 5000, "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
    ],
)
def test_presigned_expires_must_be_1_to_604800(value: str, message: str) -> None:
    req = raw(f"/?{QUERY_AUTH}&X-Amz-Expires={value}", [])
    with pytest.raises(IncompleteSignature) as caught:
        sigv4.parse(req)
    assert caught.value.message == message
    assert sigv4.parse(raw(f"/?{QUERY_AUTH}&X-Amz-Expires=0000604800", [])).expires == 604800


# --- hardening: headers that must be signed when present (§1.2) ---------------------------------


@pytest.mark.parametrize(
    ("name", "spelled"),
    [
        ("x-amz-target", "X-Amz-Target"),
        ("x-amz-security-token", "X-Amz-Security-Token"),
        ("x-amz-content-sha256", "X-Amz-Content-SHA256"),
    ],
)
def test_unsigned_sensitive_header_is_rejected(name: str, spelled: str) -> None:
    with pytest.raises(SignatureDoesNotMatch) as caught:
        authenticate(with_header(VANILLA, name, "x"))
    assert caught.value.message == f"'{spelled}' must be a 'SignedHeader' in the AWS Authorization."


@pytest.mark.parametrize(
    ("headers", "spelled"),
    [
        ([("authorization", auth_header(signed="host")), ("x-amz-date", AMZ_DATE)], "X-Amz-Date"),
        ([("authorization", SIGNED_UNDATED), ("date", "Sun, 30 Aug 2015 12:36:00 GMT")], "Date"),
    ],
    ids=["x-amz-date", "date"],
)
def test_timestamp_header_must_be_signed(headers: list[tuple[str, str]], spelled: str) -> None:
    with pytest.raises(SignatureDoesNotMatch) as caught:
        sigv4.parse(raw("/", headers))
    assert caught.value.message == f"'{spelled}' must be a 'SignedHeader' in the AWS Authorization."


def test_authority_satisfies_the_host_rule() -> None:
    claim = sigv4.parse(
        raw(
            "/",
            [
                ("authorization", auth_header(signed=":authority;x-amz-date")),
                ("x-amz-date", AMZ_DATE),
            ],
        )
    )
    assert claim.signed_headers == (":authority", "x-amz-date")


# --- payload hash: X-Amz-Content-SHA256 and UNSIGNED-PAYLOAD (§1.2) ------------------------------


def test_content_sha256_digest_must_match_body() -> None:
    body = b'{"a": 1}'
    digest = hashlib.sha256(body).hexdigest()
    authenticate(sign("PUT", body=body, headers=[("X-Amz-Content-SHA256", digest)]))
    lying = sign("PUT", body=b"other", headers=[("X-Amz-Content-SHA256", digest)])
    with pytest.raises(SignatureDoesNotMatch) as caught:
        authenticate(lying)
    assert caught.value.message == (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )


def test_content_sha256_must_be_digest_or_unsigned() -> None:
    req = sign("PUT", body=b"x", headers=[("X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD")])
    with pytest.raises(
        IncompleteSignature, match=r"^x-amz-content-sha256 must be UNSIGNED-PAYLOAD"
    ):
        authenticate(req)


def test_unsigned_payload_header_leaves_body_free() -> None:
    req = sign("PUT", body=b"x", unsigned_payload=True)
    assert req.header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    authenticate(replace(req, body=b"anything"))


def test_presigned_unsigned_payload_only_without_body() -> None:
    req = sign(url=f"https://{HOST}/b/k", presign=60, signer=botocore.auth.S3SigV4QueryAuth)
    authenticate(req)
    with pytest.raises(SignatureDoesNotMatch):
        authenticate(replace(req, body=b"smuggled"))


# --- Date header (RFC 1123 / RFC 2822) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sun, 30 Aug 2015 12:36:00 GMT", SIGNED_AT),
        ("Sun, 30 Aug 2015 12:36:00 -0000", SIGNED_AT),
        ("Sun, 30 Aug 2015 14:36:00 +0200", SIGNED_AT),
        ("Sun, 30 Aug 2015 07:36:00 -0500", SIGNED_AT),
    ],
)
def test_date_header_forms(value: str, expected: datetime) -> None:
    claim = sigv4.parse(
        raw("/", [("authorization", auth_header(signed="date;host")), ("date", value)])
    )
    assert (claim.signed_at, claim.amz_date, claim.timestamp) == (expected, AMZ_DATE, value)


def test_x_amz_date_wins_over_date() -> None:
    claim = sigv4.parse(
        raw(
            "/",
            [
                ("date", "Mon, 31 Aug 2015 00:00:00 GMT"),
                ("x-amz-date", AMZ_DATE),
                ("authorization", VANILLA_AUTH),
            ],
        )
    )
    assert claim.signed_at == SIGNED_AT


@pytest.mark.parametrize(
    "value", ["20151330T123600Z", "00000830T123600Z", "20150830T123600", "\uff120150830T123600Z"]
)
def test_invalid_basic_dates(value: str) -> None:
    with pytest.raises(IncompleteSignature, match=r"^Date must be in ISO-8601 'basic format'"):
        sigv4.parse(raw("/", [("authorization", VANILLA_AUTH), ("x-amz-date", value)]))


# --- header grammar details (§1.1) --------------------------------------------------------------


def test_authorization_grammar_tolerance() -> None:
    sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    header = (
        f"AWS4-HMAC-SHA256   Credential=bogus,Credential={CRED},SignedHeaders=host;x-amz-date"
        f",   Unknown=1,, Signature={sig}"
    )
    req = raw("/", [("x-amz-date", AMZ_DATE), ("authorization", header), ("authorization", "x")])
    claim = authenticate(req)  # last duplicate key wins; first Authorization header counts
    assert claim.credential == CRED


def test_query_first_duplicate_wins() -> None:
    req = sign(presign=60)
    doubled = replace(req, target=req.target + "&X-Amz-Credential=other%2Fx")
    with pytest.raises(SignatureDoesNotMatch) as caught:  # canonical query now has both
        authenticate(doubled)
    assert caught.value.message == MISMATCH
    assert sigv4.parse(doubled).access_key_id == AKID


def test_signed_headers_are_canonicalised() -> None:
    header = auth_header(signed="X-Amz-Date;Host;host")
    claim = sigv4.parse(raw("/", [("authorization", header), ("x-amz-date", AMZ_DATE)]))
    assert claim.signed_headers == ("host", "x-amz-date")


def test_no_signed_headers_is_a_blank_line_like_botocore() -> None:
    assert sigv4.canonical_headers((("host", HOST),), ()) == "\n"


def test_absent_signed_header_signs_empty() -> None:
    header = auth_header(signed="host;missing;x-amz-date")
    req = raw("/", [("authorization", header), ("x-amz-date", AMZ_DATE)])
    assert "\nmissing:\n" in canonical(req)


def test_plus_in_query_is_a_space() -> None:
    assert sigv4.canonical_query_string("a=b+c&a=b%2Bc&d=%7e%2f") == "a=b%20c&a=b%2Bc&d=~%2F"
    assert sigv4.canonical_query_string("k&&=v&") == "=v&k="


# --- secret lookup, session tokens, key cache ----------------------------------------------------


def test_secret_for_gets_key_and_token() -> None:
    seen: list[tuple[str, str | None]] = []

    def lookup(access_key_id: str, session_token: str | None) -> str | None:
        seen.append((access_key_id, session_token))
        return OTHER_SECRET

    authenticate(sign(akid=TEMPORARY, secret=OTHER_SECRET, token=SESSION_TOKEN), lookup=lookup)
    assert seen == [(TEMPORARY, SESSION_TOKEN)]


def test_secret_for_may_reject_the_token() -> None:
    def lookup(access_key_id: str, session_token: str | None) -> str | None:
        raise InvalidClientTokenId("The security token included in the request is invalid")

    with pytest.raises(InvalidClientTokenId):
        authenticate(sign(akid=TEMPORARY, secret=OTHER_SECRET, token="forged"), lookup=lookup)


def test_signing_key_cache() -> None:
    cache = sigv4.SigningKeyCache(maxsize=2)
    key = cache.signing_key(AKID, SECRET, "20150830", REGION, SERVICE)
    assert key == sigv4.derive_signing_key(SECRET, "20150830", REGION, SERVICE)
    assert cache.signing_key(AKID, "ignored on a hit", "20150830", REGION, SERVICE) == key
    cache.signing_key(AKID, SECRET, "20150831", REGION, SERVICE)
    cache.signing_key(LONG_TERM, OTHER_SECRET, "20150830", REGION, SERVICE)
    assert len(cache) == 2  # oldest evicted
    cache.invalidate(AKID)
    assert len(cache) == 1
    assert cache.signing_key(AKID, OTHER_SECRET, "20150830", REGION, SERVICE) != key
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError, match="maxsize"):
        sigv4.SigningKeyCache(maxsize=0)
    req = sign()
    claim = sigv4.verify_request(
        req.method, req.target, req.headers, req.body, secret_for, now=SIGNED_AT, key_cache=cache
    )
    assert claim.access_key_id == AKID and len(cache) == 1


def test_verify_request_accepts_any_header_case() -> None:
    headers = [(name.title(), value) for name, value in VANILLA.headers]
    claim = sigv4.verify_request("GET", "/", headers, b"", secret_for, now=SIGNED_AT)
    assert claim.signed_headers == ("host", "x-amz-date")


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sigv4.check(sigv4.parse(VANILLA), VANILLA, now=SIGNED_AT.replace(tzinfo=None))


def test_claim_repr_hides_secrets() -> None:
    claim = sigv4.parse(sign(token=SESSION_TOKEN, presign=60))
    assert SESSION_TOKEN not in repr(claim)
    assert claim.signature not in repr(claim)


def test_claim_requires_utc() -> None:
    claim = sigv4.parse(VANILLA)
    with pytest.raises(ValueError, match="UTC"):
        replace(claim, signed_at=SIGNED_AT.replace(tzinfo=None))


def test_exported_members() -> None:
    for name in sigv4.__all__:
        assert hasattr(sigv4, name), name
    assert set(sigv4.__all__) >= {
        "Claim",
        "SigningKeyCache",
        "parse",
        "check",
        "verify",
        "verify_request",
        "derive_signing_key",
        "canonical_request",
        "string_to_sign",
    }
