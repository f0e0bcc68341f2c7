"""Proton directly defined components, black-box: a real server, boto3 and the AWS CLI.

The components live in an environment published from ``examples/environment-template`` (CodeBuild
provisioning) with a ``componentRoleArn``. Components are provisioned by CloudFormation or
Terraform only, which do not run in Hadron yet: their deployments end FAILED saying so, and
deleting them completes at once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.e2e.server import Server
from tests.e2e.test_proton_authz import _user_with_policy
from tests.e2e.test_proton_environments import FAST, SPEC, _aws, _error, _name, _publish, _role
from tests.proton.bundles import example_files

CFN = json.dumps(
    {
        "infrastructure": {
            "templates": [
                {
                    "file": "cloudformation.yaml",
                    "rendering_engine": "jinja",
                    "template_language": "cloudformation",
                }
            ]
        }
    }
)
CODEBUILD = json.dumps(
    {
        "infrastructure": {
            "templates": [{"rendering_engine": "codebuild", "settings": {"provision": ["true"]}}]
        }
    }
)
TEMPLATE = "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"
NOT_AVAILABLE = (
    "AWS-managed provisioning of components (rendering_engine jinja, CloudFormation) is not "
    "available in Hadron yet"
)


def _environment(server: Server, template: str, role: str, **extra: Any) -> str:
    name = _name("env")
    server.client("proton").create_environment(
        name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
        codebuildRoleArn=role, **extra,
    )  # fmt: skip
    return name


@pytest.fixture(scope="module")
def env(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An environment with a componentRoleArn, deployed."""
    template = _publish(
        server, tmp_path_factory.mktemp("bundles"), example_files("environment-template")
    )
    role = _role(server)
    component_role = f"arn:aws:iam::{server.account_id}:role/components"
    name = _environment(server, template, role, componentRoleArn=component_role)
    server.client("proton").get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    yield name


