"""Authorization seam: who may call what.

Layer 4 (pure). ``hadron serve`` uses the policy-evaluating ``hadron.enforcement.PolicyAuthorizer``;
``DenyAllAuthorizer`` (no policies at all: every operation refused with the protocol's
AccessDenied in AWS's words, security.md §4.10) and ``AllowAllAuthorizer`` remain for embedding
and tests of the pipeline.
``sts:GetCallerIdentity`` never reaches an authorizer: AWS never denies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from hadron.errors import AccessDenied
from hadron.types import Principal

__all__ = ["AllowAllAuthorizer", "Authorizer", "DenyAllAuthorizer", "iam_action"]

_IAM_PREFIX = {"proton": "proton", "sts": "sts", "iam": "iam", "ec2": "ec2"}


def iam_action(service: str, operation: str) -> str:
    return f"{_IAM_PREFIX.get(service, service)}:{operation}"


class Authorizer(Protocol):
    def authorize(
        self,
        principal: Principal,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Return if allowed; raise ``AccessDenied`` otherwise.

        ``context``: request facts for condition keys, named as in IAM (``aws:SourceIp``,
        ``aws:SecureTransport``, ``aws:CurrentTime``, ``aws:EpochTime``, ``aws:RequestedRegion``).
        """


class DenyAllAuthorizer:
    """No identity-based policies exist yet, so nothing is allowed (an implicit deny)."""

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
        raise AccessDenied(
            f"User: {principal.arn} is not authorized to perform: {action} "
            f"because no identity-based policy allows the {action} action"
        )


class AllowAllAuthorizer:
    """Allows everything. For embedding and tests of the request pipeline only; ``hadron serve``
    never uses it."""

    def authorize(
        self,
        principal: Principal,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        return None
