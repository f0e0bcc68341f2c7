"""The Proton deployments repository: deployment records of every target type and the outputs
they record, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §2.15 (outputs), §2.16 (deployments). Every public method
is one transaction; the functions taking a connection (starting, cancelling and finishing a
deployment, recording outputs) run inside the caller's, for the environments, service instances,
pipelines and components repositories. A finished deployment is applied to its target by the
finisher its target's store module registers in ``hadron.store.proton_targets``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, Row, and_, delete, or_, select, update

from hadron.errors import ResourceNotFoundException, ServiceQuotaExceededException
from hadron.proton import deployments as dep
from hadron.store import transactions
from hadron.store.proton_records import Deployment, NewDeployment
from hadron.store.proton_targets import FINISHERS, IS_CURRENT
from hadron.store.schema_proton import proton_deployment_outputs, proton_deployments

__all__ = [
    "MAX_OUTPUTS",
    "SqlProtonDeployments",
    "deployment_arn",
    "deployment_missing",
    "deployment_outputs",
    "deployment_record",
    "finish_in",
    "insert_deployment",
    "record_outputs_in",
    "start_cancel",
    "started_columns",
    "version_state",
]

_D = proton_deployments
_O = proton_deployment_outputs
MAX_OUTPUTS: Final = 200
"""Outputs one deployment may record (UNCONFIRMED: AWS documents no number; CloudFormation's
per-stack limit is 200). More → ServiceQuotaExceededException."""


def deployment_arn(region: str, account_id: str, deployment_id: str) -> str:
    return f"arn:aws:proton:{region}:{account_id}:deployment/{deployment_id}"


def deployment_missing(deployment_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The deployment {deployment_id} was not found.")


def deployment_record(row: Row[Any]) -> Deployment:
    return Deployment(
        id=row.id,
        account_id=row.account_id,
        region=row.region,
        target_type=row.target_type,
        target_arn=row.target_arn,
        target_created_at=row.target_created_at,
        environment_name=row.environment_name,
        action=row.action,
        engine=row.engine,
        deployment_status=row.deployment_status,
        deployment_status_message=row.deployment_status_message,
        initial_state=row.initial_state,
        target_state=row.target_state,
        created_at=row.created_at,
        last_modified_at=row.last_modified_at,
        completed_at=row.completed_at,
        last_attempted_deployment_id=row.last_attempted_deployment_id,
        last_succeeded_deployment_id=row.last_succeeded_deployment_id,
        component_name=row.component_name,
        service_name=row.service_name,
        service_instance_name=row.service_instance_name,
    )


def version_state(row: Row[Any]) -> str:
    """A target's current deployment state (the ``initialState`` of its next deployment): an
    environment's, a service instance's or a pipeline's template version, spec and inputs."""
    return json.dumps(
        {
            "templateName": row.template_name,
            "templateMajorVersion": str(row.template_major),
            "templateMinorVersion": str(row.template_minor),
            "spec": row.spec,
            "inputs": json.loads(row.inputs),
        },
        sort_keys=True,
    )


def insert_deployment(
    conn: Connection,
    target: Row[Any],
    new: NewDeployment,
    *,
    kind: dep.ResourceKind,
    arn: str,
    environment_name: str,
    initial: str | None,
    now: datetime,
    **names: str | None,
) -> None:
    """The deployment record of ``new`` on ``target`` (any Proton target's row: its account,
    region, creation time and last attempted/succeeded deployment ids). ``names``: the record's
    ``service_name``, ``service_instance_name`` or ``component_name``."""
    status = dep.initial_status(dep.Event.DELETE if new.action == "DELETE" else dep.Event.DEPLOY)
    conn.execute(
        _D.insert().values(
            id=new.id,
            account_id=target.account_id,
            region=target.region,
            target_type=kind.value,
            target_arn=arn,
            target_created_at=target.created_at,
            environment_name=environment_name,
            **names,
            action=new.action,
            engine=new.engine,
            deployment_status=status.value,
            deployment_status_message=None,
            initial_state=initial,
            target_state=new.target_state,
            created_at=now,
            last_modified_at=now,
            completed_at=None,
            last_attempted_deployment_id=target.last_attempted_deployment_id,
            last_succeeded_deployment_id=target.last_succeeded_deployment_id,
        )
    )


