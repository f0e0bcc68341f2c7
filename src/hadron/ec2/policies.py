"""VPC endpoint policies: validation on write and the default full-access policy.

Layer: pure core. Spec: security.md §7.4. An endpoint policy is an IAM resource-style policy
(``hadron.iam.parse_policy(kind="endpoint")``: a ``Principal`` is required), at most 20,480
characters including whitespace. EC2 answers a bad one with ``InvalidPolicyDocument`` ("The
Policy Document is not valid. …"); the reason after that sentence is the IAM validator's.
"""

from __future__ import annotations

from typing import Final

from hadron.errors import InvalidPolicyDocument, ServiceError
from hadron.iam import parse_policy

__all__ = ["DEFAULT_POLICY", "MAX_POLICY_CHARS", "validate_endpoint_policy"]

DEFAULT_POLICY: Final = (
    '{"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}]}'
)
"""Full access, as AWS returns it for an interface endpoint created without a policy."""

MAX_POLICY_CHARS: Final = 20480


def validate_endpoint_policy(text: str) -> str:
    """``text`` unchanged if it is a valid endpoint policy; ``InvalidPolicyDocument`` if not."""
    if len(text) > MAX_POLICY_CHARS:
        raise InvalidPolicyDocument(
            "The Policy Document is not valid. The policy document exceeds the maximum "
            f"length of {MAX_POLICY_CHARS} characters ({len(text)} given)."
        )
    try:
        parse_policy(text, kind="endpoint", max_size=None, name="VPC endpoint policy")
    except ServiceError as exc:
        raise InvalidPolicyDocument(f"The Policy Document is not valid. {exc.message}") from None
    return text
