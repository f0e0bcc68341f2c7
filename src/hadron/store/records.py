"""Frozen values the store returns: accounts, IAM users, access keys and IAM policies.

Layer 3 (store). Handlers receive these, never SQLAlchemy ``Row`` objects, so the database can
change underneath without touching them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

__all__ = [
    "MAX_ACCESS_KEYS_PER_USER",
    "MAX_MANAGED_POLICIES_PER_USER",
    "MAX_MFA_DEVICES_PER_USER",
    "MAX_POLICY_VERSIONS",
    "AccessKey",
    "AccessKeyStatus",
    "Account",
    "Group",
    "InlinePolicy",
    "InstanceProfile",
    "KeyUsage",
    "ManagedPolicy",
    "MfaDevice",
    "PolicyVersion",
    "Role",
    "User",
    "UserPolicies",
    "group_arn",
    "instance_profile_arn",
    "mfa_arn",
    "policy_arn",
    "role_arn",
    "user_arn",
    "user_from_row",
]

AccessKeyStatus = Literal["Active", "Inactive"]

MAX_ACCESS_KEYS_PER_USER: Final = 2
"""IAM quota, not adjustable (security.md §2.2)."""

KeyUsage = tuple[str, datetime, str, str]
"""One authenticated use of a key: (access key id, when, service, region)."""


def user_arn(account_id: str, path: str, user_name: str) -> str:
    """``arn:aws:iam::<account>:user<path><name>``; ``path`` starts and ends with ``/``."""
    return f"arn:aws:iam::{account_id}:user{path}{user_name}"


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class User:
    account_id: str
    user_name: str
    user_id: str
    path: str
    arn: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccessKey:
    """A long-term access key. ``secret`` is the opened plaintext; it never appears in ``repr``."""

    access_key_id: str
    account_id: str
    user_name: str
    status: AccessKeyStatus
    created_at: datetime
    secret: str = field(repr=False)
    last_used_at: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None


MAX_POLICY_VERSIONS: Final = 5
"""IAM quota: versions per managed policy (security.md §6)."""

MAX_MANAGED_POLICIES_PER_USER: Final = 10
"""IAM quota (default): managed policies attached to one user."""


def policy_arn(account_id: str, path: str, policy_name: str) -> str:
    """``arn:aws:iam::<account>:policy<path><name>`` (``account_id`` is ``aws`` for AWS's own)."""
    return f"arn:aws:iam::{account_id}:policy{path}{policy_name}"


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A customer managed policy (AWS managed ones live in ``hadron.iam.managed``)."""

    account_id: str
    policy_name: str
    policy_id: str
    path: str
    arn: str
    default_version_id: str
    description: str | None
    attachment_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One version of a managed policy; ``document`` is the text exactly as submitted."""

    version_id: str
    document: str
    is_default: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    policy_name: str
    document: str


@dataclass(frozen=True, slots=True)
class UserPolicies:
    """Everything that grants a user permissions, read in one transaction (for enforcement).

    ``managed`` pairs each attached policy ARN with its default version's document, or ``None``
    for AWS managed policies (their documents ship with Hadron).
    """

    inline: tuple[InlinePolicy, ...]
    managed: tuple[tuple[str, str | None], ...]


def group_arn(account_id: str, path: str, group_name: str) -> str:
    """``arn:aws:iam::<account>:group<path><name>``; ``path`` starts and ends with ``/``."""
    return f"arn:aws:iam::{account_id}:group{path}{group_name}"


@dataclass(frozen=True, slots=True)
class Group:
    """An IAM group (``hadron.store.groups``)."""

    account_id: str
    group_name: str
    group_id: str
    path: str
    arn: str
    created_at: datetime


def role_arn(account_id: str, path: str, role_name: str) -> str:
    """``arn:aws:iam::<account>:role<path><name>``; ``path`` starts and ends with ``/``."""
    return f"arn:aws:iam::{account_id}:role{path}{role_name}"


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role (``hadron.store.roles``); ``trust_policy`` is the text as submitted and
    ``tags`` are ``(key, value)`` pairs in key order."""

    account_id: str
    role_name: str
    role_id: str
    path: str
    arn: str
    description: str | None
    max_session_duration: int
    trust_policy: str
    permissions_boundary: str | None
    created_at: datetime
    tags: tuple[tuple[str, str], ...] = ()


def user_from_row(row: Any) -> User:
    """The ``User`` record of a row of the ``users`` table (any object with its columns)."""
    return User(
        account_id=row.account_id,
        user_name=row.user_name,
        user_id=row.user_id,
        path=row.path,
        arn=user_arn(row.account_id, row.path, row.user_name),
        created_at=row.created_at,
    )


def instance_profile_arn(account_id: str, path: str, profile_name: str) -> str:
    """``arn:aws:iam::<account>:instance-profile<path><name>``."""
    return f"arn:aws:iam::{account_id}:instance-profile{path}{profile_name}"


@dataclass(frozen=True, slots=True)
class InstanceProfile:
    """An instance profile (``hadron.store.profiles``) with its roles (at most one, as IAM
    allows) and its tags (``(key, value)`` in key order)."""

    account_id: str
    profile_name: str
    profile_id: str
    path: str
    arn: str
    created_at: datetime
    roles: tuple[Role, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()


MAX_MFA_DEVICES_PER_USER: Final = 8
"""IAM quota (not adjustable): MFA devices assigned to one user."""


def mfa_arn(account_id: str, path: str, device_name: str) -> str:
    """``arn:aws:iam::<account>:mfa<path><name>``: a virtual MFA device's serial number."""
    return f"arn:aws:iam::{account_id}:mfa{path}{device_name}"


@dataclass(frozen=True, slots=True)
class MfaDevice:
    """A virtual MFA device. ``seed`` is the opened TOTP seed (never in ``repr``); ``user`` the
    user it is assigned to (``None``: unassigned); ``drift`` the time-step offset that
    EnableMFADevice/ResyncMFADevice found."""

    account_id: str
    serial_number: str
    device_name: str
    path: str
    seed: bytes = field(repr=False)
    created_at: datetime
    user: User | None = None
    enabled_at: datetime | None = None
    drift: int = 0
    tags: tuple[tuple[str, str], ...] = ()
