"""Directly defined components in process: the handlers (``hadron.proton.components``) over a real
SQLite store, with a provisioning queue that only records what it is given. Attaching goes
through ``SqlStore.component_service_instance``, which finds nothing in this slice; the attach
rules are exercised by standing a service instance in for it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hadron.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationError,
)
from hadron.proton.arns import ProtonArn, parse
from hadron.proton.components import ComponentsApi
from hadron.proton.deployments import CANCELLED_MESSAGE, RECOVERY_MESSAGE, Event
from hadron.proton.history import HistoryApi, deployment_result
from hadron.proton.provisioner import Provisioner, unavailable_message
from hadron.proton.quotas import Quotas
from hadron.store import SqlStore
from hadron.store.proton_records import ComponentHost, NewDeployment, RepositoryBranch
from hadron.types import Principal

from .conftest import NOW
from .test_proton_templates import REGION, _register, _template, _version

CFN = (
    "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n"
    "      rendering_engine: jinja\n      template_language: cloudformation\n"
)
TF = (
    'infrastructure:\n  templates:\n    - file: "*"\n'
    "      rendering_engine: hcl\n      template_language: terraform\n"
)
CODEBUILD = (
    "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n"
    "      settings:\n        provision: [echo hi]\n"
)
TEMPLATE = "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"
ROLE = "arn:aws:iam::123456789012:role/component"
LATER = NOW + timedelta(minutes=1)


@dataclass(frozen=True)
class _Call:
    principal: Principal
    params: Mapping[str, Any]
    region: str = REGION
    now: datetime = NOW


@dataclass
class _Queue:
    submitted: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def submit(self, deployment_id: str) -> None:
        self.submitted.append(deployment_id)

    def cancel(self, deployment_id: str) -> None:
        self.cancelled.append(deployment_id)


@dataclass
class World:
    store: SqlStore
    api: ComponentsApi
    queue: _Queue
    principal: Principal

    def call(self, params: Mapping[str, Any], now: datetime = NOW) -> _Call:
        return _Call(self.principal, params, now=now)

    def create(self, name: str = "c1", **kw: Any) -> dict[str, Any]:
        params = {"name": name, "manifest": CFN, "templateFile": TEMPLATE,
                  "environmentName": "env1", **kw}  # fmt: skip
        return dict(self.api.create(self.call(params))["component"])

    def fail(self, deployment_id: str, event: Event = Event.FAIL) -> None:
        self.store.finish_deployment(deployment_id, event, "not available", NOW)


def _arn(arn: str) -> ProtonArn:
    parsed = parse(arn)
    assert parsed is not None
    return parsed


def _environment(store: SqlStore, account: str, name: str, **kw: Any) -> None:
    values: dict[str, Any] = {
        "account_id": account, "region": REGION, "name": name, "description": None,
        "template_name": "env", "template_major": 1, "template_minor": 0, "spec": "s",
        "inputs": "{}", "proton_service_role_arn": "r", "codebuild_role_arn": None,
        "component_role_arn": ROLE, "environment_account_connection_id": None,
        "provisioning": None, "request_hash": "h", **kw,
    }  # fmt: skip
    store.create_environment(
        values, NewDeployment(f"d-{name}", "DEPLOY", "cloudformation", "{}"), tags=(), now=NOW,
        max_environments=100,
    )  # fmt: skip
    store.finish_deployment(f"d-{name}", Event.SUCCEED, None, NOW)


def _world(store: SqlStore, account: str, quotas: Quotas | None = None) -> World:
    _template(store, account)
    _register(store, _version(store, account))
    _environment(store, account, "env1")
    _environment(store, account, "norole", component_role_arn=None)
    queue = _Queue()
    principal = Principal(account, f"arn:aws:iam::{account}:root", account, "Root")
    return World(store, ComponentsApi(store, quotas or Quotas(), queue), queue, principal)


@pytest.fixture
def world(store: SqlStore, account: str) -> World:
    return _world(store, account)


def test_create_writes_component_and_deployment(world: World) -> None:
    created = world.create(tags=[{"key": "team", "value": "blue"}], clientToken="t1",
                           description="queue")  # fmt: skip
    arn = f"arn:aws:proton:{REGION}:{world.principal.account_id}:component/c1"
    assert created["arn"] == arn and created["environmentName"] == "env1"
    assert created["deploymentStatus"] == "IN_PROGRESS" and created["description"] == "queue"
    assert created["lastClientRequestToken"] == "t1"
    assert "serviceName" not in created and "lastDeploymentSucceededAt" not in created
    assert world.queue.submitted == [created["lastAttemptedDeploymentId"]]
    d = world.store.get_deployment(world.principal.account_id, REGION, world.queue.submitted[0])
    assert d is not None
    assert (d.target_type, d.target_arn, d.component_name, d.environment_name, d.engine) == (
        "COMPONENT", arn, "c1", "env1", "cloudformation",
    )  # fmt: skip
    assert json.loads(d.target_state)["templateFile"] == TEMPLATE
    env_arn = f"arn:aws:proton:{REGION}:{arn.split(':')[4]}:environment/env1"
    assert world.store.list_proton_tags(_arn(arn)) == [
        ("aws:proton:account", arn.split(":")[4]),
        ("aws:proton:component", arn),
        ("aws:proton:environment", env_arn),
        ("team", "blue"),
    ]
    # The same client token and parameters: the same component, nothing new started.
    again = world.create(tags=[{"key": "team", "value": "blue"}], clientToken="t1",
                         description="queue")  # fmt: skip
    assert again["lastAttemptedDeploymentId"] == created["lastAttemptedDeploymentId"]
    assert len(world.queue.submitted) == 1
    with pytest.raises(ValidationError, match="Idempotent parameter mismatch"):
        world.create(clientToken="t1", description="other")
    with pytest.raises(ConflictException, match="A component named c1 already exists"):
        world.create(clientToken="t2")


def test_bad_requests_create_nothing(store: SqlStore, account: str) -> None:
    world = _world(store, account)
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"manifest": CODEBUILD}, ValidationError, "manifest: components cannot use CodeBuild"),
        ({"manifest": "infrastructure: ["}, ValidationError, "manifest: "),
        ({"manifest": "engine: x"}, ValidationError, "manifest: "),
        (
            {"manifest": TF + TF.split("templates:\n")[1]},
            ValidationError,
            "exactly one template",
        ),
        ({"manifest": TF}, ValidationError, "manifest: the environment env1 does not use"),
        ({"environmentName": None}, ValidationError, "environmentName: is required"),
        ({"environmentName": "nope"}, ResourceNotFoundException, "The environment nope was"),
        (
            {"environmentName": "norole"},
            ValidationError,
            "environmentName: the environment norole has no componentRoleArn",
        ),
        ({"serviceSpec": "x"}, ValidationError, "serviceSpec: only a component attached"),
        ({"serviceName": "s1"}, ValidationError, "serviceInstanceName: serviceName and"),
        (
            {"serviceName": "s1", "serviceInstanceName": "i1"},
            ResourceNotFoundException,
            "^The service instance i1 of service s1 was not found.$",
        ),
        ({"tags": [{"key": "aws:x", "value": "v"}]}, ValidationError, "reserved"),
    ]
    for extra, error, message in cases:
        params = {"name": "c1", "manifest": CFN, "templateFile": TEMPLATE,
                  "environmentName": "env1", **extra}  # fmt: skip
        with pytest.raises(error, match=message):
            world.api.create(world.call({k: v for k, v in params.items() if v is not None}))
    assert world.store.list_components(account, REGION, environment=None, service=None,
                                       instance=None, after=None, limit=10) == []  # fmt: skip
    assert world.queue.submitted == []


def test_self_managed_environment_takes_terraform_components_without_a_role(
    store: SqlStore, account: str
) -> None:
    world = _world(store, account)
    _environment(store, account, "tf", component_role_arn=None, proton_service_role_arn=None,
                 repository_provider="GITHUB", repository_name="o/r",
                 repository_branch="main")  # fmt: skip
    env = store.get_environment(account, REGION, "tf")
    assert env is not None and env.repository == RepositoryBranch("GITHUB", "o/r", "main")
    with pytest.raises(ValidationError, match="manifest: the environment tf uses self-managed"):
        world.create(environmentName="tf")
    created = world.create(environmentName="tf", manifest=TF, templateFile='resource "x" "y" {}')
    d = store.get_deployment(account, REGION, created["lastAttemptedDeploymentId"])
    assert d is not None and d.engine == "terraform"


def test_quota(store: SqlStore, account: str) -> None:
    world = _world(store, account, Quotas(components=1))
    world.create("c1")
    with pytest.raises(ServiceQuotaExceededException, match=r"components \(1\)"):
        world.create("c2")


def test_update_rules(world: World) -> None:
    first = world.create()["lastAttemptedDeploymentId"]
    update = world.api.update
    with pytest.raises(ConflictException, match="Cannot update component c1: a deployment"):
        update(world.call({"name": "c1", "deploymentType": "CURRENT_VERSION"}))
    world.fail(first)
    with pytest.raises(ValidationError, match="deploymentType: components have no template"):
        update(world.call({"name": "c1", "deploymentType": "MINOR_VERSION"}))
    with pytest.raises(ValidationError, match=r"^templateFile: deploymentType NONE changes only"):
        update(world.call({"name": "c1", "deploymentType": "NONE", "templateFile": "x"}))
    with pytest.raises(ResourceNotFoundException, match="The component nope was not found"):
        update(world.call({"name": "nope", "deploymentType": "NONE"}))
    # NONE: the description only, no deployment.
    out = update(world.call({"name": "c1", "deploymentType": "NONE", "description": "d2"}, LATER))
    comp = out["component"]
    assert comp["description"] == "d2" and comp["deploymentStatus"] == "FAILED"
    assert comp["lastModifiedAt"] == LATER and len(world.queue.submitted) == 1
    # CURRENT_VERSION: a new deployment with the new template file.
    params = {"name": "c1", "deploymentType": "CURRENT_VERSION", "templateFile": "new",
              "clientToken": "u1"}  # fmt: skip
    comp = update(world.call(params, LATER))["component"]
    assert comp["deploymentStatus"] == "IN_PROGRESS" and comp["lastClientRequestToken"] == "u1"
    second = comp["lastAttemptedDeploymentId"]
    assert world.queue.submitted == [first, second]
    d = world.store.get_deployment(world.principal.account_id, REGION, second)
    assert d is not None and d.initial_state is not None
    assert json.loads(d.initial_state)["templateFile"] == TEMPLATE
    assert json.loads(d.target_state)["templateFile"] == "new"
    # The same client token again: nothing new even though a deployment is running.
    again = update(world.call(params, LATER))["component"]
    assert again["lastAttemptedDeploymentId"] == second and len(world.queue.submitted) == 2
    # Detached components have no serviceSpec; attaching needs the instance.
    world.fail(second)
    with pytest.raises(ValidationError, match="serviceSpec: only a component attached"):
        update(world.call({"name": "c1", "deploymentType": "CURRENT_VERSION", "serviceSpec": "x"}))
    with pytest.raises(ResourceNotFoundException, match="service instance i1 of service s1"):
        update(world.call({"name": "c1", "deploymentType": "CURRENT_VERSION",
                           "serviceName": "s1", "serviceInstanceName": "i1"}))  # fmt: skip


def test_cancel_reverts_the_component(world: World) -> None:
    world.create()
    first = world.queue.submitted[0]
    world.fail(first)
    params = {"name": "c1", "deploymentType": "CURRENT_VERSION", "templateFile": "new"}
    world.api.update(world.call(params))
    second = world.queue.submitted[1]
    out = world.api.cancel(world.call({"componentName": "c1"}))["component"]
    assert out["deploymentStatus"] == "CANCELLING" and world.queue.cancelled == [second]
    with pytest.raises(ConflictException, match="only IN_PROGRESS deployments can be cancelled"):
        world.api.cancel(world.call({"componentName": "c1"}))
    world.store.finish_deployment(second, Event.CANCELLED, CANCELLED_MESSAGE, LATER)
    comp = world.store.get_component(world.principal.account_id, REGION, "c1")
    assert comp is not None and comp.deployment_status == "CANCELLED"
    assert comp.template_file == TEMPLATE and comp.deployment_status_message == CANCELLED_MESSAGE
    with pytest.raises(ResourceNotFoundException):
        world.api.cancel(world.call({"componentName": "nope"}))


def test_delete_and_idempotent_retries(world: World) -> None:
    account = world.principal.account_id
    world.create(tags=[{"key": "k", "value": "v"}])
    first = world.queue.submitted[0]
    with pytest.raises(ConflictException, match="Cannot delete component c1: a deployment"):
        world.api.delete(world.call({"name": "c1"}))
    # The environment cannot be deleted while the component is in it.
    gone = NewDeployment("env-del", "DELETE", "cloudformation", "{}")
    with pytest.raises(ConflictException, match="component c1 is associated with it"):
        world.store.start_environment_delete(account, REGION, "env1", gone, NOW)
    world.fail(first)
    out = world.api.delete(world.call({"name": "c1"}))["component"]
    assert out["deploymentStatus"] == "DELETE_IN_PROGRESS"
    deleting = world.queue.submitted[1]
    again = world.api.delete(world.call({"name": "c1"}))["component"]
    assert again["lastAttemptedDeploymentId"] == deleting and len(world.queue.submitted) == 2
    world.store.finish_deployment(deleting, Event.DELETE_SUCCEED, None, NOW)
    assert world.store.get_component(account, REGION, "c1") is None
    assert world.store.get_deployment(account, REGION, first) is None
    assert world.api.delete(world.call({"name": "c1"}, LATER)) == {}
    with pytest.raises(ResourceNotFoundException, match="The component c1 was not found"):
        world.api.delete(world.call({"name": "c1"}, NOW + timedelta(hours=9)))
    with pytest.raises(ResourceNotFoundException):
        world.api.get(world.call({"name": "c1"}))
    # A new component of the same name starts without the old (customer) tags.
    world.create()
    tags = world.store.list_proton_tags(_arn(f"arn:aws:proton:{REGION}:{account}:component/c1"))
    assert [k for k, _ in tags if not k.startswith("aws:")] == []
    world.store.start_environment_delete(account, REGION, "norole", gone, NOW)


def test_attach_rules_through_the_instance_lookup(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = {
        ("s1", "i1"): ComponentHost("env1", True, "SUCCEEDED"),
        ("s1", "i2"): ComponentHost("env1", True, "SUCCEEDED"),
        ("s1", "busy"): ComponentHost("env1", True, "IN_PROGRESS"),
        ("s1", "old"): ComponentHost("env1", False, "SUCCEEDED"),
        ("s2", "far"): ComponentHost("norole", True, "SUCCEEDED"),
    }

    def lookup(account: str, region: str, service: str, instance: str) -> ComponentHost | None:
        return hosts.get((service, instance))

    monkeypatch.setattr(world.store, "component_service_instance", lookup)
    attached = {"serviceName": "s1", "serviceInstanceName": "i1", "serviceSpec": "spec"}
    with pytest.raises(ValidationError, match="does not list DIRECTLY_DEFINED"):
        world.create(serviceName="s1", serviceInstanceName="old", environmentName=None)
    with pytest.raises(ConflictException, match="has a deployment in progress"):
        world.create(serviceName="s1", serviceInstanceName="busy", environmentName=None)
    with pytest.raises(ValidationError, match="environmentName: the service instance i1"):
        world.create(environmentName="norole", **attached)
    comp = world.create(**attached)
    assert (comp["serviceName"], comp["serviceInstanceName"], comp["serviceSpec"]) == (
        "s1", "i1", "spec",
    )  # fmt: skip
    d = world.store.get_deployment(world.principal.account_id, REGION, world.queue.submitted[0])
    assert d is not None
    shown = deployment_result(d)
    assert (shown["serviceName"], shown["serviceInstanceName"], shown["componentName"]) == (
        "s1", "i1", "c1",
    )  # fmt: skip
    assert shown["targetState"] == {"component": {"serviceName": "s1",
        "serviceInstanceName": "i1", "serviceSpec": "spec", "templateFile": TEMPLATE}}  # fmt: skip
    with pytest.raises(ConflictException, match="already has the component c1 attached"):
        world.create("c2", **attached)
    world.fail(world.queue.submitted[0])
    with pytest.raises(ConflictException, match="it is attached to service instance i1"):
        world.api.delete(world.call({"name": "c1"}))
    update = world.api.update
    move = {"name": "c1", "deploymentType": "CURRENT_VERSION", "serviceName": "s1",
            "serviceInstanceName": "i2"}  # fmt: skip
    with pytest.raises(ValidationError, match="detach it first"):
        update(world.call(move))
    hosts[("s1", "i1")] = ComponentHost("env1", True, "IN_PROGRESS")
    with pytest.raises(ConflictException, match="service instance i1 of service s1 has a deploy"):
        update(world.call({"name": "c1", "deploymentType": "NONE", "description": "x"}))
    hosts[("s1", "i1")] = ComponentHost("env1", True, "SUCCEEDED")
    with pytest.raises(ValidationError, match="must both name a service instance or both be"):
        update(world.call({"name": "c1", "deploymentType": "CURRENT_VERSION", "serviceName": ""}))
    detached = update(world.call({"name": "c1", "deploymentType": "CURRENT_VERSION",
                                  "serviceName": "", "serviceInstanceName": ""}))  # fmt: skip
    comp = detached["component"]
    assert "serviceName" not in comp and "serviceSpec" not in comp
    assert comp["environmentName"] == "env1"
    world.fail(world.queue.submitted[1])
    far = {"name": "c1", "deploymentType": "CURRENT_VERSION", "serviceName": "s2",
           "serviceInstanceName": "far"}  # fmt: skip
    with pytest.raises(ValidationError, match="runs in environment norole"):
        update(world.call(far))
    moved = update(world.call(move))["component"]
    assert moved["serviceInstanceName"] == "i2" and "serviceSpec" not in moved
    listed = world.api.list(world.call({"serviceName": "s1", "serviceInstanceName": "i2"}))
    assert [c["name"] for c in listed["components"]] == ["c1"]


def test_list_filters_and_pages(world: World) -> None:
    for name in ("a1", "b2", "c3"):
        world.create(name)
    world.api.create(world.call({"name": "d4", "manifest": CFN, "templateFile": TEMPLATE,
                                 "environmentName": "env1"}))  # fmt: skip
    first = world.api.list(world.call({"maxResults": 2}))
    assert [c["name"] for c in first["components"]] == ["a1", "b2"]
    rest = world.api.list(world.call({"maxResults": 2, "nextToken": first["nextToken"]}))
    assert [c["name"] for c in rest["components"]] == ["c3", "d4"] and "nextToken" not in rest
    summary = first["components"][0]
    assert "description" not in summary and summary["environmentName"] == "env1"
    assert world.api.list(world.call({"environmentName": "norole"}))["components"] == []
    assert world.api.list(world.call({"serviceName": "s1"}))["components"] == []
    with pytest.raises(ValidationError, match="serviceName: is required"):
        world.api.list(world.call({"serviceInstanceName": "i1"}))
    with pytest.raises(ValidationError, match="nextToken"):
        world.api.list(world.call({"environmentName": "env1", "nextToken": first["nextToken"]}))


def test_outputs_history_and_notify(world: World) -> None:
    account = world.principal.account_id
    world.create()
    first = world.queue.submitted[0]
    history = HistoryApi(world.store)
    arn = f"arn:aws:proton:{REGION}:{account}:component/c1"
    notify = {"resourceArn": arn, "outputs": [{"key": "url", "valueString": "u1"}]}
    history.notify(world.call(notify))
    assert world.api.outputs(world.call({"componentName": "c1"}))["outputs"] == []
    history.notify(world.call({**notify, "status": "SUCCEEDED", "deploymentId": first}))
    comp = world.api.get(world.call({"name": "c1"}))["component"]
    assert comp["deploymentStatus"] == "SUCCEEDED" and comp["lastSucceededDeploymentId"] == first
    assert comp["lastDeploymentSucceededAt"] == NOW
    expected = [{"key": "url", "valueString": "u1"}]
    assert world.api.outputs(world.call({"componentName": "c1"}))["outputs"] == expected
    by_id = world.api.outputs(world.call({"componentName": "c1", "deploymentId": first}))
    assert by_id["outputs"] == expected
    with pytest.raises(ResourceNotFoundException, match="deployment"):
        world.api.outputs(world.call({"componentName": "c1", "deploymentId": "d-env1"}))
    with pytest.raises(ConflictException, match="no deployment in progress"):
        history.notify(world.call({**notify, "status": "SUCCEEDED"}))
    assert world.api.provisioned_resources(world.call({"componentName": "c1"})) == {
        "provisionedResources": []
    }
    with pytest.raises(ResourceNotFoundException):
        world.api.provisioned_resources(world.call({"componentName": "nope"}))
    # Deployment history: filters by component; the current deployment cannot be deleted.
    world.api.update(world.call({"name": "c1", "deploymentType": "CURRENT_VERSION"}, LATER))
    second = world.queue.submitted[1]
    world.fail(second)
    listed = history.list(world.call({"componentName": "c1"}))["deployments"]
    assert [d["id"] for d in listed] == [second, first]
    assert {d["componentName"] for d in listed} == {"c1"}
    assert {d["targetResourceType"] for d in listed} == {"COMPONENT"}
    in_env = history.list(world.call({"environmentName": "env1"}))["deployments"]
    assert {d["id"] for d in in_env} == {first, second, "d-env1"}
    page = history.list(world.call({"componentName": "c1", "maxResults": 1}))
    rest = history.list(world.call({"componentName": "c1", "nextToken": page["nextToken"]}))
    assert [d["id"] for d in rest["deployments"]] == [first]
    assert history.list(world.call({"componentName": "nope"}))["deployments"] == []
    got = history.get(world.call({"id": second, "componentName": "c1"}))["deployment"]
    assert got["targetState"]["component"] == {"templateFile": TEMPLATE}
    with pytest.raises(ResourceNotFoundException):
        history.get(world.call({"id": second, "componentName": "other"}))
    with pytest.raises(ValidationError, match="current deployment"):
        history.delete(world.call({"id": first}))  # its last succeeded one
    world.api.update(world.call({"name": "c1", "deploymentType": "CURRENT_VERSION"}))
    world.fail(world.queue.submitted[2])
    world.api.update(world.call({"name": "c1", "deploymentType": "CURRENT_VERSION"}))
    assert history.delete(world.call({"id": second}))["deployment"]["id"] == second


def _provisioner(store: SqlStore, tmp_path: Path) -> Provisioner:
    def assume(role: str, session: str, now: datetime, context: Mapping[str, Any]) -> Any:
        raise AssertionError("components never assume a CodeBuild role")

    return Provisioner(
        store, assume, lambda: LATER, data_dir=tmp_path, client_env=dict, bin_dir=None
    )


def test_provisioner_fails_component_deployments_and_completes_deletes(
    world: World, tmp_path: Path
) -> None:
    account = world.principal.account_id
    worker = _provisioner(world.store, tmp_path)
    world.create()
    worker.deploy(world.queue.submitted[0])
    comp = world.store.get_component(account, REGION, "c1")
    assert comp is not None and comp.deployment_status == "FAILED"
    assert comp.deployment_status_message == unavailable_message("cloudformation", "COMPONENT")
    assert comp.deployment_status_message.startswith(
        "AWS-managed provisioning of components (rendering_engine jinja, CloudFormation) is not "
        "available in Hadron yet"
    )
    assert "Terraform" in unavailable_message("terraform", "COMPONENT")
    world.api.delete(world.call({"name": "c1"}))
    worker.deploy(world.queue.submitted[1])
    assert world.store.get_component(account, REGION, "c1") is None


def test_restart_fails_an_interrupted_component_deployment(world: World, tmp_path: Path) -> None:
    account = world.principal.account_id
    world.create()
    _provisioner(world.store, tmp_path).start()
    comp = world.store.get_component(account, REGION, "c1")
    assert comp is not None and comp.deployment_status == "FAILED"
    assert comp.deployment_status_message == RECOVERY_MESSAGE
    d = world.store.get_deployment(account, REGION, world.queue.submitted[0])
    assert d is not None and d.deployment_status == "FAILED" and d.completed_at == LATER


def test_no_components_in_an_environment_being_deleted(world: World) -> None:
    account = world.principal.account_id
    gone = NewDeployment("env-del", "DELETE", "cloudformation", "{}")
    assert world.store.start_environment_delete(account, REGION, "env1", gone, NOW) is not None
    with pytest.raises(ConflictException, match="The environment env1 is being deleted"):
        world.create()
    assert world.queue.submitted == []
