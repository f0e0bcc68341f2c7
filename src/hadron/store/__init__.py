"""Persistent state: the ``Store`` protocol handlers talk to, and ``open_store`` to get one.

Layer 3 (store, edge). SQLAlchemy Core 2.x over SQLite (WAL) today and PostgreSQL later; Alembic
migrations ship in the package and run at open. Handlers depend on :class:`Store` only, receive
frozen records (``hadron.store.records``), and get ``ServiceError``s (``NoSuchEntity``,
``EntityAlreadyExists``, ``LimitExceeded``) with AWS's messages. Caching is the app's concern.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, create_engine, make_url

from hadron.keys import RNG, MasterKeyRing
from hadron.store.groups import InheritedPolicies
from hadron.store.mfa import Assignment
from hadron.store.migrate import upgrade
from hadron.store.records import (
    MAX_ACCESS_KEYS_PER_USER,
    AccessKey,
    AccessKeyStatus,
    Account,
    Group,
    InlinePolicy,
    InstanceProfile,
    KeyUsage,
    ManagedPolicy,
    MfaDevice,
    PolicyVersion,
    Role,
    User,
    UserPolicies,
)
from hadron.store.sql import SqlStore
from hadron.store.sqlite import create_sqlite_engine

__all__ = [
    "MAX_ACCESS_KEYS_PER_USER",
    "AccessKey",
    "AccessKeyStatus",
    "Account",
    "Group",
    "InheritedPolicies",
    "InlinePolicy",
    "InstanceProfile",
    "KeyUsage",
    "ManagedPolicy",
    "MfaDevice",
    "PolicyVersion",
    "Role",
    "SqlStore",
    "Store",
    "User",
    "UserPolicies",
    "create_engine_for",
    "open_store",
]


class Store(Protocol):
    """What handlers may ask of persistent state. Each method is one transaction."""

    def create_account(self, account_id: str, now: datetime) -> Account: ...
    def get_account(self, account_id: str) -> Account | None: ...
    def list_accounts(self) -> list[Account]: ...

    def create_user(
        self, account_id: str, user_name: str, path: str, now: datetime, rng: RNG = os.urandom
    ) -> User: ...
    def get_user(self, account_id: str, user_name: str) -> User | None: ...
    def list_users(self, account_id: str, path_prefix: str = "/") -> list[User]: ...
    def delete_user(self, account_id: str, user_name: str) -> None: ...

    def create_access_key(
        self, account_id: str, user_name: str, now: datetime, rng: RNG = os.urandom
    ) -> AccessKey: ...
    def get_access_key(self, access_key_id: str) -> AccessKey | None: ...
    def list_access_keys(self, account_id: str, user_name: str) -> list[AccessKey]: ...
    def set_access_key_status(self, access_key_id: str, status: AccessKeyStatus) -> None: ...
    def delete_access_key(self, access_key_id: str) -> None: ...
    def record_key_usage(self, batch: Sequence[KeyUsage]) -> None: ...

    def create_policy(
        self,
        account_id: str,
        policy_name: str,
        path: str,
        document: str,
        description: str | None,
        now: datetime,
        rng: RNG = os.urandom,
        *,
        tags: Sequence[tuple[str, str]] = (),
    ) -> ManagedPolicy: ...
    def get_policy(self, account_id: str, arn: str) -> ManagedPolicy | None: ...
    def list_policies(self, account_id: str) -> list[ManagedPolicy]: ...
    def delete_policy(self, account_id: str, arn: str) -> None: ...
    def count_attachments(self, account_id: str, arn: str) -> int: ...
    def create_policy_version(
        self, account_id: str, arn: str, document: str, set_as_default: bool, now: datetime
    ) -> PolicyVersion: ...
    def get_policy_version(
        self, account_id: str, arn: str, version_id: str
    ) -> PolicyVersion | None: ...
    def list_policy_versions(self, account_id: str, arn: str) -> list[PolicyVersion]: ...
    def set_default_policy_version(
        self, account_id: str, arn: str, version_id: str, now: datetime
    ) -> None: ...
    def delete_policy_version(self, account_id: str, arn: str, version_id: str) -> None: ...

    def put_user_policy(
        self, account_id: str, user_name: str, policy_name: str, document: str
    ) -> None: ...
    def get_user_policy(
        self, account_id: str, user_name: str, policy_name: str
    ) -> InlinePolicy | None: ...
    def list_user_policies(self, account_id: str, user_name: str) -> list[str]: ...
    def delete_user_policy(self, account_id: str, user_name: str, policy_name: str) -> None: ...
    def attach_user_policy(
        self, account_id: str, user_name: str, arn: str, now: datetime
    ) -> None: ...
    def detach_user_policy(self, account_id: str, user_name: str, arn: str) -> None: ...
    def list_attached_user_policies(self, account_id: str, user_name: str) -> list[str]: ...
    def user_policies(self, account_id: str, user_name: str) -> UserPolicies | None: ...

    # groups and permissions boundaries (hadron.store.groups)
    def create_group(
        self, account_id: str, group_name: str, path: str, now: datetime, rng: RNG = os.urandom
    ) -> Group: ...
    def get_group(self, account_id: str, group_name: str) -> Group | None: ...
    def list_groups(self, account_id: str, path_prefix: str = "/") -> list[Group]: ...
    def delete_group(self, account_id: str, group_name: str) -> None: ...
    def add_user_to_group(
        self, account_id: str, group_name: str, user_name: str, now: datetime
    ) -> None: ...
    def remove_user_from_group(self, account_id: str, group_name: str, user_name: str) -> None: ...
    def list_group_members(self, account_id: str, group_name: str) -> list[User]: ...
    def list_groups_for_user(self, account_id: str, user_name: str) -> list[Group]: ...
    def put_group_policy(
        self, account_id: str, group_name: str, policy_name: str, document: str
    ) -> None: ...
    def get_group_policy(
        self, account_id: str, group_name: str, policy_name: str
    ) -> InlinePolicy | None: ...
    def list_group_policies(self, account_id: str, group_name: str) -> list[str]: ...
    def delete_group_policy(self, account_id: str, group_name: str, policy_name: str) -> None: ...
    def attach_group_policy(
        self, account_id: str, group_name: str, arn: str, now: datetime
    ) -> None: ...
    def detach_group_policy(self, account_id: str, group_name: str, arn: str) -> None: ...
    def list_attached_group_policies(self, account_id: str, group_name: str) -> list[str]: ...
    def put_user_permissions_boundary(self, account_id: str, user_name: str, arn: str) -> None: ...
    def delete_user_permissions_boundary(self, account_id: str, user_name: str) -> None: ...
    def get_user_permissions_boundary(self, account_id: str, user_name: str) -> str | None: ...
    def count_boundary_uses(self, account_id: str, arn: str) -> int: ...
    def inherited_policies(self, account_id: str, user_name: str) -> InheritedPolicies: ...

    # roles and tags (hadron.store.roles)
    def create_role(
        self,
        account_id: str,
        role_name: str,
        path: str,
        trust_policy: str,
        now: datetime,
        rng: RNG = os.urandom,
        *,
        description: str | None = None,
        max_session_duration: int = 3600,
        permissions_boundary: str | None = None,
        tags: Sequence[tuple[str, str]] = (),
    ) -> Role: ...
    def get_role(self, account_id: str, role_name: str) -> Role | None: ...
    def list_roles(self, account_id: str, path_prefix: str = "/") -> list[Role]: ...
    def delete_role(self, account_id: str, role_name: str) -> None: ...
    def update_role(
        self,
        account_id: str,
        role_name: str,
        *,
        description: str | None = None,
        max_session_duration: int | None = None,
    ) -> None: ...
    def update_assume_role_policy(self, account_id: str, role_name: str, document: str) -> None: ...
    def put_role_policy(
        self, account_id: str, role_name: str, policy_name: str, document: str
    ) -> None: ...
    def get_role_policy(
        self, account_id: str, role_name: str, policy_name: str
    ) -> InlinePolicy | None: ...
    def list_role_policies(self, account_id: str, role_name: str) -> list[str]: ...
    def delete_role_policy(self, account_id: str, role_name: str, policy_name: str) -> None: ...
    def attach_role_policy(
        self, account_id: str, role_name: str, arn: str, now: datetime
    ) -> None: ...
    def detach_role_policy(self, account_id: str, role_name: str, arn: str) -> None: ...
    def list_attached_role_policies(self, account_id: str, role_name: str) -> list[str]: ...
    def put_role_permissions_boundary(self, account_id: str, role_name: str, arn: str) -> None: ...
    def delete_role_permissions_boundary(self, account_id: str, role_name: str) -> None: ...
    def tag_user(
        self, account_id: str, user_name: str, tags: Sequence[tuple[str, str]]
    ) -> None: ...
    def untag_user(self, account_id: str, user_name: str, tag_keys: Sequence[str]) -> None: ...
    def list_user_tags(self, account_id: str, user_name: str) -> list[tuple[str, str]]: ...
    def tag_role(
        self, account_id: str, role_name: str, tags: Sequence[tuple[str, str]]
    ) -> None: ...
    def untag_role(self, account_id: str, role_name: str, tag_keys: Sequence[str]) -> None: ...
    def list_role_tags(self, account_id: str, role_name: str) -> list[tuple[str, str]]: ...

    # renaming and moving (hadron.store.renames)
    def update_user(
        self,
        account_id: str,
        user_name: str,
        *,
        new_user_name: str | None = None,
        new_path: str | None = None,
    ) -> User: ...
    def update_group(
        self,
        account_id: str,
        group_name: str,
        *,
        new_group_name: str | None = None,
        new_path: str | None = None,
    ) -> Group: ...

    # instance profiles and policy tags (hadron.store.profiles)
    def create_instance_profile(
        self,
        account_id: str,
        profile_name: str,
        path: str,
        now: datetime,
        rng: RNG = os.urandom,
        *,
        tags: Sequence[tuple[str, str]] = (),
    ) -> InstanceProfile: ...
    def get_instance_profile(
        self, account_id: str, profile_name: str
    ) -> InstanceProfile | None: ...
    def list_instance_profiles(
        self, account_id: str, path_prefix: str = "/"
    ) -> list[InstanceProfile]: ...
    def list_instance_profiles_for_role(
        self, account_id: str, role_name: str
    ) -> list[InstanceProfile]: ...
    def delete_instance_profile(self, account_id: str, profile_name: str) -> None: ...
    def add_role_to_instance_profile(
        self, account_id: str, profile_name: str, role_name: str, now: datetime
    ) -> None: ...
    def remove_role_from_instance_profile(
        self, account_id: str, profile_name: str, role_name: str
    ) -> None: ...
    def tag_instance_profile(
        self, account_id: str, profile_name: str, tags: Sequence[tuple[str, str]]
    ) -> None: ...
    def untag_instance_profile(
        self, account_id: str, profile_name: str, tag_keys: Sequence[str]
    ) -> None: ...
    def list_instance_profile_tags(
        self, account_id: str, profile_name: str
    ) -> list[tuple[str, str]]: ...
    def tag_policy(self, account_id: str, arn: str, tags: Sequence[tuple[str, str]]) -> None: ...
    def untag_policy(self, account_id: str, arn: str, tag_keys: Sequence[str]) -> None: ...
    def list_policy_tags(self, account_id: str, arn: str) -> list[tuple[str, str]]: ...

    # virtual MFA devices (hadron.store.mfa)
    def create_virtual_mfa_device(
        self,
        account_id: str,
        device_name: str,
        path: str,
        seed: bytes,
        now: datetime,
        *,
        tags: Sequence[tuple[str, str]] = (),
    ) -> MfaDevice: ...
    def get_mfa_device(self, account_id: str, serial_number: str) -> MfaDevice | None: ...
    def list_mfa_devices(
        self, account_id: str, *, assignment: Assignment = "Any", user_name: str | None = None
    ) -> list[MfaDevice]: ...
    def enable_mfa_device(
        self,
        account_id: str,
        user_name: str,
        serial_number: str,
        now: datetime,
        drift: int,
        last_step: int,
    ) -> None: ...
    def deactivate_mfa_device(
        self, account_id: str, user_name: str, serial_number: str
    ) -> None: ...
    def resync_mfa_device(
        self, account_id: str, user_name: str, serial_number: str, drift: int, last_step: int
    ) -> None: ...
    def use_mfa_step(self, account_id: str, serial_number: str, step: int) -> bool: ...
    def delete_virtual_mfa_device(self, account_id: str, serial_number: str) -> None: ...
    def tag_mfa_device(
        self, account_id: str, serial_number: str, tags: Sequence[tuple[str, str]]
    ) -> None: ...
    def untag_mfa_device(
        self, account_id: str, serial_number: str, tag_keys: Sequence[str]
    ) -> None: ...
    def list_mfa_device_tags(
        self, account_id: str, serial_number: str
    ) -> list[tuple[str, str]]: ...

    # Proton resources' tags by ARN, for ``aws:ResourceTag/…`` (enforcement, every request).
    def proton_resource_tags(
        self, account_id: str, arns: Sequence[str]
    ) -> dict[str, list[tuple[str, str]]]: ...

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def reseal_secrets(self) -> int: ...
    def close(self) -> None: ...


def create_engine_for(url: str) -> Engine:
    """An engine for ``url`` with Hadron's connection policy for its dialect."""
    if make_url(url).get_backend_name() == "sqlite":
        return create_sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def open_store(
    url: str, ring: MasterKeyRing, ring_source: Callable[[], MasterKeyRing] | None = None
) -> SqlStore:
    """Connect to ``url``, apply pending migrations, and return the store.

    ``ring_source`` re-reads the master key ring (from its file) when a secret was sealed under a
    key the store has not seen, so a master-key rotation next to a running server takes effect.
    """
    engine = create_engine_for(url)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, ring, ring_source)
