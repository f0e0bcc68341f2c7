"""SQLAlchemy Core table definitions of the Proton resources: templates and versions, tags,
idempotency records, account settings, environments, deployments, repositories and sync
configurations, environment account connections, components, services, service instances and
pipelines.

Layer 3 (store). Part of the one :data:`hadron.store.schema.metadata` (see that module for the
rules every table follows); migrations 0006 and 0008 to 0012 build these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)

from hadron.store.schema import UtcDateTime, metadata

__all__ = [
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
]

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
