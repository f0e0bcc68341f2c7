"""Resolving a SigV4 claim's access key to its principal and secret, cached off the database.

Edge-adjacent (layer 3 user): talks to the store on a cache miss only. A resolved key is cached
for ``ttl`` so the hot path does no database round-trip; writes through this process call
``forget`` so a deactivated key stops working at once, and other writers are seen within ``ttl``.
Usage (IAM "last used") is noted in memory and written in batches by a background task.

Temporary credentials (``ASIA`` key + session token) never touch the database: the token is
opened with the master-key ring (``hadron.session``), bound to the claim's key id and checked
against the request time. A tampered, truncated or foreign token is ``InvalidClientTokenId``
("The security token included in the request is invalid", no period, security.md §1.9 row 13);
an expired one ``ExpiredToken`` (row 14).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hadron.errors import ExpiredToken, InvalidClientTokenId
from hadron.keys import RNG, MasterKeyRing
from hadron.session import (
    TEMPORARY_KEY_PREFIX,
    InvalidSessionToken,
    Session,
    SessionKind,
    envelope_key_id,
    open_token,
    seal_token,
)
from hadron.store import Store
from hadron.types import Principal

__all__ = ["CredentialResolver", "Resolved", "SessionKeys", "UsageRecorder", "session_principal"]

_BAD_TOKEN = "The security token included in the request is invalid"  # noqa: S105
_EXPIRED_TOKEN = "The security token included in the request is expired"  # noqa: S105


@dataclass(frozen=True, slots=True)
class Resolved:
    principal: Principal
    secret: str
    # What the derived signing key is cached under: the key id, plus the session id for
    # temporary keys (whose ids are unique only together with their token, security.md §2.1).
    signing_id: str | None = None


class SessionKeys:
    """Seals and opens session tokens with the live master-key ring.

    ``ring()`` returns the current ring; ``reload()`` re-reads the key file (after
    ``hadron admin rotate-master-key`` beside a running server) and returns the new ring or
    ``None``. A token naming a master key this process does not know triggers at most one
    reload per ``reload_interval`` seconds, so garbage tokens cannot make it read the file on
    every request.
    """

    def __init__(
        self,
        ring: Callable[[], MasterKeyRing],
        reload: Callable[[], MasterKeyRing | None] | None = None,
        *,
        reload_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ring = ring
        self._reload = reload
        self._interval = reload_interval
        self._monotonic = monotonic
        self._next_reload = 0.0

    def seal(self, session: Session, rng: RNG = os.urandom) -> str:
        return seal_token(self._ring(), session, rng)

    def open(self, token: str, access_key_id: str) -> Session | None:
        ring = self._ring()
        try:
            return open_token(ring, token, access_key_id)
        except InvalidSessionToken:
            pass
        key_id = envelope_key_id(token)
        if key_id is None or ring.get(key_id) is not None or self._reload is None:
            return None
        now = self._monotonic()
        if now < self._next_reload:
            return None
        self._next_reload = now + self._interval
        fresh = self._reload()
        if fresh is None:
            return None
        try:
            return open_token(fresh, token, access_key_id)
        except InvalidSessionToken:
            return None


def session_principal(session: Session) -> Principal:
    """The principal a request signed with ``session``'s credentials acts as."""
    if session.kind is SessionKind.ASSUMED_ROLE:
        return Principal(
            account_id=session.account_id,
            arn=session.arn,
            user_id=session.user_id,
            principal_type="AssumedRole",
            access_key_id=session.access_key_id,
            session=session,
        )
    return Principal(
        account_id=session.account_id,
        arn=session.arn,
        user_id=session.user_id,
        principal_type="IAMUser",
        user_name=session.source_name,
        access_key_id=session.access_key_id,
        session=session,
    )


class CredentialResolver:
    def __init__(
        self,
        store: Store,
        *,
        ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
        sessions: SessionKeys | None = None,
    ):
        self._store = store
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._max = max_entries
        self._cache: dict[str, tuple[float, Resolved | None]] = {}
        self._opened: dict[str, tuple[Session, Resolved]] = {}
        self._lock = threading.Lock()

    def resolve(
        self, access_key_id: str, session_token: str | None, *, now: datetime | None = None
    ) -> Resolved | None:
        """The principal and secret for an active long-term key or a valid session, or ``None``
        for an unknown key.

        With a session token: ``InvalidClientTokenId`` unless it opens for ``access_key_id``
        (an ``ASIA`` key), ``ExpiredToken`` if it has expired at ``now``. No database access.
        """
        if session_token is not None:
            return self._session(access_key_id, session_token, now)
        tick = time.monotonic()
        hit = self._cache.get(access_key_id)
        if hit is not None and hit[0] > tick:
            return hit[1]
        resolved = self._load(access_key_id)
        with self._lock:
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[access_key_id] = (tick + self._ttl, resolved)
        return resolved

    def _load(self, access_key_id: str) -> Resolved | None:
        key = self._store.get_access_key(access_key_id)
        if key is None or key.status != "Active":
            return None
        user = self._store.get_user(key.account_id, key.user_name)
        if user is None:
            return None
        principal = Principal(
            account_id=user.account_id,
            arn=user.arn,
            user_id=user.user_id,
            principal_type="IAMUser",
            user_name=user.user_name,
            access_key_id=access_key_id,
        )
        return Resolved(principal, key.secret)

    def _session(self, access_key_id: str, token: str, now: datetime | None) -> Resolved | None:
        if self._sessions is None or not access_key_id.startswith(TEMPORARY_KEY_PREFIX):
            return None  # a long-term key with a token: unknown, like any unknown key
        # Opened tokens are remembered by their exact text: a token is immutable and opens to
        # the same session every time, so a hit skips only the decryption. The key-id binding
        # and the expiry are checked on every request all the same.
        hit = self._opened.get(token)
        if hit is None:
            session = self._sessions.open(token, access_key_id)
            if session is None:
                raise InvalidClientTokenId(_BAD_TOKEN)
            signing_id = f"{access_key_id}:{session.session_id}"
            resolved = Resolved(session_principal(session), session.secret_access_key, signing_id)
            hit = (session, resolved)
            with self._lock:
                while len(self._opened) >= self._max:
                    del self._opened[next(iter(self._opened))]
                self._opened[token] = hit
        session, resolved = hit
        if session.access_key_id != access_key_id:
            raise InvalidClientTokenId(_BAD_TOKEN)
        if now is not None and session.expired(now):
            raise ExpiredToken(_EXPIRED_TOKEN)
        return resolved

    def forget(self, access_key_id: str) -> None:
        with self._lock:
            self._cache.pop(access_key_id, None)


class UsageRecorder:
    """Last-used times per access key, kept in memory until ``drain``."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[datetime, str, str]] = {}
        self._lock = threading.Lock()

    def note(self, access_key_id: str, when: datetime, service: str, region: str) -> None:
        self._pending[access_key_id] = (when, service, region)

    def drain(self) -> list[tuple[str, datetime, str, str]]:
        with self._lock:
            pending, self._pending = self._pending, {}
        return [(akid, when, svc, region) for akid, (when, svc, region) in pending.items()]
