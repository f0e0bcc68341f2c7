"""Unpacking Proton request parameters into values: tags, version numbers, request fingerprints.

Layer 4 (pure). The gateway has already checked every shape constraint of the model (lengths,
patterns, enums); what is here are the rules the model cannot express (proton.md §1.4, §1.5,
§1.6), each refused with a ValidationException naming the field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from hadron.errors import ResourceNotFoundException, ValidationError
from hadron.types import Principal

__all__ = [
    "MAX_VERSION_DIGITS",
    "ProtonCall",
    "ProtonHandler",
    "request_hash",
    "tag_keys",
    "tags",
    "version_part",
]


class ProtonCall(Protocol):
    """What Proton handlers read of ``hadron.gateway.Call`` (which satisfies this protocol;
    the gateway sits in a higher layer, so handlers name the shape, not the class)."""

    @property
    def principal(self) -> Principal: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def region(self) -> str: ...
    @property
    def now(self) -> datetime: ...


ProtonHandler = Callable[[ProtonCall], Mapping[str, Any] | None]

MAX_VERSION_DIGITS: Final = 9
"""Version numbers are created by counting up; longer ones cannot exist (and would not fit the
store's integers)."""
_RESERVED = "aws:"


def tags(params: Mapping[str, Any], field: str = "tags") -> list[tuple[str, str]]:
    """Customer tags from ``[{key, value}]``; ``aws:`` keys are reserved (§1.5)."""
    out: list[tuple[str, str]] = []
    for item in params.get(field) or []:
        key, value = str(item["key"]), str(item["value"])
        if key.lower().startswith(_RESERVED):
            raise ValidationError(
                f"{field}: the tag key {key} uses the prefix aws:, which is reserved for AWS."
            )
        out.append((key, value))
    return out


def tag_keys(params: Mapping[str, Any]) -> list[str]:
    keys = [str(k) for k in params.get("tagKeys") or []]
    for key in keys:
        if key.lower().startswith(_RESERVED):
            raise ValidationError(
                f"tagKeys: the tag key {key} uses the prefix aws:, which is reserved for AWS."
            )
    return keys


def version_part(value: str, not_found: ResourceNotFoundException) -> int:
    """A ``majorVersion``/``minorVersion`` (already matching the model's pattern) as an int;
    numbers too long to have been created raise ``not_found``."""
    if len(value) > MAX_VERSION_DIGITS:
        raise not_found
    return int(value)


def request_hash(params: Mapping[str, Any], ignore: Sequence[str] = ("clientToken",)) -> str:
    """A fingerprint of a request's parameters, to tell an identical retry from a different
    request (§1.4)."""
    kept = {k: v for k, v in params.items() if k not in ignore}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
