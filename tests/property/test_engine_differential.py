"""Differential property: the optimised evaluator equals a straightforward reference.

``hadron.iam.evaluate`` walks an index (``hadron.iam.index``: statements pre-selected by action
and by a guard condition, memoised per layer), tests guards first and memoises condition
results per value. The reference below does none of that: for every statement of every policy,
in order, it matches the action with ``action_matches``, the resource with ``arn_like`` and each
condition with a freshly compiled ``CompiledCondition`` through ``condition_matches``, normalises
the context itself, then applies the decision order of the IAM User Guide ("Policy evaluation
logic") for a same-account IAM user: explicit deny anywhere, every SCP level (Organizations:
each level must allow), identity policies, permissions boundary, session policies.

The same parsed policies are evaluated against several contexts in a row, so the caches filled
by one request are used by the next.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hadron.iam import Policy, PolicyKind, Statement, authorize, parse_policy
from hadron.iam.arn import action_matches, arn_like
from hadron.iam.conditions import CompiledCondition, condition_matches

ACCOUNT = "111122223333"
USER = "alice"
PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
ACTIONS = ["proton:GetService", "proton:DeleteService", "iam:GetUser", "s3:GetObject"]
RESOURCES = [
    f"arn:aws:proton:us-east-1:{ACCOUNT}:service/web",
    f"arn:aws:proton:eu-west-1:{ACCOUNT}:service/api",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
]
ACTION_ELEMENTS = [
    ("Action", ["*"]),
    ("Action", ["proton:*"]),
    ("Action", ["proton:Get*", "iam:Get*"]),
    ("Action", ["proton:GetService", "s3:GetObject"]),
    ("Action", ["iam:getuser"]),
    ("NotAction", ["proton:Delete*"]),
    ("NotAction", ["iam:*", "s3:*"]),
]
RESOURCE_ELEMENTS = [
    ("Resource", ["*"]),
    ("Resource", [RESOURCES[0]]),
    ("Resource", ["arn:aws:proton:*:*:service/*"]),
    ("Resource", [f"arn:aws:iam::{ACCOUNT}:user/*", RESOURCES[1]]),
    ("NotResource", ["arn:aws:proton:eu-*:*:*"]),
]
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]
TEAMS = ["red", "Red", "blue"]
CONDITION_BLOCKS: list[dict[str, dict[str, Any]]] = [
    {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
    {"StringEquals": {"aws:RequestedRegion": "ap-south-1"}},
    {"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "red"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": ["red", "blue"]}},
    {"StringEqualsIfExists": {"aws:PrincipalTag/team": "blue"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}},
    {"StringLike": {"aws:PrincipalTag/team": "r*"}},
    {"StringEquals": {"aws:PrincipalTag/owner": "${aws:username}"}},
    {"Bool": {"aws:SecureTransport": True}},
    {"Bool": {"aws:SecureTransport": "false"}},
    {"NumericLessThan": {"s3:max-keys": 10}},
    {"NumericEquals": {"s3:max-keys": ["5", "07"]}},
    {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.1"]}},
    {"NotIpAddress": {"aws:SourceIp": "10.1.0.0/16"}},
    {"Null": {"aws:PrincipalTag/owner": "true"}},
    {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "Bool": {"aws:SecureTransport": "true"}},
]

statements = st.builds(
    lambda effect, action, resource, conditions: {
        "Effect": effect,
        action[0]: action[1],
        resource[0]: resource[1],
        **({"Condition": _merge(conditions)} if conditions else {}),
    },
    st.sampled_from(["Allow", "Allow", "Deny"]),
    st.sampled_from(ACTION_ELEMENTS),
    st.sampled_from(RESOURCE_ELEMENTS),
    st.lists(st.sampled_from(CONDITION_BLOCKS), max_size=3),
)
policies = st.lists(statements, min_size=1, max_size=5).map(
    lambda s: {"Version": "2012-10-17", "Statement": s}
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "aws:RequestedRegion": st.sampled_from([*REGIONS, ["us-east-1", "eu-west-1"]]),
        "aws:PrincipalTag/team": st.sampled_from(TEAMS),
        "aws:PrincipalTag/owner": st.sampled_from([USER, "bob"]),
        "aws:TagKeys": st.sampled_from([[], ["team"], ["team", "env"], ["cost"]]),
        "aws:SecureTransport": st.booleans(),
        "s3:max-keys": st.sampled_from(["5", "7", "12", "x"]),
        "aws:SourceIp": st.sampled_from(["10.1.2.3", "10.2.0.1", "192.0.2.1", "2001:db8::1"]),
    },
)


def _merge(blocks: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for block in blocks:
        for operator, body in block.items():
            out.setdefault(operator, {}).update(body)
    return out


# --- the reference ---------------------------------------------------------------------------


def _values(context: dict[str, Any]) -> dict[str, str | tuple[str, ...]]:
    values: dict[str, str | tuple[str, ...]] = {
        "aws:principalarn": PRINCIPAL,
        "aws:principaltype": "User",
        "aws:username": USER,
        "aws:principalaccount": ACCOUNT,
        "aws:principalisawsservice": "false",
        "aws:resourceaccount": ACCOUNT,
    }
    for key, value in context.items():
        if isinstance(value, bool):
            values[key.lower()] = "true" if value else "false"
        elif isinstance(value, list):
            if value:
                values[key.lower()] = tuple(value)
            else:
                values.pop(key.lower(), None)
        else:
            values[key.lower()] = value
    return values


def _statement_applies(
    statement: Statement, action: str, resource: str, values: dict[str, Any]
) -> bool:
    covered = any(action_matches(p, action) for p in statement.actions)
    if covered is statement.not_action:
        return False
    if statement.resources is not None:
        named = any(arn_like(p, resource) for p in statement.resources)
        if named is statement.not_resource:
            return False
    return all(
        condition_matches(CompiledCondition(c, substitute=True), values)
        for c in statement.conditions
    )


Ref = tuple[str, str | None, int | None, int | None, int | None]  # layer, effect, policy,
# statement, SCP level
_ORDER = {"scp": 0, "boundary": 5, "session": 6, "identity": 7}


def _layer(
    kind: str,
    layer: list[Policy],
    action: str,
    resource: str,
    values: dict[str, Any],
    level: int | None = None,
) -> tuple[list[Ref], Ref | None]:
    denies: list[Ref] = []
    allow: Ref | None = None
    for p_index, policy in enumerate(layer):
        for s_index, statement in enumerate(policy.statements):
            if statement.effect == "Deny":
                if _statement_applies(statement, action, resource, values):
                    denies.append((kind, "Deny", p_index, s_index, level))
        for s_index, statement in enumerate(policy.statements):
            if allow is None and statement.effect == "Allow":
                if _statement_applies(statement, action, resource, values):
                    allow = (kind, "Allow", p_index, s_index, level)
    return denies, allow


def reference(
    action: str,
    resource: str,
    context: dict[str, Any],
    identity: list[Policy],
    boundary: list[Policy],
    session: list[Policy],
    scp: list[list[Policy]],
) -> tuple[str, tuple[Ref, ...]]:
    values = _values(context)
    denies: list[Ref] = []
    allows: list[Ref | None] = []
    scp_allows: list[Ref | None] = []
    for level, policies_at_level in enumerate(scp):  # the organization levels, root first
        found, allow = _layer("scp", policies_at_level, action, resource, values, level)
        denies += found
        scp_allows.append(allow)
    for kind, layer in (("identity", identity), ("boundary", boundary)):
        found, allow = _layer(kind, layer, action, resource, values) if layer else ([], None)
        denies += found
        allows.append(allow)
    found, session_allow = _layer("session", session, action, resource, values)
    denies += found
    if denies:
        return "ExplicitlyDenied", tuple(sorted(denies, key=lambda r: _ORDER[r[0]]))
    for level, scp_allow in enumerate(scp_allows):  # every SCP level must allow
        if scp_allow is None:
            return "ImplicitlyDenied", (("scp", None, None, None, level),)
    identity_allow, boundary_allow = allows
    if identity_allow is None:
        return "ImplicitlyDenied", (("identity", None, None, None, None),)
    grants = [identity_allow]
    if boundary:
        if boundary_allow is None:
            return "ImplicitlyDenied", (("boundary", None, None, None, None),)
        grants.append(boundary_allow)
    if session:
        if session_allow is None:
            return "ImplicitlyDenied", (("session", None, None, None, None),)
        grants.append(session_allow)
    return "Allowed", (*grants, *[a for a in scp_allows if a is not None])


# --- the property ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    identity=st.lists(policies, min_size=1, max_size=4),
    boundary=st.lists(policies, max_size=1),
    session=st.lists(policies, max_size=1),
    scp=st.lists(st.lists(policies, min_size=1, max_size=2), max_size=2),
    requests=st.lists(
        st.tuples(st.sampled_from(ACTIONS), st.sampled_from(RESOURCES), contexts),
        min_size=1,
        max_size=4,
    ),
)
def test_the_optimised_evaluator_equals_the_reference(
    identity: list[dict[str, Any]],
    boundary: list[dict[str, Any]],
    session: list[dict[str, Any]],
    scp: list[list[dict[str, Any]]],
    requests: list[tuple[str, str, dict[str, Any]]],
) -> None:
    parsed = {
        "identity": [parse_policy(d, kind=PolicyKind.IDENTITY) for d in identity],
        "boundary": [parse_policy(d, kind=PolicyKind.BOUNDARY) for d in boundary],
        "session": [parse_policy(d, kind=PolicyKind.SESSION) for d in session],
    }
    levels = [[parse_policy(d, kind=PolicyKind.SCP) for d in level] for level in scp]
    for action, resource, context in requests:
        decision = authorize(
            principal=PRINCIPAL,
            action=action,
            resource=resource,
            resource_account=ACCOUNT,
            context=context,
            identity_policies=parsed["identity"],
            permission_boundaries=parsed["boundary"] or None,
            session_policies=parsed["session"] or None,
            service_control_policies=levels or None,
        )
        got = tuple(
            (
                str(r.layer),
                None if r.effect is None else str(r.effect),
                r.policy_index,
                r.statement_index,
                r.level,
            )
            for r in decision.reasons
        )
        expected = reference(action, resource, context, **parsed, scp=levels)
        assert (str(decision.result), got) == expected
        assert decision.errors == ()
