"""The Proton services repository: services, their instances and pipelines, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §2.6-§2.8, §2.15, §2.16. Every public method is one
transaction; the status rules come from the pure ``hadron.proton.deployments`` and are re-checked
inside the transaction that writes.

A service's create, update (instances added/removed) and delete start one deployment per
instance (and the pipeline) and record their ids as the service's ``operation``. The finishers
registered here (``FINISHERS``) apply a finished instance/pipeline deployment to its target and
then settle the service: once none of the operation's deployments is running, the service moves
to ACTIVE (all succeeded), ``*_FAILED`` (any failed or was cancelled) or, for a delete whose
deployments all completed, is removed with its tags (its ARN remembered for idempotent retries).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, bindparam, delete, func, select, update

from hadron.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationError,
)
from hadron.proton import deployments as dep
from hadron.proton.arns import template_arn
from hadron.proton.managed_tags import managed_tags
from hadron.store import transactions
from hadron.store.direct import DirectReads
from hadron.store.proton_environments import (
    deployment_missing,
    deployment_outputs,
    environment_arn,
    environment_missing,
    finish_in,
    insert_deployment,
    record_outputs_in,
    start_cancel,
    started_columns,
    version_state,
)
from hadron.store.proton_records import (
    IDEMPOTENCY_WINDOW,
    NewDeployment,
    NewInstance,
    NewPipeline,
    Service,
    ServiceInstance,
    ServicePipeline,
)
from hadron.store.proton_tags import deleted_at, forget_resource, merge_tags, read_tags
from hadron.store.proton_targets import FINISHERS
from hadron.store.schema_proton import (
    proton_components,
    proton_deployments,
    proton_environments,
    proton_service_instances,
    proton_service_pipelines,
    proton_service_sync_configs,
    proton_services,
)

__all__ = [
    "SqlProtonServices",
    "instance_arn",
    "instance_missing",
    "pipeline_arn",
    "pipeline_missing",
    "service_arn",
    "service_exists",
    "service_missing",
    "services_of_template",
    "version_users",
]

_S = proton_services
_I = proton_service_instances
_P = proton_service_pipelines
_D = proton_deployments
_INSTANCE = dep.ResourceKind.SERVICE_INSTANCE
_PIPELINE = dep.ResourceKind.SERVICE_PIPELINE
_FAILED = frozenset({"FAILED", "CANCELLED", "DELETE_FAILED"})
Tags = Sequence[tuple[str, str]]


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


def _sw(account_id: str, region: str, name: str) -> Any:
    return and_(_S.c.account_id == account_id, _S.c.region == region, _S.c.name == name)


def _iw(account_id: str, region: str, service: str, name: str | None = None) -> Any:
    where = and_(_I.c.account_id == account_id, _I.c.region == region, _I.c.service_name == service)
    return where if name is None else and_(where, _I.c.name == name)


def _pw(account_id: str, region: str, service: str) -> Any:
    return and_(_P.c.account_id == account_id, _P.c.region == region, _P.c.service_name == service)


# The reads on every GetService (and its IAM condition key), built once: constructing a
# statement costs more than SQLAlchemy's compiled cache saves.
_KEY = and_(
    _S.c.account_id == bindparam("account"),
    _S.c.region == bindparam("region"),
    _S.c.name == bindparam("name"),
)
_SERVICE = select(_S).where(_KEY)
_SERVICE_TEMPLATE = select(_S.c.template_name).where(_KEY)
_PIPELINE_ROW = select(_P).where(
    _P.c.account_id == bindparam("account"),
    _P.c.region == bindparam("region"),
    _P.c.service_name == bindparam("name"),
)


def _service(row: Row[Any]) -> Service:
    return Service(
        account_id=row.account_id,
        region=row.region,
        name=row.name,
        description=row.description,
        template_name=row.template_name,
        spec=row.spec,
        status=row.status,
        status_message=row.status_message,
        repository_connection_arn=row.repository_connection_arn,
        repository_id=row.repository_id,
        branch_name=row.branch_name,
        created_at=row.created_at,
        last_modified_at=row.last_modified_at,
    )


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


def _instance(row: Row[Any]) -> ServiceInstance:
    return ServiceInstance(
        **{f: getattr(row, f) for f in _TARGET_FIELDS},
        name=row.name,
        environment_name=row.environment_name,
        last_client_request_token=row.last_client_request_token,
    )


def _pipeline(row: Row[Any]) -> ServicePipeline:
    return ServicePipeline(**{f: getattr(row, f) for f in _TARGET_FIELDS})


def _insert_deployment(
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


_BUSY_STATUSES = [s.value for s in dep.DeploymentStatus if dep.is_busy(s)]


def _refuse_attached_components(
    conn: Connection, account_id: str, region: str, service: str, instances: Iterable[str],
    action: str,
) -> None:  # fmt: skip
    """A service instance with an attached component cannot be deleted (proton.md §2.6, §2.9):
    ConflictException naming the component and the instance."""
    names = sorted(instances)
    if not names:
        return
    c = proton_components.c
    found = conn.execute(
        select(c.name, c.service_instance_name)
        .where(
            c.account_id == account_id,
            c.region == region,
            c.service_name == service,
            c.service_instance_name.in_(names),
        )
        .order_by(c.service_instance_name, c.name)
        .limit(1)
    ).first()
    if found is not None:
        raise ConflictException(
            f"Cannot {action}: component {found.name} is attached to service instance "
            f"{found.service_instance_name} of service {service}; detach it (UpdateComponent) "
            "or delete it first."
        )


def _add_instance(
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
    svc = conn.execute(select(_S.c.template_name).where(_sw(account, region, service))).one()
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
    row = conn.execute(select(_I).where(_iw(account, region, service, item.name))).one()
    _insert_deployment(
        conn, row, item.deployment, environment_name=item.environment_name, initial=None, now=now
    )
    conn.execute(
        update(_I)
        .where(_iw(account, region, service, item.name))
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


def _start_on(
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
    _insert_deployment(conn, row, new, environment_name=env, initial=version_state(row), now=now)
    conn.execute(
        update(table)
        .where(where)
        .values({**(changes or {}), **started_columns(new, now, row.deployment_status)})
    )


# --- finishers -----------------------------------------------------------------------------------


def _settle(conn: Connection, account: str, region: str, service: str, now: datetime) -> None:
    """Move a busy service on once none of its operation's deployments is running."""
    row = conn.execute(select(_S).where(_sw(account, region, service))).first()
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
        conn.execute(delete(_P).where(_pw(account, region, service)))
        conn.execute(delete(_I).where(_iw(account, region, service)))
        sync = proton_service_sync_configs.c
        conn.execute(
            delete(proton_service_sync_configs).where(
                sync.account_id == account, sync.region == region, sync.service_name == service
            )
        )
        conn.execute(delete(_S).where(_sw(account, region, service)))
        forget_resource(conn, account, arn, tombstone_at=now)
        return
    event = dep.ServiceEvent.FAIL if failed else dep.ServiceEvent.SUCCEED
    if (status, event) not in dep.SERVICE_TRANSITIONS:
        return
    conn.execute(
        update(_S)
        .where(_sw(account, region, service))
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
    where = _iw(row.account_id, row.region, row.service_name, row.service_instance_name)
    _apply(conn, _I, where, row, new, message, now)
    _settle(conn, row.account_id, row.region, row.service_name, now)


def _finish_pipeline(
    conn: Connection, row: Row[Any], new: dep.DeploymentStatus, message: str | None, now: datetime
) -> None:
    _apply(conn, _P, _pw(row.account_id, row.region, row.service_name), row, new, message, now)
    _settle(conn, row.account_id, row.region, row.service_name, now)


FINISHERS[_INSTANCE.value] = _finish_instance
FINISHERS[_PIPELINE.value] = _finish_pipeline


def service_exists(conn: Connection, account_id: str, region: str, name: str) -> bool:
    return conn.execute(select(_S.c.name).where(_sw(account_id, region, name))).first() is not None


def services_of_template(
    conn: Connection, account_id: str, region: str, template: str
) -> list[str]:
    rows = conn.execute(
        select(_S.c.name)
        .where(_S.c.account_id == account_id, _S.c.region == region, _S.c.template_name == template)
        .order_by(_S.c.name)
    ).all()
    return [r.name for r in rows]


def version_users(
    conn: Connection, account_id: str, region: str, template: str, major: int, minor: int
) -> list[str]:
    """``service/instance`` and ``service/pipeline`` deployed to a service template version."""
    out: list[str] = []
    for table in (_I, _P):
        c = table.c
        rows = conn.execute(
            select(table).where(
                c.account_id == account_id,
                c.region == region,
                c.template_name == template,
                c.template_major == major,
                c.template_minor == minor,
            )
        ).all()
        out += [f"{r.service_name}/{getattr(r, 'name', 'pipeline')}" for r in rows]
    return sorted(out)


class SqlProtonServices:
    """Service, instance and pipeline methods of the SQL store; mixed into ``SqlStore``."""

    _engine: Engine
    _direct: DirectReads

    # --- reads ---------------------------------------------------------------------------------

    def service_template(self, account: str, region: str, service: str) -> str | None:
        """The template of an existing service (``RelatedTemplates`` for IAM keys)."""
        row = self._direct.first(
            _SERVICE_TEMPLATE, {"account": account, "region": region, "name": service}
        )
        return None if row is None else str(row.template_name)

    def get_service(self, account_id: str, region: str, name: str) -> Service | None:
        key = {"account": account_id, "region": region, "name": name}
        with transactions.read(self._engine) as conn:
            row = conn.execute(_SERVICE, key).first()
        return None if row is None else _service(row)

    def service_view(
        self, account_id: str, region: str, name: str
    ) -> tuple[Service, ServicePipeline | None] | None:
        """A service and its pipeline, read together (GetService)."""
        key = {"account": account_id, "region": region, "name": name}
        with self._direct.snapshot() as reader:
            row = reader.first(_SERVICE, key)
            if row is None:
                return None
            piped = reader.first(_PIPELINE_ROW, key)
        return _service(row), None if piped is None else _pipeline(piped)

    def list_services(
        self, account_id: str, region: str, after: str | None, limit: int
    ) -> list[Service]:
        query = select(_S).where(_S.c.account_id == account_id, _S.c.region == region)
        if after is not None:
            query = query.where(_S.c.name > after)
        with transactions.read(self._engine) as conn:
            rows = conn.execute(query.order_by(_S.c.name).limit(limit)).all()
        return [_service(r) for r in rows]

    def get_service_instance(
        self, account_id: str, region: str, service: str, name: str
    ) -> ServiceInstance | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(_I).where(_iw(account_id, region, service, name))).first()
        return None if row is None else _instance(row)

    def service_instances(
        self, account_id: str, region: str, service: str | None
    ) -> list[ServiceInstance]:
        """Every instance of a service (or of all services), by service and name."""
        query = select(_I).where(_I.c.account_id == account_id, _I.c.region == region)
        if service is not None:
            query = query.where(_I.c.service_name == service)
        with transactions.read(self._engine) as conn:
            rows = conn.execute(query.order_by(_I.c.service_name, _I.c.name)).all()
        return [_instance(r) for r in rows]

    def get_service_pipeline(
        self, account_id: str, region: str, service: str
    ) -> ServicePipeline | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(_P).where(_pw(account_id, region, service))).first()
        return None if row is None else _pipeline(row)

    def service_instances_busy(self, account_id: str, region: str, service: str) -> bool:
        """Whether a deployment of one of the service's instances is running."""
        busy = [s.value for s in dep.DeploymentStatus if dep.is_busy(s)]
        with transactions.read(self._engine) as conn:
            found = conn.execute(
                select(_I.c.name).where(
                    _iw(account_id, region, service), _I.c.deployment_status.in_(busy)
                )
            ).first()
        return found is not None

    # --- services ------------------------------------------------------------------------------

    def create_service(
        self,
        values: Mapping[str, Any],
        instances: Sequence[NewInstance],
        pipeline: NewPipeline | None,
        *,
        tags: Tags,
        now: datetime,
        max_services: int,
    ) -> tuple[Service, bool]:
        """Insert a service with its instances, pipeline and their first deployments; or, for
        an identical retry of an unmodified one, return it. The flag says whether it was
        created."""
        account, region, name = values["account_id"], values["region"], values["name"]
        arn = service_arn(region, account, name)
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_S).where(_sw(account, region, name))).first()
            if row is not None:
                if row.request_hash != values["request_hash"]:
                    raise ValidationError("Idempotent parameter mismatch")
                if row.last_modified_at != row.created_at:
                    raise ConflictException(
                        f"The service {name} already exists and was modified since it was created."
                    )
                return _service(row), False
            count = conn.execute(
                select(func.count())
                .select_from(_S)
                .where(_S.c.account_id == account, _S.c.region == region)
            ).scalar_one()
            if count >= max_services:
                raise ServiceQuotaExceededException(
                    f"You have reached the maximum number of services ({max_services}) in this "
                    "account and region."
                )
            ids = [i.deployment.id for i in instances]
            if pipeline is not None:
                ids.append(pipeline.deployment.id)
            conn.execute(
                _S.insert().values(
                    **values,
                    status=dep.service_step(None, dep.ServiceEvent.CREATE).value,
                    status_message=None,
                    operation=json.dumps(ids),
                    created_at=now,
                    last_modified_at=now,
                )
            )
            forget_resource(conn, account, arn, tombstone_at=None)
            managed = managed_tags(
                account,
                template=template_arn(region, account, "service", values["template_name"]),
                service=arn,
            )
            merge_tags(conn, account, arn, [*managed, *tags])
            for item in instances:
                _add_instance(conn, account, region, name, item, now)
            if pipeline is not None:
                self._add_pipeline(conn, account, region, name, pipeline, now)
            return _service(conn.execute(select(_S).where(_sw(account, region, name))).one()), True

    @staticmethod
    def _add_pipeline(
        conn: Connection, account: str, region: str, service: str, item: NewPipeline, now: datetime
    ) -> None:
        svc = conn.execute(select(_S.c.template_name).where(_sw(account, region, service))).one()
        conn.execute(
            _P.insert().values(
                account_id=account,
                region=region,
                service_name=service,
                template_name=svc.template_name,
                template_major=item.template_major,
                template_minor=item.template_minor,
                spec=item.spec,
                inputs=item.inputs,
                created_at=now,
                last_deployment_succeeded_at=now,
                last_succeeded_deployment_id=None,
                **started_columns(item.deployment, now, None)
                | {"last_attempted_deployment_id": None},
            )
        )
        row = conn.execute(select(_P).where(_pw(account, region, service))).one()
        _insert_deployment(
            conn,
            row,
            item.deployment,
            environment_name=item.environment_name,
            initial=None,
            now=now,
        )
        conn.execute(
            update(_P)
            .where(_pw(account, region, service))
            .values(last_attempted_deployment_id=item.deployment.id)
        )

    def update_service(
        self,
        account_id: str,
        region: str,
        name: str,
        *,
        description: str | None,
        spec: str | None,
        added: Sequence[NewInstance],
        removed: Mapping[str, NewDeployment],
        now: datetime,
        max_instances: int,
        pipeline: NewDeployment | None = None,
    ) -> Service:
        """Change the description and/or the spec; instances in ``added`` are created and those
        in ``removed`` (by name) deleted, and ``pipeline`` (a redeployment of the pipeline at
        its current version, which then sees the new instances) started; the service goes
        UPDATE_IN_PROGRESS."""
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_S).where(_sw(account_id, region, name))).first()
            if row is None:
                raise service_missing(name)
            values: dict[str, Any] = {"last_modified_at": now}
            if description is not None:
                values["description"] = description
            if spec is not None:
                dep.check_service_change(name, dep.ServiceStatus(row.status), "update")
                current = {
                    r.name: r for r in conn.execute(select(_I).where(_iw(account_id, region, name)))
                }
                if set(removed) - set(current) or {i.name for i in added} & set(current):
                    raise ConflictException(
                        f"The instances of service {name} changed while the update was "
                        "prepared; retry."
                    )
                total = len(current) - len(removed) + len(added)
                if total > max_instances:
                    raise ServiceQuotaExceededException(
                        f"spec.instances: a service can have at most {max_instances} service "
                        f"instances; this update would leave {total}."
                    )
                _refuse_attached_components(
                    conn, account_id, region, name, removed, f"remove instances of service {name}"
                )
                for instance in removed:
                    dep.check_delete(
                        _INSTANCE,
                        instance,
                        dep.DeploymentStatus(current[instance].deployment_status),
                    )
                values["spec"] = spec
                ids = [i.deployment.id for i in added] + [d.id for d in removed.values()]
                piped = conn.execute(select(_P).where(_pw(account_id, region, name))).first()
                if pipeline is not None and piped is not None and ids:
                    dep.check_update(_PIPELINE, name, dep.DeploymentStatus(piped.deployment_status))
                    env = conn.execute(
                        select(_D.c.environment_name).where(
                            _D.c.id == piped.last_attempted_deployment_id
                        )
                    ).scalar_one_or_none()
                    _start_on(conn, _P, _pw(account_id, region, name), pipeline, env or "", now)
                    ids.append(pipeline.id)
                if ids:
                    values |= {
                        "status": dep.service_step(
                            dep.ServiceStatus(row.status), dep.ServiceEvent.UPDATE
                        ).value,
                        "status_message": None,
                        "operation": json.dumps(ids),
                    }
                for item in added:
                    _add_instance(conn, account_id, region, name, item, now)
                for instance, new in removed.items():
                    _start_on(
                        conn,
                        _I,
                        _iw(account_id, region, name, instance),
                        new,
                        current[instance].environment_name,
                        now,
                    )
            conn.execute(update(_S).where(_sw(account_id, region, name)).values(values))
            return _service(conn.execute(select(_S).where(_sw(account_id, region, name))).one())

    def start_service_delete(
        self,
        account_id: str,
        region: str,
        name: str,
        deployments: Mapping[str, NewDeployment],
        now: datetime,
    ) -> Service | None:
        """Start deleting a service: a DELETE deployment per instance (``deployments`` by
        instance name) and for the pipeline (key ``""``). A retry while it is being deleted
        answers the service; ``None`` for a retry within 8 hours of its removal."""
        arn = service_arn(region, account_id, name)
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_S).where(_sw(account_id, region, name))).first()
            if row is None:
                when = deleted_at(conn, account_id, arn)
                if when is not None and when > now - IDEMPOTENCY_WINDOW:
                    return None
                raise service_missing(name)
            status = dep.ServiceStatus(row.status)
            if status is dep.ServiceStatus.DELETE_IN_PROGRESS:
                return _service(row)
            dep.check_service_change(name, status, "delete")
            instances = {
                r.name: r for r in conn.execute(select(_I).where(_iw(account_id, region, name)))
            }
            pipeline = conn.execute(select(_P).where(_pw(account_id, region, name))).first()
            expected = set(instances) | ({""} if pipeline is not None else set())
            if expected != set(deployments):
                raise ConflictException(
                    f"The instances of service {name} changed while the delete was prepared; retry."
                )
            _refuse_attached_components(
                conn, account_id, region, name, instances, f"delete service {name}"
            )
            for instance, item in instances.items():
                dep.check_delete(_INSTANCE, instance, dep.DeploymentStatus(item.deployment_status))
                _start_on(
                    conn,
                    _I,
                    _iw(account_id, region, name, instance),
                    deployments[instance],
                    item.environment_name,
                    now,
                )
            if pipeline is not None:
                dep.check_delete(_PIPELINE, name, dep.DeploymentStatus(pipeline.deployment_status))
                env = next(iter(sorted(i.environment_name for i in instances.values())), "")
                _start_on(conn, _P, _pw(account_id, region, name), deployments[""], env, now)
            conn.execute(
                update(_S)
                .where(_sw(account_id, region, name))
                .values(
                    status=dep.service_step(status, dep.ServiceEvent.DELETE).value,
                    status_message=None,
                    operation=json.dumps([d.id for d in deployments.values()]),
                    last_modified_at=now,
                )
            )
            _settle(conn, account_id, region, name, now)  # nothing to delete: gone at once
            found = conn.execute(select(_S).where(_sw(account_id, region, name))).first()
            return _service(found if found is not None else row)

    def recover_services(self, now: datetime) -> list[str]:
        """At server start, after the deployments were recovered: services still busy (none of
        their deployments runs any more) move on by ``deployments.recover_service``."""
        busy = [s.value for s in dep.ServiceStatus if dep.recover_service(s) is not None]
        moved: list[str] = []
        with transactions.write(self._engine) as conn:
            for row in conn.execute(select(_S).where(_S.c.status.in_(busy))).all():
                _settle(conn, row.account_id, row.region, row.name, now)
                after = conn.execute(
                    select(_S.c.status).where(_sw(row.account_id, row.region, row.name))
                ).first()
                if after is None:
                    continue
                recovered = dep.recover_service(dep.ServiceStatus(after.status))
                if recovered is not None:
                    conn.execute(
                        update(_S)
                        .where(_sw(row.account_id, row.region, row.name))
                        .values(
                            status=recovered[0].value,
                            status_message=recovered[1],
                            operation=None,
                            last_modified_at=now,
                        )
                    )
                    moved.append(row.name)
        return moved

    # --- instances and pipelines ---------------------------------------------------------------

    def add_service_instance(
        self,
        account_id: str,
        region: str,
        service: str,
        item: NewInstance,
        *,
        tags: Tags,
        client_token: str | None,
        now: datetime,
        max_instances: int,
    ) -> tuple[ServiceInstance, bool]:
        """CreateServiceInstance: add one instance (and its deployment) to a service. A retry
        with the instance's last clientToken answers it; the flag says whether it was added."""
        where = _iw(account_id, region, service, item.name)
        with transactions.write(self._engine) as conn:
            svc = conn.execute(select(_S).where(_sw(account_id, region, service))).first()
            if svc is None:
                raise service_missing(service)
            row = conn.execute(select(_I).where(where)).first()
            if row is not None:
                if client_token is not None and row.last_client_request_token == client_token:
                    return _instance(row), False
                raise ConflictException(
                    f"The service instance {item.name} of service {service} already exists."
                )
            status = dep.ServiceStatus(svc.status)
            if status in (dep.ServiceStatus.DELETE_IN_PROGRESS, dep.ServiceStatus.DELETE_FAILED):
                raise ConflictException(
                    f"Cannot add an instance to service {service}: its status is {status}."
                )
            count = conn.execute(
                select(func.count()).select_from(_I).where(_iw(account_id, region, service))
            ).scalar_one()
            if count >= max_instances:
                raise ServiceQuotaExceededException(
                    f"The service {service} already has {count} service instances; a service "
                    f"can have at most {max_instances}."
                )
            _add_instance(conn, account_id, region, service, item, now)
            conn.execute(update(_I).where(where).values(last_client_request_token=client_token))
            merge_tags(conn, account_id, instance_arn(region, account_id, service, item.name), tags)
            return _instance(conn.execute(select(_I).where(where)).one()), True

    def update_service_instance(
        self,
        account_id: str,
        region: str,
        service: str,
        name: str,
        *,
        changes: Mapping[str, Any],
        deployment: NewDeployment | None,
        now: datetime,
    ) -> ServiceInstance:
        """Start a deployment of an instance (``changes``: its new version, spec, inputs)."""
        where = _iw(account_id, region, service, name)
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_I).where(where)).first()
            if row is None:
                raise instance_missing(service, name)
            dep.check_update(_INSTANCE, name, dep.DeploymentStatus(row.deployment_status))
            c = proton_components.c
            busy = conn.execute(
                select(c.name).where(
                    c.account_id == account_id,
                    c.region == region,
                    c.service_name == service,
                    c.service_instance_name == name,
                    c.deployment_status.in_(_BUSY_STATUSES),
                )
            ).first()
            if busy is not None:
                raise ConflictException(
                    f"Cannot update service instance {name}: its attached component {busy.name} "
                    "is being deployed."
                )
            if deployment is not None:
                _start_on(conn, _I, where, deployment, row.environment_name, now, changes)
            elif changes:
                conn.execute(update(_I).where(where).values(**changes, last_modified_at=now))
            return _instance(conn.execute(select(_I).where(where)).one())

    def update_service_pipeline(
        self,
        account_id: str,
        region: str,
        service: str,
        *,
        changes: Mapping[str, Any],
        deployment: NewDeployment | None,
        now: datetime,
    ) -> ServicePipeline:
        where = _pw(account_id, region, service)
        with transactions.write(self._engine) as conn:
            svc = conn.execute(select(_S.c.status).where(_sw(account_id, region, service))).first()
            if svc is None:
                raise service_missing(service)
            row = conn.execute(select(_P).where(where)).first()
            if row is None:
                raise pipeline_missing(service)
            status = dep.ServiceStatus(svc.status)
            if status in (dep.ServiceStatus.DELETE_IN_PROGRESS, dep.ServiceStatus.DELETE_FAILED):
                raise ConflictException(
                    f"Cannot update the pipeline of service {service}: its status is {status}."
                )
            dep.check_update(_PIPELINE, service, dep.DeploymentStatus(row.deployment_status))
            if deployment is not None:
                env = conn.execute(
                    select(_D.c.environment_name).where(_D.c.id == row.last_attempted_deployment_id)
                ).scalar_one_or_none()
                _start_on(conn, _P, where, deployment, env or "", now, changes)
            return _pipeline(conn.execute(select(_P).where(where)).one())

    def cancel_target_deployment(
        self, account_id: str, region: str, service: str, name: str | None, now: datetime
    ) -> ServiceInstance | ServicePipeline:
        """IN_PROGRESS → CANCELLING for an instance (``name``) or the pipeline (None)."""
        table, where = (
            (_P, _pw(account_id, region, service))
            if name is None
            else (_I, _iw(account_id, region, service, name))
        )
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(table).where(where)).first()
            if row is None:
                raise pipeline_missing(service) if name is None else instance_missing(service, name)
            kind = _PIPELINE if name is None else _INSTANCE
            start_cancel(conn, table, where, row, kind, name or service, now)
            found = conn.execute(select(table).where(where)).one()
            return _pipeline(found) if name is None else _instance(found)

    def target_outputs(
        self,
        account_id: str,
        region: str,
        service: str,
        name: str | None,
        deployment_id: str | None,
    ) -> list[tuple[str, str]]:
        """Outputs of an instance (``name``) or the pipeline: its last succeeded deployment's,
        or those a given deployment of it recorded."""
        table, where = (
            (_P, _pw(account_id, region, service))
            if name is None
            else (_I, _iw(account_id, region, service, name))
        )
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(table).where(where)).first()
            if row is None:
                if conn.execute(select(_S.c.name).where(_sw(account_id, region, service))).first():
                    raise (
                        pipeline_missing(service)
                        if name is None
                        else instance_missing(service, name)
                    )
                raise service_missing(service)
            if deployment_id is None:
                return deployment_outputs(conn, row.last_succeeded_deployment_id)
            owner = conn.execute(
                select(_D.c.service_name, _D.c.service_instance_name, _D.c.target_type).where(
                    _D.c.id == deployment_id, _D.c.account_id == account_id, _D.c.region == region
                )
            ).first()
            kind = _PIPELINE if name is None else _INSTANCE
            if owner is None or (
                owner.service_name,
                owner.service_instance_name,
                owner.target_type,
            ) != (service, name, kind.value):
                raise deployment_missing(deployment_id)
            return deployment_outputs(conn, deployment_id)

    def notify_target(
        self,
        account_id: str,
        region: str,
        service: str,
        name: str | None,
        *,
        status: str,
        deployment_id: str | None,
        outputs: Sequence[tuple[str, str]],
        message: str | None,
        now: datetime,
    ) -> None:
        """NotifyResourceDeploymentStatusChange for an instance (``name``) or a pipeline."""
        table, where = (
            (_P, _pw(account_id, region, service))
            if name is None
            else (_I, _iw(account_id, region, service, name))
        )
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(table).where(where)).first()
            if row is None:
                raise pipeline_missing(service) if name is None else instance_missing(service, name)
            event = dep.notify_event(dep.DeploymentStatus(row.deployment_status), status)
            running = row.last_attempted_deployment_id
            if deployment_id is not None and deployment_id != running:
                label = (
                    f"the pipeline of service {service}"
                    if name is None
                    else (f"service instance {name}")
                )
                raise ConflictException(
                    f"The deployment {deployment_id} is not the deployment in progress of {label}."
                )
            record_outputs_in(conn, running, outputs)
            if event is not None:
                finish_in(conn, running, event, message, now)
