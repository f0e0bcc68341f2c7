"""How the deployments of a service's instances and pipeline start and finish, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §2.6-§2.8, §2.16. Shared by the services repository
(``hadron.store.proton_services``) and the service instances repository
(``hadron.store.proton_service_instances``): the ARNs and not-found errors of services, instances
and pipelines, their row keys and records, adding an instance and starting a deployment on an
instance or pipeline, all inside the caller's transaction.

The finishers registered here (``FINISHERS``) apply a finished instance/pipeline deployment to its
target and then settle the service: once none of the operation's deployments is running, the
service moves to ACTIVE (all succeeded), ``*_FAILED`` (any failed or was cancelled) or, for a
delete whose deployments all completed, is removed with its tags (its ARN remembered for
idempotent retries).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, select, update

from hadron.errors import ResourceNotFoundException
from hadron.proton import deployments as dep
from hadron.proton.managed_tags import managed_tags
from hadron.store.proton_deployments import insert_deployment, started_columns, version_state
from hadron.store.proton_environments import environment_arn, environment_missing
from hadron.store.proton_records import NewDeployment, NewInstance, ServiceInstance, ServicePipeline
from hadron.store.proton_tags import forget_resource, merge_tags, read_tags
from hadron.store.proton_targets import FINISHERS
from hadron.store.schema_proton import (
    proton_deployments,
    proton_environments,
    proton_service_instances,
    proton_service_pipelines,
    proton_service_sync_configs,
    proton_services,
)

__all__ = [
    "add_instance",
    "insert_target_deployment",
    "instance_arn",
    "instance_missing",
    "instance_record",
    "instance_where",
    "pipeline_arn",
    "pipeline_missing",
    "pipeline_record",
    "pipeline_where",
    "service_arn",
    "service_missing",
    "service_where",
    "settle_service",
    "start_on",
]

_S = proton_services
_I = proton_service_instances
_P = proton_service_pipelines
_D = proton_deployments
_INSTANCE = dep.ResourceKind.SERVICE_INSTANCE
_PIPELINE = dep.ResourceKind.SERVICE_PIPELINE
_FAILED = frozenset({"FAILED", "CANCELLED", "DELETE_FAILED"})


def service_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:proton:{region}:{account_id}:service/{name}"


def instance_arn(region: str, account_id: str, service: str, name: str) -> str:
    return f"{service_arn(region, account_id, service)}/service-instance/{name}"


def pipeline_arn(region: str, account_id: str, service: str) -> str:
    return f"{service_arn(region, account_id, service)}/pipeline"


def service_missing(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The service {name} was not found.")


def instance_missing(service: str, name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"The service instance {name} of service {service} was not found."
    )


def pipeline_missing(service: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The service {service} has no pipeline.")


def service_where(account_id: str, region: str, name: str) -> Any:
    return and_(_S.c.account_id == account_id, _S.c.region == region, _S.c.name == name)


def instance_where(account_id: str, region: str, service: str, name: str | None = None) -> Any:
    where = and_(_I.c.account_id == account_id, _I.c.region == region, _I.c.service_name == service)
    return where if name is None else and_(where, _I.c.name == name)


def pipeline_where(account_id: str, region: str, service: str) -> Any:
    return and_(_P.c.account_id == account_id, _P.c.region == region, _P.c.service_name == service)


_TARGET_FIELDS = (
    "account_id",
    "region",
    "service_name",
    "template_name",
    "template_major",
    "template_minor",
    "spec",
    "inputs",
    "deployment_status",
    "deployment_status_message",
    "created_at",
    "last_modified_at",
    "last_deployment_attempted_at",
    "last_deployment_succeeded_at",
    "last_attempted_deployment_id",
    "last_succeeded_deployment_id",
)


def instance_record(row: Row[Any]) -> ServiceInstance:
    return ServiceInstance(
        **{f: getattr(row, f) for f in _TARGET_FIELDS},
        name=row.name,
        environment_name=row.environment_name,
        last_client_request_token=row.last_client_request_token,
    )


def pipeline_record(row: Row[Any]) -> ServicePipeline:
    return ServicePipeline(**{f: getattr(row, f) for f in _TARGET_FIELDS})


def insert_target_deployment(
    conn: Connection,
    target: Row[Any],
    new: NewDeployment,
    *,
    environment_name: str,
    initial: str | None,
    now: datetime,
) -> None:
    """A deployment record of an instance (``target`` has a ``name``) or a pipeline."""
    instance = getattr(target, "name", None)
    arn = (
        instance_arn(target.region, target.account_id, target.service_name, instance)
        if instance is not None
        else pipeline_arn(target.region, target.account_id, target.service_name)
    )
    insert_deployment(
        conn, target, new, kind=_INSTANCE if instance is not None else _PIPELINE, arn=arn,
        environment_name=environment_name, initial=initial, now=now,
        service_name=target.service_name, service_instance_name=instance,
    )  # fmt: skip


def add_instance(
    conn: Connection, account: str, region: str, service: str, item: NewInstance, now: datetime
) -> None:
    if (
        conn.execute(
            select(proton_environments.c.name).where(
                proton_environments.c.account_id == account,
                proton_environments.c.region == region,
                proton_environments.c.name == item.environment_name,
            )
        ).first()
        is None
    ):
        raise environment_missing(item.environment_name)  # deleted since the handler looked
    svc = conn.execute(
        select(_S.c.template_name).where(service_where(account, region, service))
    ).one()
    conn.execute(
        _I.insert().values(
            account_id=account,
            region=region,
            service_name=service,
            name=item.name,
            environment_name=item.environment_name,
            template_name=svc.template_name,
            template_major=item.template_major,
            template_minor=item.template_minor,
            spec=item.spec,
            inputs=item.inputs,
            last_client_request_token=None,
            created_at=now,
            last_deployment_succeeded_at=now,
            last_succeeded_deployment_id=None,
            **started_columns(item.deployment, now, None) | {"last_attempted_deployment_id": None},
        )
    )
    row = conn.execute(select(_I).where(instance_where(account, region, service, item.name))).one()
    insert_target_deployment(
        conn, row, item.deployment, environment_name=item.environment_name, initial=None, now=now
    )
    conn.execute(
        update(_I)
        .where(instance_where(account, region, service, item.name))
        .values(last_attempted_deployment_id=item.deployment.id)
    )
    # The service's tags (its customer and managed ones) propagate to the instances created
    # after them, which add their own managed tags (§1.5).
    iarn = instance_arn(region, account, service, item.name)
    forget_resource(conn, account, iarn, tombstone_at=None)
    inherited = read_tags(conn, account, service_arn(region, account, service))
    own = managed_tags(
        account,
        environment=environment_arn(region, account, item.environment_name),
        service_instance=iarn,
    )
    merge_tags(conn, account, iarn, [*inherited, *own])


def start_on(
    conn: Connection,
    table: Any,
    where: Any,
    new: NewDeployment,
    env: str,
    now: datetime,
    changes: Mapping[str, Any] | None = None,
) -> None:
    """Start ``new`` on an existing instance or pipeline (its row under ``where``)."""
    row = conn.execute(select(table).where(where)).one()
    insert_target_deployment(
        conn, row, new, environment_name=env, initial=version_state(row), now=now
    )
    conn.execute(
        update(table)
        .where(where)
        .values({**(changes or {}), **started_columns(new, now, row.deployment_status)})
    )


# --- finishers -----------------------------------------------------------------------------------


def settle_service(
    conn: Connection, account: str, region: str, service: str, now: datetime
) -> None:
    """Move a busy service on once none of its operation's deployments is running."""
    row = conn.execute(select(_S).where(service_where(account, region, service))).first()
    if row is None or row.operation is None:
        return
    ids: list[str] = json.loads(row.operation)
    found = {
        r.id: r
        for r in conn.execute(
            select(_D.c.id, _D.c.deployment_status, _D.c.target_arn).where(_D.c.id.in_(ids))
        ).all()
    }
    statuses = [found[i].deployment_status if i in found else "DELETE_COMPLETE" for i in ids]
    if any(dep.is_busy(dep.DeploymentStatus(s)) for s in statuses):
        return
    status = dep.ServiceStatus(row.status)
    failed = [
        found[i].target_arn for i in ids if i in found and found[i].deployment_status in _FAILED
    ]
    message = None
    if failed:
        message = "Deployments failed for: " + ", ".join(a.rsplit(":", 1)[1] for a in failed)
    if status is dep.ServiceStatus.DELETE_IN_PROGRESS and not failed:
        arn = service_arn(region, account, service)
        conn.execute(
            delete(_D).where(
                _D.c.account_id == account, _D.c.region == region, _D.c.service_name == service
            )
        )
        conn.execute(delete(_P).where(pipeline_where(account, region, service)))
        conn.execute(delete(_I).where(instance_where(account, region, service)))
        sync = proton_service_sync_configs.c
        conn.execute(
            delete(proton_service_sync_configs).where(
                sync.account_id == account, sync.region == region, sync.service_name == service
            )
        )
        conn.execute(delete(_S).where(service_where(account, region, service)))
        forget_resource(conn, account, arn, tombstone_at=now)
        return
    event = dep.ServiceEvent.FAIL if failed else dep.ServiceEvent.SUCCEED
    if (status, event) not in dep.SERVICE_TRANSITIONS:
        return
    conn.execute(
        update(_S)
        .where(service_where(account, region, service))
        .values(
            status=dep.service_step(status, event).value,
            status_message=message,
            operation=None,
            last_modified_at=now,
        )
    )


