"""STS request rules: durations, session tags, source identity, session policies, ARNs.

Layer 4 (pure): values in, values or ``ServiceError`` out; no I/O, no clock. Spec: security.md
§3.1 (AssumeRole steps 4, 7, 8, 9, 10) and §3.2 (GetSessionToken durations). The model-level
constraints (lengths, patterns, 900..43200, at most 50 tags) are enforced by the gateway's
validator before any of this runs.

Choices for what AWS does not document (security.md §11 item 6 and 7; written in the notes):

* a chained request re-passing an inherited transitive tag key, a ``TransitiveTagKeys`` entry
  that names no tag in ``Tags``, or a different ``SourceIdentity`` than the calling session's →
  ``InvalidParameterValue`` (400);
* the packed size is Hadron's own: the zlib-compressed, minified session policy, managed ARNs
  and session tags against a budget of :data:`PACKED_BUDGET` bytes.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from hadron.errors import (
    InvalidParameterValue,
    PackedPolicyTooLarge,
    ValidationError,
)
from hadron.iam import Policy, PolicyKind, parse_policy

__all__ = [
    "DEFAULT_ROLE_SESSION_SECONDS",
    "DEFAULT_USER_SESSION_SECONDS",
    "MAX_POLICY_ARNS",
    "MAX_SESSION_POLICY_CHARS",
    "PACKED_BUDGET",
    "ROLE_CHAINING_MAX_SECONDS",
    "SessionTags",
    "assumed_role_arn",
    "packed_size",
    "policy_arns",
    "role_session_duration",
    "session_policy",
    "session_tags",
    "source_identity",
    "user_session_duration",
]

DEFAULT_ROLE_SESSION_SECONDS: Final = 3600
ROLE_CHAINING_MAX_SECONDS: Final = 3600
DEFAULT_USER_SESSION_SECONDS: Final = 43200
MAX_POLICY_ARNS: Final = 10
MAX_SESSION_POLICY_CHARS: Final = 2048
PACKED_BUDGET: Final = 2048
MAX_SESSION_TAGS: Final = 50

_CHAINING = (
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role "
    "chaining."
)
_MAX_SESSION = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def role_session_duration(requested: int | None, max_session: int, *, chained: bool) -> int:
    """AssumeRole's session length in seconds (``DurationSeconds`` already in 900..43200).

    Role chaining (the caller signs with temporary credentials) caps it at one hour, and a
    chained request without ``DurationSeconds`` gets one hour.
    """
    if requested is None:
        return DEFAULT_ROLE_SESSION_SECONDS
    if chained and requested > ROLE_CHAINING_MAX_SECONDS:
        raise ValidationError(_CHAINING)
    if requested > max_session:
        raise ValidationError(_MAX_SESSION)
    return requested


def user_session_duration(requested: int | None) -> int:
    """GetSessionToken's session length for an IAM user (900..129600 checked by the model)."""
    return DEFAULT_USER_SESSION_SECONDS if requested is None else requested


class SessionTags:
    """The tags and transitive keys a new session carries (inherited ones first)."""

    __slots__ = ("tags", "transitive_keys")

    def __init__(self, tags: tuple[tuple[str, str], ...], transitive_keys: tuple[str, ...]):
        self.tags = tags
        self.transitive_keys = transitive_keys


