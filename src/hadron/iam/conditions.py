"""Condition operators: one registry table, and the modifiers implemented once around it.

Layer 4 (pure): standard library and ``hadron.iam.arn``/``hadron.iam.variables`` only; no I/O, no
clock (``aws:CurrentTime`` is whatever the caller put in the request context).

Implements security.md §4.7 (IAM User Guide, "Condition operators" and "Single-valued vs.
multivalued context keys"):

* ``Condition`` is an AND over operators, each an AND over keys, each an OR over values — except
  negated operators, whose values combine as NOR ("the string cannot match any of the values").
* Key names are case-insensitive (the evaluator lower-cases them once); values are
  case-sensitive unless the operator says ``IgnoreCase``.
* The name syntax is ``[ForAllValues:|ForAnyValue:]Base[IfExists]``; ``Null`` takes neither.

Missing-key and set rules (the part implementations most often get wrong; do not copy MinIO,
which negates the whole set-qualified result):

1. key absent, positive operator → false;  2. key absent, negated operator → true;
3. key absent, any ``...IfExists`` → true;  4. key absent or empty, ``ForAllValues:`` → true
   ("It also returns true if there are no context keys in the request"); ``ForAnyValue:`` → false;
5. ``ForAllValues:Op``/``ForAnyValue:Op`` apply ``Op`` (negation included) per request value;
6. a single-valued key under a set operator is a one-element set;
7. a multivalued key without a set operator never matches (positive and negated alike);
8. a value that does not parse (not a number, date, IP, ARN or boolean) makes the comparison
   false, and a negated operator does **not** turn that into true;
9. an operator this table does not know never matches.

An empty multivalued key (``[]``) counts as absent (AWS: "context keys with empty values").
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, Literal

from hadron.iam.arn import RESOURCE_SEGMENT, compile_regex
from hadron.iam.variables import (
    ContextValues,
    DynamicPattern,
    Template,
    is_static,
    parse_template,
    render_regex,
    render_text,
)

__all__ = [
    "OPERATORS",
    "CompiledCondition",
    "Condition",
    "Operator",
    "Qualifier",
    "condition_matches",
    "guard_of",
    "memo_matches",
    "parse_date",
    "parse_operator",
    "remember_date",
    "remembered_text",
]


@dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key, values) triple of a statement's ``Condition`` block, as written
    (values normalised to strings: ``true`` → ``"true"``, ``10`` → ``"10"``)."""

    operator: str
    key: str
    values: tuple[str, ...]


class Qualifier(IntEnum):
    NONE = 0
    FOR_ALL_VALUES = 1
    FOR_ANY_VALUE = 2


#: How a policy value with ``${...}`` is prepared: never substituted, as text, as a glob, as an
#: ARN glob (segment-aware).
VariableMode = Literal["none", "text", "glob", "arn"]


@dataclass(frozen=True, slots=True)
class Operator:
    """A base operator: ``compare(coerce(request_value), prepare(policy_value))``.

    ``coerce``/``prepare`` return ``None`` when the value does not parse (rule 8). ``equality``:
    ``compare`` is ``==``, so a set lookup may replace the scan over static values.
    """

    name: str
    negated: bool
    coerce: Callable[[str], Any]
    prepare: Callable[[str], Any]
    compare: Callable[[Any, Any], bool]
    equality: bool
    variables: VariableMode
    null: bool = False


# --- value parsers (cached: the same policy and context values recur on every request) -------


def _same(value: str) -> str:
    return value


def _lower(value: str) -> str:
    return value.lower()


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


@lru_cache(maxsize=4096)
def _number(value: str) -> Decimal | None:
    if _NUMBER.fullmatch(value) is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_SECONDS = re.compile(r"\d+")
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})")


# The last timestamp ``hadron.iam.context`` wrote as text (``aws:CurrentTime``), with its
# instant: the Date operators then need not parse back the text just made. One slot, replaced
# whole (a reader sees the old pair or the new one).
_KNOWN_DATE: list[tuple[str, datetime]] = []


def remember_date(text: str, moment: datetime) -> None:
    """Record that ``text`` is the aware datetime ``moment`` (``parse_date(text)``'s answer)."""
    _KNOWN_DATE[:] = [(text, moment)]


def remembered_text(moment: datetime) -> str | None:
    """The text last remembered for the same instant as the aware ``moment``, if any."""
    known = _KNOWN_DATE
    if known:
        text, seen = known[0]
        if seen == moment:
            return text
    return None