def _component(proton: Any, env: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    created = proton.create_component(
        name=name or _name("cmp"), environmentName=env, manifest=CFN, templateFile=TEMPLATE,
        **extra,
    )  # fmt: skip
    return dict(created["component"])


def _settled(proton: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        comp = proton.get_component(name=name)["component"]
        if comp["deploymentStatus"] not in ("IN_PROGRESS", "DELETE_IN_PROGRESS"):
            return dict(comp)
        assert time.monotonic() < deadline, comp
        time.sleep(0.2)


def test_component_lifecycle_with_the_aws_cli(server: Server, env: str) -> None:
    proton = server.client("proton")
    name = _name("cmp")
    arn = f"arn:aws:proton:us-east-1:{server.account_id}:component/{name}"
    created = _aws(
        server, "create-component", "--name", name, "--environment-name", env,
        "--manifest", CFN, "--template-file", TEMPLATE, "--description", "a queue",
        "--tags", "key=team,value=blue",
    )["component"]  # fmt: skip
    assert created["arn"] == arn and created["environmentName"] == env
    assert created["deploymentStatus"] == "IN_PROGRESS" and created["description"] == "a queue"
    assert created["lastClientRequestToken"]  # the CLI fills in a client token
    # The deployment fails: CloudFormation does not run in Hadron yet.
    with pytest.raises(WaiterError) as waited:
        proton.get_waiter("component_deployed").wait(name=name, WaiterConfig=FAST)
    assert "terminal failure state" in str(waited.value)
    comp = proton.get_component(name=name)["component"]
    assert comp["deploymentStatus"] == "FAILED"
    assert comp["deploymentStatusMessage"].startswith(NOT_AVAILABLE)
    assert "CodeBuild" in comp["deploymentStatusMessage"]
    deployment = proton.get_deployment(id=comp["lastAttemptedDeploymentId"], componentName=name)
    d = deployment["deployment"]
    assert (d["targetResourceType"], d["targetArn"], d["componentName"]) == (
        "COMPONENT", arn, name,
    )  # fmt: skip
    assert d["environmentName"] == env and d["deploymentStatus"] == "FAILED"
    assert d["deploymentStatusMessage"] == comp["deploymentStatusMessage"]
    assert d["targetState"] == {"component": {"templateFile": TEMPLATE}}
    assert "initialState" not in d and "completedAt" in d
    history = _aws(server, "list-deployments", "--component-name", name)["deployments"]
    assert [h["id"] for h in history] == [d["id"]]
    assert _aws(server, "list-component-outputs", "--component-name", name)["outputs"] == []
    resources = _aws(server, "list-component-provisioned-resources", "--component-name", name)
    assert resources["provisionedResources"] == []
    tags = proton.list_tags_for_resource(resourceArn=arn)["tags"]
    assert [t for t in tags if not t["key"].startswith("aws:")] == [
        {"key": "team", "value": "blue"}
    ]
    assert {"key": "aws:proton:component", "value": arn} in tags
    # The environment cannot be deleted while the component is in it.
    with pytest.raises(ClientError) as info:
        proton.delete_environment(name=env)
    code, message = _error(info)
    assert code == "ConflictException" and f"component {name}" in message
    # Delete: completes at once (nothing was provisioned); the CLI waiter sees it gone.
    deleting = _aws(server, "delete-component", "--name", name)["component"]
    assert deleting["deploymentStatus"] == "DELETE_IN_PROGRESS"
    _aws(server, "wait", "component-deleted", "--name", name)
    with pytest.raises(ClientError) as info:
        proton.get_component(name=name)
    assert _error(info) == ("ResourceNotFoundException", f"The component {name} was not found.")
    assert proton.delete_component(name=name).get("component") is None  # idempotent retry
    with pytest.raises(ClientError) as info:
        proton.list_tags_for_resource(resourceArn=arn)
    assert _error(info)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        proton.get_deployment(id=d["id"])
    assert _error(info)[0] == "ResourceNotFoundException"


def test_update_cancel_and_history(server: Server, env: str) -> None:
    proton = server.client("proton")
    comp = _component(proton, env)
    name = comp["name"]
    first = comp["lastAttemptedDeploymentId"]
    _settled(proton, name)
    with pytest.raises(ClientError) as info:
        proton.cancel_component_deployment(componentName=name)
    code, message = _error(info)
    assert code == "ConflictException" and "only IN_PROGRESS" in message
    # NONE: only the description.
    with pytest.raises(ClientError) as info:
        proton.update_component(name=name, deploymentType="NONE", templateFile="x")
    assert _error(info)[1].startswith("templateFile: deploymentType NONE changes only")
    updated = proton.update_component(name=name, deploymentType="NONE", description="new")
    assert updated["component"]["description"] == "new"
    assert updated["component"]["lastAttemptedDeploymentId"] == first
    # CURRENT_VERSION: a new deployment of the new template file.
    new_file = TEMPLATE.replace("Queue", "Topic").replace("SQS", "SNS")
    redeployed = proton.update_component(
        name=name, deploymentType="CURRENT_VERSION", templateFile=new_file
    )["component"]
    second = redeployed["lastAttemptedDeploymentId"]
    assert second != first and redeployed["deploymentStatus"] == "IN_PROGRESS"
    assert _settled(proton, name)["deploymentStatus"] == "FAILED"
    pages = proton.get_paginator("list_deployments").paginate(
        componentName=name, PaginationConfig={"PageSize": 1}
    )
    listed = [d for page in pages for d in page["deployments"]]
    assert [d["id"] for d in listed] == [second, first]
    d = proton.get_deployment(id=second)["deployment"]
    assert d["initialState"] == {"component": {"templateFile": TEMPLATE}}
    assert d["targetState"] == {"component": {"templateFile": new_file}}
    outputs = proton.list_component_outputs(componentName=name, deploymentId=first)
    assert outputs["outputs"] == []
    with pytest.raises(ClientError) as info:
        proton.update_component(name=name, deploymentType="MAJOR_VERSION")
    assert _error(info)[0] == "ValidationException"
    # Attaching needs a service instance; none exists.
    with pytest.raises(ClientError) as info:
        proton.update_component(
            name=name, deploymentType="CURRENT_VERSION", serviceName="web",
            serviceInstanceName="one",
        )  # fmt: skip
    assert _error(info) == (
        "ResourceNotFoundException",
        "The service instance one of service web was not found.",
    )
    proton.delete_component(name=name)
    proton.get_waiter("component_deleted").wait(name=name, WaiterConfig=FAST)


def test_bad_requests_create_nothing(server: Server, env: str, tmp_path: Path) -> None:
    proton = server.client("proton")
    name = _name("bad")
    base: dict[str, Any] = {
        "name": name, "environmentName": env, "manifest": CFN, "templateFile": TEMPLATE,
    }  # fmt: skip
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"environmentName": None}, "ValidationException", "environmentName: is required"),
        ({"environmentName": "nope"}, "ResourceNotFoundException", "The environment nope was"),
        ({"manifest": CODEBUILD}, "ValidationException", "manifest: components cannot use"),
        ({"manifest": "infrastructure: {}"}, "ValidationException", "manifest: "),
        ({"templateFile": "x" * 51201}, "ValidationException", "templateFile"),
        ({"manifest": CFN + " " * 1024}, "ValidationException", "manifest"),
        ({"name": "bad name!"}, "ValidationException", "name"),
        ({"name": "n" * 101}, "ValidationException", "name"),
        ({"serviceName": "web"}, "ValidationException", "serviceInstanceName: serviceName and"),
        (
            {"serviceName": "web", "serviceInstanceName": "one", "environmentName": None},
            "ResourceNotFoundException",
            "The service instance one of service web was not found.",
        ),
        ({"serviceSpec": "proton: ServiceSpec\n"}, "ValidationException", "serviceSpec: "),
    ]
    for extra, code, message in cases:
        params = {k: v for k, v in (base | extra).items() if v is not None}
        with pytest.raises(ClientError) as info:
            proton.create_component(**params)
        got = _error(info)
        assert got[0] == code and message in got[1], (extra.keys(), got)
    # An environment without a componentRoleArn cannot take components.
    template = _publish(server, tmp_path, example_files("environment-template"))
    bare = _environment(server, template, _role(server))
    with pytest.raises(ClientError) as info:
        proton.create_component(**(base | {"environmentName": bare}))
    code, message = _error(info)
    assert code == "ValidationException"
    assert message.startswith(f"environmentName: the environment {bare} has no componentRoleArn")
    names = [c["name"] for c in proton.list_components()["components"]]
    assert name not in names
    proton.get_waiter("environment_deployed").wait(name=bare, WaiterConfig=FAST)
    proton.delete_environment(name=bare)


