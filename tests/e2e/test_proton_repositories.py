"""Black-box: Proton linked repositories, template/service sync configurations and the sync
status operations against a real ``hadron serve`` (boto3 and the AWS CLI).

Every refused request is followed by a read that shows nothing changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from tests.e2e.server import Server

AWS = str(Path(sys.executable).parent / "aws")


def _owner() -> str:
    return f"acme-{uuid.uuid4().hex[:8]}"


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = info.value.response
    return (
        str(response["Error"]["Code"]),
        str(response["Error"]["Message"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
    )


def _unchecked(server: Server) -> Any:
    """A client that sends what it is given (boto3 checks no model constraints), so the
    server's own checks answer."""
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=False)
    return server.session().client("proton", config=config)


def _connection(server: Server) -> str:
    return f"arn:aws:codestar-connections:us-east-1:{server.account_id}:connection/{uuid.uuid4()}"


def _refused(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return _error(info)


def test_repository_lifecycle(server: Server) -> None:
    proton = server.client("proton")
    owner = _owner()
    name = f"{owner}/templates"
    connection = _connection(server)
    created = proton.create_repository(
        provider="GITHUB",
        name=name,
        connectionArn=connection,
        encryptionKey=f"arn:aws:kms:us-east-1:{server.account_id}:key/k1",
        tags=[{"key": "team", "value": "platform"}],
    )["repository"]
    arn = f"arn:aws:proton:us-east-1:{server.account_id}:repository/github:{name}"
    assert created == {
        "arn": arn,
        "provider": "GITHUB",
        "name": name,
        "connectionArn": connection,
        "encryptionKey": f"arn:aws:kms:us-east-1:{server.account_id}:key/k1",
    }
    assert proton.get_repository(provider="GITHUB", name=name)["repository"] == created
    # The same (provider, name) under another provider is another repository.
    proton.create_repository(provider="BITBUCKET", name=name, connectionArn=connection)
    assert proton.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "team", "value": "platform"}
    ]
    proton.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}])
    assert len(proton.list_tags_for_resource(resourceArn=arn)["tags"]) == 2

    # An identical retry answers the repository; a different request is a conflict.
    again = proton.create_repository(
        provider="GITHUB",
        name=name,
        connectionArn=connection,
        encryptionKey=f"arn:aws:kms:us-east-1:{server.account_id}:key/k1",
        tags=[{"key": "team", "value": "platform"}],
    )["repository"]
    assert again == created
    code, message, status = _refused(
        proton.create_repository, provider="GITHUB", name=name, connectionArn=_connection(server)
    )
    assert (code, status) == ("ConflictException", 409)
    assert f"GITHUB repository {name} is already linked" in message
    assert proton.get_repository(provider="GITHUB", name=name)["repository"] == created

    deleted = proton.delete_repository(provider="GITHUB", name=name)["repository"]
    assert deleted == created
    code, message, status = _refused(proton.get_repository, provider="GITHUB", name=name)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == f"The GITHUB repository {name} was not found."
    assert _refused(proton.list_tags_for_resource, resourceArn=arn)[0] == (
        "ResourceNotFoundException"
    )
    # An idempotent retry of the delete answers nothing.
    assert "repository" not in proton.delete_repository(provider="GITHUB", name=name)
    proton.delete_repository(provider="BITBUCKET", name=name)


def test_repository_bad_input_changes_nothing(server: Server) -> None:
    proton = _unchecked(server)
    owner = _owner()
    good = {"provider": "GITHUB", "name": f"{owner}/r", "connectionArn": _connection(server)}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"name": "no-slash"}, "ValidationException", "name"),
        ({"provider": "GITLAB"}, "ValidationException", "provider"),
        ({"connectionArn": "not-an-arn"}, "ValidationException", "connectionArn"),
        (
            {"connectionArn": f"arn:aws:s3:us-east-1:{server.account_id}:connection/x"},
            "ValidationException",
            "connectionArn: arn:aws:s3",
        ),
        (
            {"connectionArn": "arn:aws:codestar-connections:us-east-1:999999999999:connection/x"},
            "ValidationException",
            "belongs to another account",
        ),
        ({"tags": [{"key": "aws:x", "value": "v"}]}, "ValidationException", "aws:"),
    ]
    for change, code, words in cases:
        got = _refused(proton.create_repository, **(good | change))
        assert (got[0], got[2]) == (code, 400), change
        assert words in got[1], (change, got[1])
    listed = proton.list_repositories()["repositories"]
    assert not [r for r in listed if r["name"].startswith(owner)]
    # CodeConnections (the renamed service) ARNs are accepted too.
    codeconnections = _connection(server).replace("codestar-connections", "codeconnections")
    proton.create_repository(**(good | {"connectionArn": codeconnections}))
    proton.delete_repository(provider="GITHUB", name=good["name"])
    code, message, _ = _refused(proton.delete_repository, provider="GITHUB", name=f"{owner}/zz")
    assert code == "ResourceNotFoundException" and f"{owner}/zz" in message


