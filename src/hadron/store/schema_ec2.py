"""SQLAlchemy Core table definitions of the EC2 resources: VPCs, subnets, security groups,
VPC endpoints, their network interfaces and tags.

Layer 3 (store). Part of the one :data:`hadron.store.schema.metadata` (see that module for the
rules every table follows); migration 0007 builds these tables.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from hadron.store.schema import UtcDateTime, metadata

__all__ = [
    "ec2_network_interfaces",
    "ec2_security_group_rules",
    "ec2_security_groups",
    "ec2_subnets",
    "ec2_tags",
    "ec2_vpc_endpoint_groups",
    "ec2_vpc_endpoints",
    "ec2_vpcs",
]

# --- EC2: VPCs, subnets, security groups, VPC endpoints (migration 0007) -------------------------
# Ids are global (``vpc-…``, ``subnet-…``, ``sg-…``, ``sgr-…``, ``vpce-…``, ``eni-…``); every
# resource belongs to one account and region. Addresses from the endpoint address pool (the
# VPC resolver's and each endpoint interface's) are unique across all accounts: a listener binds
# to them.

ec2_vpcs = Table(
    "ec2_vpcs",
    metadata,
    Column("vpc_id", String(32), primary_key=True),
    Column(
        "account_id",
        String(12),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("region", String(32), nullable=False),
    Column("cidr_block", String(18), nullable=False),
    Column("resolver_address", String(15), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "account_id", "region"),
)

ec2_subnets = Table(
    "ec2_subnets",
    metadata,
    Column("subnet_id", String(32), primary_key=True),
    Column("vpc_id", String(32), ForeignKey("ec2_vpcs.vpc_id"), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("cidr_block", String(18), nullable=False),
    Column("availability_zone", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "vpc_id"),
    Index(None, "account_id", "region"),
)

ec2_security_groups = Table(
    "ec2_security_groups",
    metadata,
    Column("group_id", String(32), primary_key=True),
    Column("vpc_id", String(32), ForeignKey("ec2_vpcs.vpc_id"), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("group_name", String(255), nullable=False),
    Column("description", String(255), nullable=False),
    UniqueConstraint("vpc_id", "group_name"),
    Index(None, "account_id", "region"),
)

# Inbound rules: a CIDR (``cidr_ipv4``) or another group of the VPC (``referenced_group_id``).
ec2_security_group_rules = Table(
    "ec2_security_group_rules",
    metadata,
    Column("rule_id", String(32), primary_key=True),
    Column(
        "group_id",
        String(32),
        ForeignKey("ec2_security_groups.group_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("ip_protocol", String(16), nullable=False),
    Column("from_port", Integer, nullable=True),
    Column("to_port", Integer, nullable=True),
    Column("cidr_ipv4", String(18), nullable=True),
    Column("referenced_group_id", String(32), nullable=True),
    Column("description", String(255), nullable=True),
    Index(None, "group_id"),
    Index(None, "referenced_group_id"),
)

ec2_vpc_endpoints = Table(
    "ec2_vpc_endpoints",
    metadata,
    Column("vpc_endpoint_id", String(32), primary_key=True),
    Column("vpc_id", String(32), ForeignKey("ec2_vpcs.vpc_id"), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("service_name", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    Column("private_dns_enabled", Integer, nullable=False),
    Column("policy_document", String, nullable=False),
    Column("dns_suffix", String(8), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("client_token", String(255), nullable=True),
    # The request a client token was first used with (IdempotentParameterMismatch otherwise).
    Column("request_fingerprint", String(64), nullable=True),
    UniqueConstraint("account_id", "client_token"),
    Index(None, "vpc_id"),
    Index(None, "account_id", "region"),
)

ec2_vpc_endpoint_groups = Table(
    "ec2_vpc_endpoint_groups",
    metadata,
    Column(
        "vpc_endpoint_id",
        String(32),
        ForeignKey("ec2_vpc_endpoints.vpc_endpoint_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("group_id", String(32), ForeignKey("ec2_security_groups.group_id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Index(None, "group_id"),
)

# One requester-managed interface per (endpoint, subnet); ``private_ip`` is its pool address.
ec2_network_interfaces = Table(
    "ec2_network_interfaces",
    metadata,
    Column("network_interface_id", String(32), primary_key=True),
    Column(
        "vpc_endpoint_id",
        String(32),
        ForeignKey("ec2_vpc_endpoints.vpc_endpoint_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("subnet_id", String(32), ForeignKey("ec2_subnets.subnet_id"), nullable=False),
    Column("private_ip", String(15), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("vpc_endpoint_id", "subnet_id"),
    Index(None, "subnet_id"),
)

# Tags of any EC2 resource above, by id; keys are case-sensitive in EC2.
ec2_tags = Table(
    "ec2_tags",
    metadata,
    Column("resource_id", String(32), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
)
