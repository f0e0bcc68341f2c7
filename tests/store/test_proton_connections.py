"""Environment account connections in-process: the handlers over a real SQLite store, every rule
and error path, and environments provisioned through a connection (which role a build assumes,
who may report its outputs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from hadron.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationError,
)
from hadron.proton.connections import ConnectionsApi, build_role, may_notify
from hadron.proton.deployments import Event
from hadron.proton.environments import EnvironmentsApi
from hadron.proton.quotas import Quotas
from hadron.store import SqlStore
from hadron.store.proton_records import NewDeployment
from hadron.types import Principal
from tests.proton.bundles import example_files, tar_gz

from .conftest import ACCOUNT, NOW
from .test_proton_templates import REGION, _template, _version

MGMT = ACCOUNT
ENV = "210987654321"
THIRD = "333344445555"
LATER = NOW + timedelta(minutes=1)
SPEC = "proton: EnvironmentSpec\nspec:\n  network_name: blue\n"


def _role(account: str, name: str = "codebuild") -> str:
    return f"arn:aws:iam::{account}:role/{name}"


@dataclass(frozen=True)
class Call:
    principal: Principal
    params: Mapping[str, Any]
    region: str = REGION
    now: datetime = NOW


@dataclass
class Queue:
    submitted: list[str] = field(default_factory=list)

    def submit(self, deployment_id: str) -> None:
        self.submitted.append(deployment_id)

    def cancel(self, deployment_id: str) -> None:  # pragma: no cover - not used here
        pass


def _call(account: str, now: datetime = NOW, **params: Any) -> Call:
    arn = f"arn:aws:iam::{account}:root"
    return Call(Principal(account, arn, account, "Root"), params, now=now)


@pytest.fixture
def api(store: SqlStore) -> ConnectionsApi:
    for account in (MGMT, ENV, THIRD):
        store.create_account(account, NOW)
    return ConnectionsApi(store, Quotas(account_connections=2))


def _create(api: ConnectionsApi, name: str = "prod", **params: Any) -> dict[str, Any]:
    args = {
        "managementAccountId": MGMT,
        "environmentName": name,
        "codebuildRoleArn": _role(ENV),
        "componentRoleArn": _role(ENV, "component"),
    }
    created = api.create(_call(ENV, **(args | params)))
    return dict(created["environmentAccountConnection"])


def _accept(api: ConnectionsApi, connection_id: str) -> dict[str, Any]:
    return dict(api.accept(_call(MGMT, id=connection_id))["environmentAccountConnection"])


def test_create_get_and_visibility(api: ConnectionsApi) -> None:
    c = _create(api, tags=[{"key": "team", "value": "blue"}])
    assert c["status"] == "PENDING"
    assert c["arn"] == f"arn:aws:proton:{REGION}:{ENV}:environment-account-connection/{c['id']}"
    assert (c["managementAccountId"], c["environmentAccountId"]) == (MGMT, ENV)
    assert c["codebuildRoleArn"] == _role(ENV) and "roleArn" not in c
    for account in (MGMT, ENV):
        got = api.get(_call(account, id=c["id"]))["environmentAccountConnection"]
        assert got == c
    with pytest.raises(ResourceNotFoundException, match=c["id"]):
        api.get(_call(THIRD, id=c["id"]))
    with pytest.raises(ResourceNotFoundException):
        api.accept(_call(THIRD, id=c["id"]))


def test_create_refusals_change_nothing(api: ConnectionsApi, store: SqlStore) -> None:
    with pytest.raises(ValidationError, match="managementAccountId: the account 999988887777"):
        _create(api, managementAccountId="999988887777")
    with pytest.raises(ValidationError, match="managementAccountId: 210987654321 is this"):
        _create(api, managementAccountId=ENV)
    with pytest.raises(ValidationError, match=r"codebuildRoleArn: .* environment account"):
        _create(api, codebuildRoleArn=_role(MGMT))
    with pytest.raises(ValidationError, match="roleArn: not-an-arn"):
        _create(api, roleArn="not-an-arn")
    listed = api.list(_call(ENV, requestedBy="ENVIRONMENT_ACCOUNT"))
    assert listed["environmentAccountConnections"] == []
    first = _create(api)
    with pytest.raises(ConflictException, match=first["id"]):
        _create(api)  # a second PENDING one for the same management account + environment
    _create(api, "staging")
    with pytest.raises(ServiceQuotaExceededException, match=r"\(2\)"):
        _create(api, "dev")


def test_client_token_replays_or_refuses(api: ConnectionsApi) -> None:
    first = _create(api, clientToken="tok")
    assert _create(api, clientToken="tok")["id"] == first["id"]
    with pytest.raises(ValidationError, match="Idempotent parameter mismatch"):
        _create(api, "other", clientToken="tok")


def test_accept_reject_transitions(api: ConnectionsApi) -> None:
    c = _create(api)
    with pytest.raises(ValidationError, match=f"only be accepted by its management account {MGMT}"):
        api.accept(_call(ENV, id=c["id"]))
    accepted = _accept(api, c["id"])
    assert accepted["status"] == "CONNECTED"
    assert _accept(api, c["id"]) == accepted  # idempotent retry
    rejected = api.reject(_call(MGMT, id=c["id"]))["environmentAccountConnection"]
    assert rejected["status"] == "REJECTED"
    with pytest.raises(ConflictException, match="is REJECTED; only a PENDING"):
        _accept(api, c["id"])
    # Rejected: a new connection for the same environment may be requested.
    again = _create(api)
    assert api.reject(_call(MGMT, id=again["id"]))["environmentAccountConnection"]["status"] == (
        "REJECTED"
    )


def test_update_delete_by_the_environment_account_only(api: ConnectionsApi) -> None:
    c = _create(api)
    with pytest.raises(ValidationError, match="only be updated by its environment account"):
        api.update(_call(MGMT, id=c["id"], roleArn=_role(ENV, "x")))
    updated = api.update(_call(ENV, LATER, id=c["id"], roleArn=_role(ENV, "prov")))
    got = updated["environmentAccountConnection"]
    assert got["roleArn"] == _role(ENV, "prov") and got["lastModifiedAt"] == LATER
    with pytest.raises(ValidationError, match="only be deleted by its environment account"):
        api.delete(_call(MGMT, id=c["id"]))
    deleted = api.delete(_call(ENV, id=c["id"]))["environmentAccountConnection"]
    assert deleted["id"] == c["id"]
    assert api.delete(_call(ENV, id=c["id"])) == {}  # idempotent retry
    with pytest.raises(ResourceNotFoundException):
        api.get(_call(ENV, id=c["id"]))


def test_list_from_both_sides_with_filters_and_pages(api: ConnectionsApi) -> None:
    a = _create(api, "prod")
    b = _create(api, "staging")
    _accept(api, b["id"])

    def ids(account: str, **params: Any) -> list[str]:
        found = api.list(_call(account, **params))["environmentAccountConnections"]
        return [c["id"] for c in found]

    both = sorted([a["id"], b["id"]])
    assert ids(ENV, requestedBy="ENVIRONMENT_ACCOUNT") == both
    assert ids(MGMT, requestedBy="MANAGEMENT_ACCOUNT") == both
    assert ids(MGMT, requestedBy="ENVIRONMENT_ACCOUNT") == []
    assert ids(THIRD, requestedBy="MANAGEMENT_ACCOUNT") == []
    assert ids(MGMT, requestedBy="MANAGEMENT_ACCOUNT", statuses=["CONNECTED"]) == [b["id"]]
    assert ids(ENV, requestedBy="ENVIRONMENT_ACCOUNT", environmentName="prod") == [a["id"]]
    page = api.list(_call(ENV, requestedBy="ENVIRONMENT_ACCOUNT", maxResults=1))
    assert len(page["environmentAccountConnections"]) == 1
    rest = api.list(
        _call(ENV, requestedBy="ENVIRONMENT_ACCOUNT", maxResults=1, nextToken=page["nextToken"])
    )
    assert [c["id"] for c in rest["environmentAccountConnections"]] == both[1:]
    assert "nextToken" not in rest
    with pytest.raises(ValidationError, match="nextToken"):
        api.list(_call(MGMT, requestedBy="MANAGEMENT_ACCOUNT", nextToken=page["nextToken"]))


# --- environments through a connection -----------------------------------------------------------


@pytest.fixture
def envs(store: SqlStore, api: ConnectionsApi) -> EnvironmentsApi:
    """A published CodeBuild environment template ``env`` 1.0 in the management account."""
    _template(store, MGMT)
    ref = _version(store, MGMT)
    assert store.finish_registration(
        ref, schema="s", input_schemas="{}", bundle=tar_gz(example_files("environment-template")),
        failure=None, now=NOW,
    )  # fmt: skip
    store.update_template_version(ref, status="PUBLISHED", description=None, now=NOW)
    return EnvironmentsApi(store, Quotas(), Queue())


def _env(envs: EnvironmentsApi, name: str = "prod", **params: Any) -> dict[str, Any]:
    args = {"name": name, "templateName": "env", "templateMajorVersion": "1",
            "spec": "proton: EnvironmentSpec\nspec: {}\n"}  # fmt: skip
    return dict(envs.create(_call(MGMT, **(args | params)))["environment"])


def test_environment_through_a_connection(
    api: ConnectionsApi, envs: EnvironmentsApi, store: SqlStore
) -> None:
    c = _create(api)
    with pytest.raises(ValidationError, match=r"environmentAccountConnectionId: .* is PENDING"):
        _env(envs, environmentAccountConnectionId=c["id"])
    _accept(api, c["id"])
    with pytest.raises(ValidationError, match=r"^codebuildRoleArn: cannot be given"):
        _env(envs, environmentAccountConnectionId=c["id"], codebuildRoleArn=_role(MGMT))
    with pytest.raises(ValidationError, match="is for environment prod, not other"):
        _env(envs, "other", environmentAccountConnectionId=c["id"])
    with pytest.raises(ValidationError, match="was not found"):
        _env(envs, environmentAccountConnectionId="00000000-0000-4000-8000-000000000000")
    assert store.get_environment(MGMT, REGION, "prod") is None  # refused: nothing written
    env = _env(envs, environmentAccountConnectionId=c["id"])
    assert env["environmentAccountConnectionId"] == c["id"]
    assert env["environmentAccountId"] == ENV
    assert env["componentRoleArn"] == _role(ENV, "component")
    assert "codebuildRoleArn" not in env and "protonServiceRoleArn" not in env
    # The build assumes the connection's CodeBuild role, in the environment account, and the
    # environment account (only) may report for the management account's environment.
    stored = store.get_environment(MGMT, REGION, "prod")
    assert stored is not None
    assert (build_role(store, stored).role_arn, build_role(store, stored).account_id) == (
        _role(ENV), ENV,
    )  # fmt: skip
    assert may_notify(store, ENV, MGMT, REGION, "prod")
    assert not may_notify(store, THIRD, MGMT, REGION, "prod")
    # In use: cannot be rejected; a role change reaches the environment.
    with pytest.raises(ConflictException, match="used by environment prod"):
        api.reject(_call(MGMT, id=c["id"]))
    api.update(_call(ENV, id=c["id"], componentRoleArn=_role(ENV, "component2")))
    assert envs.get(_call(MGMT, name="prod"))["environment"]["componentRoleArn"] == (
        _role(ENV, "component2")
    )


def test_deleted_connection_leaves_the_environment_unmanageable(
    api: ConnectionsApi, envs: EnvironmentsApi, store: SqlStore
) -> None:
    c = _create(api)
    _accept(api, c["id"])
    created = _env(envs, environmentAccountConnectionId=c["id"])
    store.finish_deployment(created["lastAttemptedDeploymentId"], Event.SUCCEED, None, NOW)
    api.delete(_call(ENV, id=c["id"]))
    stored = store.get_environment(MGMT, REGION, "prod")
    assert stored is not None
    found = build_role(store, stored)
    assert found.role_arn is None and found.problem is not None
    assert f"{c['id']} no longer exists" in found.problem
    assert "update the environment with its id" in found.problem
    assert not may_notify(store, ENV, MGMT, REGION, "prod")
    # A new accepted connection for the same environment account + environment repairs it.
    new = _create(api)
    _accept(api, new["id"])
    updated = envs.update(
        _call(MGMT, name="prod", deploymentType="NONE", environmentAccountConnectionId=new["id"])
    )["environment"]
    assert updated["environmentAccountConnectionId"] == new["id"]
    stored = store.get_environment(MGMT, REGION, "prod")
    assert stored is not None and build_role(store, stored).role_arn == _role(ENV)
    with pytest.raises(ValidationError, match=r"^protonServiceRoleArn: cannot be given"):
        envs.update(
            _call(MGMT, name="prod", deploymentType="NONE", protonServiceRoleArn=_role(MGMT))
        )


def test_an_environment_without_a_connection_cannot_move_onto_one(
    api: ConnectionsApi, envs: EnvironmentsApi
) -> None:
    _env(envs, "plain", codebuildRoleArn=_role(MGMT))
    c = _create(api, "plain")
    _accept(api, c["id"])
    with pytest.raises(ValidationError, match="was not created with an environment account"):
        envs.update(
            _call(MGMT, name="plain", deploymentType="NONE", environmentAccountConnectionId=c["id"])
        )


def test_the_quota_is_positive() -> None:
    assert Quotas().account_connections == 5  # AWS's default (proton.md §9)
    with pytest.raises(ValueError, match="positive"):
        Quotas(account_connections=0)


def test_the_store_rechecks_the_connection_when_it_writes(
    api: ConnectionsApi, envs: EnvironmentsApi, store: SqlStore
) -> None:
    """A connection rejected between a handler's check and its write refuses the write."""
    c = _create(api)
    values = {
        "account_id": MGMT, "region": REGION, "name": "prod", "description": None,
        "template_name": "env", "template_major": 1, "template_minor": 0, "spec": "s",
        "inputs": "{}", "proton_service_role_arn": None, "codebuild_role_arn": None,
        "component_role_arn": None, "environment_account_connection_id": c["id"],
        "environment_account_id": ENV, "provisioning": None, "request_hash": "h",
    }  # fmt: skip
    deployment = NewDeployment("d1", "DEPLOY", "codebuild", "{}")
    with pytest.raises(ValidationError, match=f"{c['id']} is not a CONNECTED connection"):
        store.create_environment(values, deployment, tags=(), now=NOW, max_environments=10)
    assert store.get_environment(MGMT, REGION, "prod") is None
