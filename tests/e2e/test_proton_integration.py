"""Proton resources together, black-box on a server of their own (so the resource summary
counts this module's resources only): services with directly defined components attached to
their instances, and GetResourcesSummary over services, instances, pipelines and components."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server
from tests.e2e.test_proton_components import CFN, TEMPLATE
from tests.e2e.test_proton_environments import FAST, _error, _name
from tests.e2e.test_proton_services import World, _publish_service, _service_files, _service_spec


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("integration") / "data").start()
    yield srv
    srv.stop()


def _component_status(proton: Any, name: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        found = dict(proton.get_component(name=name)["component"])
        if found["deploymentStatus"] == status:
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


def test_components_on_service_instances_and_the_summary(
    own_server: Server, tmp_path: Path
) -> None:
    world = World(own_server, tmp_path)
    proton = world.proton
    proton.update_environment(name=world.env, deploymentType="NONE", componentRoleArn=world.role)
    template = _publish_service(
        own_server, tmp_path, _service_files(), world.env_template,
        supportedComponentSources=["DIRECTLY_DEFINED"],
    )  # fmt: skip
    service = _name("svc")
    world.create(service, "front", template=template)
    proton.get_waiter("service_created").wait(name=service, WaiterConfig=FAST)

    # The summary: one of each, all up to date; then a newer minor of the service template.
    counts = proton.get_resources_summary()["counts"]
    one = {"total": 1, "failed": 0, "upToDate": 1, "behindMajor": 0, "behindMinor": 0}
    assert counts["services"] == counts["serviceInstances"] == counts["pipelines"] == one
    assert counts["serviceTemplates"] == {"total": 2}
    _publish_service(own_server, tmp_path, _service_files(), world.env_template, template,
                     major="1", supportedComponentSources=["DIRECTLY_DEFINED"])  # fmt: skip
    behind = {"total": 1, "failed": 0, "upToDate": 0, "behindMajor": 0, "behindMinor": 1}
    counts = proton.get_resources_summary()["counts"]
    assert counts["services"] == counts["serviceInstances"] == counts["pipelines"] == behind

    # A component attached to the instance (CloudFormation: its deployment fails).
    component = _name("comp")
    created = proton.create_component(
        name=component, serviceName=service, serviceInstanceName="front", manifest=CFN,
        templateFile=TEMPLATE,
    )["component"]  # fmt: skip
    assert created["environmentName"] == world.env
    assert (created["serviceName"], created["serviceInstanceName"]) == (service, "front")
    _component_status(proton, component, "FAILED")
    assert proton.get_resources_summary()["counts"]["components"] == {"total": 1, "failed": 1}
    history = proton.list_deployments(componentName=component)["deployments"]
    assert [(d["serviceName"], d["serviceInstanceName"]) for d in history] == [(service, "front")]

    # An instance with an attached component cannot go, nor can its service.
    with pytest.raises(ClientError) as info:
        proton.delete_service(name=service)
    code, message = _error(info)
    assert code == "ConflictException" and component in message and "front" in message
    with pytest.raises(ClientError) as info:
        proton.update_service(name=service, spec=_service_spec(world.env, "back"))
    code, message = _error(info)
    assert code == "ConflictException" and component in message
    assert proton.get_service(name=service)["service"]["status"] == "ACTIVE"

    # A second component on the same instance is refused; an unknown instance is not found.
    with pytest.raises(ClientError) as info:
        proton.create_component(
            name=_name("comp"), serviceName=service, serviceInstanceName="front", manifest=CFN,
            templateFile=TEMPLATE,
        )  # fmt: skip
    assert _error(info)[0] == "ConflictException"
    with pytest.raises(ClientError) as info:
        proton.create_component(
            name=_name("comp"), serviceName=service, serviceInstanceName="nope", manifest=CFN,
            templateFile=TEMPLATE,
        )  # fmt: skip
    assert _error(info) == (
        "ResourceNotFoundException",
        f"The service instance nope of service {service} was not found.",
    )

    # Detached, the component no longer holds the service.
    proton.update_component(
        name=component, deploymentType="CURRENT_VERSION", serviceName="", serviceInstanceName=""
    )
    detached = _component_status(proton, component, "FAILED")
    assert "serviceName" not in detached
    proton.delete_service(name=service)
    proton.get_waiter("service_deleted").wait(name=service, WaiterConfig=FAST)
    proton.delete_component(name=component)
    proton.get_waiter("component_deleted").wait(name=component, WaiterConfig=FAST)
    counts = proton.get_resources_summary()["counts"]
    assert counts["services"]["total"] == counts["components"]["total"] == 0


def test_a_template_without_directly_defined_sources_refuses_components(
    server: Server, tmp_path: Path
) -> None:
    # On the shared server: the summary test counts own_server's resources exactly.
    world = World(server, tmp_path)
    proton = world.proton
    proton.update_environment(name=world.env, deploymentType="NONE", componentRoleArn=world.role)
    service = _name("svc")
    world.create(service, "solo")
    proton.get_waiter("service_created").wait(name=service, WaiterConfig=FAST)
    with pytest.raises(ClientError) as info:
        proton.create_component(
            name=_name("comp"), serviceName=service, serviceInstanceName="solo", manifest=CFN,
            templateFile=TEMPLATE,
        )  # fmt: skip
    code, message = _error(info)
    assert code == "ValidationException" and "DIRECTLY_DEFINED" in message
