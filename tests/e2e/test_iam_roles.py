"""IAM roles and IAM tags, black-box: boto3 against a real server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server

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


def _doc(effect: str, action: str, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_role_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    name = _name("app")
    created = iam.create_role(
        RoleName=name, Path="/svc/", AssumeRolePolicyDocument=TRUST, Description="first"
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::{server.account_id}:role/svc/{name}"
    assert created["RoleId"].startswith("AROA") and created["MaxSessionDuration"] == 3600
    got = iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"] == json.loads(TRUST)  # decoded by boto3
    assert got["Description"] == "first" and got["RoleLastUsed"] == {}
    listed = iam.list_roles(PathPrefix="/svc/")["Roles"]
    assert name in [r["RoleName"] for r in listed]
    iam.update_role(RoleName=name, Description="second", MaxSessionDuration=43200)
    got = iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("second", 43200)
    updated = iam.update_role_description(RoleName=name, Description="third")["Role"]
    assert updated["Description"] == "third"
    other = json.loads(TRUST)
    other["Statement"][0]["Principal"] = {"Service": "lambda.amazonaws.com"}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(other))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == other
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as gone:
        iam.get_role(RoleName=name)
    assert _error(gone) == ("NoSuchEntity", f"The role with name {name} cannot be found.")


def test_malformed_trust_policy_and_session_bounds(server: Server) -> None:
    iam = server.client("iam")
    name = _name("bad")
    trust = json.loads(TRUST)
    trust["Statement"][0]["Resource"] = "*"
    with pytest.raises(ClientError) as bad:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    assert _error(bad) == ("MalformedPolicyDocument", "Has prohibited field Resource")
    with pytest.raises(ClientError) as too_long:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, MaxSessionDuration=43201)
    assert _error(too_long) == (
        "ValidationError",
        "1 validation error detected: Value '43201' at 'maxSessionDuration' failed to satisfy "
        "constraint: Member must have value less than or equal to 43200",
    )
    assert name not in [r["RoleName"] for r in iam.list_roles()["Roles"]]  # nothing stored
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, MaxSessionDuration=7200)
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 7200
    with pytest.raises(ClientError) as malformed_update:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    assert _error(malformed_update)[0] == "MalformedPolicyDocument"
    iam.delete_role(RoleName=name)


def test_role_policies_attachments_and_conflicts(server: Server) -> None:
    iam = server.client("iam")
    name = _name("worker")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName=name, PolicyName="list", PolicyDocument=_doc("Allow", "s3:List*"))
    got = iam.get_role_policy(RoleName=name, PolicyName="list")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "s3:List*"
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["list"]
    with pytest.raises(ClientError) as inline:
        iam.delete_role(RoleName=name)
    assert _error(inline) == (
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    )
    iam.delete_role_policy(RoleName=name, PolicyName="list")

    policy = iam.create_policy(PolicyName=_name("p"), PolicyDocument=_doc("Allow", "s3:Get*"))
    arn = policy["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": policy["Policy"]["PolicyName"], "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    with pytest.raises(ClientError) as in_use:
        iam.delete_policy(PolicyArn=arn)
    assert _error(in_use) == ("DeleteConflict", "Cannot delete a policy attached to entities.")
    with pytest.raises(ClientError) as attached_conflict:
        iam.delete_role(RoleName=name)
    assert _error(attached_conflict) == (
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
    )
    iam.detach_role_policy(RoleName=name, PolicyArn=arn)

    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=arn)
    boundary = iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]
    assert boundary["PermissionsBoundaryArn"] == arn
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    with pytest.raises(ClientError) as boundary_use:
        iam.delete_policy(PolicyArn=arn)
    assert _error(boundary_use)[0] == "DeleteConflict"
    iam.delete_role_permissions_boundary(RoleName=name)
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role(RoleName=name)


def test_tags_with_limits(server: Server) -> None:
    iam = server.client("iam")
    user, role = _name("tagged"), _name("tagged")
    created = iam.create_user(UserName=user, Tags=[{"Key": "Team", "Value": "red"}])["User"]
    assert created["Tags"] == [{"Key": "Team", "Value": "red"}]
    iam.tag_user(
        UserName=user, Tags=[{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": ""}]
    )
    assert iam.list_user_tags(UserName=user)["Tags"] == [
        {"Key": "env", "Value": ""},
        {"Key": "team", "Value": "blue"},
    ]
    assert len(iam.get_user(UserName=user)["User"]["Tags"]) == 2
    iam.untag_user(UserName=user, TagKeys=["ENV"])
    assert iam.list_user_tags(UserName=user)["Tags"] == [{"Key": "team", "Value": "blue"}]
    with pytest.raises(ClientError) as reserved:
        iam.tag_user(UserName=user, Tags=[{"Key": "aws:owner", "Value": "x"}])
    assert _error(reserved)[0] == "InvalidInput"
    with pytest.raises(ClientError) as too_many:
        iam.tag_user(UserName=user, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert _error(too_many) == (
        "LimitExceeded",
        "The number of tags has reached the maximum limit.",
    )

    iam.create_role(
        RoleName=role, AssumeRolePolicyDocument=TRUST, Tags=[{"Key": "a", "Value": "1"}]
    )
    iam.tag_role(RoleName=role, Tags=[{"Key": "b", "Value": "2"}])
    assert iam.get_role(RoleName=role)["Role"]["Tags"] == [
        {"Key": "a", "Value": "1"},
        {"Key": "b", "Value": "2"},
    ]
    iam.untag_role(RoleName=role, TagKeys=["a"])
    assert iam.list_role_tags(RoleName=role)["Tags"] == [{"Key": "b", "Value": "2"}]
    iam.delete_role(RoleName=role)
    iam.delete_user(UserName=user)


def test_principal_tag_condition(server: Server) -> None:
    iam = server.client("iam")
    policy = iam.create_policy(
        PolicyName=_name("team-only"),
        PolicyDocument=_doc(
            "Allow", "iam:ListRoles", {"StringEquals": {"aws:PrincipalTag/team": "blue"}}
        ),
    )["Policy"]["Arn"]
    clients = {}
    for who, tags in (("tagged", [{"Key": "team", "Value": "blue"}]), ("untagged", [])):
        name = _name(who)
        iam.create_user(UserName=name, Tags=tags)
        iam.attach_user_policy(UserName=name, PolicyArn=policy)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        clients[who] = (
            name,
            server.session().client(
                "iam",
                aws_access_key_id=key["AccessKeyId"],
                aws_secret_access_key=key["SecretAccessKey"],
            ),
        )
    clients["tagged"][1].list_roles()  # allowed by the tag condition
    with pytest.raises(ClientError) as denied:
        clients["untagged"][1].list_roles()
    assert _error(denied)[0] == "AccessDenied"
    # A tag change takes effect on the next request.
    iam.tag_user(UserName=clients["untagged"][0], Tags=[{"Key": "Team", "Value": "blue"}])
    clients["untagged"][1].list_roles()
    iam.untag_user(UserName=clients["tagged"][0], TagKeys=["team"])
    with pytest.raises(ClientError) as revoked:
        clients["tagged"][1].list_roles()
    assert _error(revoked)[0] == "AccessDenied"
