"""AWS Signature Version 4 request verification, as a pure (sans-IO) core.

Layer 4 (pure core). Imports only the standard library and the layer-5 leaves ``hadron.types``
and ``hadron.errors``; never ``asyncio``, sockets, a database, a logger or the clock (the
import-linter contract in ``pyproject.toml`` enforces the I/O part). Time is the ``now``
argument; secrets arrive through a callback or as an already derived signing key.

Spec: ``/work/shared/spec/security.md`` §1 (canonical request §1.2, key derivation §1.3, time
and scope checks §1.4, session tokens §1.5, check order §1.6, errors §1.9). Upstream references:

* AWS: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html and
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-signing.html
* botocore ``botocore/auth.py`` (``SigV4Auth``/``SigV4QueryAuth``), mirrored step by step: the
  named functions below (``canonical_uri``, ``canonical_query_string``, ``canonical_headers``,
  ``canonical_request``, ``string_to_sign``, ``derive_signing_key``) match its methods.
* AWS error texts and their order: dacut/scratchstack-aws-signature ("AWS Auth Error Ordering")
  and DynamoDB captures in mhart/dynalite.

The flow, each step a public function so the server edge can interleave its async key lookup::

    claim = parse(req)                    # §1.6 steps 1, 3, 4, 5 and the date format of 6
    check(claim, req, now=..., ...)       # steps 6 (skew, expiry), 7 (scope), 8 (token shape)
    secret = <look up claim.access_key_id / claim.session_token>       # step 8, the edge's job
    verify(claim, req, derive_signing_key(secret, claim.date, claim.region, claim.service))

``verify_request`` runs all of it for synchronous callers. Error messages are AWS's, verbatim;
they reveal nothing the caller did not send. A mismatch raises ``SignatureMismatch`` whose
``canonical_request``/``string_to_sign`` attributes (no secret in either) are for DEBUG logs only.

# INVARIANT: every failure is a ``ServiceError`` subclass; arbitrary input never raises anything
# else (Hypothesis-tested). The one exception is a programming error: a naive ``now``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from hadron.canonical import (
    canonical_headers,
    canonical_query_string,
    canonical_uri,
    join_query,
    query_pairs,
)
from hadron.errors import (
    IncompleteSignature,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
)
from hadron.types import Headers, HttpRequest

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "MAX_EXPIRES",
    "UNSIGNED_PAYLOAD",
    "Claim",
    "SignatureMismatch",
    "SigningKeyCache",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "check",
    "compute_signature",
    "derive_signing_key",
    "parse",
    "string_to_sign",
    "verify",
    "verify_request",
]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MAX_EXPIRES = 604_800  # 7 days: the SDK/CLI presign limit (§1.4)

# --- AWS's messages (§1.4, §1.9), verbatim ------------------------------------------------------
MSG_NO_AUTHENTICATION = "Request is missing Authentication Token"
MSG_BOTH_FORMS = (
    "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
)
MSG_HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
MSG_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
MSG_REQUEST_EXPIRED = "Request has expired."
MSG_UNKNOWN_KEY = "The security token included in the request is invalid."  # row 12: period
MSG_INVALID_SESSION = "The security token included in the request is invalid"  # row 13: no period
# Ours, in AWS's voice (S3 answers XAmzContentSHA256Mismatch with this text; we keep the code
# within the SigV4 family).
MSG_CONTENT_SHA256_MISMATCH = (
    "The provided 'x-amz-content-sha256' header does not match what was computed."
)

# --- precompiled grammar ------------------------------------------------------------------------
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
# RFC 7231 IMF-fixdate ("GMT") and the RFC 2822 form botocore's ``formatdate`` emits ("-0000").
_HTTP_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) (GMT|UTC|UT|[+-][0-9]{4})"
)
_ZERO = timedelta(0)
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_EXPIRES = re.compile(r"-?[0-9]+")

# Headers our hardening requires to be signed whenever present (§1.2 "Hardening (ours)"), with the
# spelling used in the message. x-amz-target: a JSON body replayed against another operation.
_SIGN_IF_PRESENT = (
    ("x-amz-target", "X-Amz-Target"),
    ("x-amz-security-token", "X-Amz-Security-Token"),
    ("x-amz-content-sha256", "X-Amz-Content-SHA256"),
)
_AUTH_HEADERS = frozenset(
    {"authorization", "x-amz-date", "date", "x-amz-security-token", *dict(_SIGN_IF_PRESENT)}
)
_TIMESTAMP_HEADER_NAMES = {"x-amz-date": "X-Amz-Date", "date": "Date"}
_QUERY_REQUIRED = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")


class SignatureMismatch(SignatureDoesNotMatch):
    """``SignatureDoesNotMatch`` with AWS's fixed message, carrying the server-side canonical
    request and string to sign for a DEBUG log line (never for the wire)."""

    def __init__(self, canonical_request: str = "", string_to_sign: str = "") -> None:
        super().__init__(MSG_SIGNATURE_MISMATCH)
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


@dataclass(frozen=True, slots=True)
class Claim:
    """What a request claims about its signer; nothing in it is authenticated until ``verify``.

    ``date``/``region``/``service``/``terminator`` are empty when the credential does not have
    five parts; ``check`` reports that (AWS checks the scope only after the clock, §1.6).
    """

    access_key_id: str
    date: str  # YYYYMMDD from the credential scope
    region: str
    service: str
    session_token: str | None = field(repr=False)  # never in logs
    signed_at: datetime  # tz-aware UTC, from X-Amz-Date (or Date)
    signed_headers: tuple[str, ...]  # lower-cased, de-duplicated, sorted (as botocore emits)
    signature: str = field(repr=False)  # as sent; ``verify`` requires 64 hex digits
    presigned: bool
    expires: int | None  # X-Amz-Expires, 1..MAX_EXPIRES, presigned only
    credential: str  # the whole Credential value, for messages
    terminator: str
    amz_date: str  # signed_at in basic format: the RequestDateTime of the string to sign
    timestamp: str  # the timestamp exactly as received, for messages
    # The request-target the canonical pieces were computed from. Out of repr: a presigned
    # query holds the signature and the session token.
    target: str = field(repr=False)
    canonical_uri: str = field(repr=False)
    canonical_query: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.signed_at.tzinfo is not UTC and self.signed_at.utcoffset() != _ZERO:
            raise ValueError("Claim.signed_at must be timezone-aware UTC")

    @property
    def scope(self) -> str:
        """The credential scope of the string to sign (the terminator is always AWS's)."""
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


# --- canonical request pieces (§1.2) ------------------------------------------------------------


def _first_header(headers: Headers, name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _payload_hash(req: HttpRequest) -> str:
    return hashlib.sha256(req.body).hexdigest() if req.body else EMPTY_SHA256


def canonical_request(claim: Claim, req: HttpRequest, payload_hash: str | None = None) -> str:
    """The canonical request for ``req`` as ``claim`` describes its signing.

    ``payload_hash`` defaults to what botocore would sign: the ``X-Amz-Content-SHA256`` header
    verbatim when present, else the SHA-256 of the body.
    """
    if payload_hash is None:
        declared = _first_header(req.headers, "x-amz-content-sha256")
        payload_hash = declared if declared is not None else _payload_hash(req)
    if req.target == claim.target:
        uri, query = claim.canonical_uri, claim.canonical_query
    else:  # a claim applied to another request: never trust pieces computed elsewhere
        path, _, raw_query = req.target.partition("?")
        uri, query = (
            canonical_uri(path),
            canonical_query_string(raw_query, presigned=claim.presigned),
        )
    return (
        f"{req.method.upper()}\n{uri}\n{query}\n"
        f"{canonical_headers(req.headers, claim.signed_headers)}\n"
        f"{';'.join(claim.signed_headers)}\n{payload_hash}"
    )


def string_to_sign(claim: Claim, canonical_request: str) -> str:
    """``AWS4-HMAC-SHA256 \\n <basic date> \\n <scope> \\n hex(sha256(canonical request))``.

    The date is always the basic format, even when the client sent only a ``Date`` header.
    """
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{ALGORITHM}\n{claim.amz_date}\n{claim.scope}\n{digest}"


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over date, region, service and 'aws4_request' (§1.3)."""
    key = hmac.digest(
        f"AWS4{secret}".encode("utf-8", "surrogatepass"),
        date.encode("utf-8", "surrogatepass"),
        "sha256",
    )
    key = hmac.digest(key, region.encode("utf-8", "surrogatepass"), "sha256")
    key = hmac.digest(key, service.encode("utf-8", "surrogatepass"), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


def compute_signature(signing_key: bytes, string_to_sign: str) -> str:
    """Lower-case hex HMAC-SHA256 of the string to sign."""
    return hmac.digest(signing_key, string_to_sign.encode("utf-8", "surrogatepass"), "sha256").hex()


# --- parse: where the signature lives and what it claims (§1.1, §1.6 steps 1-6a) ----------------


def _basic(moment: datetime) -> str:
    # Manual formatting: strftime('%Y') does not zero-pad years below 1000 on glibc.
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
        f"T{moment.hour:02d}{moment.minute:02d}{moment.second:02d}Z"
    )


def _parse_timestamp(raw: str, from_date_header: bool) -> tuple[datetime, str]:
    """(UTC datetime, basic-format string) of an X-Amz-Date or, failing that, a Date header."""
    try:
        if _AMZ_DATE.fullmatch(raw) is not None:
            # The regex pins the shape; fromisoformat (C, 10x faster than int() slicing) checks
            # the ranges and reads the 'Z' as UTC.
            return datetime.fromisoformat(raw), raw
        # AWS falls back to the Date header only when X-Amz-Date is absent (botocore emits Date
        # only if the caller pre-set one) and accepts RFC 1123 there.
        match = _HTTP_DATE.fullmatch(raw) if from_date_header else None
        if match is not None:
            day, month, year, hour, minute, second, zone = match.groups()
            moment = datetime(
                int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC
            )
            if zone[0] in "+-":
                offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
                moment = moment - offset if zone[0] == "+" else moment + offset
            return moment, _basic(moment)
    except (ValueError, OverflowError):  # month 13, year 0, offset past year 9999...
        pass
    raise IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{raw}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_expires(raw: str | None) -> int | None:
    # X-Amz-Expires is syntax, so it fails in ``parse`` with IncompleteSignature (400): S3 says
    # AuthorizationQueryParametersError, which is not a code of the services we emulate. The
    # first two texts are S3's; the third (0 seconds) is ours. Absent: the URL lives only as
    # long as the skew window, like a header-signed request.
    if raw is None:
        return None
    if _EXPIRES.fullmatch(raw) is None:
        raise IncompleteSignature("X-Amz-Expires should be a number")
    if raw[0] == "-":
        raise IncompleteSignature("X-Amz-Expires must be non-negative")
    digits = raw.lstrip("0")
    if len(digits) > 6 or int(digits or "0") > MAX_EXPIRES:  # length first: no huge int()
        raise IncompleteSignature(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
        )
    if not digits:
        raise IncompleteSignature("X-Amz-Expires must be a positive number of seconds")
    return int(digits)


def parse(req: HttpRequest) -> Claim:
    """Extract the signing claim from the ``Authorization`` header or the presigned query.

    Runs §1.6 steps 1, 3, 4 and 5 and the date-format half of step 6, in AWS's order. The
    signed-header requirements (step 5) live here rather than in ``check`` because AWS reports an
    unsigned Host before a malformed date, and the claim's ``signed_at`` needs the date parsed.
    """
    # Step 1: framing. Path escapes (InvalidURIPath) before query escapes (MalformedQueryString).
    path, _, query = req.target.partition("?")
    uri = canonical_uri(path)
    pairs = query_pairs(query)

    # Step 3: locate the credentials. One pass over the headers; the first of each wins (only
    # the first Authorization header counts, §1.1).
    found: dict[str, str] = {}
    for name, value in req.headers:
        if name in _AUTH_HEADERS and name not in found:
            found[name] = value
    authorization = found.get("authorization")
    token = found.get("x-amz-security-token")
    params: dict[str, str] = {}  # presigned parameters, still canonically encoded
    for name, value in pairs:
        if name.startswith("X-Amz-") and name not in params:  # first duplicate wins (§1.1)
            params[name] = value
    if authorization is not None and "X-Amz-Algorithm" in params:
        raise SignatureDoesNotMatch(MSG_BOTH_FORMS)

    # Step 4: the parameters of the chosen form.
    timestamp_header: str | None = None
    if authorization is not None:
        header = authorization.strip(" \t")
        if not header.startswith("AWS4-"):  # Basic, Bearer, SigV2 ...: not ours at all
            raise MissingAuthenticationToken(MSG_NO_AUTHENTICATION)
        algorithm, _, rest = header.partition(" ")
        if algorithm != ALGORITHM:  # includes SigV4a, AWS4-ECDSA-P256-SHA256 (out of scope)
            raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'")
        fields: dict[str, str] = {}
        for element in rest.split(","):  # no comma after the algorithm, any spaces after commas
            element = element.strip(" \t")
            if not element:
                continue
            key, equals, value = element.partition("=")
            if not equals:
                raise IncompleteSignature(
                    f"'{element}' not a valid key=value pair (missing equal-sign) in "
                    f"Authorization header: '{header}'"
                )
            fields[key] = value  # last duplicate wins in the header form; unknown keys ignored
        # X-Amz-Date wins over Date when both are present (§1.2, last bullets).
        if "x-amz-date" in found:
            timestamp, timestamp_header = found["x-amz-date"], "x-amz-date"
        elif "date" in found:
            timestamp, timestamp_header = found["date"], "date"
        else:
            timestamp = ""
        credential = fields.get("Credential")
        signature = fields.get("Signature")
        signed_list = fields.get("SignedHeaders")
        if credential is None or signature is None or signed_list is None or not timestamp_header:
            missing = [
                f"Authorization header requires '{key}' parameter."
                for key in ("Credential", "Signature", "SignedHeaders")
                if key not in fields
            ]
            if timestamp_header is None:
                missing.append(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a "
                    "'Date' header."
                )
            raise IncompleteSignature(f"{' '.join(missing)} Authorization={header}")
        expires_raw, presigned = None, False
    else:
        if "X-Amz-Algorithm" not in params:
            raise MissingAuthenticationToken(MSG_NO_AUTHENTICATION)
        if unquote(params["X-Amz-Algorithm"]) != ALGORITHM:  # scratchstack rule 7a
            raise MissingAuthenticationToken(MSG_NO_AUTHENTICATION)
        missing = [
            f"AWS query-string parameters must include '{key}'."
            for key in _QUERY_REQUIRED
            if key not in params
        ]
        if missing:
            raise IncompleteSignature(
                f"{' '.join(missing)} Re-examine the query-string parameters."
            )
        credential = unquote(params["X-Amz-Credential"])  # '%2F' on the wire
        signature = unquote(params["X-Amz-Signature"])
        signed_list = unquote(params["X-Amz-SignedHeaders"])  # '%3B' on the wire
        timestamp = unquote(params["X-Amz-Date"])
        token = (
            unquote(params["X-Amz-Security-Token"]) if "X-Amz-Security-Token" in params else None
        )
        expires_raw = unquote(params["X-Amz-Expires"]) if "X-Amz-Expires" in params else None
        presigned = True

    # Canonicalise whatever list the client sent (§1.2): lower-case, unique, sorted. A client
    # that signed another spelling fails the signature naturally.
    signed = set(signed_list.lower().split(";"))
    signed_headers = tuple(sorted(signed))

    # Step 5: headers that must be signed. Host first (AWS's rule 8), then our hardening list.
    if "host" not in signed and ":authority" not in signed:
        raise SignatureDoesNotMatch(MSG_HOST_NOT_SIGNED)
    if timestamp_header is not None and timestamp_header not in signed:
        # An unsigned timestamp could be moved to defeat the skew window.
        raise SignatureDoesNotMatch(
            f"'{_TIMESTAMP_HEADER_NAMES[timestamp_header]}' must be a 'SignedHeader' in the AWS "
            "Authorization."
        )
    for name, spelled in _SIGN_IF_PRESENT:
        if name in found and name not in signed:
            raise SignatureDoesNotMatch(
                f"'{spelled}' must be a 'SignedHeader' in the AWS Authorization."
            )

    # Step 6a: the timestamp's format, then (still syntax) X-Amz-Expires.
    signed_at, basic = _parse_timestamp(timestamp, timestamp_header == "date")
    expires = _parse_expires(expires_raw)

    parts = credential.split("/")
    if len(parts) == 5:
        access_key_id, scope_date, region, service, terminator = parts
    else:  # reported by ``check`` after the clock checks, as AWS orders it
        access_key_id, scope_date, region, service, terminator = parts[0], "", "", "", ""
    return Claim(  # positional: this is the hot path (field order as declared)
        access_key_id, scope_date, region, service, token, signed_at, signed_headers,
        signature, presigned, expires, credential, terminator, basic, timestamp, req.target, uri,
        join_query(pairs, presigned) if pairs else "",
    )  # fmt: skip


# --- check: everything that needs the clock or configuration but no secret (§1.6 steps 6-8) -----


def check(
    claim: Claim,
    req: HttpRequest,
    *,
    now: datetime,
    max_skew: timedelta = timedelta(minutes=5),
    regions: Collection[str] | None = None,
    services: Collection[str] | None = None,
) -> None:
    """Clock, expiry, credential scope, token shape and the declared payload hash.

    ``regions``/``services`` of ``None`` accept any value. Raises ``SignatureDoesNotMatch``
    (skew, scope), ``RequestExpired`` (presigned URL past X-Amz-Expires), ``IncompleteSignature``
    (credential not 5 parts, bad X-Amz-Content-SHA256) or ``InvalidClientTokenId`` (token shape).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    # Step 6: the skew window, symmetric for header-signed requests. A presigned URL may be used
    # until X-Amz-Date + X-Amz-Expires, but its date must not lie in the future beyond the skew.
    minutes = f"{max_skew.total_seconds() / 60:g}"
    if claim.signed_at > now + max_skew:
        raise SignatureDoesNotMatch(
            f"Signature not yet current: {claim.amz_date} is still later than "
            f"{_basic((now + max_skew).astimezone(UTC))} ({_basic(now.astimezone(UTC))} + "
            f"{minutes} min.)"
        )
    if claim.expires is None:
        if claim.signed_at < now - max_skew:
            raise SignatureDoesNotMatch(
                f"Signature expired: {claim.amz_date} is now earlier than "
                f"{_basic((now - max_skew).astimezone(UTC))} ({_basic(now.astimezone(UTC))} - "
                f"{minutes} min.)"
            )
    elif claim.signed_at < now - timedelta(seconds=claim.expires):  # (no overflow near 9999)
        raise RequestExpired(MSG_REQUEST_EXPIRED)

    # Step 7: the credential scope; every failing part is reported, joined by a space.
    if claim.credential.count("/") != 4:
        raise IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{claim.credential}'"
        )
    problems = []
    if regions is not None and claim.region not in regions:
        problems.append(f"Credential should be scoped to a valid region, not '{claim.region}'.")
    if services is not None and claim.service not in services:
        expected = "', '".join(sorted(services))  # one service per endpoint in practice
        problems.append(f"Credential should be scoped to correct service: '{expected}'.")
    if claim.terminator != TERMINATOR:
        problems.append(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{claim.terminator}'."
        )
    if claim.date != claim.amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            f"HTTP: '{claim.date}' != '{claim.amz_date[:8]}', from '{claim.timestamp}'."
        )
    if problems:
        raise SignatureDoesNotMatch(" ".join(problems))

    # Step 8, the part that needs no lookup (§1.5): temporary keys (ASIA) carry a token,
    # long-term keys (AKIA) never do. Whether the token is genuine is the key lookup's job.
    if claim.access_key_id.startswith("ASIA"):
        if not claim.session_token:
            raise InvalidClientTokenId(MSG_INVALID_SESSION)
    elif claim.access_key_id.startswith("AKIA") and claim.session_token is not None:
        raise InvalidClientTokenId(MSG_INVALID_SESSION)

    # The declared payload hash (signed, by step 5): a hex digest or UNSIGNED-PAYLOAD (accepted
    # because Hadron is TLS-only; botocore sends it only over HTTPS). Streaming and trailer
    # payloads are S3 features we do not implement.
    declared = _first_header(req.headers, "x-amz-content-sha256")
    if declared is not None and declared != UNSIGNED_PAYLOAD and _HEX64.fullmatch(declared) is None:
        raise IncompleteSignature(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 hex digest, "
            f"got '{declared}'."
        )


