"""GetAccountAuthorizationDetails, ListEntitiesForPolicy, UpdateUser and UpdateGroup, black-box:
boto3 against a real server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
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


def _doc(action: str) -> str:
    statement = {"Effect": "Allow", "Action": action, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def _all_details(iam: Any, **kwargs: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    marker: dict[str, str] = {}
    while True:
        page = iam.get_account_authorization_details(MaxItems=2, **kwargs, **marker)
        for member in out:
            out[member] += page[member]
        if not page["IsTruncated"]:
            return out
        marker = {"Marker": page["Marker"]}


def test_authorization_details_entities_and_renames(server: Server) -> None:
    iam = server.client("iam")
    user, group, role = _name("ada"), _name("devs"), _name("svc")
    iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "core"}])
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="users", PolicyDocument=_doc("iam:ListUsers"))
    iam.put_group_policy(GroupName=group, PolicyName="groups", PolicyDocument=_doc("iam:GetUser"))
    arn = iam.create_policy(PolicyName=_name("roles"), PolicyDocument=_doc("iam:ListRoles"))[
        "Policy"
    ]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST, PermissionsBoundary=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=READ_ONLY)

    details = _all_details(iam)
    got_user = next(u for u in details["UserDetailList"] if u["UserName"] == user)
    assert got_user["GroupList"] == [group]
    assert got_user["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == (
        "iam:ListUsers"
    )
    assert got_user["AttachedManagedPolicies"] == [
        {"PolicyName": arn.rsplit("/", 1)[1], "PolicyArn": arn}
    ]
    assert got_user["Tags"] == [{"Key": "team", "Value": "core"}]
    got_group = next(g for g in details["GroupDetailList"] if g["GroupName"] == group)
    assert got_group["GroupPolicyList"][0]["PolicyName"] == "groups"
    assert got_group["AttachedManagedPolicies"][0]["PolicyArn"] == arn
    got_role = next(r for r in details["RoleDetailList"] if r["RoleName"] == role)
    assert got_role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert got_role["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    assert got_role["AttachedManagedPolicies"][0]["PolicyArn"] == READ_ONLY
    assert got_role["InstanceProfileList"] == []
    policies = {p["Arn"]: p for p in details["Policies"]}
    assert policies[arn]["AttachmentCount"] == 2
    assert policies[arn]["PermissionsBoundaryUsageCount"] == 1
    version = policies[arn]["PolicyVersionList"][0]
    assert version["IsDefaultVersion"] and version["Document"]["Statement"][0]["Action"] == (
        "iam:ListRoles"
    )
    assert READ_ONLY in policies  # attached AWS managed policies only
    assert "arn:aws:iam::aws:policy/IAMFullAccess" not in policies

    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert only_roles["UserDetailList"] == [] and only_roles["Policies"] == []
    assert role in [r["RoleName"] for r in only_roles["RoleDetailList"]]
    aws_only = iam.get_account_authorization_details(Filter=["AWSManagedPolicy"])["Policies"]
    assert aws_only and all(p["Arn"].startswith("arn:aws:iam::aws:") for p in aws_only)

    # ListEntitiesForPolicy
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == [group]
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    plain = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")
    assert plain["PolicyRoles"] == [] and len(plain["PolicyUsers"]) == 1
    bounded = iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")
    assert bounded["PolicyUsers"] == [] and bounded["PolicyGroups"] == []
    assert [r["RoleName"] for r in bounded["PolicyRoles"]] == [role]
    users_only = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="User")
    assert users_only["PolicyGroups"] == [] and users_only["PolicyRoles"] == []
    first = iam.list_entities_for_policy(PolicyArn=arn, MaxItems=1)
    assert first["IsTruncated"]
    rest = iam.list_entities_for_policy(PolicyArn=arn, Marker=first["Marker"])
    assert not rest["IsTruncated"]
    assert len(rest["PolicyUsers"]) + len(rest["PolicyRoles"]) == 2
    with pytest.raises(ClientError) as missing:
        iam.list_entities_for_policy(PolicyArn=arn + "-nope")
    assert _code(missing) == "NoSuchEntity"

    # UpdateUser: the key, policies, groups and tags follow the renamed user.
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = server.session().client(
        "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    as_user.list_users()  # granted by the inline policy; caches the credential
    other = _name("taken")
    iam.create_user(UserName=other)
    with pytest.raises(ClientError) as conflict:
        iam.update_user(UserName=user, NewUserName=other.upper())
    assert _code(conflict) == "EntityAlreadyExists"
    renamed = _name("ada2")
    iam.update_user(UserName=user, NewUserName=renamed, NewPath="/moved/")
    with pytest.raises(ClientError) as gone:
        iam.get_user(UserName=user)
    assert _code(gone) == "NoSuchEntity"
    got = iam.get_user(UserName=renamed)["User"]
    assert got["Path"] == "/moved/" and got["UserId"] == got_user["UserId"]
    assert got["Tags"] == [{"Key": "team", "Value": "core"}]
    assert got["Arn"].endswith(f":user/moved/{renamed}")
    assert iam.list_user_policies(UserName=renamed)["PolicyNames"] == ["users"]
    assert (
        iam.list_attached_user_policies(UserName=renamed)["AttachedPolicies"][0]["PolicyArn"] == arn
    )
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=renamed)["Groups"]] == [group]
    keys = iam.list_access_keys(UserName=renamed)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key["AccessKeyId"]]
    assert as_user.get_user()["User"]["UserName"] == renamed  # the group's GetUser policy
    as_user.list_users()  # the inline policy still applies
    with pytest.raises(ClientError) as denied:
        as_user.list_groups()
    assert _code(denied) == "AccessDenied"

    # UpdateGroup
    second = _name("ops")
    iam.create_group(GroupName=second)
    with pytest.raises(ClientError) as taken:
        iam.update_group(GroupName=group, NewGroupName=second)
    assert _code(taken) == "EntityAlreadyExists"
    new_group = _name("devs2")
    iam.update_group(GroupName=group, NewGroupName=new_group, NewPath="/eng/")
    moved = iam.get_group(GroupName=new_group)
    assert moved["Group"]["Path"] == "/eng/" and moved["Group"]["GroupId"] == got_group["GroupId"]
    assert [u["UserName"] for u in moved["Users"]] == [renamed]
    assert iam.list_group_policies(GroupName=new_group)["PolicyNames"] == ["groups"]
    as_user.get_user()  # still granted through the renamed group
    with pytest.raises(ClientError) as old_group:
        iam.get_group(GroupName=group)
    assert _code(old_group) == "NoSuchEntity"
    with pytest.raises(ClientError) as no_user:
        iam.update_user(UserName=user, NewPath="/x/")
    assert _code(no_user) == "NoSuchEntity"
