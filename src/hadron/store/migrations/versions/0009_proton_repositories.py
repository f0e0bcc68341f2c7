"""Proton linked repositories, template sync configurations and service sync configurations.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"],
        ["accounts.account_id"],
        name=op.f(f"fk_{table}_account_id_accounts"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "proton_repositories",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("connection_arn", sa.String(200), nullable=False),
        sa.Column("encryption_key", sa.String(200), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "region", "provider", "name", name=op.f("pk_proton_repositories")
        ),
        _account_fk("proton_repositories"),
    )
    op.create_table(
        "proton_template_sync_configs",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("template_name", sa.String(100), nullable=False),
        sa.Column("repository_provider", sa.String(32), nullable=False),
        sa.Column("repository_name", sa.String(100), nullable=False),
        sa.Column("branch", sa.String(200), nullable=False),
        sa.Column("subdirectory", sa.String(4096), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id",
            "region",
            "kind",
            "template_name",
            name=op.f("pk_proton_template_sync_configs"),
        ),
        _account_fk("proton_template_sync_configs"),
        sa.CheckConstraint(
            "kind IN ('environment', 'service')",
            name=op.f("ck_proton_template_sync_configs_kind"),
        ),
    )
    op.create_table(
        "proton_service_sync_configs",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("service_name", sa.String(100), nullable=False),
        sa.Column("repository_provider", sa.String(32), nullable=False),
        sa.Column("repository_name", sa.String(100), nullable=False),
        sa.Column("branch", sa.String(200), nullable=False),
        sa.Column("file_path", sa.String(4096), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "region", "service_name", name=op.f("pk_proton_service_sync_configs")
        ),
        _account_fk("proton_service_sync_configs"),
    )


def downgrade() -> None:
    op.drop_table("proton_service_sync_configs")
    op.drop_table("proton_template_sync_configs")
    op.drop_table("proton_repositories")
