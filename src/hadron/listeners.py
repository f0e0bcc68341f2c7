"""TLS listeners: the SSL context policy, a guarded HTTP/1.1 protocol and the uvicorn server.

Edge module (layer 1). Policy (security.md §8.2, Mozilla "intermediate"): TLS 1.2 and 1.3 by
default, forward-secret ECDHE suites only (AEAD suites for TLS 1.2; CBC-SHA ECDHE suites are added
only when an operator allows TLS 1.0/1.1), compression, renegotiation and session tickets off, no
plaintext listener. The certificate is reloaded in place on SIGHUP: ``SSLContext.load_cert_chain``
on the live context changes what new handshakes present while open connections keep going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "TLS_VERSIONS",
    "GuardedHttpProtocol",
    "ListenerConfig",
    "Runtime",
    "build_ssl_context",
    "serve",
]

log = logging.getLogger("hadron.listeners")

TLS_VERSIONS: dict[str, ssl.TLSVersion] = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}

# TLS 1.2 suites of Mozilla's intermediate profile: ECDHE key exchange, AEAD ciphers.
_TLS12_SUITES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
# TLS 1.0/1.1 have no AEAD suites; these are still forward secret (ECDHE). OpenSSL 3 only allows
# TLS < 1.2 at security level 0 (their handshake signatures use SHA-1).
_LEGACY_SUITES = (
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA"
)

HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 30.0
KEEP_ALIVE_SECONDS = 30.0


def build_ssl_context(cert_file: Path, key_file: Path, min_version: str = "1.2") -> ssl.SSLContext:
    """A server context enforcing Hadron's TLS policy."""
    if min_version not in TLS_VERSIONS:
        raise ValueError(f"--tls-min-version must be one of {', '.join(TLS_VERSIONS)}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    minimum = TLS_VERSIONS[min_version]
    if minimum < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers(f"{_TLS12_SUITES}:{_LEGACY_SUITES}:@SECLEVEL=0")
    else:
        ctx.set_ciphers(_TLS12_SUITES)
    with warnings.catch_warnings():  # the ssl module deprecates naming TLS 1.0/1.1 at all
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = minimum
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_TICKET
    ctx.options |= ssl.OP_SINGLE_ECDH_USE
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines that cost nothing per request.

    uvicorn arms and cancels an event-loop timer around every response (keep-alive), and a
    per-request timeout would add more; cancelled timers pile up in the loop's heap at thousands
    of requests per second. Here each request only stamps times, and one periodic check per
    connection enforces them:

    * headers must arrive within ``header_timeout`` seconds of the first byte (or of the
      connection), else the connection is closed (slow-loris, truncated requests);
    * a body still arriving after ``body_timeout`` seconds wakes the application, which answers
      408 ``RequestTimeout`` (see ``HadronApp``);
    * an idle keep-alive connection is closed after ``keep_alive`` seconds.

    The negotiated TLS version and cipher suite go into the ASGI scope under
    ``extensions["tls"]`` for the audit record (CloudTrail ``tlsDetails``). Connections accepted
    by an endpoint listener (``hadron.endpoint_listeners``) carry ``origin`` (the VPC endpoint,
    its VPC and the client address, possibly from a PROXY header); it goes into the scope under
    ``extensions["hadron.origin"]``.
    """

    _guard: asyncio.TimerHandle | None = None
    _headers_since: float | None = None
    _body_since: float | None = None
    _idle_since: float | None = None
    _tls: dict[str, str] | None = None
    header_timeout: float = HEADER_TIMEOUT_SECONDS
    body_timeout: float = BODY_TIMEOUT_SECONDS
    keep_alive: float = KEEP_ALIVE_SECONDS
    origin: dict[str, str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sslobj = transport.get_extra_info("ssl_object")
        if sslobj is not None:
            cipher = sslobj.cipher()
            self._tls = {
                "tlsVersion": sslobj.version() or "",
                "cipherSuite": cipher[0] if cipher else "",
            }
        self._headers_since = self.loop.time()
        self._schedule_guard()

    def _schedule_guard(self) -> None:
        period = max(min(self.header_timeout, self.body_timeout, self.keep_alive) / 4, 0.05)
        self._guard = self.loop.call_later(period, self._check_deadlines)

    def _check_deadlines(self) -> None:
        self._guard = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        headers, body, idle = self._headers_since, self._body_since, self._idle_since
        if (headers is not None and now - headers > self.header_timeout) or (
            idle is not None and now - idle > self.keep_alive
        ):
            self.transport.close()
            return
        if body is not None and now - body > self.body_timeout and self.cycle is not None:
            self.cycle.message_event.set()  # the application sees no progress and answers 408
        self._schedule_guard()

    def data_received(self, data: bytes) -> None:
        self._idle_since = None
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._headers_since = self.loop.time()
        if self._tls is not None or self.origin is not None:
            extensions: dict[str, dict[str, str]] = {}
            if self._tls is not None:
                extensions["tls"] = dict(self._tls)
            if self.origin is not None:
                extensions["hadron.origin"] = dict(self.origin)
            # ASGI's TypedDict types extensions as dict[str, dict[object, object]].
            self.scope["extensions"] = cast(Any, extensions)

    def on_headers_complete(self) -> None:
        self._headers_since = None
        self._body_since = self.loop.time()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._body_since = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # uvicorn's version, minus its per-response keep-alive timer (see the class docstring).
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._idle_since = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None
        super().connection_lost(exc)


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    host: str
    port: int
    cert_file: Path
    key_file: Path
    tls_min_version: str = "1.2"
    header_timeout: float = HEADER_TIMEOUT_SECONDS
    body_timeout: float = BODY_TIMEOUT_SECONDS
    # Open the public listener elsewhere (``on_ready`` returns its port): a listener that reads
    # a PROXY header before TLS (``hadron.endpoint_listeners``).
    external_public: bool = False


@dataclass(frozen=True, slots=True)
class Runtime:
    """What further listeners on the same loop need: a protocol factory wired to the running
    server (connection tracking, graceful drain), the TLS context and the public port."""

    protocol_factory: Callable[[], GuardedHttpProtocol]
    ssl_context: ssl.SSLContext
    port: int


def serve(
    app: Any,
    listener: ListenerConfig,
    *,
    on_started: Callable[[int], None] | None = None,
    on_ready: Callable[[Runtime], Awaitable[int | None]] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Run ``app`` on one TLS listener until SIGTERM/SIGINT; SIGHUP reloads the certificate.

    ``on_ready`` runs on the loop once the server is up (before ``on_started``); it may open more
    listeners and, with ``external_public``, returns the public port it opened. If it raises,
    the server stops and the error propagates. ``on_stop`` runs when a stop signal arrives."""
    ctx = build_ssl_context(listener.cert_file, listener.key_file, listener.tls_min_version)

    def factory(_config: uvicorn.Config, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        return ctx

    protocol = type(
        "ListenerHttpProtocol",
        (GuardedHttpProtocol,),
        {"header_timeout": listener.header_timeout, "body_timeout": listener.body_timeout},
    )
    config = uvicorn.Config(
        app,
        host=listener.host,
        port=listener.port,
        http=protocol,
        ws="none",
        lifespan="on",
        proxy_headers=False,
        server_header=False,
        date_header=True,
        access_log=False,
        log_level="warning",
        timeout_keep_alive=int(KEEP_ALIVE_SECONDS),
        timeout_graceful_shutdown=10,
        ssl_certfile=str(listener.cert_file),
        ssl_keyfile=str(listener.key_file),
        ssl_context_factory=factory,
        limit_concurrency=1000,
    )
    server = uvicorn.Server(config)

    def reload_certificate() -> None:
        try:
            ctx.load_cert_chain(listener.cert_file, listener.key_file)
            log.warning("certificate reloaded from %s", listener.cert_file)
        except (OSError, ssl.SSLError) as exc:
            log.error("certificate reload failed, keeping the old one: %s", exc)

    # uvicorn re-raises the stop signal after its graceful shutdown, which would kill the process
    # before the caller's cleanup runs; handle the signals on the loop instead and exit normally.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]

    def stop(sig: int) -> None:
        if on_stop is not None:
            on_stop()
        server.handle_exit(sig, None)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, reload_certificate)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop, sig)
        serve_task = asyncio.create_task(
            server.serve(sockets=[] if listener.external_public else None)
        )
        while not server.started and not serve_task.done():
            await asyncio.sleep(0.01)
        if not server.started:
            await serve_task
            return
        port = listener.port
        for srv in getattr(server, "servers", []):
            for sock in srv.sockets or []:
                port = sock.getsockname()[1]
        if on_ready is not None:

            def make_protocol() -> GuardedHttpProtocol:
                made: GuardedHttpProtocol = cast(Any, config.http_protocol_class)(
                    config=config,
                    server_state=server.server_state,
                    app_state=server.lifespan.state,
                )
                return made

            try:
                opened = await on_ready(Runtime(make_protocol, ctx, port))
            except BaseException:
                stop(signal.SIGTERM)
                await serve_task
                raise
            if opened is not None:
                port = opened
        if on_started is not None:
            on_started(port)
        await serve_task

    asyncio.run(run())
