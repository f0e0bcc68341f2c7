"""Hadron's IAM policy engine: parse → validate → evaluate, pure and synchronous.

Layer 4 (pure): the engine modules below import no ``asyncio``, sockets, databases,
Starlette/uvicorn, and read no clock or ``os.environ`` (an import-linter contract forbids them;
``hadron.iam.api`` and ``hadron.iam.groups``, the IAM Query handlers, are the modules of the
package above the store).
Time, the caller's identity and the policies are inputs.

The library API::

    policy = hadron.iam.parse_policy(text, kind="identity")      # once, when stored
    decision = hadron.iam.authorize(
        principal="arn:aws:iam::111122223333:user/alice",
        action="proton:GetService",
        resource="arn:aws:proton:us-east-1:111122223333:service/web",
        context={"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718", "aws:TagKeys": ["team", "env"]},
        identity_policies=[policy],
    )
    decision.result        # "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"
    decision.denied_by     # the layer that denied (a PolicyKind), or None
    decision.reasons       # which layer, policy and statement decided
    decision.denial_message(principal_arn, action, resource)   # AWS's AccessDenied text

Modules: ``arn`` (ARNs, wildcards), ``variables`` (``${…}``), ``conditions`` (operator
registry), ``principals`` (callers, Principal elements), ``kinds`` (per-kind rules),
``validate`` (MalformedPolicyDocument checks), ``policy`` (frozen values, parse, JSON),
``matching`` (compiled statements), ``index`` (statements by action and guard), ``context``
(request context), ``decision`` (result and messages), ``evaluate`` (the decision logic).
"""

from __future__ import annotations

from hadron.iam.conditions import Condition
from hadron.iam.context import ContextValue, RequestContext
from hadron.iam.decision import Decision, Reason, Result
from hadron.iam.evaluate import Policies, authorize, decide
from hadron.iam.kinds import PolicyKind
from hadron.iam.policy import Effect, Policy, PolicyLike, Statement, parse_policy, policy_size

#: Alias of :class:`PolicyKind` (the name used in the issue text).
PolicyType = PolicyKind

__all__ = [
    "Condition",
    "ContextValue",
    "Decision",
    "Effect",
    "Policies",
    "Policy",
    "PolicyKind",
    "PolicyLike",
    "PolicyType",
    "Reason",
    "RequestContext",
    "Result",
    "Statement",
    "authorize",
    "decide",
    "parse_policy",
    "policy_size",
]
