"""The IAM repository: user listing and deletion, user inline policies and user policy
attachments, on SQLAlchemy Core. Customer managed policies and their versions live in
``hadron.store.policies`` (``SqlPolicies``; ``split_policy_arn`` is re-exported here).

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

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, Engine, delete, select

from hadron.store import entity_policies, transactions
from hadron.store.credentials import user_missing
from hadron.store.entity_policies import EntityKind, refuse_while_dependents
from hadron.store.policies import SqlPolicies, split_policy_arn
from hadron.store.records import (
    MAX_MANAGED_POLICIES_PER_USER,
    InlinePolicy,
    User,
    UserPolicies,
    user_from_row,
)
from hadron.store.schema import (
    access_keys,
    group_members,
    mfa_devices,
    policy_versions,
    user_policies,
    user_policy_attachments,
    users,
)

__all__ = ["MAX_USER_INLINE_BYTES", "SqlIam", "split_policy_arn"]

MAX_USER_INLINE_BYTES = 2048
"""IAM quota: the aggregate size of a user's inline policies (whitespace not counted)."""


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
        return [user_from_row(r) for r in rows if r.path.startswith(path_prefix)]

    def delete_user(self, account_id: str, user_name: str) -> None:
        """Delete a user that has no access keys, inline policies or attached policies."""
        with transactions.write(self._engine) as conn:
            key = self._user_key(conn, account_id, user_name)
            checks = (
                (access_keys, "Cannot delete entity, must delete access keys first."),
                (user_policies, "Cannot delete entity, must delete policies first."),
                (user_policy_attachments, "Cannot delete entity, must detach all policies first."),
                (group_members, "Cannot delete entity, must remove user from all groups first."),
                (mfa_devices, "Cannot delete entity, must delete MFA device first."),
            )
            refuse_while_dependents(conn, account_id, "user_name_key", key, checks)
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
            raise user_missing(user_name)
        return key

    # --- user inline policies and attachments (``hadron.store.entity_policies``) ------------------

    def put_user_policy(
        self, account_id: str, user_name: str, policy_name: str, document: str
    ) -> None:
        """Create or replace an inline policy, within the user's aggregate size quota."""
        entity_policies.put_inline_policy(
            self._engine, USER_KIND, account_id, user_name, policy_name, document
        )

    def get_user_policy(
        self, account_id: str, user_name: str, policy_name: str
    ) -> InlinePolicy | None:
        return entity_policies.get_inline_policy(
            self._engine, USER_KIND, account_id, user_name, policy_name
        )

    def list_user_policies(self, account_id: str, user_name: str) -> list[str]:
        return entity_policies.list_inline_policies(self._engine, USER_KIND, account_id, user_name)

    def delete_user_policy(self, account_id: str, user_name: str, policy_name: str) -> None:
        entity_policies.delete_inline_policy(
            self._engine, USER_KIND, account_id, user_name, policy_name
        )

    def attach_user_policy(self, account_id: str, user_name: str, arn: str, now: datetime) -> None:
        """Attach a managed policy by ARN. A customer managed ARN must exist in ``account_id``;
        an AWS managed ARN is the caller's to check. Attaching twice is a no-op, as in IAM."""
        entity_policies.attach_policy(self._engine, USER_KIND, account_id, user_name, arn, now)

    def detach_user_policy(self, account_id: str, user_name: str, arn: str) -> None:
        entity_policies.detach_policy(self._engine, USER_KIND, account_id, user_name, arn)

    def list_attached_user_policies(self, account_id: str, user_name: str) -> list[str]:
        """The ARNs attached to the user, in attachment order."""
        return entity_policies.list_attached_policies(
            self._engine, USER_KIND, account_id, user_name
        )

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
                row = SqlPolicies._policy_row(conn, account_id, arn)
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


USER_KIND: Final = EntityKind(
    noun="user",
    quota_name="PoliciesPerUser",
    key_column="user_name_key",
    inline=user_policies,
    attachments=user_policy_attachments,
    max_inline_bytes=MAX_USER_INLINE_BYTES,
    max_attached=MAX_MANAGED_POLICIES_PER_USER,
    key_of=SqlIam._user_key,
)
"""Users' inline policies and attachments (``hadron.store.entity_policies``)."""
