"""Listeners for VPC endpoint interfaces (and a PROXY-protocol public listener).

Edge module (sockets). Each interface of each ``available`` VPC endpoint gets a TLS listener on
its pool address (``PrivateIpAddress``), on the public listener's port unless
``--endpoint-port`` says otherwise, in the server's event loop (security.md §7, issue 6 §2).
Connections are accepted here, not by asyncio's server, so that two things happen before TLS:

1. with ``--proxy-protocol``, exactly one PROXY v2 header is read (``hadron.proxy_protocol``;
   missing, malformed or slower than the header timeout ⇒ the socket is closed). Its source
   address replaces the peer address and its AWS TLV (0xEA/0x01) names the VPC endpoint; on an
   endpoint listener a TLV naming another endpoint closes the connection, on the public listener
   a known endpoint id makes the connection an endpoint connection (unknown ids: public path,
   logged, security.md §7.6 rule 4). ``LOCAL`` headers (health checks) keep the peer address.
2. the endpoint's security groups (read from the store per connection, so rule changes apply to
   the next connection) must admit the source address on TCP to the listener's port
   (``hadron.ec2.admission``); otherwise the socket is closed.

The HTTP protocol is the public listener's (``listeners.GuardedHttpProtocol``) with ``origin``
set, so the app builds ``Connection(vpc_endpoint_id=…, vpc_id=…)`` from it.

Lifecycle rule ("no listener without its record, no record without its listener"):
``ListenerManager.sync(endpoint_id)`` runs after every committed Create/Modify/Delete
(``EndpointsApi(endpoints_changed=…)``) and makes the listeners equal to the record's interfaces.
If an address cannot be bound, the listeners opened by that sync are closed and the record is
put back: a created endpoint is deleted again, interfaces added by a modify are removed again;
then the request fails with ``InternalError`` naming the address. At start every live endpoint's
listeners are opened before the server reports it is listening; one that cannot be opened stops
the start. Deleting an endpoint (or removing a subnet) closes the listening socket at once
and ends its open connections like a graceful shutdown (idle ones at once, busy ones after the
response in progress); a request that still gets through is denied (the endpoint policy of a
missing endpoint fails closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
import ssl
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hadron.ec2.admission import admits
from hadron.errors import ServiceError
from hadron.listeners import GuardedHttpProtocol, Runtime
from hadron.proxy_protocol import (
    HEADER_PREFIX_LENGTH,
    ProxyProtocolError,
    declared_length,
    parse_header,
)
from hadron.store import SqlStore
from hadron.store.ec2_records import EndpointChange, RuleSpec, VpcEndpoint

__all__ = ["ListenerManager", "Origin"]

log = logging.getLogger("hadron.endpoint_listeners")

PROXY_HEADER_TIMEOUT = 5.0
SSL_HANDSHAKE_TIMEOUT = 10.0
BACKLOG = 511


@dataclass(frozen=True, slots=True)
class Origin:
    source_ip: str
    vpc_endpoint_id: str | None = None
    vpc_id: str | None = None
    service: str | None = None  # the endpoint service's short name (``proton``, ``sts``)

    def as_extension(self) -> dict[str, str]:
        out = {"source_ip": self.source_ip}
        if self.vpc_endpoint_id is not None:
            out["vpc_endpoint_id"] = self.vpc_endpoint_id
        if self.vpc_id is not None:
            out["vpc_id"] = self.vpc_id
        if self.service is not None:
            out["service"] = self.service
        return out


class ListenerOpenError(Exception):
    pass


def _bind(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it a response written in two parts waits for the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def _recv_exact(loop: asyncio.AbstractEventLoop, conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await loop.sock_recv(conn, size - len(data))
        if not chunk:
            raise ProxyProtocolError("connection closed inside the PROXY header")
        data += chunk
    return data


class _Listener:
    """One listening socket and its accept loop."""

    def __init__(
        self,
        manager: ListenerManager,
        sock: socket.socket,
        endpoint_id: str | None,
        context: ssl.SSLContext,
    ) -> None:
        self.manager = manager
        self.sock = sock
        self.endpoint_id = endpoint_id
        self.context = context
        self.port: int = sock.getsockname()[1]
        self._pending: set[asyncio.Task[None]] = set()
        self._connections: weakref.WeakSet[GuardedHttpProtocol] = weakref.WeakSet()
        self.task = asyncio.get_running_loop().create_task(self._accept())

    def close(self) -> None:
        """Stop accepting and end the open connections as a graceful shutdown does: idle ones
        now, busy ones after their current response."""
        self.task.cancel()
        self.sock.close()
        for connection in list(self._connections):
            connection.shutdown()

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, peer = await loop.sock_accept(self.sock)
            except asyncio.CancelledError:
                raise
            except OSError as exc:
                if exc.errno in (errno.EBADF, errno.EINVAL):
                    return
                log.warning("accept failed: %s", exc)
                await asyncio.sleep(0.05)
                continue
            task = loop.create_task(self._serve(conn, str(peer[0])))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _serve(self, conn: socket.socket, peer_ip: str) -> None:
        loop = asyncio.get_running_loop()
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            origin = await self._admit(loop, conn, peer_ip)
        except (ProxyProtocolError, TimeoutError, OSError) as exc:
            log.info("closing connection from %s: %s", peer_ip, exc)
            origin = None
        if origin is None:
            conn.close()
            return
        extension = (
            None
            if origin.vpc_endpoint_id is None and origin.source_ip == peer_ip
            else (origin.as_extension())
        )

        def protocol() -> GuardedHttpProtocol:
            made = self.manager.runtime_protocol()
            made.origin = extension
            return made

        try:
            _transport, made = await loop.connect_accepted_socket(
                protocol,
                sock=conn,
                ssl=self.context,
                ssl_handshake_timeout=SSL_HANDSHAKE_TIMEOUT,
            )
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            log.info("TLS handshake with %s failed: %s", peer_ip, exc)
            conn.close()
            return
        self._connections.add(made)

    async def _admit(
        self, loop: asyncio.AbstractEventLoop, conn: socket.socket, peer_ip: str
    ) -> Origin | None:
        source = peer_ip
        endpoint_id = self.endpoint_id
        if self.manager.proxy_protocol:
            async with asyncio.timeout(PROXY_HEADER_TIMEOUT):
                prefix = await _recv_exact(loop, conn, HEADER_PREFIX_LENGTH)
                rest = await _recv_exact(loop, conn, declared_length(prefix) - HEADER_PREFIX_LENGTH)
            header = parse_header(prefix + rest)
            if not header.local and header.source_ip is not None:
                source = header.source_ip
            named = header.vpc_endpoint_id
            if named is not None:
                if self.endpoint_id is not None and named != self.endpoint_id:
                    log.warning("PROXY header names %s on %s's listener", named, endpoint_id)
                    return None
                if self.endpoint_id is None:
                    if self.manager.store.get_vpc_endpoint(named) is None:
                        log.warning("PROXY header names unknown endpoint %s", named)
                    else:
                        endpoint_id = named
        if endpoint_id is None:
            return Origin(source)
        endpoint = self.manager.store.get_vpc_endpoint(endpoint_id)
        if endpoint is None or endpoint.state != "available":
            return None
        if not self.manager.admitted(endpoint, source, self.port):
            log.info("security groups of %s refuse %s", endpoint_id, source)
            return None
        return Origin(
            source, endpoint_id, endpoint.vpc_id, endpoint.service_name.rsplit(".", 1)[-1]
        )


class ListenerManager:
    """The endpoint listeners of one server (see the module docstring)."""

    def __init__(
        self,
        store: SqlStore,
        pool: ipaddress.IPv4Network,
        *,
        host: str,
        port: int | None = None,
        proxy_protocol: bool = False,
        endpoint_context: Callable[[VpcEndpoint, str], ssl.SSLContext] | None = None,
    ) -> None:
        self.store = store
        self._pool = pool
        self.host = host
        self.endpoint_port = port
        self.proxy_protocol = proxy_protocol
        self._endpoint_context = endpoint_context
        self._runtime: Runtime | None = None
        self._listeners: dict[str, dict[str, _Listener]] = {}
        self._public: _Listener | None = None

    # --- wiring ------------------------------------------------------------------------------

    def runtime_protocol(self) -> GuardedHttpProtocol:
        assert self._runtime is not None  # noqa: S101 - listeners exist only after start()
        return self._runtime.protocol_factory()

    @property
    def port(self) -> int:
        assert self._runtime is not None  # noqa: S101
        return self.endpoint_port or self._runtime.port

    def addresses(self) -> dict[str, list[str]]:
        """Endpoint id → the addresses it listens on (for tests and logs)."""
        return {e: sorted(ls) for e, ls in self._listeners.items()}

    async def start(self, runtime: Runtime) -> int | None:
        """Open the public PROXY listener if asked, then every live endpoint's listeners."""
        self._runtime = runtime
        opened: int | None = None
        if self.proxy_protocol:
            sock = _bind(self.host, runtime.port)
            self._public = _Listener(self, sock, None, runtime.ssl_context)
            opened = self._public.port
            self._runtime = Runtime(runtime.protocol_factory, runtime.ssl_context, opened)
        for endpoint in self.store.live_vpc_endpoints():
            try:
                self._open(endpoint, {i.private_ip for i in endpoint.interfaces})
            except ListenerOpenError as exc:
                self.close_all()
                raise RuntimeError(
                    f"cannot open the listener of VPC endpoint {endpoint.vpc_endpoint_id}: {exc}"
                ) from exc
        return opened

    def close_all(self) -> None:
        for listeners in self._listeners.values():
            for listener in listeners.values():
                listener.close()
        self._listeners.clear()
        if self._public is not None:
            self._public.close()
            self._public = None

    # --- connections -------------------------------------------------------------------------

    def admitted(self, endpoint: VpcEndpoint, source_ip: str, port: int) -> bool:
        rules: list[RuleSpec] = []
        for group_id, _name in endpoint.groups:
            with contextlib.suppress(ServiceError):
                group = self.store.get_security_group(
                    endpoint.account_id, endpoint.region, group_id
                )
                rules += [rule.spec for rule in group.rules]
        members: dict[str, frozenset[str]] | None = None
        if any(r.referenced_group_id is not None for r in rules):
            collected: dict[str, set[str]] = {}
            for other in self.store.live_vpc_endpoints():
                for group_id, _name in other.groups:
                    collected.setdefault(group_id, set()).update(
                        i.private_ip for i in other.interfaces
                    )
            members = {g: frozenset(a) for g, a in collected.items()}
        return admits(rules, source_ip, port, members)

    # --- lifecycle ---------------------------------------------------------------------------

    def _open(self, endpoint: VpcEndpoint, addresses: set[str]) -> list[str]:
        """Open listeners for ``addresses`` of ``endpoint``; all or none."""
        assert self._runtime is not None  # noqa: S101
        current = self._listeners.setdefault(endpoint.vpc_endpoint_id, {})
        opened: list[str] = []
        try:
            for address in sorted(addresses - set(current)):
                try:
                    sock = _bind(address, self.port)
                except OSError as exc:
                    raise ListenerOpenError(f"{address}:{self.port}: {exc.strerror}") from exc
                context = (
                    self._runtime.ssl_context
                    if self._endpoint_context is None
                    else self._endpoint_context(endpoint, address)
                )
                current[address] = _Listener(self, sock, endpoint.vpc_endpoint_id, context)
                opened.append(address)
        except ListenerOpenError:
            for address in opened:
                current.pop(address).close()
            if not current:
                self._listeners.pop(endpoint.vpc_endpoint_id, None)
            raise
        return opened

    def _close(self, endpoint_id: str, keep: set[str]) -> None:
        current = self._listeners.get(endpoint_id, {})
        for address in sorted(set(current) - keep):
            current.pop(address).close()
        if not current:
            self._listeners.pop(endpoint_id, None)

    def sync(self, endpoint_id: str) -> None:
        """Make ``endpoint_id``'s listeners match its record (called after each write)."""
        if self._runtime is None:
            return
        endpoint = self.store.get_vpc_endpoint(endpoint_id)
        if endpoint is None or endpoint.state != "available":
            self._close(endpoint_id, set())
            return
        wanted = {i.private_ip for i in endpoint.interfaces}
        had = set(self._listeners.get(endpoint_id, {}))
        self._close(endpoint_id, wanted)
        try:
            self._open(endpoint, wanted)
        except ListenerOpenError as exc:
            self._roll_back(endpoint, had, wanted)
            raise ServiceError(
                f"Hadron could not open the endpoint's listener on {exc}; the change was "
                "rolled back.",
                code="InternalError",
                status=500,
            ) from exc

    def _roll_back(self, endpoint: VpcEndpoint, had: set[str], wanted: set[str]) -> None:
        account, region, endpoint_id = (
            endpoint.account_id,
            endpoint.region,
            endpoint.vpc_endpoint_id,
        )
        if not had:
            self.store.delete_vpc_endpoint(account, region, endpoint_id)
            self._close(endpoint_id, set())
            return
        added = [i.subnet_id for i in endpoint.interfaces if i.private_ip in wanted - had]
        with contextlib.suppress(ServiceError):
            self.store.modify_vpc_endpoint(
                account,
                region,
                endpoint_id,
                EndpointChange(remove_subnet_ids=added),
                datetime.now(UTC),
                self._pool,
            )
        self._close(endpoint_id, had)
