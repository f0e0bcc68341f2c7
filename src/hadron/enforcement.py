"""Live enforcement: the ``Authorizer`` that ``hadron serve`` uses on every request.

Layer: with ``hadron.credentials`` (talks to the store on a cache miss only). Spec: security.md
§4.9 (evaluation logic, via ``hadron.iam.authorize`` — the same engine the simulator uses),
§4.10 (access-denied messages), §5 (global condition keys).

For each request it

1. gathers the caller's identity policies — inline and attached managed (AWS managed ones from
   ``hadron.iam.managed``) — parsed once and cached per principal (see :class:`PolicyCache`);
2. maps the operation to its IAM action (``<prefix>:<Operation>``) and resource ARN: for IAM
   user operations the user (``arn:aws:iam::<acct>:user<path><name>``), for managed policy
   operations the policy ARN, ``ListUsers`` the path (``…:user/``). Proton, EC2 and the other
   IAM operations use ``*`` for now (no resource-level permissions yet);
3. builds the request context from the gateway's connection facts plus the caller's keys;
4. raises ``AccessDenied`` with the decision's AWS message unless the engine allows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from hadron.access import iam_action
from hadron.errors import AccessDenied, ServiceError
from hadron.iam import Policy, PolicyLike, authorize, parse_policy
from hadron.iam.managed import AWS_MANAGED_POLICIES
from hadron.store import Store
from hadron.store.records import policy_arn, user_arn
from hadron.types import Principal

__all__ = ["PolicyAuthorizer", "PolicyCache", "resource_for"]

log = logging.getLogger("hadron.enforcement")

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
    }
)
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
    }
)


def resource_for(
    principal: Principal,
    service: str,
    operation: str,
    params: Mapping[str, Any],
    user_path: Callable[[str, str], str | None],
) -> str:
    """The resource ARN a request acts on (``*`` where Hadron has no resource mapping yet).

    ``user_path(account_id, user_name)`` returns an existing user's path, else ``None`` (then
    ``/`` is assumed, as IAM builds the ARN of a user that does not exist from its name).
    """
    if service != "iam":
        return "*"
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
    if operation in _POLICY_OPERATIONS:
        return str(params["PolicyArn"])
    if operation == "CreatePolicy":
        return policy_arn(account, params.get("Path") or "/", params["PolicyName"])
    if operation == "ListUsers":
        return f"arn:aws:iam::{account}:user{params.get('PathPrefix') or '/'}"
    return "*"


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
        self._entries: dict[tuple[str, str], tuple[float, tuple[PolicyLike, ...]]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def identity_policies(self, account_id: str, user_name: str) -> tuple[PolicyLike, ...]:
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
            else:
                for key in [k for k in self._entries if k[0] == account_id]:
                    del self._entries[key]

    def _load(self, account_id: str, user_name: str) -> tuple[PolicyLike, ...]:
        found = self._store.user_policies(account_id, user_name)
        if found is None:
            return ()
        out: list[PolicyLike] = []
        for inline in found.inline:
            out.append(_parse(inline.document, f"inline policy {inline.policy_name}"))
        for arn, document in found.managed:
            if document is None:
                aws = AWS_MANAGED_POLICIES.get(arn)
                if aws is None:  # pragma: no cover - attach refuses unknown AWS policies
                    continue
                document = aws.document
            out.append(_parse(document, arn))
        return tuple(out)


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
        user = self._store.get_user(account_id, user_name)
        return None if user is None else user.path

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
        resource = resource_for(principal, service, operation, params, self._user_path)
        values: dict[str, Any] = dict(context or {})
        values.setdefault("aws:PrincipalArn", principal.arn)
        values.setdefault("aws:PrincipalAccount", principal.account_id)
        values.setdefault("aws:userid", principal.user_id)
        if principal.user_name is not None:
            values.setdefault("aws:username", principal.user_name)
            values.setdefault("aws:PrincipalType", "User")
        policies: tuple[PolicyLike, ...] = ()
        if principal.user_name is not None:
            policies = self.cache.identity_policies(principal.account_id, principal.user_name)
        decision = authorize(
            principal=principal.arn,
            action=action,
            resource=resource,
            # Every resource Hadron serves is the caller's account's; AWS managed policies
            # (``arn:aws:iam::aws:policy/…``) are readable by every account, as in IAM.
            resource_account=principal.account_id,
            context=values,
            identity_policies=policies,
        )
        if decision.errors:
            log.warning("policy evaluation errors for %s: %s", principal.arn, decision.errors)
        if not decision.allowed:
            raise AccessDenied(decision.denial_message(principal.arn, action, resource))
