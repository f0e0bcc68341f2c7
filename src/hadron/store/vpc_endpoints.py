"""The VPC endpoint repository: interface endpoints, their security groups and interfaces.

Layer 3 (store, edge). Spec: security.md §7.1-7.3. Same rules as ``hadron.store.ec2`` (one
transaction per method, all-or-nothing). Endpoints are created in state ``available`` (AWS
services accept interface endpoints automatically; Hadron has no provisioning delay) and deleted
at once (AWS shows ``deleting`` for a while; Hadron removes the row and its interfaces in the
same transaction, so a listener manager never sees an interface without its endpoint).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update

from hadron.ec2.addresses import allocate
from hadron.ec2.ids import dns_suffix, new_id
from hadron.errors import (
    DuplicateSubnetsInSameZone,
    Ec2InvalidParameter,
    IdempotentParameterMismatch,
    InsufficientFreeAddressesInSubnet,
    InvalidGroupNotFound,
    InvalidSubnetIdNotFound,
    InvalidVpcEndpointIdNotFound,
)
from hadron.store import transactions
from hadron.store.ec2 import SqlEc2, _tags_of, _used_addresses, _write_tags, vpc_not_found
from hadron.store.ec2_records import EndpointChange, NetworkInterface, NewEndpoint, VpcEndpoint
from hadron.store.schema_ec2 import (
    ec2_network_interfaces,
    ec2_security_groups,
    ec2_subnets,
    ec2_tags,
    ec2_vpc_endpoint_groups,
    ec2_vpc_endpoints,
)

__all__ = ["SqlVpcEndpoints", "endpoint_not_found"]

RNG = Callable[[int], bytes]
Pool = ipaddress.IPv4Network


def endpoint_not_found(endpoint_id: str) -> InvalidVpcEndpointIdNotFound:
    return InvalidVpcEndpointIdNotFound(f"The Vpc Endpoint Id '{endpoint_id}' does not exist")


class SqlVpcEndpoints(SqlEc2):
    """Interface VPC endpoints (mixed into ``SqlStore``)."""

    _engine: Engine

    def create_vpc_endpoint(
        self, new: NewEndpoint, now: datetime, pool: Pool, *, rng: RNG = os.urandom
    ) -> tuple[VpcEndpoint, bool]:
        """Create the endpoint, one interface per subnet (addresses from ``pool``) and its
        group links; or, for a client token already used with the same request, return that
        endpoint. The flag says whether it was created now."""
        with transactions.write(self._engine) as conn:
            if new.client_token is not None:
                prior = conn.execute(
                    select(ec2_vpc_endpoints).where(
                        ec2_vpc_endpoints.c.account_id == new.account_id,
                        ec2_vpc_endpoints.c.client_token == new.client_token,
                    )
                ).first()
                if prior is not None:
                    if prior.request_fingerprint != new.fingerprint:
                        raise IdempotentParameterMismatch(
                            "The client token you have provided is associated with a resource "
                            "that is already deleted or has different parameters. Please use "
                            "a different client token."
                        )
                    return self._endpoints(conn, [prior])[0], False
            if self._vpc_row(conn, new.account_id, new.region, new.vpc_id) is None:
                raise vpc_not_found(new.vpc_id)
            subnets = self._endpoint_subnets(conn, new.account_id, new.region)
            _check_zones(subnets, new.vpc_id, list(new.subnet_ids))
            if new.group_ids is None:
                default = conn.execute(
                    select(ec2_security_groups.c.group_id).where(
                        ec2_security_groups.c.vpc_id == new.vpc_id,
                        ec2_security_groups.c.group_name == "default",
                    )
                ).scalar_one()
                group_ids = [default]
            else:
                group_ids = list(dict.fromkeys(new.group_ids))
            self._check_groups(conn, new.account_id, new.region, new.vpc_id, group_ids)
            if new.private_dns_enabled:
                self._check_private_dns(conn, new.vpc_id, new.service_name, new.private_dns_name)
            endpoint_id = new_id("vpce", rng)
            conn.execute(
                insert(ec2_vpc_endpoints).values(
                    vpc_endpoint_id=endpoint_id,
                    vpc_id=new.vpc_id,
                    account_id=new.account_id,
                    region=new.region,
                    service_name=new.service_name,
                    state="available",
                    private_dns_enabled=int(new.private_dns_enabled),
                    policy_document=new.policy_document,
                    dns_suffix=dns_suffix(rng),
                    created_at=now,
                    client_token=new.client_token,
                    request_fingerprint=new.fingerprint,
                )
            )
            _link_groups(conn, endpoint_id, group_ids, 0)
            _add_interfaces(conn, endpoint_id, list(new.subnet_ids), now, pool, rng)
            _write_tags(conn, endpoint_id, new.tags)
            row = conn.execute(
                select(ec2_vpc_endpoints).where(ec2_vpc_endpoints.c.vpc_endpoint_id == endpoint_id)
            ).one()
            return self._endpoints(conn, [row])[0], True

    def modify_vpc_endpoint(
        self,
        account_id: str,
        region: str,
        endpoint_id: str,
        change: EndpointChange,
        now: datetime,
        pool: Pool,
        *,
        rng: RNG = os.urandom,
    ) -> VpcEndpoint:
        with transactions.write(self._engine) as conn:
            row = self._endpoint_row(conn, account_id, region, endpoint_id)
            current = self._endpoints(conn, [row])[0]
            vpc_id = current.vpc_id
            # Subnets: removals first, then additions; one subnet per zone afterwards.
            keep = [s for s in current.subnet_ids if s not in set(change.remove_subnet_ids)]
            for subnet_id in change.remove_subnet_ids:
                if subnet_id not in current.subnet_ids:
                    raise Ec2InvalidParameter(
                        f"Subnet {subnet_id} is not associated with the VPC endpoint {endpoint_id}."
                    )
            adding = [s for s in dict.fromkeys(change.add_subnet_ids) if s not in keep]
            subnets = self._endpoint_subnets(conn, account_id, region)
            _check_zones(subnets, vpc_id, [*keep, *adding])
            # Groups.
            groups = [g for g, _ in current.groups if g not in set(change.remove_group_ids)]
            for group_id in change.remove_group_ids:
                if group_id not in {g for g, _ in current.groups}:
                    raise Ec2InvalidParameter(
                        f"Security group {group_id} is not associated with the VPC endpoint "
                        f"{endpoint_id}."
                    )
            new_groups = [g for g in dict.fromkeys(change.add_group_ids) if g not in groups]
            self._check_groups(conn, account_id, region, vpc_id, new_groups)
            if change.private_dns_enabled and not current.private_dns_enabled:
                self._check_private_dns(
                    conn, vpc_id, current.service_name, change.private_dns_name, endpoint_id
                )
            values: dict[str, Any] = {}
            if change.policy_document is not None:
                values["policy_document"] = change.policy_document
            if change.private_dns_enabled is not None:
                values["private_dns_enabled"] = int(change.private_dns_enabled)
            if values:
                conn.execute(
                    update(ec2_vpc_endpoints)
                    .where(ec2_vpc_endpoints.c.vpc_endpoint_id == endpoint_id)
                    .values(**values)
                )
            if change.remove_subnet_ids:
                conn.execute(
                    delete(ec2_network_interfaces).where(
                        ec2_network_interfaces.c.vpc_endpoint_id == endpoint_id,
                        ec2_network_interfaces.c.subnet_id.in_(list(change.remove_subnet_ids)),
                    )
                )
            _add_interfaces(conn, endpoint_id, adding, now, pool, rng)
            if change.remove_group_ids:
                conn.execute(
                    delete(ec2_vpc_endpoint_groups).where(
                        ec2_vpc_endpoint_groups.c.vpc_endpoint_id == endpoint_id,
                        ec2_vpc_endpoint_groups.c.group_id.in_(list(change.remove_group_ids)),
                    )
                )
            position = 1 + max(
                conn.execute(
                    select(ec2_vpc_endpoint_groups.c.position).where(
                        ec2_vpc_endpoint_groups.c.vpc_endpoint_id == endpoint_id
                    )
                ).scalars(),
                default=-1,
            )
            _link_groups(conn, endpoint_id, new_groups, position)
            fresh = self._endpoint_row(conn, account_id, region, endpoint_id)
            return self._endpoints(conn, [fresh])[0]

    def delete_vpc_endpoint(self, account_id: str, region: str, endpoint_id: str) -> None:
        """Delete the endpoint with its interfaces and group links (``NotFound`` otherwise)."""
        with transactions.write(self._engine) as conn:
            self._endpoint_row(conn, account_id, region, endpoint_id)
            conn.execute(delete(ec2_tags).where(ec2_tags.c.resource_id == endpoint_id))
            conn.execute(
                delete(ec2_network_interfaces).where(
                    ec2_network_interfaces.c.vpc_endpoint_id == endpoint_id
                )
            )
            conn.execute(
                delete(ec2_vpc_endpoint_groups).where(
                    ec2_vpc_endpoint_groups.c.vpc_endpoint_id == endpoint_id
                )
            )
            conn.execute(
                delete(ec2_vpc_endpoints).where(ec2_vpc_endpoints.c.vpc_endpoint_id == endpoint_id)
            )

    def list_vpc_endpoints(
        self, account_id: str | None = None, region: str | None = None
    ) -> list[VpcEndpoint]:
        """The endpoints of an account in a region, ordered by id; with no account, every
        endpoint of every account (a listener manager's view at start-up)."""
        with transactions.read(self._engine) as conn:
            where = []
            if account_id is not None:
                where.append(ec2_vpc_endpoints.c.account_id == account_id)
            if region is not None:
                where.append(ec2_vpc_endpoints.c.region == region)
            rows = conn.execute(
                select(ec2_vpc_endpoints)
                .where(*where)
                .order_by(ec2_vpc_endpoints.c.vpc_endpoint_id)
            ).all()
            return self._endpoints(conn, rows)

    def live_vpc_endpoints(self) -> list[VpcEndpoint]:
        """Every ``available`` endpoint of every account, with its interfaces' addresses."""
        return [e for e in self.list_vpc_endpoints() if e.state == "available"]

    def get_vpc_endpoint(self, endpoint_id: str) -> VpcEndpoint | None:
        """The endpoint with this id in any account (what a request through it needs)."""
        with transactions.read(self._engine) as conn:
            row = conn.execute(
                select(ec2_vpc_endpoints).where(ec2_vpc_endpoints.c.vpc_endpoint_id == endpoint_id)
            ).first()
            return None if row is None else self._endpoints(conn, [row])[0]

    def list_network_interfaces(self, account_id: str, region: str) -> list[NetworkInterface]:
        return sorted(
            (i for e in self.list_vpc_endpoints(account_id, region) for i in e.interfaces),
            key=lambda i: i.network_interface_id,
        )

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _endpoint_row(conn: Connection, account_id: str, region: str, endpoint_id: str) -> Row[Any]:
        row = conn.execute(
            select(ec2_vpc_endpoints).where(
                ec2_vpc_endpoints.c.vpc_endpoint_id == endpoint_id,
                ec2_vpc_endpoints.c.account_id == account_id,
                ec2_vpc_endpoints.c.region == region,
            )
        ).first()
        if row is None:
            raise endpoint_not_found(endpoint_id)
        return row

    @staticmethod
    def _endpoint_subnets(
        conn: Connection, account_id: str, region: str
    ) -> dict[str, tuple[str, str]]:
        """Subnet id → (VPC id, zone) of the caller's subnets in the region."""
        rows = conn.execute(
            select(
                ec2_subnets.c.subnet_id, ec2_subnets.c.vpc_id, ec2_subnets.c.availability_zone
            ).where(ec2_subnets.c.account_id == account_id, ec2_subnets.c.region == region)
        ).all()
        return {r.subnet_id: (r.vpc_id, r.availability_zone) for r in rows}

    @staticmethod
    def _check_groups(
        conn: Connection,
        account_id: str,
        region: str,
        vpc_id: str,
        group_ids: Sequence[str],
    ) -> None:
        if not group_ids:
            return
        rows = conn.execute(
            select(ec2_security_groups.c.group_id, ec2_security_groups.c.vpc_id).where(
                ec2_security_groups.c.group_id.in_(list(group_ids)),
                ec2_security_groups.c.account_id == account_id,
                ec2_security_groups.c.region == region,
            )
        ).all()
        found = {r.group_id: r.vpc_id for r in rows}
        for group_id in group_ids:
            if group_id not in found:
                raise InvalidGroupNotFound(f"The security group '{group_id}' does not exist")
            if found[group_id] != vpc_id:
                raise Ec2InvalidParameter(
                    f"The security group '{group_id}' does not belong to VPC '{vpc_id}'."
                )

    @staticmethod
    def _check_private_dns(
        conn: Connection,
        vpc_id: str,
        service_name: str,
        private_dns_name: str,
        except_id: str | None = None,
    ) -> None:
        clash = conn.execute(
            select(ec2_vpc_endpoints.c.vpc_endpoint_id).where(
                ec2_vpc_endpoints.c.vpc_id == vpc_id,
                ec2_vpc_endpoints.c.service_name == service_name,
                ec2_vpc_endpoints.c.private_dns_enabled == 1,
                ec2_vpc_endpoints.c.vpc_endpoint_id != (except_id or ""),
            )
        ).first()
        if clash is not None:
            raise Ec2InvalidParameter(
                "private-dns-enabled cannot be set because there is already a conflicting DNS "
                f"domain for {private_dns_name} in the VPC {vpc_id}"
            )

    @staticmethod
    def _endpoints(conn: Connection, rows: Sequence[Row[Any]]) -> list[VpcEndpoint]:
        ids = [r.vpc_endpoint_id for r in rows]
        if not ids:
            return []
        groups: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
        for g in conn.execute(
            select(
                ec2_vpc_endpoint_groups.c.vpc_endpoint_id,
                ec2_security_groups.c.group_id,
                ec2_security_groups.c.group_name,
            )
            .join(
                ec2_security_groups,
                ec2_security_groups.c.group_id == ec2_vpc_endpoint_groups.c.group_id,
            )
            .where(ec2_vpc_endpoint_groups.c.vpc_endpoint_id.in_(ids))
            .order_by(ec2_vpc_endpoint_groups.c.position)
        ).all():
            groups[g.vpc_endpoint_id].append((g.group_id, g.group_name))
        by_id = {r.vpc_endpoint_id: r for r in rows}
        interfaces: dict[str, list[NetworkInterface]] = {i: [] for i in ids}
        for n in conn.execute(
            select(ec2_network_interfaces, ec2_subnets.c.availability_zone)
            .join(ec2_subnets, ec2_subnets.c.subnet_id == ec2_network_interfaces.c.subnet_id)
            .where(ec2_network_interfaces.c.vpc_endpoint_id.in_(ids))
            .order_by(ec2_network_interfaces.c.subnet_id)
        ).all():
            owner = by_id[n.vpc_endpoint_id]
            interfaces[n.vpc_endpoint_id].append(
                NetworkInterface(
                    network_interface_id=n.network_interface_id,
                    vpc_endpoint_id=n.vpc_endpoint_id,
                    subnet_id=n.subnet_id,
                    vpc_id=owner.vpc_id,
                    availability_zone=n.availability_zone,
                    private_ip=n.private_ip,
                    account_id=owner.account_id,
                    region=owner.region,
                    created_at=n.created_at,
                    groups=tuple(groups[n.vpc_endpoint_id]),
                )
            )
        tags = _tags_of(conn, ids)
        return [
            VpcEndpoint(
                vpc_endpoint_id=r.vpc_endpoint_id,
                vpc_id=r.vpc_id,
                account_id=r.account_id,
                region=r.region,
                service_name=r.service_name,
                state=r.state,
                private_dns_enabled=bool(r.private_dns_enabled),
                policy_document=r.policy_document,
                dns_suffix=r.dns_suffix,
                created_at=r.created_at,
                client_token=r.client_token,
                groups=tuple(groups[r.vpc_endpoint_id]),
                interfaces=tuple(interfaces[r.vpc_endpoint_id]),
                tags=tags[r.vpc_endpoint_id],
            )
            for r in rows
        ]


def _check_zones(subnets: dict[str, tuple[str, str]], vpc_id: str, chosen: list[str]) -> None:
    """Every chosen subnet exists (in the caller's account and region) and is in ``vpc_id``,
    and no two share a zone (``DuplicateSubnetsInSameZone``)."""
    seen: dict[str, str] = {}
    for subnet_id in chosen:
        if subnet_id not in subnets:
            raise InvalidSubnetIdNotFound(f"The subnet ID '{subnet_id}' does not exist")
        if subnets[subnet_id][0] != vpc_id:
            raise Ec2InvalidParameter(
                f"The subnet ID '{subnet_id}' does not belong to the VPC '{vpc_id}'."
            )
        zone = subnets[subnet_id][1]
        if zone in seen and seen[zone] != subnet_id:
            raise DuplicateSubnetsInSameZone(
                f"Found another VPC endpoint subnet in the availability zone of {subnet_id}. "
                "VPC endpoint subnets should be in different availability zones supported by "
                "the VPC endpoint service."
            )
        seen[zone] = subnet_id


def _link_groups(conn: Connection, endpoint_id: str, group_ids: Sequence[str], start: int) -> None:
    if group_ids:
        conn.execute(
            insert(ec2_vpc_endpoint_groups),
            [
                {"vpc_endpoint_id": endpoint_id, "group_id": g, "position": start + i}
                for i, g in enumerate(group_ids)
            ],
        )


def _add_interfaces(
    conn: Connection,
    endpoint_id: str,
    subnet_ids: Sequence[str],
    now: datetime,
    pool: Pool,
    rng: RNG,
) -> None:
    if not subnet_ids:
        return
    addresses = allocate(pool, _used_addresses(conn), len(subnet_ids))
    if addresses is None:
        raise InsufficientFreeAddressesInSubnet(
            f"There are not enough free addresses in subnet '{subnet_ids[0]}' to create the VPC "
            f"endpoint network interface (the endpoint address pool {pool} is exhausted)."
        )
    conn.execute(
        insert(ec2_network_interfaces),
        [
            {
                "network_interface_id": new_id("eni", rng),
                "vpc_endpoint_id": endpoint_id,
                "subnet_id": subnet_id,
                "private_ip": address,
                "created_at": now,
            }
            for subnet_id, address in zip(subnet_ids, addresses, strict=True)
        ],
    )
