"""Proton control plane, first slice: templates, template versions and their bundles, Proton tags,
client-token idempotency records, deletion tombstones and account settings.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_VERSION_KEY = ["account_id", "region", "kind", "template_name", "major", "minor"]


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"],
        ["accounts.account_id"],
        name=op.f(f"fk_{table}_account_id_accounts"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "proton_templates",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=True),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("encryption_key", sa.String(200), nullable=True),
        sa.Column("provisioning", sa.String(32), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "region", "kind", "name", name=op.f("pk_proton_templates")
        ),
        _account_fk("proton_templates"),
        sa.CheckConstraint(
            "kind IN ('environment', 'service')", name=op.f("ck_proton_templates_kind")
        ),
    )
    op.create_table(
        "proton_template_versions",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("template_name", sa.String(100), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", sa.String(), nullable=True),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("schema", sa.String(), nullable=True),
        sa.Column("input_schemas", sa.String(), nullable=True),
        sa.Column("source_bucket", sa.String(63), nullable=False),
        sa.Column("source_key", sa.String(1024), nullable=False),
        sa.Column("compatible", sa.String(), nullable=True),
        sa.Column("component_sources", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint(*_VERSION_KEY, name=op.f("pk_proton_template_versions")),
        sa.ForeignKeyConstraint(
            ["account_id", "region", "kind", "template_name"],
            [
                "proton_templates.account_id",
                "proton_templates.region",
                "proton_templates.kind",
                "proton_templates.name",
            ],
            name=op.f("fk_proton_template_versions_template"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('REGISTRATION_IN_PROGRESS', 'REGISTRATION_FAILED', 'DRAFT', 'PUBLISHED')",
            name=op.f("ck_proton_template_versions_status"),
        ),
    )
    op.create_index(
        op.f("ix_proton_template_versions_status"), "proton_template_versions", ["status"]
    )
    op.create_table(
        "proton_template_bundles",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("template_name", sa.String(100), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("bundle", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(*_VERSION_KEY, name=op.f("pk_proton_template_bundles")),
        sa.ForeignKeyConstraint(
            _VERSION_KEY,
            [f"proton_template_versions.{c}" for c in _VERSION_KEY],
            name=op.f("fk_proton_template_bundles_version"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "proton_idempotency",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("client_token", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("resource_arn", sa.String(1024), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id",
            "region",
            "operation",
            "client_token",
            name=op.f("pk_proton_idempotency"),
        ),
        _account_fk("proton_idempotency"),
    )
    op.create_table(
        "proton_tags",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("resource_arn", sa.String(1024), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "resource_arn", "tag_key", name=op.f("pk_proton_tags")
        ),
        _account_fk("proton_tags"),
    )
    op.create_table(
        "proton_tombstones",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("resource_arn", sa.String(1024), nullable=False),
        sa.Column("deleted_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "resource_arn", name=op.f("pk_proton_tombstones")),
        _account_fk("proton_tombstones"),
    )
    op.create_table(
        "proton_account_settings",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("pipeline_service_role_arn", sa.String(2048), nullable=True),
        sa.Column("pipeline_codebuild_role_arn", sa.String(2048), nullable=True),
        sa.Column("repository_provider", sa.String(32), nullable=True),
        sa.Column("repository_name", sa.String(100), nullable=True),
        sa.Column("repository_branch", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "region", name=op.f("pk_proton_account_settings")),
        _account_fk("proton_account_settings"),
    )


def downgrade() -> None:
    op.drop_table("proton_account_settings")
    op.drop_table("proton_tombstones")
    op.drop_table("proton_tags")
    op.drop_table("proton_idempotency")
    op.drop_table("proton_template_bundles")
    op.drop_index(op.f("ix_proton_template_versions_status"), table_name="proton_template_versions")
    op.drop_table("proton_template_versions")
    op.drop_table("proton_templates")
