"""Temporary security credentials: the session value and its sealed, self-contained token.

Layer 4 (pure): no I/O, no clock reads; time and randomness are inputs. Spec: security.md §2.1
(formats; "session tokens SHOULD be self-describing authenticated ciphertext"), §1.5 (a token is
bound to its ``ASIA`` key id), §3 (what AssumeRole and GetSessionToken issue).

A :class:`Session` carries everything enforcement needs about a temporary principal, so any
Hadron node verifies a request signed with it without a database round-trip:

* the temporary access key id and secret (the secret never leaves the token but to sign),
* who the session is (an assumed role: role ARN/name/id, session name, the
  ``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`` ARN and ``AROA…:SESSION`` id; or an IAM user's
  ``GetSessionToken`` session: the user's ARN and ``AIDA…`` id),
* issue and expiry times, session policies (inline text and managed ARNs), session tags with
  their transitive keys, the source identity, whether it came from role chaining, whether an MFA
  code was verified for it and when (tokens sealed before that field existed still open).

Token format: ``base64(seal(ring, json(session), aad=b"hadron:session:1:" + access_key_id))``
(``hadron.keys`` envelope: AES-256-GCM under the master-key ring's active key, key id in the
header). The AAD binds the token to its access key id: a token presented with any other key id
does not open. Opening fails with one uninformative :class:`InvalidSessionToken` for every cause
(bad base64, unknown master key, forged tag, truncation, wrong key id, unknown format).

Temporary access key ids (``ASIA`` + 16 base32 characters) encode the account (Hadron's own
scheme, not AWS's undocumented one): 8 random characters ``r`` and 8 characters holding the
40-bit account number XOR a mask derived from ``r`` — so ``GetAccessKeyInfo`` answers without
state, and ids still look random.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hadron.keys import (
    BASE32_ALPHABET,
    RNG,
    MasterKeyRing,
    SealError,
    generate_secret_access_key,
    open_sealed,
    seal,
)

__all__ = [
    "TEMPORARY_KEY_PREFIX",
    "InvalidSessionToken",
    "Session",
    "SessionKind",
    "account_of_temporary_key",
    "envelope_key_id",
    "mfa_context",
    "new_temporary_key_id",
    "open_token",
    "seal_token",
    "session_context",
    "temporary_credentials",
]

TEMPORARY_KEY_PREFIX = "ASIA"
_FORMAT = 1
_AAD_PREFIX = b"hadron:session:1:"
_ACCOUNT_LIMIT = 10**12  # 12 decimal digits fit in 40 bits (2**40 > 10**12)


class InvalidSessionToken(Exception):
    """A session token could not be opened. Deliberately carries no detail."""

    def __init__(self) -> None:
        super().__init__("invalid session token")


class SessionKind(StrEnum):
    ASSUMED_ROLE = "AssumedRole"  # AssumeRole
    USER = "User"  # GetSessionToken of an IAM user


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("session times must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Session:
    """One temporary principal, as sealed into its token.

    ``source_*`` name the long-term entity behind the session: the role (ARN with path, name,
    ``AROA`` id) for assumed roles, the IAM user for ``GetSessionToken``. ``arn``/``user_id``
    are what ``GetCallerIdentity`` answers. ``tags`` are the session tags (inherited transitive
    ones included); ``transitive_tag_keys`` those passed on to chained sessions.
    """

    kind: SessionKind
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_id: str
    account_id: str
    arn: str
    user_id: str
    source_arn: str
    source_name: str
    source_id: str
    issued_at: datetime
    expires_at: datetime
    session_name: str | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    chained: bool = False
    mfa: bool = False
    # When the MFA code behind this session was verified (``aws:MultiFactorAuthAge`` counts from
    # it); ``None`` without MFA. Kept through role chaining.
    mfa_authenticated_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "issued_at", _utc(self.issued_at))
        object.__setattr__(self, "expires_at", _utc(self.expires_at))
        if self.mfa_authenticated_at is not None:
            object.__setattr__(self, "mfa_authenticated_at", _utc(self.mfa_authenticated_at))
        if not self.access_key_id.startswith(TEMPORARY_KEY_PREFIX):
            raise ValueError("a temporary access key id starts with ASIA")
        if self.expires_at <= self.issued_at:
            raise ValueError("a session must expire after it is issued")

    def expired(self, now: datetime) -> bool:
        """Whether the session no longer authenticates at ``now`` (expiry is exclusive)."""
        return now >= self.expires_at

    @property
    def is_role(self) -> bool:
        return self.kind is SessionKind.ASSUMED_ROLE

    @property
    def has_session_policies(self) -> bool:
        return self.policy is not None or bool(self.policy_arns)

    @property
    def transitive_tags(self) -> tuple[tuple[str, str], ...]:
        """The tags a session chained from this one inherits."""
        keys = {k.lower() for k in self.transitive_tag_keys}
        return tuple((k, v) for k, v in self.tags if k.lower() in keys)


def session_context(session: Session) -> dict[str, Any]:
    """CloudTrail's ``userIdentity.sessionContext`` for a request signed with ``session``
    (security.md §9.3): the role that issued it, creation time, MFA flag, source identity."""
    context: dict[str, Any] = {}
    if session.is_role:
        context["sessionIssuer"] = {
            "type": "Role",
            "principalId": session.source_id,
            "arn": session.source_arn,
            "accountId": session.account_id,
            "userName": session.source_name,
        }
        context["webIdFederationData"] = {}
    context["attributes"] = {
        "creationDate": session.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mfaAuthenticated": "true" if session.mfa else "false",
    }
    if session.source_identity is not None:
        context["sourceIdentity"] = session.source_identity
    return context


def mfa_context(authenticated_at: datetime, now: datetime) -> dict[str, Any]:
    """The request-context keys of an MFA-authenticated request (security.md §5):
    ``aws:MultiFactorAuthPresent`` true and ``aws:MultiFactorAuthAge``, the whole seconds since
    the MFA code was verified (0 for the AssumeRole call that passes the code itself)."""
    age = int((now - authenticated_at).total_seconds())
    return {"aws:MultiFactorAuthPresent": True, "aws:MultiFactorAuthAge": max(0, age)}


# --- ASIA key ids ---------------------------------------------------------------------------------


def _b32(value: int, n: int) -> str:
    return "".join(BASE32_ALPHABET[(value >> (5 * (n - 1 - i))) & 31] for i in range(n))


def _mask(random_part: str) -> int:
    digest = hashlib.sha256(b"hadron:asia:" + random_part.encode("ascii")).digest()
    return int.from_bytes(digest[:5], "big")


def new_temporary_key_id(account_id: str, rng: RNG = os.urandom) -> str:
    """``ASIA`` + 8 characters encoding ``account_id`` + 8 random characters."""
    number = int(account_id)
    if not 0 <= number < _ACCOUNT_LIMIT or len(account_id) != 12:
        raise ValueError("account id must be 12 digits")
    data = rng(8)
    if len(data) != 8:
        raise ValueError("rng returned the wrong number of bytes")
    random_part = "".join(BASE32_ALPHABET[b & 31] for b in data)
    return TEMPORARY_KEY_PREFIX + _b32(number ^ _mask(random_part), 8) + random_part


def account_of_temporary_key(access_key_id: str) -> str | None:
    """The account encoded in an ``ASIA`` key id, or ``None`` if it encodes none."""
    if len(access_key_id) != 20 or not access_key_id.startswith(TEMPORARY_KEY_PREFIX):
        return None
    encoded, random_part = access_key_id[4:12], access_key_id[12:]
    value = 0
    for char in encoded:
        index = BASE32_ALPHABET.find(char)
        if index < 0:
            return None
        value = (value << 5) | index
    if any(c not in BASE32_ALPHABET for c in random_part):
        return None
    number = value ^ _mask(random_part)
    return f"{number:012d}" if number < _ACCOUNT_LIMIT else None


def temporary_credentials(account_id: str, rng: RNG = os.urandom) -> tuple[str, str, str]:
    """A fresh (access key id, secret access key, session id) for a new session."""
    session_id = rng(16).hex()
    return new_temporary_key_id(account_id, rng), generate_secret_access_key(rng), session_id


# --- the token ------------------------------------------------------------------------------------

_KEYS = {  # attribute -> short JSON key
    "kind": "k",
    "access_key_id": "a",
    "secret_access_key": "s",
    "session_id": "i",
    "account_id": "c",
    "arn": "r",
    "user_id": "u",
    "source_arn": "sa",
    "source_name": "sn",
    "source_id": "si",
    "issued_at": "t0",
    "expires_at": "t1",
    "session_name": "n",
    "policy": "p",
    "policy_arns": "pa",
    "tags": "g",
    "transitive_tag_keys": "tk",
    "source_identity": "id",
    "chained": "ch",
    "mfa": "m",
    "mfa_authenticated_at": "ma",  # absent in tokens sealed before MFA devices existed
}


def _aad(access_key_id: str) -> bytes:
    return _AAD_PREFIX + access_key_id.encode("ascii", "replace")


def _encode(session: Session) -> bytes:
    doc: dict[str, Any] = {"v": _FORMAT}
    for name, key in _KEYS.items():
        value = getattr(session, name)
        if isinstance(value, datetime):
            value = int(value.timestamp())
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        elif isinstance(value, SessionKind):
            value = value.value
        if value is None or value == [] or value is False:
            continue
        doc[key] = value
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _decode(data: bytes) -> Session:
    doc = json.loads(data.decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("v") != _FORMAT:
        raise ValueError("unknown session token format")
    values: dict[str, Any] = {}
    for name, key in _KEYS.items():
        if key in doc:
            values[name] = doc[key]
    values["kind"] = SessionKind(values["kind"])
    for name in ("issued_at", "expires_at"):
        values[name] = datetime.fromtimestamp(int(values[name]), UTC)
    if "mfa_authenticated_at" in values:
        values["mfa_authenticated_at"] = datetime.fromtimestamp(
            int(values["mfa_authenticated_at"]), UTC
        )
    values["policy_arns"] = tuple(str(v) for v in values.get("policy_arns", ()))
    values["tags"] = tuple((str(k), str(v)) for k, v in values.get("tags", ()))
    values["transitive_tag_keys"] = tuple(str(v) for v in values.get("transitive_tag_keys", ()))
    values["chained"] = values.get("chained") is True
    values["mfa"] = values.get("mfa") is True
    return Session(**values)


def seal_token(ring: MasterKeyRing, session: Session, rng: RNG = os.urandom) -> str:
    """The opaque session token for ``session`` (standard base64, no line breaks)."""
    envelope = seal(ring, _encode(session), aad=_aad(session.access_key_id), rng=rng)
    return base64.b64encode(envelope).decode("ascii")


def envelope_key_id(token: str) -> str | None:
    """The master-key id a token claims to be sealed under (unauthenticated; for ring reloads)."""
    try:
        head = base64.b64decode(token[:64] + "=" * (-len(token[:64]) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(head) < 2 or len(head) < 2 + head[1]:
        return None
    return head[2 : 2 + head[1]].decode("ascii", "replace")


def open_token(ring: MasterKeyRing, token: str, access_key_id: str) -> Session:
    """The session sealed in ``token`` for ``access_key_id``, or :class:`InvalidSessionToken`.

    Does not check expiry (that needs the request time): see :meth:`Session.expired`.
    """
    try:
        envelope = base64.b64decode(token.encode("ascii"), validate=True)
        session = _decode(open_sealed(ring, envelope, aad=_aad(access_key_id)))
    except (SealError, ValueError, TypeError, KeyError, UnicodeError, binascii.Error):
        raise InvalidSessionToken from None
    # INVARIANT: the AAD already binds the key id; this comparison is defence in depth.
    if session.access_key_id != access_key_id:
        raise InvalidSessionToken
    return session
