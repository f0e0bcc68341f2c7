"""``authorize``: the IAM policy evaluation logic, with every layer AWS has.

Layer 4 (pure): standard library, ``hadron.errors`` and ``hadron.iam`` modules only; no I/O, no
clock, no globals beyond parse caches. Called on every request, so the hot path only walks
pre-compiled statements: no parsing, copying or regex compilation for ``Policy`` inputs.

Implements security.md §4.9 (IAM User Guide, "Policy evaluation logic" and its cross-account
page; Organizations SCP/RCP evaluation; VPC endpoint policies):

1. **Explicit deny**: a matching ``Deny`` in any applicable policy of any layer wins.
2. **RCPs**: every organization level (root, OUs, account) must hold a matching ``Allow``.
3. **SCPs**: likewise; SCPs do not apply to anonymous callers or service principals.
4. **VPC endpoint policies**: each must allow; they never grant on their own.
5. **Grant**: same account, an ``Allow`` in the identity policies *or* a resource policy that
   names the caller (an account-level principal is only delegation); cross-account, both the
   resource policy and the identity policies. Role trust policies must allow in any case. The
   root user needs no identity policy in its own account.
6. **Permissions boundary**: must also allow, except when a same-account resource policy names
   the user, role session or federated user exactly (not the role, not the account).
7. **Session policies**: must allow when present; a federated-user session without one has no
   permissions (except through a same-account resource policy naming that session). A session
   policy limits even a resource policy naming the session (iam-simulate's reading; the 2023
   guide says otherwise, flagged in security.md §4.9 as an open discrepancy).

Statement matching (``hadron.iam.matching``) returns booleans; the effects are combined in one
function, :func:`_combine`. An exception while matching a statement **fails closed**: a ``Deny``
statement counts as matching and an ``Allow`` as not matching; a policy that cannot be parsed
becomes a deny-all policy of its layer. Both are recorded in ``Decision.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from hadron.errors import ServiceError
from hadron.iam.context import (
    ContextValue,
    RequestContext,
    context_values,
    request_resources,
    resource_owner,
    resource_values,
)
from hadron.iam.decision import Decision, Reason, Result
from hadron.iam.index import deny_all, layer_index
from hadron.iam.kinds import PolicyKind
from hadron.iam.matching import ActionSlice, CompiledStatement
from hadron.iam.policy import Effect, Policy, PolicyLike, parse_policy
from hadron.iam.principals import Caller, CallerType, Match, identify
from hadron.iam.variables import ContextValues

__all__ = ["Policies", "authorize", "decide"]

Layer = PolicyKind
Levels = Sequence[Sequence[PolicyLike]]
_Outcome = tuple[Result, Layer | None, tuple[Reason, ...]]

_IDENTITY, _BOUNDARY, _SESSION = PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION
_RESOURCE, _TRUST, _ENDPOINT = PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.ENDPOINT
_SCP, _RCP = PolicyKind.SCP, PolicyKind.RCP
_ALLOWED, _IMPLICIT, _EXPLICIT = (
    Result.ALLOWED,
    Result.IMPLICITLY_DENIED,
    Result.EXPLICITLY_DENIED,
)
# Which layer an explicit deny is reported against when several deny (AWS names one).
_REPORT_ORDER = {
    _SCP: 0,
    _RCP: 1,
    _ENDPOINT: 2,
    _TRUST: 3,
    _RESOURCE: 4,
    _BOUNDARY: 5,
    _SESSION: 6,
    _IDENTITY: 7,
}
_SESSIONS_AND_USERS = (CallerType.USER, CallerType.ASSUMED_ROLE, CallerType.FEDERATED_USER)
_NOT_UNDER_SCPS = (CallerType.ANONYMOUS, CallerType.SERVICE)
# Build named tuples positionally, without their Python-level keyword __new__ (hot path).
_new_tuple = tuple.__new__
_DENY = Effect.DENY
# Tuples of parsed policies seen by ``_coerce`` (by identity; bounded, cleared when full).
_PARSED: dict[int, tuple[Policy, ...]] = {}
_PARSED_SIZE = 256


def _coerce(
    items: Sequence[PolicyLike] | None, kind: PolicyKind, errors: list[str]
) -> tuple[Policy, ...]:
    if not items:
        return ()
    if type(items) is tuple:
        if _PARSED.get(id(items)) is items:
            return items  # seen before: a tuple of parsed policies
        if all(type(item) is Policy for item in items):
            # INVARIANT: the cache holds the tuple, so no other object can take its id.
            if len(_PARSED) >= _PARSED_SIZE:
                _PARSED.clear()
            _PARSED[id(items)] = items
            return items  # already parsed: the same tuple, no copy
    out: list[Policy] = []
    for index, item in enumerate(items):
        if type(item) is Policy:
            out.append(item)
            continue
        try:
            out.append(parse_policy(item, kind=kind, max_size=None))
        except ServiceError as exc:
            errors.append(f"{kind} policy {index} does not parse ({exc.code}: {exc.message})")
            out.append(deny_all(kind))
    return tuple(out)


class Policies(NamedTuple):
    """The policies that apply to one request, grouped by layer, already parsed.

    Empty tuples mean the layer is absent: no boundary, no session policies, no endpoint, no
    SCPs/RCPs. ``scp``/``rcp`` are organization levels (root first), each the policies attached
    at that level; an empty level denies.
    """

    identity: tuple[Policy, ...] = ()
    boundary: tuple[Policy, ...] = ()
    session: tuple[Policy, ...] = ()
    resource: Policy | None = None
    endpoint: tuple[Policy, ...] = ()
    scp: tuple[tuple[Policy, ...], ...] = ()
    rcp: tuple[tuple[Policy, ...], ...] = ()


class _Facts:
    """What statement matching found for one resource: the input of :func:`_combine`."""

    __slots__ = (
        "boundary",
        "caller",
        "denies",
        "endpoint",
        "has_boundary",
        "has_session",
        "identity",
        "rcp",
        "resource",
        "resource_kind",
        "resource_match",
        "same_account",
        "scp",
        "session",
        "target",
    )

    def __init__(self, caller: Caller, same_account: bool, target: str) -> None:
        self.caller = caller
        self.same_account = same_account
        self.target = target
        self.denies: list[Reason] = []
        self.identity: Reason | None = None
        self.boundary: Reason | None = None
        self.session: Reason | None = None
        self.has_boundary = False
        self.has_session = False
        self.resource: Reason | None = None
        self.resource_kind: PolicyKind | None = None
        self.resource_match = Match.NONE
        self.scp: list[Reason | None] | None = None
        self.rcp: list[Reason | None] | None = None
        self.endpoint: list[Reason | None] | None = None


def _reason(
    layer: Layer, policy: Policy, index: int, st: CompiledStatement, level: int | None, target: str
) -> Reason:
    effect = Effect.ALLOW if st.allow else Effect.DENY
    fields = (layer, effect, index, st.index, st.sid, policy.name, level, target)
    return _new_tuple(Reason, fields)


def _failed(
    errors: list[str], layer: Layer, index: int, st: CompiledStatement, exc: Exception
) -> bool:
    errors.append(f"{layer} policy {index} statement {st.index}: {type(exc).__name__}: {exc}")
    return not st.allow  # fail closed: a Deny applies, an Allow does not


def _slice(policy: Policy, index: int, layer: Layer, action: str, errors: list[str]) -> ActionSlice:
    try:
        return policy.for_action(action)
    except Exception as exc:  # fail closed, recorded: the policy denies everything
        errors.append(f"{layer} policy {index}: {type(exc).__name__}: {exc}")
        return deny_all(layer).for_action(action)


def _scan(
    policies: tuple[Policy, ...],
    layer: Layer,
    action: str,
    target: str,
    values: ContextValues,
    facts: _Facts,
    errors: list[str],
    level: int | None = None,
) -> Reason | None:
    """Record matching Deny statements; return the first matching Allow (no principals).

    Visits the Deny statements of every policy, in order, then — unless a Deny matched, here or
    in an earlier layer, which no Allow can outvote — the Allow statements until one matches,
    through ``hadron.iam.index``, which leaves out the statements whose action or guard
    condition rules them out.
    """
    covering = layer_index(policies, layer).for_action(action)
    if covering.errors:
        errors.extend(covering.errors)
    deny_entries, allow_entries = covering.split(values)
    denies = facts.denies
    for index, holds, st, st_index, sid, name in deny_entries:
        try:
            hit = holds(target, values)  # st.holds: the index proved its guard
        except Exception as exc:  # fail closed, recorded
            hit = _failed(errors, layer, index, st, exc)
        if hit:
            fields = (layer, _DENY, index, st_index, sid, name, level, target)
            denies.append(_new_tuple(Reason, fields))
    if denies:
        return None  # a Deny matched (here or in an earlier layer): no Allow changes the result
    for index, policy, st in allow_entries:
        try:
            hit = st.holds(target, values)  # the index proved its guard
        except Exception as exc:  # fail closed, recorded
            hit = _failed(errors, layer, index, st, exc)
        if hit:
            return _reason(layer, policy, index, st, level, target)
    return None


def _scan_principal(
    policies: Sequence[Policy],
    layer: Layer,
    action: str,
    target: str,
    values: ContextValues,
    facts: _Facts,
    errors: list[str],
    level: int | None = None,
) -> tuple[Match, Reason | None]:
    """As :func:`_scan` for policies with a Principal element: the strongest matching Allow."""
    best, allow = Match.NONE, None
    caller = facts.caller
    # The NotPrincipal-with-boundary rule is about resource-based policies (boundaries doc).
    boundary = facts.has_boundary and layer is _RESOURCE
    for index, policy in enumerate(policies):
        for st in _slice(policy, index, layer, action, errors).statements:
            if st.allow and best is Match.DIRECT:
                continue
            try:
                strength = st.principal_match(caller, values, boundary=boundary)
                hit = strength is not Match.NONE and st.applies(target, values)
            except Exception as exc:  # fail closed, recorded
                strength, hit = Match.DIRECT, _failed(errors, layer, index, st, exc)
            if not hit:
                continue
            if not st.allow:
                facts.denies.append(_reason(layer, policy, index, st, level, target))
            elif strength > best:
                best, allow = strength, _reason(layer, policy, index, st, level, target)
    return best, allow


def _implicit(facts: _Facts, layer: Layer, level: int | None = None) -> _Outcome:
    reason = _new_tuple(Reason, (layer, None, None, None, None, None, level, facts.target))
    return _IMPLICIT, layer, (reason,)


def _combine(facts: _Facts) -> _Outcome:
    """The effect combination, in one place: explicit deny wins, then every gate must allow."""
    denies = facts.denies
    if denies:
        # Each layer's denies are appended together; sort (stably) only when layers differ.
        if denies[0].layer is not denies[-1].layer:
            denies = sorted(denies, key=lambda r: _REPORT_ORDER[r.layer])
        return _EXPLICIT, denies[0].layer, tuple(denies)
    if facts.rcp is not None or facts.scp is not None or facts.endpoint is not None:
        # Gates: every RCP and SCP level, and every endpoint policy, must allow.
        for layer, levels in ((_RCP, facts.rcp), (_SCP, facts.scp), (_ENDPOINT, facts.endpoint)):
            for level, allow in enumerate(levels or ()):
                if allow is None:
                    return _implicit(facts, layer, level)
    kind, rp, same = facts.caller.type, facts.resource_match, facts.same_account
    rp_layer = facts.resource_kind or _RESOURCE
    trust = facts.resource_kind is _TRUST
    grants: list[Reason | None] = [facts.resource]
    if kind is CallerType.ANONYMOUS or kind is CallerType.SERVICE:
        if rp is not Match.DIRECT:
            return _implicit(facts, rp_layer)
    elif kind is CallerType.ACCOUNT:
        # The root user: everything in its own account (but it cannot assume roles);
        # elsewhere what a resource policy grants its account.
        if trust or not (same or rp >= Match.ACCOUNT):
            return _implicit(facts, rp_layer)
    else:
        identity = facts.identity
        grants.append(identity)
        if trust:
            if not ((same and rp >= Match.SESSION) or (rp >= Match.ACCOUNT and identity)):
                return _implicit(facts, _TRUST if rp is Match.NONE else _IDENTITY)
        elif same:
            if identity is None and rp < Match.SESSION:
                return _implicit(facts, _IDENTITY)
        elif rp is Match.NONE:
            return _implicit(facts, rp_layer)
        elif identity is None:
            return _implicit(facts, _IDENTITY)
        direct = same and rp is Match.DIRECT
        if facts.has_boundary:
            if facts.boundary is None and not (direct and kind in _SESSIONS_AND_USERS):
                return _implicit(facts, _BOUNDARY)
            grants.append(facts.boundary)
        if facts.has_session:
            if facts.session is None:
                return _implicit(facts, _SESSION)
            grants.append(facts.session)
        elif kind is CallerType.FEDERATED_USER and not direct:
            return _implicit(facts, _SESSION)
    if facts.rcp:
        grants.extend(facts.rcp)
    if facts.scp:
        grants.extend(facts.scp)
    if facts.endpoint:
        grants.extend(facts.endpoint)
    return _ALLOWED, None, tuple([g for g in grants if g is not None])


def _decide_one(
    caller: Caller,
    action: str,
    target: str,
    owner: str | None,
    values: ContextValues,
    policies: Policies,
    errors: list[str],
) -> _Outcome:
    """Match every layer's statements against one resource, then combine."""
    facts = _Facts(caller, caller.account is not None and owner == caller.account, target)
    facts.has_boundary = bool(policies.boundary)
    if policies.rcp:
        facts.rcp = [
            _scan_principal(level, _RCP, action, target, values, facts, errors, i)[1]
            for i, level in enumerate(policies.rcp)
        ]
    if policies.scp and caller.type not in _NOT_UNDER_SCPS:
        facts.scp = [
            _scan(level, _SCP, action, target, values, facts, errors, i)
            for i, level in enumerate(policies.scp)
        ]
    if policies.endpoint:
        facts.endpoint = [
            _scan_principal((p,), _ENDPOINT, action, target, values, facts, errors, i)[1]
            for i, p in enumerate(policies.endpoint)
        ]
    resource_policy = policies.resource
    if resource_policy is not None:
        kind = _TRUST if resource_policy.kind is _TRUST else _RESOURCE
        facts.resource_kind = kind
        facts.resource_match, facts.resource = _scan_principal(
            (resource_policy,), kind, action, target, values, facts, errors
        )
    if policies.identity:
        facts.identity = _scan(policies.identity, _IDENTITY, action, target, values, facts, errors)
    if facts.has_boundary:
        facts.boundary = _scan(policies.boundary, _BOUNDARY, action, target, values, facts, errors)
    if policies.session:
        facts.has_session = True
        facts.session = _scan(policies.session, _SESSION, action, target, values, facts, errors)
    return _combine(facts)


