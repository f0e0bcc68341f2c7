"""SQLAlchemy Core table definitions: the current shape of the database.

Layer 3 (store). Migrations under ``migrations/versions`` build this shape step by step and never
import this module (a migration must keep meaning what it meant when written); a test compares
the migrated database with this metadata so the two cannot drift apart.

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
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UtcDateTime",
    "access_keys",
    "accounts",
    "ec2_network_interfaces",
    "ec2_security_group_rules",
    "ec2_security_groups",
    "ec2_subnets",
    "ec2_tags",
    "ec2_vpc_endpoint_groups",
    "ec2_vpc_endpoints",
    "ec2_vpcs",
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
    "proton_account_settings",
    "proton_components",
    "proton_deployment_outputs",
    "proton_deployments",
    "proton_environment_account_connections",
    "proton_environments",
    "proton_idempotency",
    "proton_repositories",
    "proton_service_instances",
    "proton_service_pipelines",
    "proton_service_sync_configs",
    "proton_services",
    "proton_tags",
    "proton_template_bundles",
    "proton_template_sync_configs",
    "proton_template_versions",
    "proton_templates",
    "proton_tombstones",
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

# --- EC2: VPCs, subnets, security groups, VPC endpoints (migration 0007) -------------------------
# Ids are global (``vpc-…``, ``subnet-…``, ``sg-…``, ``sgr-…``, ``vpce-…``, ``eni-…``); every
# resource belongs to one account and region. Addresses from the endpoint address pool (the
# VPC resolver's and each endpoint interface's) are unique across all accounts: a listener binds
# to them.

ec2_vpcs = Table(
    "ec2_vpcs",
    metadata,
    Column("vpc_id", String(32), primary_key=True),
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("region", String(32), nullable=False),
    Column("cidr_block", String(18), nullable=False),
    Column("resolver_address", String(15), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "account_id", "region"),
)

ec2_subnets = Table(
    "ec2_subnets",
    metadata,
    Column("subnet_id", String(32), primary_key=True),
    Column("vpc_id", String(32), ForeignKey("ec2_vpcs.vpc_id"), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("cidr_block", String(18), nullable=False),
    Column("availability_zone", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "vpc_id"),
    Index(None, "account_id", "region"),
)

ec2_security_groups = Table(
    "ec2_security_groups",
    metadata,
    Column("group_id", String(32), primary_key=True),
    Column("vpc_id", String(32), ForeignKey("ec2_vpcs.vpc_id"), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("group_name", String(255), nullable=False),
    Column("description", String(255), nullable=False),
    UniqueConstraint("vpc_id", "group_name"),
    Index(None, "account_id", "region"),
)

# Inbound rules: a CIDR (``cidr_ipv4``) or another group of the VPC (``referenced_group_id``).
ec2_security_group_rules = Table(
    "ec2_security_group_rules",
    metadata,
    Column("rule_id", String(32), primary_key=True),
    Column(
        "group_id",
        String(32),
        ForeignKey("ec2_security_groups.group_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("ip_protocol", String(16), nullable=False),
    Column("from_port", Integer, nullable=True),
    Column("to_port", Integer, nullable=True),
    Column("cidr_ipv4", String(18), nullable=True),
    Column("referenced_group_id", String(32), nullable=True),
    Column("description", String(255), nullable=True),
    Index(None, "group_id"),
    Index(None, "referenced_group_id"),
)

ec2_vpc_endpoints = Table(
    "ec2_vpc_endpoints",
    metadata,
    Column("vpc_endpoint_id", String(32), primary_key=True),
    Column("vpc_id", String(32), ForeignKey("ec2_vpcs.vpc_id"), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("service_name", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    Column("private_dns_enabled", Integer, nullable=False),
    Column("policy_document", String, nullable=False),
    Column("dns_suffix", String(8), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("client_token", String(255), nullable=True),
    # The request a client token was first used with (IdempotentParameterMismatch otherwise).
    Column("request_fingerprint", String(64), nullable=True),
    UniqueConstraint("account_id", "client_token"),
    Index(None, "vpc_id"),
    Index(None, "account_id", "region"),
)

ec2_vpc_endpoint_groups = Table(
    "ec2_vpc_endpoint_groups",
    metadata,
    Column(
        "vpc_endpoint_id",
        String(32),
        ForeignKey("ec2_vpc_endpoints.vpc_endpoint_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("group_id", String(32), ForeignKey("ec2_security_groups.group_id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Index(None, "group_id"),
)

# One requester-managed interface per (endpoint, subnet); ``private_ip`` is its pool address.
ec2_network_interfaces = Table(
    "ec2_network_interfaces",
    metadata,
    Column("network_interface_id", String(32), primary_key=True),
    Column(
        "vpc_endpoint_id",
        String(32),
        ForeignKey("ec2_vpc_endpoints.vpc_endpoint_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("subnet_id", String(32), ForeignKey("ec2_subnets.subnet_id"), nullable=False),
    Column("private_ip", String(15), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("vpc_endpoint_id", "subnet_id"),
    Index(None, "subnet_id"),
)

# Tags of any EC2 resource above, by id; keys are case-sensitive in EC2.
ec2_tags = Table(
    "ec2_tags",
    metadata,
    Column("resource_id", String(32), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
)

# --- Proton templates, versions, tags, settings (migration 0006) ----------------------------------

# Environment and service templates (``kind``), unique by name per account and region.
# ``request_hash`` fingerprints the create request (proton.md §1.4: an identical retry of an
# unmodified template returns it).
proton_templates = Table(
    "proton_templates",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("display_name", String(100), nullable=True),
    Column("description", String(500), nullable=True),
    Column("encryption_key", String(200), nullable=True),
    # ``provisioning`` (environment) or ``pipelineProvisioning`` (service): CUSTOMER_MANAGED|NULL.
    Column("provisioning", String(32), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('environment', 'service')", name="kind"),
)

_PROTON_VERSION_KEY = ["account_id", "region", "kind", "template_name", "major", "minor"]
_PROTON_KEY_LENGTHS = {"account_id": 12, "region": 32, "kind": 16, "template_name": 100}

# Template versions. ``schema`` is the bundle's schema.yaml text and ``input_schemas`` the JSON
# Schemas derived from it (JSON text), both set when registration succeeds; ``compatible``
# (service templates: JSON list of [templateName, majorVersion]) and ``component_sources`` (JSON
# list) are JSON text.
proton_template_versions = Table(
    "proton_template_versions",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("template_name", String(100), primary_key=True),
    Column("major", Integer, primary_key=True),
    Column("minor", Integer, primary_key=True),
    Column("status", String(32), nullable=False),
    Column("status_message", String, nullable=True),
    Column("description", String(500), nullable=True),
    Column("schema", String, nullable=True),
    Column("input_schemas", String, nullable=True),
    Column("source_bucket", String(63), nullable=False),
    Column("source_key", String(1024), nullable=False),
    Column("compatible", String, nullable=True),
    Column("component_sources", String, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "region", "kind", "template_name"],
        [
            "proton_templates.account_id",
            "proton_templates.region",
            "proton_templates.kind",
            "proton_templates.name",
        ],
        name="fk_proton_template_versions_template",
        ondelete="CASCADE",
    ),
    CheckConstraint(
        "status IN ('REGISTRATION_IN_PROGRESS', 'REGISTRATION_FAILED', 'DRAFT', 'PUBLISHED')",
        name="status",
    ),
    Index(None, "status"),
)

# The validated bundle (tar.gz bytes) of a registered version, copied at registration as Proton
# does, so later changes to the source object do not change the version.
proton_template_bundles = Table(
    "proton_template_bundles",
    metadata,
    *(
        Column(
            c,
            Integer if c in ("major", "minor") else String(_PROTON_KEY_LENGTHS[c]),
            primary_key=True,
        )
        for c in _PROTON_VERSION_KEY
    ),
    Column("bundle", LargeBinary, nullable=False),
    ForeignKeyConstraint(
        _PROTON_VERSION_KEY,
        [f"proton_template_versions.{c}" for c in _PROTON_VERSION_KEY],
        name="fk_proton_template_bundles_version",
        ondelete="CASCADE",
    ),
)

# clientToken records (proton.md §1.4): the same token with the same request within 8 hours
# returns the resource it created (``resource_arn``); with a different request it is refused.
proton_idempotency = Table(
    "proton_idempotency",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region", String(32), primary_key=True),
    Column("operation", String(64), primary_key=True),
    Column("client_token", String(64), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("resource_arn", String(1024), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Tags of any Proton resource, by ARN; keys are case-sensitive (proton.md §1.5).
proton_tags = Table(
    "proton_tags",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("resource_arn", String(1024), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
)

# ARNs deleted recently: an idempotent delete retried within 8 hours answers success.
proton_tombstones = Table(
    "proton_tombstones",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("resource_arn", String(1024), primary_key=True),
    Column("deleted_at", UtcDateTime, nullable=False),
)

# Proton account settings (one row per account and region once set).
proton_account_settings = Table(
    "proton_account_settings",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region", String(32), primary_key=True),
    Column("pipeline_service_role_arn", String(2048), nullable=True),
    Column("pipeline_codebuild_role_arn", String(2048), nullable=True),
    Column("repository_provider", String(32), nullable=True),
    Column("repository_name", String(100), nullable=True),
    Column("repository_branch", String(200), nullable=True),
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

# --- Proton environments and deployments (migration 0008) -----------------------------------------

# Environments (proton.md §2.5), unique by name per account and region. ``spec`` is the caller's
# YAML; ``inputs`` the validated inputs with defaults (JSON text). The template version is the
# one last deployed or being deployed. ``request_hash`` fingerprints the create request (§1.4).
proton_environments = Table(
    "proton_environments",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region", String(32), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("description", String(500), nullable=True),
    Column("template_name", String(100), nullable=False),
    Column("template_major", Integer, nullable=False),
    Column("template_minor", Integer, nullable=False),
    Column("spec", String, nullable=True),
    Column("inputs", String, nullable=False),
    Column("deployment_status", String(32), nullable=False),
    Column("deployment_status_message", String, nullable=True),
    Column("proton_service_role_arn", String(2048), nullable=True),
    Column("codebuild_role_arn", String(2048), nullable=True),
    Column("component_role_arn", String(2048), nullable=True),
    Column("environment_account_connection_id", String(36), nullable=True),
    Column("provisioning", String(32), nullable=True),
    Column("repository_provider", String(32), nullable=True),
    Column("repository_name", String(100), nullable=True),
    Column("repository_branch", String(200), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    Column("last_deployment_attempted_at", UtcDateTime, nullable=False),
    Column("last_deployment_succeeded_at", UtcDateTime, nullable=False),
    Column("last_attempted_deployment_id", String(36), nullable=True),
    Column("last_succeeded_deployment_id", String(36), nullable=True),
    # The environment account of an environment provisioned through an environment account
    # connection (migration 0012); kept when that connection is deleted.
    Column("environment_account_id", String(12), nullable=True),
    Index(None, "template_name", "template_major", "template_minor"),
)

# Deployments (proton.md §2.16): one per create/update/delete that provisions. ``action`` is
# DEPLOY or DELETE, ``engine`` how it is provisioned (a manifest's rendering engine or
# CUSTOMER_MANAGED); ``initial_state``/``target_state`` are the model's DeploymentState (JSON).
proton_deployments = Table(
    "proton_deployments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("region", String(32), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_arn", String(1024), nullable=False),
    Column("target_created_at", UtcDateTime, nullable=False),
    Column("environment_name", String(100), nullable=False),
    Column("action", String(16), nullable=False),
    Column("engine", String(32), nullable=False),
    Column("deployment_status", String(32), nullable=False),
    Column("deployment_status_message", String, nullable=True),
    Column("initial_state", String, nullable=True),
    Column("target_state", String, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("last_attempted_deployment_id", String(36), nullable=True),
    Column("last_succeeded_deployment_id", String(36), nullable=True),
    # Set for COMPONENT deployments (migration 0011).
    Column("component_name", String(100), nullable=True),
    # Services, instances and pipelines (migration 0010): the service of a SERVICE_INSTANCE or
    # SERVICE_PIPELINE deployment, and the instance of a SERVICE_INSTANCE one.
    Column("service_name", String(100), nullable=True),
    Column("service_instance_name", String(100), nullable=True),
    Index(None, "account_id", "region", "environment_name"),
    Index(None, "deployment_status"),
)

# Outputs recorded by a deployment (NotifyResourceDeploymentStatusChange); a resource's outputs
# are those of its last succeeded deployment (proton.md §2.15).
proton_deployment_outputs = Table(
    "proton_deployment_outputs",
    metadata,
    Column(
        "deployment_id",
        String(36),
        ForeignKey("proton_deployments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("output_key", String(1024), primary_key=True),
    Column("value_string", String(1024), nullable=False),
)

# --- Proton repositories and sync configurations (migration 0009) -------------------------------

# Linked repositories, keyed by (provider, name) per account and region (proton.md §2.10).
proton_repositories = Table(
    "proton_repositories",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region", String(32), primary_key=True),
    Column("provider", String(32), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("connection_arn", String(200), nullable=False),
    Column("encryption_key", String(200), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# One template sync configuration per template (§2.11); the template and repository are checked
# by the store (a template or repository with a configuration cannot be deleted).
proton_template_sync_configs = Table(
    "proton_template_sync_configs",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("template_name", String(100), primary_key=True),
    Column("repository_provider", String(32), nullable=False),
    Column("repository_name", String(100), nullable=False),
    Column("branch", String(200), nullable=False),
    Column("subdirectory", String(4096), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('environment', 'service')", name="kind"),
)

# One service sync configuration per service (§2.12).
proton_service_sync_configs = Table(
    "proton_service_sync_configs",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region", String(32), primary_key=True),
    Column("service_name", String(100), primary_key=True),
    Column("repository_provider", String(32), nullable=False),
    Column("repository_name", String(100), nullable=False),
    Column("branch", String(200), nullable=False),
    Column("file_path", String(4096), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
)

# --- Proton environment account connections (migration 0012) -------------------------------------

# Environment account connections (proton.md §2.13), by id (a UUID). ``account_id`` is the
# environment account, which created the connection and owns its ARN; ``management_account_id``
# the account whose environment it provisions. ``status``: PENDING, CONNECTED or REJECTED.
proton_environment_account_connections = Table(
    "proton_environment_account_connections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("region", String(32), nullable=False),
    Column(
        "management_account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("environment_name", String(100), nullable=False),
    Column("role_arn", String(2048), nullable=True),
    Column("component_role_arn", String(2048), nullable=True),
    Column("codebuild_role_arn", String(2048), nullable=True),
    Column("status", String(16), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    Index(None, "account_id", "region"),
    Index(None, "management_account_id", "region", "environment_name"),
    CheckConstraint("status IN ('PENDING', 'CONNECTED', 'REJECTED')", name="status"),
)


# --- Proton directly defined components (migration 0011) ---------------------------------------

# Directly defined components (proton.md §2.9): the caller's manifest and single template file,
# inline. ``environment_name`` is the component's environment (an attached component's is its
# service instance's); ``engine`` is cloudformation or terraform (from the manifest).
proton_components = Table(
    "proton_components",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region", String(32), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("description", String(500), nullable=True),
    Column("environment_name", String(100), nullable=False),
    Column("service_name", String(100), nullable=True),
    Column("service_instance_name", String(100), nullable=True),
    Column("service_spec", String, nullable=True),
    Column("manifest", String, nullable=False),
    Column("template_file", String, nullable=False),
    Column("engine", String(32), nullable=False),
    Column("deployment_status", String(32), nullable=False),
    Column("deployment_status_message", String, nullable=True),
    Column("last_client_request_token", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    Column("last_deployment_attempted_at", UtcDateTime, nullable=True),
    Column("last_deployment_succeeded_at", UtcDateTime, nullable=True),
    Column("last_attempted_deployment_id", String(36), nullable=True),
    Column("last_succeeded_deployment_id", String(36), nullable=True),
    Index(None, "account_id", "region", "environment_name"),
    Index(None, "account_id", "region", "service_name", "service_instance_name"),
)


# --- Proton services, service instances and pipelines (migration 0010) --------------------------

# Services (proton.md §2.6), unique by name per account and region. ``status`` is the aggregate
# ServiceStatus; ``operation`` the JSON list of the deployment ids the running create/update/
# delete waits for (None when nothing runs). ``spec`` is the caller's last ServiceSpec YAML.
proton_services = Table(
    "proton_services",
    metadata,
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region", String(32), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("description", String(500), nullable=True),
    Column("template_name", String(100), nullable=False),
    Column("spec", String, nullable=False),
    Column("status", String(40), nullable=False),
    Column("status_message", String, nullable=True),
    Column("repository_connection_arn", String(200), nullable=True),
    Column("repository_id", String(200), nullable=True),
    Column("branch_name", String(200), nullable=True),
    Column("operation", String, nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    Index(None, "template_name"),
)

# Service instances (proton.md §2.7), unique by name per service. ``spec`` is the spec document
# last deployed (the whole ServiceSpec); ``inputs`` the instance's validated inputs (JSON).
proton_service_instances = Table(
    "proton_service_instances",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("service_name", String(100), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("environment_name", String(100), nullable=False),
    Column("template_name", String(100), nullable=False),
    Column("template_major", Integer, nullable=False),
    Column("template_minor", Integer, nullable=False),
    Column("spec", String, nullable=False),
    Column("inputs", String, nullable=False),
    Column("deployment_status", String(32), nullable=False),
    Column("deployment_status_message", String, nullable=True),
    Column("last_client_request_token", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    Column("last_deployment_attempted_at", UtcDateTime, nullable=False),
    Column("last_deployment_succeeded_at", UtcDateTime, nullable=False),
    Column("last_attempted_deployment_id", String(36), nullable=True),
    Column("last_succeeded_deployment_id", String(36), nullable=True),
    ForeignKeyConstraint(
        ["account_id", "region", "service_name"],
        ["proton_services.account_id", "proton_services.region", "proton_services.name"],
        ondelete="CASCADE",
    ),
    Index(None, "account_id", "region", "environment_name"),
    Index(None, "template_name", "template_major", "template_minor"),
)

# A service's pipeline (proton.md §2.8), at most one per service.
proton_service_pipelines = Table(
    "proton_service_pipelines",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("service_name", String(100), primary_key=True),
    Column("template_name", String(100), nullable=False),
    Column("template_major", Integer, nullable=False),
    Column("template_minor", Integer, nullable=False),
    Column("spec", String, nullable=False),
    Column("inputs", String, nullable=False),
    Column("deployment_status", String(32), nullable=False),
    Column("deployment_status_message", String, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_modified_at", UtcDateTime, nullable=False),
    Column("last_deployment_attempted_at", UtcDateTime, nullable=False),
    Column("last_deployment_succeeded_at", UtcDateTime, nullable=False),
    Column("last_attempted_deployment_id", String(36), nullable=True),
    Column("last_succeeded_deployment_id", String(36), nullable=True),
    ForeignKeyConstraint(
        ["account_id", "region", "service_name"],
        ["proton_services.account_id", "proton_services.region", "proton_services.name"],
        ondelete="CASCADE",
    ),
    Index(None, "template_name", "template_major", "template_minor"),
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
