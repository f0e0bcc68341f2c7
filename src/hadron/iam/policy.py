"""Policies as frozen values: ``parse_policy`` (text, dict or Policy → Policy) and back to JSON.

Layer 4 (pure): standard library, ``hadron.errors`` and ``hadron.iam`` modules only; no I/O.

Parse once (STYLE §7): ``parse_policy`` runs the checks of ``hadron.iam.validate``, keeps the
submitted text, normalises the document into :class:`Policy`/:class:`Statement` values and
compiles every statement (action sets and regexes, resource globs, principal sets, conditions)
for ``hadron.iam.evaluate``. Evaluation never re-parses, copies or re-compiles a policy.

Normalisation: a single string stands for a one-element list; condition values become strings
(``true`` → ``"true"``, ``10`` → ``"10"``); ``"Principal": "*"`` becomes ``{"AWS": ["*"]}``.
Equality of two policies is semantic: the submitted text, name and warnings are not compared,
so ``parse_policy(p.to_json(), kind=p.kind) == p``.

Size (security.md §4.3): IAM counts the characters of the submitted JSON **without whitespace
outside strings**; Organizations and VPC policies count every character.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

from hadron.errors import LimitExceeded, MalformedPolicyDocument
from hadron.iam.arn import ActionMatcher
from hadron.iam.conditions import CompiledCondition, Condition
from hadron.iam.kinds import RULES, PolicyKind
from hadron.iam.matching import ActionSlice, CompiledStatement, ResourceMatcher
from hadron.iam.principals import PrincipalMatcher
from hadron.iam.validate import SYNTAX, check_document, load_json, values_of

__all__ = [
    "Effect",
    "Policy",
    "PolicyLike",
    "Principals",
    "Statement",
    "parse_policy",
    "policy_size",
]

#: ``((type, (value, ...)), ...)``, e.g. ``(("AWS", ("arn:aws:iam::111122223333:root",)),)``.
Principals = tuple[tuple[str, tuple[str, ...]], ...]


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class Statement:
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool = False
    resources: tuple[str, ...] | None = None  # None: no Resource/NotResource element
    not_resource: bool = False
    principals: Principals | None = None  # None: no Principal/NotPrincipal element
    not_principal: bool = False
    conditions: tuple[Condition, ...] = ()
    sid: str | None = None

    def __post_init__(self) -> None:
        # Accept "Allow"/"Deny" and lists from direct construction; store the canonical types.
        object.__setattr__(self, "effect", Effect(self.effect))
        object.__setattr__(self, "actions", tuple(self.actions))
        object.__setattr__(self, "conditions", tuple(self.conditions))
        if self.resources is not None:
            object.__setattr__(self, "resources", tuple(self.resources))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.sid is not None:
            out["Sid"] = self.sid
        out["Effect"] = str(self.effect)
        if self.principals is not None:
            element = {kind: list(values) for kind, values in self.principals}
            out["NotPrincipal" if self.not_principal else "Principal"] = element
        out["NotAction" if self.not_action else "Action"] = list(self.actions)
        if self.resources is not None:
            out["NotResource" if self.not_resource else "Resource"] = list(self.resources)
        if self.conditions:
            block: dict[str, dict[str, list[str]]] = {}
            for condition in self.conditions:
                block.setdefault(condition.operator, {})[condition.key] = list(condition.values)
            out["Condition"] = block
        return out


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed, validated, compiled policy. Build it with :func:`parse_policy`."""

    kind: PolicyKind
    statements: tuple[Statement, ...]
    version: str | None = "2012-10-17"
    id: str | None = None
    text: str = field(default="", compare=False)  # as submitted; canonical JSON if built
    name: str | None = field(default=None, compare=False)  # e.g. the managed policy's ARN
    warnings: tuple[str, ...] = field(default=(), compare=False)
    compiled: tuple[CompiledStatement, ...] = field(
        init=False, compare=False, repr=False, hash=False
    )
    _by_action: dict[str, ActionSlice] = field(init=False, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", PolicyKind(self.kind))
        object.__setattr__(self, "statements", tuple(self.statements))
        substitute = self.version == "2012-10-17"  # variables need Version 2012-10-17 (§4.8)
        compiled = tuple(_compile(i, s, substitute) for i, s in enumerate(self.statements))
        object.__setattr__(self, "compiled", compiled)
        object.__setattr__(self, "_by_action", {})
        if not self.text:
            object.__setattr__(self, "text", self.to_json())

    def for_action(self, action: str) -> ActionSlice:
        """The statements covering ``action`` (lower-cased), memoised per action.

        The memo is a cache of a pure function of this frozen value, bounded in size; a race
        between threads at worst computes a slice twice.
        """
        memo = self._by_action
        found = memo.get(action)
        if found is None:
            if len(memo) >= _ACTION_MEMO_SIZE:
                memo.clear()
            found = memo[action] = ActionSlice(self.compiled, action)
        return found

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.version is not None:
            out["Version"] = self.version
        if self.id is not None:
            out["Id"] = self.id
        out["Statement"] = [s.to_dict() for s in self.statements]
        return out

    def to_json(self) -> str:
        """Canonical compact JSON (not necessarily the submitted text, which is ``text``)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)


PolicyLike = Policy | str | Mapping[str, Any]
_ACTION_MEMO_SIZE = 512


def _compile(index: int, statement: Statement, substitute: bool) -> CompiledStatement:
    resources = statement.resources
    return CompiledStatement(
        index=index,
        sid=statement.sid,
        allow=statement.effect is Effect.ALLOW,
        actions=ActionMatcher(statement.actions),
        not_action=statement.not_action,
        resources=None if resources is None else ResourceMatcher(resources, substitute=substitute),
        not_resource=statement.not_resource,
        principals=None if statement.principals is None else PrincipalMatcher(statement.principals),
        not_principal=statement.not_principal,
        conditions=tuple(CompiledCondition(c, substitute=substitute) for c in statement.conditions),
    )


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[ \t\n\r]+', re.DOTALL)


def policy_size(text: str, kind: PolicyKind | str = PolicyKind.IDENTITY) -> int:
    """Characters counted toward the size quota of ``kind`` (IAM: whitespace outside strings
    is not counted; Organizations and VPC endpoint policies count everything)."""
    if RULES[PolicyKind(kind)].whitespace_counts:
        return len(text)
    blank = sum(len(m.group(0)) for m in _TOKENS.finditer(text) if m.group(0)[0] != '"')
    return len(text) - blank


def _condition_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _principals(element: object) -> Principals:
    if element == "*":
        return (("AWS", ("*",)),)
    assert isinstance(element, Mapping)  # noqa: S101 - checked by validate
    return tuple(
        (kind, tuple(values) if isinstance(values, list | tuple) else (values,))
        for kind, values in element.items()
    )


def _statement(raw: Mapping[str, Any]) -> Statement:
    principal_key = "NotPrincipal" if "NotPrincipal" in raw else "Principal"
    resource_key = "NotResource" if "NotResource" in raw else "Resource"
    conditions = tuple(
        Condition(
            operator,
            key,
            tuple(_condition_value(v) for v in value)
            if isinstance(value, list | tuple)
            else (_condition_value(value),),
        )
        for operator, body in (raw.get("Condition") or {}).items()
        for key, value in body.items()
    )
    return Statement(
        effect=Effect(raw["Effect"]),
        actions=values_of(raw, "NotAction" if "NotAction" in raw else "Action"),
        not_action="NotAction" in raw,
        resources=values_of(raw, resource_key) if resource_key in raw else None,
        not_resource="NotResource" in raw,
        principals=_principals(raw[principal_key]) if principal_key in raw else None,
        not_principal="NotPrincipal" in raw,
        conditions=conditions,
        sid=raw.get("Sid"),
    )


def _build(
    text: str,
    document: object,
    kind: PolicyKind,
    partition: str,
    max_size: int | None,
    name: str | None,
) -> Policy:
    checked = check_document(document, kind, partition=partition)
    rules = RULES[kind]
    if max_size is not None and policy_size(text, kind) > max_size:
        message = rules.size_message if max_size == rules.size_limit else None
        raise LimitExceeded(message or f"Cannot exceed quota for PolicySize: {max_size}")
    return Policy(
        kind=kind,
        statements=tuple(_statement(s) for s in checked.statements),
        version=checked.document.get("Version"),
        id=checked.document.get("Id"),
        text=text,
        name=name,
        warnings=checked.warnings,
    )


@lru_cache(maxsize=1024)
def _parse_text(
    text: str, kind: PolicyKind, partition: str, max_size: int | None, name: str | None
) -> Policy:
    return _build(text, load_json(text, kind), kind, partition, max_size, name)


def parse_policy(
    doc: PolicyLike,
    *,
    kind: PolicyKind | str,
    partition: str = "aws",
    max_size: int | Literal["default"] | None = "default",
    name: str | None = None,
) -> Policy:
    """Validate and compile a policy document of the given ``kind``.

    ``doc``: JSON text (kept verbatim in ``Policy.text``; parses of the same text are cached), a
    decoded ``Mapping``, or a ``Policy`` (returned unchanged). ``partition``: the partition the
    policy lives in (resource ARNs must name it). ``max_size``: the size quota — the kind's
    default (6,144 for identity policies and boundaries, 2,048 for trust policies, none for the
    rest), a number, or ``None`` for no check.

    Raises ``MalformedPolicyDocument`` with AWS's message, or ``LimitExceeded`` over the quota.
    """
    if isinstance(doc, Policy):
        return doc
    policy_kind = PolicyKind(kind)
    limit = RULES[policy_kind].size_limit if max_size == "default" else max_size
    assert not isinstance(limit, str)  # noqa: S101 - narrowed above
    if isinstance(doc, str):
        return _parse_text(doc, policy_kind, partition, limit, name)
    if not isinstance(doc, Mapping):
        raise MalformedPolicyDocument(SYNTAX)
    try:
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        raise MalformedPolicyDocument(SYNTAX) from None
    return _build(text, doc, policy_kind, partition, limit, name)