def started_columns(new: NewDeployment, now: datetime, status: str | None) -> dict[str, Any]:
    """A target's columns when ``new`` starts on it in ``status`` (None: being created)."""
    current = None if status is None else dep.DeploymentStatus(status)
    event = dep.Event.DELETE if new.action == "DELETE" else dep.Event.DEPLOY
    return {
        "deployment_status": dep.step(current, event).value,
        "deployment_status_message": None,
        "last_deployment_attempted_at": now,
        "last_attempted_deployment_id": new.id,
        "last_modified_at": now,
    }


def start_cancel(
    conn: Connection,
    table: Any,
    where: Any,
    row: Row[Any],
    kind: dep.ResourceKind,
    name: str,
    now: datetime,
) -> None:
    """IN_PROGRESS → CANCELLING for a target (``row`` of ``table`` at ``where``) and its
    running deployment record."""
    status = dep.DeploymentStatus(row.deployment_status)
    dep.check_cancel(kind, name, status)
    new = dep.step(status, dep.Event.CANCEL).value
    conn.execute(update(table).where(where).values(deployment_status=new, last_modified_at=now))
    conn.execute(
        update(_D)
        .where(_D.c.id == row.last_attempted_deployment_id)
        .values(deployment_status=new, last_modified_at=now)
    )


def finish_in(
    conn: Connection,
    deployment_id: str,
    event: dep.Event,
    message: str | None,
    now: datetime,
) -> Deployment | None:
    """Apply ``event`` to a running deployment and, through its target type's finisher, to its
    target (within the caller's transaction); ``None`` when nothing moved."""
    row = conn.execute(select(_D).where(_D.c.id == deployment_id)).first()
    if row is None:
        return None
    status = dep.DeploymentStatus(row.deployment_status)
    if (status, event) not in dep.TRANSITIONS:
        return None
    new = dep.step(status, event)
    completed = now if dep.is_final(new) else None
    conn.execute(
        update(_D)
        .where(_D.c.id == deployment_id)
        .values(
            deployment_status=new.value,
            deployment_status_message=message,
            last_modified_at=now,
            completed_at=completed,
        )
    )
    FINISHERS[row.target_type](conn, row, new, message, now)
    found = conn.execute(select(_D).where(_D.c.id == deployment_id)).first()
    return None if found is None else deployment_record(found)


def record_outputs_in(
    conn: Connection, deployment_id: str, outputs: Sequence[tuple[str, str]]
) -> None:
    """Add or replace outputs of a deployment (within the caller's transaction)."""
    incoming = dict(outputs)
    if not incoming:
        return
    existing = {
        r.output_key
        for r in conn.execute(
            select(_O.c.output_key).where(_O.c.deployment_id == deployment_id)
        ).all()
    }
    if len(existing | set(incoming)) > MAX_OUTPUTS:
        raise ServiceQuotaExceededException(
            f"outputs: a deployment can record at most {MAX_OUTPUTS} outputs."
        )
    conn.execute(
        delete(_O).where(_O.c.deployment_id == deployment_id, _O.c.output_key.in_(incoming))
    )
    conn.execute(
        _O.insert(),
        [
            {"deployment_id": deployment_id, "output_key": k, "value_string": v}
            for k, v in incoming.items()
        ],
    )


def deployment_outputs(conn: Connection, deployment_id: str | None) -> list[tuple[str, str]]:
    """The outputs a deployment recorded, in key order ([] for None)."""
    if deployment_id is None:
        return []
    rows = conn.execute(
        select(_O.c.output_key, _O.c.value_string)
        .where(_O.c.deployment_id == deployment_id)
        .order_by(_O.c.output_key)
    ).all()
    return [(r.output_key, r.value_string) for r in rows]


