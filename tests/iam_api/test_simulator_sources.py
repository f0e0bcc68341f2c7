"""The simulator with group and role sources, ResourcePolicy, ResourceOwner and CallerArn."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hadron.enforcement import PolicyAuthorizer
from hadron.errors import InvalidInput, MalformedPolicyDocument, NoSuchEntity
from hadron.iam.api import IamApi
from hadron.iam.groups import GroupsApi
from hadron.iam.roles import RolesApi
from hadron.iam.simulator import IamSimulator
from hadron.store import SqlStore
from hadron.types import Principal

from .conftest import ACCOUNT, NOW

ADMIN = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root")
OTHER = "444455556666"
BUCKET = "arn:aws:s3:::reports"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.fixture
def sim(store: SqlStore) -> IamSimulator:
    authorizer = PolicyAuthorizer(store)
    iam = IamApi(store, lambda: NOW, policies_changed=authorizer.invalidate)
    groups = GroupsApi(store, lambda: NOW, policies_changed=authorizer.invalidate)
    roles = RolesApi(store, lambda: NOW, policies_changed=authorizer.invalidate)
    groups.create_group(ADMIN, {"GroupName": "devs", "Path": "/eng/"})
    groups.put_group_policy(
        ADMIN,
        {
            "GroupName": "devs",
            "PolicyName": "read",
            "PolicyDocument": _doc(_allow("s3:GetObject")),
        },
    )
    managed = iam.create_policy(
        ADMIN,
        {
            "PolicyName": "list",
            "PolicyDocument": _doc(
                _allow("s3:ListBucket", Condition={"StringLike": {"s3:prefix": "home/*"}})
            ),
        },
    )["Policy"]["Arn"]
    groups.attach_group_policy(ADMIN, {"GroupName": "devs", "PolicyArn": managed})
    roles.create_role(ADMIN, {"RoleName": "app", "AssumeRolePolicyDocument": TRUST})
    roles.put_role_policy(
        ADMIN,
        {
            "RoleName": "app",
            "PolicyName": "write",
            "PolicyDocument": _doc(_allow("s3:PutObject"), _allow("s3:DeleteObject")),
        },
    )
    roles.put_role_permissions_boundary(ADMIN, {"RoleName": "app", "PermissionsBoundary": managed})
    return IamSimulator(store, authorizer)


def _simulate(sim: IamSimulator, **params: Any) -> list[dict[str, Any]]:
    out = sim.simulate_principal_policy(ADMIN, params)
    results: list[dict[str, Any]] = out["EvaluationResults"]
    return results


def _decisions(results: list[dict[str, Any]]) -> dict[str, str]:
    return {r["EvalActionName"]: r["EvalDecision"] for r in results}


def test_a_group_source_uses_the_groups_policies(sim: IamSimulator) -> None:
    results = _simulate(
        sim,
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:group/eng/devs",
        ActionNames=["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
        ContextEntries=[
            {
                "ContextKeyName": "s3:prefix",
                "ContextKeyType": "string",
                "ContextKeyValues": ["home/a"],
            }
        ],
    )
    assert _decisions(results) == {
        "s3:GetObject": "allowed",
        "s3:ListBucket": "allowed",
        "s3:PutObject": "implicitDeny",
    }
    assert results[0]["MatchedStatements"][0]["SourcePolicyId"] == "read"
    assert results[0]["MatchedStatements"][0]["SourcePolicyType"] == "group"
    assert results[1]["MatchedStatements"][0]["SourcePolicyType"] == "user-managed"
    keys = sim.get_context_keys_for_principal_policy(
        ADMIN, {"PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:group/eng/devs"}
    )
    assert keys == {"ContextKeyNames": ["s3:prefix"]}


def test_a_role_source_uses_its_policies_and_boundary(sim: IamSimulator) -> None:
    results = _simulate(
        sim,
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/app",
        ActionNames=["s3:PutObject", "s3:ListBucket"],
    )
    # PutObject: allowed by the role's policy, but its boundary only allows ListBucket.
    assert _decisions(results) == {"s3:PutObject": "implicitDeny", "s3:ListBucket": "implicitDeny"}
    assert results[0]["PermissionsBoundaryDecisionDetail"] == {
        "AllowedByPermissionsBoundary": False
    }
    replaced = _simulate(
        sim,
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/app",
        ActionNames=["s3:PutObject"],
        PermissionsBoundaryPolicyInputList=[_doc(_allow("s3:*"))],
    )
    assert replaced[0]["EvalDecision"] == "allowed"
    matched = replaced[0]["MatchedStatements"]
    assert {"SourcePolicyId": "write", "SourcePolicyType": "role"}.items() <= matched[0].items()


def test_unknown_sources_and_bad_arns(sim: IamSimulator) -> None:
    with pytest.raises(NoSuchEntity, match=r"The group with name ops cannot be found\."):
        _simulate(sim, PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:group/ops", ActionNames=["s3:*"])
    with pytest.raises(NoSuchEntity, match=r"The group with name devs cannot be found\."):
        _simulate(sim, PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:group/devs", ActionNames=["s3:*"])
    with pytest.raises(NoSuchEntity, match=r"The role with name gone cannot be found\."):
        _simulate(sim, PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/gone", ActionNames=["s3:*"])
    with pytest.raises(InvalidInput, match="PolicySourceArn"):
        _simulate(sim, PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:policy/x", ActionNames=["s3:*"])
    with pytest.raises(InvalidInput, match="CallerArn must be the ARN of an IAM user"):
        _simulate(
            sim,
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/app",
            CallerArn=f"arn:aws:iam::{ACCOUNT}:role/app",
            ActionNames=["s3:PutObject"],
        )


def _bucket_policy(principal: str, effect: str = "Allow") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Share",
                    "Effect": effect,
                    "Principal": {"AWS": principal},
                    "Action": "s3:GetObject",
                    "Resource": f"{BUCKET}/*",
                }
            ],
        }
    )


def test_custom_policy_with_a_resource_policy(sim: IamSimulator) -> None:
    caller = f"arn:aws:iam::{ACCOUNT}:user/alice"
    nothing = _doc(_allow("s3:ListBucket"))
    params: dict[str, Any] = {
        "PolicyInputList": [nothing],
        "ActionNames": ["s3:GetObject"],
        "ResourceArns": [f"{BUCKET}/a.txt"],
        "CallerArn": caller,
    }
    # Same account: a resource policy naming the caller grants on its own.
    same = sim.simulate_custom_policy(ADMIN, {**params, "ResourcePolicy": _bucket_policy(caller)})
    result = same["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyId"] == "ResourcePolicy"
    assert result["MatchedStatements"][0]["SourcePolicyType"] == "resource"
    # Owned by another account (ResourceOwner): the identity policy must allow too.
    other = sim.simulate_custom_policy(
        ADMIN,
        {
            **params,
            "ResourcePolicy": _bucket_policy(caller),
            "ResourceOwner": f"arn:aws:iam::{OTHER}:root",
        },
    )
    assert other["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    both = sim.simulate_custom_policy(
        ADMIN,
        {
            **params,
            "PolicyInputList": [_doc(_allow("s3:GetObject"))],
            "ResourcePolicy": _bucket_policy(caller),
            "ResourceOwner": f"arn:aws:iam::{OTHER}:root",
        },
    )
    assert both["EvaluationResults"][0]["EvalDecision"] == "allowed"
    # A Deny in the resource policy wins.
    denied = sim.simulate_custom_policy(
        ADMIN,
        {
            **params,
            "PolicyInputList": [_doc(_allow("s3:GetObject"))],
            "ResourcePolicy": _bucket_policy(caller, "Deny"),
        },
    )
    assert denied["EvaluationResults"][0]["EvalDecision"] == "explicitDeny"


def test_resource_policy_needs_a_caller_and_must_parse(sim: IamSimulator) -> None:
    base: dict[str, Any] = {
        "PolicyInputList": [_doc(_allow("s3:GetObject"))],
        "ActionNames": ["s3:GetObject"],
        "ResourcePolicy": _bucket_policy(f"arn:aws:iam::{ACCOUNT}:user/alice"),
    }
    with pytest.raises(InvalidInput, match="CallerArn is required"):
        sim.simulate_custom_policy(ADMIN, base)
    with pytest.raises(InvalidInput, match="CallerArn is required"):
        _simulate(
            sim,
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:group/eng/devs",
            ActionNames=["s3:GetObject"],
            ResourcePolicy=base["ResourcePolicy"],
        )
    no_principal = _doc(_allow("s3:GetObject"))
    with pytest.raises(MalformedPolicyDocument, match=r"^ResourcePolicy: "):
        sim.simulate_custom_policy(
            ADMIN,
            {**base, "ResourcePolicy": no_principal, "CallerArn": f"arn:aws:iam::{ACCOUNT}:user/a"},
        )
    with pytest.raises(InvalidInput, match="ResourceOwner"):
        sim.simulate_custom_policy(
            ADMIN,
            {**base, "CallerArn": f"arn:aws:iam::{ACCOUNT}:user/a", "ResourceOwner": "nope"},
        )


def test_group_source_with_caller_and_resource_policy(sim: IamSimulator) -> None:
    caller = f"arn:aws:iam::{ACCOUNT}:user/alice"
    results = _simulate(
        sim,
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:group/eng/devs",
        CallerArn=caller,
        ActionNames=["s3:DeleteObject"],
        ResourceArns=[f"{BUCKET}/x"],
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": caller},
                        "Action": "s3:DeleteObject",
                        "Resource": f"{BUCKET}/*",
                    }
                ],
            }
        ),
    )
    assert results[0]["EvalDecision"] == "allowed"
