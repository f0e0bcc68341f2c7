"""What Hadron's DNS resolvers answer: the public resolver and each VPC's resolver.

Layer: pure core (security.md §7.3, issue 6 §4). Names:

* every live endpoint's regional name
  (``vpce-<id>-<suffix>.<service>.<region>.vpce.amazonaws.com``) → all its interface addresses,
  and each zonal name (``…-<zone>.<service>…``) → the interface addresses in that zone. These
  are answered by every resolver (AWS publishes them in public DNS too);
* the service hostnames Hadron serves (``proton.<region>.amazonaws.com``,
  ``sts.<region>.amazonaws.com``, ``ec2.<region>.amazonaws.com``, ``sts.amazonaws.com``,
  ``iam.amazonaws.com``) → the public listener's address; except that a VPC's resolver answers
  the private DNS name of an endpoint in that VPC with private DNS enabled with that endpoint's
  interface addresses (the Route 53 private hosted zone AWS associates with the VPC).

Anything else under ``amazonaws.com`` is ``NXDOMAIN``; names outside ``amazonaws.com`` are
``REFUSED`` (the resolvers are authoritative for that zone only, they do not recurse).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hadron.ec2.services import dns_entries, service_for

__all__ = ["Answer", "EndpointFacts", "Outcome", "ZoneData", "build_zone", "resolve"]

SERVED_ZONE = "amazonaws.com"


class Outcome(enum.Enum):
    ANSWER = "NOERROR"
    NXDOMAIN = "NXDOMAIN"
    REFUSED = "REFUSED"


@dataclass(frozen=True, slots=True)
class EndpointFacts:
    vpc_endpoint_id: str
    vpc_id: str
    region: str
    service_name: str
    dns_suffix: str
    private_dns_enabled: bool
    interfaces: tuple[tuple[str, str], ...]  # (availability zone, private ip)


@dataclass(frozen=True, slots=True)
class ZoneData:
    """Name → addresses for the public resolver and the overrides of each VPC's resolver."""

    public: dict[str, tuple[str, ...]]
    private: dict[str, dict[str, tuple[str, ...]]]  # vpc id → name → addresses


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    addresses: tuple[str, ...] = ()


def _service_hosts(regions: Iterable[str]) -> list[str]:
    hosts = ["sts.amazonaws.com", "iam.amazonaws.com"]
    for region in regions:
        hosts += [f"{s}.{region}.amazonaws.com" for s in ("proton", "sts", "ec2")]
    return hosts


def build_zone(
    endpoints: Sequence[EndpointFacts], regions: Sequence[str], public_address: str
) -> ZoneData:
    public: dict[str, tuple[str, ...]] = {h: (public_address,) for h in _service_hosts(regions)}
    private: dict[str, dict[str, tuple[str, ...]]] = {}
    for e in endpoints:
        service = service_for(e.service_name, e.region)
        if service is None:
            continue
        zones = [z for z, _ip in e.interfaces]
        all_ips = tuple(ip for _z, ip in e.interfaces)
        entries = dns_entries(
            e.vpc_endpoint_id, e.dns_suffix, service, zones, e.vpc_id, e.private_dns_enabled
        )
        regional = entries[0]["DnsName"]
        public[regional] = all_ips
        for zone in sorted(set(zones)):
            name = f"{regional.split('.', 1)[0]}-{zone}.{regional.split('.', 1)[1]}"
            public[name] = tuple(ip for z, ip in e.interfaces if z == zone)
        if e.private_dns_enabled and all_ips:
            private.setdefault(e.vpc_id, {})[service.private_dns_name] = all_ips
    return ZoneData(public, private)


def resolve(zone: ZoneData, name: str, vpc_id: str | None) -> Answer:
    """The answer of the public resolver (``vpc_id=None``) or a VPC's resolver for ``name``."""
    key = name.rstrip(".").lower()
    if key != SERVED_ZONE and not key.endswith("." + SERVED_ZONE):
        return Answer(Outcome.REFUSED)
    if vpc_id is not None and key in zone.private.get(vpc_id, {}):
        return Answer(Outcome.ANSWER, zone.private[vpc_id][key])
    if key in zone.public:
        return Answer(Outcome.ANSWER, zone.public[key])
    return Answer(Outcome.NXDOMAIN)
