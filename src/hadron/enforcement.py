"""Live enforcement: the ``Authorizer`` that ``hadron serve`` uses on every request.

Layer: with ``hadron.credentials`` (talks to the store on a cache miss only). Spec: security.md
§4.9 (evaluation logic, via ``hadron.iam.authorize`` — the same engine the simulator uses),
§4.10 (access-denied messages), §5 (global condition keys).

For each request it

1. gathers the caller's identity policies — inline and attached managed, the user's and those of
   every group it belongs to (AWS managed ones from ``hadron.iam.managed``) — and its
   permissions boundary, parsed once and cached per principal (see :class:`PolicyCache`);
2. maps the operation to its IAM action (``<prefix>:<Operation>``) and resource ARN: for IAM
   user operations the user (``arn:aws:iam::<acct>:user<path><name>``), for managed policy
   operations the policy ARN, ``ListUsers`` the path (``…:user/``), the other IAM operations
   ``*``. Proton, EC2 and STS: the ARN(s) and the service condition keys (``proton:*``,
   ``aws:RequestTag/…``, ``aws:TagKeys``, ``sts:*``) of ``hadron.authz_map``;
3. builds the request context from the gateway's connection facts plus the caller's keys;
4. raises ``AccessDenied`` with the decision's AWS message unless the engine allows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from hadron.access import iam_action
from hadron.authz_map import DEFAULT_REGION, authorization
from hadron.errors import AccessDenied, ServiceError
from hadron.iam import Decision, Policy, PolicyLike, authorize, parse_policy
from hadron.iam.api import UserView, load_user_view
from hadron.iam.managed import AWS_MANAGED_POLICIES
from hadron.iam.tags import principal_tag_context, request_tag_context, tag_keys, validate_tags
from hadron.store import Store
from hadron.store.records import (
    group_arn,
    instance_profile_arn,
    policy_arn,
    role_arn,
    user_arn,
)
from hadron.types import Principal

__all__ = ["PolicyAuthorizer", "PolicyCache", "resource_for"]

log = logging.getLogger("hadron.enforcement")
_T = TypeVar("_T")

# IAM operations whose resource is the user named by ``UserName`` (or the caller).
_USER_OPERATIONS = frozenset(
    {
        "CreateUser",
        "GetUser",
        "DeleteUser",
        "UpdateUser",
        "CreateAccessKey",
        "ListAccessKeys",
        "UpdateAccessKey",
        "DeleteAccessKey",
        "PutUserPolicy",
        "GetUserPolicy",
        "ListUserPolicies",
        "DeleteUserPolicy",
        "AttachUserPolicy",
        "DetachUserPolicy",
        "ListAttachedUserPolicies",
        "TagUser",
        "UntagUser",
        "ListUserTags",
    }
)
# IAM operations whose resource is the role named by ``RoleName`` (``hadron.iam.roles``).
_ROLE_OPERATIONS = frozenset(
    {
        "CreateRole",
        "GetRole",
        "DeleteRole",
        "UpdateRole",
        "UpdateRoleDescription",
        "UpdateAssumeRolePolicy",
        "PutRolePolicy",
        "GetRolePolicy",
        "ListRolePolicies",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "ListAttachedRolePolicies",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
        "TagRole",
        "UntagRole",
        "ListRoleTags",
        "ListInstanceProfilesForRole",
    }
)
# IAM operations whose resource is the instance profile named by ``InstanceProfileName``
# (``hadron.iam.profiles``).
_PROFILE_OPERATIONS = frozenset(
    {
        "CreateInstanceProfile",
        "GetInstanceProfile",
        "DeleteInstanceProfile",
        "AddRoleToInstanceProfile",
        "RemoveRoleFromInstanceProfile",
        "TagInstanceProfile",
        "UntagInstanceProfile",
        "ListInstanceProfileTags",
    }
)
# Operations that carry ``Tags`` (aws:RequestTag/…, aws:TagKeys) or ``TagKeys`` (aws:TagKeys).
_TAGGING_OPERATIONS = frozenset({"CreateUser", "CreateRole", "TagUser", "TagRole"}) | {
    "CreatePolicy",
    "TagPolicy",
    "CreateInstanceProfile",
    "TagInstanceProfile",
}
_UNTAGGING_OPERATIONS = frozenset({"UntagUser", "UntagRole", "UntagPolicy", "UntagInstanceProfile"})
# IAM operations whose resource is the principal named by ``PolicySourceArn`` (the simulator).
_SOURCE_ARN_OPERATIONS = frozenset({"SimulatePrincipalPolicy", "GetContextKeysForPrincipalPolicy"})
# IAM operations whose resource is the managed policy named by ``PolicyArn``.
_POLICY_OPERATIONS = frozenset(
    {
        "GetPolicy",
        "DeletePolicy",
        "CreatePolicyVersion",
        "GetPolicyVersion",
        "ListPolicyVersions",
        "SetDefaultPolicyVersion",
        "DeletePolicyVersion",
        "ListEntitiesForPolicy",
        "TagPolicy",
        "UntagPolicy",
        "ListPolicyTags",
    }
)


def resource_for(
    principal: Principal,
    service: str,
    operation: str,
    params: Mapping[str, Any],
    user_path: Callable[[str, str], str | None],
    *,
    region: str = DEFAULT_REGION,
    role_path: Callable[[str, str], str | None] | None = None,
    group_path: Callable[[str, str], str | None] | None = None,
    profile_path: Callable[[str, str], str | None] | None = None,
) -> str:
    """The resource ARN a request acts on (``*`` where the action has no resource-level
    permission). Non-IAM services: the first resource of ``hadron.authz_map.authorization``
    (``PolicyAuthorizer`` uses all of them, and the map's condition keys).

    ``user_path(account_id, user_name)`` returns an existing user's path, else ``None`` (then
    ``/`` is assumed, as IAM builds the ARN of a user that does not exist from its name);
    ``role_path`` does the same for roles (``None``: every role is taken to be at ``/``), and
    ``group_path`` for groups (only ``UpdateGroup`` acts on a group ARN so far).
    """
    if service != "iam":
        mapped = authorization(
            service, operation, params, account=principal.account_id, region=region
        )
        return mapped.resources[0]
    account = principal.account_id
    if operation in _USER_OPERATIONS:
        name = params.get("UserName") or principal.user_name
        if name is None:
            return principal.arn
        if operation == "CreateUser":
            return user_arn(account, params.get("Path") or "/", name)
        if not params.get("UserName"):
            return principal.arn
        return user_arn(account, user_path(account, name) or "/", name)
    if operation in _ROLE_OPERATIONS:
        name = str(params["RoleName"])
        if operation == "CreateRole":
            return role_arn(account, params.get("Path") or "/", name)
        return role_arn(account, (role_path or (lambda _a, _n: None))(account, name) or "/", name)
    if operation in _POLICY_OPERATIONS:
        return str(params["PolicyArn"])
    if operation in _SOURCE_ARN_OPERATIONS:
        return str(params["PolicySourceArn"])
    if operation == "CreatePolicy":
        return policy_arn(account, params.get("Path") or "/", params["PolicyName"])
    if operation == "UpdateGroup":
        name = str(params["GroupName"])
        path = (group_path or (lambda _a, _n: None))(account, name) or "/"
        return group_arn(account, path, name)
    if operation == "ListUsers":
        return f"arn:aws:iam::{account}:user{params.get('PathPrefix') or '/'}"
    if operation in _PROFILE_OPERATIONS:
        name = str(params["InstanceProfileName"])
        if operation == "CreateInstanceProfile":
            return instance_profile_arn(account, params.get("Path") or "/", name)
        path = (profile_path or (lambda _a, _n: None))(account, name) or "/"
        return instance_profile_arn(account, path, name)
    if operation == "ListInstanceProfiles":
        return f"arn:aws:iam::{account}:instance-profile{params.get('PathPrefix') or '/'}"
    return "*"


# Operations that create the entity they act on: it has no tags yet.
_CREATIONS = frozenset({"CreateUser", "CreateRole", "CreatePolicy", "CreateInstanceProfile"})


def _tag_target(
    principal: Principal, operation: str, params: Mapping[str, Any]
) -> tuple[str, str, str] | None:
    """``(kind, account, name)`` of the existing entity an IAM operation acts on, for
    ``aws:ResourceTag`` (``None`` for creations and operations on no taggable entity)."""
    account = principal.account_id
    if operation in _CREATIONS:
        return None
    if operation in _USER_OPERATIONS:
        name = params.get("UserName") or principal.user_name
        return None if name is None else ("user", account, str(name))
    if operation in _ROLE_OPERATIONS:
        return ("role", account, str(params["RoleName"]))
    if operation in _POLICY_OPERATIONS:
        return ("policy", account, str(params["PolicyArn"]))
    if operation in _PROFILE_OPERATIONS:
        return ("instance-profile", account, str(params["InstanceProfileName"]))
    return None


class PolicyCache:
    """Parsed identity policies per principal, with a TTL and explicit invalidation.

    * Key: ``(account_id, lower-cased user name)``; value: the parsed policies and an expiry.
    * A write through this process's IAM API calls :meth:`invalidate` for the account, so the
      next request re-reads at once. Writers in other processes (``hadron admin``) are seen
      within ``ttl_seconds``, like the credential cache.
    * A generation counter guards the race between a load and an invalidation: a load that
      started before an invalidation is returned to its request but not cached.
    """

    def __init__(
        self,
        store: Store,
        *,
        ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._max = max_entries
        self._monotonic = monotonic
        self._entries: dict[tuple[str, str], tuple[float, _Loaded]] = {}
        self._views: dict[tuple[str, str], tuple[float, Any]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def identity_policies(self, account_id: str, user_name: str) -> tuple[PolicyLike, ...]:
        """The user's inline and attached policies and those of every group it belongs to."""
        return self._policies(account_id, user_name)[0]

    def permission_boundaries(self, account_id: str, user_name: str) -> tuple[PolicyLike, ...]:
        """The user's permissions boundary (one policy), or ``()`` when it has none."""
        return self._policies(account_id, user_name)[1]

    def principal_tags(self, account_id: str, user_name: str) -> tuple[tuple[str, str], ...]:
        """The user's tags (for ``aws:PrincipalTag/<key>``), cached with its policies."""
        return self._policies(account_id, user_name)[2]

    def _policies(self, account_id: str, user_name: str) -> _Loaded:
        key = (account_id, user_name.lower())
        now = self._monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        policies = self._load(account_id, user_name)
        with self._lock:
            if generation == self._generation:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[key] = (now + self._ttl, policies)
        return policies

    def invalidate(self, account_id: str | None = None) -> None:
        """Drop the cached policies of ``account_id`` (every account if ``None``)."""
        with self._lock:
            self._generation += 1
            if account_id is None:
                self._entries.clear()
                self._views.clear()
            else:
                for key in [k for k in self._entries if k[0] == account_id]:
                    del self._entries[key]
                for key in [k for k in self._views if k[0] == account_id]:
                    del self._views[key]

    def user_view(self, account_id: str, user_name: str) -> UserView | None:
        """The user's row, boundary ARN and tags (``GetUser``, the ARN of user operations),
        cached like the policies; a user that does not exist is not cached (creating one needs
        no invalidation)."""
        return self._cached(
            self._views,
            (account_id, user_name.lower()),
            lambda: load_user_view(self._store, account_id, user_name),
        )

    def entity(self, kind: str, account_id: str, name: str) -> Entity | None:
        """``(path, tags)`` of an existing ``user``, ``role``, ``group``, ``instance-profile``
        or customer managed ``policy`` (``name`` is then its ARN), cached like the policies
        (every IAM write to a path or tags calls ``policies_changed``); ``None`` (not cached)
        when there is no such entity."""
        if kind == "user":
            view = self.user_view(account_id, name)
            return None if view is None else (view.user.path, view.tags)
        key = (account_id, f"{kind}:{name if kind == 'policy' else name.lower()}")
        return self._cached(self._views, key, lambda: self._load_entity(kind, account_id, name))

    def _load_entity(self, kind: str, account_id: str, name: str) -> Entity | None:
        store = self._store
        if kind == "role":
            role = store.get_role(account_id, name)
            return None if role is None else (role.path, role.tags)
        if kind == "group":
            group = store.get_group(account_id, name)
            return None if group is None else (group.path, ())
        if kind == "instance-profile":
            profile = store.get_instance_profile(account_id, name)
            return None if profile is None else (profile.path, profile.tags)
        if kind == "policy" and store.get_policy(account_id, name) is not None:
            try:
                return ("", tuple(store.list_policy_tags(account_id, name)))
            except ServiceError:  # pragma: no cover - deleted meanwhile
                return None
        return None

    def _cached(
        self,
        table: dict[tuple[str, str], tuple[float, Any]],
        key: tuple[str, str],
        load: Callable[[], _T],
    ) -> _T:
        now = self._monotonic()
        hit = table.get(key)
        if hit is not None and hit[0] > now:
            found: _T = hit[1]
            return found
        generation = self._generation
        value = load()
        if value is not None:  # INVARIANT: absence is never cached (creations need no flush)
            with self._lock:
                if generation == self._generation:
                    if len(table) >= self._max:
                        table.clear()
                    table[key] = (now + self._ttl, value)
        return value

    def _load(self, account_id: str, user_name: str) -> _Loaded:
        found = self._store.user_policies(account_id, user_name)
        if found is None:
            return (), (), ()
        inherited = self._store.inherited_policies(account_id, user_name)
        out: list[PolicyLike] = []
        for inline in found.inline:
            out.append(_parse(inline.document, f"inline policy {inline.policy_name}"))
        for inline in inherited.groups.inline:
            out.append(_parse(inline.document, f"group inline policy {inline.policy_name}"))
        seen: set[str] = set()
        for arn, document in (*found.managed, *inherited.groups.managed):
            if arn in seen:
                continue
            seen.add(arn)
            out.append(_managed(arn, document))
        boundaries: tuple[PolicyLike, ...] = ()
        if inherited.boundary is not None:
            boundaries = (_managed(*inherited.boundary),)
        try:
            tags = tuple(self._store.list_user_tags(account_id, user_name))
        except ServiceError:  # pragma: no cover - the user was deleted meanwhile
            tags = ()
        return tuple(out), boundaries, tags


