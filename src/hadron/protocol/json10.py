"""The awsJson1_0 wire protocol (AWS Proton): HTTP request -> params, result/error -> HTTP.

Layer 4 (pure core). Must not import asyncio, socket, sqlite3, sqlalchemy, starlette, uvicorn or
hadron.store, and knows nothing about Proton itself: everything comes from the service model.

Mirror image of botocore: requests are what ``botocore.serialize.JSONSerializer`` writes,
responses are what ``botocore.parsers.JSONParser`` reads. Specs: Smithy "AWS JSON 1.0 protocol"
(https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html); security.md §1.8-§1.9.

Request rules (documented choices where AWS is unobserved):

* ``POST`` only (else ``UnsupportedMediaType``, rendered ``SerializationException``); path ``/``
  only (else ``InvalidURIPath``); the query string is ignored here (SigV4 presigning lives there).
* ``X-Amz-Target: <targetPrefix>.<Operation>``: missing -> ``MissingAction``; any other prefix or an
  operation not in the model -> ``InvalidAction``; both render ``UnknownOperationException``.
* ``Content-Type: application/x-amz-json-1.0`` (parameters such as ``; charset=utf-8`` allowed).
* Body: empty means ``{}``; otherwise one UTF-8 JSON object. Invalid UTF-8 or JSON, a duplicate
  key, ``NaN``/``Infinity`` literals, or a value of the wrong JSON type for its shape ->
  ``SerializationException`` (what Coral answers to type mismatches), naming the member path.
* Strings with an unpaired surrogate (``"\\ud800"``) -> ``SerializationException``: they could
  not be stored or echoed as UTF-8. Two ``X-Amz-Target`` headers -> ``InvalidAction``.
* JSON ``null`` for a member means "absent" (Smithy); inside lists and maps it is kept as ``None``
  and reported by ``validate`` as ``Member must not be null``.
* Keys that are not members of the shape are rejected: after the whole body is read, one
  ``ValidationError`` lists every ``Unknown member '<key>' at '<path>'`` (Coral would ignore them;
  Hadron is strict so that typos do not silently drop parameters).
* Timestamps: epoch seconds (JSON numbers) or ISO-8601 strings -> aware UTC ``datetime``.
  Blobs: base64 -> ``bytes``. Floats: numbers or "NaN"/"Infinity"/"-Infinity".
* Smithy document shapes are not supported: no served model has one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from botocore.model import OperationModel, ServiceModel, Shape

from hadron.errors import (
    InvalidAction,
    InvalidURIPath,
    MissingAction,
    SerializationException,
    ServiceError,
    UnsupportedMediaType,
    ValidationError,
)
from hadron.protocol.messages import (
    clip,
    format_violations,
    member_path,
    output_error,
    unknown_member,
)
from hadron.protocol.models import find_operation
from hadron.protocol.scalars import (
    INTEGER_RANGES,
    decode_base64,
    encode_base64,
    float_from_text,
    float_to_text,
    format_timestamp,
    parse_timestamp,
    timestamp_from_epoch,
    to_datetime,
)
from hadron.types import HttpRequest, HttpResponse

__all__ = ["JsonAdapter"]

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_NON_FINITE: Final = ("NaN", "Infinity", "-Infinity")


class JsonAdapter:
    """awsJson1_0 request parser and response/error serializer."""

    name: Final[Literal["json"]] = "json"

    def operation_name(self, req: HttpRequest, service: ServiceModel) -> str | None:
        """The operation ``X-Amz-Target`` names, if ``parse_request`` accepts it; never raises."""
        try:
            return str(self._operation(req, service).name)
        except ServiceError:
            return None

    def parse_request(
        self, req: HttpRequest, service: ServiceModel
    ) -> tuple[OperationModel, dict[str, Any]]:
        """The operation and its decoded input (not yet constraint-validated; see validate.py)."""
        if req.method != "POST":
            raise UnsupportedMediaType(
                f"HTTP method {_echo(req.method)} is not supported; use POST"
            )
        if req.path != "/":
            raise InvalidURIPath(f"Invalid URI path {_echo(req.path)}; the path must be '/'")
        operation = self._operation(req, service)
        _check_content_type(req, service)
        document = _load_body(req.body)
        reader = _Reader()
        shape = operation.input_shape
        if shape is None:
            reader.unknown.extend(unknown_member(key, key) for key in document)
            params: dict[str, Any] = {}
        else:
            params = reader.structure(shape, document, "")
        if reader.unknown:
            raise ValidationError(format_violations(reader.unknown))
        return operation, params

    def serialize_response(
        self, result: Mapping[str, Any] | None, operation: OperationModel, request_id: str
    ) -> HttpResponse:
        """A 200 response carrying ``result`` (a mapping shaped like the output shape)."""
        shape = operation.output_shape
        body: Any = {}
        if shape is not None:
            body = _write(shape, result or {}, "")
        elif result:
            raise ValueError(f"{operation.name} has no output, got members {sorted(result)}")
        return _response(200, body, operation.service_model, request_id)

    def serialize_error(
        self, error: ServiceError, service: ServiceModel, request_id: str
    ) -> HttpResponse:
        """``{"__type": "<Code>", "message": "..."}`` with the error's JSON-protocol status."""
        code, status, message = error.wire("json")
        return _response(status, {"__type": code, "message": message}, service, request_id)

    def _operation(self, req: HttpRequest, service: ServiceModel) -> OperationModel:
        targets = [value for name, value in req.headers if name.lower() == "x-amz-target"]
        target = targets[0] if targets else None
        expected = service.metadata["targetPrefix"]
        if len(targets) > 1:
            # Signed as "a,b" by SigV4 but dispatched on one: refuse rather than guess.
            raise InvalidAction("The X-Amz-Target header must appear exactly once")
        if target is None:
            raise MissingAction(f"Missing X-Amz-Target header; expected '{expected}.<Operation>'")
        prefix, _, name = target.rpartition(".")
        operation = find_operation(service, name) if prefix == expected else None
        if operation is None:
            raise InvalidAction(
                f"Unknown operation {_echo(target)} in X-Amz-Target; "
                f"expected '{expected}.<Operation>'"
            )
        return operation


