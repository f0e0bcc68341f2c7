"""Credentials: accounts, IAM users, access keys (sealed secrets) and a settings table.

Revision ID: 0001
Revises:
Create Date: 2026-12-03

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "users",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "user_name_key", name=op.f("pk_users")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_users_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("user_id", name=op.f("uq_users_user_id")),
    )
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_service", sa.String(64), nullable=True),
        sa.Column("last_used_region", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("access_key_id", name=op.f("pk_access_keys")),
        sa.ForeignKeyConstraint(
            ["account_id", "user_name_key"],
            ["users.account_id", "users.user_name_key"],
            name=op.f("fk_access_keys_account_id_user_name_key_users"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("status IN ('Active', 'Inactive')", name=op.f("ck_access_keys_status")),
    )
    op.create_index(
        op.f("ix_access_keys_account_id_user_name_key"),
        "access_keys",
        ["account_id", "user_name_key"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_access_keys_account_id_user_name_key"), table_name="access_keys")
    op.drop_table("access_keys")
    op.drop_table("users")
    op.drop_table("accounts")
    op.drop_table("meta")
