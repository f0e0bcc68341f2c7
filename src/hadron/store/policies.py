"""The managed-policy repository: customer managed policies and their versions, on SQLAlchemy Core.

Layer 3 (store, edge), split out of ``hadron.store.iam`` (which re-exports ``split_policy_arn``).
Spec: security.md §6 (operations, quotas, error codes). Same rules as ``hadron.store.iam``: every
public method is one transaction (``hadron.store.transactions``); documents are stored exactly as
submitted and validated by the caller; managed policy names are unique case-insensitively per
account; version ids ``v1``, ``v2``, … are never reused (``next_version``). AWS managed policies
are not rows here (``hadron.iam.managed``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, select, update

from hadron.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.keys import RNG, generate_unique_id
from hadron.store import transactions
from hadron.store.records import MAX_POLICY_VERSIONS, ManagedPolicy, PolicyVersion, policy_arn
from hadron.store.schema import (
    group_policy_attachments,
    managed_policies,
    policy_tags,
    policy_versions,
    role_policy_attachments,
    roles,
    user_permissions_boundaries,
    user_policy_attachments,
)

__all__ = ["SqlPolicies", "split_policy_arn"]


def split_policy_arn(arn: str) -> tuple[str, str, str] | None:
    """``(account, path, name)`` of ``arn:aws:iam::<account>:policy<path><name>``, else ``None``."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:4] != ["arn", "aws", "iam", ""]:
        return None
    resource = parts[5]
    if not resource.startswith("policy/"):
        return None
    path, _, name = resource[len("policy") :].rpartition("/")
    if not name:
        return None
    return parts[4], path + "/", name


def _policy_missing(arn: str) -> NoSuchEntity:
    return NoSuchEntity(f"Policy {arn} was not found.")


def _version_missing(arn: str, version_id: str) -> NoSuchEntity:
    return NoSuchEntity(f"Policy {arn} version {version_id} does not exist or is not attachable.")