def _with(
    values: ContextValues, per_resource: Mapping[str, ContextValues], target: str
) -> ContextValues:
    """``values`` plus the keys that hold for ``target`` alone (a new mapping; the request's is
    shared by every resource and stays as it is)."""
    extra = per_resource.get(target)
    return values if not extra else {**values, **extra}


def _run(
    caller: Caller,
    action: str,
    resources: tuple[str, ...],
    resource_account: str | None,
    values: ContextValues,
    policies: Policies,
    errors: list[str],
    per_resource: Mapping[str, ContextValues] | None = None,
) -> Decision:
    action = action.lower()

    def decide_for(target: str) -> _Outcome:
        # INVARIANT: a resource's own keys (per_resource) are seen only while it is evaluated.
        owner = resource_owner(target, resource_account, caller)
        own = values if per_resource is None else _with(values, per_resource, target)
        return _decide_one(caller, action, target, owner, own, policies, errors)

    if len(resources) == 1:
        target = resources[0]
        result, layer, reasons = decide_for(target)
        denied = None if result is _ALLOWED else target
        return _new_tuple(Decision, (result, reasons, layer, denied, tuple(errors)))
    # Several resources: each must be allowed; report the first explicit deny, else the first.
    allowed: list[Reason] = []
    denial: tuple[Result, Layer | None, tuple[Reason, ...], str] | None = None
    for target in resources:
        result, layer, reasons = decide_for(target)
        if result is _ALLOWED:
            allowed.extend(reasons)
        elif denial is None or (result is _EXPLICIT and denial[0] is _IMPLICIT):
            denial = (result, layer, reasons, target)
    if denial is not None:
        return _new_tuple(Decision, (denial[0], denial[2], denial[1], denial[3], tuple(errors)))
    return _new_tuple(Decision, (_ALLOWED, tuple(allowed), None, None, tuple(errors)))


