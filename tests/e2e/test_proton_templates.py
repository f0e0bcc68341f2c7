"""Proton templates, template versions, bundles, tags and account settings, black-box: the AWS
CLI and boto3 against a real server, bundles placed with ``hadron bundle put``."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import tarfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from hadron import cli
from hadron.bootstrap import open_data_dir
from tests.e2e.server import Server, clean_env
from tests.proton.bundles import example_bundle, example_files, tar_gz

AWS = str(Path(sys.executable).parent / "aws")
FAST = {"Delay": 1, "MaxAttempts": 30}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = info.value.response
    return (
        str(response["Error"]["Code"]),
        str(response["Error"]["Message"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
    )


def _put(server: Server, data: bytes, tmp_path: Path, key: str | None = None) -> dict[str, Any]:
    """``hadron bundle put`` (in-process) a bundle; the ``source`` to create a version from it."""
    key = key or f"{uuid.uuid4().hex}.tar.gz"
    path = tmp_path / f"{uuid.uuid4().hex}.tar.gz"
    path.write_bytes(data)
    url = f"s3://templates/{key}"
    assert cli.main(["bundle", "put", str(path), url, "--data-dir", str(server.data_dir)]) == 0
    return {"s3": {"bucket": "templates", "key": key}}


def _aws(server: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AWS, "proton", *args, "--output", "json"],
        env=server.aws_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def _published_env(proton: Any, server: Server, tmp_path: Path) -> str:
    name = _name("env")
    proton.create_environment_template(name=name)
    source = _put(server, example_bundle("environment-template"), tmp_path)
    proton.create_environment_template_version(templateName=name, source=source)
    proton.get_waiter("environment_template_version_registered").wait(
        templateName=name, majorVersion="1", minorVersion="0", WaiterConfig=FAST
    )
    proton.update_environment_template_version(
        templateName=name, majorVersion="1", minorVersion="0", status="PUBLISHED"
    )
    return name


def _cli(server: Server, command: str, *extra: str) -> Any:
    """``aws proton <command>`` (words split like a shell's), its JSON output."""
    out = _aws(server, *shlex.split(command), *extra)
    return json.loads(out.stdout or "{}")


def test_environment_template_lifecycle_with_the_aws_cli(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    name = _name("env")
    version_args = f"--template-name {name} --major-version 1 --minor-version"
    source = _put(server, example_bundle("environment-template"), tmp_path, "env/v1.tar.gz")
    created = _cli(server, f"create-environment-template --name {name} --display-name Starter")
    arn = f"arn:aws:proton:us-east-1:{server.account_id}:environment-template/{name}"
    assert created["environmentTemplate"]["arn"] == arn
    cmd = f"create-environment-template-version --template-name {name} --source"
    version = _cli(server, cmd, json.dumps(source))["environmentTemplateVersion"]
    assert (version["status"], version["majorVersion"], version["minorVersion"]) == (
        ("REGISTRATION_IN_PROGRESS", "1", "0")
    )
    assert version["arn"] == f"{arn}:1.0"
    _cli(server, f"wait environment-template-version-registered {version_args} 0")
    version = _cli(server, f"get-environment-template-version {version_args} 0")[
        "environmentTemplateVersion"
    ]
    assert version["status"] == "DRAFT" and version["statusMessage"] == ""
    assert version["schema"] == example_files("environment-template")["schema/schema.yaml"].decode()
    assert "recommendedMinorVersion" not in version
    _cli(server, f"update-environment-template-version {version_args} 0 --status PUBLISHED")
    template = _cli(server, f"get-environment-template --name {name}")["environmentTemplate"]
    assert template["recommendedVersion"] == "1.0"
    # A minor version of major 1, published: it becomes the recommended version.
    proton.create_environment_template_version(
        templateName=name, majorVersion="1", source=source, description="minor"
    )
    proton.get_waiter("environment_template_version_registered").wait(
        templateName=name, majorVersion="1", minorVersion="1", WaiterConfig=FAST
    )
    proton.update_environment_template_version(
        templateName=name, majorVersion="1", minorVersion="1", status="PUBLISHED"
    )
    listed = proton.list_environment_template_versions(templateName=name, majorVersion="1")
    assert [(v["minorVersion"], v["recommendedMinorVersion"]) for v in listed["templateVersions"]
            ] == [("0", "1"), ("1", "1")]  # fmt: skip
    templates = proton.list_environment_templates()["templates"]
    mine = [t for t in templates if t["name"] == name]
    assert mine[0]["recommendedVersion"] == "1.1" and "encryptionKey" not in mine[0]
    # Deletion rules, then the template.
    bad = _aws(server, *shlex.split(f"delete-environment-template-version {version_args} 1"),
               check=False)  # fmt: skip
    assert bad.returncode != 0 and "ConflictException" in bad.stderr
    assert "recommended version" in bad.stderr
    with pytest.raises(ClientError) as has_versions:
        proton.delete_environment_template(name=name)
    assert _error(has_versions) == (
        "ConflictException",
        f"The environment template {name} has 2 version(s); delete them first.",
        409,
    )
    for minor in ("0", "1"):
        proton.delete_environment_template_version(
            templateName=name, majorVersion="1", minorVersion=minor
        )
    deleted = _cli(server, f"delete-environment-template --name {name}")
    assert deleted["environmentTemplate"]["name"] == name
    gone = _aws(server, "get-environment-template", "--name", name, check=False)
    assert "ResourceNotFoundException" in gone.stderr
    assert f"The environment template {name} was not found." in gone.stderr
    assert proton.delete_environment_template(name=name).get("environmentTemplate") is None


def _symlink(archive: tarfile.TarFile) -> None:
    info = tarfile.TarInfo("infrastructure/escape")
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive.addfile(info)


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        (b"definitely not a tarball", "bundle: not a gzip-compressed tar archive (.tar.gz)"),
        (
            tar_gz({"../../etc/evil": "x"}),
            "../../etc/evil: path traversal ('..') is not allowed in a bundle",
        ),
        (
            tar_gz(example_files("environment-template"), extra=_symlink),
            "infrastructure/escape: is a symbolic link; links are not allowed in a bundle",
        ),
        (
            tar_gz({**example_files("environment-template"), "schema/schema.yaml": "schema: ["}),
            "schema/schema.yaml: is not valid YAML",
        ),
        (
            tar_gz(
                {
                    **example_files("environment-template"),
                    "infrastructure/manifest.yaml": "infrastructure:\n  templates:\n"
                    "    - {rendering_engine: pulumi}\n",
                }
            ),
            "infrastructure/manifest.yaml: infrastructure.templates[0].rendering_engine 'pulumi' "
            "is not supported",
        ),
        (None, "s3://templates/missing.tar.gz: the object does not exist"),
    ],
    ids=["garbage", "traversal", "symlink", "bad-schema", "unknown-engine", "missing-object"],
)
def test_bad_bundles_fail_registration(
    server: Server, tmp_path: Path, bundle: bytes | None, message: str
) -> None:
    proton = server.client("proton")
    name = _name("bad")
    proton.create_environment_template(name=name)
    if bundle is None:
        source = {"s3": {"bucket": "templates", "key": "missing.tar.gz"}}
    else:
        source = _put(server, bundle, tmp_path)
    proton.create_environment_template_version(templateName=name, source=source)
    with pytest.raises(WaiterError, match=r"REGISTRATION_FAILED|failure state"):
        proton.get_waiter("environment_template_version_registered").wait(
            templateName=name, majorVersion="1", minorVersion="0", WaiterConfig=FAST
        )
    version = proton.get_environment_template_version(
        templateName=name, majorVersion="1", minorVersion="0"
    )["environmentTemplateVersion"]
    assert version["status"] == "REGISTRATION_FAILED"
    assert version["statusMessage"].startswith(message)
    assert "schema" not in version
    with pytest.raises(ClientError) as cannot:
        proton.update_environment_template_version(
            templateName=name, majorVersion="1", minorVersion="0", status="PUBLISHED"
        )
    code, text, status = _error(cannot)
    assert (code, status) == ("ValidationException", 400) and "REGISTRATION_FAILED" in text
    proton.delete_environment_template_version(
        templateName=name, majorVersion="1", minorVersion="0"
    )
    proton.delete_environment_template(name=name)