# --- verify: recompute and compare (§1.6 step 9) ------------------------------------------------


def verify(claim: Claim, req: HttpRequest, signing_key: bytes) -> None:
    """Recompute the signature with ``signing_key`` and compare in constant time.

    Raises ``SignatureMismatch`` (a ``SignatureDoesNotMatch``) on any difference, and
    ``SignatureDoesNotMatch`` if a signed hex ``X-Amz-Content-SHA256`` is not the body's hash.
    """
    declared = _first_header(req.headers, "x-amz-content-sha256")
    if declared is not None:
        # botocore signs the header's value verbatim (§1.2 HashedPayload).
        candidates: tuple[str, ...] = (declared,)
    elif claim.presigned and not req.body and req.method.upper() == "GET":
        # Presigned GET: botocore's SigV4QueryAuth hashes the (empty) body, S3-style presigners
        # sign UNSIGNED-PAYLOAD. Both are safe only because there is no body to leave unsigned.
        candidates = (EMPTY_SHA256, UNSIGNED_PAYLOAD)
    else:
        candidates = (_payload_hash(req),)
    # INVARIANT: the comparison runs on ASCII strings of equal shape, so compare_digest is
    # constant-time and cannot raise; a malformed signature is a mismatch without comparing.
    provided = claim.signature.lower() if _HEX64.fullmatch(claim.signature) else None

    def matches(sts: str) -> bool:
        return provided is not None and hmac.compare_digest(
            compute_signature(signing_key, sts), provided
        )

    creq = canonical_request(claim, req, candidates[0])
    sts = string_to_sign(claim, creq)
    if not matches(sts) and not (
        len(candidates) > 1
        and matches(string_to_sign(claim, canonical_request(claim, req, candidates[1])))
    ):
        raise SignatureMismatch(creq, sts)
    if declared is not None and declared != UNSIGNED_PAYLOAD:
        if declared.lower() != _payload_hash(req):
            raise SignatureDoesNotMatch(MSG_CONTENT_SHA256_MISMATCH)


