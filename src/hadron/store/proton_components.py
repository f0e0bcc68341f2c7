"""The Proton components repository: directly defined components, their deployment records and
outputs, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §2.9 (components), §2.15 (outputs), §2.16 (deployments),
§1.4 (client tokens, idempotent deletes), §9 (quota). Every public method is one transaction; the
status rules come from the pure ``hadron.proton.deployments`` and are re-checked here, inside the
transaction that writes. Deployment records and outputs are the environments' tables
(``target_type`` COMPONENT, ``component_name`` set); the shared deployment code finishes them
through the finisher registered below.

Service instances do not exist in this slice: :meth:`SqlProtonComponents.component_service_instance`
is the one place that looks one up for attaching, and finds none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, select, update

from hadron.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationError,
)
from hadron.proton import deployments as dep
from hadron.proton.managed_tags import managed_tags
from hadron.store import transactions
from hadron.store.proton_deployments import (
    SqlProtonDeployments,
    insert_deployment,
    start_cancel,
    started_columns,
)
from hadron.store.proton_environments import environment_arn, environment_missing
from hadron.store.proton_records import (
    IDEMPOTENCY_WINDOW,
    Component,
    ComponentHost,
    NewDeployment,
)
from hadron.store.proton_tags import deleted_at, forget_resource, merge_tags
from hadron.store.proton_targets import FINISHERS, IS_CURRENT
from hadron.store.schema_proton import (
    proton_components,
    proton_deployment_outputs,
    proton_deployments,
    proton_environments,
    proton_idempotency,
    proton_service_instances,
    proton_template_versions,
)

__all__ = [
    "SqlProtonComponents",
    "component_arn",
    "component_missing",
    "component_state",
]

_C = proton_components
_D = proton_deployments
_O = proton_deployment_outputs
_I = proton_idempotency
_KIND = dep.ResourceKind.COMPONENT
Tags = Sequence[tuple[str, str]]


def component_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:proton:{region}:{account_id}:component/{name}"


def component_missing(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The component {name} was not found.")


def component_state(
    service_name: str | None,
    service_instance_name: str | None,
    service_spec: str | None,
    template_file: str,
) -> str:
    """The model's ``ComponentState`` as stored JSON text."""
    return json.dumps(
        {
            "serviceName": service_name,
            "serviceInstanceName": service_instance_name,
            "serviceSpec": service_spec,
            "templateFile": template_file,
        },
        sort_keys=True,
    )


def _where(account_id: str, region: str, name: str) -> Any:
    return and_(_C.c.account_id == account_id, _C.c.region == region, _C.c.name == name)


def _component(row: Row[Any]) -> Component:
    return Component(
        account_id=row.account_id,
        region=row.region,
        name=row.name,
        description=row.description,
        environment_name=row.environment_name,
        service_name=row.service_name,
        service_instance_name=row.service_instance_name,
        service_spec=row.service_spec,
        manifest=row.manifest,
        template_file=row.template_file,
        engine=row.engine,
        deployment_status=row.deployment_status,
        deployment_status_message=row.deployment_status_message,
        last_client_request_token=row.last_client_request_token,
        created_at=row.created_at,
        last_modified_at=row.last_modified_at,
        last_deployment_attempted_at=row.last_deployment_attempted_at,
        last_deployment_succeeded_at=row.last_deployment_succeeded_at,
        last_attempted_deployment_id=row.last_attempted_deployment_id,
        last_succeeded_deployment_id=row.last_succeeded_deployment_id,
    )


def _row_state(row: Row[Any]) -> str:
    return component_state(
        row.service_name, row.service_instance_name, row.service_spec, row.template_file
    )


def _insert_deployment(
    conn: Connection, comp: Row[Any], new: NewDeployment, initial: str | None, now: datetime
) -> None:
    insert_deployment(
        conn, comp, new, kind=_KIND, arn=component_arn(comp.region, comp.account_id, comp.name),
        environment_name=comp.environment_name, initial=initial, now=now,
        component_name=comp.name,
    )  # fmt: skip


