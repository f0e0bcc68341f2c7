"""STS handlers. So far: GetCallerIdentity (security.md §3.3), which AWS never denies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hadron.types import Principal

__all__ = ["get_caller_identity"]


def get_caller_identity(principal: Principal, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"UserId": principal.user_id, "Account": principal.account_id, "Arn": principal.arn}