def decide(ctx: RequestContext, policies: Policies) -> Decision:
    """Decide a prepared request against parsed policies (every resource must be allowed)."""
    return _run(
        ctx.caller,
        ctx.action,
        ctx.resources,
        ctx.resource_account,
        ctx.values,
        policies,
        [],
        ctx.per_resource,
    )


def authorize(
    *,
    principal: str | None,
    action: str,
    resource: str | Sequence[str] | None = None,
    resource_account: str | None = None,
    context: Mapping[str, ContextValue] | None = None,
    resource_context: Mapping[str, Mapping[str, ContextValue]] | None = None,
    identity_policies: Sequence[PolicyLike] = (),
    permission_boundaries: Sequence[PolicyLike] | None = None,
    session_policies: Sequence[PolicyLike] | None = None,
    resource_policy: PolicyLike | None = None,
    endpoint_policies: Sequence[PolicyLike] | None = None,
    service_control_policies: Levels | None = None,
    resource_control_policies: Levels | None = None,
) -> Decision:
    """Decide whether ``principal`` may perform ``action`` on ``resource``.

    ``principal``: the caller's ARN (user, role session, federated user, root), a service
    principal name, or ``None`` for an anonymous caller. ``resource``: one ARN, a list of ARNs
    (each must be allowed) or ``None`` for actions without resource-level permissions (``*``).
    ``resource_account``: the resource's owner (default: the ARN's account field, else the
    caller's account). ``context``: condition keys (``str``, ``list[str]``, ``bool``, ``int``,
    ``datetime``); keys derived from ``principal`` (``aws:PrincipalArn``, ``aws:username``, ...)
    are added only when ``context`` does not give them. ``resource_context``: resource ARN →
    keys that hold for that resource only (its ``aws:ResourceTag/…``), added to ``context``
    while that resource is evaluated; resources it does not name get ``context`` alone.

    Policies are JSON text, decoded dicts or (fastest) :class:`Policy` values from
    ``parse_policy``; text and dicts are parsed as the kind of their argument (a ``Policy`` of
    kind ``trust`` given as ``resource_policy`` is evaluated as a role trust policy). ``None``
    and empty lists mean the layer is absent. ``service_control_policies`` and
    ``resource_control_policies`` are lists of organization levels (root first), each a list
    of the policies attached at that level.
    """
    errors: list[str] = []
    caller = identify(principal)
    values = context_values(context, caller, resource_account)
    policies = (
        _coerce(identity_policies, _IDENTITY, errors),
        _coerce(permission_boundaries, _BOUNDARY, errors) if permission_boundaries else (),
        _coerce(session_policies, _SESSION, errors) if session_policies else (),
        None if resource_policy is None else _coerce((resource_policy,), _RESOURCE, errors)[0],
        _coerce(endpoint_policies, _ENDPOINT, errors) if endpoint_policies else (),
        tuple([_coerce(level, _SCP, errors) for level in service_control_policies])
        if service_control_policies
        else (),
        tuple([_coerce(level, _RCP, errors) for level in resource_control_policies])
        if resource_control_policies
        else (),
    )
    resources = request_resources(resource)
    return _run(
        caller,
        action,
        resources,
        resource_account,
        values,
        _new_tuple(Policies, policies),
        errors,
        None if resource_context is None else resource_values(resource_context),
    )
