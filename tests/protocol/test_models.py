"""The models Hadron serves come from the installed botocore, and keep every served operation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import botocore
import pytest

import hadron.protocol
from hadron.protocol import SERVED_SERVICES, adapter_for, find_operation, load_service

SERVED_OPERATIONS: dict[str, list[str]] = {
    "sts": [
        "GetCallerIdentity",
        "AssumeRole",
        "GetSessionToken",
        "GetAccessKeyInfo",
        "DecodeAuthorizationMessage",
    ],
    "ec2": ["CreateVpcEndpoint", "DescribeVpcEndpoints", "ModifyVpcEndpoint", "DeleteVpcEndpoints"],
    "iam": [
        "CreateUser",
        "GetUser",
        "ListUsers",
        "UpdateUser",
        "DeleteUser",
        "CreateGroup",
        "GetGroup",
        "ListGroups",
        "ListGroupsForUser",
        "AddUserToGroup",
        "RemoveUserFromGroup",
        "UpdateGroup",
        "DeleteGroup",
        "CreateRole",
        "GetRole",
        "ListRoles",
        "UpdateRole",
        "UpdateAssumeRolePolicy",
        "DeleteRole",
        "PutUserPolicy",
        "GetUserPolicy",
        "ListUserPolicies",
        "DeleteUserPolicy",
        "PutGroupPolicy",
        "PutRolePolicy",
        "CreatePolicy",
        "GetPolicy",
        "ListPolicies",
        "DeletePolicy",
        "AttachUserPolicy",
        "DetachUserPolicy",
        "AttachRolePolicy",
        "AttachGroupPolicy",
        "ListAttachedUserPolicies",
        "ListEntitiesForPolicy",
        "CreatePolicyVersion",
        "GetPolicyVersion",
        "ListPolicyVersions",
        "SetDefaultPolicyVersion",
        "DeletePolicyVersion",
        "CreateAccessKey",
        "ListAccessKeys",
        "UpdateAccessKey",
        "DeleteAccessKey",
        "GetAccessKeyLastUsed",
        "PutUserPermissionsBoundary",
        "DeleteRolePermissionsBoundary",
        "TagUser",
        "UntagUser",
        "ListUserTags",
        "TagRole",
        "TagPolicy",
        "GetAccountAuthorizationDetails",
        "GetAccountSummary",
        "SimulatePrincipalPolicy",
        "SimulateCustomPolicy",
        "GetContextKeysForPrincipalPolicy",
    ],
}


@pytest.mark.parametrize(
    ("service_name", "operation"),
    [(service, op) for service, ops in SERVED_OPERATIONS.items() for op in ops],
)
def test_served_operation_exists(service_name: str, operation: str) -> None:
    service = load_service(service_name)
    found = find_operation(service, operation)
    assert found is not None
    assert found.name == operation


def test_proton_has_its_87_operations() -> None:
    proton = load_service("proton")
    assert len(proton.operation_names) == 87
    assert proton.metadata["targetPrefix"] == "AwsProton20200720"
    assert proton.metadata["jsonVersion"] == "1.0"
    assert {"CreateService", "GetDeployment", "ListServiceInstances"} <= set(proton.operation_names)


@pytest.mark.parametrize(
    ("service_name", "protocol"),
    [("proton", "json"), ("iam", "query"), ("sts", "query"), ("ec2", "ec2")],
)
def test_protocol_of_each_service(service_name: str, protocol: str) -> None:
    service = load_service(service_name)
    assert service.protocol == protocol
    assert adapter_for(service).name == protocol


def test_models_are_cached() -> None:
    assert load_service("sts") is load_service("sts")
    assert SERVED_SERVICES == ("proton", "iam", "sts", "ec2")


def test_only_served_services_load() -> None:
    with pytest.raises(ValueError, match="not a served service"):
        load_service("dynamodb")


def test_find_operation_is_exact() -> None:
    sts = load_service("sts")
    assert find_operation(sts, "getcalleridentity") is None
    assert find_operation(sts, "") is None


def test_user_model_folders_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither AWS_DATA_PATH nor ~/.aws/models can change what the server accepts."""
    fake = {
        "version": "2.0",
        "metadata": dict(load_service("sts").metadata),
        "operations": {},
        "shapes": {},
    }
    for root in (tmp_path / "data", tmp_path / "home" / ".aws" / "models"):
        folder = root / "sts" / "2011-06-15"
        folder.mkdir(parents=True)
        (folder / "service-2.json").write_text(json.dumps(fake))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    from hadron.protocol import models

    models.load_service.cache_clear()
    models._loader.cache_clear()
    try:
        assert len(load_service("sts").operation_names) >= 12
        assert models._loader().search_paths == [
            os.path.join(os.path.dirname(botocore.__file__), "data")
        ]
    finally:
        models.load_service.cache_clear()
        models._loader.cache_clear()


def test_exported_members() -> None:
    exported = set(hadron.protocol.__all__)
    assert exported == {
        "SERVED_SERVICES",
        "Adapter",
        "Ec2Adapter",
        "JsonAdapter",
        "QueryAdapter",
        "adapter_for",
        "find_operation",
        "load_service",
        "parse_operation_name",
        "validate",
    }
    for name in exported:
        assert getattr(hadron.protocol, name) is not None


def test_unsupported_protocols_have_no_adapter() -> None:
    from botocore.model import ServiceModel

    for metadata in ({"protocol": "rest-json"}, {"protocol": "json", "jsonVersion": "1.1"}):
        service = ServiceModel({"metadata": metadata, "operations": {}, "shapes": {}})
        with pytest.raises(ValueError, match="unsupported"):
            adapter_for(service)
