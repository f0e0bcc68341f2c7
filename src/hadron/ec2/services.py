"""The endpoint services Hadron offers, and the DNS names of an interface endpoint.

Layer: pure core. Spec: security.md §7.2 (``DescribeVpcEndpointServices``' ``ServiceDetail``),
§7.3 (DNS names). Hadron serves ``com.amazonaws.<region>.proton`` and
``com.amazonaws.<region>.sts`` through endpoints; both are AWS-owned Interface services that
accept endpoints automatically and support endpoint policies.

DNS names of an endpoint (``DnsEntries``, in AWS's order): the regional name
``<vpce-id>-<suffix>.<service>.<region>.vpce.amazonaws.com``, one zonal name per subnet zone
(``<vpce-id>-<suffix>-<zone>.<service>…``), then, with private DNS, the service's own hostname
(``proton.<region>.amazonaws.com``). Hosted-zone ids are Hadron's own stable values (there are
no Route 53 zones behind them): one per region for the ``vpce.amazonaws.com`` names and one per
(VPC, service) private zone.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from hadron.ec2.zones import zones

__all__ = [
    "ENDPOINT_SERVICES",
    "EndpointService",
    "dns_entries",
    "service_detail",
    "service_for",
    "service_names",
]

ENDPOINT_SERVICES: Final = ("proton", "sts")
"""Short names of the services reachable through interface endpoints."""


@dataclass(frozen=True, slots=True)
class EndpointService:
    short: str  # ``proton``
    region: str

    @property
    def name(self) -> str:
        return f"com.amazonaws.{self.region}.{self.short}"

    @property
    def private_dns_name(self) -> str:
        return f"{self.short}.{self.region}.amazonaws.com"

    @property
    def base_dns_name(self) -> str:
        return f"{self.short}.{self.region}.vpce.amazonaws.com"

    @property
    def service_id(self) -> str:
        return "vpce-svc-" + hashlib.sha256(self.name.encode()).hexdigest()[:17]


def service_names(region: str) -> list[str]:
    """Every endpoint service name of ``region``, sorted."""
    return sorted(EndpointService(s, region).name for s in ENDPOINT_SERVICES)


def service_for(name: str, region: str) -> EndpointService | None:
    """The service ``name`` designates in ``region`` (``None``: Hadron does not serve it)."""
    for short in ENDPOINT_SERVICES:
        service = EndpointService(short, region)
        if service.name == name:
            return service
    return None


def service_detail(service: EndpointService) -> dict[str, Any]:
    """The ``ServiceDetail`` of ``DescribeVpcEndpointServices``."""
    names = list(zones(service.region))
    return {
        "ServiceName": service.name,
        "ServiceId": service.service_id,
        "ServiceType": [{"ServiceType": "Interface"}],
        "ServiceRegion": service.region,
        "AvailabilityZones": names,
        "Owner": "amazon",
        "BaseEndpointDnsNames": [service.base_dns_name],
        "PrivateDnsName": service.private_dns_name,
        "PrivateDnsNames": [{"PrivateDnsName": service.private_dns_name}],
        "VpcEndpointPolicySupported": True,
        "AcceptanceRequired": False,
        "ManagesVpcEndpoints": False,
        "Tags": [],
        "PrivateDnsNameVerificationState": "verified",
        "SupportedIpAddressTypes": ["ipv4"],
    }


def _zone_id(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "Z" + base64.b32encode(digest).decode()[:13]


def dns_entries(
    endpoint_id: str,
    suffix: str,
    service: EndpointService,
    subnet_zones: Sequence[str],
    vpc_id: str,
    private_dns: bool,
) -> list[dict[str, str]]:
    """The ``DnsEntries`` of an interface endpoint (see the module docstring)."""
    zone = _zone_id(f"vpce.{service.region}")
    base = f"{endpoint_id}-{suffix}"
    tail = f"{service.short}.{service.region}.vpce.amazonaws.com"
    out = [{"DnsName": f"{base}.{tail}", "HostedZoneId": zone}]
    for name in sorted(set(subnet_zones)):
        out.append({"DnsName": f"{base}-{name}.{tail}", "HostedZoneId": zone})
    if private_dns:
        out.append(
            {
                "DnsName": service.private_dns_name,
                "HostedZoneId": _zone_id(f"private.{vpc_id}.{service.name}"),
            }
        )
    return out
