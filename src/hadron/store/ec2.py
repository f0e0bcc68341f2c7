"""The EC2 repository: VPCs, subnets, security groups, VPC endpoints and their interfaces.

Layer 3 (store, edge). Spec: security.md §7.1-7.3. Every public method is one transaction
(``hadron.store.transactions``): existence checks, conflict checks (overlapping subnets, a
second private-DNS endpoint for a service in a VPC, a client token reused for another request)
and address allocation from the endpoint address pool happen inside the write that depends on
them, so a failed request leaves nothing behind. Input shapes (CIDR syntax, tag lengths, policy
grammar) are validated by the handlers (``hadron.ec2``) before they get here; messages are EC2's.

Pool addresses (a VPC's resolver address, each interface's private IP) are unique across all
accounts, because listeners bind to them; :meth:`SqlEc2.live_vpc_endpoints` and
:meth:`SqlEc2.vpc_resolvers` let a listener manager rebuild its listeners at start-up.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select

from hadron.ec2.addresses import allocate
from hadron.ec2.ids import new_id
from hadron.errors import (
    CannotDelete,
    DependencyViolation,
    Ec2InvalidParameter,
    InvalidGroupDuplicate,
    InvalidGroupNotFound,
    InvalidPermissionDuplicate,
    InvalidPermissionNotFound,
    InvalidSubnetConflict,
    InvalidSubnetIdNotFound,
    InvalidSubnetRange,
    InvalidVpcEndpointIdNotFound,
    InvalidVpcIdNotFound,
    TagLimitExceeded,
    VpcLimitExceeded,
)
from hadron.store import transactions
from hadron.store.ec2_records import (
    IngressRule,
    RuleSpec,
    SecurityGroup,
    Subnet,
    Tags,
    Vpc,
)
from hadron.store.schema_ec2 import (
    ec2_network_interfaces,
    ec2_security_group_rules,
    ec2_security_groups,
    ec2_subnets,
    ec2_tags,
    ec2_vpc_endpoint_groups,
    ec2_vpc_endpoints,
    ec2_vpcs,
)

__all__ = [
    "DEFAULT_GROUP_DESCRIPTION",
    "MAX_TAGS_PER_RESOURCE",
    "SqlEc2",
    "rule_text",
    "vpc_not_found",
]

RNG = Callable[[int], bytes]
Pool = ipaddress.IPv4Network

MAX_TAGS_PER_RESOURCE = 50
DEFAULT_GROUP_DESCRIPTION = "default VPC security group"


def vpc_not_found(vpc_id: str) -> InvalidVpcIdNotFound:
    return InvalidVpcIdNotFound(f"The vpc ID '{vpc_id}' does not exist")


def _subnet_missing(subnet_id: str) -> InvalidSubnetIdNotFound:
    return InvalidSubnetIdNotFound(f"The subnet ID '{subnet_id}' does not exist")


def _group_missing(group_id: str) -> InvalidGroupNotFound:
    return InvalidGroupNotFound(f"The security group '{group_id}' does not exist")


def _endpoint_missing(endpoint_id: str) -> InvalidVpcEndpointIdNotFound:
    return InvalidVpcEndpointIdNotFound(f"The Vpc Endpoint Id '{endpoint_id}' does not exist")


_PROTOCOL_NAMES = {"-1": "ALL", "tcp": "TCP", "udp": "UDP", "icmp": "ICMP", "6": "TCP"}


def rule_text(spec: RuleSpec) -> str:
    """A rule as EC2 names it in ``InvalidPermission.Duplicate`` messages."""
    peer = spec.cidr_ipv4 or spec.referenced_group_id or ""
    protocol = _PROTOCOL_NAMES.get(spec.ip_protocol, spec.ip_protocol)
    if spec.ip_protocol == "-1":
        return f"peer: {peer}, {protocol}, ALLOW"
    return f"peer: {peer}, {protocol}, from port: {spec.from_port}, to port: {spec.to_port}, ALLOW"


# --- reading rows ---------------------------------------------------------------------------


def _tags_of(conn: Connection, ids: Iterable[str]) -> dict[str, Tags]:
    wanted = list(ids)
    out: dict[str, list[tuple[str, str]]] = {i: [] for i in wanted}
    for chunk_start in range(0, len(wanted), 500):
        chunk = wanted[chunk_start : chunk_start + 500]
        rows = conn.execute(
            select(ec2_tags.c.resource_id, ec2_tags.c.tag_key, ec2_tags.c.tag_value)
            .where(ec2_tags.c.resource_id.in_(chunk))
            .order_by(ec2_tags.c.resource_id, ec2_tags.c.tag_key)
        ).all()
        for row in rows:
            out[row.resource_id].append((row.tag_key, row.tag_value))
    return {k: tuple(v) for k, v in out.items()}


def _write_tags(conn: Connection, resource_id: str, tags: Tags) -> None:
    merged = dict(tags)
    if len(merged) > MAX_TAGS_PER_RESOURCE:
        raise TagLimitExceeded("The maximum number of Tags for a resource has been reached.")
    if merged:
        conn.execute(
            insert(ec2_tags),
            [{"resource_id": resource_id, "tag_key": k, "tag_value": v} for k, v in merged.items()],
        )


def _vpc(row: Row[Any], tags: Tags = ()) -> Vpc:
    return Vpc(
        vpc_id=row.vpc_id,
        account_id=row.account_id,
        region=row.region,
        cidr_block=row.cidr_block,
        resolver_address=row.resolver_address,
        created_at=row.created_at,
        tags=tags,
    )


def _subnet(row: Row[Any], tags: Tags = ()) -> Subnet:
    return Subnet(
        subnet_id=row.subnet_id,
        vpc_id=row.vpc_id,
        account_id=row.account_id,
        region=row.region,
        cidr_block=row.cidr_block,
        availability_zone=row.availability_zone,
        created_at=row.created_at,
        tags=tags,
    )


def _rule(row: Row[Any]) -> IngressRule:
    return IngressRule(
        rule_id=row.rule_id,
        group_id=row.group_id,
        spec=RuleSpec(
            ip_protocol=row.ip_protocol,
            from_port=row.from_port,
            to_port=row.to_port,
            cidr_ipv4=row.cidr_ipv4,
            referenced_group_id=row.referenced_group_id,
            description=row.description,
        ),
    )


def _scope(table: Any, account_id: str | None, region: str | None) -> list[Any]:
    where = []
    if account_id is not None:
        where.append(table.c.account_id == account_id)
    if region is not None:
        where.append(table.c.region == region)
    return where


def _used_addresses(conn: Connection) -> set[str]:
    used = set(conn.execute(select(ec2_network_interfaces.c.private_ip)).scalars())
    used.update(conn.execute(select(ec2_vpcs.c.resolver_address)).scalars())
    return used


class SqlEc2:
    """VPCs, subnets, security groups and VPC endpoints (mixed into ``SqlStore``)."""

    _engine: Engine

    # --- VPCs -------------------------------------------------------------------------------

    def create_vpc(
        self,
        account_id: str,
        region: str,
        cidr_block: str,
        now: datetime,
        pool: Pool,
        *,
        tags: Tags = (),
        rng: RNG = os.urandom,
    ) -> Vpc:
        """A VPC with its ``default`` security group (inbound from itself) and its resolver
        address from ``pool`` (``VpcLimitExceeded`` when the pool is full)."""
        with transactions.write(self._engine) as conn:
            found = allocate(pool, _used_addresses(conn), 1)
            if found is None:
                raise VpcLimitExceeded(
                    "The maximum number of VPCs has been reached (the endpoint address pool "
                    f"{pool} has no free address for the VPC's resolver)."
                )
            vpc_id = new_id("vpc", rng)
            conn.execute(
                insert(ec2_vpcs).values(
                    vpc_id=vpc_id,
                    account_id=account_id,
                    region=region,
                    cidr_block=cidr_block,
                    resolver_address=found[0],
                    created_at=now,
                )
            )
            _write_tags(conn, vpc_id, tags)
            group_id = new_id("sg", rng)
            conn.execute(
                insert(ec2_security_groups).values(
                    group_id=group_id,
                    vpc_id=vpc_id,
                    account_id=account_id,
                    region=region,
                    group_name="default",
                    description=DEFAULT_GROUP_DESCRIPTION,
                )
            )
            conn.execute(
                insert(ec2_security_group_rules).values(
                    rule_id=new_id("sgr", rng),
                    group_id=group_id,
                    ip_protocol="-1",
                    referenced_group_id=group_id,
                )
            )
            row = conn.execute(select(ec2_vpcs).where(ec2_vpcs.c.vpc_id == vpc_id)).one()
            return _vpc(row, tuple(dict(tags).items()))

    def list_vpcs(self, account_id: str, region: str) -> list[Vpc]:
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(ec2_vpcs)
                .where(*_scope(ec2_vpcs, account_id, region))
                .order_by(ec2_vpcs.c.vpc_id)
            ).all()
            tags = _tags_of(conn, (r.vpc_id for r in rows))
        return [_vpc(r, tags[r.vpc_id]) for r in rows]

    def get_vpc(self, account_id: str, region: str, vpc_id: str) -> Vpc | None:
        with transactions.read(self._engine) as conn:
            row = self._vpc_row(conn, account_id, region, vpc_id)
            if row is None:
                return None
            return _vpc(row, _tags_of(conn, [vpc_id])[vpc_id])

    def delete_vpc(self, account_id: str, region: str, vpc_id: str) -> None:
        """Delete an empty VPC (its default group goes with it); ``DependencyViolation`` while
        it has subnets, endpoints or other security groups."""
        with transactions.write(self._engine) as conn:
            if self._vpc_row(conn, account_id, region, vpc_id) is None:
                raise vpc_not_found(vpc_id)
            groups = conn.execute(
                select(ec2_security_groups.c.group_id, ec2_security_groups.c.group_name).where(
                    ec2_security_groups.c.vpc_id == vpc_id
                )
            ).all()
            busy = (
                conn.execute(
                    select(ec2_subnets.c.subnet_id).where(ec2_subnets.c.vpc_id == vpc_id).limit(1)
                ).first()
                or conn.execute(
                    select(ec2_vpc_endpoints.c.vpc_endpoint_id)
                    .where(ec2_vpc_endpoints.c.vpc_id == vpc_id)
                    .limit(1)
                ).first()
                or any(g.group_name != "default" for g in groups)
            )
            if busy:
                raise DependencyViolation(
                    f"The vpc '{vpc_id}' has dependencies and cannot be deleted."
                )
            ids = [g.group_id for g in groups]
            conn.execute(delete(ec2_tags).where(ec2_tags.c.resource_id.in_([*ids, vpc_id])))
            conn.execute(
                delete(ec2_security_group_rules).where(ec2_security_group_rules.c.group_id.in_(ids))
            )
            conn.execute(delete(ec2_security_groups).where(ec2_security_groups.c.vpc_id == vpc_id))
            conn.execute(delete(ec2_vpcs).where(ec2_vpcs.c.vpc_id == vpc_id))

    def vpc_resolvers(self) -> list[tuple[str, str]]:
        """(VPC id, resolver address) of every VPC of every account (for the DNS responder)."""
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(ec2_vpcs.c.vpc_id, ec2_vpcs.c.resolver_address).order_by(ec2_vpcs.c.vpc_id)
            ).all()
        return [(r.vpc_id, r.resolver_address) for r in rows]

    @staticmethod
    def _vpc_row(conn: Connection, account_id: str, region: str, vpc_id: str) -> Row[Any] | None:
        return conn.execute(
            select(ec2_vpcs).where(
                ec2_vpcs.c.vpc_id == vpc_id,
                ec2_vpcs.c.account_id == account_id,
                ec2_vpcs.c.region == region,
            )
        ).first()

    # --- subnets ----------------------------------------------------------------------------

    def create_subnet(
        self,
        account_id: str,
        region: str,
        vpc_id: str,
        cidr_block: str,
        availability_zone: str,
        now: datetime,
        *,
        tags: Tags = (),
        rng: RNG = os.urandom,
    ) -> Subnet:
        """A subnet of ``vpc_id``: its CIDR must lie inside the VPC's (``InvalidSubnet.Range``)
        and overlap no other subnet of the VPC (``InvalidSubnet.Conflict``)."""
        network = ipaddress.IPv4Network(cidr_block)
        with transactions.write(self._engine) as conn:
            vpc = self._vpc_row(conn, account_id, region, vpc_id)
            if vpc is None:
                raise vpc_not_found(vpc_id)
            if not network.subnet_of(ipaddress.IPv4Network(vpc.cidr_block)):
                raise InvalidSubnetRange(f"The CIDR '{cidr_block}' is invalid.")
            siblings = conn.execute(
                select(ec2_subnets.c.cidr_block).where(ec2_subnets.c.vpc_id == vpc_id)
            ).scalars()
            if any(network.overlaps(ipaddress.IPv4Network(c)) for c in siblings):
                raise InvalidSubnetConflict(
                    f"The CIDR '{cidr_block}' conflicts with another subnet"
                )
            subnet_id = new_id("subnet", rng)
            conn.execute(
                insert(ec2_subnets).values(
                    subnet_id=subnet_id,
                    vpc_id=vpc_id,
                    account_id=account_id,
                    region=region,
                    cidr_block=cidr_block,
                    availability_zone=availability_zone,
                    created_at=now,
                )
            )
            _write_tags(conn, subnet_id, tags)
            row = conn.execute(select(ec2_subnets).where(ec2_subnets.c.subnet_id == subnet_id))
            return _subnet(row.one(), tuple(dict(tags).items()))

    def list_subnets(self, account_id: str, region: str) -> list[Subnet]:
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(ec2_subnets)
                .where(*_scope(ec2_subnets, account_id, region))
                .order_by(ec2_subnets.c.subnet_id)
            ).all()
            tags = _tags_of(conn, (r.subnet_id for r in rows))
        return [_subnet(r, tags[r.subnet_id]) for r in rows]

    def subnet_interface_counts(self, subnet_ids: Sequence[str]) -> dict[str, int]:
        """How many endpoint interfaces each subnet holds (``AvailableIpAddressCount``)."""
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(ec2_network_interfaces.c.subnet_id).where(
                    ec2_network_interfaces.c.subnet_id.in_(list(subnet_ids))
                )
            ).scalars()
            out = dict.fromkeys(subnet_ids, 0)
            for subnet_id in rows:
                out[subnet_id] += 1
        return out

    def delete_subnet(self, account_id: str, region: str, subnet_id: str) -> None:
        with transactions.write(self._engine) as conn:
            found = conn.execute(
                select(ec2_subnets.c.subnet_id).where(
                    ec2_subnets.c.subnet_id == subnet_id,
                    *_scope(ec2_subnets, account_id, region),
                )
            ).first()
            if found is None:
                raise _subnet_missing(subnet_id)
            used = conn.execute(
                select(ec2_network_interfaces.c.network_interface_id)
                .where(ec2_network_interfaces.c.subnet_id == subnet_id)
                .limit(1)
            ).first()
            if used is not None:
                raise DependencyViolation(
                    f"The subnet '{subnet_id}' has dependencies and cannot be deleted."
                )
            conn.execute(delete(ec2_tags).where(ec2_tags.c.resource_id == subnet_id))
            conn.execute(delete(ec2_subnets).where(ec2_subnets.c.subnet_id == subnet_id))

    # --- security groups ------------------------------------------------------------------

    def create_security_group(
        self,
        account_id: str,
        region: str,
        vpc_id: str,
        group_name: str,
        description: str,
        *,
        tags: Tags = (),
        rng: RNG = os.urandom,
    ) -> SecurityGroup:
        with transactions.write(self._engine) as conn:
            if self._vpc_row(conn, account_id, region, vpc_id) is None:
                raise vpc_not_found(vpc_id)
            clash = conn.execute(
                select(ec2_security_groups.c.group_id).where(
                    ec2_security_groups.c.vpc_id == vpc_id,
                    ec2_security_groups.c.group_name == group_name,
                )
            ).first()
            if clash is not None:
                raise InvalidGroupDuplicate(
                    f"The security group '{group_name}' already exists for VPC '{vpc_id}'"
                )
            group_id = new_id("sg", rng)
            conn.execute(
                insert(ec2_security_groups).values(
                    group_id=group_id,
                    vpc_id=vpc_id,
                    account_id=account_id,
                    region=region,
                    group_name=group_name,
                    description=description,
                )
            )
            _write_tags(conn, group_id, tags)
        return SecurityGroup(
            group_id=group_id,
            vpc_id=vpc_id,
            account_id=account_id,
            region=region,
            group_name=group_name,
            description=description,
            tags=tuple(dict(tags).items()),
        )

    def list_security_groups(self, account_id: str, region: str) -> list[SecurityGroup]:
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(ec2_security_groups)
                .where(*_scope(ec2_security_groups, account_id, region))
                .order_by(ec2_security_groups.c.group_id)
            ).all()
            return self._groups(conn, rows)

    def get_security_group(self, account_id: str, region: str, group_id: str) -> SecurityGroup:
        """The group (``InvalidGroup.NotFound`` if the caller has no such group here)."""
        with transactions.read(self._engine) as conn:
            return self._group(conn, account_id, region, group_id)

    def _group(
        self, conn: Connection, account_id: str, region: str, group_id: str
    ) -> SecurityGroup:
        rows = conn.execute(
            select(ec2_security_groups).where(
                ec2_security_groups.c.group_id == group_id,
                *_scope(ec2_security_groups, account_id, region),
            )
        ).all()
        if not rows:
            raise _group_missing(group_id)
        return self._groups(conn, rows)[0]

    @staticmethod
    def _groups(conn: Connection, rows: Sequence[Row[Any]]) -> list[SecurityGroup]:
        ids = [r.group_id for r in rows]
        rules: dict[str, list[IngressRule]] = {i: [] for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            for row in conn.execute(
                select(ec2_security_group_rules)
                .where(ec2_security_group_rules.c.group_id.in_(chunk))
                .order_by(ec2_security_group_rules.c.rule_id)
            ).all():
                rules[row.group_id].append(_rule(row))
        tags = _tags_of(conn, ids)
        return [
            SecurityGroup(
                group_id=r.group_id,
                vpc_id=r.vpc_id,
                account_id=r.account_id,
                region=r.region,
                group_name=r.group_name,
                description=r.description,
                rules=tuple(rules[r.group_id]),
                tags=tags[r.group_id],
            )
            for r in rows
        ]

    def authorize_ingress(
        self,
        account_id: str,
        region: str,
        group_id: str,
        specs: Sequence[RuleSpec],
        *,
        rng: RNG = os.urandom,
    ) -> list[IngressRule]:
        """Add inbound rules (all or none): ``InvalidPermission.Duplicate`` for a rule the group
        already has; a referenced group must be in the same VPC."""
        with transactions.write(self._engine) as conn:
            group = self._group(conn, account_id, region, group_id)
            added: list[IngressRule] = []
            for spec in specs:
                if spec.referenced_group_id is not None:
                    other = self._group(conn, account_id, region, spec.referenced_group_id)
                    if other.vpc_id != group.vpc_id:
                        raise Ec2InvalidParameter(
                            f"You have specified two resources that belong to different "
                            f"networks: {other.group_id} and {group.group_id}."
                        )
                known = [r.spec for r in group.rules] + [r.spec for r in added]
                if any(spec.same_permission(k) for k in known):
                    raise InvalidPermissionDuplicate(
                        f'the specified rule "{rule_text(spec)}" already exists'
                    )
                added.append(IngressRule(new_id("sgr", rng), group_id, spec))
            for rule in added:
                conn.execute(
                    insert(ec2_security_group_rules).values(
                        rule_id=rule.rule_id,
                        group_id=group_id,
                        ip_protocol=rule.spec.ip_protocol,
                        from_port=rule.spec.from_port,
                        to_port=rule.spec.to_port,
                        cidr_ipv4=rule.spec.cidr_ipv4,
                        referenced_group_id=rule.spec.referenced_group_id,
                        description=rule.spec.description,
                    )
                )
            return added

    def revoke_ingress(
        self,
        account_id: str,
        region: str,
        group_id: str,
        specs: Sequence[RuleSpec] = (),
        rule_ids: Sequence[str] = (),
    ) -> list[IngressRule]:
        """Remove inbound rules by permission or by rule id (all or none):
        ``InvalidPermission.NotFound`` for one the group does not have."""
        with transactions.write(self._engine) as conn:
            group = self._group(conn, account_id, region, group_id)
            gone: list[IngressRule] = []
            for spec in specs:
                match = next((r for r in group.rules if r.spec.same_permission(spec)), None)
                if match is None:
                    raise InvalidPermissionNotFound(
                        "The specified rule does not exist in this security group."
                    )
                gone.append(match)
            for rule_id in rule_ids:
                match = next((r for r in group.rules if r.rule_id == rule_id), None)
                if match is None:
                    raise InvalidPermissionNotFound(
                        f"The security group rule ID '{rule_id}' does not exist"
                    )
                gone.append(match)
            ids = sorted({r.rule_id for r in gone})
            conn.execute(
                delete(ec2_security_group_rules).where(ec2_security_group_rules.c.rule_id.in_(ids))
            )
            return [r for r in group.rules if r.rule_id in ids]

    def delete_security_group(self, account_id: str, region: str, group_id: str) -> None:
        """``CannotDelete`` for a VPC's default group; ``DependencyViolation`` while an endpoint
        uses the group or another group's rule refers to it."""
        with transactions.write(self._engine) as conn:
            group = self._group(conn, account_id, region, group_id)
            if group.group_name == "default":
                raise CannotDelete(
                    f'the specified group: "{group_id}" name: "default" cannot be deleted by a user'
                )
            used = (
                conn.execute(
                    select(ec2_vpc_endpoint_groups.c.vpc_endpoint_id)
                    .where(ec2_vpc_endpoint_groups.c.group_id == group_id)
                    .limit(1)
                ).first()
                or conn.execute(
                    select(ec2_security_group_rules.c.rule_id)
                    .where(
                        ec2_security_group_rules.c.referenced_group_id == group_id,
                        ec2_security_group_rules.c.group_id != group_id,
                    )
                    .limit(1)
                ).first()
            )
            if used is not None:
                raise DependencyViolation(f"resource {group_id} has a dependent object")
            conn.execute(delete(ec2_tags).where(ec2_tags.c.resource_id == group_id))
            conn.execute(
                delete(ec2_security_group_rules).where(
                    ec2_security_group_rules.c.group_id == group_id
                )
            )
            conn.execute(
                delete(ec2_security_groups).where(ec2_security_groups.c.group_id == group_id)
            )
