"""Statement matchers compiled at parse time: Resource/NotResource, and the whole statement.

Layer 4 (pure): standard library and ``hadron.iam`` modules only.

Statement *matching* returns booleans (or a principal :class:`Match` strength); combining the
effects of matching statements is ``hadron.iam.evaluate``'s job and happens in one function.
"""

from __future__ import annotations

from hadron.iam.arn import RESOURCE_SEGMENT, ActionMatcher, compile_regex
from hadron.iam.conditions import CompiledCondition, Guard, guard_of, memo_matches
from hadron.iam.principals import Caller, Match, PrincipalMatcher
from hadron.iam.variables import (
    ContextValues,
    DynamicPattern,
    Raw,
    Template,
    is_static,
    parse_template,
    render_regex,
    render_text,
)

__all__ = ["ActionSlice", "CompiledStatement", "ResourceMatcher", "resource_template"]

_EMPTY: ContextValues = {}


def resource_template(entry: str, *, substitute: bool) -> Template:
    """A Resource entry as a template: variables only in the resource part (§4.5/§4.8: "after
    the fifth colon"); ``${...}`` earlier in the ARN is literal text."""
    parts = entry.split(":", RESOURCE_SEGMENT)
    if len(parts) <= RESOURCE_SEGMENT:
        return (Raw(entry),)
    prefix = entry[: len(entry) - len(parts[RESOURCE_SEGMENT])]
    return (Raw(prefix), *parse_template(parts[RESOURCE_SEGMENT], substitute=substitute))


class ResourceMatcher:
    """A statement's Resource (or NotResource) list, compiled.

    ``*`` matches everything, including the ``*`` of actions without resource-level permissions;
    any other entry is a segment-aware, case-sensitive ARN glob, so it never matches ``*``.
    """

    __slots__ = ("_any", "_dynamic", "_literals", "_regex")

    def __init__(self, entries: tuple[str, ...], *, substitute: bool) -> None:
        literals: set[str] = set()
        sources: list[str] = []
        dynamic: list[DynamicPattern] = []
        any_resource = False
        for entry in entries:
            if entry == "*":
                any_resource = True
                continue
            template = resource_template(entry, substitute=substitute)
            if not is_static(template):
                dynamic.append(DynamicPattern(template, 0))
                continue
            wild = any(type(p) is Raw and ("*" in p.text or "?" in p.text) for p in template)
            if wild:
                source = render_regex(template, _EMPTY, 0)
                assert source is not None  # noqa: S101 - INVARIANT: static templates render
                sources.append(source)
            else:
                text = render_text(template, _EMPTY)
                assert text is not None  # noqa: S101 - INVARIANT: static templates render
                literals.add(text)
        self._any = any_resource
        self._literals = frozenset(literals)
        self._regex = compile_regex("|".join(f"(?:{s})" for s in sources)) if sources else None
        self._dynamic = tuple(dynamic)

    @property
    def any_resource(self) -> bool:
        """The list holds ``*``."""
        return self._any

    def matches(self, resource: str, values: ContextValues) -> bool:
        if self._any or resource in self._literals:
            return True
        regex = self._regex
        if regex is not None and regex.fullmatch(resource) is not None:
            return True
        for pattern in self._dynamic:
            # An unresolvable variable makes the entry match nothing (§4.8).
            compiled = pattern.compile(values)
            if compiled is not None and compiled.fullmatch(resource) is not None:
                return True
        return False


class CompiledStatement:
    """One statement ready for evaluation. ``index`` is its position in the policy."""

    __slots__ = (
        "actions",
        "allow",
        "checks",
        "conditions",
        "guard",
        "index",
        "not_action",
        "not_principal",
        "not_resource",
        "principals",
        "resource_check",
        "resources",
        "sid",
    )

    def __init__(
        self,
        *,
        index: int,
        sid: str | None,
        allow: bool,
        actions: ActionMatcher,
        not_action: bool,
        resources: ResourceMatcher | None,
        not_resource: bool,
        principals: PrincipalMatcher | None,
        not_principal: bool,
        conditions: tuple[CompiledCondition, ...],
    ) -> None:
        self.index = index
        self.sid = sid
        self.allow = allow
        self.actions = actions
        self.not_action = not_action
        self.resources = resources
        self.not_resource = not_resource
        self.principals = principals
        self.not_principal = not_principal
        self.conditions = conditions
        # The first condition that is a plain membership test is checked first (and lets
        # ``hadron.iam.index`` skip the statement without calling it); ``checks`` are the rest,
        # in their order. Conditions are a pure conjunction, so the order does not matter.
        guard: Guard | None = None
        checks: list[CompiledCondition] = []
        for condition in conditions:
            found = guard_of(condition) if guard is None else None
            if found is not None:
                guard = found
            else:
                checks.append(condition)
        self.guard = guard
        self.checks = tuple(checks)
        # A Resource of "*" matches every resource: no need to ask.
        always = resources is not None and resources.any_resource and not not_resource
        self.resource_check = None if always else resources

    def covers(self, action: str) -> bool:
        """The Action/NotAction element matches the (lower-cased) action."""
        return self.actions.matches(action) is not self.not_action

    def applies(self, resource: str, values: ContextValues) -> bool:
        """Resource and conditions match, for a statement that :meth:`covers` the action (the
        principal is checked separately)."""
        guard = self.guard
        if guard is not None:
            raw = values.get(guard[0])
            if type(raw) is not str or guard[1](raw) not in guard[2]:
                return False
        return self.holds(resource, values)

    def holds(self, resource: str, values: ContextValues) -> bool:
        """:meth:`applies` for a statement whose guard is known to hold (``hadron.iam.index``
        selected it): the resource and the remaining conditions."""
        resources = self.resource_check
        if resources is not None and resources.matches(resource, values) is self.not_resource:
            return False
        for condition in self.checks:
            # memo_matches, inlined (the hot path): a memoised answer for this value, if any.
            memo = condition.memo
            if memo is not None:
                raw = values.get(condition.key)
                if type(raw) is str:
                    hit = memo.get(raw)
                    if hit is None:
                        hit = memo_matches(condition, values)
                    if not hit:
                        return False
                    continue
            if not memo_matches(condition, values):
                return False
        return True

    def principal_match(self, caller: Caller, values: ContextValues, *, boundary: bool) -> Match:
        """How this statement's Principal/NotPrincipal names the caller (no element: DIRECT).

        ``boundary``: the caller has a permissions boundary, so a ``Deny`` with ``NotPrincipal``
        applies whatever it lists (permissions-boundaries doc, §4.6).
        """
        matcher = self.principals
        if matcher is None:
            return Match.DIRECT
        if not self.not_principal:
            return matcher.match(caller, values)
        if self.allow:
            return Match.NONE if matcher.excludes_for_allow(caller, values) else Match.DIRECT
        if boundary:
            return Match.DIRECT
        return Match.NONE if matcher.excludes_for_deny(caller, values) else Match.DIRECT


class ActionSlice:
    """The statements of one policy that cover one action, split by effect (memoised per
    action by ``Policy.for_action``: most statements are ruled out by the action alone)."""

    __slots__ = ("allows", "denies", "statements")

    def __init__(self, statements: tuple[CompiledStatement, ...], action: str) -> None:
        self.statements = tuple(st for st in statements if st.covers(action))
        self.denies = tuple(st for st in self.statements if not st.allow)
        self.allows = tuple(st for st in self.statements if st.allow)