def _finish_component(
    conn: Connection,
    row: Row[Any],
    new: dep.DeploymentStatus,
    message: str | None,
    now: datetime,
) -> None:
    """Apply a finished component deployment to its component: its status, or, on
    DELETE_COMPLETE, its removal (with its deployment records, outputs and tags)."""
    where = _where(row.account_id, row.region, row.component_name)
    comp = conn.execute(select(_C).where(where)).first()
    if comp is None or comp.last_attempted_deployment_id != row.id:
        return
    if new is dep.DeploymentStatus.DELETE_COMPLETE:
        conn.execute(delete(_C).where(where))
        conn.execute(
            delete(_D).where(
                _D.c.account_id == row.account_id,
                _D.c.region == row.region,
                _D.c.component_name == row.component_name,
                _D.c.target_type == _KIND.value,
            )
        )
        arn = component_arn(row.region, row.account_id, row.component_name)
        forget_resource(conn, row.account_id, arn, tombstone_at=now)
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
            "service_name": state.get("serviceName"),
            "service_instance_name": state.get("serviceInstanceName"),
            "service_spec": state.get("serviceSpec"),
            "template_file": state["templateFile"],
        }
    conn.execute(update(_C).where(where).values(values))


def _component_current(conn: Connection, row: Row[Any]) -> bool:
    comp = conn.execute(
        select(_C).where(_where(row.account_id, row.region, row.component_name))
    ).first()
    return comp is not None and row.id in (
        comp.last_attempted_deployment_id,
        comp.last_succeeded_deployment_id,
    )


FINISHERS[_KIND.value] = _finish_component
IS_CURRENT[_KIND.value] = _component_current


def _replay(
    conn: Connection,
    account_id: str,
    region: str,
    operation: str,
    client_token: str | None,
    request_hash: str,
    now: datetime,
) -> str | None:
    """The component name an earlier request with this client token acted on, or None when the
    token is new or expired; ValidationException when the parameters differ (§1.4)."""
    if not client_token:
        return None
    row = conn.execute(
        select(_I).where(
            _I.c.account_id == account_id,
            _I.c.region == region,
            _I.c.operation == operation,
            _I.c.client_token == client_token,
        )
    ).first()
    if row is None or row.created_at <= now - IDEMPOTENCY_WINDOW:
        return None
    if row.request_hash != request_hash:
        raise ValidationError("Idempotent parameter mismatch")
    return str(row.resource_arn).rsplit("/", 1)[-1]


def _remember(
    conn: Connection,
    comp: Row[Any],
    operation: str,
    client_token: str | None,
    request_hash: str,
    now: datetime,
) -> None:
    if not client_token:
        return
    key = and_(
        _I.c.account_id == comp.account_id,
        _I.c.region == comp.region,
        _I.c.operation == operation,
        _I.c.client_token == client_token,
    )
    conn.execute(delete(_I).where(key))
    conn.execute(
        _I.insert().values(
            account_id=comp.account_id,
            region=comp.region,
            operation=operation,
            client_token=client_token,
            request_hash=request_hash,
            resource_arn=component_arn(comp.region, comp.account_id, comp.name),
            created_at=now,
        )
    )


def _check_instance_free(
    conn: Connection, account_id: str, region: str, service: str, instance: str, name: str
) -> None:
    """A service instance has at most one directly defined component (proton.md §2.9)."""
    found = conn.execute(
        select(_C.c.name).where(
            _C.c.account_id == account_id,
            _C.c.region == region,
            _C.c.service_name == service,
            _C.c.service_instance_name == instance,
            _C.c.name != name,
        )
    ).first()
    if found is not None:
        raise ConflictException(
            f"The service instance {instance} of service {service} already has the component "
            f"{found.name} attached; a service instance can have one directly defined component."
        )


