"""The simulator's request parameters, checked and converted (``hadron.iam.simulator``).

Layer: handlers, like ``hadron.iam.simulator`` (pure functions of the request parameters; no
store). Spec: security.md §6 ("Simulation"): ``ContextEntries`` typed by ``ContextKeyType``,
``ActionNames``, ``ResourceArns``, ``PolicyInputList``-style documents, ``PolicySourceArn`` /
``CallerArn``, ``ResourcePolicy`` and ``ResourceOwner``. Every bad value raises ``InvalidInput``
(or ``MalformedPolicyDocument`` naming the input) before anything is simulated.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hadron.errors import InvalidInput, MalformedPolicyDocument, ServiceError
from hadron.iam.context import ContextValue
from hadron.iam.kinds import PolicyKind
from hadron.iam.policy import Policy, parse_policy

__all__ = [
    "RESOURCE_POLICY",
    "action_names",
    "context_entries",
    "owner_of",
    "policy_inputs",
    "resource_arns",
    "resource_owner",
    "resource_policy",
    "split_source_arn",
    "split_user_arn",
]

RESOURCE_POLICY = "ResourcePolicy"
_SCALAR_TYPES = frozenset({"string", "numeric", "boolean", "ip", "binary", "date"})
_LIST_TYPES = frozenset(f"{t}List" for t in _SCALAR_TYPES)


def context_entries(entries: Iterable[Mapping[str, Any]] | None) -> dict[str, ContextValue]:
    """``ContextEntries`` as engine context values (validated by ``ContextKeyType``)."""
    out: dict[str, ContextValue] = {}
    for entry in entries or ():
        name = entry.get("ContextKeyName")
        kind = entry.get("ContextKeyType")
        values = [str(v) for v in entry.get("ContextKeyValues") or ()]
        if not name or kind is None:
            raise InvalidInput("Each context entry needs a ContextKeyName and a ContextKeyType.")
        base = kind.removesuffix("List")
        if kind not in _SCALAR_TYPES and kind not in _LIST_TYPES:
            raise InvalidInput(f"Invalid ContextKeyType {kind} for context key {name}.")
        if kind in _SCALAR_TYPES and len(values) > 1:
            raise InvalidInput(f"Context key {name} of type {kind} takes a single value.")
        converted: list[ContextValue] = [_value(name, base, v) for v in values]
        if not converted:
            continue
        out[name] = converted if kind in _LIST_TYPES else converted[0]  # type: ignore[assignment]
    return out


def _value(name: str, kind: str, value: str) -> ContextValue:
    bad = InvalidInput(f"Invalid value {value!r} of type {kind} for context key {name}.")
    try:
        if kind == "numeric":
            float(value)
        elif kind == "boolean":
            if value.lower() not in ("true", "false"):
                raise bad
            return value.lower() == "true"
        elif kind == "ip":
            ipaddress.ip_network(value, strict=False)
        elif kind == "binary":
            base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise bad from None
    return value


def action_names(params: Mapping[str, Any], *, wildcards: bool) -> list[str]:
    actions = [str(a) for a in params.get("ActionNames") or ()]
    if not actions:
        raise InvalidInput("ActionNames must name at least one action.")
    for action in actions:
        service, _, name = action.partition(":")
        if not service or not name or ":" in name:
            raise InvalidInput(f"Invalid action name {action}: expected service:Action.")
        if not wildcards and ("*" in action or "?" in action):
            raise InvalidInput(f"Action names cannot contain wildcards: {action}.")
    return actions


def resource_arns(params: Mapping[str, Any]) -> list[str]:
    resources = [str(r) for r in params.get("ResourceArns") or ()] or ["*"]
    for resource in resources:
        if resource != "*" and not resource.startswith("arn:"):
            raise InvalidInput(f"Invalid resource ARN {resource}.")
    return resources


def policy_inputs(documents: Sequence[Any] | None, field: str, kind: PolicyKind) -> list[Policy]:
    """Parse ``PolicyInputList``-style documents, naming each ``<field>.<n>`` (1-based)."""
    policies: list[Policy] = []
    for n, document in enumerate(documents or (), start=1):
        name = f"{field}.{n}"
        try:
            policies.append(parse_policy(str(document), kind=kind, name=name))
        except MalformedPolicyDocument as exc:
            raise MalformedPolicyDocument(f"{name}: {exc.message}") from None
        except ServiceError as exc:
            raise InvalidInput(f"{name}: {exc.message}") from None
    return policies


def split_source_arn(arn: str, field: str) -> tuple[str, str, str, str]:
    """``(kind, account, path, name)`` of an IAM user, group or role ARN (``kind`` is
    ``user``/``group``/``role``); ``InvalidInput`` for anything else."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[4]:
        raise InvalidInput(f"Invalid ARN in {field}: {arn}.")
    kind, _, rest = parts[5].partition("/")
    if kind not in ("user", "group", "role") or not rest or rest.endswith("/"):
        raise InvalidInput(f"{field} must be the ARN of an IAM user, group or role: {arn}.")
    path, _, name = parts[5][len(kind) :].rpartition("/")
    return kind, parts[4], path + "/", name


def split_user_arn(arn: str, field: str) -> tuple[str, str, str]:
    """``(account, path, name)`` of an IAM user ARN; ``InvalidInput`` if ``arn`` is not one."""
    kind, account, path, name = split_source_arn(arn, field)
    if kind != "user":
        raise InvalidInput(f"{field} must be the ARN of an IAM user: {arn}.")
    return account, path, name


def resource_policy(params: Mapping[str, Any]) -> Policy | None:
    """``ResourcePolicy``, parsed as a resource-based policy."""
    document = params.get("ResourcePolicy")
    if not document:
        return None
    try:
        return parse_policy(str(document), kind=PolicyKind.RESOURCE, name=RESOURCE_POLICY)
    except MalformedPolicyDocument as exc:
        raise MalformedPolicyDocument(f"{RESOURCE_POLICY}: {exc.message}") from None
    except ServiceError as exc:
        raise InvalidInput(f"{RESOURCE_POLICY}: {exc.message}") from None


def resource_owner(params: Mapping[str, Any]) -> str | None:
    """The account of ``ResourceOwner`` (an ARN such as ``arn:aws:iam::<account>:root``)."""
    owner = params.get("ResourceOwner")
    if not owner:
        return None
    parts = str(owner).split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not (len(parts[4]) == 12 and parts[4].isdigit()):
        # UNCONFIRMED wording: IAM's exact message for a malformed ResourceOwner.
        raise InvalidInput(f"Invalid ARN in ResourceOwner: {owner}.")
    return parts[4]


def owner_of(resource: str, default: str | None) -> str | None:
    """A resource's owner: its ARN's account field, else ``ResourceOwner`` (else ``None``: the
    caller's account)."""
    parts = resource.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[4]:
        return parts[4]
    return default
