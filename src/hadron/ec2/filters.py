"""``Filters`` and pagination of the EC2 ``Describe*`` operations.

Layer: pure core. A resource is presented as a mapping from filter name to the values it has
for that name; ``tag:<key>`` and ``tag-key`` come from its tags. A filter matches when any of
the resource's values matches any of the filter's values; every filter must match. Values may
use EC2's wildcards ``*`` (any run of characters) and ``?`` (one character), with ``\\`` to
escape them. A filter name the operation does not know is refused (InvalidParameterValue).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from hadron.errors import Ec2InvalidParameterValue, InvalidPaginationToken

__all__ = ["Filter", "matches", "page", "parse_filters", "resource_values"]

T = TypeVar("T")

MAX_RESULTS_CAP = 1000
"""``MaxResults`` above this is treated as this (security.md §7.2)."""


@dataclass(frozen=True, slots=True)
class Filter:
    name: str
    values: tuple[str, ...]


def parse_filters(raw: Any, known: Iterable[str]) -> tuple[Filter, ...]:
    """The request's ``Filters`` (botocore shape ``[{Name, Values}]``), checked against the
    filter names the operation supports (plus ``tag:<key>`` and ``tag-key``)."""
    if not raw:
        return ()
    names = frozenset(known)
    out: list[Filter] = []
    for item in raw:
        name = str(item.get("Name") or "")
        if name not in names and not (name.startswith("tag:") and len(name) > 4):
            if name != "tag-key":
                raise Ec2InvalidParameterValue(f"The filter '{name}' is invalid")
        values = tuple(str(v) for v in item.get("Values") or ())
        out.append(Filter(name, values))
    return tuple(out)


@lru_cache(maxsize=1024)
def _pattern(value: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            parts.append(re.escape(value[i + 1]))
            i += 2
            continue
        parts.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _match_value(pattern: str, value: str) -> bool:
    if "*" not in pattern and "?" not in pattern and "\\" not in pattern:
        return pattern == value
    return _pattern(pattern).fullmatch(value) is not None


def resource_values(
    fields: Mapping[str, str | bool | Sequence[str] | None],
    tags: Sequence[tuple[str, str]] = (),
) -> dict[str, tuple[str, ...]]:
    """Normalise a resource's filterable fields to tuples of strings (booleans as
    ``true``/``false``, ``None`` as no value) and add its tags."""
    out: dict[str, tuple[str, ...]] = {}
    for name, value in fields.items():
        if value is None:
            out[name] = ()
        elif isinstance(value, bool):
            out[name] = ("true" if value else "false",)
        elif isinstance(value, str):
            out[name] = (value,)
        else:
            out[name] = tuple(value)
    for key, tag_value in tags:
        out[f"tag:{key}"] = (tag_value,)
    out["tag-key"] = tuple(key for key, _ in tags)
    return out


def matches(values: Mapping[str, tuple[str, ...]], filters: Sequence[Filter]) -> bool:
    """Whether a resource with ``values`` passes every filter."""
    for f in filters:
        have = values.get(f.name, ())
        if not any(_match_value(p, v) for p in f.values for v in have):
            return False
    return True


def page(
    items: Sequence[T], key: Callable[[T], str], max_results: Any, next_token: Any
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``) after ``next_token``; the token for the next
    page, or ``None`` after the last one. Tokens are opaque to clients (the last key, base64)."""
    start = 0
    if next_token:
        try:
            after = base64.b64decode(str(next_token), altchars=b"-_", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidPaginationToken(f"Invalid pagination token {next_token!r}") from None
        start = next((i for i, item in enumerate(items) if key(item) > after), len(items))
    if max_results is None:
        return list(items[start:]), None
    size = min(int(max_results), MAX_RESULTS_CAP)
    if size < 1:
        raise Ec2InvalidParameterValue(
            f"Value ( {max_results} ) for parameter maxResults is invalid. Expecting a value "
            "greater than 0."
        )
    chunk = list(items[start : start + size])
    if start + size >= len(items) or not chunk:
        return chunk, None
    return chunk, base64.urlsafe_b64encode(key(chunk[-1]).encode()).decode()
