"""Proton services, service instances and pipelines, black-box: a real server, boto3 and the AWS
CLI. Provisioning runs the example service bundle's CodeBuild commands (instances with the
environment's role, the pipeline with the account's pipeline role), which report outputs back
with ``aws proton notify-resource-deployment-status-change``."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hadron import cli
from hadron.proton.deployments import CANCELLED_MESSAGE, RECOVERY_MESSAGE
from tests.e2e.server import Server
from tests.e2e.test_proton_authz import _user_with_policy
from tests.e2e.test_proton_environments import FAST, SPEC, _aws, _error, _name, _publish, _role
from tests.proton.bundles import example_files, tar_gz

REGION = "us-east-1"


def _service_spec(env: str, *instances: str, port: int = 8080) -> str:
    lines = ["proton: ServiceSpec", "pipeline:", "  build_command: make all", "instances:"]
    for name in instances:
        lines += [
            f"  - name: {name}",
            f"    environment: {env}",
            "    spec:",
            f"      port: {port}",
        ]
    return "\n".join(lines) + "\n"


def _service_files(instance_provision: list[str] | None = None) -> dict[str, bytes]:
    files = example_files("service-template")
    if instance_provision is not None:
        manifest = {
            "infrastructure": {
                "templates": [
                    {"rendering_engine": "codebuild",
                     "settings": {"provision": instance_provision,
                                  "deprovision": ["echo bye"]}}
                ]
            }
        }  # fmt: skip
        files = files | {"instance_infrastructure/manifest.yaml": json.dumps(manifest).encode()}
    return files


def _publish_service(
    server: Server, tmp_path: Path, files: Mapping[str, bytes], env_template: str,
    name: str | None = None, *, major: str | None = None, **version: Any,
) -> str:  # fmt: skip
    proton = server.client("proton")
    if name is None:
        name = _name("svc-tmpl")
        proton.create_service_template(name=name)
    key = f"{uuid.uuid4().hex}.tar.gz"
    path = tmp_path / key
    path.write_bytes(tar_gz(dict(files)))
    assert cli.main(["bundle", "put", str(path), f"s3://templates/{key}",
                     "--data-dir", str(server.data_dir)]) == 0  # fmt: skip
    extra = {"majorVersion": major} if major else {}
    created = proton.create_service_template_version(
        templateName=name,
        source={"s3": {"bucket": "templates", "key": key}},
        compatibleEnvironmentTemplates=[{"templateName": env_template, "majorVersion": "1"}],
        **extra,
        **version,
    )["serviceTemplateVersion"]
    ref = {
        "templateName": name,
        "majorVersion": created["majorVersion"],
        "minorVersion": created["minorVersion"],
    }
    proton.get_waiter("service_template_version_registered").wait(**ref, WaiterConfig=FAST)
    proton.update_service_template_version(**ref, status="PUBLISHED")
    return name


class World:
    """One deployed environment, its template and a published service template."""

    def __init__(self, server: Server, tmp_path: Path) -> None:
        self.server = server
        self.proton = server.client("proton")
        self.env_template = _publish(server, tmp_path, example_files("environment-template"))
        self.role = _role(server)
        self.env = _name("env")
        self.proton.create_environment(
            name=self.env, templateName=self.env_template, templateMajorVersion="1", spec=SPEC,
            codebuildRoleArn=self.role,
        )  # fmt: skip
        self.proton.update_account_settings(pipelineCodebuildRoleArn=self.role)
        self.proton.get_waiter("environment_deployed").wait(name=self.env, WaiterConfig=FAST)
        self.template = _publish_service(server, tmp_path, _service_files(), self.env_template)

    def create(self, name: str, *instances: str, template: str | None = None,
               **extra: Any) -> dict[str, Any]:  # fmt: skip
        return dict(
            self.proton.create_service(
                name=name, templateName=template or self.template, templateMajorVersion="1",
                spec=_service_spec(self.env, *instances), repositoryConnectionArn=(
                    f"arn:aws:codestar-connections:{REGION}:{self.server.account_id}:"
                    "connection/abc"),
                repositoryId="me/app", branchName="main", **extra,
            )["service"]
        )  # fmt: skip


@pytest.fixture(scope="module")
def world(server: Server, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(server, tmp_path_factory.mktemp("services"))


def _wait_service(proton: Any, name: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        found = dict(proton.get_service(name=name)["service"])
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def _gone(proton: Any, name: str) -> None:
    proton.get_waiter("service_deleted").wait(name=name, WaiterConfig=FAST)


def test_service_lifecycle_with_the_aws_cli(world: World, tmp_path: Path) -> None:
    server, proton = world.server, world.proton
    name = _name("svc")
    acct = server.account_id
    created = _aws(
        server, "create-service", "--name", name, "--template-name", world.template,
        "--template-major-version", "1", "--spec", _service_spec(world.env, "front", "back"),
        "--repository-connection-arn",
        f"arn:aws:codestar-connections:{REGION}:{acct}:connection/abc",
        "--repository-id", "me/app", "--branch-name", "main",
        "--tags", "key=team,value=blue",
    )["service"]  # fmt: skip
    arn = f"arn:aws:proton:{REGION}:{acct}:service/{name}"
    assert created["arn"] == arn and created["status"] == "CREATE_IN_PROGRESS"
    assert created["pipeline"]["arn"] == f"{arn}/pipeline"
    _aws(server, "wait", "service-created", "--name", name)
    for instance in ("front", "back"):
        _aws(server, "wait", "service-instance-deployed", "--name", instance,
             "--service-name", name)  # fmt: skip
    _aws(server, "wait", "service-pipeline-deployed", "--name", name)
    service = proton.get_service(name=name)["service"]
    assert service["status"] == "ACTIVE" and service["repositoryId"] == "me/app"
    assert service["pipeline"]["deploymentStatus"] == "SUCCEEDED"
    front = proton.get_service_instance(serviceName=name, name="front")["serviceInstance"]
    assert front["arn"] == f"{arn}/service-instance/front"
    assert (front["environmentName"], front["templateMinorVersion"]) == (world.env, "0")
    outputs = _aws(server, "list-service-instance-outputs", "--service-name", name,
                   "--service-instance-name", "front")["outputs"]  # fmt: skip
    assert outputs == [
        {"key": "message", "valueString": "hello from Hadron"},
        {"key": "url", "valueString": f"http://front.{world.env}.example:8080"},
    ]
    pipeline_outputs = proton.list_service_pipeline_outputs(serviceName=name)["outputs"]
    assert pipeline_outputs == [{"key": "build_command", "valueString": "make all"}]
    template_arn = f"arn:aws:proton:{REGION}:{acct}:service-template/{world.template}"
    service_tags = [
        {"key": "aws:proton:account", "value": acct},
        {"key": "aws:proton:service", "value": arn},
        {"key": "aws:proton:template", "value": template_arn},
        {"key": "team", "value": "blue"},
    ]
    assert proton.list_tags_for_resource(resourceArn=arn)["tags"] == service_tags
    # The service's tags propagate to its instances (not to the untaggable pipeline), which
    # add their own managed tags.
    env_arn = f"arn:aws:proton:{REGION}:{acct}:environment/{world.env}"
    assert proton.list_tags_for_resource(resourceArn=front["arn"])["tags"] == [
        {"key": "aws:proton:account", "value": acct},
        {"key": "aws:proton:environment", "value": env_arn},
        {"key": "aws:proton:service", "value": arn},
        {"key": "aws:proton:service-instance", "value": front["arn"]},
        {"key": "aws:proton:template", "value": template_arn},
        {"key": "team", "value": "blue"},
    ]
    assert proton.list_service_instance_provisioned_resources(
        serviceName=name, serviceInstanceName="front")["provisionedResources"] == []  # fmt: skip
    listed = proton.list_service_instances(serviceName=name, sortBy="name")["serviceInstances"]
    assert [i["name"] for i in listed] == ["back", "front"]
    assert [s["name"] for s in proton.list_services()["services"]].count(name) == 1
    history = proton.list_deployments(serviceName=name, serviceInstanceName="front")
    record = proton.get_deployment(id=history["deployments"][0]["id"])["deployment"]
    assert record["targetResourceType"] == "SERVICE_INSTANCE"
    assert record["serviceName"] == name and record["serviceInstanceName"] == "front"
    assert record["targetState"]["serviceInstance"]["templateMajorVersion"] == "1"
    # The environment cannot be deleted while instances use it.
    with pytest.raises(ClientError) as info:
        proton.delete_environment(name=world.env)
    code, message = _error(info)
    assert code == "ConflictException" and f"{name}/front" in message
    # A new minor version: MINOR_VERSION moves the instance; the spec is kept.
    _publish_service(server, tmp_path, _service_files(), world.env_template, world.template,
                     major="1")  # fmt: skip
    updated = proton.update_service_instance(
        serviceName=name, name="front", deploymentType="MINOR_VERSION"
    )["serviceInstance"]
    assert (updated["deploymentStatus"], updated["templateMinorVersion"]) == ("IN_PROGRESS", "1")
    proton.get_waiter("service_instance_deployed").wait(
        serviceName=name, name="front", WaiterConfig=FAST
    )
    # The version in use cannot be deleted.
    with pytest.raises(ClientError) as info:
        proton.delete_service_template_version(
            templateName=world.template, majorVersion="1", minorVersion="1"
        )
    assert _error(info)[0] == "ConflictException" and f"{name}/front" in _error(info)[1]
    # The pipeline: a new spec through CURRENT_VERSION.
    pipeline = proton.update_service_pipeline(
        serviceName=name, deploymentType="CURRENT_VERSION",
        spec=_service_spec(world.env, "front").replace("make all", "make ship"),
    )["pipeline"]  # fmt: skip
    assert pipeline["deploymentStatus"] == "IN_PROGRESS"
    proton.get_waiter("service_pipeline_deployed").wait(name=name, WaiterConfig=FAST)
    assert proton.list_service_pipeline_outputs(serviceName=name)["outputs"] == [
        {"key": "build_command", "valueString": "make ship"}
    ]
    # UpdateService: add one instance, remove another.
    spec = _service_spec(world.env, "front", "extra")
    before = proton.get_service(name=name)["service"]["pipeline"]["lastAttemptedDeploymentId"]
    updating = proton.update_service(name=name, spec=spec, description="two")["service"]
    assert updating["status"] == "UPDATE_IN_PROGRESS"
    # The pipeline is redeployed (after the instances) and sees the new instance list.
    assert updating["pipeline"]["lastAttemptedDeploymentId"] != before
    with pytest.raises(ClientError) as info:
        proton.update_service(name=name, spec=spec)
    assert _error(info)[0] == "ConflictException"
    _aws(server, "wait", "service-updated", "--name", name)
    names = [i["name"] for i in proton.list_service_instances(serviceName=name)["serviceInstances"]]
    assert names == ["extra", "front"]
    # That redeploy ran the pipeline as UpdateServicePipeline left it (its spec, not the one
    # the service was created with).
    redeployed = proton.get_service(name=name)["service"]["pipeline"]
    assert (
        redeployed["lastAttemptedDeploymentId"] == updating["pipeline"]["lastAttemptedDeploymentId"]
    )
    assert redeployed["spec"] == pipeline["spec"]
    assert proton.list_service_pipeline_outputs(serviceName=name)["outputs"] == [
        {"key": "build_command", "valueString": "make ship"}
    ]
    with pytest.raises(ClientError) as info:
        proton.get_service_instance(serviceName=name, name="back")
    assert _error(info) == (
        "ResourceNotFoundException",
        f"The service instance back of service {name} was not found.",
    )
    deleting = _aws(server, "delete-service", "--name", name)["service"]
    assert deleting["status"] == "DELETE_IN_PROGRESS"
    _aws(server, "wait", "service-deleted", "--name", name)
    with pytest.raises(ClientError) as info:
        proton.get_service(name=name)
    assert _error(info) == ("ResourceNotFoundException", f"The service {name} was not found.")
    with pytest.raises(ClientError) as info:
        proton.list_tags_for_resource(resourceArn=arn)
    assert _error(info)[0] == "ResourceNotFoundException"
    assert proton.delete_service(name=name).get("service") is None  # idempotent retry


def test_cancel_an_instance_deployment(world: World, server: Server, tmp_path: Path) -> None:
    proton = world.proton
    slow = _publish_service(
        server, tmp_path, _service_files(["echo started", "sleep 60"]), world.env_template
    )
    name = _name("svc")
    world.create(name, "slow", template=slow)
    log = server.data_dir / "logs"
    deployment = proton.get_service_instance(serviceName=name, name="slow")["serviceInstance"][
        "lastAttemptedDeploymentId"]  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        path = log / f"{deployment}.log"
        if path.exists() and "sleep 60" in path.read_text():
            break
        time.sleep(0.2)
    with pytest.raises(ClientError) as info:
        proton.update_service_instance(serviceName=name, name="slow",
                                       deploymentType="CURRENT_VERSION")  # fmt: skip
    assert _error(info)[0] == "ConflictException"
    with pytest.raises(ClientError) as info:
        proton.delete_service(name=name)
    assert _error(info)[0] == "ConflictException"
    cancelling = proton.cancel_service_instance_deployment(
        serviceName=name, serviceInstanceName="slow"
    )["serviceInstance"]
    assert cancelling["deploymentStatus"] == "CANCELLING"
    service = _wait_service(proton, name, lambda s: s["status"] != "CREATE_IN_PROGRESS")
    assert service["status"] == "CREATE_FAILED"
    instance = proton.get_service_instance(serviceName=name, name="slow")["serviceInstance"]
    assert instance["deploymentStatus"] == "CANCELLED"
    assert instance["deploymentStatusMessage"] == CANCELLED_MESSAGE
    proton.delete_service(name=name)
    _gone(proton, name)


def test_bad_requests_create_nothing(world: World, server: Server, tmp_path: Path) -> None:
    proton = world.proton
    other_env_template = _publish(server, tmp_path, example_files("environment-template"))
    incompatible = _publish_service(server, tmp_path, _service_files(), other_env_template)
    name = _name("svc")
    base = {
        "name": name, "templateName": world.template, "templateMajorVersion": "1",
        "spec": _service_spec(world.env, "a"),
        "repositoryConnectionArn": (
            f"arn:aws:codestar-connections:{REGION}:{server.account_id}:connection/abc"),
        "repositoryId": "me/app", "branchName": "main",
    }  # fmt: skip
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"templateName": incompatible}, "ValidationException", "not compatible"),
        ({"templateName": "nope"}, "ResourceNotFoundException", "nope"),
        ({"templateMajorVersion": "7"}, "ResourceNotFoundException", "7"),
        ({"spec": _service_spec("missing-env", "a")}, "ResourceNotFoundException", "missing-env"),
        ({"spec": _service_spec(world.env, "a", port=0)}, "ValidationException",
         "spec.instances[0].spec.port"),
        ({"spec": "proton: ServiceSpec\ninstances: []\n"}, "ValidationException", "instances"),
        ({"repositoryId": None}, "ValidationException", "repositoryId"),
        ({"spec": _service_spec(world.env, *[f"i{n}" for n in range(21)])},
         "ServiceQuotaExceededException", "20"),
    ]  # fmt: skip
    for change, code, fragment in cases:
        request = {k: v for k, v in (base | change).items() if v is not None}
        with pytest.raises(ClientError) as info:
            proton.create_service(**request)
        got, message = _error(info)
        assert (got, fragment in message) == (code, True), (change, message)
    with pytest.raises(ClientError) as info:
        proton.get_service(name=name)
    assert _error(info) == ("ResourceNotFoundException", f"The service {name} was not found.")
    # Idempotent create: the same request again answers the service.
    first = proton.create_service(**base)["service"]
    again = proton.create_service(**base)["service"]
    assert first["createdAt"] == again["createdAt"]
    with pytest.raises(ClientError) as info:
        proton.create_service(**base | {"description": "different"})
    assert _error(info)[0] == "ValidationException"
    proton.get_waiter("service_created").wait(name=name, WaiterConfig=FAST)
    with pytest.raises(ClientError) as info:
        proton.update_service_instance(serviceName=name, name="a", deploymentType="MAJOR_VERSION")
    assert _error(info)[0] == "ValidationException"
    with pytest.raises(ClientError) as info:
        proton.update_service(name=name, spec="proton: ServiceSpec\ninstances: []\n")
    assert _error(info)[0] == "ValidationException"
    with pytest.raises(ClientError) as info:
        proton.cancel_service_pipeline_deployment(serviceName=name)
    assert _error(info)[0] == "ConflictException"
    proton.delete_service(name=name)
    _gone(proton, name)
    # MAJOR_VERSION: the new major must list the instance's environment template as compatible.
    movable = _publish_service(server, tmp_path, _service_files(), world.env_template)
    _publish_service(server, tmp_path, _service_files(), other_env_template, movable)
    moved = _name("svc")
    world.create(moved, "a", template=movable)
    proton.get_waiter("service_created").wait(name=moved, WaiterConfig=FAST)
    with pytest.raises(ClientError) as info:
        proton.update_service_instance(serviceName=moved, name="a", deploymentType="MAJOR_VERSION")
    code, message = _error(info)
    assert code == "ValidationException" and "not compatible" in message
    instance = proton.get_service_instance(serviceName=moved, name="a")["serviceInstance"]
    assert (instance["templateMajorVersion"], instance["deploymentStatus"]) == ("1", "SUCCEEDED")
    proton.delete_service(name=moved)
    _gone(proton, moved)


def test_service_quota(fresh_dir: Path, tmp_path: Path) -> None:
    server = Server(fresh_dir, args=("--proton-max-services", "1")).start()
    try:
        world = World(server, tmp_path)
        world.create(_name("svc"), "a")
        with pytest.raises(ClientError) as info:
            world.create(_name("svc"), "a")
        code, message = _error(info)
        assert code == "ServiceQuotaExceededException" and "(1)" in message
    finally:
        server.stop()


def test_service_template_condition_key(world: World, server: Server, tmp_path: Path) -> None:
    acct = server.account_id
    other = _publish_service(server, tmp_path, _service_files(), world.env_template)
    _, proton = _user_with_policy(
        server,
        {
            "Effect": "Allow",
            "Action": ["proton:CreateService", "proton:DeleteService"],
            "Resource": f"arn:aws:proton:{REGION}:{acct}:service/*",
            "Condition": {
                "StringEquals": {
                    "proton:ServiceTemplate": (
                        f"arn:aws:proton:{REGION}:{acct}:service-template/{world.template}"
                    )
                }
            },
        },
    )
    spec = _service_spec(world.env, "a")
    repo = {
        "repositoryConnectionArn": f"arn:aws:codestar-connections:{REGION}:{acct}:connection/c",
        "repositoryId": "me/app",
        "branchName": "main",
    }
    denied = _name("svc")
    with pytest.raises(ClientError) as info:
        proton.create_service(name=denied, templateName=other, templateMajorVersion="1",
                              spec=spec, **repo)  # fmt: skip
    assert _error(info)[0] == "AccessDeniedException"
    allowed = _name("svc")
    created = proton.create_service(name=allowed, templateName=world.template,
                                    templateMajorVersion="1", spec=spec, **repo)  # fmt: skip
    assert created["service"]["status"] == "CREATE_IN_PROGRESS"
    world.proton.get_waiter("service_created").wait(name=allowed, WaiterConfig=FAST)
    # DeleteService's key is the existing service's template.
    admin_made = _name("svc")
    world.create(admin_made, "a", template=other)
    world.proton.get_waiter("service_created").wait(name=admin_made, WaiterConfig=FAST)
    with pytest.raises(ClientError) as info:
        proton.delete_service(name=admin_made)
    assert _error(info)[0] == "AccessDeniedException"
    proton.delete_service(name=allowed)
    world.proton.delete_service(name=admin_made)
    _gone(world.proton, allowed)
    _gone(world.proton, admin_made)


def test_crash_during_a_service_deployment(fresh_dir: Path, tmp_path: Path) -> None:
    server = Server(fresh_dir).start()
    try:
        world = World(server, tmp_path)
        slow = _publish_service(server, tmp_path, _service_files(["sleep 30"]), world.env_template)
        name = _name("svc")
        world.create(name, "a", template=slow)
        deployment = world.proton.get_service_instance(serviceName=name, name="a")[
            "serviceInstance"]["lastAttemptedDeploymentId"]  # fmt: skip
        log = server.data_dir / "logs" / f"{deployment}.log"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (log.exists() and "sleep 30" in
                                                    log.read_text()):  # fmt: skip
            time.sleep(0.2)
        server.stop(signal.SIGKILL)
        server.start()
        proton = server.client("proton")
        service = proton.get_service(name=name)["service"]
        assert service["status"] == "CREATE_FAILED"
        instance = proton.get_service_instance(serviceName=name, name="a")["serviceInstance"]
        assert instance["deploymentStatus"] == "FAILED"
        assert instance["deploymentStatusMessage"] == RECOVERY_MESSAGE
        record = proton.get_deployment(id=deployment)["deployment"]
        assert record["deploymentStatus"] == "FAILED"
        proton.delete_service(name=name)
        _gone(proton, name)
    finally:
        server.stop()


def test_create_service_instance_and_list_filters(world: World) -> None:
    proton = world.proton
    name = _name("svc")
    world.create(name, "one")
    proton.get_waiter("service_created").wait(name=name, WaiterConfig=FAST)
    spec = _service_spec(world.env, "two", port=9090)
    created = proton.create_service_instance(
        serviceName=name, name="two", spec=spec, clientToken="t-1",
        tags=[{"key": "tier", "value": "web"}],
    )["serviceInstance"]  # fmt: skip
    assert created["deploymentStatus"] == "IN_PROGRESS" and created["environmentName"] == world.env
    again = proton.create_service_instance(serviceName=name, name="two", spec=spec,
                                           clientToken="t-1")["serviceInstance"]  # fmt: skip
    assert again["lastAttemptedDeploymentId"] == created["lastAttemptedDeploymentId"]
    with pytest.raises(ClientError) as info:
        proton.create_service_instance(serviceName=name, name="two", spec=spec)
    assert _error(info)[0] == "ConflictException"
    with pytest.raises(ClientError) as info:
        proton.create_service_instance(serviceName=name, name="three", spec="port: 1\n")
    assert _error(info)[0] == "ValidationException"
    proton.get_waiter("service_instance_deployed").wait(
        serviceName=name, name="two", WaiterConfig=FAST
    )
    tags = proton.list_tags_for_resource(resourceArn=created["arn"])["tags"]
    assert [t for t in tags if not t["key"].startswith("aws:")] == [{"key": "tier", "value": "web"}]
    outputs = proton.list_service_instance_outputs(serviceName=name, serviceInstanceName="two")
    assert {"key": "url", "valueString": f"http://two.{world.env}.example:9090"} in outputs[
        "outputs"]  # fmt: skip

    def names(**kw: Any) -> list[str]:
        found = proton.list_service_instances(serviceName=name, **kw)["serviceInstances"]
        return [i["name"] for i in found]

    assert names(sortBy="name", sortOrder="DESCENDING") == ["two", "one"]
    assert names(filters=[{"key": "name", "value": "one"}]) == ["one"]
    assert names(filters=[{"key": "deployedTemplateVersionStatus", "value": "UP_TO_DATE"}]) == [
        "one", "two"]  # fmt: skip
    assert names(filters=[{"key": "createdAtBefore", "value": "2000-01-01T00:00:00Z"}]) == []
    page = proton.list_service_instances(serviceName=name, maxResults=1)
    rest = proton.list_service_instances(serviceName=name, nextToken=page["nextToken"])
    assert [i["name"] for i in page["serviceInstances"] + rest["serviceInstances"]] == [
        "one", "two"]  # fmt: skip
    with pytest.raises(ClientError) as info:
        proton.list_service_instances(serviceName="nope")
    assert _error(info) == ("ResourceNotFoundException", "The service nope was not found.")
    proton.delete_service(name=name)
    _gone(proton, name)