_Loaded = tuple[tuple[PolicyLike, ...], tuple[PolicyLike, ...], tuple[tuple[str, str], ...]]
Entity = tuple[str, tuple[tuple[str, str], ...]]
"""(path, tags) of an IAM entity (``PolicyCache.entity``)."""
"""(identity policies, permissions boundaries, tags) of one user."""


def _managed(arn: str, document: str | None) -> PolicyLike:
    """A managed policy's parsed document (``None``: an AWS managed one, shipped with Hadron)."""
    if document is None:
        aws = AWS_MANAGED_POLICIES.get(arn)
        # An unknown AWS managed ARN (attach and PutUserPermissionsBoundary refuse them) fails
        # closed: the raw text does not parse, so the engine treats it as deny-all.
        document = "{}" if aws is None else aws.document
    return _parse(document, arn)


def _parse(document: str, name: str) -> PolicyLike:
    """The parsed policy; the raw text if it no longer parses (the engine then fails closed,
    turning it into a deny-all policy and recording the error)."""
    try:
        policy: Policy = parse_policy(document, kind="identity", max_size=None, name=name)
    except ServiceError as exc:
        log.error("stored policy %s does not parse (%s); it denies everything", name, exc.code)
        return document
    return policy


class PolicyAuthorizer:
    """Evaluates the caller's identity policies with ``hadron.iam.authorize``."""

    def __init__(self, store: Store, cache: PolicyCache | None = None) -> None:
        self._store = store
        self.cache = cache or PolicyCache(store)

    def invalidate(self, account_id: str | None = None) -> None:
        self.cache.invalidate(account_id)

    def _user_path(self, account_id: str, user_name: str) -> str | None:
        view = self.cache.user_view(account_id, user_name)
        return None if view is None else view.user.path

    def _group_path(self, account_id: str, group_name: str) -> str | None:
        found = self.cache.entity("group", account_id, group_name)
        return None if found is None else found[0]

    def _role_path(self, account_id: str, role_name: str) -> str | None:
        found = self.cache.entity("role", account_id, role_name)
        return None if found is None else found[0]

    def _profile_path(self, account_id: str, profile_name: str) -> str | None:
        found = self.cache.entity("instance-profile", account_id, profile_name)
        return None if found is None else found[0]

    def authorize(
        self,
        principal: Principal,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        action = iam_action(service, operation)
        resource: str | list[str]
        if service == "iam":
            resource = resource_for(
                principal,
                service,
                operation,
                params,
                self._user_path,
                role_path=self._role_path,
                group_path=self._group_path,
                profile_path=self._profile_path,
            )
            context = {**self._iam_context(principal, operation, params), **(context or {})}
        else:  # resources and service condition keys from the authorization map
            region = str((context or {}).get("aws:RequestedRegion") or DEFAULT_REGION)
            mapped = authorization(
                service, operation, params, account=principal.account_id, region=region
            )
            resource = mapped.resource
            context = {**(context or {}), **mapped.context}
        decision = self.decide(principal, action, resource, context=context)
        if decision.errors:
            log.warning("policy evaluation errors for %s: %s", principal.arn, decision.errors)
        if not decision.allowed:
            named = resource if isinstance(resource, str) else None  # None: the denied one
            raise AccessDenied(decision.denial_message(principal.arn, action, named))

    def _iam_context(
        self, principal: Principal, operation: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``aws:PrincipalTag/<key>`` of a tagged IAM user caller (read with its policies, so a
        tag change through the API takes effect on the next request), ``aws:ResourceTag/<key>``
        of the tagged user, role, customer managed policy or instance profile the operation acts
        on, and the request-tag keys of the tagging operations. Invalid tags are left to the
        handler to refuse."""
        values: dict[str, Any] = {}
        if principal.user_name is not None:
            tags = self.cache.principal_tags(principal.account_id, principal.user_name)
            values.update(principal_tag_context(tags))
        target = _tag_target(principal, operation, params)
        if target is not None:  # aws:ResourceTag/<key> of an existing tagged entity
            found = self.cache.entity(*target)
            if found is not None:
                values.update({f"aws:ResourceTag/{k}": v for k, v in found[1]})
        try:
            if operation in _TAGGING_OPERATIONS and params.get("Tags"):
                values.update(request_tag_context(validate_tags(params["Tags"])))
            elif operation in _UNTAGGING_OPERATIONS and params.get("TagKeys"):
                values["aws:TagKeys"] = tag_keys(params["TagKeys"])
        except ServiceError:
            pass
        return values

    def identity_policies(self, principal: Principal) -> tuple[PolicyLike, ...]:
        """The principal's identity policies, as live enforcement gathers them (cached)."""
        if principal.user_name is None:
            return ()
        return self.cache.identity_policies(principal.account_id, principal.user_name)

    def permission_boundaries(self, principal: Principal) -> tuple[PolicyLike, ...]:
        """The principal's permissions boundary as live enforcement gathers it (cached)."""
        if principal.user_name is None:
            return ()
        return self.cache.permission_boundaries(principal.account_id, principal.user_name)

    def decide(
        self,
        principal: Principal,
        action: str,
        resource: str | Sequence[str],
        *,
        context: Mapping[str, Any] | None = None,
        identity_policies: Sequence[PolicyLike] | None = None,
        permission_boundaries: Sequence[PolicyLike] | None = None,
        resource_policy: PolicyLike | None = None,
        resource_account: str | None = None,
    ) -> Decision:
        """The engine's decision for ``principal`` (shared by :meth:`authorize` and the IAM
        policy simulator). ``identity_policies`` default to :meth:`identity_policies`;
        ``resource_policy`` and ``resource_account`` (default: the principal's account) are the
        simulator's ``ResourcePolicy`` and ``ResourceOwner``."""
        values: dict[str, Any] = dict(context or {})
        values.setdefault("aws:PrincipalArn", principal.arn)
        values.setdefault("aws:PrincipalAccount", principal.account_id)
        values.setdefault("aws:userid", principal.user_id)
        if principal.user_name is not None:
            values.setdefault("aws:username", principal.user_name)
            values.setdefault("aws:PrincipalType", "User")
        policies = (
            self.identity_policies(principal) if identity_policies is None else identity_policies
        )
        if identity_policies is None and permission_boundaries is None:
            permission_boundaries = self.permission_boundaries(principal)
        return authorize(
            principal=principal.arn,
            action=action,
            resource=resource,
            # Every resource Hadron serves is the caller's account's; AWS managed policies
            # (``arn:aws:iam::aws:policy/…``) are readable by every account, as in IAM.
            resource_account=resource_account or principal.account_id,
            context=values,
            identity_policies=policies,
            permission_boundaries=permission_boundaries,
            resource_policy=resource_policy,
        )
