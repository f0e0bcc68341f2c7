"""AWS Signature Version 4 request verification, as a pure (sans-IO) core.

Layer 4 (pure core). Imports only the standard library, its pure siblings ``hadron.canonical``
and ``hadron.sigv4_claim`` (``parse``, ``Claim``; re-exported here) and the layer-5 leaves
``hadron.types`` and ``hadron.errors``; never ``asyncio``, sockets, a database, a logger or the
clock (the import-linter contract in ``pyproject.toml`` enforces the I/O part). Time is the
``now`` argument; secrets arrive through a callback or as an already derived signing key.

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
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta

from hadron.canonical import (
    canonical_headers,
    canonical_query_string,
    canonical_uri,
)
from hadron.errors import (
    IncompleteSignature,
    InvalidClientTokenId,
    RequestExpired,
    SignatureDoesNotMatch,
)
from hadron.sigv4_claim import (
    _HEX64,
    ALGORITHM,
    EMPTY_SHA256,
    MAX_EXPIRES,
    MSG_CONTENT_SHA256_MISMATCH,
    MSG_INVALID_SESSION,
    MSG_REQUEST_EXPIRED,
    MSG_SIGNATURE_MISMATCH,
    MSG_UNKNOWN_KEY,
    TERMINATOR,
    UNSIGNED_PAYLOAD,
    Claim,
    _basic,
    _first_header,
    parse,
)
from hadron.types import HttpRequest

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


class SignatureMismatch(SignatureDoesNotMatch):
    """``SignatureDoesNotMatch`` with AWS's fixed message, carrying the server-side canonical
    request and string to sign for a DEBUG log line (never for the wire)."""

    def __init__(self, canonical_request: str = "", string_to_sign: str = "") -> None:
        super().__init__(MSG_SIGNATURE_MISMATCH)
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


# --- canonical request pieces (§1.2) ------------------------------------------------------------


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