def _echo(text: str) -> str:
    return f"'{clip(text)}'"


def _media_type(service: ServiceModel) -> str:
    return f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"


def _check_content_type(req: HttpRequest, service: ServiceModel) -> None:
    expected = _media_type(service)
    content_type = req.header("content-type")
    media = (content_type or "").partition(";")[0].strip().lower()
    if media != expected:
        shown = "missing" if content_type is None else _echo(content_type)
        raise UnsupportedMediaType(f"Unsupported Content-Type ({shown}); expected {expected}")


class _RejectedJson(ValueError):
    pass


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _RejectedJson(f"Duplicate key {_echo(key)} in a JSON object")
        document[key] = value
    return document


def _reject_constant(name: str) -> Any:
    raise _RejectedJson(f"Invalid JSON literal {name}; non-finite numbers must be strings")


def _load_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object; ``SerializationException`` for anything else."""
    if not body:
        return {}
    try:
        document = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_unique_object,
            parse_constant=_reject_constant,
        )
    except UnicodeDecodeError as exc:
        raise SerializationException("The request body is not valid UTF-8") from exc
    except _RejectedJson as exc:
        raise SerializationException(str(exc)) from exc
    except json.JSONDecodeError as exc:
        raise SerializationException(f"Malformed JSON: {exc.msg} at offset {exc.pos}") from exc
    except (ValueError, RecursionError) as exc:
        raise SerializationException("Malformed JSON: value too large or too deep") from exc
    if not isinstance(document, dict):
        raise SerializationException(
            f"Expected a JSON object as the request body, found {_kind(document)}"
        )
    return document


def _kind(value: object) -> str:
    """JSON type of ``value`` for messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _text(value: str, path: str) -> str:
    """``value`` unless it holds a lone surrogate (a ``\\udXXX`` escape no UTF-8 can carry)."""
    if _SURROGATE.search(value) is not None:
        raise SerializationException(f"Invalid Unicode (unpaired surrogate) at '{path}'")
    return value


def _mismatch(expected: str, value: object, path: str) -> SerializationException:
    return SerializationException(f"Expected {expected} at '{path}', found {_kind(value)}")


