"""Proton directly defined components, and the component a deployment record belongs to.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("proton_deployments") as batch:
        batch.add_column(sa.Column("component_name", sa.String(100), nullable=True))
    op.create_table(
        "proton_components",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("environment_name", sa.String(100), nullable=False),
        sa.Column("service_name", sa.String(100), nullable=True),
        sa.Column("service_instance_name", sa.String(100), nullable=True),
        sa.Column("service_spec", sa.String(), nullable=True),
        sa.Column("manifest", sa.String(), nullable=False),
        sa.Column("template_file", sa.String(), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("deployment_status", sa.String(32), nullable=False),
        sa.Column("deployment_status_message", sa.String(), nullable=True),
        sa.Column("last_client_request_token", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.Column("last_deployment_attempted_at", _TS, nullable=True),
        sa.Column("last_deployment_succeeded_at", _TS, nullable=True),
        sa.Column("last_attempted_deployment_id", sa.String(36), nullable=True),
        sa.Column("last_succeeded_deployment_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "region", "name", name=op.f("pk_proton_components")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_proton_components_account_id_accounts"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_proton_components_account_id_region_environment_name"),
        "proton_components",
        ["account_id", "region", "environment_name"],
    )
    op.create_index(
        op.f("ix_proton_components_account_id_region_service_name_service_instance_name"),
        "proton_components",
        ["account_id", "region", "service_name", "service_instance_name"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_proton_components_account_id_region_service_name_service_instance_name"),
        table_name="proton_components",
    )
    op.drop_index(
        op.f("ix_proton_components_account_id_region_environment_name"),
        table_name="proton_components",
    )
    op.drop_table("proton_components")
    with op.batch_alter_table("proton_deployments") as batch:
        batch.drop_column("component_name")
