"""Proton environment account connection handlers (Create/Accept/Reject/Update/Delete/Get/
ListEnvironmentAccountConnections) and the rules environments provisioned through one follow.

Layer: handlers (may use the store). Spec: proton.md §2.13 (connections), §2.5 (environments
with ``environmentAccountConnectionId``), §6.2 (CodeBuild provisioning). The store
(``hadron.store.proton_connections``) re-checks every status rule inside its transaction.

Who may call what: the **environment account** creates, updates and deletes a connection (its
ARN, tags and quota are that account's); the **management account** accepts and rejects it;
both can get and list it; any other account gets ResourceNotFoundException. Role ARNs on a
connection must be roles of the environment account (ValidationException naming the field).

An environment created through a CONNECTED connection (in the management account, named as the
connection says) takes no ``protonServiceRoleArn``, ``codebuildRoleArn`` or
``componentRoleArn`` of its own (ValidationException naming the field): its builds assume the
connection's ``codebuildRoleArn`` in the environment account (:func:`build_role`), and its
``componentRoleArn`` is the connection's. The environment-account role session reports outputs
for the management account's environment (:func:`may_notify`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from hadron.errors import ValidationError
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler, request_hash, tags
from hadron.proton.quotas import Quotas
from hadron.store import SqlStore
from hadron.store.proton_connections import (
    CONNECTED,
    REJECTED,
    connection_arn,
    connection_missing,
)
from hadron.store.proton_records import Environment, EnvironmentAccountConnection

__all__ = [
    "BuildRole",
    "ConnectionStore",
    "ConnectionsApi",
    "build_role",
    "check_connection_roles",
    "connection_result",
    "environment_connection",
    "may_notify",
]

Result = dict[str, Any]
_ROLE_ACCOUNT = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/.+")
_ROLES: Final = (
    ("roleArn", "role_arn"),
    ("componentRoleArn", "component_role_arn"),
    ("codebuildRoleArn", "codebuild_role_arn"),
)
_FIELD = "environmentAccountConnectionId"


class ConnectionStore(Protocol):
    """What :func:`build_role` and :func:`may_notify` read of the store."""

    def get_connection(self, connection_id: str) -> EnvironmentAccountConnection | None: ...
    def get_environment(self, account_id: str, region: str, name: str) -> Environment | None: ...


def connection_result(c: EnvironmentAccountConnection, *, summary: bool = False) -> Result:
    out: Result = {
        "id": c.id,
        "arn": connection_arn(c.region, c.account_id, c.id),
        "managementAccountId": c.management_account_id,
        "environmentAccountId": c.account_id,
        "environmentName": c.environment_name,
        "requestedAt": c.requested_at,
        "lastModifiedAt": c.last_modified_at,
        "status": c.status,
    }
    optional = {"roleArn": c.role_arn, "componentRoleArn": c.component_role_arn}
    if not summary:
        optional["codebuildRoleArn"] = c.codebuild_role_arn
    return out | {k: v for k, v in optional.items() if v}


def _roles(params: Mapping[str, Any], account_id: str) -> dict[str, str]:
    """The role columns given, each a role of the environment account."""
    out: dict[str, str] = {}
    for field, column in _ROLES:
        value = params.get(field)
        if value is None:
            continue
        match = _ROLE_ACCOUNT.fullmatch(str(value))
        if match is None or match.group(1) != account_id:
            raise ValidationError(
                f"{field}: {value} is not an IAM role of the environment account {account_id}."
            )
        out[column] = str(value)
    return out


# --- environments provisioned through a connection ----------------------------------------------


def environment_connection(
    store: ConnectionStore, call: ProtonCall, name: str, connection_id: str,
    current: Environment | None = None,
) -> EnvironmentAccountConnection:  # fmt: skip
    """The connection an environment ``name`` of the caller (the management account) may be
    provisioned through; ValidationException naming ``environmentAccountConnectionId``."""
    account = call.principal.account_id
    c = store.get_connection(connection_id)
    visible = c is not None and account in (c.account_id, c.management_account_id)
    if c is None or c.region != call.region or not visible:
        raise ValidationError(
            f"{_FIELD}: the environment account connection {connection_id} was not found."
        )
    if c.management_account_id != account:
        raise ValidationError(
            f"{_FIELD}: the environment account connection {connection_id} is not for "
            f"management account {account}; create the environment in account "
            f"{c.management_account_id}."
        )
    if c.environment_name != name:
        raise ValidationError(
            f"{_FIELD}: the environment account connection {connection_id} is for environment "
            f"{c.environment_name}, not {name}."
        )
    if c.status != CONNECTED:
        raise ValidationError(
            f"{_FIELD}: the environment account connection {connection_id} is {c.status}; it "
            "must be CONNECTED (accepted by the management account)."
        )
    if current is not None and current.environment_account_id not in (None, c.account_id):
        raise ValidationError(
            f"{_FIELD}: the environment account connection {connection_id} was created in "
            f"account {c.account_id}, but environment {name} is provisioned in account "
            f"{current.environment_account_id}."
        )
    return c


def check_connection_roles(engine: str, c: EnvironmentAccountConnection) -> None:
    """The role rules of proton.md §2.5 for an environment provisioned through ``c``."""
    if engine == "terraform":
        raise ValidationError(
            f"{_FIELD}: must not be given for an environment that uses self-managed provisioning."
        )
    if engine == "codebuild" and not c.codebuild_role_arn:
        raise ValidationError(
            f"{_FIELD}: the environment account connection {c.id} has no codebuildRoleArn, which "
            "an environment template version that uses CodeBuild provisioning needs."
        )
    if engine == "cloudformation" and not c.role_arn:
        raise ValidationError(
            f"{_FIELD}: the environment account connection {c.id} has no roleArn, which an "
            "environment template version that uses AWS-managed provisioning needs."
        )


@dataclass(frozen=True, slots=True)
class BuildRole:
    """The role a CodeBuild-style build of an environment assumes, and the account it runs
    in; or, when it cannot run, ``role_arn`` None and the deployment's failure message."""

    role_arn: str | None
    account_id: str
    problem: str | None = None


