"""Strict ``application/x-www-form-urlencoded`` decoding for Query-protocol parameters.

Layer 4 (pure core). Must not import asyncio, socket, sqlite3, sqlalchemy, starlette, uvicorn or
hadron.store. Spec: WHATWG URL "application/x-www-form-urlencoded parsing", made strict the way
AWS's Java front ends are (security.md §1.9 row 17).

``urllib.parse`` silently keeps malformed escapes (``%zz`` stays ``%zz``) and replaces invalid
UTF-8; here both are errors, so that every layer (SigV4, authorization, handlers) sees the same
parameters or the request is refused:

* ``%`` followed by fewer than two characters -> ``MalformedQueryString``
  ``Incomplete trailing escape % sequence``;
* ``%`` followed by two characters that are not both hex digits -> ``MalformedQueryString``
  ``Illegal hex character in escape % pattern: %XY``;
* decoded bytes that are not UTF-8, or raw characters outside Latin-1 (the HTTP layer decodes
  header and target bytes as Latin-1) -> ``MalformedQueryString``.

``+`` decodes to a space in keys and values, in bodies and query strings alike (botocore encodes
spaces as ``+`` in bodies and ``+`` itself as ``%2B``). Empty ``&&`` segments are skipped; a
segment without ``=`` is a key with an empty value.

``ParamTree`` splits the decoded names on ``.`` (``Tags.member.1.Key`` is a path of four nodes)
so that a reader can walk it along the input shape, marking what it consumes; whatever is left
unconsumed is an unknown parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

from hadron.errors import MalformedQueryString

__all__ = ["ParamTree", "decode_form"]

_INDEX: Final = re.compile(r"[1-9][0-9]{0,8}", re.ASCII)
_ESCAPE: Final = re.compile(r"%(.{0,2})", re.DOTALL)
_HEX: Final = re.compile(r"[0-9A-Fa-f]{2}", re.ASCII)


def decode_form(data: str) -> list[tuple[str, str]]:
    """(name, value) pairs of a form-encoded string, in order, repeats kept."""
    pairs: list[tuple[str, str]] = []
    for segment in data.split("&"):
        if not segment:
            continue
        name, _, value = segment.partition("=")
        pairs.append((_unescape(name), _unescape(value)))
    return pairs


def _unescape(text: str) -> str:
    """Percent- and plus-decoding of one name or value, strictly."""
    out = bytearray()
    position = 0
    try:
        for match in _ESCAPE.finditer(text):
            digits = match.group(1)
            if len(digits) < 2:
                raise MalformedQueryString("Incomplete trailing escape % sequence")
            if _HEX.fullmatch(digits) is None:
                raise MalformedQueryString(f"Illegal hex character in escape % pattern: %{digits}")
            out += text[position : match.start()].replace("+", " ").encode("latin-1")
            out.append(int(digits, 16))
            position = match.end()
        out += text[position:].replace("+", " ").encode("latin-1")
    except UnicodeEncodeError as exc:
        raise MalformedQueryString("Invalid character in the query string") from exc
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedQueryString("The query string is not valid UTF-8") from exc


class ParamTree:
    """One dotted-name segment of the parameters, its value and its children."""

    __slots__ = ("children", "used", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, ParamTree] = {}
        self.used = False

    @classmethod
    def build(cls, params: Iterable[tuple[str, str]]) -> ParamTree:
        root = cls()
        for key, value in params:
            node = root
            for part in key.split("."):
                node = node.children.setdefault(part, cls())
            node.value = value
        return root

    def take(self) -> str | None:
        """The value, marked as consumed."""
        self.used = self.value is not None
        return self.value

    def indexed(self) -> list[ParamTree]:
        """Children named 1, 2, ... in numeric order (other names stay unconsumed)."""
        items = [(int(k), child) for k, child in self.children.items() if _INDEX.fullmatch(k)]
        return [child for _, child in sorted(items, key=lambda item: item[0])]

    def unused(self) -> Iterator[str]:
        """Full names of the parameters no reader consumed, in request order."""
        # Iterative: a name with thousands of dots must not exhaust the Python stack.
        stack: list[tuple[str, ParamTree]] = [("", self)]
        while stack:
            prefix, node = stack.pop()
            if node.value is not None and not node.used and prefix:
                yield prefix
            children = [
                (f"{prefix}.{part}" if prefix else part, child)
                for part, child in node.children.items()
            ]
            stack.extend(reversed(children))