class _Reader:
    """Decodes a parsed JSON document along the input shape; collects unknown members."""

    def __init__(self) -> None:
        self.unknown: list[str] = []

    def read(self, shape: Shape, value: Any, path: str) -> Any:
        if value is None:
            return None
        reader = _READERS.get(shape.type_name, _Reader.string)
        return reader(self, shape, value, path)

    def structure(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _mismatch("an object", value, path)
        by_wire_name = {
            member.serialization.get("name", name): (name, member)
            for name, member in shape.members.items()
        }
        decoded: dict[str, Any] = {}
        for key, item in value.items():
            entry = by_wire_name.get(key)
            if entry is None:
                self.unknown.append(unknown_member(key, member_path(path, key, lower_first=False)))
            elif item is not None:
                name, member = entry
                decoded[name] = self.read(member, item, member_path(path, name, lower_first=False))
        return decoded

    def list(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise _mismatch("an array", value, path)
        member = shape.member
        return [self.read(member, item, f"{path}.{i}.member") for i, item in enumerate(value, 1)]

    def map(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _mismatch("an object", value, path)
        item_shape = shape.value
        return {
            _text(key, path): self.read(item_shape, item, f"{path}.{key}")
            for key, item in value.items()
        }

    def string(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise _mismatch("a string", value, path)
        return _text(value, path)

    def integer(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _mismatch(f"an {shape.type_name} number", value, path)
        low, high = INTEGER_RANGES.get(shape.type_name, INTEGER_RANGES["long"])
        if not low <= value <= high:
            raise SerializationException(
                f"Number at '{path}' is out of range for {shape.type_name}"
            )
        return value

    def float(self, shape: Shape, value: Any, path: str) -> Any:
        if isinstance(value, str) and value in _NON_FINITE:
            return float_from_text(value)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _mismatch("a number", value, path)
        try:
            return float(value)
        except OverflowError as exc:
            raise SerializationException(f"Number at '{path}' is out of range") from exc

    def boolean(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, bool):
            raise _mismatch("a boolean", value, path)
        return value

    def timestamp(self, shape: Shape, value: Any, path: str) -> Any:
        try:
            if isinstance(value, str):
                return parse_timestamp(value)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return timestamp_from_epoch(value)
        except ValueError as exc:
            raise SerializationException(f"Invalid timestamp at '{path}'") from exc
        raise _mismatch("a timestamp (epoch seconds)", value, path)

    def blob(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise _mismatch("a base64 string", value, path)
        try:
            return decode_base64(value)
        except ValueError as exc:
            raise SerializationException(f"Invalid base64 data at '{path}'") from exc


_ReadFn = Callable[[_Reader, Shape, Any, str], Any]
_READERS: Final[dict[str, _ReadFn]] = {
    "structure": _Reader.structure,
    "list": _Reader.list,
    "map": _Reader.map,
    "string": _Reader.string,
    "character": _Reader.string,
    "byte": _Reader.integer,
    "short": _Reader.integer,
    "integer": _Reader.integer,
    "long": _Reader.integer,
    "float": _Reader.float,
    "double": _Reader.float,
    "boolean": _Reader.boolean,
    "timestamp": _Reader.timestamp,
    "blob": _Reader.blob,
}


# --- responses ---------------------------------------------------------------------------------


def _response(status: int, body: Any, service: ServiceModel, request_id: str) -> HttpResponse:
    payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
    headers = (("content-type", _media_type(service)), ("x-amzn-requestid", request_id))
    return HttpResponse(status=status, headers=headers, body=payload)


def _write(shape: Shape, value: Any, path: str) -> Any:
    """The JSON value of handler output ``value``; ``TypeError``/``ValueError`` on a bad value."""
    writer = _WRITERS.get(shape.type_name, _write_scalar)
    return writer(shape, value, path)


def _write_structure(shape: Shape, value: Any, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise output_error(shape, value, path)
    members = shape.members
    extra = [key for key in value if key not in members]
    if extra:
        raise ValueError(f"{shape.name} has no members {extra} (at '{path}')")
    written: dict[str, Any] = {}
    for name, member in members.items():
        item = value.get(name)
        if item is not None:
            wire_name = member.serialization.get("name", name)
            written[wire_name] = _write(member, item, member_path(path, name, lower_first=False))
    return written


def _write_list(shape: Shape, value: Any, path: str) -> Any:
    if not isinstance(value, list | tuple):
        raise output_error(shape, value, path)
    return [
        None if item is None else _write(shape.member, item, f"{path}.{i}.member")
        for i, item in enumerate(value, 1)
    ]


def _write_map(shape: Shape, value: Any, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise output_error(shape, value, path)
    return {
        str(key): None if item is None else _write(shape.value, item, f"{path}.{key}")
        for key, item in value.items()
    }


def _write_scalar(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        return format_timestamp(to_datetime(value), fmt)
    if kind in ("string", "character") and isinstance(value, str):
        return value
    if kind in INTEGER_RANGES and number and isinstance(value, int):
        return value
    if kind in ("float", "double") and number:
        # Smithy writes non-finite numbers as the strings "NaN", "Infinity", "-Infinity".
        as_float = float(value)
        return as_float if math.isfinite(as_float) else float_to_text(as_float)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "blob" and isinstance(value, bytes | bytearray | str):
        return encode_base64(value)
    raise output_error(shape, value, path)


_WriteFn = Callable[[Shape, Any, str], Any]
_WRITERS: Final[dict[str, _WriteFn]] = {
    "structure": _write_structure,
    "list": _write_list,
    "map": _write_map,
}
