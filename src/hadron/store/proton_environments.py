"""The Proton environments repository: environments and their outputs, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §2.5 (environments), §2.15 (outputs), §2.16
(deployments), §1.4 (idempotent create and delete). Every public method is one transaction; the
status rules come from the pure ``hadron.proton.deployments`` (one transition table) and are
re-checked here, inside the transaction that writes, so two racing requests cannot both pass.

A deployment's outputs are written while it runs (NotifyResourceDeploymentStatusChange); the
environment's outputs are those of its last succeeded deployment. When a delete deployment
completes, the environment, its deployment records and their outputs are removed (the ARN is
remembered for 8 hours for idempotent delete retries). The deployment records and outputs of
every target type are in ``hadron.store.proton_deployments``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, bindparam, delete, func, or_, select, update

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
from hadron.store.proton_connections import require_connected
from hadron.store.proton_deployments import (
    SqlProtonDeployments,
    deployment_missing,
    insert_deployment,
    start_cancel,
    started_columns,
    version_state,
)
from hadron.store.proton_records import (
    IDEMPOTENCY_WINDOW,
    Environment,
    NewDeployment,
    RepositoryBranch,
)
from hadron.store.proton_tags import deleted_at, forget_resource, merge_tags
from hadron.store.proton_targets import FINISHERS, IS_CURRENT
from hadron.store.schema_proton import (
    proton_components,
    proton_deployment_outputs,
    proton_deployments,
    proton_environments,
    proton_service_instances,
    proton_service_pipelines,
    proton_template_versions,
)

__all__ = [
    "SqlProtonEnvironments",
    "environment_arn",
    "environment_missing",
    "environments_using",
]

_E = proton_environments
_D = proton_deployments
_O = proton_deployment_outputs
Tags = Sequence[tuple[str, str]]
_KIND = dep.ResourceKind.ENVIRONMENT


def environment_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:proton:{region}:{account_id}:environment/{name}"


def environment_missing(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The environment {name} was not found.")


def _where(account_id: str, region: str, name: str) -> Any:
    return and_(_E.c.account_id == account_id, _E.c.region == region, _E.c.name == name)


_ENVIRONMENT_TEMPLATE = select(_E.c.template_name).where(
    _E.c.account_id == bindparam("account"),
    _E.c.region == bindparam("region"),
    _E.c.name == bindparam("name"),
)


def _environment(row: Row[Any]) -> Environment:
    repository = None
    if row.repository_provider is not None:
        repository = RepositoryBranch(
            row.repository_provider, row.repository_name, row.repository_branch
        )
    return Environment(
        account_id=row.account_id,
        region=row.region,
        name=row.name,
        description=row.description,
        template_name=row.template_name,
        template_major=row.template_major,
        template_minor=row.template_minor,
        spec=row.spec,
        inputs=row.inputs,
        deployment_status=row.deployment_status,
        deployment_status_message=row.deployment_status_message,
        proton_service_role_arn=row.proton_service_role_arn,
        codebuild_role_arn=row.codebuild_role_arn,
        component_role_arn=row.component_role_arn,
        environment_account_connection_id=row.environment_account_connection_id,
        provisioning=row.provisioning,
        repository=repository,
        created_at=row.created_at,
        last_modified_at=row.last_modified_at,
        last_deployment_attempted_at=row.last_deployment_attempted_at,
        last_deployment_succeeded_at=row.last_deployment_succeeded_at,
        last_attempted_deployment_id=row.last_attempted_deployment_id,
        last_succeeded_deployment_id=row.last_succeeded_deployment_id,
        environment_account_id=row.environment_account_id,
    )


def environments_using(conn: Connection, account_id: str, region: str, name: str,
                       major: int, minor: int) -> list[str]:  # fmt: skip
    """Names of the environments deployed (or being deployed) to a template version."""
    rows = conn.execute(
        select(_E.c.name)
        .where(
            _E.c.account_id == account_id,
            _E.c.region == region,
            _E.c.template_name == name,
            _E.c.template_major == major,
            _E.c.template_minor == minor,
        )
        .order_by(_E.c.name)
    ).all()
    return [r.name for r in rows]


def _target_query(d: Row[Any]) -> Any:
    """The row of a deployment's target (its ids of the last attempted/succeeded deployment)."""
    if d.target_type == dep.ResourceKind.SERVICE_INSTANCE.value:
        i = proton_service_instances.c
        return select(i.last_attempted_deployment_id, i.last_succeeded_deployment_id).where(
            i.account_id == d.account_id,
            i.region == d.region,
            i.service_name == d.service_name,
            i.name == d.service_instance_name,
        )
    if d.target_type == dep.ResourceKind.SERVICE_PIPELINE.value:
        p = proton_service_pipelines.c
        return select(p.last_attempted_deployment_id, p.last_succeeded_deployment_id).where(
            p.account_id == d.account_id, p.region == d.region, p.service_name == d.service_name
        )
    return select(_E).where(_where(d.account_id, d.region, d.environment_name))


