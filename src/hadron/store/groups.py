"""The IAM groups repository: groups, their members, inline policies and attachments, and user
permissions boundaries, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: security.md §4.9 (groups' policies are identity policies; the
boundary), §6 (operations, quotas, error codes). Same rules as ``hadron.store.iam``: every public
method is one transaction, documents are validated by the caller before they reach this module
and kept exactly as submitted, group names are unique case-insensitively, inline policy names are
case-sensitive. Attachment counts (``AttachmentCount``, DeletePolicy's conflict check) include
group attachments: ``SqlPolicies._attachments`` counts both tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, Row, delete, func, select, update

from hadron.errors import EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.keys import RNG, generate_unique_id
from hadron.store import entity_policies, transactions
from hadron.store.entity_policies import EntityKind, refuse_while_dependents
from hadron.store.iam import SqlIam
from hadron.store.policies import SqlPolicies, split_policy_arn
from hadron.store.records import (
    Group,
    InlinePolicy,
    User,
    UserPolicies,
    group_arn,
    user_from_row,
)
from hadron.store.schema import (
    group_members,
    group_policies,
    group_policy_attachments,
    groups,
    policy_versions,
    roles,
    user_permissions_boundaries,
    users,
)

__all__ = [
    "MAX_GROUPS_PER_USER",
    "MAX_GROUP_INLINE_BYTES",
    "MAX_MANAGED_POLICIES_PER_GROUP",
    "InheritedPolicies",
    "SqlGroups",
]

MAX_GROUPS_PER_USER: Final = 10
"""IAM quota: groups one user can be a member of."""

MAX_MANAGED_POLICIES_PER_GROUP: Final = 10
"""IAM quota (default): managed policies attached to one group."""

MAX_GROUP_INLINE_BYTES: Final = 5120
"""IAM quota: the aggregate size of a group's inline policies (whitespace not counted)."""


@dataclass(frozen=True, slots=True)
class InheritedPolicies:
    """What a user gets beyond its own policies, read in one transaction (for enforcement).

    ``groups`` holds the inline policies (named ``<group>/<policy>``) and the attached managed
    policies (ARN, default document or ``None`` for AWS managed ones; each ARN once) of every
    group the user belongs to. ``boundary`` is the permissions boundary as (ARN, document or
    ``None`` for an AWS managed policy), or ``None`` when the user has none.
    """

    groups: UserPolicies
    boundary: tuple[str, str | None] | None