class SqlProtonDeployments:
    """Deployment and output methods of the SQL store; mixed into ``SqlStore``."""

    _engine: Engine

    # --- deployments -----------------------------------------------------------------------------

    def get_deployment(self, account_id: str, region: str, deployment_id: str) -> Deployment | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(
                select(_D).where(
                    _D.c.id == deployment_id, _D.c.account_id == account_id, _D.c.region == region
                )
            ).first()
        return None if row is None else deployment_record(row)

    def deployment_by_id(self, deployment_id: str) -> Deployment | None:
        """A deployment in any account (for the provisioning worker)."""
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(_D).where(_D.c.id == deployment_id)).first()
        return None if row is None else deployment_record(row)

    def list_deployments(
        self,
        account_id: str,
        region: str,
        environment_name: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
        *,
        component_name: str | None = None,
        service_name: str | None = None,
        service_instance_name: str | None = None,
    ) -> list[Deployment]:
        """Newest first; ``after`` is the (createdAt, id) of the last one of the previous page."""
        query = select(_D).where(_D.c.account_id == account_id, _D.c.region == region)
        if environment_name is not None:
            query = query.where(_D.c.environment_name == environment_name)
        if component_name is not None:
            query = query.where(_D.c.component_name == component_name)
        if service_name is not None:
            query = query.where(_D.c.service_name == service_name)
        if service_instance_name is not None:
            query = query.where(_D.c.service_instance_name == service_instance_name)
        if after is not None:
            when, last_id = after
            query = query.where(
                or_(_D.c.created_at < when, and_(_D.c.created_at == when, _D.c.id < last_id))
            )
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                query.order_by(_D.c.created_at.desc(), _D.c.id.desc()).limit(limit)
            ).all()
        return [deployment_record(r) for r in rows]

    def delete_deployment(self, account_id: str, region: str, deployment_id: str) -> Deployment:
        """Delete a finished deployment that is not its environment's latest attempted or
        last succeeded one (proton.md §2.16, UNCONFIRMED)."""
        with transactions.write(self._engine) as conn:
            row = conn.execute(
                select(_D).where(
                    _D.c.id == deployment_id, _D.c.account_id == account_id, _D.c.region == region
                )
            ).first()
            if row is None:
                raise deployment_missing(deployment_id)
            current = IS_CURRENT[row.target_type](conn, row)
            dep.check_deployment_deletable(
                deployment_id, dep.DeploymentStatus(row.deployment_status), current
            )
            conn.execute(delete(_D).where(_D.c.id == deployment_id))
            return deployment_record(row)

    def busy_deployments(self) -> list[Deployment]:
        """Deployments of every account still running (for the worker's start)."""
        busy = [s.value for s in dep.DeploymentStatus if dep.is_busy(s)]
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(_D).where(_D.c.deployment_status.in_(busy)).order_by(_D.c.created_at)
            ).all()
        return [deployment_record(r) for r in rows]

    def finish_deployment(
        self, deployment_id: str, event: dep.Event, message: str | None, now: datetime
    ) -> Deployment | None:
        """Apply ``event`` to a running deployment and its environment; ``None`` when the
        deployment already finished (a callback got there first) or no longer exists."""
        with transactions.write(self._engine) as conn:
            return self._finish(conn, deployment_id, event, message, now)

    def _finish(
        self,
        conn: Connection,
        deployment_id: str,
        event: dep.Event,
        message: str | None,
        now: datetime,
    ) -> Deployment | None:
        return finish_in(conn, deployment_id, event, message, now)

    # --- outputs -------------------------------------------------------------------------------

    def record_outputs(
        self, conn: Connection, deployment_id: str, outputs: Sequence[tuple[str, str]]
    ) -> None:
        """Add or replace outputs of a deployment (within the caller's transaction)."""
        record_outputs_in(conn, deployment_id, outputs)

    def set_deployment_outputs(
        self, deployment_id: str, outputs: Sequence[tuple[str, str]]
    ) -> None:
        with transactions.write(self._engine) as conn:
            self.record_outputs(conn, deployment_id, outputs)