def _apply(
    conn: Connection,
    table: Any,
    where: Any,
    row: Row[Any],
    new: dep.DeploymentStatus,
    message: str | None,
    now: datetime,
) -> None:
    """A finished deployment ``row`` (now ``new``) applied to its instance/pipeline."""
    target = conn.execute(select(table).where(where)).first()
    if target is None or target.last_attempted_deployment_id != row.id:
        return
    if new is dep.DeploymentStatus.DELETE_COMPLETE:
        conn.execute(delete(table).where(where))
        conn.execute(delete(_D).where(_D.c.target_arn == row.target_arn))
        forget_resource(conn, row.account_id, row.target_arn, tombstone_at=now)
        return
    values: dict[str, Any] = {
        "deployment_status": new.value,
        "deployment_status_message": message,
        "last_modified_at": now,
    }
    if new is dep.DeploymentStatus.SUCCEEDED:
        values |= {"last_succeeded_deployment_id": row.id, "last_deployment_succeeded_at": now}
    if new is dep.DeploymentStatus.CANCELLED and row.initial_state is not None:
        state = json.loads(row.initial_state)  # revert to the state before it
        values |= {
            "template_major": int(state["templateMajorVersion"]),
            "template_minor": int(state["templateMinorVersion"]),
            "spec": state.get("spec") or target.spec,
            "inputs": json.dumps(state.get("inputs", {}), sort_keys=True),
        }
    conn.execute(update(table).where(where).values(values))


def _finish_instance(
    conn: Connection, row: Row[Any], new: dep.DeploymentStatus, message: str | None, now: datetime
) -> None:
    where = instance_where(row.account_id, row.region, row.service_name, row.service_instance_name)
    _apply(conn, _I, where, row, new, message, now)
    settle_service(conn, row.account_id, row.region, row.service_name, now)


def _finish_pipeline(
    conn: Connection, row: Row[Any], new: dep.DeploymentStatus, message: str | None, now: datetime
) -> None:
    _apply(
        conn,
        _P,
        pipeline_where(row.account_id, row.region, row.service_name),
        row,
        new,
        message,
        now,
    )
    settle_service(conn, row.account_id, row.region, row.service_name, now)


FINISHERS[_INSTANCE.value] = _finish_instance
FINISHERS[_PIPELINE.value] = _finish_pipeline
