"""Inline policies and managed-policy attachments of an IAM entity (a user, a group or a role), on
SQLAlchemy Core: one implementation, parameterised by an :class:`EntityKind` that names the
entity's tables, key column, quotas and the words of its error messages.

Layer 3 (store, edge). Spec: security.md §6 (operations, quotas, error codes). Used by
``hadron.store.iam`` (users), ``hadron.store.groups`` and ``hadron.store.roles``, whose public
methods delegate here; the rules are theirs: every function is one transaction, documents are
validated by the caller and stored exactly as submitted, inline policy names are case-sensitive,
attaching twice is a no-op and a customer managed ARN must exist in the account (an AWS managed
ARN is the caller's to check).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, update

from hadron.errors import DeleteConflict, LimitExceeded, NoSuchEntity
from hadron.iam import policy_size
from hadron.store import transactions
from hadron.store.policies import SqlPolicies, _policy_missing, split_policy_arn
from hadron.store.records import InlinePolicy

__all__ = [
    "EntityKind",
    "attach_policy",
    "delete_inline_policy",
    "detach_policy",
    "get_inline_policy",
    "list_attached_policies",
    "list_inline_policies",
    "put_inline_policy",
    "refuse_while_dependents",
]


def refuse_while_dependents(
    conn: Connection,
    account_id: str,
    key_column: str,
    key: str,
    checks: Sequence[tuple[Table, str]],
) -> None:
    """Raise DeleteConflict with the first check's message whose table still has rows for the
    entity (``key_column == key`` in ``account_id``): IAM refuses to delete a non-empty entity."""
    for table, message in checks:
        found = conn.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.account_id == account_id, table.c[key_column] == key)
        ).scalar_one()
        if found:
            raise DeleteConflict(message)


KeyOf = Callable[[Connection, str, str], str]
"""``(conn, account_id, entity_name) -> key``: locks the entity's row, or raises NoSuchEntity."""


@dataclass(frozen=True)
class EntityKind:
    """What differs between users, groups and roles for their policies."""

    noun: str
    """``"user"``, ``"group"`` or ``"role"``, as in the error messages."""
    quota_name: str
    """The attachment quota's name in its error message, e.g. ``"PoliciesPerUser"``."""
    key_column: str
    """The entity's name key column in both tables, e.g. ``"user_name_key"``."""
    inline: Table
    """Inline policies: account_id, the key column, policy_name, document."""
    attachments: Table
    """Attachments: account_id, the key column, policy_arn, attached_at."""
    max_inline_bytes: int
    """Quota: the aggregate size of the entity's inline policies (whitespace not counted)."""
    max_attached: int
    """Quota: managed policies attached to one entity."""
    key_of: KeyOf


def _owned(table: Table, kind: EntityKind, account_id: str, key: str) -> tuple[Any, Any]:
    return (table.c.account_id == account_id, table.c[kind.key_column] == key)


def put_inline_policy(
    engine: Engine, kind: EntityKind, account_id: str, name: str, policy_name: str, document: str
) -> None:
    """Create or replace an inline policy, within the entity's aggregate size quota."""
    table = kind.inline
    with transactions.write(engine) as conn:
        key = kind.key_of(conn, account_id, name)
        owned = _owned(table, kind, account_id, key)
        others = conn.execute(
            select(table.c.document).where(*owned, table.c.policy_name != policy_name)
        ).scalars()
        total = policy_size(document) + sum(policy_size(d) for d in others)
        if total > kind.max_inline_bytes:
            raise LimitExceeded(
                f"Maximum policy size of {kind.max_inline_bytes} bytes exceeded for {kind.noun} "
                f"{name}"
            )
        where = (*owned, table.c.policy_name == policy_name)
        replaced = conn.execute(update(table).where(*where).values(document=document))
        if replaced.rowcount == 0:
            conn.execute(
                table.insert().values(
                    {
                        "account_id": account_id,
                        kind.key_column: key,
                        "policy_name": policy_name,
                        "document": document,
                    }
                )
            )


def get_inline_policy(
    engine: Engine, kind: EntityKind, account_id: str, name: str, policy_name: str
) -> InlinePolicy | None:
    table = kind.inline
    with transactions.read(engine) as conn:
        key = kind.key_of(conn, account_id, name)
        document = conn.execute(
            select(table.c.document).where(
                *_owned(table, kind, account_id, key), table.c.policy_name == policy_name
            )
        ).scalar_one_or_none()
    return None if document is None else InlinePolicy(policy_name, document)


def list_inline_policies(engine: Engine, kind: EntityKind, account_id: str, name: str) -> list[str]:
    table = kind.inline
    with transactions.read(engine) as conn:
        key = kind.key_of(conn, account_id, name)
        names = conn.execute(
            select(table.c.policy_name)
            .where(*_owned(table, kind, account_id, key))
            .order_by(table.c.policy_name)
        ).scalars()
        return list(names)


def delete_inline_policy(
    engine: Engine, kind: EntityKind, account_id: str, name: str, policy_name: str
) -> None:
    table = kind.inline
    with transactions.write(engine) as conn:
        key = kind.key_of(conn, account_id, name)
        result = conn.execute(
            delete(table).where(
                *_owned(table, kind, account_id, key), table.c.policy_name == policy_name
            )
        )
        if result.rowcount != 1:
            raise NoSuchEntity(f"The {kind.noun} policy with name {policy_name} cannot be found.")


def attach_policy(
    engine: Engine, kind: EntityKind, account_id: str, name: str, arn: str, now: datetime
) -> None:
    """Attach a managed policy by ARN, within the entity's attachment quota."""
    table = kind.attachments
    with transactions.write(engine) as conn:
        key = kind.key_of(conn, account_id, name)
        parts = split_policy_arn(arn)
        if parts is None or (
            parts[0] != "aws" and SqlPolicies._policy_row(conn, account_id, arn) is None
        ):
            raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
        attached = set(
            conn.execute(
                select(table.c.policy_arn).where(*_owned(table, kind, account_id, key))
            ).scalars()
        )
        if arn in attached:
            return
        if len(attached) >= kind.max_attached:
            raise LimitExceeded(f"Cannot exceed quota for {kind.quota_name}: {kind.max_attached}")
        conn.execute(
            table.insert().values(
                {
                    "account_id": account_id,
                    kind.key_column: key,
                    "policy_arn": arn,
                    "attached_at": now,
                }
            )
        )


def detach_policy(engine: Engine, kind: EntityKind, account_id: str, name: str, arn: str) -> None:
    table = kind.attachments
    with transactions.write(engine) as conn:
        key = kind.key_of(conn, account_id, name)
        result = conn.execute(
            delete(table).where(*_owned(table, kind, account_id, key), table.c.policy_arn == arn)
        )
        if result.rowcount != 1:
            raise _policy_missing(arn)


def list_attached_policies(
    engine: Engine, kind: EntityKind, account_id: str, name: str
) -> list[str]:
    """The ARNs attached to the entity, in attachment order."""
    table = kind.attachments
    with transactions.read(engine) as conn:
        key = kind.key_of(conn, account_id, name)
        arns = conn.execute(
            select(table.c.policy_arn)
            .where(*_owned(table, kind, account_id, key))
            .order_by(table.c.attached_at, table.c.policy_arn)
        ).scalars()
        return list(arns)
