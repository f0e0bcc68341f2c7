"""Store records → EC2 response structures (botocore output-shape member names).

Layer: pure core (records in, dicts out). Spec: security.md §7.2 (``VpcEndpoint``), the EC2
API reference for ``Vpc``, ``Subnet``, ``SecurityGroup``, ``SecurityGroupRule`` and
``NetworkInterface``. Empty tag lists are left out, as EC2 leaves out an empty ``tagSet``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from typing import Any

from hadron.ec2.services import dns_entries, service_for
from hadron.ec2.zones import zone_id
from hadron.store.ec2_records import (
    IngressRule,
    NetworkInterface,
    SecurityGroup,
    Subnet,
    Tags,
    Vpc,
    VpcEndpoint,
)

__all__ = [
    "endpoint_shape",
    "group_shape",
    "interface_shape",
    "rule_shape",
    "subnet_shape",
    "tag_list",
    "vpc_shape",
]

Result = dict[str, Any]


def tag_list(tags: Tags) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


def _with_tags(out: Result, tags: Tags, member: str = "Tags") -> Result:
    if tags:
        out[member] = tag_list(tags)
    return out


def _derived(prefix: str, seed: str) -> str:
    return f"{prefix}-{hashlib.sha256(seed.encode()).hexdigest()[:17]}"


def vpc_shape(vpc: Vpc) -> Result:
    out: Result = {
        "VpcId": vpc.vpc_id,
        "OwnerId": vpc.account_id,
        "State": "available",
        "CidrBlock": vpc.cidr_block,
        "CidrBlockAssociationSet": [
            {
                "AssociationId": _derived("vpc-cidr-assoc", vpc.vpc_id),
                "CidrBlock": vpc.cidr_block,
                "CidrBlockState": {"State": "associated"},
            }
        ],
        "DhcpOptionsId": "default",
        "InstanceTenancy": "default",
        "IsDefault": False,
    }
    return _with_tags(out, vpc.tags)


def subnet_shape(subnet: Subnet, interfaces: int) -> Result:
    """``interfaces``: endpoint interfaces in the subnet (they use up addresses; AWS reserves
    five addresses of every subnet)."""
    size = ipaddress.IPv4Network(subnet.cidr_block).num_addresses
    out: Result = {
        "SubnetId": subnet.subnet_id,
        "SubnetArn": f"arn:aws:ec2:{subnet.region}:{subnet.account_id}:subnet/{subnet.subnet_id}",
        "VpcId": subnet.vpc_id,
        "OwnerId": subnet.account_id,
        "State": "available",
        "CidrBlock": subnet.cidr_block,
        "AvailabilityZone": subnet.availability_zone,
        "AvailabilityZoneId": zone_id(subnet.availability_zone),
        "AvailableIpAddressCount": max(size - 5 - interfaces, 0),
        "DefaultForAz": False,
        "MapPublicIpOnLaunch": False,
        "MapCustomerOwnedIpOnLaunch": False,
        "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [],
        "EnableDns64": False,
        "Ipv6Native": False,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
    }
    return _with_tags(out, subnet.tags)


def _permissions(rules: Sequence[IngressRule], owner: str) -> list[Result]:
    grouped: dict[tuple[str, int | None, int | None], Result] = {}
    for rule in rules:
        spec = rule.spec
        key = (spec.ip_protocol, spec.from_port, spec.to_port)
        if key not in grouped:
            item: Result = {"IpProtocol": spec.ip_protocol}
            if spec.from_port is not None:
                item["FromPort"] = spec.from_port
            if spec.to_port is not None:
                item["ToPort"] = spec.to_port
            item.update(IpRanges=[], Ipv6Ranges=[], PrefixListIds=[], UserIdGroupPairs=[])
            grouped[key] = item
        if spec.cidr_ipv4 is not None:
            cidr: Result = {"CidrIp": spec.cidr_ipv4}
            if spec.description:
                cidr["Description"] = spec.description
            grouped[key]["IpRanges"].append(cidr)
        else:
            pair: Result = {"GroupId": spec.referenced_group_id, "UserId": owner}
            if spec.description:
                pair["Description"] = spec.description
            grouped[key]["UserIdGroupPairs"].append(pair)
    return list(grouped.values())


def group_shape(group: SecurityGroup) -> Result:
    out: Result = {
        "GroupId": group.group_id,
        "GroupName": group.group_name,
        "Description": group.description,
        "VpcId": group.vpc_id,
        "OwnerId": group.account_id,
        "SecurityGroupArn": (
            f"arn:aws:ec2:{group.region}:{group.account_id}:security-group/{group.group_id}"
        ),
        "IpPermissions": _permissions(group.rules, group.account_id),
        # Every new group allows all outbound traffic; Hadron has no egress API.
        "IpPermissionsEgress": [
            {
                "IpProtocol": "-1",
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
                "UserIdGroupPairs": [],
            }
        ],
    }
    return _with_tags(out, group.tags)


def rule_shape(rule: IngressRule, group: SecurityGroup) -> Result:
    spec = rule.spec
    out: Result = {
        "SecurityGroupRuleId": rule.rule_id,
        "GroupId": group.group_id,
        "GroupOwnerId": group.account_id,
        "IsEgress": False,
        "IpProtocol": spec.ip_protocol,
        "FromPort": -1 if spec.from_port is None else spec.from_port,
        "ToPort": -1 if spec.to_port is None else spec.to_port,
        "SecurityGroupRuleArn": (
            f"arn:aws:ec2:{group.region}:{group.account_id}:security-group-rule/{rule.rule_id}"
        ),
        "Tags": [],
    }
    if spec.cidr_ipv4 is not None:
        out["CidrIpv4"] = spec.cidr_ipv4
    else:
        out["ReferencedGroupInfo"] = {
            "GroupId": spec.referenced_group_id,
            "UserId": group.account_id,
        }
    if spec.description:
        out["Description"] = spec.description
    return out


def endpoint_shape(endpoint: VpcEndpoint) -> Result:
    service = service_for(endpoint.service_name, endpoint.region)
    entries: list[dict[str, str]] = []
    if service is not None:
        entries = dns_entries(
            endpoint.vpc_endpoint_id,
            endpoint.dns_suffix,
            service,
            [i.availability_zone for i in endpoint.interfaces],
            endpoint.vpc_id,
            endpoint.private_dns_enabled,
        )
    out: Result = {
        "VpcEndpointId": endpoint.vpc_endpoint_id,
        "VpcEndpointType": "Interface",
        "VpcId": endpoint.vpc_id,
        "ServiceName": endpoint.service_name,
        "State": endpoint.state,
        "PolicyDocument": endpoint.policy_document,
        "RouteTableIds": [],
        "SubnetIds": list(endpoint.subnet_ids),
        "Groups": [{"GroupId": g, "GroupName": n} for g, n in endpoint.groups],
        "IpAddressType": "ipv4",
        "DnsOptions": {
            "DnsRecordIpType": "ipv4",
            "PrivateDnsOnlyForInboundResolverEndpoint": False,
        },
        "PrivateDnsEnabled": endpoint.private_dns_enabled,
        "RequesterManaged": False,
        "NetworkInterfaceIds": [i.network_interface_id for i in endpoint.interfaces],
        "DnsEntries": entries,
        "CreationTimestamp": endpoint.created_at,
        "OwnerId": endpoint.account_id,
        "ServiceRegion": endpoint.region,
    }
    return _with_tags(out, endpoint.tags)


def _mac(interface_id: str) -> str:
    digest = hashlib.sha256(interface_id.encode()).digest()
    octets = [(digest[0] & 0xFC) | 0x02, *digest[1:6]]  # locally administered, unicast
    return ":".join(f"{b:02x}" for b in octets)


def interface_shape(interface: NetworkInterface) -> Result:
    dns_name = f"ip-{interface.private_ip.replace('.', '-')}.ec2.internal"
    if interface.region != "us-east-1":
        dns_name = (
            f"ip-{interface.private_ip.replace('.', '-')}.{interface.region}.compute.internal"
        )
    return {
        "NetworkInterfaceId": interface.network_interface_id,
        "SubnetId": interface.subnet_id,
        "VpcId": interface.vpc_id,
        "AvailabilityZone": interface.availability_zone,
        "AvailabilityZoneId": zone_id(interface.availability_zone),
        "Description": f"VPC Endpoint Interface {interface.vpc_endpoint_id}",
        "Groups": [{"GroupId": g, "GroupName": n} for g, n in interface.groups],
        "InterfaceType": "vpc_endpoint",
        "Ipv6Addresses": [],
        "MacAddress": _mac(interface.network_interface_id),
        "OwnerId": interface.account_id,
        "PrivateDnsName": dns_name,
        "PrivateIpAddress": interface.private_ip,
        "PrivateIpAddresses": [
            {
                "Primary": True,
                "PrivateDnsName": dns_name,
                "PrivateIpAddress": interface.private_ip,
            }
        ],
        "RequesterManaged": True,
        "SourceDestCheck": True,
        "Status": "in-use",
        "TagSet": [],
    }
