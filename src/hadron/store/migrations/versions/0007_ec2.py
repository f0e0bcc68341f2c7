"""EC2 subset (VPCs, subnets, security groups, VPC endpoints).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=op.f(f"fk_{table}_{column}_{ref_table}"),
        ondelete=ondelete,
    )


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


def upgrade() -> None:
    op.create_table(
        "ec2_vpcs",
        sa.Column("vpc_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("cidr_block", sa.String(18), nullable=False),
        sa.Column("resolver_address", sa.String(15), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("vpc_id", name=op.f("pk_ec2_vpcs")),
        _fk("ec2_vpcs", "account_id", "accounts.account_id", "CASCADE"),
        sa.UniqueConstraint("resolver_address", name=op.f("uq_ec2_vpcs_resolver_address")),
    )
    _index("ec2_vpcs", "account_id", "region")
    op.create_table(
        "ec2_subnets",
        sa.Column("subnet_id", sa.String(32), nullable=False),
        sa.Column("vpc_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("cidr_block", sa.String(18), nullable=False),
        sa.Column("availability_zone", sa.String(40), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("subnet_id", name=op.f("pk_ec2_subnets")),
        _fk("ec2_subnets", "vpc_id", "ec2_vpcs.vpc_id"),
    )
    _index("ec2_subnets", "vpc_id")
    _index("ec2_subnets", "account_id", "region")
    op.create_table(
        "ec2_security_groups",
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("vpc_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("group_name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_ec2_security_groups")),
        _fk("ec2_security_groups", "vpc_id", "ec2_vpcs.vpc_id"),
        sa.UniqueConstraint(
            "vpc_id", "group_name", name=op.f("uq_ec2_security_groups_vpc_id_group_name")
        ),
    )
    _index("ec2_security_groups", "account_id", "region")
    op.create_table(
        "ec2_security_group_rules",
        sa.Column("rule_id", sa.String(32), nullable=False),
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("ip_protocol", sa.String(16), nullable=False),
        sa.Column("from_port", sa.Integer(), nullable=True),
        sa.Column("to_port", sa.Integer(), nullable=True),
        sa.Column("cidr_ipv4", sa.String(18), nullable=True),
        sa.Column("referenced_group_id", sa.String(32), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_ec2_security_group_rules")),
        _fk("ec2_security_group_rules", "group_id", "ec2_security_groups.group_id", "CASCADE"),
    )
    _index("ec2_security_group_rules", "group_id")
    _index("ec2_security_group_rules", "referenced_group_id")
    op.create_table(
        "ec2_vpc_endpoints",
        sa.Column("vpc_endpoint_id", sa.String(32), nullable=False),
        sa.Column("vpc_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("service_name", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("private_dns_enabled", sa.Integer(), nullable=False),
        sa.Column("policy_document", sa.String(), nullable=False),
        sa.Column("dns_suffix", sa.String(8), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("client_token", sa.String(255), nullable=True),
        sa.Column("request_fingerprint", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("vpc_endpoint_id", name=op.f("pk_ec2_vpc_endpoints")),
        _fk("ec2_vpc_endpoints", "vpc_id", "ec2_vpcs.vpc_id"),
        sa.UniqueConstraint(
            "account_id", "client_token", name=op.f("uq_ec2_vpc_endpoints_account_id_client_token")
        ),
    )
    _index("ec2_vpc_endpoints", "vpc_id")
    _index("ec2_vpc_endpoints", "account_id", "region")
    op.create_table(
        "ec2_vpc_endpoint_groups",
        sa.Column("vpc_endpoint_id", sa.String(32), nullable=False),
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "vpc_endpoint_id", "group_id", name=op.f("pk_ec2_vpc_endpoint_groups")
        ),
        _fk(
            "ec2_vpc_endpoint_groups",
            "vpc_endpoint_id",
            "ec2_vpc_endpoints.vpc_endpoint_id",
            "CASCADE",
        ),
        _fk("ec2_vpc_endpoint_groups", "group_id", "ec2_security_groups.group_id"),
    )
    _index("ec2_vpc_endpoint_groups", "group_id")
    op.create_table(
        "ec2_network_interfaces",
        sa.Column("network_interface_id", sa.String(32), nullable=False),
        sa.Column("vpc_endpoint_id", sa.String(32), nullable=False),
        sa.Column("subnet_id", sa.String(32), nullable=False),
        sa.Column("private_ip", sa.String(15), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("network_interface_id", name=op.f("pk_ec2_network_interfaces")),
        _fk(
            "ec2_network_interfaces",
            "vpc_endpoint_id",
            "ec2_vpc_endpoints.vpc_endpoint_id",
            "CASCADE",
        ),
        _fk("ec2_network_interfaces", "subnet_id", "ec2_subnets.subnet_id"),
        sa.UniqueConstraint("private_ip", name=op.f("uq_ec2_network_interfaces_private_ip")),
        sa.UniqueConstraint(
            "vpc_endpoint_id",
            "subnet_id",
            name=op.f("uq_ec2_network_interfaces_vpc_endpoint_id_subnet_id"),
        ),
    )
    _index("ec2_network_interfaces", "subnet_id")
    op.create_table(
        "ec2_tags",
        sa.Column("resource_id", sa.String(32), nullable=False),
        sa.Column("tag_key", sa.String(128), nullable=False),
        sa.Column("tag_value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", "tag_key", name=op.f("pk_ec2_tags")),
    )


def downgrade() -> None:
    op.drop_table("ec2_tags")
    op.drop_index(op.f("ix_ec2_network_interfaces_subnet_id"), table_name="ec2_network_interfaces")
    op.drop_table("ec2_network_interfaces")
    op.drop_index(op.f("ix_ec2_vpc_endpoint_groups_group_id"), table_name="ec2_vpc_endpoint_groups")
    op.drop_table("ec2_vpc_endpoint_groups")
    op.drop_index(op.f("ix_ec2_vpc_endpoints_account_id_region"), table_name="ec2_vpc_endpoints")
    op.drop_index(op.f("ix_ec2_vpc_endpoints_vpc_id"), table_name="ec2_vpc_endpoints")
    op.drop_table("ec2_vpc_endpoints")
    for column in ("referenced_group_id", "group_id"):
        op.drop_index(
            op.f(f"ix_ec2_security_group_rules_{column}"), table_name="ec2_security_group_rules"
        )
    op.drop_table("ec2_security_group_rules")
    op.drop_index(
        op.f("ix_ec2_security_groups_account_id_region"), table_name="ec2_security_groups"
    )
    op.drop_table("ec2_security_groups")
    op.drop_index(op.f("ix_ec2_subnets_account_id_region"), table_name="ec2_subnets")
    op.drop_index(op.f("ix_ec2_subnets_vpc_id"), table_name="ec2_subnets")
    op.drop_table("ec2_subnets")
    op.drop_index(op.f("ix_ec2_vpcs_account_id_region"), table_name="ec2_vpcs")
    op.drop_table("ec2_vpcs")
