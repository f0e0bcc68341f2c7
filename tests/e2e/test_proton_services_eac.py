"""A service whose instance lives in an environment provisioned through an environment account
connection, black-box on a server of its own with a second account: the instance's build runs in
the environment account with the connection's role and reports its outputs back to the
management account's service instance."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server, clean_env
from tests.e2e.test_proton_account_connections import ENV_ACCOUNT, SPEC, _client
from tests.e2e.test_proton_account_connections import _role as _account_role
from tests.e2e.test_proton_environments import FAST, _error, _name, _publish, _role
from tests.e2e.test_proton_services import REGION, _publish_service, _service_files, _service_spec
from tests.proton.bundles import example_files


@pytest.fixture(scope="module")
def two_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("services-eac") / "data").start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "hadron", "admin", "create-account",
             "--account-id", ENV_ACCOUNT, "--data-dir", str(srv.data_dir)],
            capture_output=True, text=True, timeout=60, check=False, env=clean_env(),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        yield srv
    finally:
        srv.stop()


def test_instance_in_a_connected_environment(two_accounts: Server, tmp_path: Path) -> None:
    server = two_accounts
    mgmt = server.account_id
    proton = server.client("proton")
    env_proton = _client(server, ENV_ACCOUNT, "proton")
    remote_role = _account_role(server, ENV_ACCOUNT)
    env_name = _name("env")
    connection = env_proton.create_environment_account_connection(
        managementAccountId=mgmt, environmentName=env_name, codebuildRoleArn=remote_role
    )["environmentAccountConnection"]["id"]
    proton.accept_environment_account_connection(id=connection)
    env_template = _publish(server, tmp_path, example_files("environment-template"))
    proton.create_environment(
        name=env_name, templateName=env_template, templateMajorVersion="1", spec=SPEC,
        environmentAccountConnectionId=connection,
    )  # fmt: skip
    proton.get_waiter("environment_deployed").wait(name=env_name, WaiterConfig=FAST)
    proton.update_account_settings(pipelineCodebuildRoleArn=_role(server))
    provision = [
        "python3 outputs.py > outputs.json",
        "aws sts get-caller-identity --query Arn --output text",
        'aws proton notify-resource-deployment-status-change --resource-arn "$RESOURCE_ARN" '
        "--outputs file://outputs.json",
    ]
    template = _publish_service(server, tmp_path, _service_files(provision), env_template)
    service = _name("svc")
    proton.create_service(
        name=service, templateName=template, templateMajorVersion="1",
        spec=_service_spec(env_name, "front"),
        repositoryConnectionArn=f"arn:aws:codestar-connections:{REGION}:{mgmt}:connection/abc",
        repositoryId="me/app", branchName="main",
    )  # fmt: skip
    proton.get_waiter("service_created").wait(name=service, WaiterConfig=FAST)
    instance = proton.get_service_instance(serviceName=service, name="front")["serviceInstance"]
    assert instance["deploymentStatus"] == "SUCCEEDED"
    # Its outputs came from the build in the environment account.
    outputs = proton.list_service_instance_outputs(serviceName=service, serviceInstanceName="front")
    assert {"key": "url", "valueString": f"http://front.{env_name}.example:8080"} in outputs[
        "outputs"
    ]
    # The build ran as the connection's role, in the environment account.
    log = server.data_dir / "logs" / f"{instance['lastAttemptedDeploymentId']}.log"
    role_name = remote_role.rsplit("/", 1)[-1]
    assert f"arn:aws:sts::{ENV_ACCOUNT}:assumed-role/{role_name}/AWSProton-" in log.read_text()
    # The environment account may report on the management account's instance (now settled:
    # nothing in progress), but not on the service's pipeline, which is not in its environment.
    with pytest.raises(ClientError) as info:
        env_proton.notify_resource_deployment_status_change(
            resourceArn=instance["arn"], outputs=[{"key": "late", "valueString": "x"}]
        )
    assert _error(info)[0] == "ConflictException"
    with pytest.raises(ClientError) as info:
        env_proton.notify_resource_deployment_status_change(
            resourceArn=f"arn:aws:proton:{REGION}:{mgmt}:service/{service}/pipeline",
            outputs=[{"key": "x", "valueString": "y"}],
        )
    assert _error(info)[0] == "ResourceNotFoundException"
