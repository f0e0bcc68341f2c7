"""IAM policies: customer managed policies and their versions, user inline policies, user
attachments; existing ``admin`` users get AWS's AdministratorAccess attached.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


def upgrade() -> None:
    op.create_table(
        "managed_policies",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("policy_name_key", sa.String(128), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("policy_id", sa.String(128), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("default_version_id", sa.String(32), nullable=False),
        sa.Column("next_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "policy_name_key", name=op.f("pk_managed_policies")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_managed_policies_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("policy_id", name=op.f("uq_managed_policies_policy_id")),
    )
    op.create_table(
        "policy_versions",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("policy_name_key", sa.String(128), nullable=False),
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("document", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "policy_name_key", "version_id", name=op.f("pk_policy_versions")
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "policy_name_key"],
            ["managed_policies.account_id", "managed_policies.policy_name_key"],
            name=op.f("fk_policy_versions_account_id_policy_name_key_managed_policies"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "user_policies",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("document", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "user_name_key", "policy_name", name=op.f("pk_user_policies")
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "user_name_key"],
            ["users.account_id", "users.user_name_key"],
            name=op.f("fk_user_policies_account_id_user_name_key_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "user_policy_attachments",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name_key", sa.String(64), nullable=False),
        sa.Column("policy_arn", sa.String(2048), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "user_name_key", "policy_arn", name=op.f("pk_user_policy_attachments")
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "user_name_key"],
            ["users.account_id", "users.user_name_key"],
            name=op.f("fk_user_policy_attachments_account_id_user_name_key_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_user_policy_attachments_account_id_policy_arn"),
        "user_policy_attachments",
        ["account_id", "policy_arn"],
    )
    # Before IAM enforcement existed the admin user was denied everything but its own identity;
    # from now on it holds AdministratorAccess, as a new account's admin does.
    op.execute(
        sa.text(
            "INSERT INTO user_policy_attachments (account_id, user_name_key, policy_arn, "
            "attached_at) SELECT account_id, user_name_key, :arn, created_at FROM users "
            "WHERE user_name_key = 'admin'"
        ).bindparams(arn=_ADMIN_POLICY)
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_user_policy_attachments_account_id_policy_arn"),
        table_name="user_policy_attachments",
    )
    op.drop_table("user_policy_attachments")
    op.drop_table("user_policies")
    op.drop_table("policy_versions")
    op.drop_table("managed_policies")