def _check_environment(conn: Connection, account_id: str, region: str, name: str) -> None:
    e = proton_environments.c
    env = conn.execute(
        select(e.deployment_status).where(
            e.account_id == account_id, e.region == region, e.name == name
        )
    ).first()
    if env is None:  # deleted since the handler looked
        raise environment_missing(name)
    if env.deployment_status == dep.DeploymentStatus.DELETE_IN_PROGRESS.value:
        raise ConflictException(
            f"The environment {name} is being deleted; components cannot be added to it."
        )


class SqlProtonComponents(SqlProtonDeployments):
    """Component methods of the SQL store; mixed into ``SqlStore`` (before the deployments
    mixin it extends: it shares the deployment records, outputs and ``_finish``)."""

    # --- the one lookup of a service instance for attaching -------------------------------------

    def component_service_instance(
        self, account_id: str, region: str, service: str, instance: str
    ) -> ComponentHost | None:
        """The service instance a component would attach to, or None (every attach rule goes
        through here): its environment, whether its service template version lists
        ``DIRECTLY_DEFINED`` in ``supportedComponentSources``, and its deployment status."""
        i, v = proton_service_instances.c, proton_template_versions.c
        with transactions.read(self._engine) as conn:
            row = conn.execute(
                select(i.environment_name, i.deployment_status, v.component_sources)
                .select_from(
                    proton_service_instances.outerjoin(
                        proton_template_versions,
                        and_(
                            v.account_id == i.account_id,
                            v.region == i.region,
                            v.kind == "service",
                            v.template_name == i.template_name,
                            v.major == i.template_major,
                            v.minor == i.template_minor,
                        ),
                    )
                )
                .where(
                    i.account_id == account_id,
                    i.region == region,
                    i.service_name == service,
                    i.name == instance,
                )
            ).first()
        if row is None:
            return None
        sources = json.loads(row.component_sources) if row.component_sources else []
        return ComponentHost(
            environment_name=str(row.environment_name),
            directly_defined="DIRECTLY_DEFINED" in sources,
            deployment_status=str(row.deployment_status),
        )

    # --- components -----------------------------------------------------------------------------

    def create_component(
        self,
        values: Mapping[str, Any],
        deployment: NewDeployment,
        *,
        client_token: str | None,
        request_hash: str,
        tags: Tags,
        now: datetime,
        max_components: int,
    ) -> tuple[Component, bool]:
        """Insert a component (``values``: its columns without status, timestamps and deployment
        ids) with its first deployment; or, for a retry with the same client token, return the
        component it created. The flag says whether it was created."""
        account_id, region, name = values["account_id"], values["region"], values["name"]
        arn = component_arn(region, account_id, name)
        with transactions.write(self._engine) as conn:
            earlier = _replay(conn, account_id, region, "CreateComponent", client_token,
                              request_hash, now)  # fmt: skip
            row = conn.execute(select(_C).where(_where(account_id, region, name))).first()
            if row is not None:
                if earlier == name:
                    return _component(row), False
                raise ConflictException(f"A component named {name} already exists.")
            count = conn.execute(
                select(func.count())
                .select_from(_C)
                .where(_C.c.account_id == account_id, _C.c.region == region)
            ).scalar_one()
            if count >= max_components:
                raise ServiceQuotaExceededException(
                    f"You have reached the maximum number of components ({max_components}) in "
                    "this account and region."
                )
            _check_environment(conn, account_id, region, values["environment_name"])
            if values.get("service_name") is not None:
                _check_instance_free(conn, account_id, region, values["service_name"],
                                     values["service_instance_name"], name)  # fmt: skip
            conn.execute(
                _C.insert().values(
                    **values,
                    deployment_status=dep.step(None, dep.Event.DEPLOY).value,
                    deployment_status_message=None,
                    last_client_request_token=client_token,
                    created_at=now,
                    last_modified_at=now,
                    last_deployment_attempted_at=now,
                    last_deployment_succeeded_at=None,
                    last_attempted_deployment_id=None,
                    last_succeeded_deployment_id=None,
                )
            )
            created = conn.execute(select(_C).where(_where(account_id, region, name))).one()
            _insert_deployment(conn, created, deployment, None, now)
            conn.execute(
                update(_C)
                .where(_where(account_id, region, name))
                .values(last_attempted_deployment_id=deployment.id)
            )
            _remember(conn, created, "CreateComponent", client_token, request_hash, now)
            forget_resource(conn, account_id, arn, tombstone_at=None)
            service, instance = values.get("service_name"), values.get("service_instance_name")
            service_arn = f"arn:aws:proton:{region}:{account_id}:service/{service}"
            managed = managed_tags(
                account_id,
                environment=environment_arn(region, account_id, values["environment_name"]),
                service=service_arn if service else None,
                service_instance=f"{service_arn}/service-instance/{instance}"
                if service and instance
                else None,
                component=arn,
            )
            merge_tags(conn, account_id, arn, [*managed, *tags])
            return _component(
                conn.execute(select(_C).where(_where(account_id, region, name))).one()
            ), True

    def get_component(self, account_id: str, region: str, name: str) -> Component | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(_C).where(_where(account_id, region, name))).first()
        return None if row is None else _component(row)

    def list_components(
        self,
        account_id: str,
        region: str,
        *,
        environment: str | None,
        service: str | None,
        instance: str | None,
        after: str | None,
        limit: int,
    ) -> list[Component]:
        """In name order, after the name ``after``; filtered by environment (attached
        components are in their instance's), service and service instance."""
        query = select(_C).where(_C.c.account_id == account_id, _C.c.region == region)
        for column, value in (
            (_C.c.environment_name, environment),
            (_C.c.service_name, service),
            (_C.c.service_instance_name, instance),
        ):
            if value is not None:
                query = query.where(column == value)
        if after is not None:
            query = query.where(_C.c.name > after)
        with transactions.read(self._engine) as conn:
            rows = conn.execute(query.order_by(_C.c.name).limit(limit)).all()
        return [_component(r) for r in rows]

    def update_component(
        self,
        account_id: str,
        region: str,
        name: str,
        *,
        changes: Mapping[str, Any],
        deployment: NewDeployment | None,
        client_token: str | None,
        request_hash: str,
        now: datetime,
    ) -> tuple[Component, bool]:
        """Change a component's columns; with ``deployment``, start it (the changes carry the
        target state). A retry with the same client token changes nothing; the flag says whether
        anything was done. Conflict while a deployment runs."""
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_C).where(_where(account_id, region, name))).first()
            if row is None:
                raise component_missing(name)
            earlier = _replay(conn, account_id, region, "UpdateComponent", client_token,
                              request_hash, now)  # fmt: skip
            if earlier == name:
                return _component(row), False
            dep.check_update(_KIND, name, dep.DeploymentStatus(row.deployment_status))
            service = changes.get("service_name", row.service_name)
            instance = changes.get("service_instance_name", row.service_instance_name)
            if service is not None and (service, instance) != (
                row.service_name,
                row.service_instance_name,
            ):
                _check_instance_free(conn, account_id, region, service, instance, name)
            values: dict[str, Any] = {**changes, "last_modified_at": now}
            if client_token:
                values["last_client_request_token"] = client_token
            if deployment is not None:
                _insert_deployment(conn, row, deployment, _row_state(row), now)
                values |= started_columns(deployment, now, row.deployment_status)
            conn.execute(update(_C).where(_where(account_id, region, name)).values(values))
            _remember(conn, row, "UpdateComponent", client_token, request_hash, now)
            return _component(
                conn.execute(select(_C).where(_where(account_id, region, name))).one()
            ), True

    def start_component_delete(
        self, account_id: str, region: str, name: str, deployment: NewDeployment, now: datetime
    ) -> tuple[Component, bool] | None:
        """Start deleting a detached component: ``(component, True)``; a retry while it is being
        deleted: ``(component, False)``; ``None`` for a retry within 8 hours of completion."""
        arn = component_arn(region, account_id, name)
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_C).where(_where(account_id, region, name))).first()
            if row is None:
                when = deleted_at(conn, account_id, arn)
                if when is not None and when > now - IDEMPOTENCY_WINDOW:
                    return None
                raise component_missing(name)
            decision = dep.check_delete(_KIND, name, dep.DeploymentStatus(row.deployment_status))
            if decision is dep.DeleteDecision.ALREADY_DELETING:
                return _component(row), False
            if row.service_name is not None:
                raise ConflictException(
                    f"Cannot delete component {name}: it is attached to service instance "
                    f"{row.service_instance_name} of service {row.service_name}; detach it first "
                    "(UpdateComponent with empty serviceName and serviceInstanceName)."
                )
            _insert_deployment(conn, row, deployment, _row_state(row), now)
            conn.execute(
                update(_C)
                .where(_where(account_id, region, name))
                .values(started_columns(deployment, now, row.deployment_status))
            )
            return _component(
                conn.execute(select(_C).where(_where(account_id, region, name))).one()
            ), True

    def cancel_component_deployment(
        self, account_id: str, region: str, name: str, now: datetime
    ) -> Component:
        """IN_PROGRESS → CANCELLING (component and its deployment record)."""
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_C).where(_where(account_id, region, name))).first()
            if row is None:
                raise component_missing(name)
            start_cancel(conn, _C, _where(account_id, region, name), row, _KIND, name, now)
            return _component(
                conn.execute(select(_C).where(_where(account_id, region, name))).one()
            )

    # --- outputs and the status callback ---------------------------------------------------------

    def component_outputs(
        self, account_id: str, region: str, name: str, deployment_id: str | None
    ) -> list[tuple[str, str]]:
        """A component's outputs (its last succeeded deployment's), or those a given deployment
        of it recorded; in key order."""
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(_C).where(_where(account_id, region, name))).first()
            if row is None:
                raise component_missing(name)
            wanted = deployment_id or row.last_succeeded_deployment_id
            if deployment_id is not None:
                owner = conn.execute(
                    select(_D.c.component_name).where(
                        _D.c.id == deployment_id,
                        _D.c.account_id == account_id,
                        _D.c.region == region,
                        _D.c.target_type == _KIND.value,
                    )
                ).first()
                if owner is None or owner.component_name != name:
                    raise ResourceNotFoundException(
                        f"The deployment {deployment_id} was not found."
                    )
            if wanted is None:
                return []
            rows = conn.execute(
                select(_O.c.output_key, _O.c.value_string)
                .where(_O.c.deployment_id == wanted)
                .order_by(_O.c.output_key)
            ).all()
        return [(r.output_key, r.value_string) for r in rows]

    def notify_component(
        self,
        account_id: str,
        region: str,
        name: str,
        *,
        status: str,
        deployment_id: str | None,
        outputs: Sequence[tuple[str, str]],
        message: str | None,
        now: datetime,
    ) -> None:
        """NotifyResourceDeploymentStatusChange for a component: record outputs on its running
        deployment and apply a reported final status."""
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_C).where(_where(account_id, region, name))).first()
            if row is None:
                raise component_missing(name)
            event = dep.notify_event(dep.DeploymentStatus(row.deployment_status), status)
            running = row.last_attempted_deployment_id
            if deployment_id is not None and deployment_id != running:
                raise ConflictException(
                    f"The deployment {deployment_id} is not the deployment in progress of "
                    f"component {name}."
                )
            self.record_outputs(conn, running, outputs)
            if event is not None:
                self._finish(conn, running, event, message, now)