class SqlPolicies:
    """Managed-policy methods of the SQL store; mixed into ``hadron.store.sql.SqlStore``."""

    _engine: Engine

    # --- managed policies -------------------------------------------------------------------------

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
    ) -> ManagedPolicy:
        """Create a policy (its first version ``v1`` is the default) with ``tags`` (valid, see
        ``hadron.iam.tags``), in one transaction."""
        from hadron.store.roles import _merge_tags  # roles imports this module

        policy_id = generate_unique_id("ANPA", rng)
        with transactions.write(self._engine) as conn:
            existing = conn.execute(
                select(managed_policies.c.policy_name).where(
                    managed_policies.c.account_id == account_id,
                    managed_policies.c.policy_name_key == policy_name.lower(),
                )
            ).first()
            if existing is not None:
                raise EntityAlreadyExists(
                    f"A policy called {policy_name} already exists. Duplicate names are not "
                    "allowed."
                )
            conn.execute(
                managed_policies.insert().values(
                    account_id=account_id,
                    policy_name_key=policy_name.lower(),
                    policy_name=policy_name,
                    policy_id=policy_id,
                    path=path,
                    description=description,
                    default_version_id="v1",
                    next_version=2,
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                policy_versions.insert().values(
                    account_id=account_id,
                    policy_name_key=policy_name.lower(),
                    version_id="v1",
                    document=document,
                    created_at=now,
                )
            )
            if tags:  # hadron.store.profiles handles Tag/Untag/ListPolicyTags
                key = policy_name.lower()
                _merge_tags(conn, policy_tags, "policy_name_key", account_id, key, tags)
        return ManagedPolicy(
            account_id=account_id,
            policy_name=policy_name,
            policy_id=policy_id,
            path=path,
            arn=policy_arn(account_id, path, policy_name),
            default_version_id="v1",
            description=description,
            attachment_count=0,
            created_at=now,
            updated_at=now,
        )

    def get_policy(self, account_id: str, arn: str) -> ManagedPolicy | None:
        """A customer managed policy of ``account_id`` by ARN, or ``None``."""
        with transactions.read(self._engine) as conn:
            row = self._policy_row(conn, account_id, arn)
            return None if row is None else self._policy(conn, row)

    def list_policies(self, account_id: str) -> list[ManagedPolicy]:
        """The account's customer managed policies, by name."""
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(managed_policies)
                .where(managed_policies.c.account_id == account_id)
                .order_by(managed_policies.c.policy_name_key)
            ).all()
            return [self._policy(conn, r) for r in rows]

    def delete_policy(self, account_id: str, arn: str) -> None:
        with transactions.write(self._engine) as conn:
            row = self._policy_row(conn, account_id, arn)
            if row is None:
                raise _policy_missing(arn)
            in_use = conn.execute(  # as a permissions boundary (hadron.store.groups)
                select(func.count())
                .select_from(user_permissions_boundaries)
                .where(
                    user_permissions_boundaries.c.account_id == account_id,
                    user_permissions_boundaries.c.policy_arn == arn,
                )
            ).scalar_one()
            in_use += conn.execute(  # as a role's permissions boundary (hadron.store.roles)
                select(func.count())
                .select_from(roles)
                .where(roles.c.account_id == account_id, roles.c.permissions_boundary == arn)
            ).scalar_one()
            if self._attachments(conn, account_id, arn) or in_use:
                raise DeleteConflict("Cannot delete a policy attached to entities.")
            versions = conn.execute(
                select(func.count())
                .select_from(policy_versions)
                .where(
                    policy_versions.c.account_id == account_id,
                    policy_versions.c.policy_name_key == row.policy_name_key,
                )
            ).scalar_one()
            if versions > 1:
                raise DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, you must "
                    "delete the policy's versions. The default version is deleted with the policy."
                )
            conn.execute(
                delete(policy_versions).where(
                    policy_versions.c.account_id == account_id,
                    policy_versions.c.policy_name_key == row.policy_name_key,
                )
            )
            conn.execute(
                delete(managed_policies).where(
                    managed_policies.c.account_id == account_id,
                    managed_policies.c.policy_name_key == row.policy_name_key,
                )
            )

    def count_attachments(self, account_id: str, arn: str) -> int:
        """How many entities of ``account_id`` have ``arn`` attached (for AWS managed ones)."""
        with transactions.read(self._engine) as conn:
            return self._attachments(conn, account_id, arn)

    @staticmethod
    def _attachments(conn: Connection, account_id: str, arn: str) -> int:
        """Users, groups (``hadron.store.groups``) and roles (``hadron.store.roles``) ``arn`` is
        attached to."""
        count = 0
        for table in (user_policy_attachments, group_policy_attachments, role_policy_attachments):
            found: int = conn.execute(
                select(func.count())
                .select_from(table)
                .where(table.c.account_id == account_id, table.c.policy_arn == arn)
            ).scalar_one()
            count += found
        return count

    @staticmethod
    def _policy_row(conn: Connection, account_id: str, arn: str) -> Row[Any] | None:
        parts = split_policy_arn(arn)
        if parts is None or parts[0] != account_id:
            return None
        _account, path, name = parts
        row = conn.execute(
            select(managed_policies).where(
                managed_policies.c.account_id == account_id,
                managed_policies.c.policy_name_key == name.lower(),
            )
        ).one_or_none()
        if row is None or row.path != path or row.policy_name != name:
            return None
        return row

    def _policy(self, conn: Connection, row: Row[Any]) -> ManagedPolicy:
        arn = policy_arn(row.account_id, row.path, row.policy_name)
        return ManagedPolicy(
            account_id=row.account_id,
            policy_name=row.policy_name,
            policy_id=row.policy_id,
            path=row.path,
            arn=arn,
            default_version_id=row.default_version_id,
            description=row.description,
            attachment_count=self._attachments(conn, row.account_id, arn),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    # --- policy versions --------------------------------------------------------------------------

    def create_policy_version(
        self, account_id: str, arn: str, document: str, set_as_default: bool, now: datetime
    ) -> PolicyVersion:
        with transactions.write(self._engine) as conn:
            row = self._policy_row(conn, account_id, arn)
            if row is None:
                raise _policy_missing(arn)
            where = (
                policy_versions.c.account_id == account_id,
                policy_versions.c.policy_name_key == row.policy_name_key,
            )
            count = conn.execute(
                select(func.count()).select_from(policy_versions).where(*where)
            ).scalar_one()
            if count >= MAX_POLICY_VERSIONS:
                raise LimitExceeded(
                    f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you "
                    "create a new version, you must delete an existing version."
                )
            version_id = f"v{row.next_version}"
            conn.execute(
                policy_versions.insert().values(
                    account_id=account_id,
                    policy_name_key=row.policy_name_key,
                    version_id=version_id,
                    document=document,
                    created_at=now,
                )
            )
            values: dict[str, Any] = {"next_version": row.next_version + 1, "updated_at": now}
            if set_as_default:
                values["default_version_id"] = version_id
            conn.execute(
                update(managed_policies)
                .where(
                    managed_policies.c.account_id == account_id,
                    managed_policies.c.policy_name_key == row.policy_name_key,
                )
                .values(**values)
            )
        return PolicyVersion(version_id, document, set_as_default, now)

    def get_policy_version(
        self, account_id: str, arn: str, version_id: str
    ) -> PolicyVersion | None:
        with transactions.read(self._engine) as conn:
            row = self._policy_row(conn, account_id, arn)
            if row is None:
                return None
            found = conn.execute(
                select(policy_versions).where(
                    policy_versions.c.account_id == account_id,
                    policy_versions.c.policy_name_key == row.policy_name_key,
                    policy_versions.c.version_id == version_id,
                )
            ).one_or_none()
        if found is None:
            return None
        return PolicyVersion(
            found.version_id,
            found.document,
            found.version_id == row.default_version_id,
            found.created_at,
        )

    def list_policy_versions(self, account_id: str, arn: str) -> list[PolicyVersion]:
        """The versions, newest first (as IAM lists them)."""
        with transactions.read(self._engine) as conn:
            row = self._policy_row(conn, account_id, arn)
            if row is None:
                raise _policy_missing(arn)
            rows = conn.execute(
                select(policy_versions).where(
                    policy_versions.c.account_id == account_id,
                    policy_versions.c.policy_name_key == row.policy_name_key,
                )
            ).all()
        versions = [
            PolicyVersion(
                r.version_id, r.document, r.version_id == row.default_version_id, r.created_at
            )
            for r in rows
        ]
        versions.sort(key=lambda v: int(v.version_id[1:]), reverse=True)
        return versions

    def set_default_policy_version(
        self, account_id: str, arn: str, version_id: str, now: datetime
    ) -> None:
        with transactions.write(self._engine) as conn:
            row = self._policy_row(conn, account_id, arn)
            if row is None:
                raise _policy_missing(arn)
            if not self._version_exists(conn, account_id, row.policy_name_key, version_id):
                raise _version_missing(arn, version_id)
            conn.execute(
                update(managed_policies)
                .where(
                    managed_policies.c.account_id == account_id,
                    managed_policies.c.policy_name_key == row.policy_name_key,
                )
                .values(default_version_id=version_id, updated_at=now)
            )

    def delete_policy_version(self, account_id: str, arn: str, version_id: str) -> None:
        with transactions.write(self._engine) as conn:
            row = self._policy_row(conn, account_id, arn)
            if row is None:
                raise _policy_missing(arn)
            if not self._version_exists(conn, account_id, row.policy_name_key, version_id):
                raise _version_missing(arn, version_id)
            if version_id == row.default_version_id:
                raise DeleteConflict("Cannot delete the default version of a policy.")
            conn.execute(
                delete(policy_versions).where(
                    policy_versions.c.account_id == account_id,
                    policy_versions.c.policy_name_key == row.policy_name_key,
                    policy_versions.c.version_id == version_id,
                )
            )

    @staticmethod
    def _version_exists(conn: Connection, account_id: str, name_key: str, version_id: str) -> bool:
        found = conn.execute(
            select(policy_versions.c.version_id).where(
                policy_versions.c.account_id == account_id,
                policy_versions.c.policy_name_key == name_key,
                policy_versions.c.version_id == version_id,
            )
        ).first()
        return found is not None
