"""Policy tags, instance profiles and aws:ResourceTag on IAM operations, black-box: boto3 and
the AWS CLI against a real server."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server

AWS = shutil.which("aws") or "aws"
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
ALLOW_LIST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
    }
)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def _tags(**pairs: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


# --- policy tags ---------------------------------------------------------------------------------


def test_policy_tags(server: Server) -> None:
    iam = server.client("iam")
    name = _name("tagged-policy")
    created = iam.create_policy(
        PolicyName=name, PolicyDocument=ALLOW_LIST, Tags=_tags(Team="red", env="dev")
    )["Policy"]
    arn = created["Arn"]
    assert created["Tags"] == _tags(Team="red", env="dev")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Tags"] == _tags(env="dev", Team="red")
    listed = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["Arn"] == arn]
    assert listed and "Tags" not in listed[0]  # IAM's listings leave tags out
    iam.tag_policy(PolicyArn=arn, Tags=_tags(team="blue", cost="7"))
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == _tags(cost="7", env="dev", team="blue")
    page = iam.list_policy_tags(PolicyArn=arn, MaxItems=2)
    assert page["IsTruncated"] and len(page["Tags"]) == 2
    rest = iam.list_policy_tags(PolicyArn=arn, Marker=page["Marker"])
    assert rest["Tags"] == _tags(team="blue") and not rest["IsTruncated"]
    iam.untag_policy(PolicyArn=arn, TagKeys=["TEAM", "absent"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == _tags(cost="7", env="dev")

    with pytest.raises(ClientError) as reserved:
        iam.tag_policy(PolicyArn=arn, Tags=_tags(**{"aws:x": "1"}))
    assert _error(reserved) == (
        "InvalidInput",
        "Tag keys starting with 'aws:' are reserved for internal use.",
    )
    with pytest.raises(ClientError) as too_many:
        iam.tag_policy(PolicyArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    assert _error(too_many) == (
        "LimitExceeded",
        "The number of tags has reached the maximum limit.",
    )
    assert len(iam.list_policy_tags(PolicyArn=arn)["Tags"]) == 2  # nothing partly written

    missing = f"arn:aws:iam::{server.account_id}:policy/{_name('nope')}"
    calls: tuple[Callable[[], Any], ...] = (
        lambda: iam.tag_policy(PolicyArn=missing, Tags=_tags(a="b")),
        lambda: iam.untag_policy(PolicyArn=missing, TagKeys=["a"]),
        lambda: iam.list_policy_tags(PolicyArn=missing),
    )
    for call in calls:
        with pytest.raises(ClientError) as gone:
            call()
        assert _error(gone) == ("NoSuchEntity", f"Policy {missing} was not found.")
    aws = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    with pytest.raises(ClientError) as managed:
        iam.tag_policy(PolicyArn=aws, Tags=_tags(a="b"))
    assert _error(managed) == ("InvalidInput", "Tags not supported for policies in this domain")

    iam.delete_policy(PolicyArn=arn)
    recreated = iam.create_policy(PolicyName=name, PolicyDocument=ALLOW_LIST)["Policy"]
    assert "Tags" not in recreated
    assert iam.list_policy_tags(PolicyArn=recreated["Arn"])["Tags"] == []  # tags went with it
    iam.delete_policy(PolicyArn=recreated["Arn"])


def test_create_policy_with_bad_tags_stores_nothing(server: Server) -> None:
    iam = server.client("iam")
    name = _name("bad-tags")
    with pytest.raises(ClientError) as reserved:
        iam.create_policy(PolicyName=name, PolicyDocument=ALLOW_LIST, Tags=_tags(**{"AWS:k": "v"}))
    assert _error(reserved)[0] == "InvalidInput"
    with pytest.raises(ClientError) as too_many:
        iam.create_policy(
            PolicyName=name,
            PolicyDocument=ALLOW_LIST,
            Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)],
        )
    assert _error(too_many)[0] == "ValidationError"
    arn = f"arn:aws:iam::{server.account_id}:policy/{name}"
    with pytest.raises(ClientError) as gone:
        iam.get_policy(PolicyArn=arn)
    assert _error(gone)[0] == "NoSuchEntity"


# --- instance profiles ---------------------------------------------------------------------------


def test_instance_profile_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    profile, role, other = _name("profile"), _name("role"), _name("role")
    created = iam.create_instance_profile(
        InstanceProfileName=profile, Path="/web/", Tags=_tags(app="web")
    )["InstanceProfile"]
    assert created["Arn"] == f"arn:aws:iam::{server.account_id}:instance-profile/web/{profile}"
    assert (
        created["InstanceProfileId"].startswith("AIPA") and len(created["InstanceProfileId"]) == 21
    )
    assert created["Roles"] == [] and created["Tags"] == _tags(app="web")
    with pytest.raises(ClientError) as exists:
        iam.create_instance_profile(InstanceProfileName=profile.upper())
    assert _error(exists) == (
        "EntityAlreadyExists",
        f"Instance Profile {profile.upper()} already exists.",
    )

    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    iam.create_role(RoleName=other, AssumeRolePolicyDocument=TRUST)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    with pytest.raises(ClientError) as full:
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=other)
    assert _error(full) == (
        "LimitExceeded",
        "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
    )
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    assert got["Roles"][0]["AssumeRolePolicyDocument"] == json.loads(TRUST)
    assert got["Tags"] == _tags(app="web")
    listed = iam.list_instance_profiles(PathPrefix="/web/")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in listed] == [profile]
    assert "Tags" not in listed[0]
    for_role = iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    assert [p["Arn"] for p in for_role] == [created["Arn"]]
    assert iam.list_instance_profiles_for_role(RoleName=other)["InstanceProfiles"] == []

    details = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    detail = next(d for d in details if d["RoleName"] == role)
    assert [p["InstanceProfileName"] for p in detail["InstanceProfileList"]] == [profile]

    conflict = (
        "DeleteConflict",
        "Cannot delete entity, must remove roles from instance profile first.",
    )
    with pytest.raises(ClientError) as role_busy:
        iam.delete_role(RoleName=role)
    assert _error(role_busy) == conflict
    with pytest.raises(ClientError) as profile_busy:
        iam.delete_instance_profile(InstanceProfileName=profile)
    assert _error(profile_busy) == conflict

    with pytest.raises(ClientError) as not_in:
        iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=other)
    assert _error(not_in)[0] == "NoSuchEntity"
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    assert iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"] == []
    iam.delete_role(RoleName=role)
    iam.delete_role(RoleName=other)
    iam.delete_instance_profile(InstanceProfileName=profile)
    missing = ("NoSuchEntity", f"Instance Profile {profile} cannot be found.")
    profile_calls: tuple[Callable[[], Any], ...] = (
        lambda: iam.get_instance_profile(InstanceProfileName=profile),
        lambda: iam.delete_instance_profile(InstanceProfileName=profile),
        lambda: iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role),
        lambda: iam.list_instance_profile_tags(InstanceProfileName=profile),
        lambda: iam.tag_instance_profile(InstanceProfileName=profile, Tags=_tags(a="b")),
    )
    for call in profile_calls:
        with pytest.raises(ClientError) as gone:
            call()
        assert _error(gone) == missing
    with pytest.raises(ClientError) as no_role:
        iam.list_instance_profiles_for_role(RoleName=role)
    assert _error(no_role) == ("NoSuchEntity", f"The role with name {role} cannot be found.")


def test_instance_profile_tags(server: Server) -> None:
    iam = server.client("iam")
    profile = _name("tags")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.tag_instance_profile(InstanceProfileName=profile, Tags=_tags(Team="red", env=""))
    iam.tag_instance_profile(InstanceProfileName=profile, Tags=_tags(team="blue"))
    assert iam.list_instance_profile_tags(InstanceProfileName=profile)["Tags"] == _tags(
        env="", team="blue"
    )
    iam.untag_instance_profile(InstanceProfileName=profile, TagKeys=["ENV"])
    assert iam.list_instance_profile_tags(InstanceProfileName=profile)["Tags"] == _tags(team="blue")
    with pytest.raises(ClientError) as too_many:
        iam.tag_instance_profile(
            InstanceProfileName=profile, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]
        )
    assert _error(too_many) == (
        "LimitExceeded",
        "The number of tags has reached the maximum limit.",
    )
    with pytest.raises(ClientError) as reserved:
        iam.tag_instance_profile(InstanceProfileName=profile, Tags=_tags(**{"aws:k": "v"}))
    assert _error(reserved)[0] == "InvalidInput"
    with pytest.raises(ClientError) as bad_name:
        iam.get_instance_profile(InstanceProfileName="no spaces")
    assert _error(bad_name)[0] == "ValidationError"
    iam.delete_instance_profile(InstanceProfileName=profile)


def test_aws_cli_instance_profiles_and_policy_tags(server: Server) -> None:
    profile = _name("cli")

    def aws(*args: str) -> Any:
        out = subprocess.run(
            [AWS, "iam", *args, "--output", "json"],
            env=server.aws_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(out.stdout) if out.stdout.strip() else None

    made = aws("create-instance-profile", "--instance-profile-name", profile)
    assert made["InstanceProfile"]["InstanceProfileName"] == profile
    aws("tag-instance-profile", "--instance-profile-name", profile, "--tags", "Key=a,Value=1")
    listed = aws("list-instance-profile-tags", "--instance-profile-name", profile)
    assert listed["Tags"] == [{"Key": "a", "Value": "1"}]
    aws("delete-instance-profile", "--instance-profile-name", profile)
    policy = aws(
        "create-policy",
        "--policy-name",
        _name("cli"),
        "--policy-document",
        ALLOW_LIST,
        "--tags",
        "Key=owner,Value=ops",
    )["Policy"]
    assert aws("list-policy-tags", "--policy-arn", policy["Arn"])["Tags"] == [
        {"Key": "owner", "Value": "ops"}
    ]
    aws("delete-policy", "--policy-arn", policy["Arn"])


# --- aws:ResourceTag on IAM operations -----------------------------------------------------------


def test_resource_tag_conditions_on_iam_entities(server: Server) -> None:
    iam = server.client("iam")
    condition = {"StringEquals": {"aws:ResourceTag/team": "blue"}}
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "iam:GetRole",
                        "iam:GetUser",
                        "iam:GetPolicy",
                        "iam:GetInstanceProfile",
                    ],
                    "Resource": "*",
                    "Condition": condition,
                }
            ],
        }
    )
    caller = _name("caller")
    iam.create_user(UserName=caller)
    iam.put_user_policy(UserName=caller, PolicyName="by-tag", PolicyDocument=document)
    key = iam.create_access_key(UserName=caller)["AccessKey"]
    client = server.session().client(
        "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    role, user, profile = _name("r"), _name("u"), _name("p")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST, Tags=_tags(team="blue"))
    iam.create_user(UserName=user)
    iam.create_instance_profile(InstanceProfileName=profile, Tags=_tags(team="red"))
    arn = iam.create_policy(
        PolicyName=_name("p"), PolicyDocument=ALLOW_LIST, Tags=_tags(team="blue")
    )["Policy"]["Arn"]

    client.get_role(RoleName=role)
    client.get_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as untagged:
        client.get_user(UserName=user)
    code, message = _error(untagged)
    assert code == "AccessDenied"
    assert message == (
        f"User: arn:aws:iam::{server.account_id}:user/{caller} is not authorized to perform: "
        f"iam:GetUser on resource: arn:aws:iam::{server.account_id}:user/{user} because no "
        "identity-based policy allows the iam:GetUser action"
    )
    with pytest.raises(ClientError) as red:
        client.get_instance_profile(InstanceProfileName=profile)
    assert _error(red)[0] == "AccessDenied"
    # Tag changes take effect on the next request.
    iam.tag_user(UserName=user, Tags=_tags(TEAM="blue"))
    client.get_user(UserName=user)
    iam.tag_instance_profile(InstanceProfileName=profile, Tags=_tags(team="blue"))
    client.get_instance_profile(InstanceProfileName=profile)
    iam.untag_role(RoleName=role, TagKeys=["team"])
    with pytest.raises(ClientError) as revoked:
        client.get_role(RoleName=role)
    assert _error(revoked)[0] == "AccessDenied"


# --- the simulator: group and role sources, resource policies -----------------------------------


def test_simulator_group_role_and_resource_policy(server: Server) -> None:
    iam = server.client("iam")
    group, role, user = _name("g"), _name("r"), _name("u")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="list", PolicyDocument=ALLOW_LIST)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_user(UserName=user)
    account = server.account_id

    by_group = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{account}:group/{group}",
        ActionNames=["s3:ListBucket", "s3:PutObject"],
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in by_group] == ["allowed", "implicitDeny"]
    assert by_group[0]["MatchedStatements"][0]["SourcePolicyType"] == "group"

    by_role = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{account}:role/{role}", ActionNames=["iam:ListRoles"]
    )["EvaluationResults"]
    assert by_role[0]["EvalDecision"] == "allowed"
    assert by_role[0]["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"

    with pytest.raises(ClientError) as missing:
        iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{account}:role/{_name('none')}",
            ActionNames=["s3:ListBucket"],
        )
    assert _error(missing)[0] == "NoSuchEntity"

    caller = f"arn:aws:iam::{account}:user/{user}"
    shared = iam.simulate_custom_policy(
        PolicyInputList=[ALLOW_LIST],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::reports/q1.csv"],
        CallerArn=caller,
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": caller},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::reports/*",
                    }
                ],
            }
        ),
        ResourceOwner=f"arn:aws:iam::{account}:root",
    )["EvaluationResults"][0]
    assert shared["EvalDecision"] == "allowed"
    assert shared["MatchedStatements"][0]["SourcePolicyType"] == "resource"