def test_list_repositories_paginates(server: Server) -> None:
    proton = server.client("proton")
    owner = _owner()
    connection = _connection(server)
    names = [f"{owner}/r{i}" for i in range(5)]
    for name in names:
        proton.create_repository(provider="GITHUB_ENTERPRISE", name=name, connectionArn=connection)
    pages = list(
        proton.get_paginator("list_repositories").paginate(PaginationConfig={"PageSize": 2})
    )
    assert all(len(p["repositories"]) <= 2 for p in pages)
    listed = [(r["provider"], r["name"]) for p in pages for r in p["repositories"]]
    assert listed == sorted(listed)
    assert [n for p, n in listed if n.startswith(owner)] == names
    summary = next(r for p in pages for r in p["repositories"] if r["name"] == names[0])
    assert set(summary) == {"arn", "provider", "name", "connectionArn"}
    first = proton.list_repositories(maxResults=1)
    code, _, _ = _refused(proton.list_environment_templates, nextToken=first["nextToken"])
    assert code == "ValidationException"
    for name in names:
        proton.delete_repository(provider="GITHUB_ENTERPRISE", name=name)


def test_template_sync_configs(server: Server) -> None:
    proton = server.client("proton")
    owner = _owner()
    repo = f"{owner}/templates"
    template = f"env-{owner}"
    proton.create_environment_template(name=template)
    sync = {
        "templateName": template,
        "templateType": "ENVIRONMENT",
        "repositoryProvider": "GITHUB",
        "repositoryName": repo,
        "branch": "main",
    }
    # Unknown template, unlinked repository: refused, nothing stored.
    code, message, status = _refused(
        proton.create_template_sync_config, **(sync | {"templateName": f"x{owner}"})
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == f"The environment template x{owner} was not found."
    code, message, status = _refused(proton.create_template_sync_config, **sync)
    assert (code, status) == ("ValidationException", 400)
    assert f"repositoryName: the GITHUB repository {repo} is not linked" in message
    wrong_kind = sync | {"templateType": "SERVICE"}
    assert _refused(proton.create_template_sync_config, **wrong_kind)[0] == (
        "ResourceNotFoundException"
    )
    code, message, _ = _refused(
        proton.get_template_sync_config, templateName=template, templateType="ENVIRONMENT"
    )
    assert code == "ResourceNotFoundException" and "no template sync configuration" in message

    proton.create_repository(provider="GITHUB", name=repo, connectionArn=_connection(server))
    created = proton.create_template_sync_config(**sync)["templateSyncConfig"]
    assert created == sync
    assert proton.create_template_sync_config(**sync)["templateSyncConfig"] == sync
    code, message, status = _refused(
        proton.create_template_sync_config, **(sync | {"branch": "dev"})
    )
    assert (code, status) == ("ConflictException", 409)
    key = {"templateName": template, "templateType": "ENVIRONMENT"}
    assert proton.get_template_sync_config(**key)["templateSyncConfig"] == sync

    # While the configuration exists, neither the repository nor the template can go.
    code, message, _ = _refused(proton.delete_repository, provider="GITHUB", name=repo)
    assert code == "ConflictException"
    assert f"template sync configuration of environment template {template}" in message
    assert _refused(proton.delete_environment_template, name=template)[0] == "ConflictException"

    # Status: the template's sync has not run; the repository's is queued, saying why.
    assert set(proton.get_template_sync_status(**key, templateVersion="1")) == {"ResponseMetadata"}
    status_args = {
        "repositoryName": repo,
        "repositoryProvider": "GITHUB",
        "branch": "main",
        "syncType": "TEMPLATE_SYNC",
    }
    latest = proton.get_repository_sync_status(**status_args)["latestSync"]
    assert latest["status"] == "QUEUED"
    assert [e["type"] for e in latest["events"]] == ["SYNC_NOT_RUNNING"]
    assert latest["events"][0]["event"].startswith("Syncing is not running")
    assert "latestSync" not in proton.get_repository_sync_status(
        **(status_args | {"branch": "other"})
    )
    assert "latestSync" not in proton.get_repository_sync_status(
        **(status_args | {"syncType": "SERVICE_SYNC"})
    )
    definitions = proton.list_repository_sync_definitions(
        repositoryName=repo, repositoryProvider="GITHUB", syncType="TEMPLATE_SYNC"
    )
    assert definitions["syncDefinitions"] == [
        {"target": template, "parent": template, "branch": "main", "directory": "/"}
    ]
    assert not definitions.get("nextToken")

    # Update: everything but the key; an unlinked repository is refused and changes nothing.
    code, _, _ = _refused(
        proton.update_template_sync_config, **(sync | {"repositoryName": f"{owner}/nope"})
    )
    assert code == "ValidationException"
    assert proton.get_template_sync_config(**key)["templateSyncConfig"] == sync
    updated = proton.update_template_sync_config(
        **(sync | {"branch": "release", "subdirectory": "templates"})
    )["templateSyncConfig"]
    assert updated == sync | {"branch": "release", "subdirectory": "templates"}
    definitions = proton.list_repository_sync_definitions(
        repositoryName=repo, repositoryProvider="GITHUB", syncType="TEMPLATE_SYNC"
    )["syncDefinitions"]
    assert definitions == [
        {"target": template, "parent": template, "branch": "release", "directory": "templates"}
    ]

    deleted = proton.delete_template_sync_config(**key)["templateSyncConfig"]
    assert deleted == updated
    assert "templateSyncConfig" not in proton.delete_template_sync_config(**key)
    code, _, _ = _refused(proton.get_template_sync_config, **key)
    assert code == "ResourceNotFoundException"
    code, _, _ = _refused(proton.get_template_sync_status, **key, templateVersion="1")
    assert code == "ResourceNotFoundException"
    code, _, _ = _refused(proton.update_template_sync_config, **sync)
    assert code == "ResourceNotFoundException"
    assert "latestSync" not in proton.get_repository_sync_status(**status_args)
    proton.delete_repository(provider="GITHUB", name=repo)
    proton.delete_environment_template(name=template)
    code, message, _ = _refused(proton.get_repository_sync_status, **status_args)
    assert code == "ResourceNotFoundException" and repo in message
    assert (
        proton.list_repository_sync_definitions(
            repositoryName=repo, repositoryProvider="GITHUB", syncType="TEMPLATE_SYNC"
        )["syncDefinitions"]
        == []
    )


def test_service_sync_operations_need_a_service(server: Server) -> None:
    proton = server.client("proton")
    owner = _owner()
    repo = f"{owner}/services"
    proton.create_repository(provider="GITHUB", name=repo, connectionArn=_connection(server))
    config = {
        "serviceName": "web",
        "repositoryProvider": "GITHUB",
        "repositoryName": repo,
        "branch": "main",
        "filePath": "configuration/proton-ops.yaml",
    }
    missing = ("ResourceNotFoundException", "The service web was not found.", 404)
    assert _refused(proton.create_service_sync_config, **config) == missing
    assert _refused(proton.update_service_sync_config, **config) == missing
    assert _refused(proton.get_service_sync_config, serviceName="web") == missing
    assert _refused(proton.delete_service_sync_config, serviceName="web") == missing
    assert _refused(proton.get_service_sync_blocker_summary, serviceName="web") == missing
    assert (
        _refused(
            proton.get_service_instance_sync_status, serviceName="web", serviceInstanceName="a"
        )
        == missing
    )
    code, message, _ = _refused(
        proton.update_service_sync_blocker, id="b-1", resolvedReason="fixed"
    )
    assert (code, message) == (
        "ResourceNotFoundException",
        "The service sync blocker b-1 was not found.",
    )
    assert (
        proton.list_repository_sync_definitions(
            repositoryName=repo, repositoryProvider="GITHUB", syncType="SERVICE_SYNC"
        )["syncDefinitions"]
        == []
    )
    proton.delete_repository(provider="GITHUB", name=repo)


def test_model_constraints_are_checked(server: Server) -> None:
    proton = _unchecked(server)
    code, message, _ = _refused(
        proton.create_template_sync_config,
        templateName="-bad",
        templateType="ENVIRONMENT",
        repositoryProvider="GITHUB",
        repositoryName="o/r",
        branch="main",
    )
    assert code == "ValidationException" and "templateName" in message
    code, message, _ = _refused(
        proton.list_repository_sync_definitions,
        repositoryName="o/r",
        repositoryProvider="GITHUB",
        syncType="TEMPLATE_SYNC",
        nextToken="abc",
    )
    assert code == "ValidationException" and "nextToken" in message
    with pytest.raises(ParamValidationError):
        server.client("proton").get_repository(provider="GITHUB")


def _aws(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AWS, "proton", *args, "--output", "json"],
        env=server.aws_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_aws_cli_smoke(server: Server) -> None:
    owner = _owner()
    name = f"{owner}/cli"
    created = _aws(
        server,
        "create-repository",
        "--provider",
        "BITBUCKET",
        "--name",
        name,
        "--connection-arn",
        _connection(server),
    )
    assert created.returncode == 0, created.stderr
    arn = json.loads(created.stdout)["repository"]["arn"]
    assert arn == f"arn:aws:proton:us-east-1:{server.account_id}:repository/bitbucket:{name}"
    listed = _aws(server, "list-repositories")
    assert listed.returncode == 0, listed.stderr
    assert name in [r["name"] for r in json.loads(listed.stdout)["repositories"]]
    bad = _aws(
        server, "create-repository", "--provider", "GITHUB", "--name", "x/y",
        "--connection-arn", "arn:aws:iam::123456789012:role/nope",
    )  # fmt: skip
    assert bad.returncode != 0 and "ValidationException" in bad.stderr
    deleted = _aws(server, "delete-repository", "--provider", "BITBUCKET", "--name", name)
    assert deleted.returncode == 0, deleted.stderr