def test_aws_cli_waiter_reports_a_failed_registration(server: Server, tmp_path: Path) -> None:
    name = _name("bad")
    _aws(server, "create-environment-template", "--name", name)
    source = _put(server, tar_gz({"schema/schema.yaml": "x"}), tmp_path)
    _aws(
        server,
        "create-environment-template-version",
        "--template-name",
        name,
        "--source",
        json.dumps(source),
    )
    wait = _aws(
        server,
        "wait",
        "environment-template-version-registered",
        "--template-name",
        name,
        "--major-version",
        "1",
        "--minor-version",
        "0",
        check=False,
    )
    assert wait.returncode != 0 and "failure state" in wait.stderr


def test_service_templates(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    env = _published_env(proton, server, tmp_path)
    draft_env = _name("draft")
    proton.create_environment_template(name=draft_env)
    svc = _name("svc")
    created = proton.create_service_template(name=svc, description="web")["serviceTemplate"]
    assert "pipelineProvisioning" not in created
    source = _put(server, example_bundle("service-template"), tmp_path)
    with pytest.raises(ClientError) as unpublished:
        proton.create_service_template_version(
            templateName=svc,
            source=source,
            compatibleEnvironmentTemplates=[{"templateName": draft_env, "majorVersion": "1"}],
        )
    assert _error(unpublished) == (
        "ValidationException",
        f"compatibleEnvironmentTemplates: environment template {draft_env} has no published "
        "version in major version 1.",
        400,
    )
    with pytest.raises(ClientError) as missing:
        proton.create_service_template_version(
            templateName=svc,
            source=source,
            compatibleEnvironmentTemplates=[{"templateName": "nope", "majorVersion": "1"}],
        )
    assert _error(missing)[0::2] == ("ResourceNotFoundException", 404)
    version = proton.create_service_template_version(
        templateName=svc,
        source=source,
        supportedComponentSources=["DIRECTLY_DEFINED"],
        compatibleEnvironmentTemplates=[{"templateName": env, "majorVersion": "1"}],
    )["serviceTemplateVersion"]
    assert version["compatibleEnvironmentTemplates"] == [{"templateName": env, "majorVersion": "1"}]
    proton.get_waiter("service_template_version_registered").wait(
        templateName=svc, majorVersion="1", minorVersion="0", WaiterConfig=FAST
    )
    updated = proton.update_service_template_version(
        templateName=svc,
        majorVersion="1",
        minorVersion="0",
        status="PUBLISHED",
        description="now published",
        supportedComponentSources=[],
    )["serviceTemplateVersion"]
    assert updated["status"] == "PUBLISHED" and updated["description"] == "now published"
    assert updated["supportedComponentSources"] == []
    assert updated["recommendedMinorVersion"] == "0"
    listed = proton.list_service_template_versions(templateName=svc)["templateVersions"]
    assert [v["status"] for v in listed] == ["PUBLISHED"]
    assert "compatibleEnvironmentTemplates" not in listed[0] and "schema" not in listed[0]
    assert proton.get_service_template(name=svc)["serviceTemplate"]["recommendedVersion"] == "1.0"
    # No pipeline: the bundle must not have one.
    lone = _name("lone")
    proton.create_service_template(name=lone, pipelineProvisioning="CUSTOMER_MANAGED")
    files = example_files("service-template")
    with_pipeline = _put(server, tar_gz(files), tmp_path)
    schema = files["schema/schema.yaml"].decode()
    schema = schema.replace('  pipeline_input_type: "PipelineInput"\n', "")
    no_pipeline = {k: v for k, v in files.items() if not k.startswith("pipeline_")}
    no_pipeline["schema/schema.yaml"] = schema.encode()
    without = _put(server, tar_gz(no_pipeline), tmp_path)
    compat = [{"templateName": env, "majorVersion": "1"}]
    proton.create_service_template_version(
        templateName=lone, source=with_pipeline, compatibleEnvironmentTemplates=compat
    )
    proton.create_service_template_version(
        templateName=lone, source=without, compatibleEnvironmentTemplates=compat
    )
    waiter = proton.get_waiter("service_template_version_registered")
    with pytest.raises(WaiterError):
        waiter.wait(templateName=lone, majorVersion="1", minorVersion="0", WaiterConfig=FAST)
    failed = proton.get_service_template_version(
        templateName=lone, majorVersion="1", minorVersion="0"
    )["serviceTemplateVersion"]
    assert failed["statusMessage"].startswith("pipeline_infrastructure/: the service template")
    waiter.wait(templateName=lone, majorVersion="2", minorVersion="0", WaiterConfig=FAST)
    renamed = proton.update_service_template(name=lone, displayName="Lone", description="d")
    assert renamed["serviceTemplate"]["displayName"] == "Lone"
    assert renamed["serviceTemplate"]["pipelineProvisioning"] == "CUSTOMER_MANAGED"
    for major in ("1", "2"):
        gone = proton.delete_service_template_version(
            templateName=lone, majorVersion=major, minorVersion="0"
        )["serviceTemplateVersion"]
        assert gone["majorVersion"] == major
    assert proton.delete_service_template(name=lone)["serviceTemplate"]["name"] == lone
    with pytest.raises(ClientError) as deleted:
        proton.get_service_template(name=lone)
    assert _error(deleted)[0::2] == ("ResourceNotFoundException", 404)


def test_tags(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    name = _name("tagged")
    arn = proton.create_environment_template(name=name, tags=[{"key": "team", "value": "blue"}])[
        "environmentTemplate"
    ]["arn"]
    # AWS-managed tags (aws:proton:*) come with the customer's, sorted by key.
    managed = [
        {"key": "aws:proton:account", "value": server.account_id},
        {"key": "aws:proton:template", "value": arn},
    ]
    assert proton.list_tags_for_resource(resourceArn=arn)["tags"] == [
        *managed,
        {"key": "team", "value": "blue"},
    ]
    proton.tag_resource(
        resourceArn=arn, tags=[{"key": "Team", "value": "x"}, {"key": "cost", "value": ""}]
    )
    pages = proton.get_paginator("list_tags_for_resource").paginate(
        resourceArn=arn, PaginationConfig={"PageSize": 2}
    )
    keys = [[t["key"] for t in page["tags"]] for page in pages]
    assert keys == [["Team", "aws:proton:account"], ["aws:proton:template", "cost"], ["team"]]
    proton.untag_resource(resourceArn=arn, tagKeys=["team", "never-set"])
    # Customer tags of the template propagate to versions created later.
    source = _put(server, example_bundle("environment-template"), tmp_path)
    version = proton.create_environment_template_version(
        templateName=name, source=source, tags=[{"key": "v", "value": "1"}]
    )["environmentTemplateVersion"]
    assert proton.list_tags_for_resource(resourceArn=version["arn"])["tags"] == [
        {"key": "Team", "value": "x"},
        *managed,
        {"key": "cost", "value": ""},
        {"key": "v", "value": "1"},
    ]
    with pytest.raises(ClientError) as reserved:
        proton.tag_resource(resourceArn=arn, tags=[{"key": "aws:proton:x", "value": "y"}])
    assert _error(reserved)[0] == "ValidationException" and "reserved" in _error(reserved)[1]
    with pytest.raises(ClientError) as untag_reserved:
        proton.untag_resource(resourceArn=arn, tagKeys=["aws:x"])
    assert _error(untag_reserved)[0] == "ValidationException"
    with pytest.raises(ClientError) as too_many:
        proton.tag_resource(
            resourceArn=arn, tags=[{"key": f"k{i}", "value": ""} for i in range(49)]
        )
    assert _error(too_many)[0] == "ValidationException" and "maximum is 50" in _error(too_many)[1]
    for missing in (
        f"{arn}x",
        arn.replace(server.account_id, "000000000000"),
        f"arn:aws:proton:us-east-1:{server.account_id}:environment/{name}",
        f"arn:aws:iam::{server.account_id}:role/{name}",
    ):
        with pytest.raises(ClientError) as nothing:
            proton.list_tags_for_resource(resourceArn=missing)
        assert _error(nothing) == (
            "ResourceNotFoundException",
            f"The resource {missing} was not found.",
            404,
        )


@pytest.mark.parametrize(
    ("call", "params", "fragment"),
    [
        (
            "create_environment_template",
            {"name": "bad name"},
            "Value 'bad name' at 'name' failed to satisfy constraint",
        ),
        ("create_environment_template", {"name": "-dash"}, "at 'name'"),
        ("create_environment_template", {"name": "x" * 101}, "length less than or equal to 100"),
        (
            "get_environment_template_version",
            {"templateName": "t", "majorVersion": "01", "minorVersion": "0"},
            "at 'majorVersion'",
        ),
        (
            "get_environment_template_version",
            {"templateName": "t", "majorVersion": "1", "minorVersion": "1.0"},
            "at 'minorVersion'",
        ),
        (
            "create_environment_template_version",
            {"templateName": "t", "source": {"s3": {"bucket": "Bad_Bucket", "key": "k"}}},
            "at 'source.s3.bucket'",
        ),
        (
            "update_environment_template_version",
            {"templateName": "t", "majorVersion": "1", "minorVersion": "0", "status": "GONE"},
            "at 'status'",
        ),
        ("list_environment_templates", {"nextToken": "bm9wZQ=="}, "nextToken"),
    ],
    ids=["space", "dash", "long", "leading-zero", "minor-dot", "bucket", "status", "token"],
)
def test_validation_errors_name_the_field(
    server: Server, call: str, params: dict[str, Any], fragment: str
) -> None:
    proton = server.client("proton")
    with pytest.raises(ClientError) as info:
        getattr(proton, call)(**params)
    code, message, status = _error(info)
    assert (code, status) == ("ValidationException", 400)
    assert fragment in message


def test_not_found_and_conflicts(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    name = _name("nf")
    with pytest.raises(ClientError) as none:
        proton.get_environment_template(name=name)
    assert _error(none) == (
        "ResourceNotFoundException",
        f"The environment template {name} was not found.",
        404,
    )
    with pytest.raises(ClientError) as no_template:
        proton.create_environment_template_version(
            templateName=name, source={"s3": {"bucket": "templates", "key": "k"}}
        )
    assert _error(no_template)[0] == "ResourceNotFoundException"
    proton.create_environment_template(name=name)
    with pytest.raises(ClientError) as no_major:
        proton.create_environment_template_version(
            templateName=name, majorVersion="3", source={"s3": {"bucket": "templates", "key": "k"}}
        )
    assert _error(no_major) == (
        "ResourceNotFoundException",
        f"The environment template {name} major version 3 was not found.",
        404,
    )
    with pytest.raises(ClientError) as no_version:
        proton.get_environment_template_version(
            templateName=name, majorVersion="99999999999999999999", minorVersion="0"
        )
    assert _error(no_version)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as other_kind:
        proton.get_service_template(name=name)
    assert _error(other_kind)[1] == f"The service template {name} was not found."
    # Two majors, both published: the recommended major (2) cannot go while 1 exists.
    source = _put(server, example_bundle("environment-template"), tmp_path)
    waiter = proton.get_waiter("environment_template_version_registered")
    for major in ("1", "2"):
        proton.create_environment_template_version(templateName=name, source=source)
        waiter.wait(templateName=name, majorVersion=major, minorVersion="0", WaiterConfig=FAST)
        proton.update_environment_template_version(
            templateName=name, majorVersion=major, minorVersion="0", status="PUBLISHED"
        )
    assert (
        proton.get_environment_template(name=name)["environmentTemplate"]["recommendedVersion"]
        == "2.0"
    )
    majors = proton.list_environment_template_versions(templateName=name)["templateVersions"]
    assert [(v["majorVersion"], v["minorVersion"]) for v in majors] == [("1", "0"), ("2", "0")]
    with pytest.raises(ClientError) as recommended:
        proton.delete_environment_template_version(
            templateName=name, majorVersion="2", minorVersion="0"
        )
    code, message, status = _error(recommended)
    assert (code, status) == ("ConflictException", 409) and "recommended major" in message
    proton.delete_environment_template_version(
        templateName=name, majorVersion="1", minorVersion="0"
    )
    proton.delete_environment_template_version(
        templateName=name, majorVersion="2", minorVersion="0"
    )
    with pytest.raises(ClientError) as deleted:
        proton.get_environment_template_version(
            templateName=name, majorVersion="2", minorVersion="0"
        )
    assert _error(deleted)[0] == "ResourceNotFoundException"


def test_idempotent_creates(server: Server) -> None:
    proton = server.client("proton")
    name = _name("idem")
    first = proton.create_environment_template(name=name, description="d")["environmentTemplate"]
    again = proton.create_environment_template(name=name, description="d")["environmentTemplate"]
    assert again == first
    with pytest.raises(ClientError) as different:
        proton.create_environment_template(name=name, description="other")
    assert _error(different)[:2] == ("ValidationException", "Idempotent parameter mismatch")
    proton.update_environment_template(name=name, displayName="changed")
    with pytest.raises(ClientError) as modified:
        proton.create_environment_template(name=name, description="d")
    assert _error(modified)[0::2] == ("ConflictException", 409)
    source = {"s3": {"bucket": "templates", "key": "none.tar.gz"}}
    one = proton.create_environment_template_version(
        templateName=name, source=source, clientToken="token-1"
    )["environmentTemplateVersion"]
    two = proton.create_environment_template_version(
        templateName=name, source=source, clientToken="token-1"
    )["environmentTemplateVersion"]
    assert two["arn"] == one["arn"] and two["createdAt"] == one["createdAt"]
    with pytest.raises(ClientError) as mismatch:
        proton.create_environment_template_version(
            templateName=name, source=source, clientToken="token-1", description="x"
        )
    assert _error(mismatch)[:2] == ("ValidationException", "Idempotent parameter mismatch")
    # boto3 fills a fresh token itself: a plain retry is a new version.
    three = proton.create_environment_template_version(templateName=name, source=source)
    assert three["environmentTemplateVersion"]["majorVersion"] == "2"


def test_pagination(server: Server) -> None:
    proton = server.client("proton")
    prefix = _name("page")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        proton.create_service_template(name=name)
    pages = list(
        proton.get_paginator("list_service_templates").paginate(PaginationConfig={"PageSize": 2})
    )
    assert all(len(p["templates"]) <= 2 for p in pages)
    listed = [t["name"] for p in pages for t in p["templates"]]
    assert [n for n in listed if n.startswith(prefix)] == names
    assert listed == sorted(listed)
    first = proton.list_service_templates(maxResults=1)
    with pytest.raises(ClientError) as wrong_list:
        proton.list_environment_templates(nextToken=first["nextToken"])
    assert _error(wrong_list)[0] == "ValidationException"


def test_account_settings(fresh_dir: Path) -> None:
    # A server of its own: account settings are per account, and other modules' services need
    # the shared server's pipeline role.
    server = Server(fresh_dir).start()
    try:
        _check_account_settings(server)
    finally:
        server.stop()


def _check_account_settings(server: Server) -> None:
    proton = server.client("proton")
    assert proton.get_account_settings()["accountSettings"] == {}
    role = f"arn:aws:iam::{server.account_id}:role/proton-pipelines"
    repo = {"provider": "GITHUB", "name": "acme/infra", "branch": "main"}
    with pytest.raises(ClientError) as unlinked:
        proton.update_account_settings(pipelineServiceRoleArn=role,
                                       pipelineProvisioningRepository=repo)  # fmt: skip
    code, message, _ = _error(unlinked)
    assert code == "ValidationException" and "acme/infra is not linked" in message
    assert proton.get_account_settings()["accountSettings"] == {}
    connection = (
        f"arn:aws:codestar-connections:us-east-1:{server.account_id}:connection/{uuid.uuid4()}"
    )
    proton.create_repository(provider="GITHUB", name="acme/infra", connectionArn=connection)
    settings = proton.update_account_settings(
        pipelineServiceRoleArn=role,
        pipelineCodebuildRoleArn=role,
        pipelineProvisioningRepository={
            "provider": "GITHUB",
            "name": "acme/infra",
            "branch": "main",
        },
    )["accountSettings"]
    assert settings["pipelineServiceRoleArn"] == role
    assert settings["pipelineProvisioningRepository"] == {
        "arn": f"arn:aws:proton:us-east-1:{server.account_id}:repository/github:acme/infra",
        "provider": "GITHUB",
        "name": "acme/infra",
        "branch": "main",
    }
    with pytest.raises(ClientError) as both:
        proton.update_account_settings(
            deletePipelineProvisioningRepository=True,
            pipelineProvisioningRepository={"provider": "GITHUB", "name": "a/b", "branch": "m"},
        )
    assert _error(both)[0] == "ValidationException"
    with pytest.raises(ClientError) as bad_role:
        proton.update_account_settings(pipelineServiceRoleArn="arn:aws:iam::1:role/x")
    assert "at 'pipelineServiceRoleArn'" in _error(bad_role)[1]
    cleared = proton.update_account_settings(
        pipelineServiceRoleArn="", deletePipelineProvisioningRepository=True
    )["accountSettings"]
    assert cleared == {"pipelineCodebuildRoleArn": role}
    assert proton.get_account_settings()["accountSettings"] == cleared
    proton.update_account_settings(pipelineCodebuildRoleArn="")
    proton.delete_repository(provider="GITHUB", name="acme/infra")


def test_quotas_and_registration_resumes_after_restart(fresh_dir: Path, tmp_path: Path) -> None:
    server = Server(fresh_dir, ("--proton-max-templates", "2")).start()
    try:
        proton = server.client("proton")
        proton.create_environment_template(name="one")
        proton.create_service_template(name="two")
        with pytest.raises(ClientError) as quota:
            proton.create_environment_template(name="three")
        assert _error(quota)[0::2] == ("ServiceQuotaExceededException", 402)
        source = _put(server, example_bundle("environment-template"), tmp_path, "resume.tar.gz")
    finally:
        server.stop(signal.SIGKILL)  # a crash: nothing is shut down cleanly
    # A version the previous process left in progress (as after kill -9 mid-registration).
    _data, store = open_data_dir(fresh_dir)
    try:
        store.create_template_version(
            server.account_id,
            "us-east-1",
            "environment",
            "one",
            None,
            description=None,
            source_bucket=source["s3"]["bucket"],
            source_key=source["s3"]["key"],
            tags=(),
            operation="CreateEnvironmentTemplateVersion",
            client_token=None,
            request_hash="-",
            now=datetime.now(UTC),
            max_versions=500,
        )
    finally:
        store.close()
    server.start()
    try:
        proton = server.client("proton")
        proton.get_waiter("environment_template_version_registered").wait(
            templateName="one", majorVersion="1", minorVersion="0", WaiterConfig=FAST
        )
        proton.close()
    finally:
        server.stop()


def test_bundle_put_refuses_bad_urls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.tar.gz"
    path.write_bytes(b"x")
    data = tmp_path / "data"
    for url in ("templates/key", "s3://Bad/key", "s3://templates/../escape", "s3://templates/"):
        assert cli.main(["bundle", "put", str(path), url, "--data-dir", str(data)]) == 2, url
        assert capsys.readouterr().err.startswith("hadron: ")
    assert cli.main(["bundle", "put", str(tmp_path / "absent"), "s3://b-1/k", "--data-dir",
                     str(data)]) == 2  # fmt: skip
    assert not data.exists() or not any(p.is_file() for p in data.rglob("*"))
    # The real command, once, as a user runs it.
    out = subprocess.run(
        [sys.executable, "-m", "hadron", "bundle", "put", str(path), "s3://b-1/a/b.tar.gz",
         "--data-dir", str(data)],
        env=clean_env(), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout.startswith(f"upload: {path} to s3://b-1/a/b.tar.gz (1 bytes")
    assert (data / "buckets" / "b-1" / "a" / "b.tar.gz").read_bytes() == b"x"


def test_minor_versions_must_stay_backward_compatible(server: Server, tmp_path: Path) -> None:
    proton = server.client("proton")
    name = _name("compat")
    proton.create_environment_template(name=name)
    files = example_files("environment-template")
    schema = files["schema/schema.yaml"].decode()
    waiter = proton.get_waiter("environment_template_version_registered")
    proton.create_environment_template_version(
        templateName=name, source=_put(server, tar_gz(files), tmp_path)
    )
    waiter.wait(templateName=name, majorVersion="1", minorVersion="0", WaiterConfig=FAST)
    # 1.1 adds an optional input: compatible.
    wider = schema.replace(
        "        replicas:\n", "        zone:\n          type: string\n        replicas:\n"
    )
    wider_files = {**files, "schema/schema.yaml": wider.encode()}
    proton.create_environment_template_version(
        templateName=name, majorVersion="1", source=_put(server, tar_gz(wider_files), tmp_path)
    )
    waiter.wait(templateName=name, majorVersion="1", minorVersion="1", WaiterConfig=FAST)
    # 1.2 drops the input 1.1 added: specs valid for 1.1 would break.
    proton.create_environment_template_version(
        templateName=name, majorVersion="1", source=_put(server, tar_gz(files), tmp_path)
    )
    with pytest.raises(WaiterError):
        waiter.wait(templateName=name, majorVersion="1", minorVersion="2", WaiterConfig=FAST)
    failed = proton.get_environment_template_version(
        templateName=name, majorVersion="1", minorVersion="2"
    )["environmentTemplateVersion"]
    assert failed["statusMessage"] == (
        "schema/schema.yaml: not backward compatible with version 1.1: EnvironmentInput no "
        "longer has the input 'zone'"
    )
    # A new major may change anything.
    proton.create_environment_template_version(
        templateName=name, source=_put(server, tar_gz(files), tmp_path)
    )
    waiter.wait(templateName=name, majorVersion="2", minorVersion="0", WaiterConfig=FAST)
