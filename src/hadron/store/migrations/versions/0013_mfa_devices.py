"""IAM virtual MFA devices (sealed TOTP seeds, user assignment, drift) and their tags.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mfa_devices",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("serial_key", sa.String(768), nullable=False),
        sa.Column("device_name", sa.String(256), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("seed_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=True),
        sa.Column("enabled_at", _TS, nullable=True),
        sa.Column("drift", sa.Integer(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "serial_key", name=op.f("pk_mfa_devices")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_mfa_devices_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "user_name_key"],
            ["users.account_id", "users.user_name_key"],
            name=op.f("fk_mfa_devices_account_id_user_name_key_users"),
        ),
    )
    op.create_index(
        op.f("ix_mfa_devices_account_id_user_name_key"),
        "mfa_devices",
        ["account_id", "user_name_key"],
    )
    op.create_table(
        "mfa_device_tags",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("serial_key", sa.String(768), nullable=False),
        sa.Column("tag_key_lower", sa.String(128), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "serial_key", "tag_key_lower", name=op.f("pk_mfa_device_tags")
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "serial_key"],
            ["mfa_devices.account_id", "mfa_devices.serial_key"],
            name=op.f("fk_mfa_device_tags_account_id_serial_key_mfa_devices"),
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("mfa_device_tags")
    op.drop_index(op.f("ix_mfa_devices_account_id_user_name_key"), table_name="mfa_devices")
    op.drop_table("mfa_devices")
