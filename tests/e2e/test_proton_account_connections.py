"""Environment account connections, black-box: a real server with several accounts (created with
``hadron admin create-account``), boto3 and the AWS CLI. An environment of the management
account is provisioned through a connection by the example CodeBuild bundle, with the
environment account's role; its commands report outputs back to the management account."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.server import Server, clean_env
from tests.e2e.test_proton_environments import (
    AWS,
    FAST,
    NOTIFY,
    PROTON_TRUST,
    _error,
    _files,
    _gone,
    _manifest,
    _name,
    _publish,
    _settled,
    _wait,
)

ENV_ACCOUNT = "222233334444"
OTHER_ENV_ACCOUNT = "555566667777"
THIRD = "888899990000"
SPEC = "proton: EnvironmentSpec\nspec:\n  network_name: green\n  size: small\n  replicas: 2\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server (quota: one connection per environment account) with three more accounts."""
    srv = Server(
        tmp_path_factory.mktemp("eac") / "data", ("--proton-max-account-connections", "1")
    ).start()
    try:
        for account in (ENV_ACCOUNT, OTHER_ENV_ACCOUNT, THIRD):
            done = subprocess.run(
                [sys.executable, "-m", "hadron", "admin", "create-account",
                 "--account-id", account, "--data-dir", str(srv.data_dir)],
                capture_output=True, text=True, timeout=60, check=False, env=clean_env(),
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        yield srv
    finally:
        srv.stop()


def _client(server: Server, account: str, service: str) -> Any:
    core = botocore.session.Session(profile=f"account-{account}")
    core.set_config_variable("config_file", str(server.data_dir / "aws" / "config"))
    core.set_config_variable("credentials_file", str(server.data_dir / "aws" / "credentials"))
    config = Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.Session(botocore_session=core).client(service, config=config)


def _aws(server: Server, account: str | None, *args: str) -> Any:
    env = server.aws_env
    if account is not None:
        env["AWS_PROFILE"] = f"account-{account}"
    done = subprocess.run(
        [AWS, "proton", *args, "--output", "json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "{}")


def _role(server: Server, account: str, prefix: str = "eac-codebuild") -> str:
    iam = _client(server, account, "iam")
    name = _name(prefix)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(PROTON_TRUST))
    iam.put_role_policy(RoleName=name, PolicyName="notify", PolicyDocument=json.dumps(NOTIFY))
    return str(arn["Role"]["Arn"])


def _ids(client: Any, requested_by: str, **kw: Any) -> list[str]:
    found = client.list_environment_account_connections(requestedBy=requested_by, **kw)
    return [c["id"] for c in found["environmentAccountConnections"]]


def test_environment_provisioned_through_a_connection(world: Server, tmp_path: Path) -> None:
    server = world
    mgmt = server.account_id
    proton = server.client("proton")
    env_proton = _client(server, ENV_ACCOUNT, "proton")
    codebuild = _role(server, ENV_ACCOUNT)
    name = _name("env")
    # The environment account asks (AWS CLI): PENDING, its ARN in the environment account.
    created = _aws(
        server, ENV_ACCOUNT, "create-environment-account-connection",
        "--management-account-id", mgmt, "--environment-name", name,
        "--codebuild-role-arn", codebuild, "--tags", "key=team,value=green",
    )["environmentAccountConnection"]  # fmt: skip
    cid = created["id"]
    arn = f"arn:aws:proton:us-east-1:{ENV_ACCOUNT}:environment-account-connection/{cid}"
    assert (created["status"], created["arn"]) == ("PENDING", arn)
    assert (created["managementAccountId"], created["environmentAccountId"]) == (mgmt, ENV_ACCOUNT)
    assert env_proton.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "team", "value": "green"}
    ]
    # Both sides list it; a third account sees nothing.
    assert cid in _ids(env_proton, "ENVIRONMENT_ACCOUNT")
    assert cid in _ids(proton, "MANAGEMENT_ACCOUNT", statuses=["PENDING"])
    third = _client(server, THIRD, "proton")
    assert _ids(third, "MANAGEMENT_ACCOUNT") == [] and _ids(third, "ENVIRONMENT_ACCOUNT") == []
    with pytest.raises(ClientError) as info:
        third.get_environment_account_connection(id=cid)
    assert _error(info)[0] == "ResourceNotFoundException"
    # The management account accepts (AWS CLI).
    accepted = _aws(server, None, "accept-environment-account-connection", "--id", cid)
    assert accepted["environmentAccountConnection"]["status"] == "CONNECTED"
    # An environment of the management account, provisioned through the connection.
    # The example bundle, which also prints the identity the build runs as.
    provision = [
        "python3 outputs.py > outputs.json",
        "aws sts get-caller-identity --query Arn --output text",
        'aws proton notify-resource-deployment-status-change --resource-arn "$RESOURCE_ARN" '
        "--outputs file://outputs.json",
    ]
    manifest = _manifest(provision, ['echo "Deprovisioning $RESOURCE_ARN"'])
    template = _publish(server, tmp_path, _files(manifest))
    env = _aws(
        server, None, "create-environment", "--name", name, "--template-name", template,
        "--template-major-version", "1", "--spec", SPEC,
        "--environment-account-connection-id", cid,
    )["environment"]  # fmt: skip
    assert env["arn"] == f"arn:aws:proton:us-east-1:{mgmt}:environment/{name}"
    assert (env["environmentAccountConnectionId"], env["environmentAccountId"]) == (
        cid, ENV_ACCOUNT,
    )  # fmt: skip
    assert "codebuildRoleArn" not in env
    _aws(server, None, "wait", "environment-deployed", "--name", name)
    outputs = _aws(server, None, "list-environment-outputs", "--environment-name", name)
    assert outputs["outputs"] == [
        {"key": "capacity", "valueString": "2"},
        {"key": "network_id", "valueString": "net-green"},
        {"key": "network_name", "valueString": "green"},
    ]
    got = proton.get_environment(name=name)["environment"]
    log = server.data_dir / "logs" / f"{got['lastAttemptedDeploymentId']}.log"
    # The build ran as the connection's role, in the environment account.
    role_name = codebuild.rsplit("/", 1)[-1]
    assert f"arn:aws:sts::{ENV_ACCOUNT}:assumed-role/{role_name}/AWSProton-" in log.read_text()
    # In use: the management account cannot reject it.
    with pytest.raises(ClientError) as info:
        proton.reject_environment_account_connection(id=cid)
    code, message = _error(info)
    assert code == "ConflictException" and name in message
    # The environment account changes the roles; the environment takes the component role.
    component = _role(server, ENV_ACCOUNT, "eac-component")
    updated = _aws(
        server, ENV_ACCOUNT, "update-environment-account-connection", "--id", cid,
        "--component-role-arn", component,
    )["environmentAccountConnection"]  # fmt: skip
    assert updated["componentRoleArn"] == component
    assert proton.get_environment(name=name)["environment"]["componentRoleArn"] == component
    # Only the environment account deletes; then deployments fail with a clear message.
    with pytest.raises(ClientError) as info:
        proton.delete_environment_account_connection(id=cid)
    assert _error(info)[0] == "ValidationException"
    deleted = env_proton.delete_environment_account_connection(id=cid)
    assert deleted["environmentAccountConnection"]["id"] == cid
    proton.update_environment(name=name, deploymentType="CURRENT_VERSION")
    failed = _wait(proton, name, _settled)
    assert failed["deploymentStatus"] == "FAILED"
    assert (
        f"environment account connection {cid} no longer exists"
        in failed["deploymentStatusMessage"]
    )
    # A new accepted connection for the same environment account + environment repairs it.
    again = env_proton.create_environment_account_connection(
        managementAccountId=mgmt, environmentName=name, codebuildRoleArn=codebuild
    )["environmentAccountConnection"]
    proton.accept_environment_account_connection(id=again["id"])
    proton.update_environment(
        name=name, deploymentType="CURRENT_VERSION", environmentAccountConnectionId=again["id"]
    )
    proton.get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    proton.delete_environment(name=name)
    _gone(proton, name)
    env_proton.delete_environment_account_connection(id=again["id"])


