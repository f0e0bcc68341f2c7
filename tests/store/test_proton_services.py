"""The Proton services repository over a real SQLite store: a service's aggregate status as its
instance and pipeline deployments finish, updates adding/removing instances, deletion, cancel,
recovery, and the guards on environments and template versions."""

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
from hadron.store import SqlStore
from hadron.store.proton_records import NewDeployment, NewInstance, NewPipeline, VersionRef

from .conftest import NOW
from .test_proton_environments import _create as _create_environment
from .test_proton_templates import REGION, _register, _template, _version

LATER = NOW + timedelta(minutes=1)
STATE = json.dumps(
    {"templateName": "svc", "templateMajorVersion": "1", "templateMinorVersion": "0",
     "spec": "s", "inputs": {}}
)  # fmt: skip


def _deploy(dep_id: str, action: str = "DEPLOY") -> NewDeployment:
    return NewDeployment(dep_id, action, "codebuild", STATE)


def _instance(name: str, dep_id: str, env: str = "e1") -> NewInstance:
    return NewInstance(name, env, 1, 0, "s", '{"port": 1}', _deploy(dep_id))


def _values(account: str, name: str = "s1", **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "account_id": account, "region": REGION, "name": name, "description": None,
        "template_name": "svc", "spec": "s", "repository_connection_arn": None,
        "repository_id": None, "branch_name": None, "request_hash": "h",
    }  # fmt: skip
    return out | kw


@pytest.fixture
def world(store: SqlStore, account: str) -> str:
    _template(store, account)
    _register(store, _version(store, account))
    _create_environment(store, account, "env-d1")
    store.finish_deployment("env-d1", Event.SUCCEED, None, NOW)
    _template(store, account, kind="service", name="svc")
    _register(store, _version(store, account, kind="service", name="svc"))
    return account


def _create(store: SqlStore, account: str, name: str = "s1", *, pipeline: bool = True) -> None:
    store.create_service(
        _values(account, name),
        [_instance("a", f"{name}-a"), _instance("b", f"{name}-b")],
        NewPipeline(1, 0, "s", "{}", "e1", _deploy(f"{name}-p")) if pipeline else None,
        tags=[("team", "blue")], now=NOW, max_services=10,
    )  # fmt: skip


def _status(store: SqlStore, account: str, name: str = "s1") -> str:
    found = store.get_service(account, REGION, name)
    assert found is not None
    return found.status


def test_create_then_all_succeed_is_active(store: SqlStore, world: str) -> None:
    _create(store, world)
    assert _status(store, world) == "CREATE_IN_PROGRESS"
    instance = store.get_service_instance(world, REGION, "s1", "a")
    assert instance is not None and instance.last_attempted_deployment_id == "s1-a"
    d = store.get_deployment(world, REGION, "s1-a")
    assert d is not None and (d.service_name, d.service_instance_name, d.target_type) == (
        "s1", "a", "SERVICE_INSTANCE",
    )  # fmt: skip
    assert store.service_template(world, REGION, "s1") == "svc"
    assert store.service_instances_busy(world, REGION, "s1")
    _create(store, world)  # an identical retry while nothing changed: the same service
    assert store.get_deployment(world, REGION, "s1-a") is not None
    store.finish_deployment("s1-a", Event.SUCCEED, None, LATER)
    store.finish_deployment("s1-b", Event.SUCCEED, None, LATER)
    assert _status(store, world) == "CREATE_IN_PROGRESS"  # the pipeline still runs
    store.notify_target(world, REGION, "s1", None, status="SUCCEEDED", deployment_id=None,
                        outputs=[("k", "v")], message=None, now=LATER)  # fmt: skip
    assert _status(store, world) == "ACTIVE"
    assert store.target_outputs(world, REGION, "s1", None, None) == [("k", "v")]
    listed = store.list_deployments(world, REGION, None, None, 10, service_name="s1",
                                    service_instance_name="a")  # fmt: skip
    assert [x.id for x in listed] == ["s1-a"]
    # A different request with the same name is a mismatch.
    with pytest.raises(ValidationError, match="Idempotent"):
        store.create_service(_values(world, request_hash="x"), [], None, tags=(), now=NOW,
                             max_services=10)  # fmt: skip


def test_one_failure_fails_the_create(store: SqlStore, world: str) -> None:
    _create(store, world, pipeline=False)
    store.finish_deployment("s1-a", Event.FAIL, "boom", LATER)
    assert _status(store, world) == "CREATE_IN_PROGRESS"
    store.finish_deployment("s1-b", Event.SUCCEED, None, LATER)
    found = store.get_service(world, REGION, "s1")
    assert found is not None and found.status == "CREATE_FAILED"
    assert found.status_message is not None and "service-instance/a" in found.status_message


def test_quota_and_missing_environment_leave_nothing(store: SqlStore, world: str) -> None:
    _create(store, world, pipeline=False)
    with pytest.raises(ServiceQuotaExceededException):
        store.create_service(_values(world, "s2"), [_instance("a", "x")], None, tags=(),
                             now=NOW, max_services=1)  # fmt: skip
    with pytest.raises(ResourceNotFoundException, match="nope"):
        store.create_service(_values(world, "s3"), [_instance("a", "y", env="nope")], None,
                             tags=(), now=NOW, max_services=10)  # fmt: skip
    assert [s.name for s in store.list_services(world, REGION, None, 10)] == ["s1"]
    assert store.get_deployment(world, REGION, "y") is None


