"""Hypothesis properties of ``hadron.sigv4`` (STYLE §13b, cryptography's ``tests/hypothesis``).

1. Whatever botocore signs (header or presigned form; generated paths, queries, headers,
   bodies, session tokens), ``verify_request`` accepts.
2. Any single-byte change to a signed component either fails with a ``ServiceError`` or leaves
   the canonical request (hence what was signed) unchanged, e.g. a tab for a space in a
   header value, or a hex digit's case inside a query escape.
3. Arbitrary targets and headers make ``parse``/``check``/``verify`` return or raise a
   ``ServiceError``, never any other exception (h11's fuzz invariant).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, quote_from_bytes

import pytest
from botocore.utils import percent_encode_sequence
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hadron import sigv4
from hadron.errors import InvalidURIPath, ServiceError
from hadron.types import HttpRequest
from tests.test_sigv4 import AKID, AMZ_DATE, HOST, SECRET, SIGNED_AT, secret_for, sign

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- generated requests --------------------------------------------------------------------------

PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
HEADER_VALUE_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t")
NOT_SURROGATE = st.characters(exclude_categories=["Cs"])

segments = st.one_of(
    st.text(PATH_CHARS, max_size=6),
    st.sampled_from([".", "..", ""]),
    st.binary(min_size=1, max_size=3).map(lambda b: quote_from_bytes(b, safe="")),
    st.text(NOT_SURROGATE, min_size=1, max_size=3).map(lambda t: quote(t, safe="")),
)
paths = st.builds(
    lambda parts, trailing: "/" + "/".join(parts) + ("/" if trailing else ""),
    st.lists(segments, max_size=5),
    st.booleans(),
)
query_pairs = st.lists(
    st.tuples(st.text(NOT_SURROGATE, max_size=5), st.text(NOT_SURROGATE, max_size=8)), max_size=4
)
header_names = st.sampled_from(
    ["X-Custom", "x-other", "My-Header", "X-Amz-Meta-Data", "Content-Type", "X-Amz-Target"]
)
headers = st.lists(st.tuples(header_names, st.text(HEADER_VALUE_CHARS, max_size=16)), max_size=5)
tokens = st.none() | st.text(string.ascii_letters + string.digits + "+/=", min_size=1, max_size=40)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    query: list[tuple[str, str]]
    query_as_params: bool  # AWSRequest(params=) puts '+' for spaces; SDKs put %20 in the URL
    headers: list[tuple[str, str]]
    body: bytes
    token: str | None
    presign: int | None
    date_header: bool
    region: str
    service: str


@st.composite
def cases(draw: st.DrawFn) -> Case:
    presign = draw(st.none() | st.integers(1, sigv4.MAX_EXPIRES))
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    body = b"" if presign is not None or method == "GET" else draw(st.binary(max_size=48))
    return Case(
        method=method,
        path=draw(paths),
        query=draw(query_pairs),
        query_as_params=draw(st.booleans()),
        headers=draw(headers),
        body=body,
        token=draw(tokens),
        presign=presign,
        date_header=draw(st.booleans()) and presign is None,
        region=draw(st.sampled_from(["us-east-1", "eu-west-3"])),
        service=draw(st.sampled_from(["proton", "sts", "iam"])),
    )


def signed(case: Case) -> HttpRequest:
    url = f"https://{HOST}{case.path}"
    params = None
    if case.query and case.query_as_params:
        params = case.query
    elif case.query:
        url += "?" + percent_encode_sequence(case.query)
    extra = [("Date", "set by botocore")] if case.date_header else []
    return sign(
        case.method,
        url,
        headers=[*case.headers, *extra],
        body=case.body,
        params=params,
        token=case.token,
        presign=case.presign,
        region=case.region,
        service=case.service,
    )


def above_root(path: str) -> bool:
    depth = 0
    for segment in path.split("/"):
        if segment == "..":
            if depth == 0:
                return True
            depth -= 1
        elif segment and segment != ".":
            depth += 1
    return False


def authenticate(req: HttpRequest) -> sigv4.Claim:
    return sigv4.verify_request(
        req.method, req.target, req.headers, req.body, secret_for, now=SIGNED_AT
    )


def what_was_signed(req: HttpRequest) -> str:
    claim = sigv4.parse(req)
    return sigv4.string_to_sign(claim, sigv4.canonical_request(claim, req))


# --- 1. botocore signs, we verify ----------------------------------------------------------------


@SETTINGS
@given(cases())
def test_botocore_signed_requests_verify(case: Case) -> None:
    req = signed(case)
    if above_root(case.path):  # botocore drops such '..'; we refuse them (spec §1.2 step 3)
        with pytest.raises(InvalidURIPath):
            authenticate(req)
        return
    claim = authenticate(req)
    assert (claim.presigned, claim.session_token) == (case.presign is not None, case.token)
    assert (claim.region, claim.service, claim.expires) == (case.region, case.service, case.presign)


# --- 2. a single-byte change fails or changes nothing that was signed ----------------------------


def _replace_char(text: str, data: st.DataObject, alphabet: st.SearchStrategy[str]) -> str:
    assume(text)
    at = data.draw(st.integers(0, len(text) - 1), label="position")
    char = data.draw(alphabet.filter(lambda c: c != text[at]), label="replacement")
    return text[:at] + char + text[at + 1 :]


@SETTINGS
@given(cases(), st.data())
def test_single_byte_change_is_detected(case: Case, data: st.DataObject) -> None:
    assume(not above_root(case.path))
    req = signed(case)
    claim = sigv4.parse(req)
    signed_names = sorted(
        {n for n, _ in req.headers if n in {*claim.signed_headers, "authorization"}}
    )
    component = data.draw(
        st.sampled_from(["method", "target", "body", *[f"header:{n}" for n in signed_names]]),
        label="component",
    )
    printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    if component == "method":
        mutated = replace(req, method=_replace_char(req.method, data, printable))
    elif component == "target":
        mutated = replace(req, target=_replace_char(req.target, data, printable))
    elif component == "body":
        assume(req.body)
        at = data.draw(st.integers(0, len(req.body) - 1), label="position")
        byte = data.draw(st.integers(0, 255).filter(lambda b: b != req.body[at]), label="byte")
        mutated = replace(req, body=req.body[:at] + bytes([byte]) + req.body[at + 1 :])
    else:
        name = component.removeprefix("header:")
        positions = [i for i, (n, _) in enumerate(req.headers) if n == name]
        index = data.draw(st.sampled_from(positions), label="occurrence")
        value = _replace_char(req.headers[index][1], data, printable | st.just("\t"))
        mutated = replace(
            req,
            headers=tuple((n, value if i == index else v) for i, (n, v) in enumerate(req.headers)),
        )
    try:
        authenticate(mutated)
    except ServiceError:
        return
    # Accepted: then the change must be invisible after canonicalisation.
    assert what_was_signed(mutated) == what_was_signed(req)


# --- 3. arbitrary input: a Claim or a ServiceError, nothing else ---------------------------------

ANY_CHAR = st.characters(exclude_categories=[])  # includes lone surrogates
FRAGMENTS = st.sampled_from(
    [
        "AWS4-HMAC-SHA256 ",
        "AWS4-",
        "Credential=",
        "SignedHeaders=",
        "Signature=",
        ", ",
        ",",
        "=",
        "/",
        ";",
        "host",
        "x-amz-date",
        "date",
        f"{AKID}/20150830/us-east-1/service/aws4_request",
        "aws4_request",
        "0" * 64,
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request",
        "X-Amz-Date=20150830T123600Z",
        "X-Amz-Expires=",
        "X-Amz-SignedHeaders=host",
        "X-Amz-Signature=",
        "X-Amz-Security-Token=",
        "&",
        "?",
        "%",
        "%zz",
        "%E1%88%B4",
        "+",
        "..",
        AMZ_DATE,
        "Sun, 30 Aug 2015 12:36:00 +2359",
        "Fri, 31 Dec 9999 23:59:59 -2359",
        "UNSIGNED-PAYLOAD",
        "ASIA",
        "AKIA",
    ]
)
fuzz_text = st.lists(FRAGMENTS | st.text(ANY_CHAR, max_size=4), max_size=12).map("".join)
fuzz_headers = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "authorization",
                "x-amz-date",
                "date",
                "host",
                ":authority",
                "x-amz-security-token",
                "x-amz-target",
                "x-amz-content-sha256",
                "x-other",
            ]
        ),
        fuzz_text,
    ),
    max_size=6,
)


@SETTINGS
@given(
    method=st.sampled_from(["GET", "POST", "get", ""]) | st.text(ANY_CHAR, max_size=4),
    target=st.builds(lambda p, q: p + q, fuzz_text, st.just("") | fuzz_text.map("?".__add__)),
    header_list=fuzz_headers,
    body=st.binary(max_size=16),
    offset=st.integers(-(10**6), 10**6),
)
def test_arbitrary_input_raises_only_service_errors(
    method: str, target: str, header_list: list[tuple[str, str]], body: bytes, offset: int
) -> None:
    req = HttpRequest(method, target, tuple(header_list), body)
    now = SIGNED_AT + timedelta(seconds=offset)
    try:
        claim = sigv4.parse(req)
        sigv4.check(claim, req, now=now, regions={"us-east-1"}, services=None)
        sigv4.verify(claim, req, sigv4.derive_signing_key(SECRET, claim.date, "r", "s"))
    except ServiceError:
        pass
    try:
        sigv4.verify_request(
            method, target, header_list, body, lambda *_: SECRET, now=now, max_skew=timedelta(0)
        )
    except ServiceError:
        pass


@SETTINGS
@given(st.text(ANY_CHAR, max_size=40))
def test_canonical_pieces_total(text: str) -> None:
    for function in (sigv4.canonical_uri, sigv4.canonical_query_string):
        try:
            result = function(text)
        except ServiceError:
            continue
        assert result.isascii()  # canonical forms are pure ASCII


def test_fuzz_clock_is_utc() -> None:  # the fixed instant the fuzz test offsets from
    assert SIGNED_AT.tzinfo is UTC and datetime.fromisoformat(AMZ_DATE) == SIGNED_AT