def test_error_paths(world: Server) -> None:
    server = world
    mgmt = server.account_id
    proton = server.client("proton")
    other = _client(server, OTHER_ENV_ACCOUNT, "proton")

    def refused(call: Any, **kw: Any) -> tuple[str, str]:
        with pytest.raises(ClientError) as info:
            call(**kw)
        return _error(info)

    code, message = refused(
        other.create_environment_account_connection,
        managementAccountId="999999999999", environmentName="x",
    )  # fmt: skip
    assert code == "ValidationException" and message.startswith("managementAccountId")
    pending = other.create_environment_account_connection(
        managementAccountId=mgmt, environmentName="blue"
    )["environmentAccountConnection"]
    # The quota is one connection per environment account here.
    code, _ = refused(
        other.create_environment_account_connection, managementAccountId=mgmt,
        environmentName="red",
    )  # fmt: skip
    assert code == "ServiceQuotaExceededException"
    # Only the management account accepts; a PENDING connection provisions nothing.
    code, _ = refused(other.accept_environment_account_connection, id=pending["id"])
    assert code == "ValidationException"
    code, message = refused(
        proton.create_environment, name="blue", templateName="nothing", templateMajorVersion="1",
        spec="proton: EnvironmentSpec\nspec: {}\n", environmentAccountConnectionId=pending["id"],
    )  # fmt: skip
    assert code == "ValidationException" and "is PENDING" in message
    assert message.startswith("environmentAccountConnectionId")
    code, message = refused(
        proton.create_environment, name="green", templateName="t", templateMajorVersion="1",
        spec="proton: EnvironmentSpec\nspec: {}\n", environmentAccountConnectionId=pending["id"],
    )  # fmt: skip
    assert code == "ValidationException" and "is for environment blue, not green" in message
    # Rejected: final; accepting it again conflicts.
    rejected = proton.reject_environment_account_connection(id=pending["id"])
    assert rejected["environmentAccountConnection"]["status"] == "REJECTED"
    code, _ = refused(proton.accept_environment_account_connection, id=pending["id"])
    assert code == "ConflictException"
    assert _ids(proton, "MANAGEMENT_ACCOUNT", statuses=["REJECTED"]) == [pending["id"]]
    # A third account: not found, whatever it asks.
    third = _client(server, THIRD, "proton")
    for call in (
        third.accept_environment_account_connection,
        third.reject_environment_account_connection,
        third.update_environment_account_connection,
        third.delete_environment_account_connection,
    ):
        assert refused(call, id=pending["id"])[0] == "ResourceNotFoundException"
    other.delete_environment_account_connection(id=pending["id"])
    assert refused(proton.get_environment_account_connection, id=pending["id"])[0] == (
        "ResourceNotFoundException"
    )


