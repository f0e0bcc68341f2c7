"""Renaming and moving users and groups (IAM ``UpdateUser`` and ``UpdateGroup``).

Layer 3 (store, edge). Spec: security.md §6 (operations, error codes).

An entity's lower-cased name is part of the primary key of every row that belongs to it (access
keys, inline policies, attachments, memberships, boundary, tags), and the foreign keys have no
``ON UPDATE CASCADE``. A rename is therefore one transaction that inserts the entity under its new
key, re-points every dependent row at it, and deletes the old row. A case-only rename (same key)
or a path change updates the row in place. The entity's id and creation date are kept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, delete, select, update

from hadron.errors import EntityAlreadyExists, NoSuchEntity
from hadron.store import transactions
from hadron.store.records import Group, User, group_arn, user_arn
from hadron.store.schema import (
    access_keys,
    group_members,
    group_policies,
    group_policy_attachments,
    groups,
    mfa_devices,
    user_permissions_boundaries,
    user_policies,
    user_policy_attachments,
    user_tags,
    users,
)

__all__ = ["SqlRenames"]

_USER_DEPENDENTS: tuple[Table, ...] = (
    access_keys,
    user_policies,
    user_policy_attachments,
    group_members,
    user_permissions_boundaries,
    user_tags,
    mfa_devices,
)
_GROUP_DEPENDENTS: tuple[Table, ...] = (group_members, group_policies, group_policy_attachments)


def _check_path(path: str) -> None:
    if not (path.startswith("/") and path.endswith("/")):
        raise ValueError("an IAM path starts and ends with '/'")


def _rename(
    conn: Connection,
    table: Table,
    kind: str,
    dependents: tuple[Table, ...],
    account_id: str,
    old_name: str,
    new_name: str | None,
    new_path: str | None,
) -> tuple[Row[Any], str, str]:
    """Rename/move the ``kind`` ("user" or "group") row of ``table`` named ``old_name``.

    Returns the old row and the new name and path. The columns are ``<kind>_name_key``,
    ``<kind>_name`` and ``<kind>_id``.
    """
    key_col, name_col, id_col = (table.c[f"{kind}_{c}"] for c in ("name_key", "name", "id"))
    where = (table.c.account_id == account_id, key_col == old_name.lower())
    row = conn.execute(select(table).where(*where).with_for_update()).one_or_none()
    if row is None:
        raise NoSuchEntity(f"The {kind} with name {old_name} cannot be found.")
    old_key: str = row._mapping[key_col]
    name: str = new_name or row._mapping[name_col]
    path: str = new_path or row.path
    new_key = name.lower()
    if new_key == old_key:
        conn.execute(update(table).where(*where).values({name_col: name, "path": path}))
        return row, name, path
    taken = conn.execute(
        select(key_col).where(table.c.account_id == account_id, key_col == new_key)
    ).first()
    if taken is not None:
        raise EntityAlreadyExists(f"{kind.capitalize()} with name {name} already exists.")
    # The id is unique: park the old row's id before inserting the new row.
    entity_id = row._mapping[id_col]
    conn.execute(update(table).where(*where).values({id_col: f"~{entity_id}"}))
    conn.execute(
        table.insert().values(
            {
                "account_id": account_id,
                key_col: new_key,
                name_col: name,
                id_col: entity_id,
                "path": path,
                "created_at": row.created_at,
            }
        )
    )
    for dependent in dependents:
        dep_key = dependent.c[f"{kind}_name_key"]
        conn.execute(
            update(dependent)
            .where(dependent.c.account_id == account_id, dep_key == old_key)
            .values({dep_key: new_key})
        )
    conn.execute(delete(table).where(*where))
    return row, name, path


class SqlRenames:
    """Rename/move methods of the SQL store; mixed into ``hadron.store.sql.SqlStore``."""

    _engine: Engine

    def update_user(
        self,
        account_id: str,
        user_name: str,
        *,
        new_user_name: str | None = None,
        new_path: str | None = None,
    ) -> User:
        """Rename and/or move a user, keeping everything attached to it; the updated user."""
        if new_path is not None:
            _check_path(new_path)
        with transactions.write(self._engine) as conn:
            row, name, path = _rename(
                conn,
                users,
                "user",
                _USER_DEPENDENTS,
                account_id,
                user_name,
                new_user_name,
                new_path,
            )
        return User(
            account_id=account_id,
            user_name=name,
            user_id=row.user_id,
            path=path,
            arn=user_arn(account_id, path, name),
            created_at=row.created_at,
        )

    def update_group(
        self,
        account_id: str,
        group_name: str,
        *,
        new_group_name: str | None = None,
        new_path: str | None = None,
    ) -> Group:
        """Rename and/or move a group, keeping its members and policies; the updated group."""
        if new_path is not None:
            _check_path(new_path)
        with transactions.write(self._engine) as conn:
            row, name, path = _rename(
                conn,
                groups,
                "group",
                _GROUP_DEPENDENTS,
                account_id,
                group_name,
                new_group_name,
                new_path,
            )
        return Group(
            account_id=account_id,
            group_name=name,
            group_id=row.group_id,
            path=path,
            arn=group_arn(account_id, path, name),
            created_at=row.created_at,
        )
