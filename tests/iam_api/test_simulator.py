"""The IAM policy simulator against a real SQLite store and the live authorizer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hadron.enforcement import PolicyAuthorizer
from hadron.errors import InvalidInput, MalformedPolicyDocument, NoSuchEntity
from hadron.iam.api import IamApi
from hadron.iam.simulator import IamSimulator, statement_positions
from hadron.iam_resources import resource_for
from hadron.store import SqlStore
from hadron.types import Principal

from .conftest import ACCOUNT, NOW

ADMIN = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root")
ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
SERVICE = f"arn:aws:proton:us-east-1:{ACCOUNT}:service/web"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def _setup(store: SqlStore) -> tuple[IamSimulator, IamApi]:
    authorizer = PolicyAuthorizer(store)
    api = IamApi(store, lambda: NOW, policies_changed=authorizer.invalidate)
    return IamSimulator(store, authorizer), api


def _entry(name: str, kind: str, *values: str) -> dict[str, Any]:
    return {"ContextKeyName": name, "ContextKeyType": kind, "ContextKeyValues": list(values)}


@pytest.fixture
def sim(store: SqlStore) -> IamSimulator:
    simulator, api = _setup(store)
    api.put_user_policy(
        ADMIN,
        {
            "UserName": "alice",
            "PolicyName": "proton-read",
            "PolicyDocument": _doc(
                {
                    "Sid": "Read",
                    "Effect": "Allow",
                    "Action": ["proton:Get*", "proton:List*"],
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                },
                {"Sid": "NoDelete", "Effect": "Deny", "Action": "proton:Delete*", "Resource": "*"},
            ),
        },
    )
    policy = api.create_policy(
        ADMIN,
        {
            "PolicyName": "regional",
            "PolicyDocument": _doc(
                {
                    "Effect": "Allow",
                    "Action": "proton:CreateService",
                    "Resource": SERVICE,
                    "Condition": {
                        "StringEquals": {"aws:RequestedRegion": "us-east-1"},
                        "Bool": {"aws:SecureTransport": "true"},
                    },
                }
            ),
        },
    )["Policy"]
    api.attach_user_policy(ADMIN, {"UserName": "alice", "PolicyArn": policy["Arn"]})
    return simulator


def test_allowed_with_context_and_matched_statement_positions(sim: IamSimulator) -> None:
    out = sim.simulate_principal_policy(
        ADMIN,
        {
            "PolicySourceArn": ALICE_ARN,
            "ActionNames": ["proton:GetService"],
            "ContextEntries": [_entry("aws:SourceIp", "ip", "10.1.2.3")],
        },
    )
    assert out["IsTruncated"] is False
    [result] = out["EvaluationResults"]
    assert result["EvalActionName"] == "proton:GetService"
    assert result["EvalResourceName"] == "*"
    assert result["EvalDecision"] == "allowed"
    assert result["MissingContextValues"] == []
    assert "ResourceSpecificResults" not in result
    [matched] = result["MatchedStatements"]
    assert matched["SourcePolicyId"] == "proton-read"
    assert matched["SourcePolicyType"] == "user"
    # json.dumps(indent=2): the first statement opens on line 4, column 5, closes on line 17.
    assert matched["StartPosition"] == {"Line": 4, "Column": 5}
    assert matched["EndPosition"]["Column"] == 5


def test_implicit_deny_reports_missing_context_values(sim: IamSimulator) -> None:
    out = sim.simulate_principal_policy(
        ADMIN, {"PolicySourceArn": ALICE_ARN, "ActionNames": ["proton:ListServices"]}
    )
    [result] = out["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MatchedStatements"] == []
    assert result["MissingContextValues"] == ["aws:SourceIp"]


def test_explicit_deny_lists_only_the_deny_statement(sim: IamSimulator) -> None:
    extra = _doc({"Effect": "Allow", "Action": "proton:*", "Resource": "*"})
    out = sim.simulate_principal_policy(
        ADMIN,
        {
            "PolicySourceArn": ALICE_ARN,
            "ActionNames": ["proton:DeleteService", "proton:UpdateService"],
            "PolicyInputList": [extra],
        },
    )
    deleted, updated = out["EvaluationResults"]
    assert deleted["EvalDecision"] == "explicitDeny"
    assert [m["SourcePolicyId"] for m in deleted["MatchedStatements"]] == ["proton-read"]
    assert updated["EvalDecision"] == "allowed"
    [matched] = updated["MatchedStatements"]
    assert matched["SourcePolicyId"] == "PolicyInputList.1"
    assert matched["SourcePolicyType"] == "none"


def test_resource_arns_and_typed_context_entries(sim: IamSimulator) -> None:
    params: dict[str, Any] = {
        "PolicySourceArn": ALICE_ARN,
        "ActionNames": ["proton:CreateService"],
        "ResourceArns": [SERVICE, f"arn:aws:proton:us-east-1:{ACCOUNT}:service/other"],
        "ContextEntries": [
            _entry("aws:RequestedRegion", "string", "us-east-1"),
            _entry("aws:SecureTransport", "boolean", "TRUE"),
            _entry("aws:TagKeys", "stringList", "team", "env"),
            _entry("aws:EpochTime", "numeric", "1700000000"),
            _entry("aws:SourceIp", "ipList", "10.0.0.1", "192.0.2.0/24"),
        ],
    }
    web, other = sim.simulate_principal_policy(ADMIN, params)["EvaluationResults"]
    assert web["EvalDecision"] == "allowed"
    assert web["EvalResourceName"] == SERVICE
    assert web["EvalDecisionDetails"] == {}
    [specific] = web["ResourceSpecificResults"]
    assert specific["EvalResourceName"] == SERVICE
    assert specific["EvalResourceDecision"] == "allowed"
    assert specific["MatchedStatements"][0]["SourcePolicyId"] == "regional"
    assert specific["MatchedStatements"][0]["SourcePolicyType"] == "user-managed"
    assert other["EvalDecision"] == "implicitDeny"
    # A wrong value decides otherwise; the missing key is reported per resource.
    params["ContextEntries"] = [_entry("aws:SecureTransport", "boolean", "false")]
    web = sim.simulate_principal_policy(ADMIN, params)["EvaluationResults"][0]
    assert web["EvalDecision"] == "implicitDeny"
    assert web["MissingContextValues"] == []
    assert web["ResourceSpecificResults"][0]["MissingContextValues"] == ["aws:RequestedRegion"]


@pytest.mark.parametrize(
    "entry",
    [
        _entry("aws:SecureTransport", "boolean", "yes"),
        _entry("aws:EpochTime", "numeric", "soon"),
        _entry("aws:SourceIp", "ip", "not-an-ip"),
        _entry("aws:SourceIp", "ip", "10.0.0.1", "10.0.0.2"),
        _entry("aws:SourceIp", "address", "10.0.0.1"),
        _entry("s3:Blob", "binary", "!!!"),
    ],
)
def test_bad_context_entries_are_invalid_input(sim: IamSimulator, entry: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        sim.simulate_principal_policy(
            ADMIN,
            {
                "PolicySourceArn": ALICE_ARN,
                "ActionNames": ["proton:GetService"],
                "ContextEntries": [entry],
            },
        )


def test_pagination(sim: IamSimulator) -> None:
    actions = [f"proton:Get{n}" for n in ("A", "B", "C", "D", "E")]
    params: dict[str, Any] = {
        "PolicySourceArn": ALICE_ARN,
        "ActionNames": actions,
        "MaxItems": 2,
        "ContextEntries": [_entry("aws:SourceIp", "ip", "10.0.0.1")],
    }
    seen: list[str] = []
    while True:
        out = sim.simulate_principal_policy(ADMIN, params)
        assert len(out["EvaluationResults"]) <= 2
        seen += [r["EvalActionName"] for r in out["EvaluationResults"]]
        if not out["IsTruncated"]:
            break
        params["Marker"] = out["Marker"]
    assert seen == actions


def test_unknown_or_invalid_source(sim: IamSimulator) -> None:
    with pytest.raises(NoSuchEntity):
        sim.simulate_principal_policy(
            ADMIN,
            {
                "PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:user/bob",
                "ActionNames": ["proton:GetService"],
            },
        )
    with pytest.raises(InvalidInput):
        sim.simulate_principal_policy(
            ADMIN, {"PolicySourceArn": "alice", "ActionNames": ["proton:GetService"]}
        )
    with pytest.raises(InvalidInput):
        sim.simulate_principal_policy(
            ADMIN, {"PolicySourceArn": ALICE_ARN, "ActionNames": ["GetService"]}
        )


def test_custom_policy_and_boundary(store: SqlStore) -> None:
    simulator, _ = _setup(store)
    allow = _doc({"Effect": "Allow", "Action": "proton:*", "Resource": "*"})
    boundary = _doc({"Effect": "Allow", "Action": "proton:Get*", "Resource": "*"})
    out = simulator.simulate_custom_policy(
        ADMIN,
        {
            "PolicyInputList": [allow],
            "PermissionsBoundaryPolicyInputList": [boundary],
            "ActionNames": ["proton:GetService", "proton:DeleteService"],
        },
    )
    get, delete = out["EvaluationResults"]
    assert get["EvalDecision"] == "allowed"
    assert get["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert delete["EvalDecision"] == "implicitDeny"
    assert delete["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    with pytest.raises(InvalidInput):  # no wildcards in SimulateCustomPolicy actions
        simulator.simulate_custom_policy(
            ADMIN, {"PolicyInputList": [allow], "ActionNames": ["proton:*"]}
        )


@pytest.mark.parametrize(
    "document",
    [
        "{not json",
        '{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}',
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}',
    ],
)
def test_malformed_custom_policies_are_refused(store: SqlStore, document: str) -> None:
    simulator, _ = _setup(store)
    with pytest.raises(MalformedPolicyDocument) as info:
        simulator.simulate_custom_policy(
            ADMIN, {"PolicyInputList": [document], "ActionNames": ["proton:GetService"]}
        )
    assert info.value.message.startswith("PolicyInputList.1: ")
    with pytest.raises(MalformedPolicyDocument):
        simulator.get_context_keys_for_custom_policy(ADMIN, {"PolicyInputList": [document]})


def test_context_keys(sim: IamSimulator) -> None:
    extra = _doc(
        {
            "Effect": "Allow",
            "Action": "proton:*",
            "Resource": "*",
            "Condition": {"StringLike": {"AWS:SourceIP": "10.*", "proton:ServiceTemplate": "x"}},
        }
    )
    out = sim.get_context_keys_for_principal_policy(
        ADMIN, {"PolicySourceArn": ALICE_ARN, "PolicyInputList": [extra]}
    )
    assert out == {
        "ContextKeyNames": [
            "aws:SourceIp",
            "aws:RequestedRegion",
            "aws:SecureTransport",
            "proton:ServiceTemplate",
        ]
    }
    custom = sim.get_context_keys_for_custom_policy(ADMIN, {"PolicyInputList": [extra]})
    assert custom == {"ContextKeyNames": ["AWS:SourceIP", "proton:ServiceTemplate"]}


def test_statement_positions() -> None:
    text = '{"Version": "2012-10-17",\n "Statement": {"Effect": "Allow",\n  "Action": "*"}}'
    assert statement_positions(text) == [({"Line": 2, "Column": 15}, {"Line": 3, "Column": 16})]
    assert statement_positions("[]") is None
    assert statement_positions('{"Statement": 3}') is None


def test_simulator_requests_act_on_the_source_user() -> None:
    for operation in ("SimulatePrincipalPolicy", "GetContextKeysForPrincipalPolicy"):
        params = {"PolicySourceArn": ALICE_ARN}
        assert resource_for(ADMIN, "iam", operation, params, lambda _a, _n: None) == ALICE_ARN
    assert resource_for(ADMIN, "iam", "SimulateCustomPolicy", {}, lambda _a, _n: None) == "*"


def test_stored_boundary_applies_unless_replaced(store: SqlStore) -> None:
    simulator, api = _setup(store)
    api.put_user_policy(
        ADMIN,
        {
            "UserName": "alice",
            "PolicyName": "all",
            "PolicyDocument": _doc({"Effect": "Allow", "Action": "proton:*", "Resource": "*"}),
        },
    )
    boundary = api.create_policy(
        ADMIN,
        {
            "PolicyName": "read-only",
            "PolicyDocument": _doc({"Effect": "Allow", "Action": "proton:Get*", "Resource": "*"}),
        },
    )["Policy"]
    store.put_user_permissions_boundary(ACCOUNT, "alice", boundary["Arn"])
    params: dict[str, Any] = {
        "PolicySourceArn": ALICE_ARN,
        "ActionNames": ["proton:GetService", "proton:UpdateService"],
    }
    get, update = simulator.simulate_principal_policy(ADMIN, params)["EvaluationResults"]
    assert (get["EvalDecision"], update["EvalDecision"]) == ("allowed", "implicitDeny")
    assert update["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    params["PermissionsBoundaryPolicyInputList"] = [
        _doc({"Effect": "Allow", "Action": "proton:Update*", "Resource": "*"})
    ]
    get, update = simulator.simulate_principal_policy(ADMIN, params)["EvaluationResults"]
    assert (get["EvalDecision"], update["EvalDecision"]) == ("implicitDeny", "allowed")
