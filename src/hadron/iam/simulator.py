"""The IAM policy simulator: ``SimulatePrincipalPolicy``, ``SimulateCustomPolicy`` and
``GetContextKeysFor{Principal,Custom}Policy``.

Layer: handlers (like ``hadron.iam.api``), but it imports neither the store nor
``hadron.enforcement``: the composition root hands it the store (anything with ``get_user``) and
the live authorizer (``hadron.enforcement.PolicyAuthorizer``, through :class:`Evaluator`).
Spec: security.md §6 ("Simulation").

One engine: every decision comes from ``Evaluator.decide`` — the very method live enforcement
calls — with the principal's identity policies gathered by ``Evaluator.identity_policies``, the
same (cached) gathering live enforcement uses. The simulator only adds the supplied
``PolicyInputList``/``PermissionsBoundaryPolicyInputList`` and reports the engine's reasons in
IAM's output shapes. Request parameters are checked by ``hadron.iam.simulation_input``; a
group's or role's policies are gathered by ``hadron.iam.sources``. As in IAM, the simulation uses
exactly the supplied context entries (plus the keys the engine derives from the simulated
principal: ``aws:PrincipalArn``, ``aws:username``, ...); nothing is taken from the simulator
request itself.

Reporting choices (security.md §11 item 10 lists them as unconfirmed):

* ``SourcePolicyId``: ``PolicyInputList.<n>``/``PermissionsBoundaryPolicyInputList.<n>``
  (1-based, type ``none``); an inline user policy's name (``user``); a managed policy's name
  (``aws-managed``/``user-managed``).
* ``StartPosition``/``EndPosition``: 1-based line and column of the statement object's ``{``
  and of its closing ``}`` in the policy text as submitted (omitted when the text cannot be
  located, e.g. a policy whose ``Statement`` is not plain JSON).
* ``MatchedStatements``: the statements the engine's decision rests on — every matching
  ``Deny`` for an explicit deny; for an allow, the first matching ``Allow`` of each layer.
* ``MissingContextValues``: condition keys of the statements that cover the action and
  resource (conditions aside) which neither the context entries nor the principal supply;
  at the top level for ``*``, else inside ``ResourceSpecificResults``.
* ``ContextKeyNames``: condition keys as written, de-duplicated case-insensitively (the first
  spelling wins), in order of appearance.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from hadron.errors import (
    InvalidInput,
    NoSuchEntity,
    NotImplementedOperation,
)
from hadron.iam.api import Handler
from hadron.iam.context import ContextValue
from hadron.iam.decision import Decision, Reason, Result
from hadron.iam.kinds import PolicyKind
from hadron.iam.policy import Policy, PolicyLike
from hadron.iam.results import _page
from hadron.iam.simulation_input import RESOURCE_POLICY as _RESOURCE_POLICY
from hadron.iam.simulation_input import action_names as _actions
from hadron.iam.simulation_input import context_entries as _context
from hadron.iam.simulation_input import owner_of as _owner_of
from hadron.iam.simulation_input import policy_inputs as _inputs
from hadron.iam.simulation_input import resource_arns as _resources
from hadron.iam.simulation_input import resource_owner as _resource_owner
from hadron.iam.simulation_input import resource_policy as _resource_policy
from hadron.iam.simulation_input import split_source_arn as _split_source_arn
from hadron.iam.simulation_input import split_user_arn as _split_user_arn
from hadron.iam.sources import (
    GROUP_INLINE_PREFIX,
    ROLE_INLINE_PREFIX,
    Entities,
    group_policies,
    managed_policy,
    role_policies,
)
from hadron.types import Principal

__all__ = ["Evaluator", "IamSimulator", "UserRecord", "Users", "statement_positions"]

_DECISIONS = {
    Result.ALLOWED: "allowed",
    Result.EXPLICITLY_DENIED: "explicitDeny",
    Result.IMPLICITLY_DENIED: "implicitDeny",
}
# Keys live enforcement derives from the principal (``PolicyAuthorizer.decide``).
_PRINCIPAL_KEYS = ("aws:principalarn", "aws:principalaccount", "aws:userid")
_USER_KEYS = ("aws:username", "aws:principaltype")
_INLINE_PREFIX = "inline policy "
_SIMULATED_USER = "SimulatedUser"

Position = dict[str, int]


class UserRecord(Protocol):
    @property
    def user_name(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def arn(self) -> str: ...


class GroupRecord(Protocol):
    @property
    def group_name(self) -> str: ...
    @property
    def path(self) -> str: ...


class RoleRecord(Protocol):
    @property
    def role_name(self) -> str: ...
    @property
    def role_id(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def arn(self) -> str: ...
    @property
    def permissions_boundary(self) -> str | None: ...


class Users(Entities, Protocol):
    """What the simulator needs of the store."""

    def get_user(self, account_id: str, user_name: str) -> UserRecord | None: ...
    def get_group(self, account_id: str, group_name: str) -> GroupRecord | None: ...
    def get_role(self, account_id: str, role_name: str) -> RoleRecord | None: ...


class Evaluator(Protocol):
    """Live enforcement's policy gathering and decision (``PolicyAuthorizer``)."""

    def identity_policies(self, principal: Principal) -> tuple[PolicyLike, ...]: ...

    def permission_boundaries(self, principal: Principal) -> tuple[PolicyLike, ...]: ...

    def decide(
        self,
        principal: Principal,
        action: str,
        resource: str,
        *,
        context: Mapping[str, Any] | None = None,
        identity_policies: Sequence[PolicyLike] | None = None,
        permission_boundaries: Sequence[PolicyLike] | None = None,
        resource_policy: PolicyLike | None = None,
        resource_account: str | None = None,
    ) -> Decision: ...


