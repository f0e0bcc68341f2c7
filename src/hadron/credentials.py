"""Resolving a SigV4 claim's access key to its principal and secret, cached off the database.

Edge-adjacent (layer 3 user): talks to the store on a cache miss only. A resolved key is cached
for ``ttl`` so the hot path does no database round-trip; writes through this process call
``forget`` so a deactivated key stops working at once, and other writers are seen within ``ttl``.
Usage (IAM "last used") is noted in memory and written in batches by a background task.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from hadron.store import Store
from hadron.types import Principal

__all__ = ["CredentialResolver", "Resolved", "UsageRecorder"]


@dataclass(frozen=True, slots=True)
class Resolved:
    principal: Principal
    secret: str


class CredentialResolver:
    def __init__(self, store: Store, *, ttl_seconds: float = 5.0, max_entries: int = 10_000):
        self._store = store
        self._ttl = ttl_seconds
        self._max = max_entries
        self._cache: dict[str, tuple[float, Resolved | None]] = {}
        self._lock = threading.Lock()

    def resolve(self, access_key_id: str, session_token: str | None) -> Resolved | None:
        """The principal and secret for an active long-term key, or ``None``.

        Session tokens (temporary ``ASIA`` credentials) are not issued yet, so a request
        carrying one is unknown.
        """
        if session_token is not None:
            return None
        now = time.monotonic()
        hit = self._cache.get(access_key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        resolved = self._load(access_key_id)
        with self._lock:
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[access_key_id] = (now + self._ttl, resolved)
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
