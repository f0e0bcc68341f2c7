"""IAM extras: tags of customer managed policies, instance profiles (roles and tags).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _profile_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id", "profile_name_key"],
        ["instance_profiles.account_id", "instance_profiles.profile_name_key"],
        name=op.f(f"fk_{table}_account_id_profile_name_key_instance_profiles"),
        ondelete="CASCADE",
    )


def _tag_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("tag_key_lower", sa.String(128), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "policy_tags",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("policy_name_key", sa.String(128), nullable=False),
        *_tag_columns(),
        sa.PrimaryKeyConstraint(
            "account_id", "policy_name_key", "tag_key_lower", name=op.f("pk_policy_tags")
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "policy_name_key"],
            ["managed_policies.account_id", "managed_policies.policy_name_key"],
            name=op.f("fk_policy_tags_account_id_policy_name_key_managed_policies"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "instance_profiles",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("profile_name_key", sa.String(128), nullable=False),
        sa.Column("profile_name", sa.String(128), nullable=False),
        sa.Column("profile_id", sa.String(128), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "profile_name_key", name=op.f("pk_instance_profiles")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_instance_profiles_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("profile_id", name=op.f("uq_instance_profiles_profile_id")),
    )
    op.create_table(
        "instance_profile_roles",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("profile_name_key", sa.String(128), nullable=False),
        sa.Column("role_name_key", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id",
            "profile_name_key",
            "role_name_key",
            name=op.f("pk_instance_profile_roles"),
        ),
        _profile_fk("instance_profile_roles"),
        sa.ForeignKeyConstraint(
            ["account_id", "role_name_key"],
            ["roles.account_id", "roles.role_name_key"],
            name=op.f("fk_instance_profile_roles_account_id_role_name_key_roles"),
        ),
    )
    op.create_index(
        op.f("ix_instance_profile_roles_account_id_role_name_key"),
        "instance_profile_roles",
        ["account_id", "role_name_key"],
    )
    op.create_table(
        "instance_profile_tags",
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("profile_name_key", sa.String(128), nullable=False),
        *_tag_columns(),
        sa.PrimaryKeyConstraint(
            "account_id", "profile_name_key", "tag_key_lower", name=op.f("pk_instance_profile_tags")
        ),
        _profile_fk("instance_profile_tags"),
    )


def downgrade() -> None:
    op.drop_table("instance_profile_tags")
    op.drop_index(
        op.f("ix_instance_profile_roles_account_id_role_name_key"),
        table_name="instance_profile_roles",
    )
    op.drop_table("instance_profile_roles")
    op.drop_table("instance_profiles")
    op.drop_table("policy_tags")
