"""Renaming and moving users and groups (IAM ``UpdateUser`` and ``UpdateGroup``).

Layer 3 (store, edge). Spec: security.md §6 (operations, error codes).

An entity's lower-cased name is part of the primary key of every row that belongs to it (access
keys, inline policies, attachments, memberships, boundary, tags), and the foreign keys have no
``ON UPDATE CASCADE``. A rename is therefore one transaction that inserts the entity under its new
key, re-points every dependent row at it, and deletes the old row. A case-only rename (same key)
or a path change updates the row in place. The entity's id and creation date are kept.
"""

from __future__ import annotations

from sqlalchemy import Engine, Table, delete, select, update

from hadron.errors import EntityAlreadyExists, NoSuchEntity
from hadron.store import transactions
from hadron.store.records import Group, User, group_arn, user_arn
from hadron.store.schema import (
    access_keys,
    group_members,
    group_policies,
    group_policy_attachments,
    groups,
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
)
_GROUP_DEPENDENTS: tuple[Table, ...] = (group_members, group_policies, group_policy_attachments)


def _check_path(path: str) -> None:
    if not (path.startswith("/") and path.endswith("/")):
        raise ValueError("an IAM path starts and ends with '/'")


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
            where = (users.c.account_id == account_id, users.c.user_name_key == user_name.lower())
            row = conn.execute(select(users).where(*where).with_for_update()).one_or_none()
            if row is None:
                raise NoSuchEntity(f"The user with name {user_name} cannot be found.")
            name = new_user_name or row.user_name
            path = new_path or row.path
            new_key = name.lower()
            if new_key == row.user_name_key:
                conn.execute(update(users).where(*where).values(user_name=name, path=path))
            else:
                taken = conn.execute(
                    select(users.c.user_name_key).where(
                        users.c.account_id == account_id, users.c.user_name_key == new_key
                    )
                ).first()
                if taken is not None:
                    raise EntityAlreadyExists(f"User with name {name} already exists.")
                # The user id is unique: park the old row's id before inserting the new row.
                conn.execute(update(users).where(*where).values(user_id=f"~{row.user_id}"))
                conn.execute(
                    users.insert().values(
                        account_id=account_id,
                        user_name_key=new_key,
                        user_name=name,
                        user_id=row.user_id,
                        path=path,
                        created_at=row.created_at,
                    )
                )
                for table in _USER_DEPENDENTS:
                    conn.execute(
                        update(table)
                        .where(
                            table.c.account_id == account_id,
                            table.c.user_name_key == row.user_name_key,
                        )
                        .values(user_name_key=new_key)
                    )
                conn.execute(delete(users).where(*where))
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
            where = (
                groups.c.account_id == account_id,
                groups.c.group_name_key == group_name.lower(),
            )
            row = conn.execute(select(groups).where(*where).with_for_update()).one_or_none()
            if row is None:
                raise NoSuchEntity(f"The group with name {group_name} cannot be found.")
            name = new_group_name or row.group_name
            path = new_path or row.path
            new_key = name.lower()
            if new_key == row.group_name_key:
                conn.execute(update(groups).where(*where).values(group_name=name, path=path))
            else:
                taken = conn.execute(
                    select(groups.c.group_name_key).where(
                        groups.c.account_id == account_id, groups.c.group_name_key == new_key
                    )
                ).first()
                if taken is not None:
                    raise EntityAlreadyExists(f"Group with name {name} already exists.")
                conn.execute(update(groups).where(*where).values(group_id=f"~{row.group_id}"))
                conn.execute(
                    groups.insert().values(
                        account_id=account_id,
                        group_name_key=new_key,
                        group_name=name,
                        group_id=row.group_id,
                        path=path,
                        created_at=row.created_at,
                    )
                )
                for table in _GROUP_DEPENDENTS:
                    conn.execute(
                        update(table)
                        .where(
                            table.c.account_id == account_id,
                            table.c.group_name_key == row.group_name_key,
                        )
                        .values(group_name_key=new_key)
                    )
                conn.execute(delete(groups).where(*where))
        return Group(
            account_id=account_id,
            group_name=name,
            group_id=row.group_id,
            path=path,
            arn=group_arn(account_id, path, name),
            created_at=row.created_at,
        )
