"""Parsed IAM policies per principal for live enforcement: loaded once, cached, invalidated.

Layer: with ``hadron.enforcement`` (talks to the store on a cache miss only). Spec: security.md
§4.9 (the policies evaluated: identity, permissions boundary, session), §5
(``aws:PrincipalTag/…``, ``aws:ResourceTag/…`` from the cached tags).

:class:`PolicyCache` holds, per principal, the inline and attached managed policies of a user and
of every group it belongs to (AWS managed ones from ``hadron.iam.managed``), its permissions
boundary and tags; a role's likewise; a session's session policies; and the paths and tags of
IAM entities. A stored policy that no longer parses fails closed (:func:`parse_stored`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from hadron.errors import ServiceError
from hadron.iam import Policy, PolicyKind, PolicyLike, parse_policy
from hadron.iam.api import UserView, load_user_view
from hadron.iam.managed import AWS_MANAGED_POLICIES
from hadron.session import Session
from hadron.store import Store

__all__ = ["Entity", "PolicyCache", "parse_stored"]

# Part of live enforcement: logged under its name, as before the cache had a module of its own.
log = logging.getLogger("hadron.enforcement")
_T = TypeVar("_T")


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

    def role_policies(self, account_id: str, role_name: str, role_id: str) -> _Loaded:
        """The role's (identity policies, boundary, tags); all empty for an unknown role, or
        when the role of that name is not the one with ``role_id`` (deleted and re-created:
        sessions of the old role get nothing from the new one)."""
        return self._cached_policies(
            (account_id, f"role/{role_name.lower()}/{role_id}"),
            lambda: self._load_role(account_id, role_name, role_id),
        )

    def user_session_policies(self, session: Session) -> _Loaded:
        """A GetSessionToken session's user's (policies, boundary, tags); empty when the user
        of that name is no longer the one the session was issued to."""

        def load() -> _Loaded:
            user = self._store.get_user(session.account_id, session.source_name)
            if user is None or user.user_id != session.source_id:
                return (), (), ()
            return self._load(session.account_id, session.source_name)

        key = f"user-session/{session.source_name.lower()}/{session.source_id}"
        return self._cached_policies((session.account_id, key), load)

    def session_policies(self, session: Session) -> tuple[PolicyLike, ...]:
        """A session's inline policy and managed ``PolicyArns`` documents, parsed (cached per
        session; a managed policy deleted since the session began denies everything)."""
        loaded = self._cached_policies(
            (session.account_id, "session/" + session.session_id),
            lambda: (self._load_session(session), (), ()),
        )
        return loaded[0]

    def _policies(self, account_id: str, user_name: str) -> _Loaded:
        return self._cached_policies(
            (account_id, user_name.lower()), lambda: self._load(account_id, user_name)
        )

    def _cached_policies(self, key: tuple[str, str], load: Callable[[], _Loaded]) -> _Loaded:
        return self._cached(self._entries, key, load)

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

    def _managed_document(self, account_id: str, arn: str) -> PolicyLike:
        """A managed policy by ARN (AWS managed or the account's), parsed; deny-all if gone."""
        if arn.startswith("arn:aws:iam::aws:policy/"):
            return _managed(arn, None)
        policy = self._store.get_policy(account_id, arn)
        version = (
            None
            if policy is None
            else self._store.get_policy_version(account_id, arn, policy.default_version_id)
        )
        return _managed(arn, "{}" if version is None else version.document)

    def _load_role(self, account_id: str, role_name: str, role_id: str) -> _Loaded:
        role = self._store.get_role(account_id, role_name)
        if role is None or role.role_id != role_id:
            return (), (), ()
        out: list[PolicyLike] = []
        for name in self._store.list_role_policies(account_id, role_name):
            inline = self._store.get_role_policy(account_id, role_name, name)
            if inline is not None:
                out.append(parse_stored(inline.document, f"role inline policy {name}"))
        for arn in self._store.list_attached_role_policies(account_id, role_name):
            out.append(self._managed_document(account_id, arn))
        boundary: tuple[PolicyLike, ...] = ()
        if role.permissions_boundary is not None:
            boundary = (self._managed_document(account_id, role.permissions_boundary),)
        return tuple(out), boundary, role.tags

    def _load_session(self, session: Session) -> tuple[PolicyLike, ...]:
        out: list[PolicyLike] = []
        if session.policy is not None:
            out.append(parse_stored(session.policy, "session policy", PolicyKind.SESSION))
        for arn in session.policy_arns:
            document = self._managed_document(session.account_id, arn)
            text = document.text if isinstance(document, Policy) else str(document)
            out.append(parse_stored(text, arn, PolicyKind.SESSION))
        return tuple(out)

    def _load(self, account_id: str, user_name: str) -> _Loaded:
        found = self._store.user_policies(account_id, user_name)
        if found is None:
            return (), (), ()
        inherited = self._store.inherited_policies(account_id, user_name)
        out: list[PolicyLike] = []
        for inline in found.inline:
            out.append(parse_stored(inline.document, f"inline policy {inline.policy_name}"))
        for inline in inherited.groups.inline:
            out.append(parse_stored(inline.document, f"group inline policy {inline.policy_name}"))
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
"""(identity policies, permissions boundaries, tags) of one user."""
Entity = tuple[str, tuple[tuple[str, str], ...]]
"""(path, tags) of an IAM entity (``PolicyCache.entity``)."""


def _managed(arn: str, document: str | None) -> PolicyLike:
    """A managed policy's parsed document (``None``: an AWS managed one, shipped with Hadron)."""
    if document is None:
        aws = AWS_MANAGED_POLICIES.get(arn)
        # An unknown AWS managed ARN (attach and PutUserPermissionsBoundary refuse them) fails
        # closed: the raw text does not parse, so the engine treats it as deny-all.
        document = "{}" if aws is None else aws.document
    return parse_stored(document, arn)


def parse_stored(document: str, name: str, kind: PolicyKind = PolicyKind.IDENTITY) -> PolicyLike:
    """The parsed policy; the raw text if it no longer parses (the engine then fails closed,
    turning it into a deny-all policy and recording the error)."""
    try:
        policy: Policy = parse_policy(document, kind=kind, max_size=None, name=name)
    except ServiceError as exc:
        log.error("stored policy %s does not parse (%s); it denies everything", name, exc.code)
        return document
    return policy