def build_role(store: ConnectionStore, env: Environment) -> BuildRole:
    """The environment's own ``codebuildRoleArn``, or, through a connection, the connection's
    (a role in the environment account). A deleted or no longer CONNECTED connection leaves the
    environment unmanageable until it is updated onto a new accepted connection."""
    connection_id = env.environment_account_connection_id
    if connection_id is None:
        if not env.codebuild_role_arn:
            return BuildRole(
                None, env.account_id, "codebuildRoleArn: the environment has no CodeBuild role."
            )
        return BuildRole(env.codebuild_role_arn, env.account_id)
    remote = env.environment_account_id or env.account_id
    c = store.get_connection(connection_id)
    if c is None or c.status != CONNECTED:
        state = "no longer exists" if c is None else f"is {c.status}"
        return BuildRole(
            None,
            remote,
            f"{_FIELD}: the environment account connection {connection_id} {state}, so Proton "
            f"cannot manage environment {env.name}'s infrastructure in account {remote}. Create "
            f"a connection for environment {env.name} in account {remote}, accept it, and "
            f"update the environment with its id ({_FIELD}).",
        )
    if not c.codebuild_role_arn:
        return BuildRole(
            None,
            remote,
            f"codebuildRoleArn: the environment account connection {connection_id} has no "
            "CodeBuild role; set one with UpdateEnvironmentAccountConnection.",
        )
    return BuildRole(c.codebuild_role_arn, c.account_id)


def may_notify(
    store: ConnectionStore, caller_account: str, account_id: str, region: str, name: str
) -> bool:
    """Whether ``caller_account`` may report deployment status and outputs for environment
    ``name`` of ``account_id``: its own, or one provisioned in ``caller_account`` through a
    CONNECTED connection (the build there runs with the connection's role)."""
    if caller_account == account_id:
        return True
    env = store.get_environment(account_id, region, name)
    if env is None or env.environment_account_connection_id is None:
        return False
    c = store.get_connection(env.environment_account_connection_id)
    return c is not None and c.status == CONNECTED and c.account_id == caller_account


# --- handlers ------------------------------------------------------------------------------------


