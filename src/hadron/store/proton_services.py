"""The Proton services repository: services and their lifecycle, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §2.6, §2.8, §2.16. Every public method is one transaction;
the status rules come from the pure ``hadron.proton.deployments`` and are re-checked inside the
transaction that writes.

A service's create, update (instances added/removed) and delete start one deployment per
instance (and the pipeline) and record their ids as the service's ``operation``; the finishers in
``hadron.store.proton_service_deployments`` settle the service once they have all finished.
Instances and pipelines on their own are in ``hadron.store.proton_service_instances``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, bindparam, func, select, update

from hadron.errors import ConflictException, ServiceQuotaExceededException, ValidationError
from hadron.proton import deployments as dep
from hadron.proton.arns import template_arn
from hadron.proton.managed_tags import managed_tags
from hadron.store import transactions
from hadron.store.direct import DirectReads
from hadron.store.proton_deployments import started_columns
from hadron.store.proton_records import (
    IDEMPOTENCY_WINDOW,
    NewDeployment,
    NewInstance,
    NewPipeline,
    Service,
    ServicePipeline,
)
from hadron.store.proton_service_deployments import (
    add_instance,
    insert_target_deployment,
    instance_where,
    pipeline_record,
    pipeline_where,
    service_arn,
    service_missing,
    service_where,
    settle_service,
    start_on,
)
from hadron.store.proton_tags import deleted_at, forget_resource, merge_tags
from hadron.store.schema_proton import (
    proton_components,
    proton_deployments,
    proton_service_instances,
    proton_service_pipelines,
    proton_services,
)

__all__ = [
    "SqlProtonServices",
    "service_exists",
    "services_of_template",
]

_S = proton_services
_I = proton_service_instances
_P = proton_service_pipelines
_D = proton_deployments
_INSTANCE = dep.ResourceKind.SERVICE_INSTANCE
_PIPELINE = dep.ResourceKind.SERVICE_PIPELINE
Tags = Sequence[tuple[str, str]]

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


def service_exists(conn: Connection, account_id: str, region: str, name: str) -> bool:
    return (
        conn.execute(select(_S.c.name).where(service_where(account_id, region, name))).first()
        is not None
    )


def services_of_template(
    conn: Connection, account_id: str, region: str, template: str
) -> list[str]:
    rows = conn.execute(
        select(_S.c.name)
        .where(_S.c.account_id == account_id, _S.c.region == region, _S.c.template_name == template)
        .order_by(_S.c.name)
    ).all()
    return [r.name for r in rows]


class SqlProtonServices:
    """Service methods of the SQL store; mixed into ``SqlStore``."""

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
        return _service(row), None if piped is None else pipeline_record(piped)

    def list_services(
        self, account_id: str, region: str, after: str | None, limit: int
    ) -> list[Service]:
        query = select(_S).where(_S.c.account_id == account_id, _S.c.region == region)
        if after is not None:
            query = query.where(_S.c.name > after)
        with transactions.read(self._engine) as conn:
            rows = conn.execute(query.order_by(_S.c.name).limit(limit)).all()
        return [_service(r) for r in rows]

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
            row = conn.execute(select(_S).where(service_where(account, region, name))).first()
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
                add_instance(conn, account, region, name, item, now)
            if pipeline is not None:
                self._add_pipeline(conn, account, region, name, pipeline, now)
            return _service(
                conn.execute(select(_S).where(service_where(account, region, name))).one()
            ), True

    @staticmethod
    def _add_pipeline(
        conn: Connection, account: str, region: str, service: str, item: NewPipeline, now: datetime
    ) -> None:
        svc = conn.execute(
            select(_S.c.template_name).where(service_where(account, region, service))
        ).one()
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
        row = conn.execute(select(_P).where(pipeline_where(account, region, service))).one()
        insert_target_deployment(
            conn,
            row,
            item.deployment,
            environment_name=item.environment_name,
            initial=None,
            now=now,
        )
        conn.execute(
            update(_P)
            .where(pipeline_where(account, region, service))
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
            row = conn.execute(select(_S).where(service_where(account_id, region, name))).first()
            if row is None:
                raise service_missing(name)
            values: dict[str, Any] = {"last_modified_at": now}
            if description is not None:
                values["description"] = description
            if spec is not None:
                dep.check_service_change(name, dep.ServiceStatus(row.status), "update")
                current = {
                    r.name: r
                    for r in conn.execute(
                        select(_I).where(instance_where(account_id, region, name))
                    )
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
                piped = conn.execute(
                    select(_P).where(pipeline_where(account_id, region, name))
                ).first()
                if pipeline is not None and piped is not None and ids:
                    dep.check_update(_PIPELINE, name, dep.DeploymentStatus(piped.deployment_status))
                    env = conn.execute(
                        select(_D.c.environment_name).where(
                            _D.c.id == piped.last_attempted_deployment_id
                        )
                    ).scalar_one_or_none()
                    start_on(
                        conn, _P, pipeline_where(account_id, region, name), pipeline, env or "", now
                    )
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
                    add_instance(conn, account_id, region, name, item, now)
                for instance, new in removed.items():
                    start_on(
                        conn,
                        _I,
                        instance_where(account_id, region, name, instance),
                        new,
                        current[instance].environment_name,
                        now,
                    )
            conn.execute(update(_S).where(service_where(account_id, region, name)).values(values))
            return _service(
                conn.execute(select(_S).where(service_where(account_id, region, name))).one()
            )

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
            row = conn.execute(select(_S).where(service_where(account_id, region, name))).first()
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
                r.name: r
                for r in conn.execute(select(_I).where(instance_where(account_id, region, name)))
            }
            pipeline = conn.execute(
                select(_P).where(pipeline_where(account_id, region, name))
            ).first()
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
                start_on(
                    conn,
                    _I,
                    instance_where(account_id, region, name, instance),
                    deployments[instance],
                    item.environment_name,
                    now,
                )
            if pipeline is not None:
                dep.check_delete(_PIPELINE, name, dep.DeploymentStatus(pipeline.deployment_status))
                env = next(iter(sorted(i.environment_name for i in instances.values())), "")
                start_on(
                    conn, _P, pipeline_where(account_id, region, name), deployments[""], env, now
                )
            conn.execute(
                update(_S)
                .where(service_where(account_id, region, name))
                .values(
                    status=dep.service_step(status, dep.ServiceEvent.DELETE).value,
                    status_message=None,
                    operation=json.dumps([d.id for d in deployments.values()]),
                    last_modified_at=now,
                )
            )
            settle_service(conn, account_id, region, name, now)  # nothing to delete: gone at once
            found = conn.execute(select(_S).where(service_where(account_id, region, name))).first()
            return _service(found if found is not None else row)

    def recover_services(self, now: datetime) -> list[str]:
        """At server start, after the deployments were recovered: services still busy (none of
        their deployments runs any more) move on by ``deployments.recover_service``."""
        busy = [s.value for s in dep.ServiceStatus if dep.recover_service(s) is not None]
        moved: list[str] = []
        with transactions.write(self._engine) as conn:
            for row in conn.execute(select(_S).where(_S.c.status.in_(busy))).all():
                settle_service(conn, row.account_id, row.region, row.name, now)
                after = conn.execute(
                    select(_S.c.status).where(service_where(row.account_id, row.region, row.name))
                ).first()
                if after is None:
                    continue
                recovered = dep.recover_service(dep.ServiceStatus(after.status))
                if recovered is not None:
                    conn.execute(
                        update(_S)
                        .where(service_where(row.account_id, row.region, row.name))
                        .values(
                            status=recovered[0].value,
                            status_message=recovered[1],
                            operation=None,
                            last_modified_at=now,
                        )
                    )
                    moved.append(row.name)
        return moved
