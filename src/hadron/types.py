"""Leaf values shared by every layer: HTTP request/response values and the clock.

Layer 5 (leaf): imports nothing from hadron and no I/O modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

__all__ = ["Clock", "ClockFn", "Headers", "HttpRequest", "HttpResponse", "Principal"]

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request exactly as received.

    ``target`` is the raw request-target (path plus optional ``?query``, still percent-encoded);
    ``headers`` keeps the received order and repeats, names lower-cased, values as sent (latin-1
    decoded).
    """

    method: str
    target: str
    headers: Headers
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or ``None``."""
        lname = name.lower()
        for key, value in self.headers:
            if key == lname or key.lower() == lname:
                return value
        return None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Headers = ()
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: who signed the request."""

    account_id: str
    arn: str
    user_id: str
    principal_type: str  # "IAMUser" | "Root" | "AssumedRole" | ...
    user_name: str | None = None
    access_key_id: str | None = None
    tags: tuple[tuple[str, str], ...] = field(default=())
    # Temporary credentials: the ``hadron.session.Session`` the request was signed with (its
    # policies, tags and times drive enforcement). ``None`` for long-term keys.
    session: object | None = field(default=None, compare=False)


class Clock(Protocol):
    def __call__(self) -> datetime: ...


ClockFn = Callable[[], datetime]
