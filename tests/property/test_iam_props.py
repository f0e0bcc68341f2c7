"""Hypothesis properties of ``hadron.iam`` (STYLE §13b).

1. An explicit Deny is never outvoted: a matching deny-everything statement added to any layer
   that applies to the caller makes the decision ``ExplicitlyDenied``.
2. Adding an Allow statement to an existing policy never turns Allowed into a denial.
3. Removing a Deny statement never turns Allowed into a denial.
4. ``parse_policy(policy.to_json()) == policy``.
5. Arbitrary JSON-ish input to ``parse_policy`` returns a policy or raises
   ``MalformedPolicyDocument``, never anything else (h11's fuzz invariant).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hadron.errors import MalformedPolicyDocument
from hadron.iam import Decision, Effect, Policy, PolicyKind, Statement, authorize, parse_policy

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The monotonicity properties keep only the scenarios they apply to (assume): about 40% are
# allowed.
MONOTONE = settings(
    SETTINGS,
    max_examples=120,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

ACCOUNT, OTHER = "111122223333", "444455556666"
PRINCIPALS = [  # the common callers are over-represented
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci",
    f"arn:aws:iam::{OTHER}:user/bob",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci",
    f"arn:aws:sts::{ACCOUNT}:federated-user/carol",
    f"arn:aws:iam::{ACCOUNT}:root",
    "proton.amazonaws.com",
    None,
]
ACTIONS = ["proton:GetService", "proton:ListServices", "proton:DeleteService", "iam:GetUser"]
RESOURCES = [
    f"arn:aws:proton:us-east-1:{ACCOUNT}:service/web",
    f"arn:aws:proton:us-east-1:{ACCOUNT}:service/web",
    f"arn:aws:proton:us-east-1:{ACCOUNT}:service/alice",
    f"arn:aws:proton:eu-west-1:{OTHER}:service/web",
    None,
]
CONTEXTS: list[dict[str, Any]] = [
    {},
    {"aws:SourceVpce": "vpce-1", "aws:TagKeys": ["team", "env"], "aws:SecureTransport": True},
    {"aws:SourceIp": "203.0.113.9", "aws:PrincipalTag/team": "red", "aws:TagKeys": []},
]

ACTION_ELEMENTS: list[tuple[str, list[str]]] = [
    ("Action", ["*"]),
    ("Action", ["proton:*"]),
    ("Action", ["proton:Get*", "proton:List*"]),
    ("Action", ["proton:GetService"]),
    ("Action", ["proton:?etService", "iam:*"]),
    ("NotAction", ["iam:*"]),
    ("NotAction", ["proton:Delete*"]),
]
RESOURCE_ELEMENTS: list[tuple[str, list[str]]] = [
    ("Resource", ["*"]),
    ("Resource", [f"arn:aws:proton:us-east-1:{ACCOUNT}:service/web"]),
    ("Resource", ["arn:aws:proton:*:*:service/*"]),
    ("Resource", [f"arn:aws:proton:us-east-1:{ACCOUNT}:service/${{aws:username}}"]),
    ("NotResource", [f"arn:aws:proton:*:{OTHER}:*"]),
]
CONDITIONS: list[dict[str, Any] | None] = [
    None,
    {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": ["red", "blue"]}},
    {"ForAllValues:StringLike": {"aws:TagKeys": ["team", "e*"]}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": "env"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"BoolIfExists": {"aws:SecureTransport": "true"}},
    {"Null": {"aws:SourceVpce": "true"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}},
]
PRINCIPAL_ELEMENTS: list[Any] = [
    "*",
    {"AWS": ACCOUNT},
    {"AWS": f"arn:aws:iam::{OTHER}:root"},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
    {"AWS": f"arn:aws:iam::{OTHER}:user/bob"},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:role/deployer"},
    {"AWS": f"arn:aws:sts::{ACCOUNT}:federated-user/carol"},
    {"Service": "proton.amazonaws.com"},
]
WITH_PRINCIPAL = {PolicyKind.RESOURCE, PolicyKind.ENDPOINT, PolicyKind.RCP}


def _raw_statements(kind: PolicyKind) -> list[dict[str, Any]]:
    if kind is PolicyKind.TRUST:
        return [
            {"Effect": effect, "Action": action, "Principal": principal}
            for effect in ("Allow", "Deny")
            for action in (["sts:AssumeRole"], ["sts:AssumeRole", "sts:TagSession"], ["sts:*"])
            for principal in PRINCIPAL_ELEMENTS
        ]
    principals: list[Any] = [None]
    if kind is PolicyKind.RCP:
        principals = ["*"]
    elif kind in WITH_PRINCIPAL:
        principals = PRINCIPAL_ELEMENTS
    out = []
    for effect in ("Allow", "Deny"):
        for action_key, actions in ACTION_ELEMENTS:
            for resource_key, resources in RESOURCE_ELEMENTS:
                for condition in CONDITIONS:
                    # Every principal without a condition; with one, only the broadest principals.
                    for principal in principals if condition is None else principals[:2]:
                        raw: dict[str, Any] = {
                            "Effect": effect,
                            action_key: actions,
                            resource_key: resources,
                        }
                        if condition is not None:
                            raw["Condition"] = condition
                        if principal is not None:
                            raw["Principal"] = principal
                        out.append(raw)
    return out


def _pool(kind: PolicyKind) -> tuple[list[Statement], list[Statement]]:
    """Every combination of the elements above, parsed once: (all statements, broad allows)."""
    raws = _raw_statements(kind)
    parsed = parse_policy({"Version": "2012-10-17", "Statement": raws}, kind=kind, max_size=None)
    statements = list(parsed.statements)
    broad = [
        st
        for st, raw in zip(statements, raws, strict=True)
        if raw["Effect"] == "Allow"
        and "Condition" not in raw
        and raw.get("Action") in (["*"], ["proton:*"], ["sts:AssumeRole"], ["sts:*"])
        and raw.get("Resource", ["*"]) == ["*"]
        and raw.get("Principal", "*") in ("*", {"AWS": ACCOUNT})
    ]
    return statements, broad


POOLS = {kind: _pool(kind) for kind in PolicyKind}
ALLOWS = {kind: [s for s in POOLS[kind][0] if s.effect is Effect.ALLOW] for kind in PolicyKind}
DENIES = {kind: [s for s in POOLS[kind][0] if s.effect is Effect.DENY] for kind in PolicyKind}


def statements(kind: PolicyKind) -> st.SearchStrategy[Statement]:
    every, broad = POOLS[kind]
    # Allows without conditions are over-represented, so that many scenarios end up allowed.
    return st.one_of(st.sampled_from(broad), st.sampled_from(every))


def policies(kind: PolicyKind) -> st.SearchStrategy[Policy]:
    return st.lists(statements(kind), min_size=1, max_size=3).map(
        lambda body: Policy(kind, tuple(body))
    )


def optional_list(kind: PolicyKind) -> st.SearchStrategy[list[Policy] | None]:
    return st.one_of(st.none(), st.none(), st.lists(policies(kind), min_size=1, max_size=2))


def levels(kind: PolicyKind) -> st.SearchStrategy[list[list[Policy]] | None]:
    some = st.lists(st.lists(policies(kind), min_size=1, max_size=2), min_size=1, max_size=2)
    return st.one_of(st.none(), st.none(), some)


@dataclass
class Scenario:
    principal: str | None
    action: str
    resource: str | None
    context: dict[str, Any]
    identity: list[Policy]
    boundary: list[Policy] | None
    session: list[Policy] | None
    resource_policy: Policy | None
    endpoint: list[Policy] | None
    scp: list[list[Policy]] | None
    rcp: list[list[Policy]] | None
    extra: dict[str, Any] = field(default_factory=dict)

    def decide(self) -> Decision:
        return authorize(
            principal=self.principal,
            action=self.action,
            resource=self.resource,
            context=self.context,
            identity_policies=self.identity,
            permission_boundaries=self.boundary,
            session_policies=self.session,
            resource_policy=self.resource_policy,
            endpoint_policies=self.endpoint,
            service_control_policies=self.scp,
            resource_control_policies=self.rcp,
        )

    def slots(self) -> list[tuple[str, int, int]]:
        """Every existing policy as (layer, level, index): where statements can be added."""
        out = [("identity", 0, i) for i in range(len(self.identity))]
        for name in ("boundary", "session", "endpoint"):
            out += [(name, 0, i) for i in range(len(getattr(self, name) or ()))]
        if self.resource_policy is not None:
            out.append(("resource", 0, 0))
        for name in ("scp", "rcp"):
            for level, group in enumerate(getattr(self, name) or ()):
                out += [(name, level, i) for i in range(len(group))]
        return out

    def get(self, slot: tuple[str, int, int]) -> Policy:
        layer, level, index = slot
        if layer == "resource":
            assert self.resource_policy is not None
            return self.resource_policy
        if layer in ("scp", "rcp"):
            return getattr(self, layer)[level][index]  # type: ignore[no-any-return]
        return getattr(self, layer)[index]  # type: ignore[no-any-return]

    def put(self, slot: tuple[str, int, int], policy: Policy) -> Scenario:
        layer, level, index = slot
        if layer == "resource":
            return replace(self, resource_policy=policy)
        changes: dict[str, Any] = {}
        if layer in ("scp", "rcp"):
            groups = [list(g) for g in getattr(self, layer)]
            groups[level][index] = policy
            changes[layer] = groups
        else:
            items = list(getattr(self, layer))
            items[index] = policy
            changes[layer] = items
        return replace(self, **changes)


scenarios = st.builds(
    Scenario,
    principal=st.sampled_from(PRINCIPALS),
    action=st.sampled_from(ACTIONS),
    resource=st.sampled_from(RESOURCES),
    context=st.sampled_from(CONTEXTS),
    identity=st.lists(policies(PolicyKind.IDENTITY), min_size=1, max_size=2),
    boundary=optional_list(PolicyKind.BOUNDARY),
    session=optional_list(PolicyKind.SESSION),
    resource_policy=st.one_of(st.none(), st.none(), policies(PolicyKind.RESOURCE)),
    endpoint=optional_list(PolicyKind.ENDPOINT),
    scp=levels(PolicyKind.SCP),
    rcp=levels(PolicyKind.RCP),
)


def with_statement(policy: Policy, statement: Statement) -> Policy:
    return Policy(policy.kind, (*policy.statements, statement), policy.version, policy.id)


def everything(effect: Effect, kind: PolicyKind) -> Statement:
    return Statement(
        effect,
        ("*",),
        resources=("*",),
        principals=(("AWS", ("*",)),) if kind in WITH_PRINCIPAL else None,
    )


@SETTINGS
@given(scenarios, st.data())
def test_an_explicit_deny_is_never_outvoted(scenario: Scenario, data: st.DataObject) -> None:
    exempt = scenario.principal is None or "." in scenario.principal  # SCPs do not apply
    slots = [s for s in scenario.slots() if not (s[0] == "scp" and exempt)]
    slots.append(("identity", 0, len(scenario.identity)))  # or a new identity policy
    slot = data.draw(st.sampled_from(slots))
    if slot[2] == len(scenario.identity) and slot[0] == "identity":
        deny = Policy(PolicyKind.IDENTITY, (everything(Effect.DENY, PolicyKind.IDENTITY),))
        scenario = replace(scenario, identity=[*scenario.identity, deny])
    else:
        policy = scenario.get(slot)
        scenario = scenario.put(slot, with_statement(policy, everything(Effect.DENY, policy.kind)))
    decision = scenario.decide()
    assert decision.result == "ExplicitlyDenied"
    assert decision.errors == ()


@MONOTONE
@given(scenarios, st.data())
def test_adding_an_allow_never_turns_allow_into_deny(
    scenario: Scenario, data: st.DataObject
) -> None:
    slots = scenario.slots()
    assume(bool(slots) and scenario.decide().allowed)
    slot = data.draw(st.sampled_from(slots))
    policy = scenario.get(slot)
    added = data.draw(st.sampled_from(ALLOWS[policy.kind]))
    assert scenario.put(slot, with_statement(policy, added)).decide().allowed


@MONOTONE
@given(scenarios, st.data())
def test_removing_a_deny_never_turns_allow_into_deny(
    scenario: Scenario, data: st.DataObject
) -> None:
    # Put a Deny statement D into scenario S; whenever S + D is allowed, S (D removed) is too.
    slots = scenario.slots()
    assume(bool(slots))
    slot = data.draw(st.sampled_from(slots))
    policy = scenario.get(slot)
    deny = data.draw(st.sampled_from(DENIES[policy.kind]))
    position = data.draw(st.integers(0, len(policy.statements)))
    body = list(policy.statements)
    body.insert(position, deny)
    with_deny = scenario.put(slot, Policy(policy.kind, tuple(body), policy.version))
    assume(with_deny.decide().allowed)
    assert scenario.decide().allowed


@SETTINGS
@given(st.sampled_from(list(PolicyKind)).flatmap(lambda k: st.tuples(st.just(k), policies(k))))
def test_parse_of_serialize_is_identity(kind_and_policy: tuple[PolicyKind, Policy]) -> None:
    kind, policy = kind_and_policy
    policy = parse_policy(policy.to_json(), kind=kind)  # a parsed policy, with its submitted text
    assert parse_policy(policy.to_json(), kind=kind) == policy
    assert parse_policy(json.loads(policy.to_json()), kind=kind) == policy


json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
element_names = st.sampled_from(
    [
        "Version",
        "Id",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "Service",
        "StringEquals",
        "ForAllValues:StringLike",
        "NumericLessThanIfExists",
        "Null",
        "DateLessThan",
        "aws:TagKeys",
    ]
)
element_values = st.sampled_from(
    [
        "2012-10-17",
        "2008-10-17",
        "Allow",
        "Deny",
        "allow",
        "*",
        "proton:Get*",
        "Get",
        "a:b:c",
        "arn:aws:proton:us-east-1:111122223333:service/web",
        "arn:aws:iam::1:user/x",
        "arn:aws",
        "arn:aws:s3::x",
        "111122223333",
        "2020-01-01",
        "${aws:username}",
        "",
    ]
)
policy_like = st.recursive(
    json_scalars | element_values,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(element_names, inner, max_size=4),
    max_leaves=16,
)


@SETTINGS
@given(
    st.sampled_from(list(PolicyKind)),
    json_values | policy_like | st.text(max_size=40) | policy_like.map(json.dumps),
)
def test_arbitrary_input_parses_or_raises_malformed_policy_document(
    kind: PolicyKind, value: Any
) -> None:
    try:
        policy = parse_policy(value, kind=kind, max_size=None)
    except MalformedPolicyDocument:
        return
    assert isinstance(policy, Policy)
    assert parse_policy(policy.to_json(), kind=kind, max_size=None) == policy