def parse_date(value: str) -> tuple[int, int] | None:
    """An instant as (seconds, microseconds) since the epoch, or ``None``.

    W3C ISO-8601 (``2020-01-01T00:00:01Z``, date only, offsets, fractions; a missing zone is UTC)
    or integer epoch seconds (``aws:EpochTime``), as the Date operators accept. As in IAM's
    validator, a value without ``-`` or ``T`` is epoch seconds ("2020" is 2020 seconds).
    """
    known = _KNOWN_DATE
    if known:
        text, moment = known[0]
        if text == value:
            delta = moment - _EPOCH
            return delta.days * 86400 + delta.seconds, delta.microseconds
    return _parse_date_text(value)


@lru_cache(maxsize=4096)
def _parse_date_text(value: str) -> tuple[int, int] | None:
    if _EPOCH_SECONDS.fullmatch(value):
        seconds = int(value)
        return (seconds, 0) if seconds <= 2**63 - 1 else None
    text = value.replace("t", "T").replace("z", "Z")
    if _YEAR_MONTH.fullmatch(text):  # "2020-06": the first instant of that month
        text = f"{text}-01"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        delta = moment - _EPOCH
    except OverflowError:  # pragma: no cover - aware datetimes near year 1/9999
        return None
    return (delta.days * 86400 + delta.seconds, delta.microseconds)


def _bool(value: str) -> str | None:
    low = value.lower()
    return low if low in ("true", "false") else None


@lru_cache(maxsize=1024)
def _binary(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4096)
def _address(value: str) -> Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _network(value: str) -> Network | None:
    # A bare address means /32 (or /128).
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _in_network(address: Address, network: Network) -> bool:
    # An IPv4 request never falls in an IPv6 block and vice versa (so NotIpAddress is true
    # across families).
    return address.version == network.version and address in network


def _arn(value: str) -> str | None:
    return value if value.startswith("arn:") and value.count(":") >= RESOURCE_SEGMENT else None


def _glob_match(value: str, pattern: re.Pattern[str]) -> bool:
    return pattern.fullmatch(value) is not None


def _unused(value: str) -> None:  # pragma: no cover - glob/ARN values are prepared from templates
    return None


# --- the registry --------------------------------------------------------------------------


def _family(
    names: tuple[tuple[str, bool, Callable[[Any, Any], bool]], ...],
    coerce: Callable[[str], Any],
    prepare: Callable[[str], Any],
    variables: VariableMode,
) -> dict[str, Operator]:
    return {
        name: Operator(
            name, negated, coerce, prepare, compare, compare is operator.eq, variables=variables
        )
        for name, negated, compare in names
    }


def _ordered(family: str) -> tuple[tuple[str, bool, Callable[[Any, Any], bool]], ...]:
    return (
        (f"{family}Equals", False, operator.eq),
        (f"{family}NotEquals", True, operator.eq),
        (f"{family}LessThan", False, operator.lt),
        (f"{family}LessThanEquals", False, operator.le),
        (f"{family}GreaterThan", False, operator.gt),
        (f"{family}GreaterThanEquals", False, operator.ge),
    )


OPERATORS: Final[Mapping[str, Operator]] = MappingProxyType(
    {
        **_family(
            (("StringEquals", False, operator.eq), ("StringNotEquals", True, operator.eq)),
            _same,
            _same,
            "text",
        ),
        **_family(
            (
                ("StringEqualsIgnoreCase", False, operator.eq),
                ("StringNotEqualsIgnoreCase", True, operator.eq),
            ),
            _lower,
            _lower,
            "text",
        ),
        **_family(
            (("StringLike", False, _glob_match), ("StringNotLike", True, _glob_match)),
            _same,
            _unused,
            "glob",
        ),
        **_family(_ordered("Numeric"), _number, _number, "none"),
        **_family(_ordered("Date"), parse_date, parse_date, "none"),
        # Bool takes variables per the condition-operators page (the variables page disagrees).
        **_family((("Bool", False, operator.eq),), _bool, _bool, "text"),
        **_family((("BinaryEquals", False, operator.eq),), _binary, _binary, "none"),
        **_family(
            (("IpAddress", False, _in_network), ("NotIpAddress", True, _in_network)),
            _address,
            _network,
            "none",
        ),
        # ArnEquals and ArnLike are the same operator (both take wildcards), likewise the Not pair.
        **_family(
            (
                ("ArnEquals", False, _glob_match),
                ("ArnLike", False, _glob_match),
                ("ArnNotEquals", True, _glob_match),
                ("ArnNotLike", True, _glob_match),
            ),
            _arn,
            _unused,
            "arn",
        ),
        "Null": Operator("Null", False, _same, _lower, operator.eq, True, "none", null=True),
    }
)

