"""The policies of a group or a role, gathered for the policy simulator.

Layer: handlers (like ``hadron.iam.simulator``), but it imports neither the store nor
``hadron.enforcement``: it reads through the :class:`Entities` protocol, which the store
satisfies. Spec: security.md §6 ("Simulation": ``PolicySourceArn`` may name a user, a group or
a role).

Policies are gathered as live enforcement gathers a user's (``hadron.policy_cache.PolicyCache``):
inline policies first (by name), then attached managed ones (AWS managed documents from
``hadron.iam.managed``, customer managed ones at their default version); a stored document that
no longer parses is passed on as text, so the engine fails closed on it. Names follow the
simulator's ``SourcePolicyId`` rules: ``group inline policy <name>``, ``role inline policy
<name>``, or the managed policy's ARN.
"""

from __future__ import annotations

from typing import Protocol

from hadron.errors import ServiceError
from hadron.iam.kinds import PolicyKind
from hadron.iam.managed import AWS_MANAGED_POLICIES
from hadron.iam.policy import PolicyLike, parse_policy

__all__ = [
    "GROUP_INLINE_PREFIX",
    "ROLE_INLINE_PREFIX",
    "Entities",
    "group_policies",
    "managed_policy",
    "role_policies",
]

GROUP_INLINE_PREFIX = "group inline policy "
ROLE_INLINE_PREFIX = "role inline policy "


class _Inline(Protocol):
    @property
    def policy_name(self) -> str: ...
    @property
    def document(self) -> str: ...


class _Managed(Protocol):
    @property
    def default_version_id(self) -> str: ...


class _Version(Protocol):
    @property
    def document(self) -> str: ...


class Entities(Protocol):
    """What gathering a group's or role's policies needs of the store."""

    def list_group_policies(self, account_id: str, group_name: str) -> list[str]: ...
    def get_group_policy(
        self, account_id: str, group_name: str, policy_name: str
    ) -> _Inline | None: ...
    def list_attached_group_policies(self, account_id: str, group_name: str) -> list[str]: ...
    def list_role_policies(self, account_id: str, role_name: str) -> list[str]: ...
    def get_role_policy(
        self, account_id: str, role_name: str, policy_name: str
    ) -> _Inline | None: ...
    def list_attached_role_policies(self, account_id: str, role_name: str) -> list[str]: ...
    def get_policy(self, account_id: str, arn: str) -> _Managed | None: ...
    def get_policy_version(self, account_id: str, arn: str, version_id: str) -> _Version | None: ...


def _parse(document: str, name: str, kind: PolicyKind = PolicyKind.IDENTITY) -> PolicyLike:
    try:
        return parse_policy(document, kind=kind, max_size=None, name=name)
    except ServiceError:
        return document  # the engine turns it into a deny-all policy and records why


def managed_policy(
    store: Entities, account_id: str, arn: str, kind: PolicyKind = PolicyKind.IDENTITY
) -> PolicyLike:
    """The default version of a managed policy (an unknown one fails closed)."""
    aws = AWS_MANAGED_POLICIES.get(arn)
    if aws is not None:
        return _parse(aws.document, arn, kind)
    found = store.get_policy(account_id, arn)
    version = (
        None
        if found is None
        else store.get_policy_version(account_id, arn, found.default_version_id)
    )
    return _parse("{}" if version is None else version.document, arn, kind)


def group_policies(store: Entities, account_id: str, group_name: str) -> tuple[PolicyLike, ...]:
    """The group's inline policies, then its attached managed policies."""
    out: list[PolicyLike] = []
    for name in store.list_group_policies(account_id, group_name):
        found = store.get_group_policy(account_id, group_name, name)
        if found is not None:
            out.append(_parse(found.document, GROUP_INLINE_PREFIX + found.policy_name))
    for arn in store.list_attached_group_policies(account_id, group_name):
        out.append(managed_policy(store, account_id, arn))
    return tuple(out)


def role_policies(store: Entities, account_id: str, role_name: str) -> tuple[PolicyLike, ...]:
    """The role's inline policies, then its attached managed policies."""
    out: list[PolicyLike] = []
    for name in store.list_role_policies(account_id, role_name):
        found = store.get_role_policy(account_id, role_name, name)
        if found is not None:
            out.append(_parse(found.document, ROLE_INLINE_PREFIX + found.policy_name))
    for arn in store.list_attached_role_policies(account_id, role_name):
        out.append(managed_policy(store, account_id, arn))
    return tuple(out)
