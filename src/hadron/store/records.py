"""Frozen values the store returns: accounts, IAM users and access keys.

Layer 3 (store). Handlers receive these, never SQLAlchemy ``Row`` objects, so the database can
change underneath without touching them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

__all__ = [
    "MAX_ACCESS_KEYS_PER_USER",
    "AccessKey",
    "AccessKeyStatus",
    "Account",
    "KeyUsage",
    "User",
    "user_arn",
]

AccessKeyStatus = Literal["Active", "Inactive"]

MAX_ACCESS_KEYS_PER_USER: Final = 2
"""IAM quota, not adjustable (security.md §2.2)."""

KeyUsage = tuple[str, datetime, str, str]
"""One authenticated use of a key: (access key id, when, service, region)."""


def user_arn(account_id: str, path: str, user_name: str) -> str:
    """``arn:aws:iam::<account>:user<path><name>``; ``path`` starts and ends with ``/``."""
    return f"arn:aws:iam::{account_id}:user{path}{user_name}"


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class User:
    account_id: str
    user_name: str
    user_id: str
    path: str
    arn: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccessKey:
    """A long-term access key. ``secret`` is the opened plaintext; it never appears in ``repr``."""

    access_key_id: str
    account_id: str
    user_name: str
    status: AccessKeyStatus
    created_at: datetime
    secret: str = field(repr=False)
    last_used_at: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None
