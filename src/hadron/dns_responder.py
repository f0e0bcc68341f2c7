"""The built-in DNS responder: the public resolver and one resolver per VPC (UDP and TCP).

Edge module (sockets; dnslib for the wire format). ``hadron serve --dns-port`` (default 8053,
0 picks a free port, -1 turns it off) answers on ``--host`` as the public resolver and on each
VPC's resolver address (from the endpoint address pool, ``store.vpc_resolvers()``) on the same
port. What they answer is ``hadron.ec2.resolution``: ``A`` records for the endpoints' regional and
zonal names and the service hostnames (private DNS in a VPC's resolver), ``NXDOMAIN`` for other
names under ``amazonaws.com`` and ``REFUSED`` outside it. Other record types of a known name get
an empty ``NOERROR`` answer. Unparsable datagrams are dropped. DNS over TCP (2-byte length
prefix, RFC 7766) is served on the same addresses and port when that TCP port is free (else
logged, UDP only); idle TCP connections close after 10 s, unparsable messages close them.

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
import struct
from collections.abc import Sequence
from typing import Any, cast

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from hadron.ec2.resolution import EndpointFacts, Outcome, ZoneData, build_zone, resolve
from hadron.store import SqlStore

__all__ = ["DnsResponder"]

log = logging.getLogger("hadron.dns")

REFRESH_SECONDS = 1.0
TCP_IDLE_SECONDS = 10.0
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


class _TcpResolver(asyncio.Protocol):
    """DNS over TCP (RFC 7766): 2-byte length-prefixed messages; idle connections close."""

    def __init__(self, responder: DnsResponder, vpc_id: str | None) -> None:
        self.responder = responder
        self.vpc_id = vpc_id
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.timer = asyncio.get_running_loop().call_later(TCP_IDLE_SECONDS, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None  # noqa: S101
        self.buffer += data
        while len(self.buffer) >= 2:
            size = struct.unpack("!H", self.buffer[:2])[0]
            if len(self.buffer) < 2 + size:
                return
            message, self.buffer = self.buffer[2 : 2 + size], self.buffer[2 + size :]
            reply = self.responder.answer(message, self.vpc_id)
            if reply is None:
                self.transport.close()
                return
            self.transport.write(struct.pack("!H", len(reply)) + reply)


def _tcp_socket(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(64)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Resolvers:
    """One resolver address: its UDP endpoint and (when the port was free) its TCP server."""

    def __init__(self, address: str, udp: asyncio.DatagramTransport, tcp: asyncio.Server | None):
        self.address = address
        self.udp = udp
        self.tcp = tcp

    def close(self) -> None:
        self.udp.close()
        if self.tcp is not None:
            self.tcp.close()


async def _open(responder: DnsResponder, address: str, port: int, vpc_id: str | None) -> _Resolvers:
    loop = asyncio.get_running_loop()
    sock = _udp_socket(address, port)
    udp, _ = await loop.create_datagram_endpoint(
        functools.partial(_Resolver, responder, vpc_id), sock=sock
    )
    tcp: asyncio.Server | None = None
    try:
        tcp = await loop.create_server(
            functools.partial(_TcpResolver, responder, vpc_id),
            sock=_tcp_socket(address, sock.getsockname()[1]),
        )
    except OSError as exc:
        log.error("DNS over TCP on %s:%s is not available: %s", address, port, exc)
    return _Resolvers(address, udp, tcp)


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
        self._public: _Resolvers | None = None
        self._vpcs: dict[str, _Resolvers] = {}
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self, port: int) -> int:
        """Open the public resolver and every VPC's resolver; returns the port."""
        loop = asyncio.get_running_loop()
        self._public = await _open(self, self._host, port, None)
        self.port = self._public.udp.get_extra_info("sockname")[1]
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
        for resolvers in self._vpcs.values():
            resolvers.close()
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
        self._zone = self._read_zone()
        wanted = dict(self._store.vpc_resolvers())
        for vpc_id in list(self._vpcs):
            if wanted.get(vpc_id) != self._vpcs[vpc_id].address:
                self._vpcs.pop(vpc_id).close()
        for vpc_id, address in wanted.items():
            if vpc_id in self._vpcs:
                continue
            try:
                self._vpcs[vpc_id] = await _open(self, address, self.port, vpc_id)
            except OSError as exc:
                log.error("cannot open the resolver of %s on %s: %s", vpc_id, address, exc)

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
