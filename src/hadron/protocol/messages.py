"""Texts of validation-style error messages, shared by the parsers and ``validate``.

Layer 4 (pure core). Must not import asyncio, socket, sqlite3, sqlalchemy, starlette, uvicorn or
hadron.store.

Format (AWS Coral, as answered by Proton, IAM and STS)::

    1 validation error detected: Value 'x y' at 'name' failed to satisfy constraint: Member must ...
    2 validation errors detected: <violation>; <violation>

Member paths (a documented choice, the same for every protocol):

* structure members: ``parent.child``, using the model's member names; on the Query and EC2
  protocols the first letter is lower-cased (IAM says ``userName`` for ``UserName``);
* list items: ``list.N.member`` with N counted from 1, then ``.child`` (``tags.1.member.key``);
* map values: ``map.<key>``; a map key that breaks a constraint is reported at ``map`` with the
  constraint prefixed by ``Map keys must satisfy constraint:``.

Values are echoed as AWS echoes them (``Value 'abc'``, ``Value null``, lists ``[a, b]``, maps
``{k=v}``) unless the caller hides them (sensitive shapes, blobs): ``Value at 'x' failed ...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from hadron.protocol.scalars import float_to_text, iso8601

__all__ = [
    "clip",
    "format_violations",
    "member_path",
    "output_error",
    "type_violation",
    "unknown_member",
    "violation",
]

_CLIP: Final = 128
"""Client-controlled identifiers (targets, actions) are cut to this many characters."""


def format_violations(violations: Sequence[str]) -> str:
    """``N validation error(s) detected: a; b`` (the Coral summary line)."""
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(violations)


def violation(value: object, path: str, constraint: str, *, hide: bool = False) -> str:
    """One violation: ``Value 'v' at 'path' failed to satisfy constraint: <constraint>``.

    ``value=None`` renders ``Value null``; ``hide=True`` (and any blob) leaves the value out.
    """
    if value is None:
        head = "Value null"
    elif hide or isinstance(value, bytes | bytearray):
        head = "Value"
    else:
        head = f"Value '{_render(value)}'"
    return f"{head} at '{path}' failed to satisfy constraint: {constraint}"


def type_violation(value: object, path: str, type_name: str, *, hide: bool = False) -> str:
    """A value that is not of the model type (``Member must be of type integer``)."""
    return violation(value, path, f"Member must be of type {type_name}", hide=hide)


def unknown_member(name: str, path: str) -> str:
    """A key the input shape does not define: ``Unknown member 'foo' at 'spec.foo'``.

    ``name`` is the unknown key, ``path`` where it was found: the member path on JSON, the
    parameter name as sent on Query/EC2 (``Tags.member.1.Kee``).
    """
    return f"Unknown member '{name}' at '{path}'"


def member_path(parent: str, name: str, *, lower_first: bool) -> str:
    """``parent.name`` (or ``name`` at the top), first letter lower-cased on Query/EC2."""
    if lower_first and name:
        name = name[0].lower() + name[1:]
    return f"{parent}.{name}" if parent else name


def clip(text: str) -> str:
    """``text`` cut to a bounded length, for echoing client-controlled names in messages."""
    return text if len(text) <= _CLIP else text[:_CLIP] + "..."


def output_error(shape: Any, value: object, path: str) -> TypeError:
    """Handler output that does not fit the output shape: a server bug, never a client error."""
    return TypeError(f"cannot write {type(value).__name__} as {shape.type_name} at '{path}'")


def _render(value: object) -> str:
    """Java ``toString``-like text of a decoded value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_to_text(value)
    if isinstance(value, datetime):
        return iso8601(value)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_render(k)}={_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render(item) for item in value) + "]"
    return "null" if value is None else str(value)
