"""The ASGI application: reads a request off the connection, runs the gateway, writes the answer.

Edge module (layer 1). Besides the API it serves one unauthenticated probe,
``GET /_hadron/health``. Bodies are capped (``max_body_bytes``; larger ones get 413 before being
read) and must arrive within ``body_timeout`` seconds (else 408). Background tasks flush the audit
log and write access-key last-used times off the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hadron.errors import AccessDenied, RequestEntityTooLarge, RequestTimeout, ServiceError
from hadron.gateway import Connection, Gateway, new_request_id
from hadron.protocol import adapter_for
from hadron.protocol.models import load_service
from hadron.routing import route
from hadron.types import HttpRequest, HttpResponse

__all__ = ["HadronApp"]

log = logging.getLogger("hadron.app")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HEALTH_PATH = b"/_hadron/health"
_HEALTH_BODY = b'{"status":"ok"}'


class _BodyError(Exception):
    def __init__(self, error: ServiceError):
        self.error = error


class HadronApp:
    def __init__(
        self,
        gateway: Gateway,
        *,
        flush_audit: Callable[[], None],
        flush_usage: Callable[[], None],
        max_body_bytes: int = 1 << 20,
        body_timeout: float = 30.0,
        flush_interval: float = 0.25,
    ) -> None:
        self.gateway = gateway
        self._flush_audit = flush_audit
        self._flush_usage = flush_usage
        self._max_body = max_body_bytes
        self._body_timeout = body_timeout
        self._interval = flush_interval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        task: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                task = asyncio.create_task(self._flusher())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await asyncio.to_thread(self._flush_all)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _flush_all(self) -> None:
        for flush in (self._flush_audit, self._flush_usage):
            try:
                flush()
            except Exception:
                log.exception("background flush failed")

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await asyncio.to_thread(self._flush_all)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        # No timer per request: the listener wakes ``receive`` when a body is overdue
        # (listeners.GuardedHttpProtocol), and the elapsed time is checked here.
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self._max_body:
                    raise _BodyError(self._too_large())
        loop = asyncio.get_running_loop()
        started = loop.time()
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionResetError("client went away before the body arrived")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                raise _BodyError(self._too_large())
            chunks.append(chunk)
            more = message.get("more_body", False)
            if more and loop.time() - started > self._body_timeout:
                raise TimeoutError
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _too_large(self) -> RequestEntityTooLarge:
        return RequestEntityTooLarge(
            f"Request body is larger than the maximum of {self._max_body} bytes."
        )

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        if raw_path == HEALTH_PATH and scope["method"] == "GET":
            await _send(
                send, HttpResponse(200, (("content-type", "application/json"),), _HEALTH_BODY)
            )
            return
        query: bytes = scope.get("query_string", b"")
        target = (raw_path + b"?" + query if query else raw_path).decode("latin-1")
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        try:
            body = await self._read_body(scope, receive)
        except ConnectionResetError:
            return
        except (TimeoutError, _BodyError) as exc:
            error = (
                exc.error
                if isinstance(exc, _BodyError)
                else RequestTimeout(
                    "Your socket connection to the server was not read from or written to within "
                    "the timeout period."
                )
            )
            req = HttpRequest(scope["method"], target, headers, b"")
            model = load_service(route(req))
            response = adapter_for(model).serialize_error(error, model, new_request_id())
            await _send(send, response, close=True)
            return
        client = scope.get("client")
        extensions = scope.get("extensions") or {}
        origin = extensions.get("hadron.origin")
        request = HttpRequest(scope["method"], target, headers, body)
        if origin is not None and "service" in origin:
            service = route(request)
            if service != origin["service"]:
                await _send(send, _wrong_service(request, service, origin))
                return
        if origin is None:
            conn = Connection(source_ip=client[0] if client else "", tls=extensions.get("tls"))
        else:  # an endpoint listener, or a PROXY header (hadron.endpoint_listeners)
            conn = Connection(
                source_ip=origin["source_ip"],
                tls=extensions.get("tls"),
                vpc_endpoint_id=origin.get("vpc_endpoint_id"),
                vpc_id=origin.get("vpc_id"),
            )
        response = self.gateway.handle(request, conn)
        await _send(send, response)


def _wrong_service(request: HttpRequest, service: str, origin: dict[str, str]) -> HttpResponse:
    """A request for another service on a VPC endpoint's listener: an endpoint for
    ``com.amazonaws.<region>.proton`` reaches Proton only (and one for ``.sts`` STS only), as its
    DNS names route only there on AWS. Hadron answers AccessDenied in that service's protocol."""
    del request
    model = load_service(service)
    error = AccessDenied(
        f"The VPC endpoint {origin.get('vpc_endpoint_id')} serves {origin['service']} only; "
        f"{service} requests cannot be sent through it."
    )
    return adapter_for(model).serialize_error(error, model, new_request_id())


async def _send(send: Send, response: HttpResponse, *, close: bool = False) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode()))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