def test_duplicate_names_and_client_tokens(server: Server, env: str) -> None:
    proton = server.client("proton")
    name = _name("cmp")
    first = _component(proton, env, name, clientToken="token-1")
    again = _component(proton, env, name, clientToken="token-1")
    assert again["lastAttemptedDeploymentId"] == first["lastAttemptedDeploymentId"]
    with pytest.raises(ClientError) as info:
        _component(proton, env, name, clientToken="token-1", description="other")
    assert _error(info) == ("ValidationException", "Idempotent parameter mismatch")
    with pytest.raises(ClientError) as info:
        _component(proton, env, name)
    assert _error(info) == ("ConflictException", f"A component named {name} already exists.")
    _settled(proton, name)
    proton.delete_component(name=name)
    proton.get_waiter("component_deleted").wait(name=name, WaiterConfig=FAST)


def test_list_filters_and_pagination(server: Server, env: str) -> None:
    proton = server.client("proton")
    prefix = uuid.uuid4().hex[:6]
    names = [f"list{prefix}-{i}" for i in range(3)]
    for name in names:
        _component(proton, env, name)
    pages = proton.get_paginator("list_components").paginate(
        environmentName=env, PaginationConfig={"PageSize": 2}
    )
    listed = [c for page in pages for c in page["components"]]
    found = [c["name"] for c in listed]
    assert found == sorted(found) and set(names) <= set(found)
    summary = next(c for c in listed if c["name"] == names[0])
    assert summary["environmentName"] == env and "description" not in summary
    assert summary["arn"].endswith(f":component/{names[0]}")
    assert proton.list_components(serviceName="web")["components"] == []
    assert proton.list_components(environmentName="elsewhere")["components"] == []
    first = proton.list_components(environmentName=env, maxResults=1)
    with pytest.raises(ClientError) as info:
        proton.list_components(nextToken=first["nextToken"])
    assert _error(info)[0] == "ValidationException"
    for name in names:
        _settled(proton, name)
        proton.delete_component(name=name)


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def test_denied_user_names_the_component(server: Server, env: str) -> None:
    acct = server.account_id
    user_arn, proton = _user_with_policy(
        server,
        {
            "Effect": "Allow",
            "Action": "proton:GetComponent",
            "Resource": f"arn:aws:proton:us-east-1:{acct}:component/allowed",
        },
    )
    with pytest.raises(ClientError) as allowed:
        proton.get_component(name="allowed")
    assert _error(allowed)[0] == "ResourceNotFoundException"  # past authorization
    calls: list[tuple[str, dict[str, Any]]] = [
        ("GetComponent", {"name": "other"}),
        ("DeleteComponent", {"name": "other"}),
        (
            "CreateComponent",
            {"name": "other", "environmentName": env, "manifest": CFN, "templateFile": TEMPLATE},
        ),
    ]
    for action, params in calls:
        with pytest.raises(ClientError) as denied:
            getattr(proton, _snake(action))(**params)
        code, message = _error(denied)
        assert code == "AccessDeniedException"
        assert message.startswith(
            f"User: {user_arn} is not authorized to perform: proton:{action} on resource: "
            f"arn:aws:proton:us-east-1:{acct}:component/other"
        )


