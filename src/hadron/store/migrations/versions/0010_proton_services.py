"""Proton services, service instances and service pipelines; deployments name their service.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _deployment_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("deployment_status", sa.String(32), nullable=False),
        sa.Column("deployment_status_message", sa.String(), nullable=True),
    ]


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.Column("last_deployment_attempted_at", _TS, nullable=False),
        sa.Column("last_deployment_succeeded_at", _TS, nullable=False),
        sa.Column("last_attempted_deployment_id", sa.String(36), nullable=True),
        sa.Column("last_succeeded_deployment_id", sa.String(36), nullable=True),
    ]


def _service_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id", "region", "service_name"],
        ["proton_services.account_id", "proton_services.region", "proton_services.name"],
        name=op.f(f"fk_{table}_account_id_region_service_name_proton_services"),
        ondelete="CASCADE",
    )


def _version_index(table: str) -> None:
    op.create_index(
        op.f(f"ix_{table}_template_name_template_major_template_minor"),
        table,
        ["template_name", "template_major", "template_minor"],
    )


def upgrade() -> None:
    with op.batch_alter_table("proton_deployments") as batch:
        batch.add_column(sa.Column("service_name", sa.String(100), nullable=True))
        batch.add_column(sa.Column("service_instance_name", sa.String(100), nullable=True))
    op.create_table(
        "proton_services",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("template_name", sa.String(100), nullable=False),
        sa.Column("spec", sa.String(), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("status_message", sa.String(), nullable=True),
        sa.Column("repository_connection_arn", sa.String(200), nullable=True),
        sa.Column("repository_id", sa.String(200), nullable=True),
        sa.Column("branch_name", sa.String(200), nullable=True),
        sa.Column("operation", sa.String(), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "region", "name", name=op.f("pk_proton_services")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_proton_services_account_id_accounts"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_proton_services_template_name"), "proton_services", ["template_name"])
    op.create_table(
        "proton_service_instances",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("service_name", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("environment_name", sa.String(100), nullable=False),
        sa.Column("template_name", sa.String(100), nullable=False),
        sa.Column("template_major", sa.Integer(), nullable=False),
        sa.Column("template_minor", sa.Integer(), nullable=False),
        sa.Column("spec", sa.String(), nullable=False),
        sa.Column("inputs", sa.String(), nullable=False),
        *_deployment_columns(),
        sa.Column("last_client_request_token", sa.String(64), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint(
            "account_id",
            "region",
            "service_name",
            "name",
            name=op.f("pk_proton_service_instances"),
        ),
        _service_fk("proton_service_instances"),
    )
    op.create_index(
        op.f("ix_proton_service_instances_account_id_region_environment_name"),
        "proton_service_instances",
        ["account_id", "region", "environment_name"],
    )
    _version_index("proton_service_instances")
    op.create_table(
        "proton_service_pipelines",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("service_name", sa.String(100), nullable=False),
        sa.Column("template_name", sa.String(100), nullable=False),
        sa.Column("template_major", sa.Integer(), nullable=False),
        sa.Column("template_minor", sa.Integer(), nullable=False),
        sa.Column("spec", sa.String(), nullable=False),
        sa.Column("inputs", sa.String(), nullable=False),
        *_deployment_columns(),
        *_timestamps(),
        sa.PrimaryKeyConstraint(
            "account_id", "region", "service_name", name=op.f("pk_proton_service_pipelines")
        ),
        _service_fk("proton_service_pipelines"),
    )
    _version_index("proton_service_pipelines")


def downgrade() -> None:
    op.drop_table("proton_service_pipelines")
    op.drop_table("proton_service_instances")
    op.drop_index(op.f("ix_proton_services_template_name"), table_name="proton_services")
    op.drop_table("proton_services")
    with op.batch_alter_table("proton_deployments") as batch:
        batch.drop_column("service_instance_name")
        batch.drop_column("service_name")