class ConnectionsApi:
    """The seven connection operations, bound to a store and the quotas."""

    def __init__(self, store: SqlStore, quotas: Quotas) -> None:
        self._store = store
        self._quotas = quotas

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "CreateEnvironmentAccountConnection"): self.create,
            ("proton", "AcceptEnvironmentAccountConnection"): self.accept,
            ("proton", "RejectEnvironmentAccountConnection"): self.reject,
            ("proton", "UpdateEnvironmentAccountConnection"): self.update,
            ("proton", "DeleteEnvironmentAccountConnection"): self.delete,
            ("proton", "GetEnvironmentAccountConnection"): self.get,
            ("proton", "ListEnvironmentAccountConnections"): self.list,
        }

    def create(self, call: ProtonCall) -> Result:
        p = call.params
        account = call.principal.account_id
        management = str(p["managementAccountId"])
        if management == account:
            raise ValidationError(
                f"managementAccountId: {management} is this account; a connection links an "
                "environment account to another (management) account."
            )
        values = {
            "id": str(uuid.uuid4()),
            "account_id": account,
            "region": call.region,
            "management_account_id": management,
            "environment_name": str(p["environmentName"]),
            "role_arn": None,
            "component_role_arn": None,
            "codebuild_role_arn": None,
            **_roles(p, account),
        }
        created = self._store.create_connection(
            values,
            tags=tags(p),
            client_token=p.get("clientToken"),
            request_hash=request_hash(p),
            now=call.now,
            max_connections=self._quotas.account_connections,
        )
        return {"environmentAccountConnection": connection_result(created)}

    def accept(self, call: ProtonCall) -> Result:
        found = self._store.set_connection_status(
            call.params["id"], call.principal.account_id, call.region, CONNECTED, call.now
        )
        return {"environmentAccountConnection": connection_result(found)}

    def reject(self, call: ProtonCall) -> Result:
        found = self._store.set_connection_status(
            call.params["id"], call.principal.account_id, call.region, REJECTED, call.now
        )
        return {"environmentAccountConnection": connection_result(found)}

    def update(self, call: ProtonCall) -> Result:
        p = call.params
        account = call.principal.account_id
        current = self._visible(call)
        # Who may update is checked (again, in its transaction) by the store; the role ARNs
        # must be the environment account's.
        roles = _roles(p, account) if current.account_id == account else {}
        found = self._store.update_connection(p["id"], account, call.region, roles, call.now)
        return {"environmentAccountConnection": connection_result(found)}

    def delete(self, call: ProtonCall) -> Result:
        deleted = self._store.delete_connection(
            call.params["id"], call.principal.account_id, call.region, call.now
        )
        if deleted is None:  # a retry after the deletion
            return {}
        return {"environmentAccountConnection": connection_result(deleted)}

    def _visible(self, call: ProtonCall) -> EnvironmentAccountConnection:
        """The connection ``id`` names, if the caller is one of its two accounts."""
        connection_id = call.params["id"]
        account = call.principal.account_id
        found = self._store.get_connection(connection_id)
        if found is None or found.region != call.region or account not in (
            found.account_id, found.management_account_id
        ):  # fmt: skip
            raise connection_missing(connection_id)
        return found

    def get(self, call: ProtonCall) -> Result:
        return {"environmentAccountConnection": connection_result(self._visible(call))}

    def list(self, call: ProtonCall) -> Result:
        p = call.params
        requested_by = str(p["requestedBy"])
        if requested_by not in ("MANAGEMENT_ACCOUNT", "ENVIRONMENT_ACCOUNT"):  # pragma: no cover
            raise ValidationError("requestedBy: must be MANAGEMENT_ACCOUNT or ENVIRONMENT_ACCOUNT.")
        statuses = sorted({str(s) for s in p.get("statuses") or []})
        environment = p.get("environmentName")
        scope = f"connections:{requested_by}:{environment or ''}:{','.join(statuses)}"
        after = decode_token(scope, p.get("nextToken"))
        limit = max_results(p)
        found = self._store.list_connections(
            call.principal.account_id,
            call.region,
            as_management=requested_by == "MANAGEMENT_ACCOUNT",
            environment_name=environment,
            statuses=statuses or None,
            after=after if isinstance(after, str) else None,
            limit=limit + 1,
        )
        page = found[:limit]
        out: Result = {
            "environmentAccountConnections": [connection_result(c, summary=True) for c in page]
        }
        if len(found) > limit:
            out["nextToken"] = encode_token(scope, page[-1].id)
        return out
