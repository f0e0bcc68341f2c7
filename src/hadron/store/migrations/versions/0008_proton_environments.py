"""Proton environments, their deployments (history) and the outputs deployments record.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
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
        "proton_environments",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("template_name", sa.String(100), nullable=False),
        sa.Column("template_major", sa.Integer(), nullable=False),
        sa.Column("template_minor", sa.Integer(), nullable=False),
        sa.Column("spec", sa.String(), nullable=True),
        sa.Column("inputs", sa.String(), nullable=False),
        sa.Column("deployment_status", sa.String(32), nullable=False),
        sa.Column("deployment_status_message", sa.String(), nullable=True),
        sa.Column("proton_service_role_arn", sa.String(2048), nullable=True),
        sa.Column("codebuild_role_arn", sa.String(2048), nullable=True),
        sa.Column("component_role_arn", sa.String(2048), nullable=True),
        sa.Column("environment_account_connection_id", sa.String(36), nullable=True),
        sa.Column("provisioning", sa.String(32), nullable=True),
        sa.Column("repository_provider", sa.String(32), nullable=True),
        sa.Column("repository_name", sa.String(100), nullable=True),
        sa.Column("repository_branch", sa.String(200), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.Column("last_deployment_attempted_at", _TS, nullable=False),
        sa.Column("last_deployment_succeeded_at", _TS, nullable=False),
        sa.Column("last_attempted_deployment_id", sa.String(36), nullable=True),
        sa.Column("last_succeeded_deployment_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint(
            "account_id", "region", "name", name=op.f("pk_proton_environments")
        ),
        _account_fk("proton_environments"),
    )
    op.create_index(
        op.f("ix_proton_environments_template_name_template_major_template_minor"),
        "proton_environments",
        ["template_name", "template_major", "template_minor"],
    )
    op.create_table(
        "proton_deployments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_arn", sa.String(1024), nullable=False),
        sa.Column("target_created_at", _TS, nullable=False),
        sa.Column("environment_name", sa.String(100), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("deployment_status", sa.String(32), nullable=False),
        sa.Column("deployment_status_message", sa.String(), nullable=True),
        sa.Column("initial_state", sa.String(), nullable=True),
        sa.Column("target_state", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.Column("completed_at", _TS, nullable=True),
        sa.Column("last_attempted_deployment_id", sa.String(36), nullable=True),
        sa.Column("last_succeeded_deployment_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proton_deployments")),
        _account_fk("proton_deployments"),
    )
    op.create_index(
        op.f("ix_proton_deployments_account_id_region_environment_name"),
        "proton_deployments",
        ["account_id", "region", "environment_name"],
    )
    op.create_index(
        op.f("ix_proton_deployments_deployment_status"),
        "proton_deployments",
        ["deployment_status"],
    )
    op.create_table(
        "proton_deployment_outputs",
        sa.Column("deployment_id", sa.String(36), nullable=False),
        sa.Column("output_key", sa.String(1024), nullable=False),
        sa.Column("value_string", sa.String(1024), nullable=False),
        sa.PrimaryKeyConstraint(
            "deployment_id", "output_key", name=op.f("pk_proton_deployment_outputs")
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["proton_deployments.id"],
            name=op.f("fk_proton_deployment_outputs_deployment_id_proton_deployments"),
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("proton_deployment_outputs")
    op.drop_index(op.f("ix_proton_deployments_deployment_status"), table_name="proton_deployments")
    op.drop_index(
        op.f("ix_proton_deployments_account_id_region_environment_name"),
        table_name="proton_deployments",
    )
    op.drop_table("proton_deployments")
    op.drop_index(
        op.f("ix_proton_environments_template_name_template_major_template_minor"),
        table_name="proton_environments",
    )
    op.drop_table("proton_environments")
