"""Model ``pattern`` traits (Java regular expressions) compiled for Python's ``re``.

Layer 4 (pure core). Must not import asyncio, socket, sqlite3, sqlalchemy, starlette, uvicorn or
hadron.store.

AWS validates ``pattern`` with ``java.util.regex`` and whole-value semantics (Smithy: "the regular
expression must match the entire value"), so callers use ``fullmatch``. Differences handled here:

* Java's ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII-only unless UNICODE_CHARACTER_CLASS is set:
  patterns compile with ``re.ASCII``.
* ``\\p{L}``, ``\\p{Z}``, ``\\p{N}`` (general categories, also ``\\p{IsL}``/``\\p{Lu}``) are not
  supported by ``re``; they are expanded into explicit code-point ranges built from
  ``unicodedata``. The IAM/STS tag patterns use them (``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+``).
* ``\\uXXXX`` takes exactly four hex digits in both dialects, so ``\\u10000`` means ``\\u1000``
  then ``0`` in Java and in Python alike.

Anything else ``re`` cannot compile (``\\P{..}`` inside a class, ``\\z``, intersections, ...)
makes ``compile_pattern`` return ``None``; ``validate`` then skips that one constraint rather than
failing the request (documented choice: a model quirk must not turn every request into a 500).
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from typing import Final

__all__ = ["compile_pattern"]

_PROPERTY: Final = re.compile(r"\\([pP])\{(?:Is)?([A-Z][a-z]?)\}")


@functools.cache
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` compiled for ``fullmatch`` with Java semantics, or ``None`` if unsupported."""
    try:
        return re.compile(_translate(pattern), re.ASCII)
    except (re.error, ValueError, OverflowError, RecursionError):
        return None


def _translate(pattern: str) -> str:
    """Expand Unicode property escapes; everything else is passed through unchanged."""
    if "\\p{" not in pattern and "\\P{" not in pattern:
        return pattern
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            match = _PROPERTY.match(pattern, i)
            if match is None:
                out.append(pattern[i : i + 2])
                i += 2
                continue
            negated, category = match.group(1) == "P", match.group(2)
            ranges = _category_ranges(category)
            if in_class and negated:
                raise ValueError("negated property inside a character class")
            if in_class:
                out.append(ranges)
            else:
                out.append(f"[{'^' if negated else ''}{ranges}]")
            i = match.end()
            continue
        if char == "[" and not in_class:
            in_class = True
            # A ']' right after '[' or '[^' is a literal member of the class.
            end = i + 1
            if pattern.startswith("^", end):
                end += 1
            if pattern.startswith("]", end):
                end += 1
            out.append(pattern[i:end])
            i = end
            continue
        if char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@functools.cache
def _category_ranges(category: str) -> str:
    """Character-class body matching every code point whose general category starts so."""
    runs = [(start, end) for start, end, cat in _category_runs() if cat.startswith(category)]
    if not runs:
        raise ValueError(f"unknown Unicode category {category!r}")
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and merged[-1][1] + 1 == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return "".join(
        _escape(start) if start == end else f"{_escape(start)}-{_escape(end)}"
        for start, end in merged
    )


@functools.cache
def _category_runs() -> tuple[tuple[int, int, str], ...]:
    """Maximal runs of code points sharing one general category (one pass, ~0.4 s, cached)."""
    runs: list[tuple[int, int, str]] = []
    category = unicodedata.category
    start, current = 0, category("\x00")
    for code in range(1, sys.maxunicode + 1):
        cat = category(chr(code))
        if cat != current:
            runs.append((start, code - 1, current))
            start, current = code, cat
    runs.append((start, sys.maxunicode, current))
    return tuple(runs)


def _escape(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
