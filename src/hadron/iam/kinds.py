"""Policy kinds and the table of what each kind allows.

Layer 4 (pure, leaf of ``hadron.iam``): standard library only.

One row per policy kind (security.md §4.1-4.3, 4.9, 4.10): whether ``Principal`` is required
or forbidden, whether ``Resource`` is required, optional or forbidden, whether ``Version`` must be
``2012-10-17``, whether whitespace counts toward the size, the default size quota, and how AWS
names the kind in access-denied messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

__all__ = ["RULES", "KindRules", "PolicyKind"]


class PolicyKind(StrEnum):
    """Where a policy is attached; also the evaluation layer it takes part in."""

    IDENTITY = "identity"  # user/group/role inline and managed policies
    RESOURCE = "resource"  # resource-based policies
    TRUST = "trust"  # role trust policies (a resource-based policy that must allow explicitly)
    BOUNDARY = "boundary"  # permissions boundaries
    SESSION = (
        "session"  # session policies (AssumeRole/GetFederationToken ``Policy``/``PolicyArns``)
    )
    SCP = "scp"  # service control policies
    RCP = "rcp"  # resource control policies
    ENDPOINT = "endpoint"  # VPC endpoint policies


@dataclass(frozen=True, slots=True)
class KindRules:
    principal: Literal["required", "forbidden"]
    not_principal: bool  # whether NotPrincipal may replace Principal
    resource: Literal["required", "optional", "forbidden"]
    version_required: bool  # Version must be 2012-10-17
    iam_sid: bool  # IAM's Sid rule: letters and digits only
    whitespace_counts: bool  # toward the size quota (IAM does not count it; Organizations, VPC do)
    size_limit: int | None  # the default quota (None: enforced elsewhere or unknown)
    size_message: str | None
    implicit: str  # "because no <implicit> allows the <action> action"
    explicit: str  # "with an explicit deny in <explicit>"


_POLICY_SIZE = "Cannot exceed quota for PolicySize: 6144"

RULES: Final = MappingProxyType(
    {
        PolicyKind.IDENTITY: KindRules(
            "forbidden",
            False,
            "required",
            True,
            True,
            False,
            6144,
            _POLICY_SIZE,
            "identity-based policy",
            "an identity-based policy",
        ),
        PolicyKind.BOUNDARY: KindRules(
            "forbidden",
            False,
            "required",
            True,
            True,
            False,
            6144,
            _POLICY_SIZE,
            "permissions boundary",
            "a permissions boundary",
        ),
        # Session policies: the 2,048-character plaintext limit counts whitespace and is a
        # ValidationError of the STS API (with PackedPolicyTooLarge), checked by the protocol layer.
        PolicyKind.SESSION: KindRules(
            "forbidden",
            False,
            "required",
            True,
            True,
            False,
            None,
            None,
            "session policy",
            "a session policy",
        ),
        PolicyKind.SCP: KindRules(
            "forbidden",
            False,
            "required",
            True,
            False,
            True,
            None,
            None,
            "service control policy",
            "a service control policy",
        ),
        PolicyKind.RCP: KindRules(
            "required",
            False,
            "required",
            True,
            False,
            True,
            None,
            None,
            "resource control policy",
            "a resource control policy",
        ),
        PolicyKind.RESOURCE: KindRules(
            "required",
            True,
            "optional",
            False,
            False,
            True,
            None,
            None,
            "resource-based policy",
            "a resource-based policy",
        ),
        PolicyKind.TRUST: KindRules(
            "required",
            False,
            "forbidden",
            False,
            True,
            False,
            2048,
            "Cannot exceed quota for ACLSizePerRole: 2048",
            "role trust policy",
            "the role trust policy",
        ),
        # VPC endpoint policies: 20,480 characters including whitespace; the EC2 error code for
        # exceeding it is unconfirmed, so no default quota here.
        PolicyKind.ENDPOINT: KindRules(
            "required",
            True,
            "optional",
            False,
            False,
            True,
            None,
            None,
            "VPC endpoint policy",
            "a VPC endpoint policy",
        ),
    }
)
