"""The statements of one layer's policies, indexed by action and by a guard condition.

Layer 4 (pure): standard library and ``hadron.iam`` modules only; no I/O, no clock. The only
state is a bounded cache of values derived from immutable ``Policy`` objects.

Evaluation (``hadron.iam.evaluate``) asks, for each layer of a request, which statements could
apply. Two facts, both computed once, answer that without calling most statements:

1. **Action.** ``Policy.for_action`` already keeps the statements whose Action/NotAction covers
   the action. :class:`ActionIndex` concatenates them for every policy of the layer, in the
   order evaluation visits them (per policy: its Deny statements, then its Allow statements).
2. **Guard.** Most statements carry a plain equality condition (``StringEquals`` on
   ``aws:RequestedRegion``, ``Bool`` on ``aws:SecureTransport``, ...): a membership test of one
   context value (``hadron.iam.conditions.guard_of``). Per (key, coercion) the index maps each
   policy value to a bit mask of the statements it lets through; one dict lookup per distinct
   key selects every statement whose guard holds. ``CompiledStatement.applies`` tests the same
   guard first, so a statement left out here is one ``applies`` would have rejected before
   looking at anything else: the selection never changes a decision, its reasons or its errors.
   What ``select`` returns has its guard proven, so evaluation calls
   ``CompiledStatement.holds`` (the rest of ``applies``) on it, not ``applies``.

The selected statements, in their original order and split into Deny and Allow statements
(:meth:`ActionIndex.split`, what evaluation uses), are memoised per bit mask (few distinct masks
occur: one per combination of guard values seen).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from hadron.iam.kinds import RULES, PolicyKind
from hadron.iam.matching import CompiledStatement
from hadron.iam.policy import Effect, Policy, Statement
from hadron.iam.variables import ContextValues

__all__ = ["ActionIndex", "DenyEntry", "Entry", "LayerIndex", "Split", "deny_all", "layer_index"]

#: ``(policy index within the layer, policy, statement)``: what a Reason is built from.
Entry = tuple[int, Policy, CompiledStatement]
#: A Deny entry with what evaluation needs read out once: ``(policy index, the statement's
#: bound ``holds``, the statement, statement index, Sid, policy name)``.
DenyEntry = tuple[
    int, Callable[[str, ContextValues], bool], CompiledStatement, int, str | None, str | None
]
#: What :meth:`ActionIndex.split` returns: the selected Deny entries, then the Allow entries.
Split = tuple[tuple[DenyEntry, ...], tuple[Entry, ...]]

_MEMO_SIZE = 512
_LAYER_CACHE_SIZE = 1024


@cache
def deny_all(kind: PolicyKind) -> Policy:
    """What an unparseable policy becomes: it denies everything in its layer (fail closed)."""
    rules = RULES[kind]
    statement = Statement(
        Effect.DENY,
        ("*",),
        resources=None if rules.resource == "forbidden" else ("*",),
        principals=None if rules.principal == "forbidden" else (("AWS", ("*",)),),
    )
    return Policy(kind, (statement,), name="(unparseable policy: denies everything)")


class ActionIndex:
    """The statements of a layer that cover one action, with their guard index.

    ``entries``: in evaluation order; ``errors``: failures to slice a policy (each such policy
    contributes the statements of :func:`deny_all` instead, so it fails closed), reported with
    every decision that uses this index.
    """

    __slots__ = ("_free", "_groups", "_split", "entries", "errors")

    def __init__(self, entries: tuple[Entry, ...], errors: tuple[str, ...]) -> None:
        self.entries = entries
        self.errors = errors
        free = 0
        groups: dict[tuple[str, Callable[[str], Any]], dict[object, int]] = {}
        for bit, (_index, _policy, statement) in enumerate(entries):
            guard = statement.guard
            if guard is None:
                free |= 1 << bit
                continue
            table = groups.setdefault((guard[0], guard[1]), {})
            for value in guard[2]:
                table[value] = table.get(value, 0) | 1 << bit
        self._free = free
        self._groups = tuple((key, coerce, table) for (key, coerce), table in groups.items())
        self._split: dict[int, Split] = {}  # per mask of guards that hold

    def _mask(self, values: ContextValues) -> int | None:
        """The bits of the entries whose guard holds (``None``: a guard raised)."""
        mask = self._free
        try:
            for key, coerce, table in self._groups:
                raw = values.get(key)
                if type(raw) is str:
                    hit = table.get(coerce(raw))
                    if hit:
                        mask |= hit
        except Exception:  # cannot happen (coercions are total); if it does, fail closed
            return None
        return mask

    def select(self, values: ContextValues) -> tuple[Entry, ...]:
        """The entries whose guard holds for ``values`` (and those without one), in order."""
        mask = self._mask(values)
        if mask is None:
            return self._fail_closed(values)
        return self._entries_of(mask)

    def _entries_of(self, mask: int) -> tuple[Entry, ...]:
        return tuple([e for bit, e in enumerate(self.entries) if mask >> bit & 1])

    def split(self, values: ContextValues) -> Split:
        """:meth:`select`'s entries as (Deny entries, Allow entries), each in evaluation order.

        Evaluation records every matching Deny and needs the first matching Allow only when no
        Deny matched, so it walks the Denies of all policies first; the Allow it finds is still
        the first in policy order, and the Denies keep their order."""
        mask = self._mask(values)
        if mask is None:
            return _split(self._fail_closed(values))
        found = self._split.get(mask)
        if found is None:
            found = _split(self._entries_of(mask))
            if len(self._split) >= _MEMO_SIZE:
                self._split.clear()
            self._split[mask] = found
        return found

    def _fail_closed(self, values: ContextValues) -> tuple[Entry, ...]:
        """Each entry's guard tested on its own: callers skip the guard of what ``select``
        returns, so a guard that cannot be evaluated keeps a Deny and drops an Allow."""
        kept: list[Entry] = []
        for entry in self.entries:
            guard = entry[2].guard
            if guard is None:
                kept.append(entry)
                continue
            try:
                raw = values.get(guard[0])
                holds = type(raw) is str and guard[1](raw) in guard[2]
            except Exception:
                holds = not entry[2].allow
            if holds:
                kept.append(entry)
        return tuple(kept)


def _split(entries: tuple[Entry, ...]) -> Split:
    denies = tuple(
        [
            (i, st.holds, st, st.index, st.sid, policy.name)
            for i, policy, st in entries
            if not st.allow
        ]
    )
    return denies, tuple([e for e in entries if e[2].allow])


class LayerIndex:
    """The policies of one layer (an identity set, a boundary, an SCP level ...), indexed per
    action on first use (memoised, bounded)."""

    __slots__ = ("_by_action", "kind", "policies")

    def __init__(self, policies: tuple[Policy, ...], kind: PolicyKind) -> None:
        self.policies = policies
        self.kind = kind
        self._by_action: dict[str, ActionIndex] = {}

    def for_action(self, action: str) -> ActionIndex:
        """The index for ``action`` (lower-cased)."""
        found = self._by_action.get(action)
        if found is None:
            found = self._build(action)
            if len(self._by_action) >= _MEMO_SIZE:
                self._by_action.clear()
            self._by_action[action] = found
        return found

    def _build(self, action: str) -> ActionIndex:
        entries: list[Entry] = []
        errors: list[str] = []
        for index, policy in enumerate(self.policies):
            try:
                covering = policy.for_action(action)
            except Exception as exc:  # fail closed, recorded: the policy denies everything
                errors.append(f"{self.kind} policy {index}: {type(exc).__name__}: {exc}")
                covering = deny_all(self.kind).for_action(action)
            entries.extend((index, policy, st) for st in covering.denies)
            entries.extend((index, policy, st) for st in covering.allows)
        return ActionIndex(tuple(entries), tuple(errors))


_LAYERS: dict[tuple[PolicyKind, tuple[int, ...]], LayerIndex] = {}
# The same indexes by the identity of the tuple itself (a tuple reused across requests); each
# entry holds its tuple, so no other tuple can take that id while the entry exists.
_BY_TUPLE: dict[tuple[PolicyKind, int], tuple[tuple[Policy, ...], LayerIndex]] = {}


def layer_index(policies: tuple[Policy, ...], kind: PolicyKind) -> LayerIndex:
    """The (cached) index of ``policies`` as a layer of ``kind``.

    The cache key is the identities of the policy objects. INVARIANT: a cached ``LayerIndex``
    holds references to its policies, so none of them can be freed, and no other object can
    take its ``id``, while the entry exists: an equal key always means the very same (immutable)
    policies. The cache is bounded (cleared when full); a race between threads at worst builds
    an index twice.
    """
    same = _BY_TUPLE.get((kind, id(policies)))
    if same is not None and same[0] is policies:
        return same[1]  # the very tuple seen before (the server keeps one per principal)
    key = (kind, tuple([id(p) for p in policies]))
    found = _LAYERS.get(key)
    if found is None:
        found = LayerIndex(policies, kind)
        if len(_LAYERS) >= _LAYER_CACHE_SIZE:
            _LAYERS.clear()
        _LAYERS[key] = found
    if len(_BY_TUPLE) >= _LAYER_CACHE_SIZE:
        _BY_TUPLE.clear()
    _BY_TUPLE[(kind, id(policies))] = (policies, found)  # holds the tuple: its id stays its
    return found
