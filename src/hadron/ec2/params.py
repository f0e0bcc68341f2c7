"""Unpacking EC2 request parameters into checked values: CIDR blocks, tags, inbound rules.

Layer: pure core. Each function raises the EC2 error AWS answers for a bad value, naming the
parameter as EC2 spells it on the wire (``cidrBlock``, ``ipPermissions``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import Any

from hadron.errors import (
    DryRunOperation,
    Ec2InvalidParameterValue,
    Ec2MissingParameter,
    InvalidSubnetRange,
    InvalidVpcRange,
)
from hadron.store.ec2_records import RuleSpec, Tags

__all__ = [
    "MAX_PREFIX",
    "MIN_PREFIX",
    "dry_run",
    "fingerprint",
    "ipv4_cidr",
    "required",
    "rule_specs",
    "subnet_cidr",
    "tags_for",
    "vpc_cidr",
]

MIN_PREFIX, MAX_PREFIX = 16, 28
"""VPC and subnet IPv4 blocks are between /16 and /28 (EC2 quota, not adjustable)."""

_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp"}
_ALL = {"-1", "all"}


def dry_run(params: Mapping[str, Any]) -> None:
    """Raise ``DryRunOperation`` when the request asks for a dry run; the gateway has already
    authorized it (otherwise the caller got ``UnauthorizedOperation``)."""
    if params.get("DryRun"):
        raise DryRunOperation("Request would have succeeded, but DryRun flag is set.")


def required(params: Mapping[str, Any], name: str, wire: str) -> Any:
    value = params.get(name)
    if value is None or value == "" or value == []:
        raise Ec2MissingParameter(f"The request must contain the parameter {wire}")
    return value


def ipv4_cidr(value: str, wire: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise Ec2InvalidParameterValue(
            f"Value ({value}) for parameter {wire} is invalid. This is not a valid CIDR block."
        ) from None


def vpc_cidr(value: str) -> str:
    network = ipv4_cidr(value, "cidrBlock")
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        raise InvalidVpcRange(f"The CIDR '{value}' is invalid.")
    return str(network)


def subnet_cidr(value: str) -> str:
    network = ipv4_cidr(value, "cidrBlock")
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        raise InvalidSubnetRange(f"The CIDR '{value}' is invalid.")
    return str(network)


def tags_for(params: Mapping[str, Any], resource_type: str) -> Tags:
    """The tags of ``TagSpecifications`` for ``resource_type`` (the only type the operation
    creates): later values for a key win; ``aws:`` keys are reserved."""
    out: dict[str, str] = {}
    for spec in params.get("TagSpecifications") or ():
        kind = spec.get("ResourceType")
        if kind != resource_type:
            raise Ec2InvalidParameterValue(
                f"'{kind}' is not a valid taggable resource type for this operation."
            )
        tags = spec.get("Tags") or []
        if not tags:
            raise Ec2InvalidParameterValue("Tag specification must have at least one tag")
        for tag in tags:
            key = tag.get("Key")
            value = tag.get("Value")
            if not key:
                raise Ec2InvalidParameterValue("Tag key cannot be null or empty.")
            if value is None:
                raise Ec2InvalidParameterValue(
                    "Tag value cannot be null. Use empty string instead."
                )
            if len(key) > 128:
                raise Ec2InvalidParameterValue(
                    f"Tag key exceeds the maximum length of 128 characters: {key[:20]}…"
                )
            if len(value) > 256:
                raise Ec2InvalidParameterValue(
                    f"Tag value exceeds the maximum length of 256 characters for key {key}"
                )
            if key.lower().startswith("aws:"):
                raise Ec2InvalidParameterValue(
                    "Tag keys starting with 'aws:' are reserved for internal use"
                )
            out[key] = value
    return tuple(out.items())


def _port(value: Any) -> int | None:
    return None if value is None else int(value)


def _protocol(raw: Any) -> str:
    text = str(raw).lower() if raw is not None else ""
    if text in _ALL:
        return "-1"
    if text in _PROTOCOLS:
        return _PROTOCOLS[text]
    if text.isdigit() and 0 <= int(text) <= 255:
        return text
    raise Ec2InvalidParameterValue(f"Invalid value '{raw}' for IP protocol. Unknown protocol.")


def _ports(protocol: str, from_port: int | None, to_port: int | None) -> tuple[int | None, ...]:
    if protocol == "-1":
        return None, None
    if protocol in ("tcp", "udp"):
        if from_port is None or to_port is None:
            raise Ec2InvalidParameterValue(
                "Invalid value for portRange. Must specify both from and to ports with TCP/UDP."
            )
        if not (0 <= from_port <= 65535 and 0 <= to_port <= 65535) or from_port > to_port:
            raise Ec2InvalidParameterValue(
                f"Invalid value for portRange: {from_port}-{to_port}. Ports are 0-65535 and "
                "the from port must not exceed the to port."
            )
        return from_port, to_port
    if protocol == "icmp":  # FromPort is the ICMP type, ToPort the code; -1 means all
        return (-1 if from_port is None else from_port), (-1 if to_port is None else to_port)
    return from_port, to_port


def rule_specs(params: Mapping[str, Any]) -> list[RuleSpec]:
    """The inbound rules of an Authorize/RevokeSecurityGroupIngress request: ``IpPermissions``
    or the older top-level ``IpProtocol``/``FromPort``/``ToPort``/``CidrIp``. Sources are IPv4
    CIDRs (``IpRanges``) and groups of the same VPC (``UserIdGroupPairs`` by ``GroupId``)."""
    permissions: Sequence[Mapping[str, Any]] = params.get("IpPermissions") or ()
    if params.get("SourceSecurityGroupName") or params.get("SourceSecurityGroupOwnerId"):
        raise Ec2InvalidParameterValue(
            "SourceSecurityGroupName is only valid for the default VPC, which Hadron does not "
            "create; use IpPermissions.UserIdGroupPairs with a GroupId."
        )
    if params.get("CidrIp") or params.get("IpProtocol"):
        if permissions:
            raise Ec2InvalidParameterValue(
                "The parameter 'ipPermissions' cannot be used with the parameters 'cidrIp', "
                "'ipProtocol', 'fromPort' and 'toPort'."
            )
        permissions = [
            {
                "IpProtocol": params.get("IpProtocol"),
                "FromPort": params.get("FromPort"),
                "ToPort": params.get("ToPort"),
                "IpRanges": [{"CidrIp": params["CidrIp"]}] if params.get("CidrIp") else [],
            }
        ]
    out: list[RuleSpec] = []
    for permission in permissions:
        protocol = _protocol(permission.get("IpProtocol"))
        from_port, to_port = _ports(
            protocol, _port(permission.get("FromPort")), _port(permission.get("ToPort"))
        )
        if permission.get("Ipv6Ranges") or permission.get("PrefixListIds"):
            raise Ec2InvalidParameterValue(
                "Ipv6Ranges and PrefixListIds are not supported by Hadron (IPv4 only)."
            )
        sources = 0
        for item in permission.get("IpRanges") or ():
            cidr = ipv4_cidr(str(item.get("CidrIp") or ""), "cidrIp")
            out.append(
                RuleSpec(protocol, from_port, to_port, str(cidr), None, item.get("Description"))
            )
            sources += 1
        for pair in permission.get("UserIdGroupPairs") or ():
            group_id = pair.get("GroupId")
            if not group_id:
                raise Ec2InvalidParameterValue(
                    "UserIdGroupPairs must name a GroupId (group names belong to the default "
                    "VPC, which Hadron does not create)."
                )
            out.append(
                RuleSpec(protocol, from_port, to_port, None, group_id, pair.get("Description"))
            )
            sources += 1
        if sources == 0:
            raise Ec2MissingParameter(
                "The request must contain the parameter ipPermissions.ipRanges or "
                "ipPermissions.groups"
            )
    if not out:
        raise Ec2MissingParameter("The request must contain the parameter ipPermissions")
    return out


def fingerprint(params: Mapping[str, Any]) -> str:
    """A digest of a request without ``ClientToken`` and ``DryRun`` (idempotency checks)."""
    rest = {k: v for k, v in params.items() if k not in ("ClientToken", "DryRun")}
    text = json.dumps(rest, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
