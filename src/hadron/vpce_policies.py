"""VPC endpoint policies for live enforcement: parsed once per endpoint, cached, invalidated.

Layer: with ``hadron.enforcement`` (talks to the store through a lookup function, on a cache
miss only). Spec: security.md §4.9 (the endpoint policy is one more gate: it must allow, it
never grants), §7.4 (validated with ``kind="endpoint"`` on write, ``Principal`` honoured).

A request that arrived through an endpoint carries ``aws:SourceVpce``; the authorizer asks
:meth:`EndpointPolicyCache.policy` for that endpoint's policy and hands it to the engine as
``endpoint_policies``. ModifyVpcEndpoint and DeleteVpcEndpoints in this process call
:meth:`EndpointPolicyCache.invalidate`, so a changed policy applies to the next request; other
writers are seen within ``ttl_seconds`` (AWS documents that a new endpoint policy "can take a
few minutes" to apply). An endpoint that no longer exists, or whose stored policy no longer
parses, fails closed: the engine gets text that does not parse and treats it as deny-all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from hadron.errors import ServiceError
from hadron.iam import PolicyLike, parse_policy

__all__ = ["DENY_ALL", "EndpointPolicyCache"]

log = logging.getLogger("hadron.vpce_policies")

DENY_ALL: Final = "{}"
"""What a missing endpoint's policy is taken to be: not a policy, so the engine denies."""


class EndpointPolicyCache:
    """``lookup(endpoint_id)`` returns the endpoint's stored policy text, or ``None`` when the
    endpoint does not exist."""

    def __init__(
        self,
        lookup: Callable[[str], str | None],
        *,
        ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl_seconds
        self._max = max_entries
        self._monotonic = monotonic
        self._entries: dict[str, tuple[float, PolicyLike]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def policy(self, endpoint_id: str) -> PolicyLike:
        now = self._monotonic()
        hit = self._entries.get(endpoint_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        loaded = self._load(endpoint_id)
        with self._lock:
            # A load that raced an invalidation serves its request but is not kept.
            if generation == self._generation:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[endpoint_id] = (now + self._ttl, loaded)
        return loaded

    def invalidate(self, endpoint_id: str | None = None) -> None:
        """Forget ``endpoint_id``'s policy (every endpoint's if ``None``)."""
        with self._lock:
            self._generation += 1
            if endpoint_id is None:
                self._entries.clear()
            else:
                self._entries.pop(endpoint_id, None)

    def _load(self, endpoint_id: str) -> PolicyLike:
        text = self._lookup(endpoint_id)
        if text is None:
            log.warning("request through unknown VPC endpoint %s: denied", endpoint_id)
            return DENY_ALL
        try:
            return parse_policy(text, kind="endpoint", max_size=None, name=endpoint_id)
        except ServiceError as exc:
            log.error("policy of VPC endpoint %s does not parse (%s): denied", endpoint_id, exc)
            return DENY_ALL
