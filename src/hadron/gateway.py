"""The request pipeline: route → parse → authenticate (SigV4) → validate → authorize → handle
→ serialize, with one audit record per request.

Layer 2. Takes a received ``HttpRequest`` plus connection facts and returns the ``HttpResponse``;
the ASGI adapter in ``app.py`` does the socket side. Errors are ``ServiceError``s rendered by the
protocol of the service the request was routed to; anything else becomes a 500 InternalFailure
that carries only the request id (the traceback goes to the server log).
"""

from __future__ import annotations

import base64
import logging
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hadron import audit, sigv4, sts
from hadron.access import Authorizer
from hadron.credentials import CredentialResolver, UsageRecorder
from hadron.errors import (
    InternalFailure,
    InvalidClientTokenId,
    NotImplementedOperation,
    ServiceError,
)
from hadron.protocol import adapter_for
from hadron.protocol.models import load_service
from hadron.protocol.validate import validate
from hadron.routing import route
from hadron.session import Session, session_context
from hadron.types import HttpRequest, HttpResponse, Principal

__all__ = ["Call", "CallHandler", "Connection", "Gateway", "Handler", "new_request_id"]

log = logging.getLogger("hadron.gateway")

Handler = Callable[[Principal, Mapping[str, Any]], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Call:
    """Everything a handler may need to know about the request it serves.

    ``context`` is the request context the authorizer saw (global condition keys of
    security.md §5 gathered by the gateway); handlers such as STS AssumeRole evaluate further
    policies with it. ``region`` is the credential scope's region (Proton ARNs carry it).
    """

    principal: Principal
    params: Mapping[str, Any]
    service: str
    operation: str
    region: str
    now: datetime
    request_id: str
    context: Mapping[str, Any]


# Handlers that take the whole ``Call`` (registered with ``call_handlers=``).
CallHandler = Callable[[Call], Mapping[str, Any] | None]

HANDLERS: dict[tuple[str, str], Handler] = {
    ("sts", "GetCallerIdentity"): sts.get_caller_identity,
}
# Operations AWS never authorizes (they tell callers who they are).
UNAUTHORIZED_OPERATIONS = frozenset({("sts", "GetCallerIdentity")})
_READ_ONLY_PREFIXES = ("Get", "List", "Describe")
_BAD_KEY = "The security token included in the request is invalid."


@dataclass(frozen=True, slots=True)
class Connection:
    """Facts about the connection a request arrived on."""

    source_ip: str
    tls: Mapping[str, str] | None = None
    # Set when the connection arrived on a VPC endpoint's listener (security.md §7).
    vpc_endpoint_id: str | None = None
    vpc_id: str | None = None


@dataclass(slots=True)
class _Outcome:
    service: str
    operation: str = ""
    params: Mapping[str, Any] | None = None
    principal: Principal | None = None
    access_key_id: str | None = None
    region: str | None = None
    result: Mapping[str, Any] | None = None
    error: ServiceError | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def new_request_id() -> str:
    """A random version-4 UUID string for request and event ids.

    Ids must be unique, not secret, so a Mersenne Twister seeded from the OS is enough and
    avoids a ``getrandom`` system call per id (which showed up in profiles of the hot path).
    """
    h = f"{_ids.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_ids = random.Random(os.urandom(32))  # noqa: S311 - uniqueness, not secrecy
# RFC 4122 variant bits: the first hex digit of the fourth group is 8, 9, a or b.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _request_context(conn: Connection, now: datetime, region: str) -> dict[str, Any]:
    """The connection-derived global condition keys (security.md §5, §7).

    A request through a VPC endpoint carries ``aws:SourceVpce``, ``aws:SourceVpc`` and
    ``aws:VpcSourceIp`` and no ``aws:SourceIp``; one on the public listener the reverse.
    """
    context: dict[str, Any] = {
        "aws:SecureTransport": True,  # HTTPS is the only listener
        "aws:CurrentTime": now,
        "aws:EpochTime": int(now.timestamp()),
        "aws:RequestedRegion": region,
    }
    if conn.vpc_endpoint_id is None:
        context["aws:SourceIp"] = conn.source_ip
    else:
        context["aws:SourceVpce"] = conn.vpc_endpoint_id
        if conn.vpc_id is not None:
            context["aws:SourceVpc"] = conn.vpc_id
        context["aws:VpcSourceIp"] = conn.source_ip
    return context


class Gateway:
    def __init__(
        self,
        *,
        resolver: CredentialResolver,
        authorizer: Authorizer,
        audit_sink: Callable[[dict[str, Any]], None],
        usage: UsageRecorder,
        regions: Sequence[str],
        clock: Callable[[], datetime],
        max_skew: timedelta = timedelta(minutes=5),
        handlers: Mapping[tuple[str, str], Handler] | None = None,
        extra_handlers: Mapping[tuple[str, str], Handler] | None = None,
        call_handlers: Mapping[tuple[str, str], CallHandler] | None = None,
    ) -> None:
        self._resolver = resolver
        self._authorizer = authorizer
        self._audit = audit_sink
        self._usage = usage
        self._regions = frozenset(regions)
        self._default_region = regions[0]
        self._clock = clock
        self._max_skew = max_skew
        self._handlers = dict(HANDLERS if handlers is None else handlers)
        # Handlers bound to live state (the IAM API), merged over the defaults.
        self._handlers.update(extra_handlers or {})
        self._call_handlers = dict(call_handlers or {})
        self._keys = sigv4.SigningKeyCache()

    def handle(self, req: HttpRequest, conn: Connection) -> HttpResponse:
        request_id = new_request_id()
        outcome = _Outcome(service=route(req))
        model = load_service(outcome.service)
        adapter = adapter_for(model)
        try:
            response = self._run(req, conn, outcome, model, adapter, request_id)
        except ServiceError as exc:
            outcome.error = exc
            response = adapter.serialize_error(exc, model, request_id)
        except Exception:
            log.exception("internal failure, request id %s", request_id)
            outcome.error = InternalFailure("We encountered an internal error. Please try again.")
            response = adapter.serialize_error(outcome.error, model, request_id)
        try:
            self._audit(self._event(req, conn, outcome, request_id, adapter.name))
        except Exception:
            log.exception("audit record failed, request id %s", request_id)
        return response

    def _run(
        self,
        req: HttpRequest,
        conn: Connection,
        out: _Outcome,
        model: Any,
        adapter: Any,
        request_id: str,
    ) -> HttpResponse:
        operation, params = adapter.parse_request(req, model)
        out.operation = operation.name
        now = self._clock()
        claim = sigv4.parse(req)
        out.access_key_id = claim.access_key_id
        sigv4.check(
            claim,
            req,
            now=now,
            max_skew=self._max_skew,
            regions=self._regions,
            services=(out.service,),
        )
        resolved = self._resolver.resolve(claim.access_key_id, claim.session_token, now=now)
        if resolved is None:
            raise InvalidClientTokenId(_BAD_KEY)
        signing_key = self._keys.signing_key(
            resolved.signing_id or claim.access_key_id,
            resolved.secret,
            claim.date,
            claim.region,
            claim.service,
        )
        sigv4.verify(claim, req, signing_key)
        out.principal = resolved.principal
        out.region = claim.region
        if claim.session_token is None:  # last-used is tracked for long-term keys only
            self._usage.note(claim.access_key_id, now, out.service, claim.region)
        out.params = params
        if operation.input_shape is not None:
            validate(params, operation.input_shape, adapter.name)
        key = (out.service, operation.name)
        context = _request_context(conn, now, claim.region)
        if key not in UNAUTHORIZED_OPERATIONS:
            self._authorizer.authorize(
                resolved.principal, out.service, operation.name, params, context=context
            )
        call_handler = self._call_handlers.get(key)
        if call_handler is not None:
            call = Call(
                principal=resolved.principal,
                params=params,
                service=out.service,
                operation=operation.name,
                region=claim.region,
                now=now,
                request_id=request_id,
                context=context,
            )
            out.result = call_handler(call)
        else:
            handler = self._handlers.get(key)
            if handler is None:
                raise NotImplementedOperation(
                    f"The operation {operation.name} of {model.service_name} is not implemented "
                    "by Hadron yet."
                )
            out.result = handler(resolved.principal, params)
        return adapter.serialize_response(out.result, operation, request_id)  # type: ignore[no-any-return]

    def _event(
        self, req: HttpRequest, conn: Connection, out: _Outcome, request_id: str, protocol: str
    ) -> dict[str, Any]:
        principal = out.principal
        identity: dict[str, Any] | None
        if principal is not None:
            identity = {
                "type": principal.principal_type,
                "principalId": principal.user_id,
                "arn": principal.arn,
                "accountId": principal.account_id,
                "accessKeyId": principal.access_key_id,
            }
            if principal.user_name is not None:
                identity["userName"] = principal.user_name
            if isinstance(principal.session, Session):
                identity["sessionContext"] = session_context(principal.session)
        elif out.access_key_id is not None:
            identity = {"type": "Unknown", "accessKeyId": out.access_key_id}
        else:
            identity = None
        error_code = error_message = None
        if out.error is not None:
            error_code, _status, error_message = out.error.wire(protocol)  # type: ignore[arg-type]
        read_only = out.operation.startswith(_READ_ONLY_PREFIXES)
        response = None
        if out.error is None and not read_only and out.result is not None:
            response = _jsonable(out.result)
        tls = dict(conn.tls) if conn.tls else None
        if tls is not None:
            tls["clientProvidedHostHeader"] = req.header("host") or ""
        return audit.build_event(
            event_time=self._clock(),
            event_source=f"{out.service}.amazonaws.com",
            event_name=out.operation or "Unknown",
            aws_region=out.region or self._default_region,
            source_ip=conn.source_ip,
            user_agent=req.header("user-agent") or "",
            request_id=request_id,
            event_id=new_request_id(),
            user_identity=identity,
            # build_event redacts secrets itself.
            request_parameters=_jsonable(out.params) if out.params else None,
            response_elements=response or None,
            error_code=error_code,
            error_message=error_message,
            read_only=read_only,
            recipient_account_id=principal.account_id if principal else None,
            tls_details=tls,
            api_version=None,
        )
