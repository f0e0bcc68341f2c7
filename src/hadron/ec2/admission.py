"""Security-group admission: does any inbound rule admit a TCP connection from an address?

Layer: pure core. An endpoint's security groups are enforced on every new connection to its
listener (security.md §7, issue 6): the connection is admitted when some inbound rule of some
group admits it: protocol ``-1`` (all traffic) or ``tcp`` (``6``) with the listener's port in
``from_port..to_port``, and a source that is either an IPv4 CIDR containing the address or a
group reference (``UserIdGroupPairs``) whose group holds an endpoint interface with that address.
No rule, no admission (AWS's security groups deny by default).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Protocol

__all__ = ["Rule", "admits"]


class Rule(Protocol):
    @property
    def ip_protocol(self) -> str: ...
    @property
    def from_port(self) -> int | None: ...
    @property
    def to_port(self) -> int | None: ...
    @property
    def cidr_ipv4(self) -> str | None: ...
    @property
    def referenced_group_id(self) -> str | None: ...


def _port_ok(rule: Rule, port: int) -> bool:
    if rule.ip_protocol == "-1":
        return True
    if rule.ip_protocol.lower() not in ("tcp", "6"):
        return False
    low = -1 if rule.from_port is None else rule.from_port
    high = -1 if rule.to_port is None else rule.to_port
    if (low, high) == (-1, -1):
        return True
    return low <= port <= high


def admits(
    rules: Iterable[Rule],
    source_ip: str,
    port: int,
    group_members: Mapping[str, frozenset[str]] | None = None,
) -> bool:
    """Whether ``rules`` admit a TCP connection from ``source_ip`` to ``port``.
    ``group_members`` maps a group id to the interface addresses in that group."""
    try:
        source = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    for rule in rules:
        if not _port_ok(rule, port):
            continue
        if rule.cidr_ipv4 is not None:
            network = ipaddress.ip_network(rule.cidr_ipv4, strict=False)
            if source.version == network.version and source in network:
                return True
        elif rule.referenced_group_id is not None and group_members is not None:
            if source_ip in group_members.get(rule.referenced_group_id, frozenset()):
                return True
    return False
