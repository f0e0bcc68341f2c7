"""The Proton environments repository over a real SQLite store: environments, deployment
records, outputs, cancel/revert, deletion, recovery and the rules of DeleteDeployment."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from hadron.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationError,
)
from hadron.proton.deployments import RECOVERY_MESSAGE, Event
from hadron.proton.provisioner import failure_message
from hadron.store import SqlStore
from hadron.store.proton_records import NewDeployment

from .conftest import NOW
from .test_proton_templates import REGION, _register, _template, _version

LATER = NOW + timedelta(minutes=1)


def _state(minor: int, spec: str = "s", inputs: dict[str, Any] | None = None) -> str:
    return json.dumps(
        {"templateName": "env", "templateMajorVersion": "1", "templateMinorVersion": str(minor),
         "spec": spec, "inputs": inputs or {}}
    )  # fmt: skip


def _values(account: str, name: str = "e1", **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "account_id": account, "region": REGION, "name": name, "description": None,
        "template_name": "env", "template_major": 1, "template_minor": 0, "spec": "s",
        "inputs": "{}", "proton_service_role_arn": None, "codebuild_role_arn": "r",
        "component_role_arn": None, "environment_account_connection_id": None,
        "provisioning": None, "request_hash": "h",
    }  # fmt: skip
    return out | kw


@pytest.fixture
def world(store: SqlStore, account: str) -> str:
    _template(store, account)
    _register(store, _version(store, account))
    _register(store, _version(store, account, major=1))
    return account


def _create(store: SqlStore, account: str, dep_id: str = "d1", name: str = "e1") -> None:
    store.create_environment(
        _values(account, name), NewDeployment(dep_id, "DEPLOY", "codebuild", _state(0)),
        tags=[("team", "blue")], now=NOW, max_environments=100,
    )  # fmt: skip


def test_create_writes_environment_and_deployment(store: SqlStore, world: str) -> None:
    _create(store, world)
    env = store.get_environment(world, REGION, "e1")
    assert env is not None and env.deployment_status == "IN_PROGRESS"
    assert env.last_attempted_deployment_id == "d1" and env.last_succeeded_deployment_id is None
    d = store.get_deployment(world, REGION, "d1")
    assert d is not None and (d.action, d.deployment_status, d.initial_state) == (
        "DEPLOY", "IN_PROGRESS", None,
    )  # fmt: skip
    # Identical retry: the same environment, no new deployment; a different one: mismatch.
    again, created = store.create_environment(
        _values(world), NewDeployment("d2", "DEPLOY", "codebuild", _state(0)),
        tags=(), now=LATER, max_environments=100,
    )  # fmt: skip
    assert not created and again.last_attempted_deployment_id == "d1"
    with pytest.raises(ValidationError, match="Idempotent parameter mismatch"):
        store.create_environment(
            _values(world, request_hash="x"), NewDeployment("d3", "DEPLOY", "codebuild", "{}"),
            tags=(), now=LATER, max_environments=100,
        )  # fmt: skip
    assert [d.id for d in store.list_deployments(world, REGION, "e1", None, 10)] == ["d1"]


def test_quota_and_missing_version_leave_nothing(store: SqlStore, world: str) -> None:
    _create(store, world)
    with pytest.raises(ServiceQuotaExceededException):
        store.create_environment(
            _values(world, "e2"), NewDeployment("d2", "DEPLOY", "codebuild", "{}"),
            tags=(), now=NOW, max_environments=1,
        )  # fmt: skip
    with pytest.raises(ResourceNotFoundException):
        store.create_environment(
            _values(world, "e3", template_minor=7), NewDeployment("d3", "DEPLOY", "x", "{}"),
            tags=(), now=NOW, max_environments=100,
        )  # fmt: skip
    assert [e.name for e in store.list_environments(world, REGION, None, None, 10)] == ["e1"]
    assert store.get_deployment(world, REGION, "d2") is None


def test_success_outputs_and_update(store: SqlStore, world: str) -> None:
    _create(store, world)
    store.set_deployment_outputs("d1", [("vpc", "vpc-1"), ("subnet", "s-1")])
    assert store.outputs(world, REGION, "e1", None) == []  # not succeeded yet
    store.finish_deployment("d1", Event.SUCCEED, None, LATER)
    assert store.outputs(world, REGION, "e1", None) == [("subnet", "s-1"), ("vpc", "vpc-1")]
    assert store.finish_deployment("d1", Event.FAIL, "late", LATER) is None  # already final
    env = store.update_environment(
        world, REGION, "e1",
        changes={"template_minor": 1, "spec": "s2", "inputs": '{"a": 1}'},
        deployment=NewDeployment("d2", "DEPLOY", "codebuild", _state(1, "s2")), now=LATER,
    )  # fmt: skip
    assert (env.deployment_status, env.template_minor) == ("IN_PROGRESS", 1)
    with pytest.raises(ConflictException, match="in progress"):
        store.update_environment(world, REGION, "e1", changes={}, deployment=None, now=LATER)
    # A cancelled update reverts the environment to the state before it.
    store.cancel_environment_deployment(world, REGION, "e1", LATER)
    store.finish_deployment("d2", Event.CANCELLED, "User initiated cancellation.", LATER)
    env2 = store.get_environment(world, REGION, "e1")
    assert env2 is not None
    assert (env2.deployment_status, env2.template_minor, env2.spec) == ("CANCELLED", 0, "s")
    assert env2.last_succeeded_deployment_id == "d1"
    assert store.outputs(world, REGION, "e1", None) == [("subnet", "s-1"), ("vpc", "vpc-1")]
    # Only the finished, non-current deployment may be deleted.
    with pytest.raises(ValidationError, match="current"):
        store.delete_deployment(world, REGION, "d1")
    with pytest.raises(ValidationError, match="current"):
        store.delete_deployment(world, REGION, "d2")


def test_notify_records_outputs_and_statuses(store: SqlStore, world: str) -> None:
    _create(store, world)
    kw: dict[str, Any] = {"message": None, "now": LATER}
    store.notify_environment(world, REGION, "e1", status="", deployment_id=None,
                             outputs=[("k", "v")], **kw)  # fmt: skip
    with pytest.raises(ConflictException, match="not the deployment in progress"):
        store.notify_environment(world, REGION, "e1", status="SUCCEEDED", deployment_id="zz",
                                 outputs=(), **kw)  # fmt: skip
    with pytest.raises(ServiceQuotaExceededException):
        store.notify_environment(world, REGION, "e1", status="", deployment_id="d1",
                                 outputs=[(f"k{i}", "v") for i in range(200)], **kw)  # fmt: skip
    store.notify_environment(world, REGION, "e1", status="FAILED", deployment_id="d1",
                             outputs=(), message="boom", now=LATER)  # fmt: skip
    env = store.get_environment(world, REGION, "e1")
    assert env is not None and (env.deployment_status, env.deployment_status_message) == (
        "FAILED", "boom",
    )  # fmt: skip
    with pytest.raises(ConflictException, match="no deployment in progress"):
        store.notify_environment(world, REGION, "e1", status="", deployment_id=None,
                                 outputs=(), **kw)  # fmt: skip


def test_delete_recovery_and_version_in_use(store: SqlStore, world: str) -> None:
    _create(store, world)
    ref = _version(store, world, major=1)  # 1.2, registered below; 1.0 is used by e1
    _register(store, ref)
    with pytest.raises(ConflictException, match="e1"):
        store.delete_template_version(ref.__class__(world, REGION, "environment", "env", 1, 0), NOW)
    # Crash recovery: the running deployment fails with the recovery message.
    assert [d.id for d in store.busy_deployments()] == ["d1"]
    store.finish_deployment("d1", Event.RECOVER, RECOVERY_MESSAGE, LATER)
    assert store.busy_deployments() == []
    started = store.start_environment_delete(
        world, REGION, "e1", NewDeployment("d9", "DELETE", "codebuild", _state(0)), LATER
    )
    assert (
        started is not None
        and started[1]
        and started[0].deployment_status == ("DELETE_IN_PROGRESS")
    )
    retry = store.start_environment_delete(
        world, REGION, "e1", NewDeployment("dx", "DELETE", "codebuild", "{}"), LATER
    )
    assert retry is not None and not retry[1]
    store.finish_deployment("d9", Event.DELETE_SUCCEED, None, LATER)
    assert store.get_environment(world, REGION, "e1") is None
    assert store.get_deployment(world, REGION, "d1") is None
    assert (
        store.start_environment_delete(
            world, REGION, "e1", NewDeployment("dy", "DELETE", "codebuild", "{}"), LATER
        )
        is None
    )  # idempotent retry within 8 hours
    with pytest.raises(ResourceNotFoundException):
        store.start_environment_delete(
            world,
            REGION,
            "e1",
            NewDeployment("dz", "DELETE", "x", "{}"),
            LATER + timedelta(hours=9),
        )
    store.delete_template_version(ref.__class__(world, REGION, "environment", "env", 1, 0), LATER)


def test_failure_message_keeps_the_tail() -> None:
    assert failure_message("Failed.", "") == "Failed."
    long = "x" * 10_000 + "END"
    message = failure_message("Failed.", long)
    assert message.startswith("Failed.\n...") and message.endswith("END")
    assert len(message) < 4100
