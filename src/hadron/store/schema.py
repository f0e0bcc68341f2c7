"""SQLAlchemy Core table definitions: the current shape of the database.

Layer 3 (store). This module holds the one :data:`metadata`, :class:`UtcDateTime` and the shared
and IAM tables (accounts, users, access keys, policies, groups, roles, instance profiles, MFA
devices); the EC2 tables are in :mod:`hadron.store.schema_ec2` and the Proton tables in
:mod:`hadron.store.schema_proton`, both on this same metadata. Migrations under
``migrations/versions`` build this shape step by step and never import these modules (a
migration must keep meaning what it meant when written); a test compares the migrated database
with the metadata so the two cannot drift apart.

Dialect-neutral on purpose (SQLite now, PostgreSQL later): no server defaults beyond literals, no
dialect types. Times are stored as UTC (see :class:`UtcDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UtcDateTime",
    "access_keys",
    "accounts",
    "group_members",
    "group_policies",
    "group_policy_attachments",
    "groups",
    "instance_profile_roles",
    "instance_profile_tags",
    "instance_profiles",
    "managed_policies",
    "meta",
    "metadata",
    "mfa_device_tags",
    "mfa_devices",
    "policy_tags",
    "policy_versions",
    "role_policies",
    "role_policy_attachments",
    "role_tags",
    "roles",
    "user_permissions_boundaries",
    "user_policies",
    "user_policy_attachments",
    "user_tags",
    "users",
]

# Deterministic constraint names, so later migrations can refer to them on every dialect.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC ``datetime`` in Python, whatever the database keeps.

    Binding a naive datetime is a programming error (it would be silently misread). SQLite has no
    time zone support, so the value is stored as naive UTC there; other dialects get an aware value
    for their ``TIMESTAMP WITH TIME ZONE`` column.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime bound to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - the impl type returns datetimes
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


meta = Table(
    "meta",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", String, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # IAM user names are unique case-insensitively but keep their case: the key is the lower-case
    # form, ``user_name`` the name as created.
    Column("user_name_key", String(64), primary_key=True),
    Column("user_name", String(64), nullable=False),
    Column("user_id", String(128), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("user_name_key", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # AES-GCM envelope from hadron.keys.seal; the plaintext secret is never stored.
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("last_used_service", String(64), nullable=True),
    Column("last_used_region", String(64), nullable=True),
    ForeignKeyConstraint(
        ["account_id", "user_name_key"],
        ["users.account_id", "users.user_name_key"],
        ondelete="CASCADE",
    ),
    CheckConstraint("status IN ('Active', 'Inactive')", name="status"),
    Index(None, "account_id", "user_name_key"),
)

# --- IAM policies (migration 0002) ---------------------------------------------------------------

# Customer managed policies. Names are unique case-insensitively per account (``policy_name_key``
# is the lower-case form). ``next_version`` numbers versions: ids are never reused.
managed_policies = Table(
    "managed_policies",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("policy_name_key", String(128), primary_key=True),
    Column("policy_name", String(128), nullable=False),
    Column("policy_id", String(128), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("description", String(1000), nullable=True),
    Column("default_version_id", String(32), nullable=False),
    Column("next_version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Versions of customer managed policies; documents are kept exactly as submitted (the simulator
# reports statement positions in the original text).
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("policy_name_key", String(128), primary_key=True),
    Column("version_id", String(32), primary_key=True),
    Column("document", String, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "policy_name_key"],
        ["managed_policies.account_id", "managed_policies.policy_name_key"],
        ondelete="CASCADE",
    ),
)

# Inline policies embedded in a user; names are case-sensitive, as in IAM.
user_policies = Table(
    "user_policies",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("user_name_key", String(64), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", String, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "user_name_key"],
        ["users.account_id", "users.user_name_key"],
        ondelete="CASCADE",
    ),
)

# Managed policies attached to a user, by ARN: customer managed (``arn:aws:iam::<acct>:policy/…``)
# or AWS managed (``arn:aws:iam::aws:policy/…``, not in ``managed_policies``).
user_policy_attachments = Table(
    "user_policy_attachments",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("user_name_key", String(64), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
    Column("attached_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "user_name_key"],
        ["users.account_id", "users.user_name_key"],
        ondelete="CASCADE",
    ),
    Index(None, "account_id", "policy_arn"),
)

# --- IAM groups and permissions boundaries (migration 0003) ---------------------------------------

# Groups: names unique case-insensitively per account (``group_name_key`` is the lower-case form).
groups = Table(
    "groups",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("group_name_key", String(128), primary_key=True),
    Column("group_name", String(128), nullable=False),
    Column("group_id", String(128), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Which users belong to which groups.
group_members = Table(
    "group_members",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("group_name_key", String(128), primary_key=True),
    Column("user_name_key", String(64), primary_key=True),
    Column("added_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "group_name_key"],
        ["groups.account_id", "groups.group_name_key"],
        ondelete="CASCADE",
    ),
    ForeignKeyConstraint(
        ["account_id", "user_name_key"],
        ["users.account_id", "users.user_name_key"],
        ondelete="CASCADE",
    ),
    Index(None, "account_id", "user_name_key"),
)

# Inline policies embedded in a group; names are case-sensitive, as in IAM.
group_policies = Table(
    "group_policies",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("group_name_key", String(128), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", String, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "group_name_key"],
        ["groups.account_id", "groups.group_name_key"],
        ondelete="CASCADE",
    ),
)

# Managed policies attached to a group, by ARN (as ``user_policy_attachments``).
group_policy_attachments = Table(
    "group_policy_attachments",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("group_name_key", String(128), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
    Column("attached_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "group_name_key"],
        ["groups.account_id", "groups.group_name_key"],
        ondelete="CASCADE",
    ),
    Index(None, "account_id", "policy_arn"),
)

# A user's permissions boundary: one managed policy ARN (customer or AWS managed).
user_permissions_boundaries = Table(
    "user_permissions_boundaries",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("user_name_key", String(64), primary_key=True),
    Column("policy_arn", String(2048), nullable=False),
    ForeignKeyConstraint(
        ["account_id", "user_name_key"],
        ["users.account_id", "users.user_name_key"],
        ondelete="CASCADE",
    ),
    Index(None, "account_id", "policy_arn"),
)

# --- IAM roles and tags (migration 0004) ---------------------------------------------------------

# Roles: names unique case-insensitively per account (``role_name_key`` is the lower-case form).
# The trust policy is kept exactly as submitted; ``permissions_boundary`` is a managed policy ARN.
roles = Table(
    "roles",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role_name_key", String(64), primary_key=True),
    Column("role_name", String(64), nullable=False),
    Column("role_id", String(128), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("description", String(1000), nullable=True),
    Column("max_session_duration", Integer, nullable=False),
    Column("trust_policy", String, nullable=False),
    Column("permissions_boundary", String(2048), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "account_id", "permissions_boundary"),
)

# Inline policies embedded in a role; names are case-sensitive, as in IAM.
role_policies = Table(
    "role_policies",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("role_name_key", String(64), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", String, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "role_name_key"],
        ["roles.account_id", "roles.role_name_key"],
        ondelete="CASCADE",
    ),
)

# Managed policies attached to a role, by ARN (as ``user_policy_attachments``).
role_policy_attachments = Table(
    "role_policy_attachments",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("role_name_key", String(64), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
    Column("attached_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "role_name_key"],
        ["roles.account_id", "roles.role_name_key"],
        ondelete="CASCADE",
    ),
    Index(None, "account_id", "policy_arn"),
)

# Tags of a user / a role: keys unique case-insensitively (``tag_key_lower``), case preserved.
user_tags = Table(
    "user_tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("user_name_key", String(64), primary_key=True),
    Column("tag_key_lower", String(128), primary_key=True),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    ForeignKeyConstraint(
        ["account_id", "user_name_key"],
        ["users.account_id", "users.user_name_key"],
        ondelete="CASCADE",
    ),
)

role_tags = Table(
    "role_tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("role_name_key", String(64), primary_key=True),
    Column("tag_key_lower", String(128), primary_key=True),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    ForeignKeyConstraint(
        ["account_id", "role_name_key"],
        ["roles.account_id", "roles.role_name_key"],
        ondelete="CASCADE",
    ),
)

# --- IAM extras (migration 0005): policy tags, instance profiles --------------------------------

# Tags of a customer managed policy (same rules as user and role tags).
policy_tags = Table(
    "policy_tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("policy_name_key", String(128), primary_key=True),
    Column("tag_key_lower", String(128), primary_key=True),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    ForeignKeyConstraint(
        ["account_id", "policy_name_key"],
        ["managed_policies.account_id", "managed_policies.policy_name_key"],
        ondelete="CASCADE",
    ),
)

# Instance profiles. Names are unique case-insensitively per account (``profile_name_key``).
instance_profiles = Table(
    "instance_profiles",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("profile_name_key", String(128), primary_key=True),
    Column("profile_name", String(128), nullable=False),
    Column("profile_id", String(128), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# The role of an instance profile (IAM allows one). A role in a profile cannot be deleted (no
# cascade from roles: DeleteRole refuses first).
instance_profile_roles = Table(
    "instance_profile_roles",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("profile_name_key", String(128), primary_key=True),
    Column("role_name_key", String(64), primary_key=True),
    Column("added_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "profile_name_key"],
        ["instance_profiles.account_id", "instance_profiles.profile_name_key"],
        ondelete="CASCADE",
    ),
    ForeignKeyConstraint(
        ["account_id", "role_name_key"],
        ["roles.account_id", "roles.role_name_key"],
    ),
    Index(None, "account_id", "role_name_key"),
)

instance_profile_tags = Table(
    "instance_profile_tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("profile_name_key", String(128), primary_key=True),
    Column("tag_key_lower", String(128), primary_key=True),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    ForeignKeyConstraint(
        ["account_id", "profile_name_key"],
        ["instance_profiles.account_id", "instance_profiles.profile_name_key"],
        ondelete="CASCADE",
    ),
)

# --- IAM virtual MFA devices (migration 0013) ---------------------------------------------------

# Virtual MFA devices. ``serial_key`` is the lower-cased ``<path><name>`` (the serial number is
# ``arn:aws:iam::<account>:mfa<path><name>``; unique case-insensitively per account). The TOTP seed
# is sealed like access-key secrets (``hadron.keys.seal``; AAD names the account and serial key).
# A device is assigned to at most one user (``user_name_key``); no cascade from users: DeleteUser
# refuses while a device is assigned. ``drift`` is the step offset found by Enable/Resync.
mfa_devices = Table(
    "mfa_devices",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("serial_key", String(768), primary_key=True),
    Column("device_name", String(256), nullable=False),
    Column("path", String(512), nullable=False),
    Column("seed_sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("user_name_key", String(64), nullable=True),
    Column("enabled_at", UtcDateTime, nullable=True),
    Column("drift", Integer, nullable=False),
    # The last TOTP time step whose code was accepted: each code is good once (RFC 6238 §5.2).
    Column("last_step", Integer, nullable=True),
    ForeignKeyConstraint(
        ["account_id", "user_name_key"],
        ["users.account_id", "users.user_name_key"],
    ),
    Index(None, "account_id", "user_name_key"),
)

mfa_device_tags = Table(
    "mfa_device_tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("serial_key", String(768), primary_key=True),
    Column("tag_key_lower", String(128), primary_key=True),
    Column("tag_key", String(128), nullable=False),
    Column("tag_value", String(256), nullable=False),
    ForeignKeyConstraint(
        ["account_id", "serial_key"],
        ["mfa_devices.account_id", "mfa_devices.serial_key"],
        ondelete="CASCADE",
    ),
)
