"""The Service Authorization Reference as data: actions, resource ARNs and condition keys."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hadron.access import iam_action
from hadron.authz_map import (
    EC2,
    PROTON,
    STS,
    authorization,
    entry,
    permission_only_actions,
)
from hadron.iam import authorize, parse_policy
from hadron.iam_resources import resource_for
from hadron.protocol.models import load_service
from hadron.types import Principal

ACCT = "111122223333"
REGION = "eu-west-1"
PFX = f"arn:aws:proton:{REGION}:{ACCT}:"
ALICE = Principal(ACCT, f"arn:aws:iam::{ACCT}:user/alice", "AIDAALICE", "IAMUser", "alice")

# proton.md §8.1 / §2.1: the ARN patterns of every Proton resource type.
_SEG = r"[^/:]+"
SPEC_PATTERNS = {
    "environment-template": rf"environment-template/{_SEG}",
    "environment-template-version": rf"environment-template/{_SEG}:\d+\.\d+",
    "service-template": rf"service-template/{_SEG}",
    "service-template-version": rf"service-template/{_SEG}:\d+\.\d+",
    "environment": rf"environment/{_SEG}",
    "service": rf"service/{_SEG}",
    "service-instance": rf"service/{_SEG}/service-instance/{_SEG}",
    "environment-account-connection": rf"environment-account-connection/{_SEG}",
    "repository": r"repository/[a-z_]+:[^:]+",
    "component": rf"component/{_SEG}",
    "deployment": rf"deployment/{_SEG}",
}
_ARN = re.compile(
    r"arn:aws:proton:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<part>"
    + "|".join(f"(?:{p})" for p in SPEC_PATTERNS.values())
    + r")"
)


def _auth(operation: str, service: str = "proton", **params: Any) -> Any:
    return authorization(service, operation, params, account=ACCT, region=REGION)


# --- completeness -------------------------------------------------------------------------------


def test_every_proton_operation_has_an_entry() -> None:
    operations = set(load_service("proton").operation_names)
    mapped = {name for name, e in PROTON.items() if not e.permission_only}
    assert operations == mapped, f"unmapped: {operations - mapped}, extra: {mapped - operations}"
    assert len(operations) == 87
    assert len(PROTON) == 111  # §8.2: 87 API operations + 24 permission-only actions
    for name in operations:
        found = entry("proton", name)
        assert found is not None
        assert found.action == iam_action("proton", name)  # no operation is renamed


def test_permission_only_actions() -> None:
    names = permission_only_actions()
    assert len(names) == 24
    assert "proton:GetEnvironmentTemplateMajorVersion" in names
    assert "proton:CreateServiceTemplateMinorVersion" in names
    assert {
        "proton:GetAccountRoles",
        "proton:UpdateAccountRoles",
        "proton:DeleteAccountRoles",
    } <= names
    assert "proton:GetResourceTemplateVersionStatusCounts" in names
    assert entry("proton", "GetEnvironmentTemplateMajorVersion") is None  # never a request
    assert all(not e.permission_only for e in (*EC2.values(), *STS.values()))


def test_permission_only_actions_parse_but_never_match_a_request() -> None:
    policy = parse_policy(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":['
        '"proton:GetEnvironmentTemplateMajorVersion","proton:GetEnvironmentTemplateMinorVersion"'
        '],"Resource":"*"}]}',
        kind="identity",
    )
    live = _auth(
        "GetEnvironmentTemplateVersion", templateName="t", majorVersion="1", minorVersion="0"
    )
    decision = authorize(
        principal=ALICE.arn, action=live.action, resource=live.resource, identity_policies=[policy]
    )
    assert not decision.allowed


def _sample(shape: Any, name: str) -> Any:
    if name == "tags":
        return [{"key": "team", "value": "blue"}]
    if name == "tagKeys":
        return ["team"]
    if name == "provider":
        return "GITHUB_ENTERPRISE"
    if name in {"majorVersion", "minorVersion", "templateMajorVersion", "templateMinorVersion"}:
        return "2"
    if name == "resourceArn":
        return f"{PFX}service/svc/service-instance/inst"
    if shape.type_name == "string":
        return f"{name}-1"
    return None


def test_every_built_arn_matches_the_spec_patterns() -> None:
    model = load_service("proton")
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        params = {}
        if shape is not None:
            for member, sub in shape.members.items():
                value = _sample(sub, member)
                if value is not None:
                    params[member] = value
        built = authorization("proton", name, params, account=ACCT, region=REGION)
        for arn in built.resources:
            if arn == "*":  # only actions with no required resource
                assert all(not r.required for r in PROTON[name].resources), name
                continue
            match = _ARN.fullmatch(arn)
            assert match is not None, (name, arn)
            assert (match["region"], match["account"]) == (REGION, ACCT)


# --- resource ARNs per resource type -------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("GetEnvironmentTemplate", {"name": "simple-env"}, ["environment-template/simple-env"]),
        ("CreateEnvironmentTemplate", {"name": "e"}, ["environment-template/e"]),
        ("CreateEnvironmentTemplateVersion", {"templateName": "e"}, ["environment-template/e"]),
        ("ListEnvironmentTemplateVersions", {"templateName": "e"}, ["environment-template/e"]),
        (
            "GetEnvironmentTemplateVersion",
            {"templateName": "simple-env", "majorVersion": "1", "minorVersion": "0"},
            ["environment-template/simple-env:1.0"],
        ),
        (
            "DeleteServiceTemplateVersion",
            {"templateName": "s", "majorVersion": "12", "minorVersion": "3"},
            ["service-template/s:12.3"],
        ),
        ("UpdateServiceTemplate", {"name": "s"}, ["service-template/s"]),
        ("CreateEnvironment", {"name": "prod", "templateName": "t"}, ["environment/prod"]),
        ("CancelEnvironmentDeployment", {"environmentName": "prod"}, ["environment/prod"]),
        ("GetService", {"name": "web"}, ["service/web"]),
        ("UpdateServicePipeline", {"serviceName": "web"}, ["service/web"]),
        (
            "GetServiceInstance",
            {"serviceName": "web", "name": "front"},
            ["service/web/service-instance/front"],
        ),
        (
            "CreateServiceInstance",
            {"serviceName": "web", "name": "front"},
            ["service/web/service-instance/front"],
        ),
        (
            "ListServiceInstanceOutputs",
            {"serviceName": "web", "serviceInstanceName": "front", "deploymentId": "d-1"},
            ["service/web/service-instance/front", "service/web", "deployment/d-1"],
        ),
        (
            "ListServiceInstanceProvisionedResources",
            {"serviceName": "web", "serviceInstanceName": "front"},
            ["service/web/service-instance/front", "service/web"],
        ),
        (
            "AcceptEnvironmentAccountConnection",
            {"id": "a1b2"},
            ["environment-account-connection/a1b2"],
        ),
        (
            "GetRepository",
            {"provider": "GITHUB", "name": "myrepos/templates"},
            ["repository/github:myrepos/templates"],
        ),
        (
            "DeleteRepository",
            {"provider": "BITBUCKET", "name": "o/r"},
            ["repository/bitbucket:o/r"],
        ),
        ("GetComponent", {"name": "c1"}, ["component/c1"]),
        ("ListComponentOutputs", {"componentName": "c1"}, ["component/c1"]),
        (
            "ListComponentOutputs",
            {"componentName": "c1", "deploymentId": "d"},
            ["component/c1", "deployment/d"],
        ),
        ("GetDeployment", {"id": "d-9"}, ["deployment/d-9"]),
        ("ListEnvironmentOutputs", {"environmentName": "e"}, ["environment/e"]),
        (
            "ListComponents",
            {"serviceName": "web", "serviceInstanceName": "i", "environmentName": "e"},
            ["service/web/service-instance/i"],
        ),
        ("ListComponents", {"serviceName": "web"}, ["service/web"]),
        ("ListComponents", {"environmentName": "e"}, ["environment/e"]),
    ],
)
def test_resource_arns(operation: str, params: dict[str, Any], expected: list[str]) -> None:
    assert list(_auth(operation, **params).resources) == [PFX + part for part in expected]


@pytest.mark.parametrize(
    "operation",
    [
        "ListServices",
        "ListEnvironments",
        "ListDeployments",
        "GetAccountSettings",
        "UpdateAccountSettings",
        "GetResourcesSummary",
        "CreateEnvironmentAccountConnection",
        "CreateTemplateSyncConfig",
        "GetServiceSyncConfig",
        "UpdateServiceSyncBlocker",
        "ListComponents",
        "ListServiceInstances",
    ],
)
def test_actions_without_resource_level_permissions_use_star(operation: str) -> None:
    built = _auth(operation, serviceName="web", environmentName="e", templateName="t")
    if operation == "ListComponents":
        built = _auth(operation)
    assert built.resources == ("*",)
    assert built.resource == "*"


def test_arn_taking_actions_use_the_given_arn() -> None:
    arn = f"{PFX}environment/prod"
    for operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        assert _auth(operation, resourceArn=arn).resource == arn
    notify = _auth("NotifyResourceDeploymentStatusChange", resourceArn=f"{PFX}service/w/pipeline")
    assert notify.resource == f"{PFX}service/w/pipeline"


def test_resource_is_a_list_for_several() -> None:
    built = _auth("ListServicePipelineOutputs", serviceName="w", deploymentId="d")
    assert built.resource == [f"{PFX}service/w", f"{PFX}deployment/d"]


# --- condition keys ------------------------------------------------------------------------------


def test_create_environment_keys() -> None:
    built = _auth(
        "CreateEnvironment",
        name="prod",
        templateName="vpc",
        tags=[{"key": "team", "value": "blue"}, {"key": "cost", "value": "42"}],
    )
    assert built.context == {
        "proton:EnvironmentTemplate": f"{PFX}environment-template/vpc",
        "aws:RequestTag/team": "blue",
        "aws:RequestTag/cost": "42",
        "aws:TagKeys": ["team", "cost"],
    }
    assert PROTON["CreateEnvironment"].condition_keys == (
        "aws:RequestTag/${TagKey}",
        "aws:TagKeys",
        "proton:EnvironmentTemplate",
    )


def test_create_service_key_is_the_service_template() -> None:
    built = _auth("CreateService", name="web", templateName="fargate")
    assert built.context == {"proton:ServiceTemplate": f"{PFX}service-template/fargate"}


def test_no_tags_no_tag_keys() -> None:
    assert _auth("CreateComponent", name="c").context == {}
    assert _auth("CreateComponent", name="c", tags=[]).context == {}


def test_tag_and_untag_resource_keys() -> None:
    arn = f"{PFX}service/web"
    tagged = _auth("TagResource", resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    assert tagged.context == {"aws:RequestTag/k": "v", "aws:TagKeys": ["k"]}
    untagged = _auth("UntagResource", resourceArn=arn, tagKeys=["k", "j"])
    assert untagged.context == {"aws:TagKeys": ["k", "j"]}


class Related:
    def environment_template(self, account: str, region: str, environment: str) -> str | None:
        assert (account, region) == (ACCT, REGION)
        return {"prod": "vpc"}.get(environment)

    def service_template(self, account: str, region: str, service: str) -> str | None:
        return {"web": "fargate"}.get(service)

    def connection_account(self, region: str, connection_id: str) -> str | None:
        return {"a1b2": "210987654321"}.get(connection_id)


def test_connection_arn_is_in_its_environment_account() -> None:
    """Accepted from the management account, a connection is still named by its own ARN."""
    for operation in ("AcceptEnvironmentAccountConnection", "GetEnvironmentAccountConnection"):
        found = authorization(
            "proton", operation, {"id": "a1b2"}, account=ACCT, region=REGION, related=Related()
        )
        assert found.resources == (
            f"arn:aws:proton:{REGION}:210987654321:environment-account-connection/a1b2",
        )
        unknown = authorization(
            "proton", operation, {"id": "ffff"}, account=ACCT, region=REGION, related=Related()
        )
        assert unknown.resources == (f"{PFX}environment-account-connection/ffff",)


@pytest.mark.parametrize(
    ("operation", "params", "key", "template"),
    [
        (
            "UpdateEnvironment",
            {"name": "prod"},
            "proton:EnvironmentTemplate",
            "environment-template/vpc",
        ),
        (
            "DeleteEnvironment",
            {"name": "prod"},
            "proton:EnvironmentTemplate",
            "environment-template/vpc",
        ),
        (
            "CancelEnvironmentDeployment",
            {"environmentName": "prod"},
            "proton:EnvironmentTemplate",
            "environment-template/vpc",
        ),
        ("UpdateService", {"name": "web"}, "proton:ServiceTemplate", "service-template/fargate"),
        ("DeleteService", {"name": "web"}, "proton:ServiceTemplate", "service-template/fargate"),
        (
            "CreateServiceInstance",
            {"serviceName": "web", "name": "i"},
            "proton:ServiceTemplate",
            "service-template/fargate",
        ),
        (
            "UpdateServiceInstance",
            {"serviceName": "web", "name": "i"},
            "proton:ServiceTemplate",
            "service-template/fargate",
        ),
        (
            "CancelServicePipelineDeployment",
            {"serviceName": "web"},
            "proton:ServiceTemplate",
            "service-template/fargate",
        ),
    ],
)
def test_template_keys_of_existing_resources(
    operation: str, params: dict[str, Any], key: str, template: str
) -> None:
    built = authorization(
        "proton", operation, params, account=ACCT, region=REGION, related=Related()
    )
    assert built.context == {key: PFX + template}
    # Without a lookup (or for a missing resource) the key is absent.
    assert _auth(operation, **params).context == {}
    missing = {k: "nope" for k in params}
    assert (
        authorization(
            "proton", operation, missing, account=ACCT, region=REGION, related=Related()
        ).context
        == {}
    )


def test_template_keys_only_on_the_listed_actions() -> None:
    with_keys = {
        name
        for name, e in PROTON.items()
        if {"proton:EnvironmentTemplate", "proton:ServiceTemplate"} & set(e.condition_keys)
    }
    assert with_keys == {
        "CancelEnvironmentDeployment",
        "CancelServiceInstanceDeployment",
        "CancelServicePipelineDeployment",
        "CreateEnvironment",
        "CreateService",
        "CreateServiceInstance",
        "DeleteEnvironment",
        "DeleteService",
        "UpdateEnvironment",
        "UpdateService",
        "UpdateServiceInstance",
        "UpdateServicePipeline",
    }
    for name in with_keys:
        assert PROTON[name].template is not None
    # Get/List never carry them.
    assert _auth("GetEnvironment", name="prod", templateName="x").context == {}


# --- EC2 and STS ---------------------------------------------------------------------------------


def test_ec2_vpc_endpoints() -> None:
    ec2 = f"arn:aws:ec2:{REGION}:{ACCT}:vpc-endpoint/"
    created = _auth(
        "CreateVpcEndpoint",
        "ec2",
        VpcId="vpc-1",
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": [{"Key": "k", "Value": "v"}]}],
    )
    assert created.resource == ec2 + "*"
    assert created.context == {"aws:RequestTag/k": "v", "aws:TagKeys": ["k"]}
    assert _auth("DescribeVpcEndpoints", "ec2", VpcEndpointIds=["vpce-1"]).resource == "*"
    assert _auth("ModifyVpcEndpoint", "ec2", VpcEndpointId="vpce-1").resource == ec2 + "vpce-1"
    deleted = _auth("DeleteVpcEndpoints", "ec2", VpcEndpointIds=["vpce-1", "vpce-2"])
    assert deleted.resource == [ec2 + "vpce-1", ec2 + "vpce-2"]
    assert _auth("DescribeVpcs", "ec2").resource == "*"


def test_sts_assume_role() -> None:
    role = f"arn:aws:iam::{ACCT}:role/deploy"
    built = _auth(
        "AssumeRole",
        "sts",
        RoleArn=role,
        RoleSessionName="s1",
        ExternalId="x-1",
        Tags=[{"Key": "project", "Value": "p"}],
        TransitiveTagKeys=["project"],
    )
    assert built.action == "sts:AssumeRole"
    assert built.resource == role
    assert built.context == {
        "aws:RequestTag/project": "p",
        "aws:TagKeys": ["project"],
        "sts:ExternalId": "x-1",
        "sts:RoleSessionName": "s1",
        "sts:TransitiveTagKeys": ["project"],
    }
    assert _auth("GetSessionToken", "sts").resource == "*"
    assert _auth("GetFederationToken", "sts", Name="f").resource == "*"


# --- enforcement delegates ------------------------------------------------------------------------


def test_resource_for_delegates_to_the_map() -> None:
    def no_path(_account: str, _name: str) -> str | None:
        return None

    got = resource_for(ALICE, "proton", "GetService", {"name": "web"}, no_path, region=REGION)
    assert got == f"{PFX}service/web"
    default = resource_for(ALICE, "proton", "GetService", {"name": "web"}, no_path)
    assert default == f"arn:aws:proton:us-east-1:{ACCT}:service/web"
    assert resource_for(ALICE, "proton", "ListServices", {}, no_path) == "*"


def test_engine_matches_built_arns() -> None:
    policy = parse_policy(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"proton:CreateEnvironment",'
        f'"Resource":"{PFX}environment/*","Condition":{{"StringEquals":'
        f'{{"proton:EnvironmentTemplate":"{PFX}environment-template/vpc"}}}}}}]}}',
        kind="identity",
    )

    def decide(template: str) -> bool:
        built = _auth("CreateEnvironment", name="prod", templateName=template)
        return authorize(
            principal=ALICE.arn,
            action=built.action,
            resource=built.resource,
            context=built.context,
            identity_policies=[policy],
        ).allowed

    assert decide("vpc")
    assert not decide("other")
