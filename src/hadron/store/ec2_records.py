"""Frozen values of the EC2 repository (``hadron.store.ec2``): VPCs, subnets, security groups,
VPC endpoints and their network interfaces, and the inputs of endpoint writes.

Layer 3 (store). Handlers turn these into EC2 response shapes (``hadron.ec2``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "EndpointChange",
    "IngressRule",
    "NetworkInterface",
    "NewEndpoint",
    "RuleSpec",
    "SecurityGroup",
    "Subnet",
    "Tags",
    "Vpc",
    "VpcEndpoint",
]

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Vpc:
    vpc_id: str
    account_id: str
    region: str
    cidr_block: str
    resolver_address: str  # from the endpoint address pool: the VPC's DNS resolver listens here
    created_at: datetime
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class Subnet:
    subnet_id: str
    vpc_id: str
    account_id: str
    region: str
    cidr_block: str
    availability_zone: str
    created_at: datetime
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One inbound permission: ``-1`` or ``tcp``/``udp``/``icmp`` (or a protocol number), a
    port range (``None`` for ``-1``), and a source: a CIDR or another group of the VPC."""

    ip_protocol: str
    from_port: int | None
    to_port: int | None
    cidr_ipv4: str | None = None
    referenced_group_id: str | None = None
    description: str | None = None

    def same_permission(self, other: RuleSpec) -> bool:
        """Whether the two admit the same traffic (descriptions do not count)."""
        return (
            self.ip_protocol,
            self.from_port,
            self.to_port,
            self.cidr_ipv4,
            self.referenced_group_id,
        ) == (
            other.ip_protocol,
            other.from_port,
            other.to_port,
            other.cidr_ipv4,
            other.referenced_group_id,
        )


@dataclass(frozen=True, slots=True)
class IngressRule:
    rule_id: str
    group_id: str
    spec: RuleSpec


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    group_id: str
    vpc_id: str
    account_id: str
    region: str
    group_name: str
    description: str
    rules: tuple[IngressRule, ...] = ()
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class NetworkInterface:
    """An endpoint's requester-managed interface in one subnet; ``private_ip`` is the pool
    address its listener binds to."""

    network_interface_id: str
    vpc_endpoint_id: str
    subnet_id: str
    vpc_id: str
    availability_zone: str
    private_ip: str
    account_id: str
    region: str
    created_at: datetime
    groups: tuple[tuple[str, str], ...] = ()  # (group id, group name) of the endpoint


@dataclass(frozen=True, slots=True)
class VpcEndpoint:
    vpc_endpoint_id: str
    vpc_id: str
    account_id: str
    region: str
    service_name: str
    state: str
    private_dns_enabled: bool
    policy_document: str
    dns_suffix: str
    created_at: datetime
    client_token: str | None
    groups: tuple[tuple[str, str], ...]  # (group id, group name), in the order given
    interfaces: tuple[NetworkInterface, ...]  # ordered by subnet id
    tags: Tags = ()

    @property
    def subnet_ids(self) -> tuple[str, ...]:
        return tuple(i.subnet_id for i in self.interfaces)


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    """A validated CreateVpcEndpoint request (ids still to be checked against the store)."""

    account_id: str
    region: str
    vpc_id: str
    service_name: str
    private_dns_name: str
    subnet_ids: Sequence[str]
    group_ids: Sequence[str] | None  # None: the VPC's default group
    private_dns_enabled: bool
    policy_document: str
    tags: Tags = ()
    client_token: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointChange:
    """A validated ModifyVpcEndpoint request; ``None``/empty means unchanged."""

    policy_document: str | None = None
    private_dns_enabled: bool | None = None
    private_dns_name: str = ""
    add_subnet_ids: Sequence[str] = ()
    remove_subnet_ids: Sequence[str] = ()
    add_group_ids: Sequence[str] = ()
    remove_group_ids: Sequence[str] = ()
