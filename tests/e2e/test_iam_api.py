"""The IAM API and live enforcement, black-box: boto3 and the AWS CLI against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server

AWS = str(Path(sys.executable).parent / "aws")


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": "*", **extra}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _user_client(server: Server, iam: Any, user: str, service: str) -> Any:
    """A client signing as ``user`` (one access key per user, reused across services)."""
    keys = _KEYS.get(user)
    if keys is None:
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys = _KEYS[user] = (key["AccessKeyId"], key["SecretAccessKey"])
    return server.session().client(
        service, aws_access_key_id=keys[0], aws_secret_access_key=keys[1]
    )


_KEYS: dict[str, tuple[str, str]] = {}


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def _message(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Message"])


def test_customer_policy_grants_exactly_what_it_allows(server: Server) -> None:
    iam = server.client("iam")
    alice = _name("alice")
    created = iam.create_user(UserName=alice)["User"]
    assert created["Arn"] == f"arn:aws:iam::{server.account_id}:user/{alice}"
    assert created["UserId"].startswith("AIDA")
    policy = iam.create_policy(
        PolicyName=_name("list-templates"),
        PolicyDocument=_doc(_allow("proton:ListEnvironmentTemplates")),
    )["Policy"]
    assert policy["PolicyId"].startswith("ANPA")
    assert policy["DefaultVersionId"] == "v1"
    iam.attach_user_policy(UserName=alice, PolicyArn=policy["Arn"])
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["AttachmentCount"] == 1

    proton = _user_client(server, iam, alice, "proton")
    assert isinstance(proton.list_environment_templates()["templates"], list)  # allowed
    with pytest.raises(ClientError) as other:
        proton.list_services()
    assert _code(other) == "AccessDeniedException"

    alice_iam = _user_client(server, iam, alice, "iam")
    with pytest.raises(ClientError) as denied:
        alice_iam.list_users()
    assert _code(denied) == "AccessDenied"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _message(denied) == (
        f"User: arn:aws:iam::{server.account_id}:user/{alice} is not authorized to perform: "
        f"iam:ListUsers on resource: arn:aws:iam::{server.account_id}:user/ because no "
        "identity-based policy allows the iam:ListUsers action"
    )
    # GetCallerIdentity is never denied.
    sts = _user_client(server, iam, alice, "sts")
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{alice}")


def test_explicit_deny_beats_administrator_access(server: Server) -> None:
    iam = server.client("iam")
    bob = _name("bob")
    iam.create_user(UserName=bob)
    iam.attach_user_policy(UserName=bob, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    bob_iam = _user_client(server, iam, bob, "iam")
    assert bob_iam.get_user()["User"]["UserName"] == bob  # no UserName: the caller
    bob_iam.list_users()
    iam.put_user_policy(
        UserName=bob,
        PolicyName="no-listing",
        PolicyDocument=_doc({"Effect": "Deny", "Action": "iam:List*", "Resource": "*"}),
    )
    with pytest.raises(ClientError) as denied:
        bob_iam.list_users()  # the policy cache was invalidated by PutUserPolicy
    assert _message(denied) == (
        f"User: arn:aws:iam::{server.account_id}:user/{bob} is not authorized to perform: "
        f"iam:ListUsers on resource: arn:aws:iam::{server.account_id}:user/ with an explicit "
        "deny in an identity-based policy"
    )
    got = iam.get_user_policy(UserName=bob, PolicyName="no-listing")
    assert got["PolicyDocument"]["Statement"][0]["Effect"] == "Deny"  # URL-encoded, decoded
    iam.delete_user_policy(UserName=bob, PolicyName="no-listing")
    bob_iam.list_users()


def test_source_ip_and_requested_region_conditions(server: Server) -> None:
    iam = server.client("iam")
    carol = _name("carol")
    iam.create_user(UserName=carol)
    arn = iam.create_policy(
        PolicyName=_name("from-elsewhere"),
        PolicyDocument=_doc(
            _allow("proton:*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
        ),
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName=carol, PolicyArn=arn)
    proton = _user_client(server, iam, carol, "proton")
    with pytest.raises(ClientError) as far:
        proton.get_resources_summary()
    assert _code(far) == "AccessDeniedException"

    iam.create_policy_version(
        PolicyArn=arn,
        PolicyDocument=_doc(
            _allow("proton:*", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})
        ),
        SetAsDefault=True,
    )
    assert "counts" in proton.get_resources_summary()  # allowed from 127.0.0.1

    iam.create_policy_version(
        PolicyArn=arn,
        PolicyDocument=_doc(
            _allow("proton:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})
        ),
        SetAsDefault=True,
    )
    with pytest.raises(ClientError) as region:
        proton.get_resources_summary()
    assert _code(region) == "AccessDeniedException"
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    assert "counts" in proton.get_resources_summary()


def test_policy_versions(server: Server) -> None:
    iam = server.client("iam")
    arn = iam.create_policy(
        PolicyName=_name("versioned"),
        Path="/team/",
        Description="versions",
        PolicyDocument=_doc(_allow("proton:Get*")),
    )["Policy"]["Arn"]
    assert ":policy/team/versioned-" in arn
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Description"] == "versions"
    v2 = iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=_doc(_allow("proton:List*")), SetAsDefault=True
    )["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", True)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert got["Document"]["Statement"][0]["Action"] == "proton:Get*"
    assert got["IsDefaultVersion"] is False
    for _ in range(3):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("proton:Get*")))
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    with pytest.raises(ClientError) as limit:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("proton:Get*")))
    assert _code(limit) == "LimitExceeded"
    assert _message(limit) == (
        "A managed policy can have up to 5 versions. Before you create a new version, you must "
        "delete an existing version."
    )
    with pytest.raises(ClientError) as default:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    assert _code(default) == "DeleteConflict"
    with pytest.raises(ClientError) as many:
        iam.delete_policy(PolicyArn=arn)
    assert _code(many) == "DeleteConflict"
    for version in ("v1", "v3", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    v6 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc(_allow("proton:Get*")))
    assert v6["PolicyVersion"]["VersionId"] == "v6"  # ids are never reused
    iam.delete_policy_version(PolicyArn=arn, VersionId="v6")
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as gone:
        iam.get_policy(PolicyArn=arn)
    assert _code(gone) == "NoSuchEntity"
    assert _message(gone) == f"Policy {arn} was not found."


def test_aws_managed_policies_are_listed_and_read_only(server: Server) -> None:
    iam = server.client("iam")
    names = {p["PolicyName"] for p in iam.list_policies(Scope="AWS")["Policies"]}
    assert {
        "AdministratorAccess",
        "ReadOnlyAccess",
        "IAMFullAccess",
        "AWSProtonFullAccess",
        "AWSProtonDeveloperAccess",
        "AWSProtonReadOnlyAccess",
    } <= names
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert iam.get_policy(PolicyArn=admin)["Policy"]["AttachmentCount"] >= 1
    doc = iam.get_policy_version(PolicyArn=admin, VersionId="v1")["PolicyVersion"]["Document"]
    assert doc["Statement"] == [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    with pytest.raises(ClientError) as frozen:
        iam.delete_policy(PolicyArn=admin)
    assert _code(frozen) == "UnmodifiableEntity"
    with pytest.raises(ClientError) as unknown:
        iam.attach_user_policy(UserName="admin", PolicyArn="arn:aws:iam::aws:policy/NoSuch")
    assert _message(unknown) == (
        "Policy arn:aws:iam::aws:policy/NoSuch does not exist or is not attachable."
    )


def test_malformed_documents_are_refused_and_not_stored(server: Server) -> None:
    iam = server.client("iam")
    name = _name("malformed")
    with pytest.raises(ClientError) as bad:
        iam.create_policy(PolicyName=name, PolicyDocument='{"Version": "2012-10-17"}')
    assert _code(bad) == "MalformedPolicyDocument"
    local = {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]}
    assert name not in local
    user = _name("dora")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as inline:
        iam.put_user_policy(
            UserName=user,
            PolicyName="p",
            PolicyDocument=_doc({"Effect": "Allow", "Action": "proton:*"}),  # no Resource
        )
    assert _code(inline) == "MalformedPolicyDocument"
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []


def test_delete_user_conflicts_and_access_keys(server: Server) -> None:
    iam = server.client("iam")
    erin = _name("erin")
    iam.create_user(UserName=erin)
    with pytest.raises(ClientError) as dup:
        iam.create_user(UserName=erin.upper())
    assert _message(dup) == f"User with name {erin.upper()} already exists."
    key = iam.create_access_key(UserName=erin)["AccessKey"]
    assert len(key["SecretAccessKey"]) == 40
    listed = iam.list_access_keys(UserName=erin)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0]
    last = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert last["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    iam.put_user_policy(UserName=erin, PolicyName="p", PolicyDocument=_doc(_allow("sts:*")))
    iam.attach_user_policy(UserName=erin, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    steps: list[tuple[str, Callable[[], Any]]] = [
        (
            "Cannot delete entity, must delete access keys first.",
            lambda: iam.delete_access_key(UserName=erin, AccessKeyId=key["AccessKeyId"]),
        ),
        (
            "Cannot delete entity, must delete policies first.",
            lambda: iam.delete_user_policy(UserName=erin, PolicyName="p"),
        ),
        (
            "Cannot delete entity, must detach all policies first.",
            lambda: iam.detach_user_policy(
                UserName=erin, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"
            ),
        ),
    ]
    for message, fix in steps:
        with pytest.raises(ClientError) as conflict:
            iam.delete_user(UserName=erin)
        assert _code(conflict) == "DeleteConflict"
        assert _message(conflict) == message
        fix()
    iam.delete_user(UserName=erin)
    with pytest.raises(ClientError) as missing:
        iam.get_user(UserName=erin)
    assert _message(missing) == f"The user with name {erin} cannot be found."


def test_deactivated_key_stops_working_at_once(server: Server) -> None:
    iam = server.client("iam")
    frank = _name("frank")
    iam.create_user(UserName=frank)
    key = iam.create_access_key(UserName=frank)["AccessKey"]
    sts = server.session().client(
        "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    sts.get_caller_identity()
    iam.update_access_key(UserName=frank, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as inactive:
        sts.get_caller_identity()
    assert _code(inactive) == "InvalidClientTokenId"
    assert iam.list_access_keys(UserName=frank)["AccessKeyMetadata"][0]["Status"] == "Inactive"


def test_pagination(server: Server) -> None:
    iam = server.client("iam")
    path = f"/{_name('page')}/"
    for n in range(3):
        iam.create_user(UserName=_name(f"pg{n}"), Path=path)
    first = iam.list_users(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True
    assert len(first["Users"]) == 2
    second = iam.list_users(PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert second["IsTruncated"] is False
    assert "Marker" not in second
    names = [u["UserName"] for u in first["Users"] + second["Users"]]
    assert len(set(names)) == 3
    paginated = [
        u["UserName"]
        for page in iam.get_paginator("list_users").paginate(
            PathPrefix=path, PaginationConfig={"PageSize": 1}
        )
        for u in page["Users"]
    ]
    assert paginated == names


def test_aws_cli(server: Server) -> None:
    user = _name("cli")
    out = subprocess.run(
        [AWS, "iam", "create-user", "--user-name", user, "--output", "json"],
        env=server.aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout)["User"]["UserName"] == user
    out = subprocess.run(
        [
            AWS,
            "iam",
            "attach-user-policy",
            "--user-name",
            user,
            "--policy-arn",
            "arn:aws:iam::aws:policy/AWSProtonReadOnlyAccess",
        ],
        env=server.aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = subprocess.run(
        [AWS, "iam", "list-attached-user-policies", "--user-name", user, "--output", "json"],
        env=server.aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout)["AttachedPolicies"] == [
        {
            "PolicyName": "AWSProtonReadOnlyAccess",
            "PolicyArn": "arn:aws:iam::aws:policy/AWSProtonReadOnlyAccess",
        }
    ]
