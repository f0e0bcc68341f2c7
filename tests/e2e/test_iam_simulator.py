"""The IAM policy simulator, black-box: boto3 against a real server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_simulate_principal_and_custom_policy(server: Server) -> None:
    iam = server.client("iam")
    name = f"sim-{uuid.uuid4().hex[:8]}"
    user = iam.create_user(UserName=name)["User"]
    iam.put_user_policy(
        UserName=name,
        PolicyName="read",
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Action": "proton:Get*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            },
            {"Effect": "Deny", "Action": "proton:DeleteService", "Resource": "*"},
        ),
    )
    out = iam.simulate_principal_policy(
        PolicySourceArn=user["Arn"],
        ActionNames=["proton:GetService", "proton:DeleteService", "proton:ListServices"],
        ContextEntries=[
            {
                "ContextKeyName": "aws:SourceIp",
                "ContextKeyValues": ["10.1.2.3"],
                "ContextKeyType": "ip",
            }
        ],
    )
    assert out["IsTruncated"] is False
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in out["EvaluationResults"]}
    assert decisions == {
        "proton:GetService": "allowed",
        "proton:DeleteService": "explicitDeny",
        "proton:ListServices": "implicitDeny",
    }
    matched = out["EvaluationResults"][0]["MatchedStatements"][0]
    assert matched["SourcePolicyId"] == "read"
    assert matched["SourcePolicyType"] == "user"
    assert matched["StartPosition"]["Line"] == 1

    page = iam.simulate_principal_policy(
        PolicySourceArn=user["Arn"], ActionNames=["proton:GetService"], MaxItems=1
    )["EvaluationResults"][0]
    assert page["EvalDecision"] == "implicitDeny"
    assert page["MissingContextValues"] == ["aws:SourceIp"]

    custom = iam.simulate_custom_policy(
        PolicyInputList=[_doc({"Effect": "Allow", "Action": "proton:*", "Resource": "*"})],
        ActionNames=["proton:CreateService"],
        ResourceArns=["arn:aws:proton:us-east-1:123456789012:service/web"],
    )
    [result] = custom["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert result["ResourceSpecificResults"][0]["EvalResourceDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"

    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=user["Arn"])
    assert keys["ContextKeyNames"] == ["aws:SourceIp"]
    with pytest.raises(ClientError) as bad:
        iam.simulate_custom_policy(PolicyInputList=["{nope"], ActionNames=["proton:GetService"])
    assert bad.value.response["Error"]["Code"] == "MalformedPolicyDocument"