# --- signing keys -------------------------------------------------------------------------------


class SigningKeyCache:
    """Derived signing keys by (access key id, date, region, service); never the secret.

    kSigning is valid for one key, UTC day, region and service, so a server sees few distinct
    entries. Bounded: the oldest entry goes first (FIFO; a re-derivation is four HMACs). An access
    key's secret never changes in AWS's model, so the entry cannot go stale; call
    ``invalidate(access_key_id)`` anyway when a key is deleted or (for tests) re-used. Hits are
    lock-free dict reads; misses and invalidation take a lock, so worker threads may share it.
    """

    __slots__ = ("_keys", "_lock", "_maxsize")

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._maxsize = maxsize
        self._keys: dict[tuple[str, str, str, str], bytes] = {}
        self._lock = threading.Lock()

    def signing_key(
        self, access_key_id: str, secret: str, date: str, region: str, service: str
    ) -> bytes:
        entry = (access_key_id, date, region, service)
        key = self._keys.get(entry)
        if key is None:
            key = derive_signing_key(secret, date, region, service)
            with self._lock:
                while len(self._keys) >= self._maxsize:
                    del self._keys[next(iter(self._keys))]
                self._keys[entry] = key
        return key

    def invalidate(self, access_key_id: str) -> None:
        with self._lock:
            for entry in [entry for entry in self._keys if entry[0] == access_key_id]:
                del self._keys[entry]

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()

    def __len__(self) -> int:
        return len(self._keys)


