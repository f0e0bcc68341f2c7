"""IAM roles (trust policy, inline policies, attachments, boundary) and user/role tags.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _role_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id", "role_name_key"],
        ["roles.account_id", "roles.role_name_key"],
        name=op.f(f"fk_{table}_account_id_role_name_key_roles"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("role_name_key", sa.String(64), nullable=False),
        sa.Column("role_name", sa.String(64), nullable=False),
        sa.Column("role_id", sa.String(128), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("max_session_duration", sa.Integer(), nullable=False),
        sa.Column("trust_policy", sa.String(), nullable=False),
        sa.Column("permissions_boundary", sa.String(2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "role_name_key", name=op.f("pk_roles")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_roles_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("role_id", name=op.f("uq_roles_role_id")),
    )
    op.create_index(
        op.f("ix_roles_account_id_permissions_boundary"),
        "roles",
        ["account_id", "permissions_boundary"],
    )
    op.create_table(
        "role_policies",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("role_name_key", sa.String(64), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("document", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "role_name_key", "policy_name", name=op.f("pk_role_policies")
        ),
        _role_fk("role_policies"),
    )
    op.create_table(
        "role_policy_attachments",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("role_name_key", sa.String(64), nullable=False),
        sa.Column("policy_arn", sa.String(2048), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "role_name_key", "policy_arn", name=op.f("pk_role_policy_attachments")
        ),
        _role_fk("role_policy_attachments"),
    )
    op.create_index(
        op.f("ix_role_policy_attachments_account_id_policy_arn"),
        "role_policy_attachments",
        ["account_id", "policy_arn"],
    )
    op.create_table(
        "user_tags",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("tag_key_lower", sa.String(128), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "user_name_key", "tag_key_lower", name=op.f("pk_user_tags")
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "user_name_key"],
            ["users.account_id", "users.user_name_key"],
            name=op.f("fk_user_tags_account_id_user_name_key_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "role_tags",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("role_name_key", sa.String(64), nullable=False),
        sa.Column("tag_key_lower", sa.String(128), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "role_name_key", "tag_key_lower", name=op.f("pk_role_tags")
        ),
        _role_fk("role_tags"),
    )


def downgrade() -> None:
    op.drop_table("role_tags")
    op.drop_table("user_tags")
    op.drop_index(
        op.f("ix_role_policy_attachments_account_id_policy_arn"),
        table_name="role_policy_attachments",
    )
    op.drop_table("role_policy_attachments")
    op.drop_table("role_policies")
    op.drop_index(op.f("ix_roles_account_id_permissions_boundary"), table_name="roles")
    op.drop_table("roles")