def test_update_adds_and_removes_instances(store: SqlStore, world: str) -> None:
    _create(store, world, pipeline=False)
    with pytest.raises(ConflictException, match="CREATE_IN_PROGRESS"):
        store.update_service(world, REGION, "s1", description=None, spec="s2", added=[],
                             removed={}, now=LATER, max_instances=20)  # fmt: skip
    for d in ("s1-a", "s1-b"):
        store.finish_deployment(d, Event.SUCCEED, None, LATER)
    with pytest.raises(ServiceQuotaExceededException):
        store.update_service(world, REGION, "s1", description=None, spec="s2",
                             added=[_instance("c", "c1")], removed={}, now=LATER,
                             max_instances=2)  # fmt: skip
    updated = store.update_service(
        world, REGION, "s1", description="d", spec="s2", added=[_instance("c", "c1")],
        removed={"a": _deploy("a-del", "DELETE")}, now=LATER, max_instances=20,
    )  # fmt: skip
    assert (updated.status, updated.description) == ("UPDATE_IN_PROGRESS", "d")
    store.finish_deployment("a-del", Event.DELETE_SUCCEED, None, LATER)
    assert store.get_service_instance(world, REGION, "s1", "a") is None
    assert store.get_deployment(world, REGION, "s1-a") is None  # its history went with it
    store.finish_deployment("c1", Event.SUCCEED, None, LATER)
    assert _status(store, world) == "ACTIVE"
    names = [i.name for i in store.service_instances(world, REGION, "s1")]
    assert names == ["b", "c"]


def test_instance_update_cancel_reverts(store: SqlStore, world: str) -> None:
    _create(store, world, pipeline=False)
    for d in ("s1-a", "s1-b"):
        store.finish_deployment(d, Event.SUCCEED, None, LATER)
    new = NewDeployment("a2", "DEPLOY", "codebuild", STATE)
    found = store.update_service_instance(
        world, REGION, "s1", "a", changes={"template_minor": 0, "inputs": '{"port": 2}'},
        deployment=new, now=LATER,
    )  # fmt: skip
    assert found.deployment_status == "IN_PROGRESS" and json.loads(found.inputs) == {"port": 2}
    with pytest.raises(ConflictException):
        store.update_service_instance(world, REGION, "s1", "a", changes={}, deployment=None,
                                      now=LATER)  # fmt: skip
    store.cancel_target_deployment(world, REGION, "s1", "a", LATER)
    store.finish_deployment("a2", Event.CANCELLED, "c", LATER)
    after = store.get_service_instance(world, REGION, "s1", "a")
    assert after is not None and after.deployment_status == "CANCELLED"
    assert json.loads(after.inputs) == {"port": 1}  # reverted
    assert _status(store, world) == "ACTIVE"  # instance updates leave the service alone
    with pytest.raises(ValidationError, match="current"):
        store.delete_deployment(world, REGION, "a2")


def test_guards_delete_and_recovery(store: SqlStore, world: str) -> None:
    _create(store, world)
    with pytest.raises(ConflictException, match="s1/a"):
        store.start_environment_delete(world, REGION, "e1", _deploy("env-del", "DELETE"), LATER)
    ref = VersionRef(world, REGION, "service", "svc", 1, 0)
    with pytest.raises(ConflictException, match="s1/pipeline"):
        store.delete_template_version(ref, LATER)
    with pytest.raises(ConflictException, match="CREATE_IN_PROGRESS"):
        store.start_service_delete(world, REGION, "s1", {}, LATER)
    # A crash: the deployments fail at start, then the service.
    for d in store.busy_deployments():
        store.finish_deployment(d.id, Event.RECOVER, RECOVERY_MESSAGE, LATER)
    assert store.recover_services(LATER) == []  # already settled by the finishers
    assert _status(store, world) == "CREATE_FAILED"
    deletes = {"a": _deploy("a-d", "DELETE"), "b": _deploy("b-d", "DELETE"),
               "": _deploy("p-d", "DELETE")}  # fmt: skip
    with pytest.raises(ConflictException, match="changed"):
        store.start_service_delete(world, REGION, "s1", {"a": deletes["a"]}, LATER)
    store.start_service_delete(world, REGION, "s1", deletes, LATER)
    assert _status(store, world) == "DELETE_IN_PROGRESS"
    store.finish_deployment("a-d", Event.DELETE_SUCCEED, None, LATER)
    store.finish_deployment("b-d", Event.DELETE_FAIL, "no", LATER)
    store.finish_deployment("p-d", Event.DELETE_SUCCEED, None, LATER)
    assert _status(store, world) == "DELETE_FAILED"
    store.start_service_delete(world, REGION, "s1", {"b": _deploy("b-d2", "DELETE")}, LATER)
    store.finish_deployment("b-d2", Event.DELETE_SUCCEED, None, LATER)
    assert store.get_service(world, REGION, "s1") is None
    assert store.start_service_delete(world, REGION, "s1", {}, LATER) is None  # retry
    store.start_environment_delete(world, REGION, "e1", _deploy("env-del", "DELETE"), LATER)