def _insert_deployment(
    conn: Connection, env: Row[Any], new: NewDeployment, initial: str | None, now: datetime
) -> None:
    insert_deployment(
        conn, env, new, kind=_KIND, arn=environment_arn(env.region, env.account_id, env.name),
        environment_name=env.name, initial=initial, now=now,
    )  # fmt: skip


def _finish_environment(
    conn: Connection,
    row: Row[Any],
    new: dep.DeploymentStatus,
    message: str | None,
    now: datetime,
) -> None:
    """Apply a finished environment deployment (``row``, already moved to ``new``) to its
    environment: its status, or, on DELETE_COMPLETE, its removal."""
    deployment_id = row.id
    where = _where(row.account_id, row.region, row.environment_name)
    env = conn.execute(select(_E).where(where)).first()
    if env is not None and env.last_attempted_deployment_id == deployment_id:
        if new is dep.DeploymentStatus.DELETE_COMPLETE:
            arn = environment_arn(row.region, row.account_id, row.environment_name)
            conn.execute(delete(_E).where(where))
            conn.execute(
                delete(_D).where(
                    _D.c.account_id == row.account_id,
                    _D.c.region == row.region,
                    _D.c.environment_name == row.environment_name,
                    _D.c.target_type == _KIND.value,
                )
            )
            forget_resource(conn, row.account_id, arn, tombstone_at=now)
        else:
            values: dict[str, Any] = {
                "deployment_status": new.value,
                "deployment_status_message": message,
                "last_modified_at": now,
            }
            if new is dep.DeploymentStatus.SUCCEEDED:
                values |= {
                    "last_succeeded_deployment_id": deployment_id,
                    "last_deployment_succeeded_at": now,
                }
            if new is dep.DeploymentStatus.CANCELLED and row.initial_state is not None:
                state = json.loads(row.initial_state)  # revert to the state before it
                values |= {
                    "template_major": int(state["templateMajorVersion"]),
                    "template_minor": int(state["templateMinorVersion"]),
                    "spec": state.get("spec"),
                    "inputs": json.dumps(state.get("inputs", {}), sort_keys=True),
                }
            conn.execute(update(_E).where(where).values(values))


def _refuse_with_components(conn: Connection, account_id: str, region: str, name: str) -> None:
    """An environment with components cannot be deleted (proton.md §2.5)."""
    c = proton_components.c
    found = conn.execute(
        select(c.name)
        .where(c.account_id == account_id, c.region == region, c.environment_name == name)
        .order_by(c.name)
        .limit(1)
    ).first()
    if found is not None:
        raise ConflictException(
            f"Cannot delete environment {name}: component {found.name} is associated with it; "
            "delete its components first."
        )


def _environment_current(conn: Connection, row: Row[Any]) -> bool:
    env = conn.execute(
        select(_E).where(_where(row.account_id, row.region, row.environment_name))
    ).first()
    return env is not None and row.id in (
        env.last_attempted_deployment_id,
        env.last_succeeded_deployment_id,
    )


FINISHERS[_KIND.value] = _finish_environment
IS_CURRENT[_KIND.value] = _environment_current


def _service_target_current(conn: Connection, row: Row[Any]) -> bool:
    target = conn.execute(_target_query(row)).first()
    return target is not None and row.id in (
        target.last_attempted_deployment_id,
        target.last_succeeded_deployment_id,
    )


IS_CURRENT[dep.ResourceKind.SERVICE_INSTANCE.value] = _service_target_current
IS_CURRENT[dep.ResourceKind.SERVICE_PIPELINE.value] = _service_target_current


