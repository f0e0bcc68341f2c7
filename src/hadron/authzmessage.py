"""Encoded authorization-failure messages (EC2's ``UnauthorizedOperation``) and their decoding
(``sts:DecodeAuthorizationMessage``).

Layer 4 (pure): no I/O, no clock; the master-key ring and randomness are inputs. Spec:
security.md §1.9 (EC2 ``UnauthorizedOperation`` text) and §3.5 (the decoded JSON shape, observed:
``allowed``, ``explicitDeny``, ``matchedStatements``, ``failures``, ``context`` with
``principal``/``action``/``resource``/``conditions``).

The message is the decoded JSON sealed with AES-256-GCM under the master-key ring (``hadron.keys``
envelope), bound to the account of the denied principal (AAD), base64url without padding. Only
a caller of that account can decode it; anything else — corrupt, foreign, another account's —
is ``InvalidAuthorizationMessageException``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hadron.errors import InvalidAuthorizationMessageException
from hadron.keys import RNG, MasterKeyRing, SealError, open_sealed, seal

__all__ = ["MAX_ENCODED_CHARS", "decode", "encode", "failure_message"]

MAX_ENCODED_CHARS = 10240  # DecodeAuthorizationMessage's EncodedMessage maximum
_AAD = b"hadron:authorization-message:1:"
_NOT_DECODABLE = "The encoded authorization message is invalid or was not issued by Hadron."


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def failure_message(
    *,
    principal_id: str,
    principal_name: str | None,
    principal_arn: str,
    action: str,
    resource: str,
    explicit_deny: bool,
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """The decoded form of one denial, in the shape AWS's decoded messages have."""
    items = []
    for key in sorted(context, key=str.lower):
        value = context[key]
        values = value if isinstance(value, list | tuple) else [value]
        items.append({"key": key, "values": {"items": [{"value": _text(v)} for v in values]}})
    principal: dict[str, str] = {"id": principal_id, "arn": principal_arn}
    if principal_name is not None:
        principal["name"] = principal_name
    return {
        "allowed": False,
        "explicitDeny": explicit_deny,
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": principal,
            "action": action,
            "resource": resource,
            "conditions": {"items": items},
        },
    }


def encode(
    ring: MasterKeyRing, message: Mapping[str, Any], account_id: str, rng: RNG = os.urandom
) -> str:
    """The opaque form of ``message`` that only callers of ``account_id`` can decode. Over
    :data:`MAX_ENCODED_CHARS`, the conditions are left out."""
    for attempt in (message, _without_conditions(message)):
        text = json.dumps(attempt, separators=(",", ":")).encode("utf-8")
        envelope = seal(ring, text, aad=_AAD + account_id.encode("ascii"), rng=rng)
        encoded = base64.urlsafe_b64encode(envelope).decode("ascii").rstrip("=")
        if len(encoded) <= MAX_ENCODED_CHARS:
            break
    return encoded


def _without_conditions(message: Mapping[str, Any]) -> dict[str, Any]:
    context = dict(message.get("context") or {})
    context["conditions"] = {"items": []}
    return {**message, "context": context}


def decode(ring: MasterKeyRing, encoded: str, account_id: str) -> str:
    """The JSON text sealed by :func:`encode` for ``account_id``, or
    ``InvalidAuthorizationMessageException``."""
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return open_sealed(ring, raw, aad=_AAD + account_id.encode("ascii")).decode("utf-8")
    except (SealError, ValueError, binascii.Error):
        raise InvalidAuthorizationMessageException(_NOT_DECODABLE) from None