def test_component_quota(fresh_dir: Path, tmp_path: Path) -> None:
    server = Server(fresh_dir, ["--proton-max-components", "2"]).start()
    try:
        proton = server.client("proton")
        template = _publish(server, tmp_path, example_files("environment-template"))
        role = f"arn:aws:iam::{server.account_id}:role/components"
        env = _environment(server, template, _role(server), componentRoleArn=role)
        first = _component(proton, env)["name"]
        _component(proton, env)
        with pytest.raises(ClientError) as info:
            _component(proton, env)
        code, message = _error(info)
        assert code == "ServiceQuotaExceededException" and "(2)" in message
        _settled(proton, first)
        proton.delete_component(name=first)
        proton.get_waiter("component_deleted").wait(name=first, WaiterConfig=FAST)
        _component(proton, env)  # a slot is free again
    finally:
        server.stop()


def test_serve_refuses_a_non_positive_component_quota(fresh_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hadron", "serve", "--data-dir", str(fresh_dir),
         "--proton-max-components", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "quotas must be positive" in done.stderr


def test_terraform_component_in_a_self_managed_environment(server: Server, tmp_path: Path) -> None:
    """A self-managed (Terraform) environment takes Terraform components and needs no
    componentRoleArn; their deployments fail saying Terraform provisioning is not available."""
    proton = server.client("proton")
    terraform = json.dumps(
        {
            "infrastructure": {
                "templates": [
                    {"file": "*", "rendering_engine": "hcl", "template_language": "terraform"}
                ]
            }
        }
    )
    files = {
        "schema/schema.yaml": example_files("environment-template")["schema/schema.yaml"],
        "infrastructure/manifest.yaml": terraform.encode(),
        "infrastructure/main.tf": b'variable "environment" {}\n',
    }
    template = _publish(server, tmp_path, files)
    repo_name = f"octo/{_name('infra')}"
    connection = f"arn:aws:codestar-connections:us-east-1:{server.account_id}:connection/abc"
    proton.create_repository(provider="GITHUB", name=repo_name, connectionArn=connection)
    env = _name("env")
    proton.create_environment(
        name=env, templateName=template, templateMajorVersion="1", spec=SPEC,
        provisioningRepository={"provider": "GITHUB", "name": repo_name, "branch": "main"},
    )  # fmt: skip
    with pytest.raises(ClientError) as info:
        _component(proton, env)  # a CloudFormation component
    code, message = _error(info)
    assert code == "ValidationException"
    assert message.startswith(f"manifest: the environment {env} uses self-managed (Terraform)")
    name = _name("cmp")
    proton.create_component(
        name=name, environmentName=env, manifest=terraform,
        templateFile='resource "null_resource" "x" {}\n',
    )  # fmt: skip
    comp = _settled(proton, name)
    assert comp["deploymentStatus"] == "FAILED"
    assert comp["deploymentStatusMessage"].startswith(
        "Self-managed provisioning of components (rendering_engine hcl, Terraform pull requests"
    )
    proton.delete_component(name=name)
    proton.get_waiter("component_deleted").wait(name=name, WaiterConfig=FAST)
    proton.delete_environment(name=env)
