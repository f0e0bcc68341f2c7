"""The IAM roles repository: roles (trust policy, inline policies, attachments, permissions
boundary) and the tags of users and roles, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: security.md §3.1 (what STS needs of a role), §4.3 (quotas), §6
(operations, error codes). Same rules as ``hadron.store.iam``: every public method is one
transaction, documents are validated by the caller (``parse_policy(kind="trust"|"identity")``)
before they reach this module and kept exactly as submitted, role names are unique
case-insensitively, inline policy names are case-sensitive. Attachment counts and DeletePolicy's
conflict check include role attachments and role boundaries (``SqlPolicies._attachments``,
``SqlPolicies.delete_policy``). Tag keys are unique case-insensitively with their case preserved; a
later value (and spelling) for a key replaces the earlier one. Validating a tag's characters and
lengths is the caller's job (``hadron.iam.tags``); the per-entity quota is checked here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, Row, Table, delete, select, update

from hadron.errors import EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.keys import RNG, generate_unique_id
from hadron.store import entity_policies, transactions
from hadron.store.entity_policies import EntityKind, refuse_while_dependents
from hadron.store.iam import SqlIam
from hadron.store.policies import SqlPolicies, split_policy_arn
from hadron.store.records import InlinePolicy, Role, role_arn
from hadron.store.schema import (
    instance_profile_roles,
    role_policies,
    role_policy_attachments,
    role_tags,
    roles,
    user_tags,
)

__all__ = [
    "DEFAULT_MAX_SESSION_DURATION",
    "MAX_MANAGED_POLICIES_PER_ROLE",
    "MAX_ROLE_INLINE_BYTES",
    "MAX_TAGS_PER_ENTITY",
    "SqlRoles",
]

DEFAULT_MAX_SESSION_DURATION: Final = 3600
"""A role's ``MaxSessionDuration`` when CreateRole does not set one (seconds)."""

MAX_MANAGED_POLICIES_PER_ROLE: Final = 10
"""IAM quota (default): managed policies attached to one role."""

MAX_ROLE_INLINE_BYTES: Final = 10240
"""IAM quota: the aggregate size of a role's inline policies (whitespace not counted)."""

MAX_TAGS_PER_ENTITY: Final = 50
"""IAM quota: tags per user or role."""

Tags = Sequence[tuple[str, str]]


