"""IAM groups (members, inline policies, attachments) and user permissions boundaries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _group_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id", "group_name_key"],
        ["groups.account_id", "groups.group_name_key"],
        name=op.f(f"fk_{table}_account_id_group_name_key_groups"),
        ondelete="CASCADE",
    )


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id", "user_name_key"],
        ["users.account_id", "users.user_name_key"],
        name=op.f(f"fk_{table}_account_id_user_name_key_users"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("group_name_key", sa.String(128), nullable=False),
        sa.Column("group_name", sa.String(128), nullable=False),
        sa.Column("group_id", sa.String(128), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "group_name_key", name=op.f("pk_groups")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_groups_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("group_id", name=op.f("uq_groups_group_id")),
    )
    op.create_table(
        "group_members",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("group_name_key", sa.String(128), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "group_name_key", "user_name_key", name=op.f("pk_group_members")
        ),
        _group_fk("group_members"),
        _user_fk("group_members"),
    )
    op.create_index(
        op.f("ix_group_members_account_id_user_name_key"),
        "group_members",
        ["account_id", "user_name_key"],
    )
    op.create_table(
        "group_policies",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("group_name_key", sa.String(128), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("document", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "group_name_key", "policy_name", name=op.f("pk_group_policies")
        ),
        _group_fk("group_policies"),
    )
    op.create_table(
        "group_policy_attachments",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("group_name_key", sa.String(128), nullable=False),
        sa.Column("policy_arn", sa.String(2048), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "group_name_key", "policy_arn", name=op.f("pk_group_policy_attachments")
        ),
        _group_fk("group_policy_attachments"),
    )
    op.create_index(
        op.f("ix_group_policy_attachments_account_id_policy_arn"),
        "group_policy_attachments",
        ["account_id", "policy_arn"],
    )
    op.create_table(
        "user_permissions_boundaries",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("policy_arn", sa.String(2048), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "user_name_key", name=op.f("pk_user_permissions_boundaries")
        ),
        _user_fk("user_permissions_boundaries"),
    )
    op.create_index(
        op.f("ix_user_permissions_boundaries_account_id_policy_arn"),
        "user_permissions_boundaries",
        ["account_id", "policy_arn"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_user_permissions_boundaries_account_id_policy_arn"),
        table_name="user_permissions_boundaries",
    )
    op.drop_table("user_permissions_boundaries")
    op.drop_index(
        op.f("ix_group_policy_attachments_account_id_policy_arn"),
        table_name="group_policy_attachments",
    )
    op.drop_table("group_policy_attachments")
    op.drop_table("group_policies")
    op.drop_index(op.f("ix_group_members_account_id_user_name_key"), table_name="group_members")
    op.drop_table("group_members")
    op.drop_table("groups")
