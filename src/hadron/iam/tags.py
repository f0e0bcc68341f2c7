"""IAM user and role tags: validation and the request-tag condition keys (pure).

Layer 4 (pure, like the rest of ``hadron.iam``). Spec: security.md §4.3 (50 tags per entity),
§5 (``aws:RequestTag/<k>``, ``aws:TagKeys``, ``aws:PrincipalTag/<k>``), §6 (tags: keys unique
case-insensitively with case preserved, ``aws:`` reserved). Lengths and characters are checked
first by the protocol layer against botocore's model; these checks repeat them for callers that
bypass it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from hadron.errors import InvalidInput, LimitExceeded

__all__ = [
    "MAX_TAGS",
    "principal_tag_context",
    "request_tag_context",
    "tag_keys",
    "tags_result",
    "validate_tags",
]

MAX_TAGS: Final = 50
"""IAM quota: tags per user or role."""


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= 128:
        raise InvalidInput(f"Tag key {key!r} must be 1 to 128 characters long.")
    if key.lower().startswith("aws:"):
        raise InvalidInput("Tag keys starting with 'aws:' are reserved for internal use.")


def validate_tags(tags: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, str]]:
    """``Tags`` (``[{"Key": …, "Value": …}]``) as ``(key, value)`` pairs, one per key compared
    case-insensitively (a later tag replaces an earlier one), or ``InvalidInput``/
    ``LimitExceeded`` with IAM's messages."""
    merged: dict[str, tuple[str, str]] = {}
    for tag in tags or ():
        key, value = str(tag["Key"]), str(tag.get("Value") or "")
        _check_key(key)
        if len(value) > 256:
            raise InvalidInput(f"Tag value for key {key!r} must be at most 256 characters long.")
        merged.pop(key.lower(), None)
        merged[key.lower()] = (key, value)
    if len(merged) > MAX_TAGS:
        raise LimitExceeded("The number of tags has reached the maximum limit.")
    return list(merged.values())


def tag_keys(keys: Iterable[Any]) -> list[str]:
    """``TagKeys`` of an Untag* request, checked like the keys of ``validate_tags``."""
    out = [str(k) for k in keys]
    for key in out:
        _check_key(key)
    return out


def tags_result(tags: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Tags as IAM returns them."""
    return [{"Key": k, "Value": v} for k, v in tags]


def request_tag_context(tags: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``aws:RequestTag/<key>`` for each tag and ``aws:TagKeys`` (every key, as sent)."""
    context: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags}
    context["aws:TagKeys"] = [k for k, _ in tags]
    return context


def principal_tag_context(tags: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``aws:PrincipalTag/<key>`` for each of the caller's tags."""
    return {f"aws:PrincipalTag/{k}": v for k, v in tags}
