"""The AWS Query wire protocol (IAM, STS) and its EC2 flavour: form params -> params; XML out.

Layer 4 (pure core). Must not import asyncio, socket, sqlite3, sqlalchemy, starlette, uvicorn or
hadron.store, and knows nothing about IAM, STS or EC2: everything comes from the service model.

Mirror image of botocore: requests are what ``botocore.serialize.QuerySerializer`` /
``EC2Serializer`` write, responses what ``botocore.parsers.QueryParser`` / ``EC2QueryParser``
read. Specs: Smithy "AWS query protocol" and "AWS EC2 query protocol"
(https://smithy.io/2.0/aws/protocols/aws-query-protocol.html, .../aws-ec2-query-protocol.html);
security.md §1.8-§1.9. ``Ec2Adapter`` is a subclass overriding the naming and envelope hooks,
the way ``EC2Serializer`` subclasses ``QuerySerializer``.

Request rules (documented choices where AWS is unobserved):

* ``GET`` (parameters in the query string) or ``POST`` (query string plus an
  ``application/x-www-form-urlencoded`` body, UTF-8); other methods or body types ->
  ``UnsupportedMediaType``; a path other than ``/`` -> ``InvalidURIPath``. Decoding is strict
  (``form.py``); a parameter given twice -> ``MalformedQueryString``.
* ``Action`` missing or empty -> ``MissingAction``; an unknown ``Action``, or a ``Version`` other
  than the model's ``apiVersion`` -> ``InvalidAction`` (``Could not find operation <Action> for
  version <Version>``, ``NO_VERSION_SPECIFIED`` when absent; EC2: ``The action <Action> is not
  valid for this web service.``).
* Names: structures ``A.B``; lists ``A.member.N`` (or the list member's ``locationName``),
  flattened lists ``A.N``; maps ``A.entry.N.key``/``.value`` (``locationName`` respected). EC2:
  lists ``A.N``, names from ``queryName`` or the capitalized ``locationName``. ``A=`` (empty value)
  is an empty list. Values: ``true``/``false`` (any case), decimal integers, floats, ISO-8601
  timestamps, base64 blobs; an undecodable value is a violation ``Member must be of type <type>``.
* Parameters that are not ``Action``, ``Version``, ``X-Amz-*`` (SigV4 presigning) or a member of
  the input shape are ``Unknown member '<last part>' at '<parameter>'`` violations; all decoding
  violations are raised together as one ``ValidationError`` (constraint validation is
  ``validate.py``'s job, run afterwards).

Responses are ``text/xml`` with an ``x-amzn-RequestId`` header; element content is written by
``markup.py``. Query: ``<{Op}Response xmlns><{resultWrapper}>..</..><ResponseMetadata>``; EC2:
``<{Op}Response xmlns><requestId>..</requestId>..``. Errors: ``<ErrorResponse><Error><Type>
Sender|Receiver</Type><Code/><Message/></Error><RequestId/>`` (``Receiver`` for 5xx); EC2
``<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, Literal

from botocore.model import OperationModel, ServiceModel, Shape

from hadron.errors import (
    InvalidAction,
    InvalidURIPath,
    MalformedQueryString,
    MissingAction,
    ServiceError,
    UnsupportedMediaType,
    ValidationError,
)
from hadron.protocol.form import ParamTree, decode_form
from hadron.protocol.markup import XmlWriter, escape
from hadron.protocol.messages import (
    clip,
    format_violations,
    member_path,
    type_violation,
    unknown_member,
    violation,
)
from hadron.protocol.models import find_operation
from hadron.protocol.scalars import INTEGER_RANGES, decode_base64, float_from_text, parse_timestamp
from hadron.types import HttpRequest, HttpResponse

__all__ = ["Ec2Adapter", "QueryAdapter"]

_FORM: Final = "application/x-www-form-urlencoded"
_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,20}", re.ASCII)
_XML_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'
_ABSENT: Final[Any] = object()
"""Returned by readers for "no value here" (distinct from a decoded ``None``)."""


class QueryAdapter:
    """AWS Query request parser and XML response/error serializer."""

    name: ClassVar[Literal["query", "ec2"]] = "query"

    def operation_name(self, req: HttpRequest, service: ServiceModel) -> str | None:
        """The ``Action`` parameter, if ``parse_request`` would accept it; never raises."""
        try:
            return str(self._operation(_parameters(req), service).name)
        except ServiceError:
            return None

    def parse_request(
        self, req: HttpRequest, service: ServiceModel
    ) -> tuple[OperationModel, dict[str, Any]]:
        """The operation and its decoded input (not yet constraint-validated; see validate.py)."""
        params = _parameters(req)
        operation = self._operation(params, service)
        root = ParamTree.build(
            (key, value)
            for key, value in params.items()
            if key not in ("Action", "Version") and not key.startswith("X-Amz-")
        )
        reader = _Reader(ec2=self.name == "ec2")
        decoded: dict[str, Any] = {}
        if operation.input_shape is not None:
            decoded = reader.structure(operation.input_shape, root, "")
        problems = reader.violations + [
            unknown_member(key.rpartition(".")[2], key) for key in root.unused()
        ]
        if problems:
            raise ValidationError(format_violations(problems))
        return operation, decoded

    def serialize_response(
        self, result: Mapping[str, Any] | None, operation: OperationModel, request_id: str
    ) -> HttpResponse:
        """A 200 XML response carrying ``result`` (a mapping shaped like the output shape)."""
        shape = operation.output_shape
        content = ""
        if shape is not None:
            content = XmlWriter(millis=self.name == "ec2").members(shape, result or {}, "")
            wrapper = shape.serialization.get("resultWrapper")
            if wrapper:
                content = f"<{wrapper}>{content}</{wrapper}>"
        elif result:
            raise ValueError(f"{operation.name} has no output, got members {sorted(result)}")
        ns = escape(_namespace(operation.service_model))
        opening = f'{_XML_DECLARATION}<{operation.name}Response xmlns="{ns}">'
        body = self._document(opening, content, escape(request_id))
        return _xml_response(200, body + f"</{operation.name}Response>", request_id)

    def serialize_error(
        self, error: ServiceError, service: ServiceModel, request_id: str
    ) -> HttpResponse:
        """``<ErrorResponse>`` (Query) / ``<Response><Errors>`` (EC2) with the wire status."""
        code, status, message = error.wire(self.name)
        body = self._error_body(service, status, escape(code), escape(message), escape(request_id))
        return _xml_response(status, body, request_id)

    # --- flavour hooks (overridden by Ec2Adapter) ------------------------------------------------

    def _unknown_action(self, action: str, version: str) -> str:
        return f"Could not find operation {clip(action)} for version {clip(version)}"

    def _document(self, opening: str, content: str, request_id: str) -> str:
        """The response document up to its closing tag: result, then metadata."""
        metadata = f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        return opening + content + metadata

    def _error_body(
        self, service: ServiceModel, status: int, code: str, message: str, request_id: str
    ) -> str:
        fault = "Receiver" if status >= 500 else "Sender"
        ns = escape(_namespace(service))
        return (
            f'{_XML_DECLARATION}<ErrorResponse xmlns="{ns}"><Error><Type>{fault}</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )

    def _operation(self, params: Mapping[str, str], service: ServiceModel) -> OperationModel:
        action = params.get("Action")
        if not action:
            raise MissingAction("The request is missing an action or a required parameter.")
        version = params.get("Version")
        operation = find_operation(service, action)
        if operation is None or version != service.api_version:
            raise InvalidAction(self._unknown_action(action, version or "NO_VERSION_SPECIFIED"))
        return operation


class Ec2Adapter(QueryAdapter):
    """The EC2 flavour: ``Name.N`` lists, lowerCamel XML, ``<Response><Errors>`` envelope."""

    name: ClassVar[Literal["query", "ec2"]] = "ec2"

    def _unknown_action(self, action: str, version: str) -> str:
        return f"The action {clip(action)} is not valid for this web service."

    def _document(self, opening: str, content: str, request_id: str) -> str:
        return f"{opening}<requestId>{request_id}</requestId>{content}"

    def _error_body(
        self, service: ServiceModel, status: int, code: str, message: str, request_id: str
    ) -> str:
        return (
            f"{_XML_DECLARATION}<Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )


# --- requests ----------------------------------------------------------------------------------


def _parameters(req: HttpRequest) -> dict[str, str]:
    """All request parameters (query string, then form body), each name at most once."""
    if req.method not in ("GET", "POST"):
        raise UnsupportedMediaType(f"HTTP method '{clip(req.method)}' is not supported")
    if req.path != "/":
        raise InvalidURIPath(f"Invalid URI path '{clip(req.path)}'; the path must be '/'")
    pairs = decode_form(req.query)
    if req.method == "POST" and req.body:
        content_type = req.header("content-type") or ""
        media, _, options = content_type.partition(";")
        charset = options.strip().lower().removeprefix("charset=").strip('"')
        if media.strip().lower() != _FORM or charset not in ("", "utf-8"):
            raise UnsupportedMediaType(
                f"Unsupported Content-Type '{clip(content_type)}'; expected {_FORM}"
            )
        pairs += decode_form(req.body.decode("latin-1"))
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise MalformedQueryString(f"Parameter '{clip(key)}' appears more than once")
        params[key] = value
    return params


class _Reader:
    """Decodes the parameter tree along the input shape, collecting violations."""

    def __init__(self, *, ec2: bool) -> None:
        self.ec2 = ec2
        self.violations: list[str] = []
        self._secret = 0

    def read(self, shape: Shape, node: ParamTree, path: str) -> Any:
        secret = 1 if shape.metadata.get("sensitive") else 0
        self._secret += secret
        try:
            return _READERS.get(shape.type_name, _Reader.string)(self, shape, node, path)
        finally:
            self._secret -= secret

    def wire_names(self, member: Shape, name: str) -> tuple[str, ...]:
        """Parameter names of a structure member (botocore ``_get_serialized_name``)."""
        serialization = member.serialization
        if self.ec2:
            if "queryName" in serialization:
                return (str(serialization["queryName"]),)
            located = serialization.get("name")
            return (str(located[0].upper() + located[1:]) if located else name,)
        plain = str(serialization.get("name", name))
        renamed = member.member.serialization.get("name") if member.type_name == "list" else None
        if renamed and serialization.get("flattened"):
            # botocore writes the items of a flattened list under the list member's
            # locationName, but the empty-list marker ("Name=") under the member's own name.
            return (str(renamed), plain)
        return (plain,)

    def structure(self, shape: Shape, node: ParamTree, path: str) -> Any:
        if node.value is not None and path:
            self._wrong_type(shape, node.take() or "", path)
        if not node.children:
            return _ABSENT if path else {}
        decoded: dict[str, Any] = {}
        for name, member in shape.members.items():
            child_path = member_path(path, name, lower_first=True)
            for wire_name in self.wire_names(member, name):
                child = node.children.get(wire_name)
                value = _ABSENT if child is None else self.read(member, child, child_path)
                if value is not _ABSENT:
                    decoded[name] = value
                    break
        return decoded

    def list(self, shape: Shape, node: ParamTree, path: str) -> Any:
        empty = node.value == "" and node.take() == ""
        if self.ec2 or shape.serialization.get("flattened"):
            container: ParamTree | None = node
        else:
            container = node.children.get(shape.member.serialization.get("name", "member"))
        items = container.indexed() if container is not None else []
        if not items:
            return self._not_a_container(shape, node, path, empty)
        decoded = (
            self.read(shape.member, item, f"{path}.{i}.member") for i, item in enumerate(items, 1)
        )
        return [None if value is _ABSENT else value for value in decoded]

    def map(self, shape: Shape, node: ParamTree, path: str) -> Any:
        empty = node.value == "" and node.take() == ""
        flat = shape.serialization.get("flattened")
        container = node if flat else node.children.get("entry")
        entries = container.indexed() if container is not None else []
        if not entries:
            return self._not_a_container(shape, node, path, empty)
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        decoded: dict[str, Any] = {}
        for entry in entries:
            key_node, value_node = entry.children.get(key_name), entry.children.get(value_name)
            key = self.read(shape.key, key_node, path) if key_node is not None else _ABSENT
            if key is _ABSENT:
                self.violations.append(violation(None, path, "Map keys must not be null"))
            value = _ABSENT
            if value_node is not None:
                label = "null" if key is _ABSENT else key
                value = self.read(shape.value, value_node, f"{path}.{label}")
            if key is not _ABSENT:
                decoded[key] = None if value is _ABSENT else value
        return decoded

    def _not_a_container(self, shape: Shape, node: ParamTree, path: str, empty: bool) -> Any:
        if empty:
            return [] if shape.type_name == "list" else {}
        if node.value is not None:
            node.take()
            self._wrong_type(shape, node.value, path)
        return _ABSENT

    def string(self, shape: Shape, node: ParamTree, path: str) -> Any:
        value = node.take()
        return _ABSENT if value is None else value

    def scalar(self, shape: Shape, node: ParamTree, path: str) -> Any:
        text = node.take()
        if text is None:
            return _ABSENT
        try:
            return _SCALARS[shape.type_name](shape, text)
        except ValueError:
            self._wrong_type(shape, text, path)
            return _ABSENT

    def _wrong_type(self, shape: Shape, text: str, path: str) -> None:
        hide = self._secret > 0 or shape.type_name == "blob"
        self.violations.append(type_violation(text, path, shape.type_name, hide=hide))


def _integer(shape: Shape, text: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        raise ValueError(text)
    value = int(text)
    low, high = INTEGER_RANGES.get(shape.type_name, INTEGER_RANGES["long"])
    if not low <= value <= high:
        raise ValueError(text)
    return value


def _boolean(shape: Shape, text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(text)
    return lowered == "true"


_SCALARS: Final[dict[str, Callable[[Shape, str], Any]]] = {
    "byte": _integer,
    "short": _integer,
    "integer": _integer,
    "long": _integer,
    "float": lambda shape, text: float_from_text(text),
    "double": lambda shape, text: float_from_text(text),
    "boolean": _boolean,
    "timestamp": lambda shape, text: parse_timestamp(text),
    "blob": lambda shape, text: decode_base64(text),
}
_ReadFn = Callable[[_Reader, Shape, ParamTree, str], Any]
_READERS: Final[dict[str, _ReadFn]] = {
    "structure": _Reader.structure,
    "list": _Reader.list,
    "map": _Reader.map,
    "string": _Reader.string,
    "character": _Reader.string,
    **{type_name: _Reader.scalar for type_name in _SCALARS},
}


# --- responses ---------------------------------------------------------------------------------


def _namespace(service: ServiceModel) -> str:
    """``xmlNamespace`` of the model, else ``https://{endpointPrefix}.amazonaws.com/doc/{v}/``."""
    metadata = service.metadata
    ns = str(
        metadata.get("xmlNamespace")
        or f"https://{metadata['endpointPrefix']}.amazonaws.com/doc/{metadata['apiVersion']}/"
    )
    return ns if ns.endswith("/") else ns + "/"


def _xml_response(status: int, body: str, request_id: str) -> HttpResponse:
    headers = (("content-type", "text/xml"), ("x-amzn-requestid", request_id))
    return HttpResponse(status=status, headers=headers, body=body.encode("utf-8"))
