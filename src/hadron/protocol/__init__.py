"""The wire-protocol layer: HTTP requests to operation parameters, results and errors to HTTP.

Layer 4 (pure core): no asyncio, sockets, sqlite3, SQLAlchemy, Starlette or uvicorn, and nothing
from ``hadron.store`` (import-linter enforces it). Everything is driven by botocore's service
models (``models.py``), as the server-side mirror image of botocore's serializers and parsers
(STYLE.md §3-§6).

The composition root routes a request to a service, then::

    adapter = adapter_for(service)
    operation, params = adapter.parse_request(req, service)   # decode, reject unknown members
    validate(params, operation.input_shape, adapter.name)     # constraints, all violations
    ...
    adapter.serialize_response(result, operation, request_id)  # or serialize_error(err, ...)

Every failure a client can cause is raised as a ``hadron.errors.ServiceError``; any other
exception from ``serialize_*`` means a handler returned a value that does not fit the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from botocore.model import OperationModel, ServiceModel

from hadron.errors import Protocol as ProtocolName
from hadron.errors import ServiceError
from hadron.protocol.json10 import JsonAdapter
from hadron.protocol.models import SERVED_SERVICES, find_operation, load_service
from hadron.protocol.query import Ec2Adapter, QueryAdapter
from hadron.protocol.validate import validate
from hadron.types import HttpRequest, HttpResponse

__all__ = [
    "SERVED_SERVICES",
    "Adapter",
    "Ec2Adapter",
    "JsonAdapter",
    "QueryAdapter",
    "adapter_for",
    "find_operation",
    "load_service",
    "parse_operation_name",
    "validate",
]


class Adapter(Protocol):
    """The same functions for every wire protocol."""

    @property
    def name(self) -> ProtocolName: ...

    def operation_name(self, req: HttpRequest, service: ServiceModel) -> str | None: ...

    def parse_request(
        self, req: HttpRequest, service: ServiceModel
    ) -> tuple[OperationModel, dict[str, Any]]: ...

    def serialize_response(
        self, result: Mapping[str, Any] | None, operation: OperationModel, request_id: str
    ) -> HttpResponse: ...

    def serialize_error(
        self, error: ServiceError, service: ServiceModel, request_id: str
    ) -> HttpResponse: ...


_ADAPTERS: Final[dict[str, Adapter]] = {
    "json": JsonAdapter(),
    "query": QueryAdapter(),
    "ec2": Ec2Adapter(),
}


def adapter_for(service: ServiceModel) -> Adapter:
    """The adapter for ``service``'s wire protocol (``ValueError`` if Hadron does not speak it)."""
    protocol = service.metadata.get("protocol")
    if protocol == "json" and service.metadata.get("jsonVersion") != "1.0":
        raise ValueError(f"unsupported JSON version {service.metadata.get('jsonVersion')!r}")
    adapter = _ADAPTERS.get(protocol) if isinstance(protocol, str) else None
    if adapter is None:
        raise ValueError(f"unsupported wire protocol {protocol!r}")
    return adapter


def parse_operation_name(req: HttpRequest, service: ServiceModel) -> str | None:
    """The operation ``req`` names (``X-Amz-Target`` or ``Action``), if valid; never raises."""
    return adapter_for(service).operation_name(req, service)
