"""IAM groups and permissions boundaries, black-box: boto3 against a real server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _doc(effect: str, action: str) -> str:
    statement = {"Effect": effect, "Action": action, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _iam_as(server: Server, iam: Any, user: str) -> Any:
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return server.session().client(
        "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_permissions_come_through_a_group_and_go_with_it(server: Server) -> None:
    iam = server.client("iam")
    user, group = _name("gina"), _name("listers")
    iam.create_user(UserName=user)
    created = iam.create_group(GroupName=group, Path="/team/")["Group"]
    assert created["Arn"] == f"arn:aws:iam::{server.account_id}:group/team/{group}"
    assert created["GroupId"].startswith("AGPA") and created["Path"] == "/team/"
    iam.put_group_policy(
        GroupName=group, PolicyName="list", PolicyDocument=_doc("Allow", "iam:ListUsers")
    )
    got = iam.get_group_policy(GroupName=group, PolicyName="list")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "iam:ListUsers"  # decoded by boto3
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["list"]

    as_user = _iam_as(server, iam, user)
    with pytest.raises(ClientError) as before:
        as_user.list_users()
    assert _error(before)[0] == "AccessDenied"

    iam.add_user_to_group(GroupName=group, UserName=user)
    as_user.list_users()  # granted by the group's inline policy
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [user]

    iam.remove_user_from_group(GroupName=group, UserName=user)
    with pytest.raises(ClientError) as after:
        as_user.list_users()
    assert _error(after) == (
        "AccessDenied",
        f"User: arn:aws:iam::{server.account_id}:user/{user} is not authorized to perform: "
        f"iam:ListUsers on resource: arn:aws:iam::{server.account_id}:user/ because no "
        "identity-based policy allows the iam:ListUsers action",
    )

    # A managed policy attached to the group grants as well, and counts as an attachment.
    policy = iam.create_policy(PolicyName=_name("list"), PolicyDocument=_doc("Allow", "iam:List*"))
    arn = policy["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    attached = iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    assert attached == [{"PolicyName": policy["Policy"]["PolicyName"], "PolicyArn": arn}]
    iam.add_user_to_group(GroupName=group, UserName=user)
    as_user.list_users()
    with pytest.raises(ClientError) as in_use:
        iam.delete_policy(PolicyArn=arn)
    assert _error(in_use) == ("DeleteConflict", "Cannot delete a policy attached to entities.")


def test_malformed_group_policy_is_refused_and_not_stored(server: Server) -> None:
    iam = server.client("iam")
    group = _name("g")
    iam.create_group(GroupName=group)
    with pytest.raises(ClientError) as info:
        iam.put_group_policy(GroupName=group, PolicyName="bad", PolicyDocument='{"Statement": 1}')
    assert _error(info)[0] == "MalformedPolicyDocument"
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == []
    with pytest.raises(ClientError) as missing:
        iam.get_group(GroupName=_name("nope"))
    assert _error(missing)[0] == "NoSuchEntity"


def test_permissions_boundary_removes_a_permission(server: Server) -> None:
    iam = server.client("iam")
    user = _name("bounded")
    boundary = iam.create_policy(
        PolicyName=_name("get-only"), PolicyDocument=_doc("Allow", "iam:Get*")
    )["Policy"]["Arn"]
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=ADMIN)
    as_user = _iam_as(server, iam, user)
    as_user.list_users()

    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": boundary,
    }
    with pytest.raises(ClientError) as denied:
        as_user.list_users()
    assert _error(denied) == (
        "AccessDenied",
        f"User: arn:aws:iam::{server.account_id}:user/{user} is not authorized to perform: "
        f"iam:ListUsers on resource: arn:aws:iam::{server.account_id}:user/ because no "
        "permissions boundary allows the iam:ListUsers action",
    )
    assert as_user.get_user()["User"]["UserName"] == user  # both allow iam:GetUser
    assert iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"] == 1

    iam.delete_user_permissions_boundary(UserName=user)
    assert "PermissionsBoundary" not in iam.get_user(UserName=user)["User"]
    as_user.list_users()

    missing = f"arn:aws:iam::{server.account_id}:policy/{_name('none')}"
    with pytest.raises(ClientError) as bad:
        iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=missing)
    assert _error(bad) == (
        "NoSuchEntity",
        f"Scope ARN: {missing} does not exist or is not attachable.",
    )


def test_create_user_with_a_boundary(server: Server) -> None:
    iam = server.client("iam")
    user = _name("born-bounded")
    boundary = iam.create_policy(
        PolicyName=_name("get-only"), PolicyDocument=_doc("Allow", "iam:Get*")
    )["Policy"]["Arn"]
    created = iam.create_user(UserName=user, PermissionsBoundary=boundary)["User"]
    assert created["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    group = _name("admins")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=ADMIN)
    iam.add_user_to_group(GroupName=group, UserName=user)
    as_user = _iam_as(server, iam, user)
    as_user.get_group(GroupName=group)
    with pytest.raises(ClientError) as denied:
        as_user.list_groups()
    assert _error(denied)[1].endswith(
        "because no permissions boundary allows the iam:ListGroups action"
    )


def test_delete_conflicts(server: Server) -> None:
    iam = server.client("iam")
    user, group = _name("member"), _name("g")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    with pytest.raises(ClientError) as group_conflict:
        iam.delete_group(GroupName=group)
    assert _error(group_conflict) == (
        "DeleteConflict",
        "Cannot delete entity, must remove users from group first.",
    )
    with pytest.raises(ClientError) as user_conflict:
        iam.delete_user(UserName=user)
    assert _error(user_conflict) == (
        "DeleteConflict",
        "Cannot delete entity, must remove user from all groups first.",
    )
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_user(UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="p", PolicyDocument=_doc("Allow", "iam:*"))
    with pytest.raises(ClientError) as policies:
        iam.delete_group(GroupName=group)
    assert _error(policies) == (
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    )
    iam.delete_group_policy(GroupName=group, PolicyName="p")
    iam.attach_group_policy(GroupName=group, PolicyArn=ADMIN)
    with pytest.raises(ClientError) as attached:
        iam.delete_group(GroupName=group)
    assert _error(attached) == (
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
    )
    iam.detach_group_policy(GroupName=group, PolicyArn=ADMIN)
    iam.delete_group(GroupName=group)
    with pytest.raises(ClientError) as gone:
        iam.delete_group(GroupName=group)
    assert _error(gone) == ("NoSuchEntity", f"The group with name {group} cannot be found.")


def test_quotas(server: Server) -> None:
    iam = server.client("iam")
    user, path = _name("joiner"), f"/{_name('quota')}/"
    iam.create_user(UserName=user)
    names = [_name(f"q{i:02}") for i in range(11)]
    for name in names:
        iam.create_group(GroupName=name, Path=path)
    for name in names[:10]:
        iam.add_user_to_group(GroupName=name, UserName=user)
    with pytest.raises(ClientError) as too_many_groups:
        iam.add_user_to_group(GroupName=names[10], UserName=user)
    assert _error(too_many_groups) == ("LimitExceeded", "Cannot exceed quota for GroupsPerUser: 10")

    arns = [
        iam.create_policy(PolicyName=_name("p"), PolicyDocument=_doc("Allow", "iam:Get*"))[
            "Policy"
        ]["Arn"]
        for _ in range(11)
    ]
    for arn in arns[:10]:
        iam.attach_group_policy(GroupName=names[10], PolicyArn=arn)
    with pytest.raises(ClientError) as too_many_policies:
        iam.attach_group_policy(GroupName=names[10], PolicyArn=arns[10])
    assert _error(too_many_policies) == (
        "LimitExceeded",
        "Cannot exceed quota for PoliciesPerGroup: 10",
    )


def test_pagination(server: Server) -> None:
    iam = server.client("iam")
    path = f"/{_name('pages')}/"
    groups = sorted(_name("grp") for _ in range(3))
    for name in groups:
        iam.create_group(GroupName=name, Path=path)
    first = iam.list_groups(PathPrefix=path, MaxItems=2)
    assert [g["GroupName"] for g in first["Groups"]] == groups[:2]
    assert first["IsTruncated"] is True
    second = iam.list_groups(PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert [g["GroupName"] for g in second["Groups"]] == groups[2:]
    assert second["IsTruncated"] is False

    users = sorted(_name("usr") for _ in range(3))
    for user in users:
        iam.create_user(UserName=user)
        iam.add_user_to_group(GroupName=groups[0], UserName=user)
    pages = list(
        iam.get_paginator("get_group").paginate(
            GroupName=groups[0], PaginationConfig={"PageSize": 2}
        )
    )
    assert len(pages) == 2
    assert all(p["Group"]["GroupName"] == groups[0] for p in pages)
    assert [u["UserName"] for p in pages for u in p["Users"]] == users
