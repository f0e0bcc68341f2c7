"""Proton environment account connections, and the environment account of an environment
provisioned through one.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_TABLE = "proton_environment_account_connections"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("management_account_id", sa.String(12), nullable=False),
        sa.Column("environment_name", sa.String(100), nullable=False),
        sa.Column("role_arn", sa.String(2048), nullable=True),
        sa.Column("component_role_arn", sa.String(2048), nullable=True),
        sa.Column("codebuild_role_arn", sa.String(2048), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("last_modified_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{_TABLE}")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f(f"fk_{_TABLE}_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["management_account_id"],
            ["accounts.account_id"],
            name=op.f(f"fk_{_TABLE}_management_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'CONNECTED', 'REJECTED')", name=op.f(f"ck_{_TABLE}_status")
        ),
    )
    op.create_index(op.f(f"ix_{_TABLE}_account_id_region"), _TABLE, ["account_id", "region"])
    op.create_index(
        op.f(f"ix_{_TABLE}_management_account_id_region_environment_name"),
        _TABLE,
        ["management_account_id", "region", "environment_name"],
    )
    with op.batch_alter_table("proton_environments") as batch:
        batch.add_column(sa.Column("environment_account_id", sa.String(12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proton_environments") as batch:
        batch.drop_column("environment_account_id")
    op.drop_index(
        op.f(f"ix_{_TABLE}_management_account_id_region_environment_name"), table_name=_TABLE
    )
    op.drop_index(op.f(f"ix_{_TABLE}_account_id_region"), table_name=_TABLE)
    op.drop_table(_TABLE)