_FOR_ALL = "ForAllValues:"
_FOR_ANY = "ForAnyValue:"
_IF_EXISTS = "IfExists"


@dataclass(frozen=True, slots=True)
class ParsedOperator:
    base: Operator
    qualifier: Qualifier
    if_exists: bool


def parse_operator(name: str) -> ParsedOperator | None:
    """Split ``[ForAllValues:|ForAnyValue:]Base[IfExists]``; ``None`` for an unknown operator."""
    qualifier = Qualifier.NONE
    base = name
    if base.startswith(_FOR_ALL):
        qualifier, base = Qualifier.FOR_ALL_VALUES, base[len(_FOR_ALL) :]
    elif base.startswith(_FOR_ANY):
        qualifier, base = Qualifier.FOR_ANY_VALUE, base[len(_FOR_ANY) :]
    if_exists = base.endswith(_IF_EXISTS)
    if if_exists:
        base = base[: -len(_IF_EXISTS)]
    found = OPERATORS.get(base)
    if found is None or (found.null and (if_exists or qualifier is not Qualifier.NONE)):
        return None
    return ParsedOperator(found, qualifier, if_exists)


# --- compiled conditions -------------------------------------------------------------------

_INVALID: Final = object()  # a policy value that does not parse (rule 8)
_UNRESOLVED: Final = object()  # a policy value whose variable has no value (§4.8: "null")
_NO_VALUES: ContextValues = MappingProxyType({})
# Context keys whose value differs on every request (microsecond timestamps).
_PER_REQUEST_KEYS = frozenset({"aws:currenttime"})


class CompiledCondition:
    """One condition, compiled at parse time. ``op is None``: unknown operator (rule 9)."""

    __slots__ = ("dynamic", "if_exists", "key", "memo", "op", "qualifier", "static", "value_set")

    def __init__(self, condition: Condition, *, substitute: bool) -> None:
        parsed = parse_operator(condition.operator)
        self.key = condition.key.lower()
        self.op = parsed.base if parsed is not None else None
        self.qualifier = parsed.qualifier if parsed is not None else Qualifier.NONE
        self.if_exists = parsed.if_exists if parsed is not None else False
        static: list[object] = []
        dynamic: list[Template | DynamicPattern] = []
        op = self.op
        for value in condition.values:
            if op is None or op.variables == "none":
                static.append(_prepared(op.prepare(value)) if op is not None else _INVALID)
                continue
            template = parse_template(value, substitute=substitute)
            if not is_static(template):
                # Text operators render the template as is; glob operators pre-translate it.
                segment = 0 if op.variables == "arn" else None
                dynamic.append(
                    template if op.variables == "text" else DynamicPattern(template, segment)
                )
            elif op.variables == "arn" and value.count(":") < RESOURCE_SEGMENT:
                static.append(_INVALID)  # not an ARN: never matches, even negated
            else:
                static.append(_prepare_template(op, template, _NO_VALUES))
        self.static = tuple(static)
        self.dynamic = tuple(dynamic)
        usable = op is not None and op.equality and not dynamic and _INVALID not in self.static
        self.value_set = frozenset(self.static) if usable else None
        # A condition without policy variables is a pure function of the request's value for
        # ``key`` alone: its results are memoised per value (bounded) by ``memo_matches`` —
        # except for keys whose value is new on every request (a memo would only churn).
        memoise = not dynamic and self.key not in _PER_REQUEST_KEYS
        self.memo: dict[object, bool] | None = {} if memoise else None


def _prepared(value: object) -> object:
    return _INVALID if value is None else value


def _prepare_template(op: Operator, template: Template, values: ContextValues) -> object:
    if op.variables == "text":
        text = render_text(template, values)
        return _UNRESOLVED if text is None else _prepared(op.prepare(text))
    source = render_regex(template, values, 0 if op.variables == "arn" else None)
    return _UNRESOLVED if source is None else compile_regex(source)


def _prepare_dynamic(
    op: Operator, template: Template | DynamicPattern, values: ContextValues
) -> object:
    if type(template) is DynamicPattern:
        compiled = template.compile(values)
        return _UNRESOLVED if compiled is None else compiled
    return _prepare_template(op, template, values)  # type: ignore[arg-type]


