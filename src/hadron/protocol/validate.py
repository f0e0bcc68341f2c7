"""Strict server-side validation of decoded request parameters against the input shape.

Layer 4 (pure core). Must not import asyncio, socket, sqlite3, sqlalchemy, starlette, uvicorn or
hadron.store. Spec: STYLE.md §5; Smithy constraint traits (``required``, ``length``, ``range``,
``pattern``, ``enum``) as written in botocore's models (``min``, ``max``, ``pattern``, ``enum``).

botocore's client-side validator checks only ``min``; this one checks every constraint on every
shape and collects *all* violations into one ``ValidationError``, rendered by ``errors.py`` as
``ValidationException`` (JSON), ``ValidationError`` (Query) or ``InvalidParameterValue`` (EC2).

Message texts and member paths: see ``messages.py``. Values of shapes marked ``sensitive`` (or
containing one) and blobs are never echoed. String length is counted in Unicode code points
(Smithy's definition), blob length in bytes. ``pattern`` must match the whole value; a model
pattern Python cannot compile is skipped (see ``patterns.py``). A union must have exactly one
member set. Integers outside their type's range are reported as being of the wrong type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from botocore.model import Shape

from hadron.errors import ValidationError
from hadron.protocol.messages import format_violations, member_path, unknown_member, violation
from hadron.protocol.patterns import compile_pattern
from hadron.protocol.scalars import INTEGER_RANGES

__all__ = ["validate"]


def validate(params: Mapping[str, Any], shape: Shape | None, protocol: str) -> None:
    """Raise one ``ValidationError`` listing every constraint ``params`` break, else return.

    ``protocol`` is ``"json"``, ``"query"`` or ``"ec2"``; it only changes the member paths.
    """
    checker = _Checker(lower_first=protocol != "json")
    if shape is None:
        checker.violations.extend(unknown_member(name, name) for name in params)
    else:
        checker.check(shape, params, "", sensitive=False)
    if checker.violations:
        raise ValidationError(format_violations(checker.violations))


def _reveals_secret(shape: Shape, seen: frozenset[str] = frozenset()) -> bool:
    """Whether echoing a value of ``shape`` could echo a sensitive or binary value."""
    if shape.metadata.get("sensitive") or shape.type_name == "blob":
        return True
    if shape.name in seen:
        return False
    seen = seen | {shape.name}
    if shape.type_name == "structure":
        return any(_reveals_secret(m, seen) for m in shape.members.values())
    if shape.type_name == "list":
        return _reveals_secret(shape.member, seen)
    if shape.type_name == "map":
        return _reveals_secret(shape.key, seen) or _reveals_secret(shape.value, seen)
    return False


class _Checker:
    """One validation pass; appends to ``violations`` in the order of the model's members.

    ``prefix`` is put before every constraint text (used for map keys).
    """

    def __init__(self, *, lower_first: bool, prefix: str = "") -> None:
        self.lower_first = lower_first
        self.prefix = prefix
        self.violations: list[str] = []

    def check(self, shape: Shape, value: Any, path: str, *, sensitive: bool) -> None:
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        if value is None:
            self._null(path)
            return
        handler = _HANDLERS.get(shape.type_name, _Checker._string)
        handler(self, shape, value, path, sensitive)

    def _null(self, path: str) -> None:
        self.violations.append(violation(None, path, self.prefix + "Member must not be null"))

    def _fail(self, shape: Shape, value: object, path: str, sensitive: bool, text: str) -> None:
        hide = sensitive or _reveals_secret(shape)
        self.violations.append(violation(value, path, self.prefix + text, hide=hide))

    def _wrong_type(self, shape: Shape, value: object, path: str, sensitive: bool) -> None:
        self._fail(shape, value, path, sensitive, f"Member must be of type {shape.type_name}")

    def _length(self, shape: Shape, value: object, size: int, path: str, sensitive: bool) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and size < low:
            text = f"Member must have length greater than or equal to {low}"
            self._fail(shape, value, path, sensitive, text)
        if high is not None and size > high:
            text = f"Member must have length less than or equal to {high}"
            self._fail(shape, value, path, sensitive, text)

    def _structure(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        if not isinstance(value, Mapping):
            self._wrong_type(shape, value, path, sensitive)
            return
        members = shape.members
        for name in value:
            if name not in members:
                self.violations.append(unknown_member(str(name), self._path(path, str(name))))
        for name, member in members.items():
            child = self._path(path, name)
            if value.get(name) is not None:
                self.check(member, value[name], child, sensitive=sensitive)
            elif name in shape.required_members:
                self._null(child)
        if shape.metadata.get("union"):
            count = sum(1 for name in members if value.get(name) is not None)
            if count != 1:
                text = "Member must have exactly one member set"
                self._fail(shape, value, path, sensitive, text)

    def _list(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        if not isinstance(value, list | tuple):
            self._wrong_type(shape, value, path, sensitive)
            return
        self._length(shape, value, len(value), path, sensitive)
        for index, item in enumerate(value, 1):
            self.check(shape.member, item, f"{path}.{index}.member", sensitive=sensitive)

    def _map(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        if not isinstance(value, Mapping):
            self._wrong_type(shape, value, path, sensitive)
            return
        self._length(shape, value, len(value), path, sensitive)
        keys = _Checker(lower_first=self.lower_first, prefix="Map keys must satisfy constraint: ")
        for key, item in value.items():
            keys.check(shape.key, key, path, sensitive=sensitive)
            self.check(shape.value, item, f"{path}.{key}", sensitive=sensitive)
        self.violations.extend(keys.violations)

    def _string(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        if not isinstance(value, str):
            self._wrong_type(shape, value, path, sensitive)
            return
        self._length(shape, value, len(value), path, sensitive)
        pattern = shape.metadata.get("pattern")
        if pattern is not None:
            compiled = compile_pattern(pattern)
            # An uncompilable model pattern is skipped (see patterns.py), never fatal.
            if compiled is not None and compiled.fullmatch(value) is None:
                text = f"Member must satisfy regular expression pattern: {pattern}"
                self._fail(shape, value, path, sensitive, text)
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            text = f"Member must satisfy enum value set: [{', '.join(enum)}]"
            self._fail(shape, value, path, sensitive, text)

    def _integer(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            self._wrong_type(shape, value, path, sensitive)
            return
        low, high = INTEGER_RANGES.get(shape.type_name, INTEGER_RANGES["long"])
        if not low <= value <= high:
            self._wrong_type(shape, value, path, sensitive)
            return
        self._range(shape, value, path, sensitive)

    def _float(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            self._wrong_type(shape, value, path, sensitive)
            return
        self._range(shape, value, path, sensitive)

    def _range(self, shape: Shape, value: float, path: str, sensitive: bool) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        # NaN compares false with everything; it satisfies no range.
        if low is not None and not value >= low:
            text = f"Member must have value greater than or equal to {low}"
            self._fail(shape, value, path, sensitive, text)
        if high is not None and not value <= high:
            text = f"Member must have value less than or equal to {high}"
            self._fail(shape, value, path, sensitive, text)

    def _boolean(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        if not isinstance(value, bool):
            self._wrong_type(shape, value, path, sensitive)

    def _timestamp(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        if not isinstance(value, datetime) or value.tzinfo is None:
            self._wrong_type(shape, value, path, sensitive)

    def _blob(self, shape: Shape, value: Any, path: str, sensitive: bool) -> None:
        if not isinstance(value, bytes | bytearray):
            self._wrong_type(shape, value, path, sensitive)
            return
        self._length(shape, value, len(value), path, sensitive)

    def _path(self, parent: str, name: str) -> str:
        return member_path(parent, name, lower_first=self.lower_first)


_Handler = Callable[[_Checker, Shape, Any, str, bool], None]
_HANDLERS: Final[dict[str, _Handler]] = {
    "structure": _Checker._structure,
    "list": _Checker._list,
    "map": _Checker._map,
    "string": _Checker._string,
    "character": _Checker._string,
    "byte": _Checker._integer,
    "short": _Checker._integer,
    "integer": _Checker._integer,
    "long": _Checker._integer,
    "float": _Checker._float,
    "double": _Checker._float,
    "boolean": _Checker._boolean,
    "timestamp": _Checker._timestamp,
    "blob": _Checker._blob,
}
