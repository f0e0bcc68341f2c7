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
from hadron.store.migrate import upgrade
from hadron.store.records import (
    MAX_ACCESS_KEYS_PER_USER,
    AccessKey,
    AccessKeyStatus,
    Account,
    InlinePolicy,
    KeyUsage,
    ManagedPolicy,
    PolicyVersion,
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
    "InlinePolicy",
    "KeyUsage",
    "ManagedPolicy",
    "PolicyVersion",
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
