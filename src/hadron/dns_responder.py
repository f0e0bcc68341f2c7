"""The built-in DNS responder: the public resolver and one resolver per VPC (UDP).

Edge module (sockets; dnslib for the wire format). ``hadron serve --dns-port`` (default 8053,
0 picks a free port, -1 turns it off) answers on ``--host`` as the public resolver and on each
VPC's resolver address (from the endpoint address pool, ``store.vpc_resolvers()``) on the same
port. What they answer is ``hadron.ec2.resolution``: ``A`` records for the endpoints' regional and
zonal names and the service hostnames (private DNS in a VPC's resolver), ``NXDOMAIN`` for other
names under ``amazonaws.com`` and ``REFUSED`` outside it. Other record types of a known name get
an empty ``NOERROR`` answer. Unparsable datagrams are dropped.

The zone and the set of VPC resolvers are re-read from the store after every endpoint change
(``changed``) and once a second (VPCs created or deleted; changes made by another process).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
from collections.abc import Sequence
from typing import Any, cast

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from hadron.ec2.resolution import EndpointFacts, Outcome, ZoneData, build_zone, resolve
from hadron.store import SqlStore

__all__ = ["DnsResponder"]

log = logging.getLogger("hadron.dns")

REFRESH_SECONDS = 1.0
TTL = 60


class _Resolver(asyncio.DatagramProtocol):
    def __init__(self, responder: DnsResponder, vpc_id: str | None) -> None:
        self.responder = responder
        self.vpc_id = vpc_id
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        reply = self.responder.answer(data, self.vpc_id)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


def _udp_socket(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class DnsResponder:
    def __init__(
        self, store: SqlStore, *, regions: Sequence[str], host: str, public_address: str
    ) -> None:
        self._store = store
        self._regions = list(regions)
        self._host = host
        self._public_address = public_address
        self._zone = ZoneData({}, {})
        self._public: asyncio.DatagramTransport | None = None
        self._vpcs: dict[str, tuple[str, asyncio.DatagramTransport]] = {}
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self, port: int) -> int:
        """Open the public resolver and every VPC's resolver; returns the port."""
        loop = asyncio.get_running_loop()
        sock = _udp_socket(self._host, port)
        self.port = sock.getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(lambda: _Resolver(self, None), sock=sock)
        self._public = transport
        await self._reconcile()
        self._task = loop.create_task(self._refresh_forever())
        return self.port

    def changed(self, _endpoint_id: str = "") -> None:
        """Re-read the zone now (after an endpoint write)."""
        self._zone = self._read_zone()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._public is not None:
            self._public.close()
        for _address, transport in self._vpcs.values():
            transport.close()
        self._vpcs.clear()

    def _read_zone(self) -> ZoneData:
        facts = [
            EndpointFacts(
                vpc_endpoint_id=e.vpc_endpoint_id,
                vpc_id=e.vpc_id,
                region=e.region,
                service_name=e.service_name,
                dns_suffix=e.dns_suffix,
                private_dns_enabled=e.private_dns_enabled,
                interfaces=tuple((i.availability_zone, i.private_ip) for i in e.interfaces),
            )
            for e in self._store.live_vpc_endpoints()
        ]
        return build_zone(facts, self._regions, self._public_address)

    async def _reconcile(self) -> None:
        loop = asyncio.get_running_loop()
        self._zone = self._read_zone()
        wanted = dict(self._store.vpc_resolvers())
        for vpc_id in list(self._vpcs):
            if wanted.get(vpc_id) != self._vpcs[vpc_id][0]:
                self._vpcs.pop(vpc_id)[1].close()
        for vpc_id, address in wanted.items():
            if vpc_id in self._vpcs:
                continue
            try:
                sock = _udp_socket(address, self.port)
            except OSError as exc:
                log.error("cannot open the resolver of %s on %s: %s", vpc_id, address, exc)
                continue
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(_Resolver, self, vpc_id), sock=sock
            )
            self._vpcs[vpc_id] = (address, transport)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self._reconcile()
            except Exception:
                log.exception("DNS refresh failed")

    def answer(self, data: bytes, vpc_id: str | None) -> bytes | None:
        try:
            request = DNSRecord.parse(data)
        except Exception:  # dnslib raises several types for garbage
            return None
        if request.header.qr or not request.questions:
            return None
        reply = request.reply()
        reply.header.ra = 0
        question = request.questions[0]
        name = str(question.qname)
        found = resolve(self._zone, name, vpc_id)
        if found.outcome is Outcome.REFUSED:
            reply.header.rcode = RCODE.REFUSED
            reply.header.aa = 0
        elif found.outcome is Outcome.NXDOMAIN:
            reply.header.rcode = RCODE.NXDOMAIN
        elif question.qtype in (QTYPE.A, QTYPE.ANY):
            for address in found.addresses:
                if ipaddress.ip_address(address).version == 4:
                    reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(address), ttl=TTL))
        with contextlib.suppress(Exception):
            packed: bytes = reply.pack()
            return packed
        return None
