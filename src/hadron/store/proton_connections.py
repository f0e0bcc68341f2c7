"""The Proton environment account connections repository, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §2.13 (connections: who may call what, statuses, quota),
§1.4 (clientToken, idempotent delete), §1.5 (tags). Every public method is one transaction and
re-checks its rules inside it, so a refused request changes nothing and two racing requests
cannot both pass (e.g. a reject and an environment created through the same connection).

A connection belongs to its **environment account** (``account_id``: its ARN, its tags, the
quota); its ``management_account_id`` may read, accept and reject it. Rules of this module
(UNCONFIRMED where AWS documents nothing, proton.md §12 item 11):

* at most one PENDING or CONNECTED connection per (environment account, management account,
  environment name) — a second is ConflictException;
* Accept: PENDING → CONNECTED (an accepted one answers unchanged: the operation is idempotent);
* Reject: PENDING or CONNECTED → REJECTED unless an environment uses it (ConflictException
  naming it); a rejected one answers unchanged; Accept of a rejected one is ConflictException;
* Delete removes a connection even while an environment uses it (the environment keeps the id
  and cannot be deployed until it is updated onto a new connection).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, Row, delete, func, select, update

from hadron.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationError,
)
from hadron.store import transactions
from hadron.store.proton_records import IDEMPOTENCY_WINDOW, EnvironmentAccountConnection
from hadron.store.proton_tags import deleted_at, forget_resource, merge_tags
from hadron.store.schema import accounts
from hadron.store.schema_proton import (
    proton_environment_account_connections,
    proton_environments,
    proton_idempotency,
)

__all__ = [
    "CONNECTED",
    "CREATE_OPERATION",
    "PENDING",
    "REJECTED",
    "SqlProtonConnections",
    "connection_arn",
    "connection_missing",
    "require_connected",
]

PENDING: Final = "PENDING"
CONNECTED: Final = "CONNECTED"
REJECTED: Final = "REJECTED"
CREATE_OPERATION: Final = "CreateEnvironmentAccountConnection"

_C = proton_environment_account_connections
_E = proton_environments
_I = proton_idempotency
Tags = Sequence[tuple[str, str]]


def connection_arn(region: str, account_id: str, connection_id: str) -> str:
    """The ARN, in the environment account (proton.md §2.1)."""
    return f"arn:aws:proton:{region}:{account_id}:environment-account-connection/{connection_id}"


def connection_missing(connection_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"The environment account connection {connection_id} was not found."
    )


def _connection(row: Row[Any]) -> EnvironmentAccountConnection:
    return EnvironmentAccountConnection(
        id=row.id,
        account_id=row.account_id,
        region=row.region,
        management_account_id=row.management_account_id,
        environment_name=row.environment_name,
        role_arn=row.role_arn,
        component_role_arn=row.component_role_arn,
        codebuild_role_arn=row.codebuild_role_arn,
        status=row.status,
        requested_at=row.requested_at,
        last_modified_at=row.last_modified_at,
    )


def _row(conn: Connection, connection_id: str) -> Row[Any] | None:
    return conn.execute(select(_C).where(_C.c.id == connection_id)).first()


def _users(conn: Connection, row: Row[Any]) -> list[str]:
    """Environments (of the management account) provisioned through the connection."""
    found = conn.execute(
        select(_E.c.name)
        .where(
            _E.c.account_id == row.management_account_id,
            _E.c.region == row.region,
            _E.c.environment_account_connection_id == row.id,
        )
        .order_by(_E.c.name)
    ).all()
    return [r.name for r in found]


def require_connected(
    conn: Connection, connection_id: str, management_account_id: str, region: str, name: str
) -> str:
    """Inside an environment's write: the connection still exists, is CONNECTED and is this
    management account's for environment ``name``; its environment account."""
    row = _row(conn, connection_id)
    if (
        row is None
        or row.status != CONNECTED
        or row.management_account_id != management_account_id
        or row.region != region
        or row.environment_name != name
    ):
        raise ValidationError(
            f"environmentAccountConnectionId: the environment account connection {connection_id} "
            f"is not a CONNECTED connection of account {management_account_id} for environment "
            f"{name}."
        )
    return str(row.account_id)