def test_identity_policy_governs_accept_in_the_management_account(world: Server) -> None:
    """Accept/Reject from the management account are authorized by the caller's identity
    policy alone, on the connection's own ARN (in the environment account)."""
    server = world
    iam = server.client("iam")
    user = _name("reader")
    iam.create_user(UserName=user)

    def allow(action: str, resource: str) -> None:
        statement = {"Effect": "Allow", "Action": action, "Resource": resource}
        document = {"Version": "2012-10-17", "Statement": [statement]}
        iam.put_user_policy(
            UserName=user, PolicyName=action.replace(":", "-").replace("*", "all"),
            PolicyDocument=json.dumps(document),
        )  # fmt: skip

    allow("proton:Get*", "*")
    key = iam.create_access_key(UserName=user)["AccessKey"]
    reader = boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
        region_name="us-east-1",
    ).client(
        "proton", endpoint_url=server.endpoint, verify=str(server.ca),
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )  # fmt: skip
    env_proton = _client(server, ENV_ACCOUNT, "proton")
    pending = env_proton.create_environment_account_connection(
        managementAccountId=server.account_id, environmentName="authz"
    )["environmentAccountConnection"]
    try:
        got = reader.get_environment_account_connection(id=pending["id"])
        assert got["environmentAccountConnection"]["status"] == "PENDING"
        with pytest.raises(ClientError) as info:
            reader.accept_environment_account_connection(id=pending["id"])
        code, message = _error(info)
        assert code == "AccessDeniedException"
        assert f"proton:AcceptEnvironmentAccountConnection on resource: {pending['arn']}" in (
            message
        )
        allow(
            "proton:AcceptEnvironmentAccountConnection",
            f"arn:aws:proton:us-east-1:{ENV_ACCOUNT}:environment-account-connection/*",
        )
        accepted = reader.accept_environment_account_connection(id=pending["id"])
        assert accepted["environmentAccountConnection"]["status"] == "CONNECTED"
    finally:
        env_proton.delete_environment_account_connection(id=pending["id"])
