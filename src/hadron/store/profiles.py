"""The instance-profile repository (profiles, their role, their tags) and the tags of customer
managed policies, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: security.md §4.3 (quotas), §6 (operations, error codes). Same rules
as ``hadron.store.roles``: every public method is one transaction; names are unique
case-insensitively; tag keys are unique case-insensitively with their case preserved (a later
value and spelling replaces the earlier one), at most 50 per entity; validating a tag's
characters and lengths is the caller's job (``hadron.iam.tags``).

An instance profile holds at most one role (IAM: "an instance profile can contain only one role,
and this quota cannot be increased"); a role in a profile cannot be deleted
(``SqlRoles.delete_role`` checks :func:`role_in_profiles`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, select

from hadron.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.keys import RNG, generate_unique_id
from hadron.store import transactions
from hadron.store.policies import SqlPolicies
from hadron.store.records import InstanceProfile, Role, instance_profile_arn
from hadron.store.roles import SqlRoles, _merge_tags, _read_tags, _remove_tags, _role
from hadron.store.schema import (
    instance_profile_roles,
    instance_profile_tags,
    instance_profiles,
    policy_tags,
    roles,
)

__all__ = ["MAX_ROLES_PER_INSTANCE_PROFILE", "SqlProfiles", "role_in_profiles"]

MAX_ROLES_PER_INSTANCE_PROFILE = 1
"""IAM quota (not adjustable): roles in one instance profile."""

Tags = Sequence[tuple[str, str]]


def _profile_missing(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"Instance Profile {name} cannot be found.")


def role_in_profiles(conn: Connection, account_id: str, role_key: str) -> bool:
    """Whether the role (lower-case name) belongs to an instance profile."""
    found = conn.execute(
        select(instance_profile_roles.c.profile_name_key).where(
            instance_profile_roles.c.account_id == account_id,
            instance_profile_roles.c.role_name_key == role_key,
        )
    ).first()
    return found is not None


class SqlProfiles:
    """Instance-profile and policy-tag methods of the SQL store; mixed into ``SqlStore``."""

    _engine: Engine

    # --- instance profiles ------------------------------------------------------------------------

    def create_instance_profile(
        self,
        account_id: str,
        profile_name: str,
        path: str,
        now: datetime,
        rng: RNG = os.urandom,
        *,
        tags: Tags = (),
    ) -> InstanceProfile:
        if not (path.startswith("/") and path.endswith("/")):
            raise ValueError("an IAM path starts and ends with '/'")
        profile_id = generate_unique_id("AIPA", rng)
        key = profile_name.lower()
        with transactions.write(self._engine) as conn:
            if self._profile_row(conn, account_id, profile_name) is not None:
                raise EntityAlreadyExists(f"Instance Profile {profile_name} already exists.")
            conn.execute(
                instance_profiles.insert().values(
                    account_id=account_id,
                    profile_name_key=key,
                    profile_name=profile_name,
                    profile_id=profile_id,
                    path=path,
                    created_at=now,
                )
            )
            _merge_tags(conn, instance_profile_tags, "profile_name_key", account_id, key, tags)
            row = self._profile_row(conn, account_id, profile_name)
            if row is None:  # pragma: no cover - inserted above, in this transaction
                raise _profile_missing(profile_name)
            return self._profile(conn, row)

    def get_instance_profile(self, account_id: str, profile_name: str) -> InstanceProfile | None:
        """The profile with its role and tags, or ``None``."""
        with transactions.read(self._engine) as conn:
            row = self._profile_row(conn, account_id, profile_name)
            return None if row is None else self._profile(conn, row)

    def list_instance_profiles(
        self, account_id: str, path_prefix: str = "/"
    ) -> list[InstanceProfile]:
        """The account's profiles whose path starts with ``path_prefix``, by name."""
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(instance_profiles)
                .where(instance_profiles.c.account_id == account_id)
                .order_by(instance_profiles.c.profile_name_key)
            ).all()
            return [self._profile(conn, r) for r in rows if r.path.startswith(path_prefix)]

    def list_instance_profiles_for_role(
        self, account_id: str, role_name: str
    ) -> list[InstanceProfile]:
        """The profiles holding the role (``NoSuchEntity`` for an unknown role), by name."""
        with transactions.read(self._engine) as conn:
            key = SqlRoles._role_key(conn, account_id, role_name)
            names = conn.execute(
                select(instance_profile_roles.c.profile_name_key)
                .where(
                    instance_profile_roles.c.account_id == account_id,
                    instance_profile_roles.c.role_name_key == key,
                )
                .order_by(instance_profile_roles.c.profile_name_key)
            ).scalars()
            found = []
            for name in list(names):
                row = self._profile_row(conn, account_id, name)
                if row is not None:
                    found.append(self._profile(conn, row))
            return found

    def delete_instance_profile(self, account_id: str, profile_name: str) -> None:
        """Delete a profile that holds no role (its tags go with it)."""
        with transactions.write(self._engine) as conn:
            key = self._profile_key(conn, account_id, profile_name)
            if self._role_count(conn, account_id, key):
                raise DeleteConflict(
                    "Cannot delete entity, must remove roles from instance profile first."
                )
            conn.execute(
                delete(instance_profiles).where(
                    instance_profiles.c.account_id == account_id,
                    instance_profiles.c.profile_name_key == key,
                )
            )

    def add_role_to_instance_profile(
        self, account_id: str, profile_name: str, role_name: str, now: datetime
    ) -> None:
        with transactions.write(self._engine) as conn:
            key = self._profile_key(conn, account_id, profile_name)
            role_key = SqlRoles._role_key(conn, account_id, role_name)
            if self._role_count(conn, account_id, key) >= MAX_ROLES_PER_INSTANCE_PROFILE:
                raise LimitExceeded(
                    "Cannot exceed quota for InstanceSessionsPerInstanceProfile: "
                    f"{MAX_ROLES_PER_INSTANCE_PROFILE}"
                )
            conn.execute(
                instance_profile_roles.insert().values(
                    account_id=account_id,
                    profile_name_key=key,
                    role_name_key=role_key,
                    added_at=now,
                )
            )

    def remove_role_from_instance_profile(
        self, account_id: str, profile_name: str, role_name: str
    ) -> None:
        with transactions.write(self._engine) as conn:
            key = self._profile_key(conn, account_id, profile_name)
            role_key = SqlRoles._role_key(conn, account_id, role_name)
            removed = conn.execute(
                delete(instance_profile_roles).where(
                    instance_profile_roles.c.account_id == account_id,
                    instance_profile_roles.c.profile_name_key == key,
                    instance_profile_roles.c.role_name_key == role_key,
                )
            ).rowcount
            if not removed:
                raise NoSuchEntity(
                    f"The role with name {role_name} cannot be found in instance profile "
                    f"{profile_name}."
                )

    def tag_instance_profile(self, account_id: str, profile_name: str, tags: Tags) -> None:
        with transactions.write(self._engine) as conn:
            key = self._profile_key(conn, account_id, profile_name)
            _merge_tags(conn, instance_profile_tags, "profile_name_key", account_id, key, tags)

    def untag_instance_profile(
        self, account_id: str, profile_name: str, tag_keys: Sequence[str]
    ) -> None:
        with transactions.write(self._engine) as conn:
            key = self._profile_key(conn, account_id, profile_name)
            _remove_tags(conn, instance_profile_tags, "profile_name_key", account_id, key, tag_keys)

    def list_instance_profile_tags(
        self, account_id: str, profile_name: str
    ) -> list[tuple[str, str]]:
        with transactions.read(self._engine) as conn:
            key = self._profile_key(conn, account_id, profile_name)
            rows = _read_tags(conn, instance_profile_tags, "profile_name_key", account_id, key)
        return [(k, v) for k, v in rows]

    @staticmethod
    def _profile_row(conn: Connection, account_id: str, profile_name: str) -> Row[Any] | None:
        return conn.execute(
            select(instance_profiles).where(
                instance_profiles.c.account_id == account_id,
                instance_profiles.c.profile_name_key == profile_name.lower(),
            )
        ).one_or_none()

    @staticmethod
    def _profile_key(conn: Connection, account_id: str, profile_name: str) -> str:
        key = profile_name.lower()
        found = conn.execute(
            select(instance_profiles.c.profile_name_key)
            .where(
                instance_profiles.c.account_id == account_id,
                instance_profiles.c.profile_name_key == key,
            )
            .with_for_update()
        ).first()
        if found is None:
            raise _profile_missing(profile_name)
        return key

    @staticmethod
    def _role_count(conn: Connection, account_id: str, key: str) -> int:
        count: int = conn.execute(
            select(func.count())
            .select_from(instance_profile_roles)
            .where(
                instance_profile_roles.c.account_id == account_id,
                instance_profile_roles.c.profile_name_key == key,
            )
        ).scalar_one()
        return count

    @staticmethod
    def _profile(conn: Connection, row: Row[Any]) -> InstanceProfile:
        role_rows = conn.execute(
            select(roles)
            .join(
                instance_profile_roles,
                (instance_profile_roles.c.account_id == roles.c.account_id)
                & (instance_profile_roles.c.role_name_key == roles.c.role_name_key),
            )
            .where(
                instance_profile_roles.c.account_id == row.account_id,
                instance_profile_roles.c.profile_name_key == row.profile_name_key,
            )
            .order_by(instance_profile_roles.c.added_at)
        ).all()
        members: list[Role] = [
            _role(r, SqlRoles._tags_of(conn, r.account_id, r.role_name_key)) for r in role_rows
        ]
        tags = _read_tags(
            conn, instance_profile_tags, "profile_name_key", row.account_id, row.profile_name_key
        )
        return InstanceProfile(
            account_id=row.account_id,
            profile_name=row.profile_name,
            profile_id=row.profile_id,
            path=row.path,
            arn=instance_profile_arn(row.account_id, row.path, row.profile_name),
            created_at=row.created_at,
            roles=tuple(members),
            tags=tuple((k, v) for k, v in tags),
        )

    # --- tags of customer managed policies --------------------------------------------------------

    def tag_policy(self, account_id: str, arn: str, tags: Tags) -> None:
        with transactions.write(self._engine) as conn:
            key = self._policy_key(conn, account_id, arn)
            _merge_tags(conn, policy_tags, "policy_name_key", account_id, key, tags)

    def untag_policy(self, account_id: str, arn: str, tag_keys: Sequence[str]) -> None:
        with transactions.write(self._engine) as conn:
            key = self._policy_key(conn, account_id, arn)
            _remove_tags(conn, policy_tags, "policy_name_key", account_id, key, tag_keys)

    def list_policy_tags(self, account_id: str, arn: str) -> list[tuple[str, str]]:
        with transactions.read(self._engine) as conn:
            key = self._policy_key(conn, account_id, arn)
            rows = _read_tags(conn, policy_tags, "policy_name_key", account_id, key)
        return [(k, v) for k, v in rows]

    @staticmethod
    def _policy_key(conn: Connection, account_id: str, arn: str) -> str:
        row = SqlPolicies._policy_row(conn, account_id, arn)
        if row is None:
            raise NoSuchEntity(f"Policy {arn} was not found.")
        key: str = row.policy_name_key
        return key
