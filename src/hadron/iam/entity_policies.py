"""IAM Query API handlers for the inline policies and managed-policy attachments of an entity (a
user, a group or a role): one implementation, parameterised by an :class:`EntityKind` (the
entity's noun in error messages and its name parameter) and the store methods of that kind.

Layer: handlers, like ``hadron.iam.api``, ``hadron.iam.groups`` and ``hadron.iam.roles``, whose
handler methods delegate here. Spec: security.md §6 (operations, error codes). Same conventions:
inline documents are validated with ``parse_policy(kind="identity")`` before anything is written
and returned URL-encoded; an AWS managed ARN Hadron does not ship is refused before the store is
asked; every write calls ``changed(account_id)`` (``policies_changed``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hadron.errors import NoSuchEntity
from hadron.iam import parse_policy
from hadron.iam.managed import AWS_MANAGED_POLICIES
from hadron.iam.results import _encode, _page
from hadron.store import InlinePolicy
from hadron.store.iam import split_policy_arn
from hadron.types import Principal

__all__ = [
    "GROUP",
    "ROLE",
    "USER",
    "EntityKind",
    "attach_policy",
    "aws_policy_missing",
    "delete_inline_policy",
    "detach_policy",
    "get_inline_policy",
    "list_attached_policies",
    "list_inline_policies",
    "put_inline_policy",
]

Result = dict[str, Any]
Params = Mapping[str, Any]
Changed = Callable[[str], None]


@dataclass(frozen=True)
class EntityKind:
    """What differs between users, groups and roles in their policy handlers."""

    noun: str
    """``"user"``, ``"group"`` or ``"role"``, as in the error messages."""
    name_param: str
    """The request parameter (and result member) naming the entity, e.g. ``"UserName"``."""


USER: EntityKind = EntityKind("user", "UserName")
GROUP: EntityKind = EntityKind("group", "GroupName")
ROLE: EntityKind = EntityKind("role", "RoleName")


def aws_policy_missing(arn: str) -> bool:
    """Whether ``arn`` names an AWS managed policy Hadron does not ship."""
    parts = split_policy_arn(arn)
    return parts is not None and parts[0] == "aws" and arn not in AWS_MANAGED_POLICIES


def put_inline_policy(
    kind: EntityKind,
    put: Callable[[str, str, str, str], None],
    changed: Changed,
    caller: Principal,
    params: Params,
) -> None:
    document = str(params["PolicyDocument"])
    parse_policy(document, kind="identity")  # raises MalformedPolicyDocument; nothing stored
    put(caller.account_id, params[kind.name_param], params["PolicyName"], document)
    changed(caller.account_id)


def get_inline_policy(
    kind: EntityKind,
    get: Callable[[str, str, str], InlinePolicy | None],
    existing_name: Callable[[str, str], str],
    caller: Principal,
    params: Params,
) -> Result:
    """``existing_name(account_id, name)``: the entity's stored name, or NoSuchEntity."""
    entity_name = existing_name(caller.account_id, params[kind.name_param])
    name = params["PolicyName"]
    found = get(caller.account_id, entity_name, name)
    if found is None:
        raise NoSuchEntity(f"The {kind.noun} policy with name {name} cannot be found.")
    return {
        kind.name_param: entity_name,
        "PolicyName": found.policy_name,
        "PolicyDocument": _encode(found.document),
    }


def list_inline_policies(
    kind: EntityKind, names_of: Callable[[str, str], list[str]], caller: Principal, params: Params
) -> Result:
    names = names_of(caller.account_id, params[kind.name_param])
    page, extra = _page(names, params)
    return {"PolicyNames": list(page), **extra}


def delete_inline_policy(
    kind: EntityKind,
    delete: Callable[[str, str, str], None],
    changed: Changed,
    caller: Principal,
    params: Params,
) -> None:
    delete(caller.account_id, params[kind.name_param], params["PolicyName"])
    changed(caller.account_id)


def attach_policy(
    kind: EntityKind,
    attach: Callable[[str, str, str, datetime], None],
    clock: Callable[[], datetime],
    changed: Changed,
    caller: Principal,
    params: Params,
) -> None:
    arn = params["PolicyArn"]
    if aws_policy_missing(arn):
        raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
    attach(caller.account_id, params[kind.name_param], arn, clock())
    changed(caller.account_id)


def detach_policy(
    kind: EntityKind,
    detach: Callable[[str, str, str], None],
    changed: Changed,
    caller: Principal,
    params: Params,
) -> None:
    detach(caller.account_id, params[kind.name_param], params["PolicyArn"])
    changed(caller.account_id)


def list_attached_policies(
    kind: EntityKind, arns_of: Callable[[str, str], list[str]], caller: Principal, params: Params
) -> Result:
    arns = arns_of(caller.account_id, params[kind.name_param])
    prefix = params.get("PathPrefix") or "/"
    attached = []
    for arn in arns:
        parts = split_policy_arn(arn)
        if parts is not None and parts[1].startswith(prefix):
            attached.append({"PolicyName": parts[2], "PolicyArn": arn})
    page, extra = _page(attached, params)
    return {"AttachedPolicies": list(page), **extra}