def _group_missing(group_name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The group with name {group_name} cannot be found.")


def _group(row: Row[Any]) -> Group:
    return Group(
        account_id=row.account_id,
        group_name=row.group_name,
        group_id=row.group_id,
        path=row.path,
        arn=group_arn(row.account_id, row.path, row.group_name),
        created_at=row.created_at,
    )


class SqlGroups:
    """Group and boundary methods of the SQL store; mixed into ``hadron.store.sql.SqlStore``."""

    _engine: Engine

    # --- groups -----------------------------------------------------------------------------------

    def create_group(
        self, account_id: str, group_name: str, path: str, now: datetime, rng: RNG = os.urandom
    ) -> Group:
        if not (path.startswith("/") and path.endswith("/")):
            raise ValueError("an IAM path starts and ends with '/'")
        group_id = generate_unique_id("AGPA", rng)
        with transactions.write(self._engine) as conn:
            if self._group_row(conn, account_id, group_name) is not None:
                raise EntityAlreadyExists(f"Group with name {group_name} already exists.")
            conn.execute(
                groups.insert().values(
                    account_id=account_id,
                    group_name_key=group_name.lower(),
                    group_name=group_name,
                    group_id=group_id,
                    path=path,
                    created_at=now,
                )
            )
        return Group(
            account_id=account_id,
            group_name=group_name,
            group_id=group_id,
            path=path,
            arn=group_arn(account_id, path, group_name),
            created_at=now,
        )

    def get_group(self, account_id: str, group_name: str) -> Group | None:
        with transactions.read(self._engine) as conn:
            row = self._group_row(conn, account_id, group_name)
        return None if row is None else _group(row)

    def list_groups(self, account_id: str, path_prefix: str = "/") -> list[Group]:
        """The account's groups whose path starts with ``path_prefix``, by name."""
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(groups)
                .where(groups.c.account_id == account_id)
                .order_by(groups.c.group_name_key)
            ).all()
        return [_group(r) for r in rows if r.path.startswith(path_prefix)]

    def delete_group(self, account_id: str, group_name: str) -> None:
        """Delete a group that has no members, inline policies or attached policies."""
        with transactions.write(self._engine) as conn:
            key = self._group_key(conn, account_id, group_name)
            checks = (
                (group_members, "Cannot delete entity, must remove users from group first."),
                (group_policies, "Cannot delete entity, must delete policies first."),
                (group_policy_attachments, "Cannot delete entity, must detach all policies first."),
            )
            refuse_while_dependents(conn, account_id, "group_name_key", key, checks)
            conn.execute(
                delete(groups).where(
                    groups.c.account_id == account_id, groups.c.group_name_key == key
                )
            )

    @staticmethod
    def _group_row(conn: Connection, account_id: str, group_name: str) -> Row[Any] | None:
        return conn.execute(
            select(groups).where(
                groups.c.account_id == account_id, groups.c.group_name_key == group_name.lower()
            )
        ).one_or_none()

    @staticmethod
    def _group_key(conn: Connection, account_id: str, group_name: str) -> str:
        key = group_name.lower()
        found = conn.execute(
            select(groups.c.group_name_key)
            .where(groups.c.account_id == account_id, groups.c.group_name_key == key)
            .with_for_update()
        ).first()
        if found is None:
            raise _group_missing(group_name)
        return key

    # --- membership -------------------------------------------------------------------------------

    def add_user_to_group(
        self, account_id: str, group_name: str, user_name: str, now: datetime
    ) -> None:
        """Add a user to a group (a no-op if it is a member already), within GroupsPerUser."""
        with transactions.write(self._engine) as conn:
            group_key = self._group_key(conn, account_id, group_name)
            user_key = SqlIam._user_key(conn, account_id, user_name)
            member_of = set(
                conn.execute(
                    select(group_members.c.group_name_key).where(
                        group_members.c.account_id == account_id,
                        group_members.c.user_name_key == user_key,
                    )
                ).scalars()
            )
            if group_key in member_of:
                return
            if len(member_of) >= MAX_GROUPS_PER_USER:
                raise LimitExceeded(f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}")
            conn.execute(
                group_members.insert().values(
                    account_id=account_id,
                    group_name_key=group_key,
                    user_name_key=user_key,
                    added_at=now,
                )
            )

    def remove_user_from_group(self, account_id: str, group_name: str, user_name: str) -> None:
        with transactions.write(self._engine) as conn:
            group_key = self._group_key(conn, account_id, group_name)
            user_key = SqlIam._user_key(conn, account_id, user_name)
            result = conn.execute(
                delete(group_members).where(
                    group_members.c.account_id == account_id,
                    group_members.c.group_name_key == group_key,
                    group_members.c.user_name_key == user_key,
                )
            )
            if result.rowcount != 1:
                raise NoSuchEntity(
                    f"The user with name {user_name} is not a member of group {group_name}."
                )

    def list_group_members(self, account_id: str, group_name: str) -> list[User]:
        """The group's users, by name."""
        with transactions.read(self._engine) as conn:
            key = self._group_key(conn, account_id, group_name)
            rows = conn.execute(
                select(users)
                .join(
                    group_members,
                    (group_members.c.account_id == users.c.account_id)
                    & (group_members.c.user_name_key == users.c.user_name_key),
                )
                .where(
                    group_members.c.account_id == account_id, group_members.c.group_name_key == key
                )
                .order_by(users.c.user_name_key)
            ).all()
        return [user_from_row(r) for r in rows]

    def list_groups_for_user(self, account_id: str, user_name: str) -> list[Group]:
        """The groups the user belongs to, by name."""
        with transactions.read(self._engine) as conn:
            key = SqlIam._user_key(conn, account_id, user_name)
            rows = conn.execute(
                select(groups)
                .join(
                    group_members,
                    (group_members.c.account_id == groups.c.account_id)
                    & (group_members.c.group_name_key == groups.c.group_name_key),
                )
                .where(
                    group_members.c.account_id == account_id, group_members.c.user_name_key == key
                )
                .order_by(groups.c.group_name_key)
            ).all()
        return [_group(r) for r in rows]

    # --- group inline policies and attachments (``hadron.store.entity_policies``) -----------------

    def put_group_policy(
        self, account_id: str, group_name: str, policy_name: str, document: str
    ) -> None:
        """Create or replace an inline policy, within the group's aggregate size quota."""
        entity_policies.put_inline_policy(
            self._engine, GROUP_KIND, account_id, group_name, policy_name, document
        )

    def get_group_policy(
        self, account_id: str, group_name: str, policy_name: str
    ) -> InlinePolicy | None:
        return entity_policies.get_inline_policy(
            self._engine, GROUP_KIND, account_id, group_name, policy_name
        )

    def list_group_policies(self, account_id: str, group_name: str) -> list[str]:
        return entity_policies.list_inline_policies(
            self._engine, GROUP_KIND, account_id, group_name
        )

    def delete_group_policy(self, account_id: str, group_name: str, policy_name: str) -> None:
        entity_policies.delete_inline_policy(
            self._engine, GROUP_KIND, account_id, group_name, policy_name
        )

    def attach_group_policy(
        self, account_id: str, group_name: str, arn: str, now: datetime
    ) -> None:
        """Attach a managed policy by ARN. A customer managed ARN must exist in ``account_id``;
        an AWS managed ARN is the caller's to check. Attaching twice is a no-op, as in IAM."""
        entity_policies.attach_policy(self._engine, GROUP_KIND, account_id, group_name, arn, now)

    def detach_group_policy(self, account_id: str, group_name: str, arn: str) -> None:
        entity_policies.detach_policy(self._engine, GROUP_KIND, account_id, group_name, arn)

    def list_attached_group_policies(self, account_id: str, group_name: str) -> list[str]:
        """The ARNs attached to the group, in attachment order."""
        return entity_policies.list_attached_policies(
            self._engine, GROUP_KIND, account_id, group_name
        )

    # --- permissions boundaries -------------------------------------------------------------------

    def put_user_permissions_boundary(self, account_id: str, user_name: str, arn: str) -> None:
        """Set (or replace) the user's boundary. A customer managed ARN must exist in
        ``account_id``; an AWS managed ARN is the caller's to check."""
        with transactions.write(self._engine) as conn:
            key = SqlIam._user_key(conn, account_id, user_name)
            parts = split_policy_arn(arn)
            if parts is None or (
                parts[0] != "aws" and SqlPolicies._policy_row(conn, account_id, arn) is None
            ):
                raise NoSuchEntity(f"Scope ARN: {arn} does not exist or is not attachable.")
            where = (
                user_permissions_boundaries.c.account_id == account_id,
                user_permissions_boundaries.c.user_name_key == key,
            )
            replaced = conn.execute(
                update(user_permissions_boundaries).where(*where).values(policy_arn=arn)
            )
            if replaced.rowcount == 0:
                conn.execute(
                    user_permissions_boundaries.insert().values(
                        account_id=account_id, user_name_key=key, policy_arn=arn
                    )
                )

    def delete_user_permissions_boundary(self, account_id: str, user_name: str) -> None:
        """Remove the user's boundary (a no-op when it has none)."""
        with transactions.write(self._engine) as conn:
            key = SqlIam._user_key(conn, account_id, user_name)
            conn.execute(
                delete(user_permissions_boundaries).where(
                    user_permissions_boundaries.c.account_id == account_id,
                    user_permissions_boundaries.c.user_name_key == key,
                )
            )

    def get_user_permissions_boundary(self, account_id: str, user_name: str) -> str | None:
        """The ARN of the user's boundary, or ``None``."""
        with transactions.read(self._engine) as conn:
            arn: str | None = conn.execute(
                select(user_permissions_boundaries.c.policy_arn).where(
                    user_permissions_boundaries.c.account_id == account_id,
                    user_permissions_boundaries.c.user_name_key == user_name.lower(),
                )
            ).scalar_one_or_none()
        return arn

    def count_boundary_uses(self, account_id: str, arn: str) -> int:
        """How many users and roles of ``account_id`` have ``arn`` as their permissions
        boundary."""
        with transactions.read(self._engine) as conn:
            count: int = conn.execute(
                select(func.count())
                .select_from(user_permissions_boundaries)
                .where(
                    user_permissions_boundaries.c.account_id == account_id,
                    user_permissions_boundaries.c.policy_arn == arn,
                )
            ).scalar_one()
            count += conn.execute(  # roles (hadron.store.roles)
                select(func.count())
                .select_from(roles)
                .where(roles.c.account_id == account_id, roles.c.permissions_boundary == arn)
            ).scalar_one()
        return count

    # --- enforcement ------------------------------------------------------------------------------

    def inherited_policies(self, account_id: str, user_name: str) -> InheritedPolicies:
        """The user's groups' policies and its permissions boundary, in one snapshot."""
        key = user_name.lower()
        with transactions.read(self._engine) as conn:
            member_of = conn.execute(
                select(groups.c.group_name_key, groups.c.group_name)
                .join(
                    group_members,
                    (group_members.c.account_id == groups.c.account_id)
                    & (group_members.c.group_name_key == groups.c.group_name_key),
                )
                .where(
                    group_members.c.account_id == account_id, group_members.c.user_name_key == key
                )
                .order_by(groups.c.group_name_key)
            ).all()
            inline: list[InlinePolicy] = []
            arns: list[str] = []
            for group_key, name in member_of:
                rows = conn.execute(
                    select(group_policies.c.policy_name, group_policies.c.document)
                    .where(
                        group_policies.c.account_id == account_id,
                        group_policies.c.group_name_key == group_key,
                    )
                    .order_by(group_policies.c.policy_name)
                ).all()
                inline.extend(InlinePolicy(f"{name}/{p}", d) for p, d in rows)
                for arn in conn.execute(
                    select(group_policy_attachments.c.policy_arn)
                    .where(
                        group_policy_attachments.c.account_id == account_id,
                        group_policy_attachments.c.group_name_key == group_key,
                    )
                    .order_by(group_policy_attachments.c.policy_arn)
                ).scalars():
                    if arn not in arns:
                        arns.append(arn)
            managed = tuple((arn, self._default_document(conn, account_id, arn)) for arn in arns)
            boundary_arn = conn.execute(
                select(user_permissions_boundaries.c.policy_arn).where(
                    user_permissions_boundaries.c.account_id == account_id,
                    user_permissions_boundaries.c.user_name_key == key,
                )
            ).scalar_one_or_none()
            boundary = (
                None
                if boundary_arn is None
                else (boundary_arn, self._default_document(conn, account_id, boundary_arn))
            )
        return InheritedPolicies(UserPolicies(tuple(inline), managed), boundary)

    @staticmethod
    def _default_document(conn: Connection, account_id: str, arn: str) -> str | None:
        """The default version's text of a customer managed policy; ``None`` for AWS managed
        ones (and, failing closed, ``"{}"`` — an unparseable document — for a vanished one)."""
        parts = split_policy_arn(arn)
        if parts is not None and parts[0] == "aws":
            return None
        row = SqlPolicies._policy_row(conn, account_id, arn)
        if row is None:  # pragma: no cover - DeletePolicy refuses policies in use
            return "{}"
        document: str = conn.execute(
            select(policy_versions.c.document).where(
                policy_versions.c.account_id == account_id,
                policy_versions.c.policy_name_key == row.policy_name_key,
                policy_versions.c.version_id == row.default_version_id,
            )
        ).scalar_one()
        return document


GROUP_KIND: Final = EntityKind(
    noun="group",
    quota_name="PoliciesPerGroup",
    key_column="group_name_key",
    inline=group_policies,
    attachments=group_policy_attachments,
    max_inline_bytes=MAX_GROUP_INLINE_BYTES,
    max_attached=MAX_MANAGED_POLICIES_PER_GROUP,
    key_of=SqlGroups._group_key,
)
"""Groups' inline policies and attachments (``hadron.store.entity_policies``)."""
