"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``, ``${*}``.

Layer 4 (pure): standard library and ``hadron.iam.arn`` only.

Implements security.md §4.8 (IAM User Guide, "IAM policy elements: Variables and tags"):

* Variables are substituted only under ``"Version": "2012-10-17"``; under ``2008-10-17`` or a
  missing Version the text is literal ("${aws:username}" is just a string).
* ``${*}``, ``${?}`` and ``${$}`` are escapes for a literal ``*``, ``?`` and ``$``: they never act
  as wildcards.
* ``${key, 'default'}`` (comma, optional space, single-quoted default) supplies a value when the
  key is absent.
* The key lookup is case-insensitive and only single-valued keys can be variables; a multivalued
  key counts as unresolvable.
* A substituted value is literal text: it is regex-escaped, never re-interpreted as a wildcard.
* An unresolvable variable (absent, no default) makes the whole value "effectively null":
  ``render_*`` returns ``None`` and the caller decides (a Resource entry then matches nothing; a
  positive string operator does not match; a negated one does).

A value is parsed once into a :data:`Template` — a tuple of :class:`Raw` (policy text, wildcards
active), :class:`Lit` (literal text) and :class:`Var` parts. Templates without ``Var`` parts are
static and are compiled completely at parse time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hadron.iam.arn import translate_glob

__all__ = [
    "ContextValues",
    "DynamicPattern",
    "Lit",
    "Raw",
    "Template",
    "Var",
    "is_static",
    "parse_template",
    "render_regex",
    "render_text",
]

#: Request context as the evaluator holds it: lower-cased key → one value or a multivalued tuple.
ContextValues = Mapping[str, str | tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Raw:
    """Policy text in which ``*`` and ``?`` keep their wildcard meaning."""

    text: str


@dataclass(frozen=True, slots=True)
class Lit:
    """Literal text (an escape such as ``${*}``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Var:
    key: str  # lower-cased
    default: str | None


Template = tuple[Raw | Lit | Var, ...]

_TOKEN = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = frozenset({"*", "?", "$"})
_VARIABLE = re.compile(r"\s*([^\s,']+)\s*(?:,\s*'([^']*)'\s*)?")


def parse_template(text: str, *, substitute: bool) -> Template:
    """Split ``text`` into raw, literal and variable parts (``substitute`` = Version 2012-10-17)."""
    if not substitute or "${" not in text:
        return (Raw(text),)
    parts: list[Raw | Lit | Var] = []
    pos = 0
    for token in _TOKEN.finditer(text):
        if token.start() > pos:
            parts.append(Raw(text[pos : token.start()]))
        inner = token.group(1)
        variable = _VARIABLE.fullmatch(inner)
        if inner in _ESCAPES:
            parts.append(Lit(inner))
        elif variable is not None:
            parts.append(Var(variable.group(1).lower(), variable.group(2)))
        else:
            # Not a variable reference ("${}", "${a b}"): keep the text as written.
            parts.append(Raw(token.group(0)))
        pos = token.end()
    if pos < len(text):
        parts.append(Raw(text[pos:]))
    return tuple(parts)


def is_static(template: Template) -> bool:
    return not any(type(part) is Var for part in template)


def _resolve(var: Var, values: ContextValues) -> str | None:
    value = values.get(var.key)
    if value is None or type(value) is tuple:
        # Absent, or multivalued (which cannot be a variable): fall back to the default.
        return var.default
    return value  # type: ignore[return-value]


def render_text(template: Template, values: ContextValues) -> str | None:
    """The value with variables substituted (wildcards are not special here), or ``None``."""
    out: list[str] = []
    for part in template:
        if type(part) is Var:
            resolved = _resolve(part, values)
            if resolved is None:
                return None
            out.append(resolved)
        else:
            out.append(part.text)  # type: ignore[union-attr]
    return "".join(out)


def render_regex(template: Template, values: ContextValues, segment: int | None) -> str | None:
    """Regex source for the template as a glob (``segment``: see ``translate_glob``)."""
    out: list[str] = []
    for part in template:
        if type(part) is Raw:
            source, segment = translate_glob(part.text, segment)
            out.append(source)
        elif type(part) is Lit:
            out.append(re.escape(part.text))
        else:
            assert type(part) is Var  # noqa: S101 - INVARIANT: three part types only
            resolved = _resolve(part, values)
            if resolved is None:
                return None
            out.append(re.escape(resolved))
    return "".join(out)


class DynamicPattern:
    """A glob template with variables, translated once; compiled per distinct variable values.

    The translated fixed parts are joined with the regex-escaped variable values; the compiled
    pattern is memoised by those values (bounded), so a steady workload compiles nothing.
    """

    __slots__ = ("_memo", "_parts", "_vars")

    def __init__(self, template: Template, segment: int | None) -> None:
        parts: list[str | Var] = []
        for part in template:
            if type(part) is Raw:
                source, segment = translate_glob(part.text, segment)
                parts.append(source)
            elif type(part) is Lit:
                parts.append(re.escape(part.text))
            else:
                assert type(part) is Var  # noqa: S101 - INVARIANT: three part types only
                parts.append(part)
        self._parts = tuple(parts)
        self._vars = tuple(p for p in parts if type(p) is Var)
        self._memo: dict[tuple[str, ...], re.Pattern[str]] = {}

    def compile(self, values: ContextValues) -> re.Pattern[str] | None:
        """The pattern for this request's values, or ``None`` if a variable is unresolvable."""
        resolved: list[str] = []
        for var in self._vars:
            value = _resolve(var, values)
            if value is None:
                return None
            resolved.append(value)
        key = tuple(resolved)
        found = self._memo.get(key)
        if found is None:
            escaped = iter([re.escape(v) for v in key])
            source = "".join(p if type(p) is str else next(escaped) for p in self._parts)
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            found = self._memo[key] = re.compile(source, re.DOTALL)
        return found


_MEMO_SIZE = 256
