"""The authorization decision, its reasons, and AWS's access-denied message.

Layer 4 (pure): standard library and ``hadron.iam`` modules only.

Shaped like Cedar's response: a result plus the reasons (which layer, policy and statement
decided) and any evaluation errors (each of which failed closed). The access-denied text follows
security.md §4.10 (IAM User Guide, "Troubleshoot access denied error messages")::

    User: <arn> is not authorized to perform: <action>[ on resource: <arn>] because no <type>
        allows the <action> action
    User: <arn> is not authorized to perform: <action>[ on resource: <arn>] with an explicit deny
        in <a type>

The message names only the policy *type*; which statement denied stays in ``reasons`` (for the
audit log), never on the wire.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from hadron.iam.kinds import RULES, PolicyKind
from hadron.iam.policy import Effect

__all__ = ["Decision", "Reason", "Result"]


class Result(StrEnum):
    ALLOWED = "Allowed"
    EXPLICITLY_DENIED = "ExplicitlyDenied"
    IMPLICITLY_DENIED = "ImplicitlyDenied"


class Reason(NamedTuple):
    """One fact behind a decision (a named tuple: immutable, and cheap to build on every request).

    ``effect`` is the matching statement's effect; ``None`` means no statement of ``layer``
    allowed the request (an implicit deny), and then the indexes are ``None``. ``policy_index``
    counts within the layer's list (for SCP/RCP levels, within ``level``; for endpoint
    policies ``level`` is the endpoint policy's index).
    """

    layer: PolicyKind
    effect: Effect | None
    policy_index: int | None = None
    statement_index: int | None = None
    sid: str | None = None
    policy_name: str | None = None
    level: int | None = None
    resource: str | None = None


class Decision(NamedTuple):
    """``result`` is ``"Allowed"``, ``"ExplicitlyDenied"`` or ``"ImplicitlyDenied"`` (a ``str``
    enum); ``denied_by`` names the layer that denied (``None`` when allowed); ``resource`` is the
    resource that was denied (for multi-resource requests); ``errors`` are evaluation errors,
    each of which failed closed.

    A named tuple rather than a frozen dataclass: just as immutable and typed, and built on every
    request at a fraction of the cost.
    """

    result: Result
    reasons: tuple[Reason, ...]
    denied_by: PolicyKind | None = None
    resource: str | None = None
    errors: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.result is Result.ALLOWED

    def __bool__(self) -> bool:
        # A tuple is truthy, so ``if authorize(...):`` would allow everything: refuse it.
        raise TypeError("a Decision has no truth value; test decision.allowed")

    def denial_message(self, principal_arn: str, action: str, resource: str | None = None) -> str:
        """AWS's access-denied message for this decision (``resource`` defaults to the denied
        one; ``on resource:`` is left out for ``None`` and ``*``)."""
        if self.denied_by is None:
            raise ValueError("an allowed decision has no denial message")
        target = resource if resource is not None else self.resource
        where = "" if target in (None, "*") else f" on resource: {target}"
        head = f"User: {principal_arn} is not authorized to perform: {action}{where}"
        rules = RULES[self.denied_by]
        if self.result is Result.EXPLICITLY_DENIED:
            return f"{head} with an explicit deny in {rules.explicit}"
        return f"{head} because no {rules.implicit} allows the {action} action"