def _role_missing(role_name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The role with name {role_name} cannot be found.")


def _role(row: Row[Any], tags: tuple[tuple[str, str], ...] = ()) -> Role:
    return Role(
        account_id=row.account_id,
        role_name=row.role_name,
        role_id=row.role_id,
        path=row.path,
        arn=role_arn(row.account_id, row.path, row.role_name),
        description=row.description,
        max_session_duration=row.max_session_duration,
        trust_policy=row.trust_policy,
        permissions_boundary=row.permissions_boundary,
        created_at=row.created_at,
        tags=tags,
    )


def _read_tags(conn: Connection, table: Table, owner: str, account_id: str, key: str) -> list[Any]:
    return list(
        conn.execute(
            select(table.c.tag_key, table.c.tag_value)
            .where(table.c.account_id == account_id, table.c[owner] == key)
            .order_by(table.c.tag_key_lower)
        ).all()
    )


def _merge_tags(
    conn: Connection, table: Table, owner: str, account_id: str, key: str, tags: Tags
) -> None:
    """Add or replace ``tags`` (later keys win, case-insensitively) within the quota."""
    merged = {k.lower(): (k, v) for k, v in _read_tags(conn, table, owner, account_id, key)}
    incoming: dict[str, tuple[str, str]] = {}
    for tag_key, value in tags:
        incoming[tag_key.lower()] = (tag_key, value)
    merged.update(incoming)
    if len(merged) > MAX_TAGS_PER_ENTITY:
        raise LimitExceeded("The number of tags has reached the maximum limit.")
    if not incoming:
        return
    conn.execute(
        delete(table).where(
            table.c.account_id == account_id,
            table.c[owner] == key,
            table.c.tag_key_lower.in_(list(incoming)),
        )
    )
    conn.execute(
        table.insert(),
        [
            {
                "account_id": account_id,
                owner: key,
                "tag_key_lower": lower,
                "tag_key": tag_key,
                "tag_value": value,
            }
            for lower, (tag_key, value) in incoming.items()
        ],
    )


def _remove_tags(
    conn: Connection, table: Table, owner: str, account_id: str, key: str, tag_keys: Sequence[str]
) -> None:
    """Remove the tags named by ``tag_keys`` (case-insensitively; unknown keys are ignored)."""
    if tag_keys:
        conn.execute(
            delete(table).where(
                table.c.account_id == account_id,
                table.c[owner] == key,
                table.c.tag_key_lower.in_([k.lower() for k in tag_keys]),
            )
        )


class SqlRoles:
    """Role and tag methods of the SQL store; mixed into ``hadron.store.sql.SqlStore``."""

    _engine: Engine

    # --- roles ------------------------------------------------------------------------------------

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
        max_session_duration: int = DEFAULT_MAX_SESSION_DURATION,
        permissions_boundary: str | None = None,
        tags: Tags = (),
    ) -> Role:
        """Create a role. A customer managed boundary ARN must exist in ``account_id``; an AWS
        managed one is the caller's to check. ``tags`` must be valid (``hadron.iam.tags``)."""
        if not (path.startswith("/") and path.endswith("/")):
            raise ValueError("an IAM path starts and ends with '/'")
        role_id = generate_unique_id("AROA", rng)
        key = role_name.lower()
        with transactions.write(self._engine) as conn:
            if self._role_row(conn, account_id, role_name) is not None:
                raise EntityAlreadyExists(f"Role with name {role_name} already exists.")
            if permissions_boundary is not None:
                self._check_boundary(conn, account_id, permissions_boundary)
            conn.execute(
                roles.insert().values(
                    account_id=account_id,
                    role_name_key=key,
                    role_name=role_name,
                    role_id=role_id,
                    path=path,
                    description=description,
                    max_session_duration=max_session_duration,
                    trust_policy=trust_policy,
                    permissions_boundary=permissions_boundary,
                    created_at=now,
                )
            )
            _merge_tags(conn, role_tags, "role_name_key", account_id, key, tags)
            row = self._role_row(conn, account_id, role_name)
            if row is None:  # pragma: no cover - inserted above, in this transaction
                raise _role_missing(role_name)
            found = _role(row, self._tags_of(conn, account_id, key))
        return found

    def get_role(self, account_id: str, role_name: str) -> Role | None:
        """The role with its tags, or ``None``."""
        with transactions.read(self._engine) as conn:
            row = self._role_row(conn, account_id, role_name)
            if row is None:
                return None
            return _role(row, self._tags_of(conn, account_id, row.role_name_key))

    def list_roles(self, account_id: str, path_prefix: str = "/") -> list[Role]:
        """The account's roles whose path starts with ``path_prefix``, by name (without tags,
        as ListRoles omits them)."""
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(roles)
                .where(roles.c.account_id == account_id)
                .order_by(roles.c.role_name_key)
            ).all()
        return [_role(r) for r in rows if r.path.startswith(path_prefix)]

    def delete_role(self, account_id: str, role_name: str) -> None:
        """Delete a role that is in no instance profile and has no inline or attached policies
        (tags go with it)."""
        with transactions.write(self._engine) as conn:
            key = self._role_key(conn, account_id, role_name)
            checks = (
                (
                    instance_profile_roles,  # hadron.store.profiles
                    "Cannot delete entity, must remove roles from instance profile first.",
                ),
                (role_policies, "Cannot delete entity, must delete policies first."),
                (role_policy_attachments, "Cannot delete entity, must detach all policies first."),
            )
            refuse_while_dependents(conn, account_id, "role_name_key", key, checks)
            conn.execute(
                delete(roles).where(roles.c.account_id == account_id, roles.c.role_name_key == key)
            )

    def update_role(
        self,
        account_id: str,
        role_name: str,
        *,
        description: str | None = None,
        max_session_duration: int | None = None,
    ) -> None:
        """Change the description and/or the maximum session duration (``None``: unchanged)."""
        values: dict[str, Any] = {}
        if description is not None:
            values["description"] = description
        if max_session_duration is not None:
            values["max_session_duration"] = max_session_duration
        with transactions.write(self._engine) as conn:
            key = self._role_key(conn, account_id, role_name)
            if values:
                conn.execute(
                    update(roles)
                    .where(roles.c.account_id == account_id, roles.c.role_name_key == key)
                    .values(**values)
                )

    def update_assume_role_policy(self, account_id: str, role_name: str, document: str) -> None:
        with transactions.write(self._engine) as conn:
            key = self._role_key(conn, account_id, role_name)
            conn.execute(
                update(roles)
                .where(roles.c.account_id == account_id, roles.c.role_name_key == key)
                .values(trust_policy=document)
            )

    @staticmethod
    def _role_row(conn: Connection, account_id: str, role_name: str) -> Row[Any] | None:
        return conn.execute(
            select(roles).where(
                roles.c.account_id == account_id, roles.c.role_name_key == role_name.lower()
            )
        ).one_or_none()

    @staticmethod
    def _role_key(conn: Connection, account_id: str, role_name: str) -> str:
        key = role_name.lower()
        found = conn.execute(
            select(roles.c.role_name_key)
            .where(roles.c.account_id == account_id, roles.c.role_name_key == key)
            .with_for_update()
        ).first()
        if found is None:
            raise _role_missing(role_name)
        return key

    @staticmethod
    def _tags_of(conn: Connection, account_id: str, key: str) -> tuple[tuple[str, str], ...]:
        rows = _read_tags(conn, role_tags, "role_name_key", account_id, key)
        return tuple((k, v) for k, v in rows)

    @staticmethod
    def _check_boundary(conn: Connection, account_id: str, arn: str) -> None:
        parts = split_policy_arn(arn)
        if parts is None or (
            parts[0] != "aws" and SqlPolicies._policy_row(conn, account_id, arn) is None
        ):
            raise NoSuchEntity(f"Scope ARN: {arn} does not exist or is not attachable.")

    # --- role inline policies and attachments (``hadron.store.entity_policies``) ------------------

    def put_role_policy(
        self, account_id: str, role_name: str, policy_name: str, document: str
    ) -> None:
        """Create or replace an inline policy, within the role's aggregate size quota."""
        entity_policies.put_inline_policy(
            self._engine, ROLE_KIND, account_id, role_name, policy_name, document
        )

    def get_role_policy(
        self, account_id: str, role_name: str, policy_name: str
    ) -> InlinePolicy | None:
        return entity_policies.get_inline_policy(
            self._engine, ROLE_KIND, account_id, role_name, policy_name
        )

    def list_role_policies(self, account_id: str, role_name: str) -> list[str]:
        return entity_policies.list_inline_policies(self._engine, ROLE_KIND, account_id, role_name)

    def delete_role_policy(self, account_id: str, role_name: str, policy_name: str) -> None:
        entity_policies.delete_inline_policy(
            self._engine, ROLE_KIND, account_id, role_name, policy_name
        )

    def attach_role_policy(self, account_id: str, role_name: str, arn: str, now: datetime) -> None:
        """Attach a managed policy by ARN. A customer managed ARN must exist in ``account_id``;
        an AWS managed ARN is the caller's to check. Attaching twice is a no-op, as in IAM."""
        entity_policies.attach_policy(self._engine, ROLE_KIND, account_id, role_name, arn, now)

    def detach_role_policy(self, account_id: str, role_name: str, arn: str) -> None:
        entity_policies.detach_policy(self._engine, ROLE_KIND, account_id, role_name, arn)

    def list_attached_role_policies(self, account_id: str, role_name: str) -> list[str]:
        """The ARNs attached to the role, in attachment order."""
        return entity_policies.list_attached_policies(
            self._engine, ROLE_KIND, account_id, role_name
        )

    # --- role permissions boundaries --------------------------------------------------------------

    def put_role_permissions_boundary(self, account_id: str, role_name: str, arn: str) -> None:
        """Set (or replace) the role's boundary (existence rules as ``create_role``)."""
        with transactions.write(self._engine) as conn:
            key = self._role_key(conn, account_id, role_name)
            self._check_boundary(conn, account_id, arn)
            conn.execute(
                update(roles)
                .where(roles.c.account_id == account_id, roles.c.role_name_key == key)
                .values(permissions_boundary=arn)
            )

    def delete_role_permissions_boundary(self, account_id: str, role_name: str) -> None:
        """Remove the role's boundary (a no-op when it has none)."""
        with transactions.write(self._engine) as conn:
            key = self._role_key(conn, account_id, role_name)
            conn.execute(
                update(roles)
                .where(roles.c.account_id == account_id, roles.c.role_name_key == key)
                .values(permissions_boundary=None)
            )

    # --- tags -------------------------------------------------------------------------------------

    def tag_user(self, account_id: str, user_name: str, tags: Tags) -> None:
        with transactions.write(self._engine) as conn:
            key = SqlIam._user_key(conn, account_id, user_name)
            _merge_tags(conn, user_tags, "user_name_key", account_id, key, tags)

    def untag_user(self, account_id: str, user_name: str, tag_keys: Sequence[str]) -> None:
        with transactions.write(self._engine) as conn:
            key = SqlIam._user_key(conn, account_id, user_name)
            _remove_tags(conn, user_tags, "user_name_key", account_id, key, tag_keys)

    def list_user_tags(self, account_id: str, user_name: str) -> list[tuple[str, str]]:
        """The user's tags as ``(key, value)``, by key (case-insensitively)."""
        with transactions.read(self._engine) as conn:
            key = SqlIam._user_key(conn, account_id, user_name)
            rows = _read_tags(conn, user_tags, "user_name_key", account_id, key)
        return [(k, v) for k, v in rows]

    def tag_role(self, account_id: str, role_name: str, tags: Tags) -> None:
        with transactions.write(self._engine) as conn:
            key = self._role_key(conn, account_id, role_name)
            _merge_tags(conn, role_tags, "role_name_key", account_id, key, tags)

    def untag_role(self, account_id: str, role_name: str, tag_keys: Sequence[str]) -> None:
        with transactions.write(self._engine) as conn:
            key = self._role_key(conn, account_id, role_name)
            _remove_tags(conn, role_tags, "role_name_key", account_id, key, tag_keys)

    def list_role_tags(self, account_id: str, role_name: str) -> list[tuple[str, str]]:
        """The role's tags as ``(key, value)``, by key (case-insensitively)."""
        with transactions.read(self._engine) as conn:
            key = self._role_key(conn, account_id, role_name)
            return list(self._tags_of(conn, account_id, key))


ROLE_KIND: Final = EntityKind(
    noun="role",
    quota_name="PoliciesPerRole",
    key_column="role_name_key",
    inline=role_policies,
    attachments=role_policy_attachments,
    max_inline_bytes=MAX_ROLE_INLINE_BYTES,
    max_attached=MAX_MANAGED_POLICIES_PER_ROLE,
    key_of=SqlRoles._role_key,
)
"""Roles' inline policies and attachments (``hadron.store.entity_policies``)."""