# --- statement positions ----------------------------------------------------------------------

_WS = " \t\n\r"


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _statement_spans(text: str) -> list[tuple[int, int]] | None:
    """Offsets ``(start, end)`` (end exclusive) of each statement object in ``text``."""
    decoder = json.JSONDecoder()
    try:
        i = _skip(text, 0)
        if text[i] != "{":
            return None
        i = _skip(text, i + 1)
        while text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = _skip(text, i)
            if text[i] != ":":
                return None
            i = _skip(text, i + 1)
            if key == "Statement":
                if text[i] == "{":
                    _, end = decoder.raw_decode(text, i)
                    return [(i, end)]
                if text[i] != "[":
                    return None
                spans: list[tuple[int, int]] = []
                i = _skip(text, i + 1)
                while text[i] != "]":
                    _, end = decoder.raw_decode(text, i)
                    spans.append((i, end))
                    i = _skip(text, end)
                    if text[i] == ",":
                        i = _skip(text, i + 1)
                return spans
            _, i = decoder.raw_decode(text, i)
            i = _skip(text, i)
            if text[i] == ",":
                i = _skip(text, i + 1)
    except (ValueError, IndexError):
        return None
    return None


def _line_column(text: str, offset: int) -> Position:
    line = text.count("\n", 0, offset) + 1
    return {"Line": line, "Column": offset - (text.rfind("\n", 0, offset) + 1) + 1}


def statement_positions(text: str) -> list[tuple[Position, Position]] | None:
    """1-based ``{Line, Column}`` of each statement's ``{`` and closing ``}`` in ``text``."""
    spans = _statement_spans(text)
    if spans is None:
        return None
    return [(_line_column(text, start), _line_column(text, end - 1)) for start, end in spans]


# --- reporting --------------------------------------------------------------------------------


def _source(name: str | None) -> tuple[str, str]:
    """``(SourcePolicyId, SourcePolicyType)`` for a policy named by the gathering code."""
    if name is None:
        return "(unnamed policy)", "none"
    if name.startswith(_INLINE_PREFIX):
        return name[len(_INLINE_PREFIX) :], "user"
    if name.startswith(GROUP_INLINE_PREFIX):
        return name[len(GROUP_INLINE_PREFIX) :], "group"
    if name.startswith(ROLE_INLINE_PREFIX):
        return name[len(ROLE_INLINE_PREFIX) :], "role"
    if name.startswith("arn:"):
        parts = name.split(":", 5)
        managed = "aws-managed" if len(parts) == 6 and parts[4] == "aws" else "user-managed"
        return name.rsplit("/", 1)[-1], managed
    return name, "none"


