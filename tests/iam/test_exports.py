"""The public API of ``hadron.iam`` is exactly ``__all__`` (httpx's test_exported_members)."""

from __future__ import annotations

from types import ModuleType

import hadron.iam


def test_exported_members() -> None:
    assert hadron.iam.__all__ == [
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
    for name in hadron.iam.__all__:
        assert getattr(hadron.iam, name) is not None
    assert hadron.iam.PolicyType is hadron.iam.PolicyKind
    # Everything public that is not a submodule is exported.
    public = {
        name
        for name in dir(hadron.iam)
        if not name.startswith("_") and not isinstance(getattr(hadron.iam, name), ModuleType)
    }
    assert public - {"annotations"} == set(hadron.iam.__all__)


def test_request_context_and_decide() -> None:
    ctx = hadron.iam.RequestContext.build(
        principal="arn:aws:iam::111122223333:user/alice",
        action="proton:GetService",
        resource="arn:aws:proton:us-east-1:111122223333:service/web",
        context={"aws:SourceVpce": "vpce-1"},
    )
    assert ctx.principal == "arn:aws:iam::111122223333:user/alice"
    assert ctx.values["aws:sourcevpce"] == "vpce-1"
    policy = hadron.iam.parse_policy(
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"proton:*","Resource":"*"}}',
        kind=hadron.iam.PolicyType.IDENTITY,
    )
    decision = hadron.iam.decide(ctx, hadron.iam.Policies(identity=(policy,)))
    assert decision.allowed
    assert not hadron.iam.decide(ctx, hadron.iam.Policies()).allowed
