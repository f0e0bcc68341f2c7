"""The IAM repository: user listing and deletion, customer managed policies and their versions,
user inline policies and user policy attachments, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: security.md §6 (operations, quotas, error codes).

* Every public method is one transaction (``hadron.store.transactions``): a check followed by a
  write (quota, conflict, existence) cannot interleave with another writer, and a failure leaves
  nothing behind.
* Policy documents are stored exactly as submitted; validating them is the caller's job
  (``hadron.iam.parse_policy``) and happens *before* anything is written.
* Managed policy names are unique case-insensitively per account; inline policy names are
  case-sensitive. Version ids ``v1``, ``v2``, … are never reused (``next_version``).
* AWS managed policies (``arn:aws:iam::aws:policy/…``) are not rows here: they ship with Hadron
  (``hadron.iam.managed``). Attachments refer to any policy by ARN.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, select, update

from hadron.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.iam import policy_size
from hadron.keys import RNG, generate_unique_id
from hadron.store import transactions
from hadron.store.records import (
    MAX_MANAGED_POLICIES_PER_USER,
    MAX_POLICY_VERSIONS,
    InlinePolicy,
    ManagedPolicy,
    PolicyVersion,
    User,
    UserPolicies,
    policy_arn,
    user_arn,
)
from hadron.store.schema import (
    access_keys,
    group_members,
    group_policy_attachments,
    managed_policies,
    policy_versions,
    role_policy_attachments,
    roles,
    user_permissions_boundaries,
    user_policies,
    user_policy_attachments,
    users,
)

__all__ = ["MAX_USER_INLINE_BYTES", "SqlIam", "split_policy_arn"]

MAX_USER_INLINE_BYTES = 2048
"""IAM quota: the aggregate size of a user's inline policies (whitespace not counted)."""


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