def _condition_keys(policy: Policy, indexes: Iterable[int] | None = None) -> list[str]:
    statements = policy.statements
    chosen = range(len(statements)) if indexes is None else indexes
    return [c.key for i in chosen for c in statements[i].conditions]


def _dedupe(keys: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for key in keys:
        seen.setdefault(key.lower(), key)
    return list(seen.values())


class IamSimulator:
    """The IAM simulator handlers, bound to the store and live enforcement's evaluator."""

    def __init__(self, store: Users, evaluator: Evaluator) -> None:
        self._store = store
        self._evaluator = evaluator

    def handlers(self) -> dict[tuple[str, str], Handler]:
        ops: dict[str, Handler] = {
            "SimulatePrincipalPolicy": self.simulate_principal_policy,
            "SimulateCustomPolicy": self.simulate_custom_policy,
            "GetContextKeysForPrincipalPolicy": self.get_context_keys_for_principal_policy,
            "GetContextKeysForCustomPolicy": self.get_context_keys_for_custom_policy,
        }
        return {("iam", name): handler for name, handler in ops.items()}

    # --- principals -------------------------------------------------------------------------------

    def _user(self, caller: Principal, arn: str, field: str, *, must_exist: bool) -> Principal:
        account, path, name = _split_user_arn(arn, field)
        user = self._store.get_user(account, name) if account == caller.account_id else None
        if user is None or user.path != path:
            if must_exist:
                raise NoSuchEntity(f"The user with name {name} cannot be found.")
            return Principal(account, arn, "", "IAMUser", name)
        return Principal(account, user.arn, user.user_id, "IAMUser", user.user_name)

    def _custom_principal(self, caller: Principal, params: Mapping[str, Any]) -> Principal:
        """``CallerArn``; else the caller if an IAM user; else a placeholder user of the caller's
        account (the root user would be allowed everything, which tells nothing)."""
        if params.get("CallerArn"):
            return self._user(caller, str(params["CallerArn"]), "CallerArn", must_exist=False)
        if params.get("ResourcePolicy"):
            raise InvalidInput("CallerArn is required when a ResourcePolicy is specified.")
        if caller.user_name is not None and caller.principal_type == "IAMUser":
            return caller
        return _placeholder(caller.account_id)

    def _source(
        self, caller: Principal, params: Mapping[str, Any]
    ) -> tuple[Principal | None, tuple[PolicyLike, ...], tuple[PolicyLike, ...]]:
        """``PolicySourceArn``: ``(principal, identity policies, stored boundary)``; the
        principal is ``None`` for a group (its policies have no caller of their own)."""
        arn = str(params["PolicySourceArn"])
        kind, account, path, name = _split_source_arn(arn, "PolicySourceArn")
        if kind == "user":
            source = self._user(caller, arn, "PolicySourceArn", must_exist=True)
            return (
                source,
                tuple(self._evaluator.identity_policies(source)),
                tuple(self._evaluator.permission_boundaries(source)),
            )
        own = account == caller.account_id
        if kind == "group":
            group = self._store.get_group(account, name) if own else None
            if group is None or group.path != path:
                raise NoSuchEntity(f"The group with name {name} cannot be found.")
            return None, group_policies(self._store, account, group.group_name), ()
        role = self._store.get_role(account, name) if own else None
        if role is None or role.path != path:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        boundary: tuple[PolicyLike, ...] = ()
        if role.permissions_boundary:
            arn_b = role.permissions_boundary
            boundary = (managed_policy(self._store, account, arn_b, PolicyKind.BOUNDARY),)
        principal = Principal(account, role.arn, role.role_id, "Role")
        return principal, role_policies(self._store, account, role.role_name), boundary

    # --- operations -------------------------------------------------------------------------------

    def simulate_principal_policy(self, caller: Principal, params: Mapping[str, Any]) -> Any:
        source, policies, stored = self._source(caller, params)
        user_source = source is not None and source.principal_type == "IAMUser"
        if params.get("CallerArn"):
            principal = self._user(caller, str(params["CallerArn"]), "CallerArn", must_exist=False)
        elif params.get("ResourcePolicy") and not user_source:
            raise InvalidInput(
                "CallerArn is required when a ResourcePolicy is specified and PolicySourceArn "
                "is not the ARN of an IAM user."
            )
        else:
            principal = source or _placeholder(caller.account_id)
        identity = [
            *policies,
            *_inputs(params.get("PolicyInputList"), "PolicyInputList", PolicyKind.IDENTITY),
        ]
        # As in IAM, a PermissionsBoundaryPolicyInputList replaces the stored boundary.
        return self._simulate(principal, identity, params, wildcards=True, boundary=stored)

    def simulate_custom_policy(self, caller: Principal, params: Mapping[str, Any]) -> Any:
        identity = _inputs(params.get("PolicyInputList"), "PolicyInputList", PolicyKind.IDENTITY)
        if not identity:
            raise InvalidInput("PolicyInputList must hold at least one policy.")
        principal = self._custom_principal(caller, params)
        return self._simulate(principal, list(identity), params, wildcards=False)

    def get_context_keys_for_principal_policy(
        self, caller: Principal, params: Mapping[str, Any]
    ) -> Any:
        _principal, stored, _boundary = self._source(caller, params)
        policies = [
            *stored,
            *_inputs(params.get("PolicyInputList"), "PolicyInputList", PolicyKind.IDENTITY),
        ]
        return {"ContextKeyNames": self._keys(policies)}

    def get_context_keys_for_custom_policy(
        self, caller: Principal, params: Mapping[str, Any]
    ) -> Any:
        policies = _inputs(params.get("PolicyInputList"), "PolicyInputList", PolicyKind.IDENTITY)
        return {"ContextKeyNames": self._keys(list(policies))}

    # --- the simulation ---------------------------------------------------------------------------

    @staticmethod
    def _keys(policies: Sequence[PolicyLike]) -> list[str]:
        return _dedupe(k for p in policies if isinstance(p, Policy) for k in _condition_keys(p))

    def _simulate(
        self,
        principal: Principal,
        identity: list[PolicyLike],
        params: Mapping[str, Any],
        *,
        wildcards: bool,
        boundary: Sequence[PolicyLike] = (),
    ) -> dict[str, Any]:
        if params.get("ResourceHandlingOption"):
            raise NotImplementedOperation(
                "ResourceHandlingOption is not implemented by Hadron yet."
            )
        resource_policy = _resource_policy(params)
        owner = _resource_owner(params)
        given = _inputs(
            params.get("PermissionsBoundaryPolicyInputList"),
            "PermissionsBoundaryPolicyInputList",
            PolicyKind.BOUNDARY,
        )
        if len(given) > 1:
            raise InvalidInput("PermissionsBoundaryPolicyInputList takes at most one policy.")
        boundaries: Sequence[PolicyLike] = given or tuple(boundary)
        actions = _actions(params, wildcards=wildcards)
        resources = _resources(params)
        context = _context(params.get("ContextEntries"))
        supplied = {k.lower() for k in context} | set(_PRINCIPAL_KEYS)
        if principal.user_name is not None:
            supplied.update(_USER_KEYS)
        results = [
            self._one(
                principal,
                action,
                resource,
                context,
                supplied,
                identity,
                boundaries,
                resource_policy,
                # Ownership matters only with a resource policy (ResourceOwner: "required only
                # if you specify a resource-based policy"); else every resource is the caller's.
                None if resource_policy is None else _owner_of(resource, owner),
            )
            for action in actions
            for resource in resources
        ]
        page, extra = _page(results, params)
        return {"EvaluationResults": list(page), **extra}

    def _one(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue],
        supplied: set[str],
        identity: Sequence[PolicyLike],
        boundaries: Sequence[PolicyLike],
        resource_policy: Policy | None = None,
        resource_account: str | None = None,
    ) -> dict[str, Any]:
        decision = self._evaluator.decide(
            principal,
            action,
            resource,
            context=context,
            identity_policies=identity,
            permission_boundaries=boundaries or None,
            resource_policy=resource_policy,
            resource_account=resource_account,
        )
        outcome = _DECISIONS[decision.result]
        extra: tuple[Policy, ...] = () if resource_policy is None else (resource_policy,)
        layers: dict[PolicyKind, Sequence[PolicyLike]] = {
            PolicyKind.IDENTITY: identity,
            PolicyKind.BOUNDARY: boundaries,
            PolicyKind.RESOURCE: extra,
        }
        matched = [_matched(r, layers) for r in decision.reasons if r.effect is not None]
        missing = _dedupe(
            key
            for policy in (*identity, *boundaries, *extra)
            if isinstance(policy, Policy)
            for key in _considered_keys(policy, action, resource)
            if key.lower() not in supplied
        )
        result: dict[str, Any] = {
            "EvalActionName": action,
            "EvalResourceName": resource,
            "EvalDecision": outcome,
            "MatchedStatements": matched,
            "MissingContextValues": missing if resource == "*" else [],
        }
        boundary_detail: dict[str, Any] | None = None
        if boundaries:
            by_boundary = self._evaluator.decide(
                principal, action, resource, context=context, identity_policies=boundaries
            )
            boundary_detail = {"AllowedByPermissionsBoundary": by_boundary.allowed}
            result["PermissionsBoundaryDecisionDetail"] = boundary_detail
        if resource != "*":
            result["EvalDecisionDetails"] = {}
            specific: dict[str, Any] = {
                "EvalResourceName": resource,
                "EvalResourceDecision": outcome,
                "MatchedStatements": matched,
                "MissingContextValues": missing,
                "EvalDecisionDetails": {},
            }
            if boundary_detail is not None:
                specific["PermissionsBoundaryDecisionDetail"] = boundary_detail
            result["ResourceSpecificResults"] = [specific]
        return result


