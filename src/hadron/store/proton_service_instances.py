"""The Proton service instances repository: service instances and pipelines, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §2.7, §2.8, §2.15, §2.16. Every public method is one
transaction; the status rules come from the pure ``hadron.proton.deployments`` and are
re-checked inside the transaction that writes. Their deployments start and finish through
``hadron.store.proton_service_deployments``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, update

from hadron.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
)
from hadron.proton import deployments as dep
from hadron.store import transactions
from hadron.store.proton_deployments import (
    deployment_missing,
    deployment_outputs,
    finish_in,
    record_outputs_in,
    start_cancel,
)
from hadron.store.proton_records import NewDeployment, NewInstance, ServiceInstance, ServicePipeline
from hadron.store.proton_service_deployments import (
    add_instance,
    instance_arn,
    instance_missing,
    instance_record,
    instance_where,
    pipeline_missing,
    pipeline_record,
    pipeline_where,
    service_missing,
    service_where,
    start_on,
)
from hadron.store.proton_tags import merge_tags
from hadron.store.schema_proton import (
    proton_components,
    proton_deployments,
    proton_service_instances,
    proton_service_pipelines,
    proton_services,
)

__all__ = [
    "SqlProtonServiceInstances",
    "version_users",
]

_S = proton_services
_I = proton_service_instances
_P = proton_service_pipelines
_D = proton_deployments
_INSTANCE = dep.ResourceKind.SERVICE_INSTANCE
_PIPELINE = dep.ResourceKind.SERVICE_PIPELINE
Tags = Sequence[tuple[str, str]]

_BUSY_STATUSES = [s.value for s in dep.DeploymentStatus if dep.is_busy(s)]


def _target(account_id: str, region: str, service: str, name: str | None) -> tuple[Table, Any]:
    """The table and row predicate of an instance (``name``) or the service's pipeline (None)."""
    if name is None:
        return _P, pipeline_where(account_id, region, service)
    return _I, instance_where(account_id, region, service, name)


def _target_missing(service: str, name: str | None) -> ResourceNotFoundException:
    return pipeline_missing(service) if name is None else instance_missing(service, name)


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


class SqlProtonServiceInstances:
    """Service instance and pipeline methods of the SQL store; mixed into ``SqlStore``."""

    _engine: Engine

    # --- reads ---------------------------------------------------------------------------------

    def get_service_instance(
        self, account_id: str, region: str, service: str, name: str
    ) -> ServiceInstance | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(
                select(_I).where(instance_where(account_id, region, service, name))
            ).first()
        return None if row is None else instance_record(row)

    def service_instances(
        self, account_id: str, region: str, service: str | None
    ) -> list[ServiceInstance]:
        """Every instance of a service (or of all services), by service and name."""
        query = select(_I).where(_I.c.account_id == account_id, _I.c.region == region)
        if service is not None:
            query = query.where(_I.c.service_name == service)
        with transactions.read(self._engine) as conn:
            rows = conn.execute(query.order_by(_I.c.service_name, _I.c.name)).all()
        return [instance_record(r) for r in rows]

    def get_service_pipeline(
        self, account_id: str, region: str, service: str
    ) -> ServicePipeline | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(
                select(_P).where(pipeline_where(account_id, region, service))
            ).first()
        return None if row is None else pipeline_record(row)

    def service_instances_busy(self, account_id: str, region: str, service: str) -> bool:
        """Whether a deployment of one of the service's instances is running."""
        busy = [s.value for s in dep.DeploymentStatus if dep.is_busy(s)]
        with transactions.read(self._engine) as conn:
            found = conn.execute(
                select(_I.c.name).where(
                    instance_where(account_id, region, service), _I.c.deployment_status.in_(busy)
                )
            ).first()
        return found is not None

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
        where = instance_where(account_id, region, service, item.name)
        with transactions.write(self._engine) as conn:
            svc = conn.execute(select(_S).where(service_where(account_id, region, service))).first()
            if svc is None:
                raise service_missing(service)
            row = conn.execute(select(_I).where(where)).first()
            if row is not None:
                if client_token is not None and row.last_client_request_token == client_token:
                    return instance_record(row), False
                raise ConflictException(
                    f"The service instance {item.name} of service {service} already exists."
                )
            status = dep.ServiceStatus(svc.status)
            if status in (dep.ServiceStatus.DELETE_IN_PROGRESS, dep.ServiceStatus.DELETE_FAILED):
                raise ConflictException(
                    f"Cannot add an instance to service {service}: its status is {status}."
                )
            count = conn.execute(
                select(func.count())
                .select_from(_I)
                .where(instance_where(account_id, region, service))
            ).scalar_one()
            if count >= max_instances:
                raise ServiceQuotaExceededException(
                    f"The service {service} already has {count} service instances; a service "
                    f"can have at most {max_instances}."
                )
            add_instance(conn, account_id, region, service, item, now)
            conn.execute(update(_I).where(where).values(last_client_request_token=client_token))
            merge_tags(conn, account_id, instance_arn(region, account_id, service, item.name), tags)
            return instance_record(conn.execute(select(_I).where(where)).one()), True

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
        where = instance_where(account_id, region, service, name)
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
                start_on(conn, _I, where, deployment, row.environment_name, now, changes)
            elif changes:
                conn.execute(update(_I).where(where).values(**changes, last_modified_at=now))
            return instance_record(conn.execute(select(_I).where(where)).one())

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
        where = pipeline_where(account_id, region, service)
        with transactions.write(self._engine) as conn:
            svc = conn.execute(
                select(_S.c.status).where(service_where(account_id, region, service))
            ).first()
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
                start_on(conn, _P, where, deployment, env or "", now, changes)
            return pipeline_record(conn.execute(select(_P).where(where)).one())

    def cancel_target_deployment(
        self, account_id: str, region: str, service: str, name: str | None, now: datetime
    ) -> ServiceInstance | ServicePipeline:
        """IN_PROGRESS → CANCELLING for an instance (``name``) or the pipeline (None)."""
        table, where = _target(account_id, region, service, name)
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(table).where(where)).first()
            if row is None:
                raise _target_missing(service, name)
            kind = _PIPELINE if name is None else _INSTANCE
            start_cancel(conn, table, where, row, kind, name or service, now)
            found = conn.execute(select(table).where(where)).one()
            return pipeline_record(found) if name is None else instance_record(found)

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
        table, where = _target(account_id, region, service, name)
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(table).where(where)).first()
            if row is None:
                if conn.execute(
                    select(_S.c.name).where(service_where(account_id, region, service))
                ).first():
                    raise _target_missing(service, name)
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
        table, where = _target(account_id, region, service, name)
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(table).where(where)).first()
            if row is None:
                raise _target_missing(service, name)
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