def _user_missing(user_name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The user with name {user_name} cannot be found.")


def _version_missing(arn: str, version_id: str) -> NoSuchEntity:
    return NoSuchEntity(f"Policy {arn} version {version_id} does not exist or is not attachable.")


class SqlIam:
    """IAM methods of the SQL store; mixed into ``hadron.store.sql.SqlStore``."""

    _engine: Engine

    # --- users ------------------------------------------------------------------------------------

    def list_users(self, account_id: str, path_prefix: str = "/") -> list[User]:
        """The account's users whose path starts with ``path_prefix``, by name."""
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(users)
                .where(users.c.account_id == account_id)
                .order_by(users.c.user_name_key)
            ).all()
        return [
            User(
                account_id=r.account_id,
                user_name=r.user_name,
                user_id=r.user_id,
                path=r.path,
                arn=user_arn(r.account_id, r.path, r.user_name),
                created_at=r.created_at,
            )
            for r in rows
            if r.path.startswith(path_prefix)
        ]

    def delete_user(self, account_id: str, user_name: str) -> None:
        """Delete a user that has no access keys, inline policies or attached policies."""
        with transactions.write(self._engine) as conn:
            key = self._user_key(conn, account_id, user_name)
            checks = (
                (access_keys, "Cannot delete entity, must delete access keys first."),
                (user_policies, "Cannot delete entity, must delete policies first."),
                (user_policy_attachments, "Cannot delete entity, must detach all policies first."),
                (group_members, "Cannot delete entity, must remove user from all groups first."),
            )
            for table, message in checks:
                found = conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.account_id == account_id, table.c.user_name_key == key)
                ).scalar_one()
                if found:
                    raise DeleteConflict(message)
            conn.execute(
                delete(users).where(users.c.account_id == account_id, users.c.user_name_key == key)
            )

    @staticmethod
    def _user_key(conn: Connection, account_id: str, user_name: str) -> str:
        key = user_name.lower()
        found = conn.execute(
            select(users.c.user_name_key)
            .where(users.c.account_id == account_id, users.c.user_name_key == key)
            .with_for_update()
        ).first()
        if found is None:
            raise _user_missing(user_name)
        return key

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
    ) -> ManagedPolicy:
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

    # --- user inline policies ---------------------------------------------------------------------

    def put_user_policy(
        self, account_id: str, user_name: str, policy_name: str, document: str
    ) -> None:
        """Create or replace an inline policy, within the user's aggregate size quota."""
        with transactions.write(self._engine) as conn:
            key = self._user_key(conn, account_id, user_name)
            others = conn.execute(
                select(user_policies.c.document).where(
                    user_policies.c.account_id == account_id,
                    user_policies.c.user_name_key == key,
                    user_policies.c.policy_name != policy_name,
                )
            ).scalars()
            total = policy_size(document) + sum(policy_size(d) for d in others)
            if total > MAX_USER_INLINE_BYTES:
                raise LimitExceeded(
                    f"Maximum policy size of {MAX_USER_INLINE_BYTES} bytes exceeded for user "
                    f"{user_name}"
                )
            where = (
                user_policies.c.account_id == account_id,
                user_policies.c.user_name_key == key,
                user_policies.c.policy_name == policy_name,
            )
            replaced = conn.execute(update(user_policies).where(*where).values(document=document))
            if replaced.rowcount == 0:
                conn.execute(
                    user_policies.insert().values(
                        account_id=account_id,
                        user_name_key=key,
                        policy_name=policy_name,
                        document=document,
                    )
                )

    def get_user_policy(
        self, account_id: str, user_name: str, policy_name: str
    ) -> InlinePolicy | None:
        with transactions.read(self._engine) as conn:
            key = self._user_key(conn, account_id, user_name)
            document = conn.execute(
                select(user_policies.c.document).where(
                    user_policies.c.account_id == account_id,
                    user_policies.c.user_name_key == key,
                    user_policies.c.policy_name == policy_name,
                )
            ).scalar_one_or_none()
        return None if document is None else InlinePolicy(policy_name, document)

    def list_user_policies(self, account_id: str, user_name: str) -> list[str]:
        with transactions.read(self._engine) as conn:
            key = self._user_key(conn, account_id, user_name)
            names = conn.execute(
                select(user_policies.c.policy_name)
                .where(
                    user_policies.c.account_id == account_id, user_policies.c.user_name_key == key
                )
                .order_by(user_policies.c.policy_name)
            ).scalars()
            return list(names)

    def delete_user_policy(self, account_id: str, user_name: str, policy_name: str) -> None:
        with transactions.write(self._engine) as conn:
            key = self._user_key(conn, account_id, user_name)
            result = conn.execute(
                delete(user_policies).where(
                    user_policies.c.account_id == account_id,
                    user_policies.c.user_name_key == key,
                    user_policies.c.policy_name == policy_name,
                )
            )
            if result.rowcount != 1:
                raise NoSuchEntity(f"The user policy with name {policy_name} cannot be found.")

    # --- attachments ------------------------------------------------------------------------------

    def attach_user_policy(self, account_id: str, user_name: str, arn: str, now: datetime) -> None:
        """Attach a managed policy by ARN. A customer managed ARN must exist in ``account_id``;
        an AWS managed ARN is the caller's to check. Attaching twice is a no-op, as in IAM."""
        with transactions.write(self._engine) as conn:
            key = self._user_key(conn, account_id, user_name)
            parts = split_policy_arn(arn)
            if parts is None or (
                parts[0] != "aws" and self._policy_row(conn, account_id, arn) is None
            ):
                raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
            attached = set(
                conn.execute(
                    select(user_policy_attachments.c.policy_arn).where(
                        user_policy_attachments.c.account_id == account_id,
                        user_policy_attachments.c.user_name_key == key,
                    )
                ).scalars()
            )
            if arn in attached:
                return
            if len(attached) >= MAX_MANAGED_POLICIES_PER_USER:
                raise LimitExceeded(
                    f"Cannot exceed quota for PoliciesPerUser: {MAX_MANAGED_POLICIES_PER_USER}"
                )
            conn.execute(
                user_policy_attachments.insert().values(
                    account_id=account_id, user_name_key=key, policy_arn=arn, attached_at=now
                )
            )

    def detach_user_policy(self, account_id: str, user_name: str, arn: str) -> None:
        with transactions.write(self._engine) as conn:
            key = self._user_key(conn, account_id, user_name)
            result = conn.execute(
                delete(user_policy_attachments).where(
                    user_policy_attachments.c.account_id == account_id,
                    user_policy_attachments.c.user_name_key == key,
                    user_policy_attachments.c.policy_arn == arn,
                )
            )
            if result.rowcount != 1:
                raise _policy_missing(arn)

    def list_attached_user_policies(self, account_id: str, user_name: str) -> list[str]:
        """The ARNs attached to the user, in attachment order."""
        with transactions.read(self._engine) as conn:
            key = self._user_key(conn, account_id, user_name)
            arns = conn.execute(
                select(user_policy_attachments.c.policy_arn)
                .where(
                    user_policy_attachments.c.account_id == account_id,
                    user_policy_attachments.c.user_name_key == key,
                )
                .order_by(
                    user_policy_attachments.c.attached_at, user_policy_attachments.c.policy_arn
                )
            ).scalars()
            return list(arns)

    def user_policies(self, account_id: str, user_name: str) -> UserPolicies | None:
        """The user's inline policies and attached policies' default documents (one snapshot),
        or ``None`` if the user does not exist."""
        key = user_name.lower()
        with transactions.read(self._engine) as conn:
            exists = conn.execute(
                select(users.c.user_name_key).where(
                    users.c.account_id == account_id, users.c.user_name_key == key
                )
            ).first()
            if exists is None:
                return None
            inline = conn.execute(
                select(user_policies.c.policy_name, user_policies.c.document)
                .where(
                    user_policies.c.account_id == account_id, user_policies.c.user_name_key == key
                )
                .order_by(user_policies.c.policy_name)
            ).all()
            arns = conn.execute(
                select(user_policy_attachments.c.policy_arn)
                .where(
                    user_policy_attachments.c.account_id == account_id,
                    user_policy_attachments.c.user_name_key == key,
                )
                .order_by(user_policy_attachments.c.policy_arn)
            ).scalars()
            managed: list[tuple[str, str | None]] = []
            for arn in arns:
                parts = split_policy_arn(arn)
                if parts is not None and parts[0] == "aws":
                    managed.append((arn, None))
                    continue
                row = self._policy_row(conn, account_id, arn)
                if row is None:  # pragma: no cover - DeletePolicy refuses attached policies
                    continue
                document = conn.execute(
                    select(policy_versions.c.document).where(
                        policy_versions.c.account_id == account_id,
                        policy_versions.c.policy_name_key == row.policy_name_key,
                        policy_versions.c.version_id == row.default_version_id,
                    )
                ).scalar_one()
                managed.append((arn, document))
        return UserPolicies(
            tuple(InlinePolicy(n, d) for n, d in inline),
            tuple(managed),
        )