# --- the documented one-call API ----------------------------------------------------------------


def verify_request(
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    secret_for: Callable[[str, str | None], str | None],
    *,
    now: datetime,
    max_skew: timedelta = timedelta(minutes=5),
    regions: Collection[str] | None = None,
    services: Collection[str] | None = None,
    key_cache: SigningKeyCache | None = None,
) -> Claim:
    """Authenticate one request: parse → check → ``secret_for`` → derive key → verify.

    ``target`` is the raw request-target (``path?query``, still percent-encoded, latin-1 text);
    header names may have any case. ``secret_for(access_key_id, session_token)`` returns the
    secret access key, or ``None`` for an unknown/inactive key (``InvalidClientTokenId``); it may
    itself raise ``InvalidClientTokenId``/``ExpiredToken`` for a bad or expired session token.
    Returns the verified claim.
    """
    req = HttpRequest(
        method, target, tuple([(name.lower(), value) for name, value in headers]), body
    )
    claim = parse(req)
    check(claim, req, now=now, max_skew=max_skew, regions=regions, services=services)
    secret = secret_for(claim.access_key_id, claim.session_token)
    if secret is None:
        raise InvalidClientTokenId(MSG_UNKNOWN_KEY)
    if key_cache is not None:
        key = key_cache.signing_key(
            claim.access_key_id, secret, claim.date, claim.region, claim.service
        )
    else:
        key = derive_signing_key(secret, claim.date, claim.region, claim.service)
    verify(claim, req, key)
    return claim
