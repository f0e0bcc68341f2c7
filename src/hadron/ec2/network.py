"""EC2 handlers for VPCs, subnets and security groups (EC2 protocol, version 2016-11-15).

Layer: handlers (use the store). Spec: security.md §7.1 (what endpoints need of the network);
messages and codes are EC2's (API reference, "Error codes"). Each handler is a ``CallHandler``
(``hadron.gateway.Call``): the gateway has authenticated, validated and authorized the request,
so a ``DryRun`` request that reaches a handler answers ``DryRunOperation``. Resources live in
the caller's account and the request's region. Hadron creates no default VPC: every VPC is
created by CreateVpc and gets a ``default`` security group (inbound from itself, outbound to
anywhere) and a resolver address from the endpoint address pool.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hadron.ec2.filters import matches, page, parse_filters, resource_values
from hadron.ec2.params import (
    dry_run,
    required,
    rule_specs,
    subnet_cidr,
    tags_for,
    vpc_cidr,
)
from hadron.ec2.shapes import group_shape, rule_shape, subnet_shape, vpc_shape
from hadron.ec2.zones import zone_id, zones
from hadron.errors import (
    Ec2InvalidParameterCombination,
    Ec2InvalidParameterValue,
    Ec2MissingParameter,
    InvalidGroupNotFound,
    InvalidSubnetIdNotFound,
    ServiceError,
)
from hadron.gateway import Call, CallHandler
from hadron.store.ec2 import vpc_not_found
from hadron.store.ec2_records import SecurityGroup
from hadron.store.vpc_endpoints import SqlVpcEndpoints

__all__ = ["NetworkApi"]

Result = dict[str, Any]
RNG = Callable[[int], bytes]

_VPC_FILTERS = (
    "vpc-id",
    "cidr",
    "cidr-block-association.cidr-block",
    "cidr-block-association.state",
    "state",
    "owner-id",
    "is-default",
    "dhcp-options-id",
)
_SUBNET_FILTERS = (
    "subnet-id",
    "vpc-id",
    "cidr-block",
    "cidr",
    "cidrBlock",
    "availability-zone",
    "availabilityZone",
    "availability-zone-id",
    "state",
    "owner-id",
    "default-for-az",
    "defaultForAz",
    "subnet-arn",
)
_GROUP_FILTERS = (
    "group-id",
    "group-name",
    "vpc-id",
    "description",
    "owner-id",
    "ip-permission.cidr",
    "ip-permission.group-id",
    "ip-permission.protocol",
    "ip-permission.from-port",
    "ip-permission.to-port",
)
_UNSUPPORTED_VPC_PARAMS = (
    "Ipv6Pool",
    "Ipv6CidrBlock",
    "Ipv4IpamPoolId",
    "Ipv4NetmaskLength",
    "Ipv6IpamPoolId",
    "Ipv6NetmaskLength",
    "Ipv6CidrBlockNetworkBorderGroup",
    "VpcEncryptionControl",
)
_UNSUPPORTED_SUBNET_PARAMS = (
    "Ipv6CidrBlock",
    "OutpostArn",
    "Ipv4IpamPoolId",
    "Ipv4NetmaskLength",
    "Ipv6IpamPoolId",
    "Ipv6NetmaskLength",
)


def _unsupported(params: Mapping[str, Any], names: Sequence[str]) -> None:
    for name in names:
        if params.get(name):
            raise Ec2InvalidParameterValue(
                f"The parameter {name} is not supported by Hadron (IPv4 VPCs only)."
            )


def _ids(params: Mapping[str, Any], name: str) -> list[str]:
    return [str(v) for v in params.get(name) or ()]


class NetworkApi:
    """CreateVpc … DeleteSecurityGroup, bound to a store, an address pool and an RNG."""

    def __init__(
        self,
        store: SqlVpcEndpoints,
        pool: ipaddress.IPv4Network,
        *,
        rng: RNG = os.urandom,
    ) -> None:
        self._store = store
        self._pool = pool
        self._rng = rng

    def handlers(self) -> dict[tuple[str, str], CallHandler]:
        ops: dict[str, CallHandler] = {
            "CreateVpc": self.create_vpc,
            "DescribeVpcs": self.describe_vpcs,
            "DeleteVpc": self.delete_vpc,
            "CreateSubnet": self.create_subnet,
            "DescribeSubnets": self.describe_subnets,
            "DeleteSubnet": self.delete_subnet,
            "CreateSecurityGroup": self.create_security_group,
            "DescribeSecurityGroups": self.describe_security_groups,
            "DeleteSecurityGroup": self.delete_security_group,
            "AuthorizeSecurityGroupIngress": self.authorize_security_group_ingress,
            "RevokeSecurityGroupIngress": self.revoke_security_group_ingress,
        }
        return {("ec2", name): handler for name, handler in ops.items()}

    # --- VPCs -------------------------------------------------------------------------------

    def create_vpc(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        _unsupported(params, _UNSUPPORTED_VPC_PARAMS)
        if params.get("AmazonProvidedIpv6CidrBlock"):
            _unsupported({"AmazonProvidedIpv6CidrBlock": True}, ["AmazonProvidedIpv6CidrBlock"])
        if params.get("InstanceTenancy") not in (None, "default"):
            raise Ec2InvalidParameterValue(
                f"The tenancy value {params['InstanceTenancy']} is not supported."
            )
        if not params.get("CidrBlock"):
            raise Ec2MissingParameter("Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
        cidr = vpc_cidr(str(params["CidrBlock"]))
        tags = tags_for(params, "vpc")
        vpc = self._store.create_vpc(
            call.principal.account_id,
            call.region,
            cidr,
            call.now,
            self._pool,
            tags=tags,
            rng=self._rng,
        )
        return {"Vpc": {**vpc_shape(vpc), "State": "pending"}}

    def describe_vpcs(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        filters = parse_filters(params.get("Filters"), _VPC_FILTERS)
        vpcs = self._store.list_vpcs(call.principal.account_id, call.region)
        wanted = _ids(params, "VpcIds")
        if wanted:
            known = {v.vpc_id for v in vpcs}
            for vpc_id in wanted:
                if vpc_id not in known:
                    raise vpc_not_found(vpc_id)
            vpcs = [v for v in vpcs if v.vpc_id in set(wanted)]
        selected = [
            v
            for v in vpcs
            if matches(
                resource_values(
                    {
                        "vpc-id": v.vpc_id,
                        "cidr": v.cidr_block,
                        "cidr-block-association.cidr-block": v.cidr_block,
                        "cidr-block-association.state": "associated",
                        "state": "available",
                        "owner-id": v.account_id,
                        "is-default": False,
                        "dhcp-options-id": "default",
                    },
                    v.tags,
                ),
                filters,
            )
        ]
        chunk, token = page(
            selected, lambda v: v.vpc_id, params.get("MaxResults"), params.get("NextToken")
        )
        out: Result = {"Vpcs": [vpc_shape(v) for v in chunk]}
        if token:
            out["NextToken"] = token
        return out

    def delete_vpc(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        self._store.delete_vpc(call.principal.account_id, call.region, str(params["VpcId"]))
        return {}

    # --- subnets ----------------------------------------------------------------------------

    def _zone(self, call: Call, vpc_id: str) -> str:
        params = call.params
        names = zones(call.region)
        zone = params.get("AvailabilityZone")
        zid = params.get("AvailabilityZoneId")
        if zone and zid:
            raise Ec2InvalidParameterCombination(
                "Only one of availabilityZone or availabilityZoneId may be specified."
            )
        if zid:
            by_id = {zone_id(n): n for n in names}
            if zid not in by_id:
                raise Ec2InvalidParameterValue(
                    f"Value ({zid}) for parameter availabilityZoneId is invalid. Subnets can "
                    f"currently only be created in the following availability zones: "
                    f"{', '.join(by_id)}."
                )
            return by_id[zid]
        if zone:
            if zone not in names:
                raise Ec2InvalidParameterValue(
                    f"Value ({zone}) for parameter availabilityZone is invalid. Subnets can "
                    f"currently only be created in the following availability zones: "
                    f"{', '.join(names)}."
                )
            return str(zone)
        # AWS picks a zone; Hadron picks the one with the fewest subnets of the VPC.
        counts = dict.fromkeys(names, 0)
        for subnet in self._store.list_subnets(call.principal.account_id, call.region):
            if subnet.vpc_id == vpc_id and subnet.availability_zone in counts:
                counts[subnet.availability_zone] += 1
        return min(names, key=lambda n: (counts[n], n))

    def create_subnet(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        _unsupported(params, _UNSUPPORTED_SUBNET_PARAMS)
        if params.get("Ipv6Native"):
            _unsupported({"Ipv6Native": True}, ["Ipv6Native"])
        vpc_id = str(params["VpcId"])
        cidr = subnet_cidr(str(required(params, "CidrBlock", "cidrBlock")))
        tags = tags_for(params, "subnet")
        account = call.principal.account_id
        if self._store.get_vpc(account, call.region, vpc_id) is None:
            raise vpc_not_found(vpc_id)
        zone = self._zone(call, vpc_id)
        subnet = self._store.create_subnet(
            account, call.region, vpc_id, cidr, zone, call.now, tags=tags, rng=self._rng
        )
        return {"Subnet": {**subnet_shape(subnet, 0), "State": "available"}}

    def describe_subnets(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        filters = parse_filters(params.get("Filters"), _SUBNET_FILTERS)
        subnets = self._store.list_subnets(call.principal.account_id, call.region)
        wanted = _ids(params, "SubnetIds")
        if wanted:
            known = {s.subnet_id for s in subnets}
            for subnet_id in wanted:
                if subnet_id not in known:
                    raise InvalidSubnetIdNotFound(f"The subnet ID '{subnet_id}' does not exist")
            subnets = [s for s in subnets if s.subnet_id in set(wanted)]
        selected = []
        for s in subnets:
            arn = f"arn:aws:ec2:{s.region}:{s.account_id}:subnet/{s.subnet_id}"
            values = resource_values(
                {
                    "subnet-id": s.subnet_id,
                    "vpc-id": s.vpc_id,
                    "cidr-block": s.cidr_block,
                    "cidr": s.cidr_block,
                    "cidrBlock": s.cidr_block,
                    "availability-zone": s.availability_zone,
                    "availabilityZone": s.availability_zone,
                    "availability-zone-id": zone_id(s.availability_zone),
                    "state": "available",
                    "owner-id": s.account_id,
                    "default-for-az": False,
                    "defaultForAz": False,
                    "subnet-arn": arn,
                },
                s.tags,
            )
            if matches(values, filters):
                selected.append(s)
        chunk, token = page(
            selected, lambda s: s.subnet_id, params.get("MaxResults"), params.get("NextToken")
        )
        counts = self._store.subnet_interface_counts([s.subnet_id for s in chunk])
        out: Result = {"Subnets": [subnet_shape(s, counts[s.subnet_id]) for s in chunk]}
        if token:
            out["NextToken"] = token
        return out

    def delete_subnet(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        self._store.delete_subnet(call.principal.account_id, call.region, str(params["SubnetId"]))
        return {}

    # --- security groups ------------------------------------------------------------------

    def create_security_group(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        name = str(params["GroupName"])
        description = str(params["Description"])
        if not params.get("VpcId"):
            raise ServiceError(
                "No default VPC for this user. GroupName is only supported for EC2-Classic and "
                "default VPC.",
                code="VPCIdNotSpecified",
                status=400,
            )
        if name.lower() == "default":
            raise ServiceError(
                f"The security group '{name}' is reserved", code="InvalidGroup.Reserved", status=400
            )
        if name.lower().startswith("sg-"):
            raise Ec2InvalidParameterValue("Group names may not be in the format sg-*.")
        if not name or len(name) > 255 or not description or len(description) > 255:
            raise Ec2InvalidParameterValue(
                "Group name and description must be 1 to 255 characters long."
            )
        tags = tags_for(params, "security-group")
        group = self._store.create_security_group(
            call.principal.account_id,
            call.region,
            str(params["VpcId"]),
            name,
            description,
            tags=tags,
            rng=self._rng,
        )
        out: Result = {
            "GroupId": group.group_id,
            "SecurityGroupArn": group_shape(group)["SecurityGroupArn"],
        }
        if group.tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in group.tags]
        return out

    def _group_of(self, call: Call) -> SecurityGroup:
        params = call.params
        account = call.principal.account_id
        if params.get("GroupId"):
            return self._store.get_security_group(account, call.region, str(params["GroupId"]))
        name = params.get("GroupName")
        if name:
            # Group names identify groups of the default VPC only, and Hadron creates none.
            raise InvalidGroupNotFound(
                f"The security group '{name}' does not exist in default VPC 'none'"
            )
        raise Ec2MissingParameter("The request must contain the parameter groupId")

    def describe_security_groups(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        filters = parse_filters(params.get("Filters"), _GROUP_FILTERS)
        groups = self._store.list_security_groups(call.principal.account_id, call.region)
        wanted = _ids(params, "GroupIds")
        if wanted:
            known = {g.group_id for g in groups}
            for group_id in wanted:
                if group_id not in known:
                    raise InvalidGroupNotFound(f"The security group '{group_id}' does not exist")
            groups = [g for g in groups if g.group_id in set(wanted)]
        names = _ids(params, "GroupNames")
        if names:
            groups = [g for g in groups if g.group_name in set(names)]
        selected = []
        for g in groups:
            specs = [r.spec for r in g.rules]
            values = resource_values(
                {
                    "group-id": g.group_id,
                    "group-name": g.group_name,
                    "vpc-id": g.vpc_id,
                    "description": g.description,
                    "owner-id": g.account_id,
                    "ip-permission.cidr": [s.cidr_ipv4 for s in specs if s.cidr_ipv4],
                    "ip-permission.group-id": [
                        s.referenced_group_id for s in specs if s.referenced_group_id
                    ],
                    "ip-permission.protocol": [s.ip_protocol for s in specs],
                    "ip-permission.from-port": [
                        str(s.from_port) for s in specs if s.from_port is not None
                    ],
                    "ip-permission.to-port": [
                        str(s.to_port) for s in specs if s.to_port is not None
                    ],
                },
                g.tags,
            )
            if matches(values, filters):
                selected.append(g)
        chunk, token = page(
            selected, lambda g: g.group_id, params.get("MaxResults"), params.get("NextToken")
        )
        out: Result = {"SecurityGroups": [group_shape(g) for g in chunk]}
        if token:
            out["NextToken"] = token
        return out

    def delete_security_group(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        group = self._group_of(call)
        self._store.delete_security_group(call.principal.account_id, call.region, group.group_id)
        return {"Return": True, "GroupId": group.group_id}

    def authorize_security_group_ingress(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        group = self._group_of(call)
        specs = rule_specs(params)
        added = self._store.authorize_ingress(
            call.principal.account_id, call.region, group.group_id, specs, rng=self._rng
        )
        return {"Return": True, "SecurityGroupRules": [rule_shape(r, group) for r in added]}

    def revoke_security_group_ingress(self, call: Call) -> Result:
        params = call.params
        dry_run(params)
        group = self._group_of(call)
        rule_ids = _ids(params, "SecurityGroupRuleIds")
        specs = rule_specs(params) if not rule_ids or params.get("IpPermissions") else []
        gone = self._store.revoke_ingress(
            call.principal.account_id, call.region, group.group_id, specs, rule_ids
        )
        revoked = []
        for rule in gone:
            item: Result = {
                "SecurityGroupRuleId": rule.rule_id,
                "GroupId": group.group_id,
                "IsEgress": False,
                "IpProtocol": rule.spec.ip_protocol,
                "FromPort": -1 if rule.spec.from_port is None else rule.spec.from_port,
                "ToPort": -1 if rule.spec.to_port is None else rule.spec.to_port,
            }
            if rule.spec.cidr_ipv4:
                item["CidrIpv4"] = rule.spec.cidr_ipv4
            if rule.spec.referenced_group_id:
                item["ReferencedGroupId"] = rule.spec.referenced_group_id
            if rule.spec.description:
                item["Description"] = rule.spec.description
            revoked.append(item)
        return {"Return": True, "RevokedSecurityGroupRules": revoked}
