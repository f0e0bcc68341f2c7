"""SigV4 ``parse``: where a request's signature lives and what it claims (``Claim``).

Layer 4 (pure core), split out of ``hadron.sigv4`` which re-exports the public names. Imports only
the standard library, the pure ``hadron.canonical`` and the layer-5 leaves ``hadron.types`` and
``hadron.errors``; never ``asyncio``, sockets, a database, a logger or the clock (the
import-linter contract in ``pyproject.toml`` enforces the I/O part).

Spec: ``/work/shared/spec/security.md`` §1.1 (the two forms), §1.4 (X-Amz-Expires), §1.6 steps
1-6a (check order up to the date format), §1.9 (errors). Also holds the protocol constants and
AWS's verbatim messages that ``hadron.sigv4`` shares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from hadron.canonical import canonical_uri, join_query, query_pairs
from hadron.errors import IncompleteSignature, MissingAuthenticationToken, SignatureDoesNotMatch
from hadron.types import Headers, HttpRequest

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "MAX_EXPIRES",
    "MSG_BOTH_FORMS",
    "MSG_CONTENT_SHA256_MISMATCH",
    "MSG_HOST_NOT_SIGNED",
    "MSG_INVALID_SESSION",
    "MSG_NO_AUTHENTICATION",
    "MSG_REQUEST_EXPIRED",
    "MSG_SIGNATURE_MISMATCH",
    "MSG_UNKNOWN_KEY",
    "TERMINATOR",
    "UNSIGNED_PAYLOAD",
    "Claim",
    "parse",
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


def _first_header(headers: Headers, name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


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
