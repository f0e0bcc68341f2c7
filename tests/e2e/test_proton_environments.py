"""Proton environments, deployments and CodeBuild-style provisioning, black-box: a real server,
boto3 and the AWS CLI. Provisioning runs the example bundle's commands, which call back into
the server with ``aws proton notify-resource-deployment-status-change`` using the temporary
credentials of a role trusted by ``proton.amazonaws.com``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from hadron import cli
from hadron.proton.deployments import CANCELLED_MESSAGE, RECOVERY_MESSAGE
from tests.e2e.server import Server
from tests.e2e.test_proton_authz import _user_with_policy
from tests.proton.bundles import example_files, tar_gz

AWS = str(Path(sys.executable).parent / "aws")
FAST = {"Delay": 1, "MaxAttempts": 60}
SPEC = "proton: EnvironmentSpec\nspec:\n  network_name: blue\n  size: medium\n  replicas: 3\n"
PROTON_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "proton.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
NOTIFY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "proton:NotifyResourceDeploymentStatusChange",
            "Resource": "*",
        }
    ],
}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return str(info.value.response["Error"]["Code"]), str(info.value.response["Error"]["Message"])


def _files(manifest: str) -> dict[str, bytes]:
    """The example environment bundle with another manifest."""
    return example_files("environment-template") | {
        "infrastructure/manifest.yaml": manifest.encode()
    }


def _manifest(provision: list[str], deprovision: list[str] | None = None) -> str:
    doc: dict[str, Any] = {"rendering_engine": "codebuild", "settings": {"provision": provision}}
    if deprovision is not None:
        doc["settings"]["deprovision"] = deprovision
    return json.dumps({"infrastructure": {"templates": [doc]}})


def _publish(
    server: Server, tmp_path: Path, files: Mapping[str, bytes], name: str | None = None,
    *, major: str | None = None, publish: bool = True, provisioning: str | None = None,
) -> str:  # fmt: skip
    """Register (and publish) a version of ``files``; the template name."""
    proton = server.client("proton")
    if name is None:
        name = _name("tmpl")
        extra = {"provisioning": provisioning} if provisioning else {}
        proton.create_environment_template(name=name, **extra)
    key = f"{uuid.uuid4().hex}.tar.gz"
    path = tmp_path / key
    path.write_bytes(tar_gz(files))
    url = f"s3://templates/{key}"
    assert cli.main(["bundle", "put", str(path), url, "--data-dir", str(server.data_dir)]) == 0
    extra = {"majorVersion": major} if major else {}
    created = proton.create_environment_template_version(
        templateName=name, source={"s3": {"bucket": "templates", "key": key}}, **extra
    )["environmentTemplateVersion"]
    ref = {
        "templateName": name,
        "majorVersion": created["majorVersion"],
        "minorVersion": created["minorVersion"],
    }
    proton.get_waiter("environment_template_version_registered").wait(**ref, WaiterConfig=FAST)
    if publish:
        proton.update_environment_template_version(**ref, status="PUBLISHED")
    return name


def _role(server: Server, trust: Mapping[str, Any] = PROTON_TRUST) -> str:
    iam = server.client("iam")
    name = _name("codebuild")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="notify", PolicyDocument=json.dumps(NOTIFY))
    return str(arn)


def _wait(proton: Any, name: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        env = proton.get_environment(name=name)["environment"]
        if done(env) or time.monotonic() > deadline:
            return dict(env)
        time.sleep(0.3)


def _settled(env: dict[str, Any]) -> bool:
    return env["deploymentStatus"] not in ("IN_PROGRESS", "CANCELLING", "DELETE_IN_PROGRESS")


def _gone(proton: Any, name: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            proton.get_environment(name=name)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
            return
        time.sleep(0.3)
    raise AssertionError(f"environment {name} was not deleted")


def _aws(server: Server, *args: str) -> Any:
    done = subprocess.run(
        [AWS, "proton", *args, "--output", "json"],
        env=server.aws_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout or "{}")


def test_environment_lifecycle_with_the_aws_cli(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    template = _publish(server, tmp_path, example_files("environment-template"))
    role = _role(server)
    name = _name("env")
    created = _aws(
        server, "create-environment", "--name", name, "--template-name", template,
        "--template-major-version", "1", "--spec", SPEC, "--codebuild-role-arn", role,
        "--tags", "key=team,value=blue",
    )["environment"]  # fmt: skip
    arn = f"arn:aws:proton:us-east-1:{server.account_id}:environment/{name}"
    assert created["arn"] == arn
    assert created["deploymentStatus"] == "IN_PROGRESS"
    assert (created["templateMajorVersion"], created["templateMinorVersion"]) == ("1", "0")
    assert created["codebuildRoleArn"] == role and created["spec"] == SPEC
    _aws(server, "wait", "environment-deployed", "--name", name)
    env = proton.get_environment(name=name)["environment"]
    assert env["deploymentStatus"] == "SUCCEEDED"
    assert env["lastSucceededDeploymentId"] == env["lastAttemptedDeploymentId"]
    outputs = _aws(server, "list-environment-outputs", "--environment-name", name)["outputs"]
    assert outputs == [
        {"key": "capacity", "valueString": "6"},
        {"key": "network_id", "valueString": "net-blue"},
        {"key": "network_name", "valueString": "blue"},
    ]
    tags = proton.list_tags_for_resource(resourceArn=arn)["tags"]
    assert tags == [
        {"key": "aws:proton:account", "value": server.account_id},
        {"key": "aws:proton:environment", "value": arn},
        {"key": "aws:proton:template", "value": arn.replace(
            f"environment/{name}", f"environment-template/{template}")},
        {"key": "team", "value": "blue"},
    ]  # fmt: skip
    log = server.data_dir / "logs" / f"{env['lastAttemptedDeploymentId']}.log"
    assert "[Container] Running command python3 outputs.py > outputs.json" in log.read_text()
    # A new minor version, published: MINOR_VERSION moves to it (spec kept).
    _publish(server, tmp_path, example_files("environment-template"), template, major="1")
    updated = proton.update_environment(name=name, deploymentType="MINOR_VERSION")["environment"]
    assert (updated["deploymentStatus"], updated["templateMinorVersion"]) == ("IN_PROGRESS", "1")
    proton.get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    history = proton.list_deployments(environmentName=name)["deployments"]
    assert [d["deploymentStatus"] for d in history] == ["SUCCEEDED", "SUCCEEDED"]
    latest = proton.get_deployment(id=history[0]["id"])["deployment"]
    assert latest["targetState"]["environment"]["templateMinorVersion"] == "1"
    assert latest["initialState"]["environment"]["templateMinorVersion"] == "0"
    assert latest["targetResourceType"] == "ENVIRONMENT" and latest["targetArn"] == arn
    # Outputs of the first deployment stay readable by its id.
    first = proton.list_environment_outputs(environmentName=name, deploymentId=history[1]["id"])
    assert len(first["outputs"]) == 3
    # The version in use cannot be deleted.
    with pytest.raises(ClientError) as info:
        proton.delete_environment_template_version(
            templateName=template, majorVersion="1", minorVersion="1"
        )
    code, message = _error(info)
    assert code == "ConflictException" and name in message
    deleting = _aws(server, "delete-environment", "--name", name)["environment"]
    assert deleting["deploymentStatus"] == "DELETE_IN_PROGRESS"
    _gone(proton, name)
    with pytest.raises(ClientError) as info:
        proton.list_tags_for_resource(resourceArn=arn)
    assert _error(info)[0] == "ResourceNotFoundException"
    assert proton.delete_environment(name=name).get("environment") is None  # idempotent retry
    proton.delete_environment_template_version(
        templateName=template, majorVersion="1", minorVersion="0"
    )


def test_failed_provisioning_names_the_failure(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    manifest = _manifest(["echo preparing the network", "echo the quota is exhausted >&2; exit 3"])
    template = _publish(server, tmp_path, _files(manifest))
    name = _name("env")
    proton.create_environment(
        name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
        codebuildRoleArn=_role(server),
    )  # fmt: skip
    env = _wait(proton, name, _settled)
    assert env["deploymentStatus"] == "FAILED"
    message = env["deploymentStatusMessage"]
    assert "exit status 3" in message and "the quota is exhausted" in message
    assert proton.list_environment_outputs(environmentName=name)["outputs"] == []
    deployment = proton.get_deployment(id=env["lastAttemptedDeploymentId"])["deployment"]
    assert deployment["deploymentStatus"] == "FAILED" and "completedAt" in deployment
    # A failed environment can be deleted (no deprovision commands: nothing to undo).
    proton.delete_environment(name=name)
    _gone(proton, name)


def test_untrusting_role_fails_the_deployment(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    template = _publish(server, tmp_path, example_files("environment-template"))
    trust = json.loads(json.dumps(PROTON_TRUST))
    trust["Statement"][0]["Principal"] = {"Service": "codebuild.amazonaws.com"}
    name = _name("env")
    proton.create_environment(
        name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
        codebuildRoleArn=_role(server, trust),
    )  # fmt: skip
    env = _wait(proton, name, _settled)
    assert env["deploymentStatus"] == "FAILED"
    assert "trust proton.amazonaws.com" in env["deploymentStatusMessage"]
    # Deleting runs deprovision with the same role: it fails too, until the trust is fixed.
    proton.delete_environment(name=name)
    env = _wait(proton, name, _settled)
    assert env["deploymentStatus"] == "DELETE_FAILED"
    role = env["codebuildRoleArn"].rsplit("/", 1)[1]
    server.client("iam").update_assume_role_policy(
        RoleName=role, PolicyDocument=json.dumps(PROTON_TRUST)
    )
    proton.delete_environment(name=name)
    _gone(proton, name)


def test_cancel_stops_the_build(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    manifest = _manifest(["echo started", "sleep 60"])
    template = _publish(server, tmp_path, _files(manifest))
    name = _name("env")
    proton.create_environment(
        name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
        codebuildRoleArn=_role(server),
    )  # fmt: skip
    log = server.data_dir / "logs"
    deployment = proton.get_environment(name=name)["environment"]["lastAttemptedDeploymentId"]
    deadline = time.monotonic() + 30
    while "sleep 60" not in _read(log / f"{deployment}.log") and time.monotonic() < deadline:
        time.sleep(0.2)
    # Busy: update and delete are refused.
    with pytest.raises(ClientError) as info:
        proton.update_environment(name=name, deploymentType="CURRENT_VERSION")
    assert _error(info)[0] == "ConflictException"
    with pytest.raises(ClientError) as info:
        proton.delete_environment(name=name)
    assert _error(info)[0] == "ConflictException"
    started = time.monotonic()
    cancelling = proton.cancel_environment_deployment(environmentName=name)["environment"]
    assert cancelling["deploymentStatus"] == "CANCELLING"
    env = _wait(proton, name, _settled)
    assert time.monotonic() - started < 20
    assert env["deploymentStatus"] == "CANCELLED"
    assert env["deploymentStatusMessage"] == CANCELLED_MESSAGE
    with pytest.raises(ClientError) as info:
        proton.cancel_environment_deployment(environmentName=name)
    assert _error(info)[0] == "ConflictException"
    proton.delete_environment(name=name)
    _gone(proton, name)


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_deployment_history_rules(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    manifest = _manifest(["echo ok"])
    template = _publish(server, tmp_path, _files(manifest))
    name = _name("env")
    role = _role(server)
    proton.create_environment(
        name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
        codebuildRoleArn=role, description="first",
    )  # fmt: skip
    proton.get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    first = proton.get_environment(name=name)["environment"]["lastAttemptedDeploymentId"]
    # NONE changes metadata only; no deployment.
    updated = proton.update_environment(name=name, deploymentType="NONE", description="second")
    assert updated["environment"]["description"] == "second"
    assert updated["environment"]["lastAttemptedDeploymentId"] == first
    with pytest.raises(ClientError) as info:
        proton.update_environment(name=name, deploymentType="NONE", spec=SPEC)
    assert _error(info)[0] == "ValidationException"
    spec2 = SPEC.replace("replicas: 3", "replicas: ${Proton::CURRENT_VAL}").replace("blue", "green")
    proton.update_environment(name=name, deploymentType="CURRENT_VERSION", spec=spec2)
    proton.get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    second = proton.get_environment(name=name)["environment"]["lastAttemptedDeploymentId"]
    page = proton.list_deployments(environmentName=name, maxResults=1)
    assert [d["id"] for d in page["deployments"]] == [second]
    rest = proton.list_deployments(environmentName=name, nextToken=page["nextToken"])
    assert [d["id"] for d in rest["deployments"]] == [first]
    # The current deployment cannot be deleted; an older finished one can.
    with pytest.raises(ClientError) as info:
        proton.delete_deployment(id=second)
    assert _error(info)[0] == "ValidationException"
    deleted = proton.delete_deployment(id=first)["deployment"]
    assert deleted["id"] == first
    with pytest.raises(ClientError) as info:
        proton.get_deployment(id=first)
    assert _error(info)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        proton.get_deployment(id=second, environmentName="other")
    assert _error(info)[0] == "ResourceNotFoundException"
    # MAJOR_VERSION moves to the highest major with a published minor (a new major 2.0).
    _publish(server, tmp_path, _files(manifest), template)
    major = proton.update_environment(name=name, deploymentType="MAJOR_VERSION")["environment"]
    assert (major["templateMajorVersion"], major["templateMinorVersion"]) == ("2", "0")
    proton.get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    state = proton.get_deployment(id=major["lastAttemptedDeploymentId"])["deployment"]
    assert state["targetState"]["environment"]["templateMajorVersion"] == "2"
    assert "green" in state["targetState"]["environment"]["spec"]  # the spec is kept
    # A notification when nothing is running conflicts.
    arn = f"arn:aws:proton:us-east-1:{server.account_id}:environment/{name}"
    with pytest.raises(ClientError) as info:
        proton.notify_resource_deployment_status_change(resourceArn=arn, status="SUCCEEDED")
    assert _error(info)[0] == "ConflictException"
    proton.delete_environment(name=name)
    _gone(proton, name)


def test_notify_with_status_finishes_a_running_deployment(server: Server, tmp_path: Path) -> None:
    # Self-managed style: an external caller reports SUCCEEDED with outputs and deploymentId.
    proton = server.client("proton")
    manifest = _manifest(["sleep 60"])
    template = _publish(server, tmp_path, _files(manifest))
    name = _name("env")
    proton.create_environment(
        name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
        codebuildRoleArn=_role(server),
    )  # fmt: skip
    env = proton.get_environment(name=name)["environment"]
    arn = env["arn"]
    with pytest.raises(ClientError) as info:
        proton.notify_resource_deployment_status_change(
            resourceArn=arn, status="SUCCEEDED", deploymentId=str(uuid.uuid4())
        )
    assert _error(info)[0] == "ConflictException"
    proton.notify_resource_deployment_status_change(
        resourceArn=arn,
        status="SUCCEEDED",
        deploymentId=env["lastAttemptedDeploymentId"],
        outputs=[{"key": "vpc", "valueString": "vpc-1"}],
        statusMessage="applied by hand",
    )
    done = proton.get_environment(name=name)["environment"]
    assert (done["deploymentStatus"], done["deploymentStatusMessage"]) == (
        "SUCCEEDED",
        "applied by hand",
    )
    outputs = proton.list_environment_outputs(environmentName=name)["outputs"]
    assert outputs == [{"key": "vpc", "valueString": "vpc-1"}]
    with pytest.raises(ClientError) as info:
        proton.notify_resource_deployment_status_change(
            resourceArn=f"arn:aws:proton:us-east-1:{server.account_id}:environment/nope"
        )
    assert _error(info)[0] == "ResourceNotFoundException"
    proton.delete_environment(name=name)
    _gone(proton, name)


def test_engines_not_available_fail_with_a_message(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    cfn = json.dumps(
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
    files = {
        "schema/schema.yaml": example_files("environment-template")["schema/schema.yaml"],
        "infrastructure/manifest.yaml": cfn.encode(),
        "infrastructure/cloudformation.yaml": b"Resources: {}\n",
    }
    template = _publish(server, tmp_path, files)
    name = _name("env")
    with pytest.raises(ClientError) as info:
        proton.create_environment(
            name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
            codebuildRoleArn=_role(server),
        )  # fmt: skip
    code, message = _error(info)
    assert code == "ValidationException" and message.startswith("protonServiceRoleArn")
    proton.create_environment(
        name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
        protonServiceRoleArn=f"arn:aws:iam::{server.account_id}:role/proton-service",
    )  # fmt: skip
    env = _wait(proton, name, _settled)
    assert env["deploymentStatus"] == "FAILED"
    assert "CloudFormation" in env["deploymentStatusMessage"]
    assert "not available in Hadron yet" in env["deploymentStatusMessage"]
    proton.delete_environment(name=name)
    _gone(proton, name)


def test_customer_managed_environment_outputs_its_spec(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    schema = (
        "schema:\n  format:\n    openapi: 3.0.0\n  environment_input_type: Imported\n"
        "  types:\n    Imported:\n      type: object\n      properties:\n"
        "        vpc_id:\n          type: string\n      required: [vpc_id]\n"
    )
    template = _publish(
        server, tmp_path, {"schema/schema.yaml": schema.encode()},
        provisioning="CUSTOMER_MANAGED",
    )  # fmt: skip
    name = _name("env")
    spec = "proton: EnvironmentSpec\nspec:\n  vpc_id: vpc-0123\n"
    created = proton.create_environment(
        name=name, templateName=template, templateMajorVersion="1", spec=spec,
        protonServiceRoleArn=f"arn:aws:iam::{server.account_id}:role/proton-service",
    )["environment"]  # fmt: skip
    assert created["provisioning"] == "CUSTOMER_MANAGED"
    proton.get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    outputs = proton.list_environment_outputs(environmentName=name)["outputs"]
    assert outputs == [{"key": "vpc_id", "valueString": "vpc-0123"}]
    proton.delete_environment(name=name)
    _gone(proton, name)


def test_bad_requests_create_nothing(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    template = _publish(server, tmp_path, example_files("environment-template"))
    draft = _publish(server, tmp_path, example_files("environment-template"), publish=False)
    role = _role(server)
    name = _name("env")
    base = {
        "name": name, "templateName": template, "templateMajorVersion": "1", "spec": SPEC,
        "codebuildRoleArn": role,
    }  # fmt: skip
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"spec": SPEC.replace("medium", "huge")}, "ValidationException", "spec.spec.size"),
        ({"spec": SPEC + "  bogus: 1\n"}, "ValidationException", "bogus"),
        ({"spec": "proton: ServiceSpec\n"}, "ValidationException", "proton"),
        ({"spec": "spec: [unclosed"}, "ValidationException", "spec"),
        ({"name": "bad name!"}, "ValidationException", "name"),
        ({"templateName": "nope"}, "ResourceNotFoundException", "nope"),
        ({"templateMajorVersion": "7"}, "ResourceNotFoundException", "7"),
        ({"templateMinorVersion": "9"}, "ResourceNotFoundException", "1.9"),
        ({"templateName": draft}, "ValidationException", "published"),
        ({"templateName": draft, "templateMinorVersion": "0"}, "ValidationException", "DRAFT"),
        ({"codebuildRoleArn": None}, "ValidationException", "codebuildRoleArn"),
        (
            {"provisioningRepository": {"provider": "GITHUB", "name": "o/r", "branch": "main"}},
            "ValidationException",
            "provisioningRepository",
        ),
        (
            {"environmentAccountConnectionId": str(uuid.uuid4())},
            "ValidationException",
            "environmentAccountConnectionId",
        ),
        ({"tags": [{"key": "aws:x", "value": "y"}]}, "ValidationException", "aws:"),
    ]
    for change, code, fragment in cases:
        request = {k: v for k, v in (base | change).items() if v is not None}
        with pytest.raises(ClientError) as info:
            proton.create_environment(**request)
        got_code, message = _error(info)
        assert (got_code, fragment in message) == (code, True), (change, message)
    assert proton.list_environments()["environments"] == [] or all(
        e["name"] != name for e in proton.list_environments()["environments"]
    )
    assert proton.list_deployments(environmentName=name)["deployments"] == []
    with pytest.raises(ClientError) as info:
        proton.get_environment(name=name)
    assert _error(info)[0] == "ResourceNotFoundException"
    # Idempotent create: the same request twice returns the environment; a different one fails.
    first = proton.create_environment(**base)["environment"]
    again = proton.create_environment(**base)["environment"]
    assert again["lastAttemptedDeploymentId"] == first["lastAttemptedDeploymentId"]
    with pytest.raises(ClientError) as info:
        proton.create_environment(**base, description="different")
    assert _error(info)[0] == "ValidationException"
    proton.get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    listed = proton.list_environments(
        environmentTemplates=[{"templateName": template, "majorVersion": "1"}]
    )["environments"]
    assert [e["name"] for e in listed] == [name]
    other = proton.list_environments(
        environmentTemplates=[{"templateName": draft, "majorVersion": "1"}]
    )["environments"]
    assert other == []
    for bad, code in (
        ({"deploymentType": "MAJOR_VERSION"}, "ValidationException"),
        ({"deploymentType": "MINOR_VERSION", "templateMinorVersion": "5"}, "ResourceNotFound"),
        ({"deploymentType": "CURRENT_VERSION", "spec": SPEC.replace("3", "99")}, "Validation"),
    ):
        with pytest.raises(ClientError) as info:
            proton.update_environment(name=name, **bad)
        assert _error(info)[0].startswith(code), bad
    assert (
        proton.get_environment(name=name)["environment"]["lastAttemptedDeploymentId"]
        == (first["lastAttemptedDeploymentId"])
    )
    proton.delete_environment(name=name)
    _gone(proton, name)


def test_crash_during_a_deployment_fails_it_at_restart(fresh_dir: Path, tmp_path: Path) -> None:
    server = Server(fresh_dir).start()
    try:
        proton = server.client("proton")
        manifest = _manifest(["sleep 30"])
        template = _publish(server, tmp_path, _files(manifest))
        name = _name("env")
        proton.create_environment(
            name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
            codebuildRoleArn=_role(server),
        )  # fmt: skip
        deployment = proton.get_environment(name=name)["environment"]["lastAttemptedDeploymentId"]
        log = server.data_dir / "logs" / f"{deployment}.log"
        deadline = time.monotonic() + 30
        while "sleep 30" not in _read(log) and time.monotonic() < deadline:
            time.sleep(0.2)
        server.stop(signal.SIGKILL)
        server.start()
        proton = server.client("proton")
        env = proton.get_environment(name=name)["environment"]
        assert env["deploymentStatus"] == "FAILED"
        assert env["deploymentStatusMessage"] == RECOVERY_MESSAGE
        record = proton.get_deployment(id=deployment)["deployment"]
        assert record["deploymentStatus"] == "FAILED" and "completedAt" in record
        assert list((server.data_dir / "proton-builds").iterdir()) == []  # work dir removed
        # The resource is usable again: delete it.
        proton.delete_environment(name=name)
        _gone(proton, name)
    finally:
        server.stop()


def test_environment_template_condition_on_existing_environments(
    server: Server, tmp_path: Path
) -> None:
    # proton:EnvironmentTemplate of Update/Delete/Cancel names the environment's template.
    admin = server.client("proton")
    allowed = _publish(server, tmp_path, _files(_manifest(["echo ok"])))
    other = _publish(server, tmp_path, _files(_manifest(["echo ok"])))
    role = _role(server)
    names = {}
    for template in (allowed, other):
        names[template] = _name("env")
        admin.create_environment(
            name=names[template], templateName=template, templateMajorVersion="1", spec=SPEC,
            codebuildRoleArn=role,
        )  # fmt: skip
    for template in (allowed, other):
        admin.get_waiter("environment_deployed").wait(name=names[template], WaiterConfig=FAST)
    acct = server.account_id
    _, proton = _user_with_policy(
        server,
        {
            "Effect": "Allow",
            "Action": "proton:UpdateEnvironment",
            "Resource": f"arn:aws:proton:us-east-1:{acct}:environment/*",
            "Condition": {
                "StringEquals": {
                    "proton:EnvironmentTemplate": (
                        f"arn:aws:proton:us-east-1:{acct}:environment-template/{allowed}"
                    )
                }
            },
        },
    )
    done = proton.update_environment(name=names[allowed], deploymentType="NONE", description="x")
    assert done["environment"]["description"] == "x"
    with pytest.raises(ClientError) as info:
        proton.update_environment(name=names[other], deploymentType="NONE", description="x")
    assert _error(info)[0] == "AccessDeniedException"
    for name in names.values():
        admin.delete_environment(name=name)
    for name in names.values():
        _gone(admin, name)


def test_build_timeout_and_environment_quota(fresh_dir: Path, tmp_path: Path) -> None:
    args = ["--proton-build-timeout", "1.5", "--proton-max-environments", "1"]
    server = Server(fresh_dir, args).start()
    try:
        proton = server.client("proton")
        manifest = _manifest(["echo waiting", "sleep 30"])
        template = _publish(server, tmp_path, _files(manifest))
        role = _role(server)
        name = _name("env")
        proton.create_environment(
            name=name, templateName=template, templateMajorVersion="1", spec=SPEC,
            codebuildRoleArn=role,
        )  # fmt: skip
        with pytest.raises(ClientError) as info:
            proton.create_environment(
                name=_name("env"), templateName=template, templateMajorVersion="1", spec=SPEC,
                codebuildRoleArn=role,
            )  # fmt: skip
        assert _error(info)[0] == "ServiceQuotaExceededException"
        env = _wait(proton, name, _settled)
        assert env["deploymentStatus"] == "FAILED"
        assert env["deploymentStatusMessage"].startswith("The build timed out after 1.5 seconds.")
        assert "waiting" in env["deploymentStatusMessage"]
    finally:
        server.stop()


def test_serve_refuses_a_non_positive_build_timeout(fresh_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hadron", "serve", "--data-dir", str(fresh_dir),
         "--proton-build-timeout", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "--proton-build-timeout" in done.stderr
    assert not fresh_dir.exists()


def test_self_managed_environment_needs_a_linked_repository(server: Server, tmp_path: Path) -> None:
    """A Terraform (self-managed) environment names a linked repository; its deployment fails
    saying the engine is not available; the repository cannot be unlinked while in use."""
    proton = server.client("proton")
    manifest = json.dumps(
        {
            "infrastructure": {
                "templates": [
                    {"file": "*", "rendering_engine": "hcl", "template_language": "terraform"}
                ]
            }
        }
    )
    files = {
        k: v
        for k, v in _files(manifest).items()
        if not k.startswith("infrastructure/") or k == "infrastructure/manifest.yaml"
    }
    files["infrastructure/main.tf"] = b'variable "environment" {}\n'
    template = _publish(server, tmp_path, files)
    repo_name = f"octo/{_name('infra')}"
    repository = {"provider": "GITHUB", "name": repo_name, "branch": "main"}
    name = _name("env")
    request = {
        "name": name,
        "templateName": template,
        "templateMajorVersion": "1",
        "spec": SPEC,
        "provisioningRepository": repository,
    }
    with pytest.raises(ClientError) as info:
        proton.create_environment(**request)
    code, message = _error(info)
    assert code == "ValidationException"
    assert message.startswith("provisioningRepository: the GITHUB repository")
    assert "not linked" in message
    with pytest.raises(ClientError) as info:
        proton.get_environment(name=name)
    assert _error(info)[0] == "ResourceNotFoundException"

    connection = f"arn:aws:codestar-connections:us-east-1:{server.account_id}:connection/abc"
    proton.create_repository(provider="GITHUB", name=repo_name, connectionArn=connection)
    proton.create_environment(**request)
    with pytest.raises(WaiterError):
        proton.get_waiter("environment_deployed").wait(name=name, WaiterConfig=FAST)
    env = proton.get_environment(name=name)["environment"]
    assert env["deploymentStatus"] == "FAILED"
    assert "Self-managed provisioning" in env["deploymentStatusMessage"]
    assert env["provisioningRepository"]["name"] == repo_name
    with pytest.raises(ClientError) as info:
        proton.delete_repository(provider="GITHUB", name=repo_name)
    code, message = _error(info)
    assert code == "ConflictException"
    assert f"environment {name} (provisioningRepository)" in message
    proton.delete_environment(name=name)
    _gone(proton, name)
    assert proton.delete_repository(provider="GITHUB", name=repo_name)["repository"]["name"] == (
        repo_name
    )
