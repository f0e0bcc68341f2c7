"""The endpoint address pool: loopback addresses for endpoint interfaces and VPC resolvers.

Layer: pure core (no I/O). Each endpoint network interface gets one address of the pool (its
``PrivateIpAddress``, where its listener binds), and each VPC one resolver address (the analogue
of the VPC's base+2 resolver). The store passes the addresses in use and records what
:func:`allocate` returns in the same transaction, so two requests never get the same address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from typing import Final

__all__ = ["DEFAULT_POOL", "allocate", "parse_pool"]

DEFAULT_POOL: Final = "127.77.0.0/16"


def parse_pool(text: str) -> ipaddress.IPv4Network:
    """The pool ``text`` names (an IPv4 network with at least one host address).

    Raises ``ValueError`` naming the problem (the command line reports it).
    """
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"--endpoint-address-pool {text!r}: {exc}") from None
    if network.num_addresses < 4:
        raise ValueError(f"--endpoint-address-pool {text!r}: at least a /30 is needed")
    return network


def allocate(pool: ipaddress.IPv4Network, used: Collection[str], count: int) -> list[str] | None:
    """The ``count`` lowest host addresses of ``pool`` not in ``used``; ``None`` if there are
    fewer free ones (the caller answers with the EC2 error of its operation)."""
    if count <= 0:
        return []
    taken = set(used)
    out: list[str] = []
    for host in pool.hosts():
        text = str(host)
        if text not in taken:
            out.append(text)
            if len(out) == count:
                return out
    return None
