"""GetResourcesSummary, black-box: a fresh server (so the counts are this test's alone), boto3
and the AWS CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server
from tests.e2e.test_proton_components import CFN, TEMPLATE
from tests.e2e.test_proton_environments import FAST, SPEC, _aws, _name, _publish, _role
from tests.proton.bundles import example_files

ZERO = {"total": 0, "failed": 0, "upToDate": 0, "behindMajor": 0, "behindMinor": 0}


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("summary") / "data",
        ("--region", "us-east-1", "--region", "us-west-2"),
    ).start()
    yield srv
    srv.stop()


def test_counts_follow_the_account(own_server: Server, tmp_path: Path) -> None:
    server = own_server
    proton = server.client("proton")
    empty = _aws(server, "get-resources-summary")["counts"]
    assert empty == {
        "environmentTemplates": {"total": 0},
        "serviceTemplates": {"total": 0},
        "environments": {"total": 0},
        "services": ZERO,
        "serviceInstances": ZERO,
        "pipelines": ZERO,
        "components": {"total": 0, "failed": 0},
    }
    template = _publish(server, tmp_path, example_files("environment-template"))
    proton.create_environment_template(name=_name("unused"))
    proton.create_service_template(name=_name("svc"))
    role = _role(server)
    name = _name("env")
    proton.create_environment(
        name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
        codebuildRoleArn=role, componentRoleArn=role,
    )  # fmt: skip
    proton.get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    # A component (CloudFormation: its deployment fails, as the engine is not available).
    component = _name("comp")
    proton.create_component(
        name=component, environmentName=name, manifest=CFN, templateFile=TEMPLATE
    )
    deadline = time.monotonic() + 60
    while proton.get_component(name=component)["component"]["deploymentStatus"] != "FAILED":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    counts = proton.get_resources_summary()["counts"]
    assert counts["environmentTemplates"] == {"total": 2}
    assert counts["serviceTemplates"] == {"total": 1}
    assert counts["environments"] == {"total": 1}
    assert counts["components"] == {"total": 1, "failed": 1}
    # Another region of the same account sees none of it.
    other = server.client("proton", region_name="us-west-2")
    assert other.get_resources_summary()["counts"]["environmentTemplates"] == {"total": 0}