def _policy_values(condition: CompiledCondition, values: ContextValues) -> tuple[object, ...]:
    if not condition.dynamic:
        return condition.static
    op = condition.op
    assert op is not None  # noqa: S101 - INVARIANT: unknown operators have no templates
    extra = tuple([_prepare_dynamic(op, t, values) for t in condition.dynamic])
    return condition.static + extra


def _value_matches(
    condition: CompiledCondition, op: Operator, request: str, policy: tuple[object, ...]
) -> bool:
    """Base operator on one request value: OR over policy values, NOR for negated operators."""
    coerced = op.coerce(request)
    if coerced is None:
        return False  # rule 8: not inverted by negation
    value_set = condition.value_set
    if value_set is not None:
        return (coerced in value_set) is not op.negated
    compare = op.compare
    if op.negated:
        for candidate in policy:
            if candidate is _UNRESOLVED:
                continue  # a null policy value equals nothing, so "not equal" holds
            if candidate is _INVALID or compare(coerced, candidate):
                return False
        return True
    for candidate in policy:
        if candidate is not _UNRESOLVED and candidate is not _INVALID:
            if compare(coerced, candidate):
                return True
    return False


def condition_matches(condition: CompiledCondition, values: ContextValues) -> bool:
    """Whether one condition holds for the request context ``values`` (lower-cased keys)."""
    op = condition.op
    if op is None:
        return False
    raw = values.get(condition.key)
    if type(raw) is tuple and not raw:
        raw = None
    if op.null:
        # "true": the key is absent (or null); "false": it is present.
        return ("true" if raw is None else "false") in condition.static
    if raw is None:
        if condition.if_exists or condition.qualifier is Qualifier.FOR_ALL_VALUES:
            return True
        if condition.qualifier is Qualifier.FOR_ANY_VALUE:
            return False
        return op.negated
    policy = _policy_values(condition, values)
    if condition.qualifier is Qualifier.NONE:
        if type(raw) is tuple:
            return False  # rule 7: a multivalued key needs a set operator
        return _value_matches(condition, op, raw, policy)  # type: ignore[arg-type]
    requests = (raw,) if type(raw) is str else raw
    if condition.qualifier is Qualifier.FOR_ALL_VALUES:
        return all(_value_matches(condition, op, r, policy) for r in requests)
    return any(_value_matches(condition, op, r, policy) for r in requests)


_CONDITION_MEMO_SIZE = 64


def memo_matches(condition: CompiledCondition, values: ContextValues) -> bool:
    """``condition_matches``, answered from the condition's memo when it has one.

    INVARIANT: ``memo`` exists only for conditions without dynamic policy values, whose result
    depends on ``values.get(condition.key)`` and nothing else (``condition_matches`` reads no
    other key), so the memoised answer for an equal value is the answer.
    """
    memo = condition.memo
    if memo is None:
        return condition_matches(condition, values)
    raw = values.get(condition.key)
    try:
        hit = memo.get(raw)
    except TypeError:  # not a normalised (hashable) context value: no memo
        return condition_matches(condition, values)
    if hit is None:
        hit = condition_matches(condition, values)
        if len(memo) >= _CONDITION_MEMO_SIZE:
            memo.clear()
        memo[raw] = hit
    return hit


#: A condition reduced to a membership test: ``(key, coerce, values)`` holds exactly when the
#: request's ``key`` is a single value ``v`` with ``coerce(v) in values``.
Guard = tuple[str, Callable[[str], Any], frozenset[object]]


def guard_of(condition: CompiledCondition) -> Guard | None:
    """The condition as a :data:`Guard`, when it is one: a positive equality operator
    (``StringEquals``, ``StringEqualsIgnoreCase``, ``Bool``, ``NumericEquals``, ...) without
    ``IfExists`` or a set qualifier, whose policy values are all static and valid.

    INVARIANT: for such a condition ``condition_matches(c, values)`` is ``True`` iff the guard
    holds — an absent key or an empty set fails a positive operator (rules 1, 4), a multivalued
    key fails an unqualified one (rule 7), a value that does not coerce fails (rule 8), and
    otherwise ``_value_matches`` is the set lookup. Evaluation may therefore test the guard first
    and skip the statement without calling anything else (``hadron.iam.index``).
    """
    op = condition.op
    value_set = condition.value_set
    if (
        op is None
        or value_set is None
        or op.negated
        or op.null
        or condition.if_exists
        or condition.qualifier is not Qualifier.NONE
    ):
        return None
    return (condition.key, op.coerce, value_set)