class SqlProtonEnvironments(SqlProtonDeployments):
    """Environment methods of the SQL store; mixed into ``SqlStore``."""

    _engine: Engine
    _direct: DirectReads

    # --- template versions, as the environment handlers need them -------------------------------

    def version_statuses(
        self, account_id: str, region: str, kind: str, template_name: str
    ) -> list[tuple[int, int, str]]:
        """Every (major, minor, status) of a template."""
        v = proton_template_versions.c
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(v.major, v.minor, v.status).where(
                    v.account_id == account_id,
                    v.region == region,
                    v.kind == kind,
                    v.template_name == template_name,
                )
            ).all()
        return [(int(r.major), int(r.minor), str(r.status)) for r in rows]

    # --- environments --------------------------------------------------------------------------

    def create_environment(
        self,
        values: Mapping[str, Any],
        deployment: NewDeployment,
        *,
        tags: Tags,
        now: datetime,
        max_environments: int,
    ) -> tuple[Environment, bool]:
        """Insert an environment (``values``: its columns without timestamps and deployment
        fields) with its first deployment; or, for an identical retry of an unmodified one,
        return it. The flag says whether it was created."""
        account_id, region, name = values["account_id"], values["region"], values["name"]
        arn = environment_arn(region, account_id, name)
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_E).where(_where(account_id, region, name))).first()
            if row is not None:
                if row.request_hash != values["request_hash"]:
                    raise ValidationError("Idempotent parameter mismatch")
                if row.last_modified_at != row.created_at:
                    raise ConflictException(
                        f"The environment {name} already exists and was modified since it was "
                        "created."
                    )
                return _environment(row), False
            count = conn.execute(
                select(func.count())
                .select_from(_E)
                .where(_E.c.account_id == account_id, _E.c.region == region)
            ).scalar_one()
            if count >= max_environments:
                raise ServiceQuotaExceededException(
                    f"You have reached the maximum number of environments ({max_environments}) "
                    "in this account and region."
                )
            v = proton_template_versions.c
            found = conn.execute(
                select(v.status).where(
                    v.account_id == account_id,
                    v.region == region,
                    v.kind == "environment",
                    v.template_name == values["template_name"],
                    v.major == values["template_major"],
                    v.minor == values["template_minor"],
                )
            ).first()
            if found is None:  # deleted since the handler looked
                raise ResourceNotFoundException(
                    f"The environment template {values['template_name']} version "
                    f"{values['template_major']}.{values['template_minor']} was not found."
                )
            if values.get("environment_account_connection_id"):
                require_connected(
                    conn, values["environment_account_connection_id"], account_id, region, name
                )
            conn.execute(
                _E.insert().values(
                    **values,
                    deployment_status=dep.DeploymentStatus.IN_PROGRESS.value,
                    deployment_status_message=None,
                    created_at=now,
                    last_modified_at=now,
                    last_deployment_attempted_at=now,
                    last_deployment_succeeded_at=now,
                    last_attempted_deployment_id=None,
                    last_succeeded_deployment_id=None,
                )
            )
            created = conn.execute(select(_E).where(_where(account_id, region, name))).one()
            _insert_deployment(conn, created, deployment, None, now)
            conn.execute(
                update(_E)
                .where(_where(account_id, region, name))
                .values(last_attempted_deployment_id=deployment.id)
            )
            forget_resource(conn, account_id, arn, tombstone_at=None)
            managed = managed_tags(
                account_id,
                template=template_arn(region, account_id, "environment", values["template_name"]),
                environment=arn,
            )
            merge_tags(conn, account_id, arn, [*managed, *tags])
            return _environment(
                conn.execute(select(_E).where(_where(account_id, region, name))).one()
            ), True

    def environment_template(self, account: str, region: str, environment: str) -> str | None:
        """The template of an existing environment (``RelatedTemplates`` for IAM keys)."""
        key = {"account": account, "region": region, "name": environment}
        row = self._direct.first(_ENVIRONMENT_TEMPLATE, key)
        return None if row is None else str(row.template_name)

    def get_environment(self, account_id: str, region: str, name: str) -> Environment | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(_E).where(_where(account_id, region, name))).first()
        return None if row is None else _environment(row)

    def list_environments(
        self,
        account_id: str,
        region: str,
        templates: Sequence[tuple[str, int]] | None,
        after: str | None,
        limit: int,
    ) -> list[Environment]:
        """Up to ``limit`` environments in name order after ``after``, optionally only those
        of the given (template name, major version) pairs."""
        query = select(_E).where(_E.c.account_id == account_id, _E.c.region == region)
        if templates is not None:
            query = query.where(
                or_(
                    *(
                        and_(_E.c.template_name == t, _E.c.template_major == major)
                        for t, major in templates
                    )
                )
            )
        if after is not None:
            query = query.where(_E.c.name > after)
        with transactions.read(self._engine) as conn:
            rows = conn.execute(query.order_by(_E.c.name).limit(limit)).all()
        return [_environment(r) for r in rows]

    def update_environment(
        self,
        account_id: str,
        region: str,
        name: str,
        *,
        changes: Mapping[str, Any],
        deployment: NewDeployment | None,
        now: datetime,
    ) -> Environment:
        """Change an environment's columns; with ``deployment``, start it (the changes then
        carry the target version, spec and inputs). Conflict while a deployment runs."""
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_E).where(_where(account_id, region, name))).first()
            if row is None:
                raise environment_missing(name)
            dep.check_update(_KIND, name, dep.DeploymentStatus(row.deployment_status))
            if changes.get("environment_account_connection_id"):
                require_connected(
                    conn, changes["environment_account_connection_id"], account_id, region, name
                )
            values: dict[str, Any] = {**changes, "last_modified_at": now}
            if deployment is not None:
                _insert_deployment(conn, row, deployment, version_state(row), now)
                values |= started_columns(deployment, now, row.deployment_status)
            conn.execute(update(_E).where(_where(account_id, region, name)).values(values))
            return _environment(
                conn.execute(select(_E).where(_where(account_id, region, name))).one()
            )

    def start_environment_delete(
        self, account_id: str, region: str, name: str, deployment: NewDeployment, now: datetime
    ) -> tuple[Environment, bool] | None:
        """Start deleting an environment: ``(environment, True)``; a retry while it is being
        deleted: ``(environment, False)``; ``None`` for a retry within 8 hours of completion."""
        arn = environment_arn(region, account_id, name)
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_E).where(_where(account_id, region, name))).first()
            if row is None:
                when = deleted_at(conn, account_id, arn)
                if when is not None and when > now - IDEMPOTENCY_WINDOW:
                    return None
                raise environment_missing(name)
            decision = dep.check_delete(_KIND, name, dep.DeploymentStatus(row.deployment_status))
            if decision is dep.DeleteDecision.ALREADY_DELETING:
                return _environment(row), False
            _refuse_with_components(conn, account_id, region, name)
            i = proton_service_instances.c
            users = conn.execute(
                select(i.service_name, i.name)
                .where(i.account_id == account_id, i.region == region, i.environment_name == name)
                .order_by(i.service_name, i.name)
            ).all()
            if users:
                listed = ", ".join(f"{u.service_name}/{u.name}" for u in users[:10])
                raise ConflictException(
                    f"Cannot delete environment {name}: {len(users)} service instance(s) are "
                    f"deployed to it: {listed}. Delete them first."
                )
            _insert_deployment(conn, row, deployment, version_state(row), now)
            conn.execute(
                update(_E)
                .where(_where(account_id, region, name))
                .values(started_columns(deployment, now, row.deployment_status))
            )
            return _environment(
                conn.execute(select(_E).where(_where(account_id, region, name))).one()
            ), True

    def cancel_environment_deployment(
        self, account_id: str, region: str, name: str, now: datetime
    ) -> Environment:
        """IN_PROGRESS → CANCELLING (environment and its deployment record)."""
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_E).where(_where(account_id, region, name))).first()
            if row is None:
                raise environment_missing(name)
            start_cancel(conn, _E, _where(account_id, region, name), row, _KIND, name, now)
            return _environment(
                conn.execute(select(_E).where(_where(account_id, region, name))).one()
            )

    # --- outputs -------------------------------------------------------------------------------

    def notify_environment(
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
        """NotifyResourceDeploymentStatusChange for an environment: record outputs on its
        running deployment and apply a reported final status."""
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_E).where(_where(account_id, region, name))).first()
            if row is None:
                raise environment_missing(name)
            event = dep.notify_event(dep.DeploymentStatus(row.deployment_status), status)
            running = row.last_attempted_deployment_id
            if deployment_id is not None and deployment_id != running:
                raise ConflictException(
                    f"The deployment {deployment_id} is not the deployment in progress of "
                    f"environment {name}."
                )
            self.record_outputs(conn, running, outputs)
            if event is not None:
                self._finish(conn, running, event, message, now)

    def outputs(
        self, account_id: str, region: str, name: str, deployment_id: str | None
    ) -> list[tuple[str, str]]:
        """An environment's outputs (its last succeeded deployment's), or those a given
        deployment of it recorded; in key order."""
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(_E).where(_where(account_id, region, name))).first()
            if row is None:
                raise environment_missing(name)
            wanted = deployment_id or row.last_succeeded_deployment_id
            if deployment_id is not None:
                owner = conn.execute(
                    select(_D.c.environment_name, _D.c.target_type).where(
                        _D.c.id == deployment_id,
                        _D.c.account_id == account_id,
                        _D.c.region == region,
                    )
                ).first()
                if owner is None or (owner.environment_name, owner.target_type) != (
                    name,
                    _KIND.value,
                ):
                    raise deployment_missing(deployment_id)
            if wanted is None:
                return []
            rows = conn.execute(
                select(_O.c.output_key, _O.c.value_string)
                .where(_O.c.deployment_id == wanted)
                .order_by(_O.c.output_key)
            ).all()
        return [(r.output_key, r.value_string) for r in rows]