def _placeholder(account_id: str) -> Principal:
    """The simulated caller when there is none: a user of ``account_id`` (not the root user,
    which would be allowed everything and so tell nothing)."""
    arn = f"arn:aws:iam::{account_id}:user/{_SIMULATED_USER}"
    return Principal(account_id, arn, "", "IAMUser", _SIMULATED_USER)


def _matched(reason: Reason, layers: Mapping[PolicyKind, Sequence[PolicyLike]]) -> dict[str, Any]:
    source_id, source_type = _source(reason.policy_name)
    if reason.layer is PolicyKind.RESOURCE:
        source_id, source_type = _RESOURCE_POLICY, "resource"
    out: dict[str, Any] = {"SourcePolicyId": source_id, "SourcePolicyType": source_type}
    policies = layers.get(reason.layer, ())
    index, statement = reason.policy_index, reason.statement_index
    if index is None or statement is None or index >= len(policies):
        return out
    policy = policies[index]
    if isinstance(policy, Policy) and policy.text:
        positions = statement_positions(policy.text)
        if positions is not None and statement < len(positions):
            out["StartPosition"], out["EndPosition"] = positions[statement]
    return out


def _considered_keys(policy: Policy, action: str, resource: str) -> list[str]:
    """Condition keys of the statements covering ``action`` whose Resource matches ``resource``
    (conditions aside): the keys the decision could depend on."""
    indexes = []
    for st in policy.for_action(action.lower()).statements:
        matcher = st.resources
        if matcher is None or matcher.matches(resource, {}) is not st.not_resource:
            indexes.append(st.index)
    return _condition_keys(policy, indexes)
