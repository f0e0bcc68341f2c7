"""Proton resource-level permissions and condition keys, black-box against a real server.

An authorized request reaches the operation (its answer, or 501 ``NotImplemented`` for the
operations not served yet); a refused one answers ``AccessDeniedException``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _user_with_policy(server: Server, statement: dict[str, Any]) -> tuple[str, Any]:
    """A new user with one inline policy, and a Proton client signing as that user."""
    iam = server.client("iam")
    user = _name("proton-authz")
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": [statement]}
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = server.session().client(
        "proton",
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    return arn, client


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_get_service_is_allowed_only_on_the_named_service(server: Server) -> None:
    acct = server.account_id
    web = f"arn:aws:proton:us-east-1:{acct}:service/web"
    user_arn, proton = _user_with_policy(
        server, {"Effect": "Allow", "Action": "proton:GetService", "Resource": web}
    )
    with pytest.raises(ClientError) as allowed:
        proton.get_service(name="web")
    assert _error(allowed) == (  # past authorization: no such service
        "ResourceNotFoundException",
        "The service web was not found.",
    )

    with pytest.raises(ClientError) as denied:
        proton.get_service(name="other")
    assert _error(denied) == (
        "AccessDeniedException",
        f"User: {user_arn} is not authorized to perform: proton:GetService on resource: "
        f"arn:aws:proton:us-east-1:{acct}:service/other because no identity-based policy "
        "allows the proton:GetService action",
    )


def test_create_environment_condition_on_the_environment_template(server: Server) -> None:
    acct = server.account_id
    template = f"arn:aws:proton:us-east-1:{acct}:environment-template/vpc"
    user_arn, proton = _user_with_policy(
        server,
        {
            "Effect": "Allow",
            "Action": "proton:CreateEnvironment",
            "Resource": f"arn:aws:proton:us-east-1:{acct}:environment/*",
            "Condition": {"StringEquals": {"proton:EnvironmentTemplate": template}},
        },
    )

    def create(template_name: str) -> tuple[str, str]:
        with pytest.raises(ClientError) as info:
            proton.create_environment(
                name="prod",
                spec="proton: EnvironmentSpec",
                templateMajorVersion="1",
                templateName=template_name,
            )
        return _error(info)

    assert create("vpc")[0] == "ResourceNotFoundException"  # past authorization: no template
    assert create("other") == (
        "AccessDeniedException",
        f"User: {user_arn} is not authorized to perform: proton:CreateEnvironment on resource: "
        f"arn:aws:proton:us-east-1:{acct}:environment/prod because no identity-based policy "
        "allows the proton:CreateEnvironment action",
    )


def test_request_tags_reach_the_policy(server: Server) -> None:
    acct = server.account_id
    _, proton = _user_with_policy(
        server,
        {
            "Effect": "Allow",
            "Action": "proton:CreateService",
            "Resource": f"arn:aws:proton:us-east-1:{acct}:service/*",
            "Condition": {
                "StringEquals": {"aws:RequestTag/team": "blue"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
            },
        },
    )

    def create(tags: list[dict[str, str]]) -> str:
        with pytest.raises(ClientError) as info:
            proton.create_service(
                name="web",
                spec="proton: ServiceSpec",
                templateMajorVersion="1",
                templateName="fargate",
                tags=tags,
            )
        return _error(info)[0]

    # Past authorization: no such template.
    assert create([{"key": "team", "value": "blue"}]) == "ResourceNotFoundException"
    assert create([{"key": "team", "value": "red"}]) == "AccessDeniedException"
    assert create([]) == "AccessDeniedException"  # no tag: aws:RequestTag/team is absent


def test_resource_tags_reach_the_policy(server: Server) -> None:
    admin = server.client("proton")
    acct = server.account_id

    def template(kind: str, team: str) -> tuple[str, str]:
        name = _name(team)
        create = getattr(admin, f"create_{kind}_template")
        made = create(name=name, tags=[{"key": "team", "value": team}])
        return name, made[f"{kind}Template"]["arn"]

    blue, blue_arn = template("environment", "blue")
    red, red_arn = template("environment", "red")
    user_arn, proton = _user_with_policy(
        server,
        {
            "Effect": "Allow",
            "Action": ["proton:GetEnvironmentTemplate", "proton:GetServiceTemplate"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}},
        },
    )

    def get(name: str) -> str:
        try:
            return str(proton.get_environment_template(name=name)["environmentTemplate"]["name"])
        except ClientError as exc:
            error = exc.response["Error"]
            return f"{error['Code']}: {error['Message']}"

    def denied(arn: str) -> str:
        return (
            f"AccessDeniedException: User: {user_arn} is not authorized to perform: "
            f"proton:GetEnvironmentTemplate on resource: {arn} because no identity-based "
            "policy allows the proton:GetEnvironmentTemplate action"
        )

    assert get(blue) == blue
    assert get(red) == denied(red_arn)
    # The decision follows the tags as they are now (no stale cache).
    admin.untag_resource(resourceArn=blue_arn, tagKeys=["team"])
    assert get(blue) == denied(blue_arn)
    admin.tag_resource(resourceArn=red_arn, tags=[{"key": "team", "value": "blue"}])
    assert get(red) == red
    admin.tag_resource(resourceArn=blue_arn, tags=[{"key": "team", "value": "blue"}])
    assert get(blue) == blue
    # A service template, and a resource that does not exist (no tags: denied).
    service, _ = template("service", "blue")
    assert proton.get_service_template(name=service)["serviceTemplate"]["name"] == service
    missing = f"arn:aws:proton:us-east-1:{acct}:environment-template/missing-{blue}"
    assert get(f"missing-{blue}") == denied(missing)


def test_managed_resource_tags_reach_the_policy(server: Server) -> None:
    admin = server.client("proton")
    name = _name("managed")
    arn = admin.create_environment_template(name=name)["environmentTemplate"]["arn"]
    other = _name("other")
    admin.create_environment_template(name=other)
    _, proton = _user_with_policy(
        server,
        {
            "Effect": "Allow",
            "Action": "proton:GetEnvironmentTemplate",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/aws:proton:template": arn}},
        },
    )
    assert proton.get_environment_template(name=name)["environmentTemplate"]["arn"] == arn
    with pytest.raises(ClientError) as info:
        proton.get_environment_template(name=other)
    assert _error(info)[0] == "AccessDeniedException"
