"""Hypothesis property: the IAM policy simulator and live enforcement always agree.

For generated identity policies (actions and resources from small sets, optional conditions on
``aws:SourceIp``/``aws:RequestedRegion``) stored on a real user, ``SimulatePrincipalPolicy``'s
``EvalDecision`` for (action, resource, context) is ``allowed`` exactly when the live
``PolicyAuthorizer`` lets the same user make the same request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hadron.access import iam_action
from hadron.enforcement import PolicyAuthorizer
from hadron.errors import AccessDenied
from hadron.iam.api import IamApi
from hadron.iam.simulator import IamSimulator
from hadron.iam_resources import resource_for
from hadron.keys import new_ring
from hadron.store import SqlStore, open_store
from hadron.types import Principal

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
ROOT = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root")
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

OPERATIONS = [
    ("proton", "GetService"),
    ("proton", "ListServices"),
    ("proton", "DeleteService"),
    ("iam", "GetUser"),
    ("iam", "ListUsers"),
]
ACTIONS = ["*", "proton:*", "proton:Get*", "proton:DeleteService", "iam:GetUser", "iam:List*"]
RESOURCES = [
    "*",
    f"arn:aws:proton:*:{ACCOUNT}:service/*",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:iam::{ACCOUNT}:user/*",
    "arn:aws:iam::999999999999:user/*",
]
IPS = ["10.0.0.7", "192.0.2.10", "203.0.113.5"]
CIDRS = ["10.0.0.0/8", "192.0.2.0/24", "203.0.113.5/32"]
REGIONS = ["us-east-1", "eu-west-1"]

conditions = st.one_of(
    st.none(),
    st.builds(
        lambda op, cidr: {op: {"aws:SourceIp": cidr}},
        st.sampled_from(["IpAddress", "NotIpAddress"]),
        st.sampled_from(CIDRS),
    ),
    st.builds(
        lambda op, region: {op: {"aws:RequestedRegion": region}},
        st.sampled_from(["StringEquals", "StringNotEquals", "StringEqualsIfExists"]),
        st.sampled_from(REGIONS),
    ),
)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        "Action": draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2, unique=True)),
        "Resource": draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True)),
    }
    condition = draw(conditions)
    if condition is not None:
        statement["Condition"] = condition
    return statement


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, ...]]:
    path: Path = tmp_path_factory.mktemp("simulator") / "hadron.db"
    store: SqlStore = open_store(f"sqlite:///{path}", new_ring())
    store.create_account(ACCOUNT, NOW)
    user = store.create_user(ACCOUNT, "alice", "/", NOW)
    authorizer = PolicyAuthorizer(store)
    api = IamApi(store, lambda: NOW, policies_changed=authorizer.invalidate)
    alice = Principal(ACCOUNT, user.arn, user.user_id, "IAMUser", "alice")
    try:
        yield store, authorizer, api, IamSimulator(store, authorizer), alice
    finally:
        store.close()


@SETTINGS
@given(
    policy=st.lists(statements(), min_size=1, max_size=3),
    operation=st.sampled_from(OPERATIONS),
    source_ip=st.sampled_from([*IPS, None]),
    region=st.sampled_from(REGIONS),
)
def test_simulator_agrees_with_live_enforcement(
    world: tuple[Any, ...],
    policy: list[dict[str, Any]],
    operation: tuple[str, str],
    source_ip: str | None,
    region: str,
) -> None:
    _store, authorizer, api, simulator, alice = world
    document = json.dumps({"Version": "2012-10-17", "Statement": policy})
    api.put_user_policy(ROOT, {"UserName": "alice", "PolicyName": "p", "PolicyDocument": document})
    service, name = operation
    context: dict[str, Any] = {"aws:RequestedRegion": region, "aws:SecureTransport": True}
    entries = [
        {"ContextKeyName": "aws:RequestedRegion", "ContextKeyType": "string",
         "ContextKeyValues": [region]},
        {"ContextKeyName": "aws:SecureTransport", "ContextKeyType": "boolean",
         "ContextKeyValues": ["true"]},
    ]  # fmt: skip
    if source_ip is not None:
        context["aws:SourceIp"] = source_ip
        entries.append(
            {
                "ContextKeyName": "aws:SourceIp",
                "ContextKeyType": "ip",
                "ContextKeyValues": [source_ip],
            }
        )
    try:
        authorizer.authorize(alice, service, name, {}, context=context)
        live = True
    except AccessDenied:
        live = False
    resource = resource_for(alice, service, name, {}, lambda a, n: "/")
    out = simulator.simulate_principal_policy(
        ROOT,
        {
            "PolicySourceArn": alice.arn,
            "ActionNames": [iam_action(service, name)],
            "ResourceArns": [resource],
            "ContextEntries": entries,
        },
    )
    [result] = out["EvaluationResults"]
    assert result["EvalResourceName"] == resource
    assert (result["EvalDecision"] == "allowed") is live, (document, operation, context)
    if not live:
        assert result["EvalDecision"] in ("implicitDeny", "explicitDeny")