class SqlProtonConnections:
    """Environment account connection methods of the SQL store; mixed into ``SqlStore``."""

    _engine: Engine

    def create_connection(
        self,
        values: Mapping[str, Any],
        *,
        tags: Tags,
        client_token: str | None,
        request_hash: str,
        now: datetime,
        max_connections: int,
    ) -> EnvironmentAccountConnection:
        """Insert a PENDING connection (``values``: id, account_id, region,
        management_account_id, environment_name and the three role ARNs); a clientToken seen
        in the last 8 hours returns the connection it created (same request) or is refused."""
        account_id, region = values["account_id"], values["region"]
        management = values["management_account_id"]
        with transactions.write(self._engine) as conn:
            if client_token:
                earlier = self._replay_connection(
                    conn, account_id, region, client_token, request_hash, now
                )
                if earlier is not None:
                    return earlier
            known = conn.execute(
                select(accounts.c.account_id).where(accounts.c.account_id == management)
            ).first()
            if known is None:
                raise ValidationError(
                    f"managementAccountId: the account {management} does not exist."
                )
            count = conn.execute(
                select(func.count())
                .select_from(_C)
                .where(_C.c.account_id == account_id, _C.c.region == region)
            ).scalar_one()
            if count >= max_connections:
                raise ServiceQuotaExceededException(
                    "You have reached the maximum number of environment account connections "
                    f"({max_connections}) in this environment account and region."
                )
            clash = conn.execute(
                select(_C.c.id).where(
                    _C.c.account_id == account_id,
                    _C.c.region == region,
                    _C.c.management_account_id == management,
                    _C.c.environment_name == values["environment_name"],
                    _C.c.status.in_([PENDING, CONNECTED]),
                )
            ).first()
            if clash is not None:
                raise ConflictException(
                    f"The environment account connection {clash.id} already connects this "
                    f"account to environment {values['environment_name']} of management "
                    f"account {management}; delete or reject it first."
                )
            conn.execute(
                _C.insert().values(**values, status=PENDING, requested_at=now, last_modified_at=now)
            )
            arn = connection_arn(region, account_id, values["id"])
            forget_resource(conn, account_id, arn, tombstone_at=None)
            merge_tags(conn, account_id, arn, tags)
            if client_token:
                conn.execute(
                    delete(_I).where(
                        _I.c.account_id == account_id,
                        _I.c.region == region,
                        _I.c.operation == CREATE_OPERATION,
                        _I.c.client_token == client_token,
                    )
                )
                conn.execute(
                    _I.insert().values(
                        account_id=account_id,
                        region=region,
                        operation=CREATE_OPERATION,
                        client_token=client_token,
                        request_hash=request_hash,
                        resource_arn=arn,
                        created_at=now,
                    )
                )
            created = _row(conn, values["id"])
            assert created is not None  # noqa: S101 - inserted above, in this transaction
            return _connection(created)

    def _replay_connection(
        self,
        conn: Connection,
        account_id: str,
        region: str,
        client_token: str,
        request_hash: str,
        now: datetime,
    ) -> EnvironmentAccountConnection | None:
        row = conn.execute(
            select(_I).where(
                _I.c.account_id == account_id,
                _I.c.region == region,
                _I.c.operation == CREATE_OPERATION,
                _I.c.client_token == client_token,
            )
        ).first()
        if row is None or row.created_at <= now - IDEMPOTENCY_WINDOW:
            return None
        if row.request_hash != request_hash:
            raise ValidationError("Idempotent parameter mismatch")
        found = _row(conn, str(row.resource_arn).rsplit("/", 1)[-1])
        return None if found is None else _connection(found)  # deleted since: create anew

    def get_connection(self, connection_id: str) -> EnvironmentAccountConnection | None:
        """A connection of any account (the handlers decide who may see it)."""
        with transactions.read(self._engine) as conn:
            row = _row(conn, connection_id)
        return None if row is None else _connection(row)

    def connection_account(self, region: str, connection_id: str) -> str | None:
        """The environment account that owns a connection's ARN (for IAM resource ARNs)."""
        with transactions.read(self._engine) as conn:
            found = conn.execute(
                select(_C.c.account_id).where(_C.c.id == connection_id, _C.c.region == region)
            ).scalar_one_or_none()
        return None if found is None else str(found)

    def set_connection_status(
        self, connection_id: str, management_account_id: str, region: str, status: str,
        now: datetime,
    ) -> EnvironmentAccountConnection:  # fmt: skip
        """Accept (``CONNECTED``) or reject (``REJECTED``) as the management account."""
        with transactions.write(self._engine) as conn:
            row = _row(conn, connection_id)
            if row is None or row.region != region or management_account_id not in (
                row.account_id, row.management_account_id
            ):  # fmt: skip
                raise connection_missing(connection_id)
            verb = "accepted" if status == CONNECTED else "rejected"
            if row.management_account_id != management_account_id:
                raise ValidationError(
                    f"id: the environment account connection {connection_id} can only be "
                    f"{verb} by its management account {row.management_account_id}."
                )
            if row.status == status:  # an idempotent retry
                return _connection(row)
            if status == CONNECTED and row.status != PENDING:
                raise ConflictException(
                    f"The environment account connection {connection_id} is {row.status}; only "
                    "a PENDING connection can be accepted."
                )
            if status == REJECTED:
                users = _users(conn, row)
                if users:
                    raise ConflictException(
                        f"The environment account connection {connection_id} is used by "
                        f"environment {users[0]}; delete the environment before rejecting it."
                    )
            conn.execute(
                update(_C)
                .where(_C.c.id == connection_id)
                .values(status=status, last_modified_at=now)
            )
            found = _row(conn, connection_id)
            assert found is not None  # noqa: S101 - updated above, in this transaction
            return _connection(found)

    def _owned(self, conn: Connection, connection_id: str, account_id: str, region: str,
               verb: str) -> Row[Any]:  # fmt: skip
        row = _row(conn, connection_id)
        if row is None or row.region != region or account_id not in (
            row.account_id, row.management_account_id
        ):  # fmt: skip
            raise connection_missing(connection_id)
        if row.account_id != account_id:
            raise ValidationError(
                f"id: the environment account connection {connection_id} can only be {verb} "
                f"by its environment account {row.account_id}."
            )
        return row

    def update_connection(
        self, connection_id: str, account_id: str, region: str, changes: Mapping[str, str],
        now: datetime,
    ) -> EnvironmentAccountConnection:  # fmt: skip
        """Change role ARNs as the environment account; environments using the connection
        take its new ``componentRoleArn``."""
        with transactions.write(self._engine) as conn:
            row = self._owned(conn, connection_id, account_id, region, "updated")
            conn.execute(
                update(_C).where(_C.c.id == connection_id).values(**changes, last_modified_at=now)
            )
            if "component_role_arn" in changes:
                conn.execute(
                    update(_E)
                    .where(
                        _E.c.account_id == row.management_account_id,
                        _E.c.region == region,
                        _E.c.environment_account_connection_id == connection_id,
                    )
                    .values(component_role_arn=changes["component_role_arn"])
                )
            found = _row(conn, connection_id)
            assert found is not None  # noqa: S101 - updated above, in this transaction
            return _connection(found)

    def delete_connection(
        self, connection_id: str, account_id: str, region: str, now: datetime
    ) -> EnvironmentAccountConnection | None:
        """Delete as the environment account (even while an environment uses it); ``None``
        for a retry within 8 hours of the deletion."""
        with transactions.write(self._engine) as conn:
            row = _row(conn, connection_id)
            if row is None:
                arn = connection_arn(region, account_id, connection_id)
                when = deleted_at(conn, account_id, arn)
                if when is not None and when > now - IDEMPOTENCY_WINDOW:
                    return None
                raise connection_missing(connection_id)
            row = self._owned(conn, connection_id, account_id, region, "deleted")
            conn.execute(delete(_C).where(_C.c.id == connection_id))
            forget_resource(
                conn, account_id, connection_arn(region, account_id, connection_id),
                tombstone_at=now,
            )  # fmt: skip
            return _connection(row)

    def list_connections(
        self,
        account_id: str,
        region: str,
        *,
        as_management: bool,
        environment_name: str | None,
        statuses: Sequence[str] | None,
        after: str | None,
        limit: int,
    ) -> list[EnvironmentAccountConnection]:
        """Up to ``limit`` connections in id order after ``after``: those whose management
        account (``as_management``) or environment account is ``account_id``."""
        owner = _C.c.management_account_id if as_management else _C.c.account_id
        query = select(_C).where(owner == account_id, _C.c.region == region)
        if environment_name is not None:
            query = query.where(_C.c.environment_name == environment_name)
        if statuses:
            query = query.where(_C.c.status.in_(list(statuses)))
        if after is not None:
            query = query.where(_C.c.id > after)
        with transactions.read(self._engine) as conn:
            rows = conn.execute(query.order_by(_C.c.id).limit(limit)).all()
        return [_connection(r) for r in rows]