def session_tags(
    requested: Sequence[Mapping[str, Any]] | None,
    transitive: Sequence[str] | None,
    inherited: Sequence[tuple[str, str]] = (),
) -> SessionTags:
    """Validate ``Tags``/``TransitiveTagKeys`` against the caller's inherited transitive tags.

    Keys are case-insensitive and unique; an inherited transitive tag cannot be passed again;
    every transitive key must name a tag of the request (or an inherited one).
    """
    seen: dict[str, tuple[str, str]] = {}
    for tag in requested or ():
        key, value = str(tag["Key"]), str(tag.get("Value") or "")
        if key.lower().startswith("aws:"):
            raise InvalidParameterValue(
                "Tag keys starting with 'aws:' are reserved for internal use."
            )
        if key.lower() in seen:
            raise InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen[key.lower()] = (key, value)
    inherited_keys = {k.lower(): k for k, _ in inherited}
    for lower, (key, _value) in seen.items():
        if lower in inherited_keys:
            raise InvalidParameterValue(
                f"Session tag key {key} conflicts with an inherited transitive session tag key "
                f"{inherited_keys[lower]}."
            )
    if len(seen) + len(inherited) > MAX_SESSION_TAGS:
        raise InvalidParameterValue(
            f"The number of session tags, including inherited transitive tags, cannot exceed "
            f"{MAX_SESSION_TAGS}."
        )
    keys: list[str] = []
    for key in transitive or ():
        if key.lower() not in seen:
            raise InvalidParameterValue(
                f"Transitive tag key {key} is not one of the session tags passed in Tags."
            )
        if key.lower() not in {k.lower() for k in keys}:
            keys.append(key)
    inherited_transitive = tuple(k for k, _ in inherited)
    return SessionTags((*inherited, *seen.values()), (*inherited_transitive, *keys))


def source_identity(requested: str | None, inherited: str | None) -> str | None:
    """The new session's source identity: set once, then carried through chaining unchanged."""
    if requested is not None and requested.lower().startswith("aws:"):
        raise InvalidParameterValue("SourceIdentity cannot begin with the prefix 'aws:'.")
    if inherited is not None and requested is not None and requested != inherited:
        raise InvalidParameterValue(
            "SourceIdentity cannot be changed once set: the calling session's source identity "
            "is carried into every chained session."
        )
    return inherited if inherited is not None else requested


def session_policy(text: str | None) -> Policy | None:
    """The inline session policy, parsed (``ValidationError`` over 2,048 characters,
    ``MalformedPolicyDocument`` when it does not parse)."""
    if text is None:
        return None
    if len(text) > MAX_SESSION_POLICY_CHARS:
        raise ValidationError(
            f"1 validation error detected: Value '{text}' at 'policy' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_SESSION_POLICY_CHARS}"
        )
    return parse_policy(text, kind=PolicyKind.SESSION, max_size=None, name="session policy")


def policy_arns(entries: Sequence[Mapping[str, Any]] | None) -> tuple[str, ...]:
    """The ``PolicyArns`` list as ARNs (at most ten)."""
    arns = tuple(str(e["arn"]) for e in entries or () if e.get("arn") is not None)
    if len(arns) > MAX_POLICY_ARNS:
        rendered = ", ".join(f"PolicyDescriptorType(arn={a})" for a in arns)
        raise ValidationError(
            f"1 validation error detected: Value '[{rendered}]' at 'policyArns' failed to "
            f"satisfy constraint: Member must have length less than or equal to {MAX_POLICY_ARNS}"
        )
    return arns


def packed_size(
    policy: Policy | None, arns: Sequence[str], tags: Sequence[tuple[str, str]]
) -> int | None:
    """The percentage of the packed budget the session policies and tags use, or ``None`` when
    there are none; ``PackedPolicyTooLarge`` over 100 %."""
    if policy is None and not arns and not tags:
        return None
    minified = "" if policy is None else json.dumps(json.loads(policy.text), separators=(",", ":"))
    packed = json.dumps([minified, list(arns), [list(t) for t in tags]], separators=(",", ":"))
    used = len(zlib.compress(packed.encode("utf-8"), 9))
    percent = math.ceil(100 * used / PACKED_BUDGET)
    if percent > 100:
        raise PackedPolicyTooLarge(
            f"Packed policy consumes {percent}% of allotted space, please use smaller policy."
        )
    return percent


def assumed_role_arn(role_arn: str, session_name: str) -> str:
    """``arn:<partition>:sts::<account>:assumed-role/<role name>/<session>`` (the role's path is
    dropped, as AWS does)."""
    head, _, resource = role_arn.partition(":role/")
    partition_and_account = head.split(":")
    partition, account = partition_and_account[1], partition_and_account[4]
    name = resource.rsplit("/", 1)[-1]
    return f"arn:{partition}:sts::{account}:assumed-role/{name}/{session_name}"
