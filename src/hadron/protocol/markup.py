"""XML element content for Query/EC2 responses, written along a botocore output shape.

Layer 4 (pure core). Must not import asyncio, socket, sqlite3, sqlalchemy, starlette, uvicorn or
hadron.store. Writes exactly what ``botocore.parsers.BaseXMLResponseParser`` reads back:

* structure members are elements named by ``locationName`` or the member name (a flattened list
  with a named member uses the member's name, as ``_member_key_name`` does);
* lists: ``<Name><member>..</member></Name>`` (``<item>`` etc. when the list member has a
  ``locationName``); flattened lists repeat ``<Name>``;
* maps: ``<Name><entry><key/><value/></entry></Name>`` (names from ``locationName``);
* scalars: ``true``/``false``, decimal integers, ``repr`` floats (``NaN``, ``Infinity``),
  ISO-8601 timestamps (``2026-12-03T16:05:27Z``; EC2 always with milliseconds), base64 blobs.

Text is escaped; characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates,
U+FFFE/U+FFFF) become U+FFFD, and ``\\r`` is written ``&#13;`` so that parsers keep it.
Values of the wrong Python type raise ``TypeError`` (a handler bug, answered as a 500).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from botocore.model import Shape

from hadron.protocol.messages import member_path, output_error
from hadron.protocol.scalars import (
    INTEGER_RANGES,
    encode_base64,
    float_to_text,
    format_timestamp,
    to_datetime,
)

__all__ = ["XmlWriter", "escape"]

_XML_INVALID: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


# Anything escape() would change: markup characters, CR, and characters XML cannot carry.
_NEEDS_ESCAPE: Final = re.compile('[&<>"\r]|[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')


def escape(value: str) -> str:
    """XML character data for ``value`` (see the module docstring for the replacements)."""
    if _NEEDS_ESCAPE.search(value) is None:  # the common case: nothing to do
        return value
    return _XML_INVALID.sub("\ufffd", value).translate(_XML_ESCAPES).replace("\r", "&#13;")


class XmlWriter:
    """Writes handler output as XML elements along the output shape (botocore's parser rules)."""

    def __init__(self, *, millis: bool) -> None:
        self.millis = millis

    def members(self, shape: Shape, value: Any, path: str) -> str:
        """The member elements of a structure (not wrapped in an element of its own)."""
        if not isinstance(value, Mapping):
            raise output_error(shape, value, path)
        members = shape.members
        extra = [key for key in value if key not in members]
        if extra:
            raise ValueError(f"{shape.name} has no members {extra} (at '{path}')")
        parts: list[str] = []
        for name, member in members.items():
            item = value.get(name)
            if item is None:
                continue
            # Paths only name members in errors; build them cheaply (botocore caches the shapes).
            child = member_path(path, name, lower_first=True) if path else name
            tag = _tag(member, name)
            flattened = member.serialization.get("flattened")
            if flattened and member.type_name == "list":
                entries = _sequence(member, item, child)
                parts.extend(self.element(member.member, entry, tag, child) for entry in entries)
            elif flattened and member.type_name == "map":
                pairs = _mapping(member, item, child).items()
                parts.extend(f"<{tag}>{self._entry(member, k, v, child)}</{tag}>" for k, v in pairs)
            else:
                parts.append(self.element(member, item, tag, child))
        return "".join(parts)

    def element(self, shape: Shape, value: Any, tag: str, path: str) -> str:
        """``<tag>value</tag>``."""
        if value is None:
            raise output_error(shape, value, path)
        content = _CONTENTS.get(shape.type_name, XmlWriter._scalar)(self, shape, value, path)
        return f"<{tag}>{content}</{tag}>"

    def _list(self, shape: Shape, value: Any, path: str) -> str:
        item_tag = shape.member.serialization.get("name", "member")
        return "".join(
            self.element(shape.member, item, item_tag, f"{path}.{i}.member")
            for i, item in enumerate(_sequence(shape, value, path), 1)
        )

    def _map(self, shape: Shape, value: Any, path: str) -> str:
        pairs = _mapping(shape, value, path).items()
        return "".join(f"<entry>{self._entry(shape, k, v, path)}</entry>" for k, v in pairs)

    def _entry(self, shape: Shape, key: Any, value: Any, path: str) -> str:
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        return self.element(shape.key, key, key_tag, path) + self.element(
            shape.value, value, value_tag, f"{path}.{key}"
        )

    def _scalar(self, shape: Shape, value: Any, path: str) -> str:
        return escape(self._scalar_text(shape, value, path))

    def _scalar_text(self, shape: Shape, value: Any, path: str) -> str:
        type_name = shape.type_name
        if type_name == "timestamp":
            fmt = shape.serialization.get("timestampFormat", "iso8601")
            return str(format_timestamp(to_datetime(value), fmt, millis=self.millis))
        if type_name == "blob" and isinstance(value, bytes | bytearray | str):
            return encode_base64(value)
        if type_name == "boolean" and isinstance(value, bool):
            return "true" if value else "false"
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if type_name in INTEGER_RANGES and number and isinstance(value, int):
            return str(value)
        if type_name in ("float", "double") and number:
            return float_to_text(float(value))
        if type_name in ("string", "character") and isinstance(value, str):
            return value
        raise output_error(shape, value, path)


_CONTENTS: Final[dict[str, Callable[[XmlWriter, Shape, Any, str], str]]] = {
    "structure": XmlWriter.members,
    "list": XmlWriter._list,
    "map": XmlWriter._map,
}


def _sequence(shape: Shape, value: Any, path: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise output_error(shape, value, path)
    return value


def _mapping(shape: Shape, value: Any, path: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise output_error(shape, value, path)
    return value


def _tag(member: Shape, name: str) -> str:
    """The element name of a structure member (botocore ``_member_key_name``)."""
    located = None
    if member.type_name == "list" and member.serialization.get("flattened"):
        located = member.member.serialization.get("name")
    return str(located or member.serialization.get("name", name))
