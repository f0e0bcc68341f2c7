"""Deployment history handlers (GetDeployment, ListDeployments, DeleteDeployment) and
NotifyResourceDeploymentStatusChange.

Layer: handlers (may use the store). Spec: proton.md §2.16 (deployments), §3.1 (notify),
§6.2-6.3 (CodeBuild commands report outputs; self-managed automation reports status).
Environments and components exist so far: deployments of services, instances and pipelines, and
notifications for them, answer ResourceNotFoundException because no such resource exists.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hadron.errors import ResourceNotFoundException, ValidationError
from hadron.proton.arns import parse
from hadron.proton.connections import may_notify
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler
from hadron.store import SqlStore
from hadron.store.proton_environments import deployment_arn
from hadron.store.proton_records import Deployment

__all__ = ["HistoryApi", "deployment_result"]

Result = dict[str, Any]
_STATE_FIELDS = ("templateName", "templateMajorVersion", "templateMinorVersion", "spec")
_COMPONENT_FIELDS = ("serviceName", "serviceInstanceName", "serviceSpec", "templateFile")
_COMPONENT = "COMPONENT"


def _state(text: str | None, target_type: str) -> dict[str, Any] | None:
    if text is None:
        return None
    stored = json.loads(text)
    if not stored:
        return None
    if target_type == _COMPONENT:
        return {"component": {k: stored[k] for k in _COMPONENT_FIELDS if stored.get(k)}}
    fields = {k: stored[k] for k in _STATE_FIELDS if stored.get(k) is not None}
    return {"environment": fields}


def _component_attachment(d: Deployment) -> dict[str, Any]:
    """``serviceName``/``serviceInstanceName`` of an attached component's deployment."""
    if d.target_type != _COMPONENT:
        return {}
    state = json.loads(d.target_state or "{}")
    return {k: state[k] for k in ("serviceName", "serviceInstanceName") if state.get(k)}


def deployment_result(d: Deployment, *, summary: bool = False) -> Result:
    out: Result = {
        "id": d.id,
        "arn": deployment_arn(d.region, d.account_id, d.id),
        "targetArn": d.target_arn,
        "targetResourceCreatedAt": d.target_created_at,
        "targetResourceType": d.target_type,
        "environmentName": d.environment_name,
        "deploymentStatus": d.deployment_status,
        "createdAt": d.created_at,
        "lastModifiedAt": d.last_modified_at,
    }
    optional: dict[str, Any] = {
        "componentName": d.component_name,
        **_component_attachment(d),
        "completedAt": d.completed_at,
        "lastAttemptedDeploymentId": d.last_attempted_deployment_id,
        "lastSucceededDeploymentId": d.last_succeeded_deployment_id,
    }
    if not summary:
        optional |= {
            "deploymentStatusMessage": d.deployment_status_message,
            "initialState": _state(d.initial_state, d.target_type),
            "targetState": _state(d.target_state, d.target_type),
        }
    return out | {k: v for k, v in optional.items() if v is not None}


def _missing(deployment_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The deployment {deployment_id} was not found.")


class HistoryApi:
    """Deployment records and the status/outputs callback, bound to a store."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "GetDeployment"): self.get,
            ("proton", "ListDeployments"): self.list,
            ("proton", "DeleteDeployment"): self.delete,
            ("proton", "NotifyResourceDeploymentStatusChange"): self.notify,
        }

    def get(self, call: ProtonCall) -> Result:
        p = call.params
        found = self._store.get_deployment(call.principal.account_id, call.region, p["id"])
        if found is None:
            raise _missing(p["id"])
        env, component = p.get("environmentName"), p.get("componentName")
        # Environment and component deployments exist yet: naming a service never matches.
        if (
            (env is not None and env != found.environment_name)
            or (component is not None and component != found.component_name)
            or any(p.get(k) is not None for k in ("serviceName", "serviceInstanceName"))
        ):
            raise _missing(p["id"])
        return {"deployment": deployment_result(found)}

    def list(self, call: ProtonCall) -> Result:
        p = call.params
        if p.get("serviceInstanceName") is not None and p.get("serviceName") is None:
            raise ValidationError("serviceName: is required when serviceInstanceName is given.")
        env, component = p.get("environmentName"), p.get("componentName")
        scope = f"deployments:{env or ''}" + (f":component:{component}" if component else "")
        after = decode_token(scope, p.get("nextToken"))
        limit = max_results(p)
        if p.get("serviceName") is not None:
            return {"deployments": []}  # no service deployments exist yet
        key = None
        if isinstance(after, list) and len(after) == 2:
            key = (datetime.fromisoformat(str(after[0])), str(after[1]))
        found = self._store.list_deployments(
            call.principal.account_id, call.region, env, key, limit + 1, component_name=component
        )
        page = found[:limit]
        out: Result = {"deployments": [deployment_result(d, summary=True) for d in page]}
        if len(found) > limit:
            last = page[-1]
            out["nextToken"] = encode_token(scope, [last.created_at.isoformat(), last.id])
        return out

    def delete(self, call: ProtonCall) -> Result:
        deleted = self._store.delete_deployment(
            call.principal.account_id, call.region, call.params["id"]
        )
        return {"deployment": deployment_result(deleted)}

    def notify(self, call: ProtonCall) -> Result:
        p = call.params
        arn = p["resourceArn"]
        parsed = parse(arn)
        if (
            parsed is None
            or parsed.region != call.region
            or parsed.resource_type not in ("environment", "component")
            # the build of an environment provisioned through a connection reports from the
            # environment account (hadron.proton.connections.may_notify); a component's from
            # its own account
            or not (
                may_notify(
                    self._store,
                    call.principal.account_id,
                    parsed.account_id,
                    parsed.region,
                    parsed.parts[0],
                )
                if parsed.resource_type == "environment"
                else call.principal.account_id == parsed.account_id
            )
        ):
            raise ResourceNotFoundException(f"The resource {arn} was not found.")
        outputs: list[tuple[str, str]] = []
        for i, item in enumerate(p.get("outputs") or []):
            if item.get("key") is None or item.get("valueString") is None:
                raise ValidationError(f"outputs[{i}]: key and valueString are both required.")
            outputs.append((str(item["key"]), str(item["valueString"])))
        notify = (
            self._store.notify_component
            if parsed.resource_type == "component"
            else self._store.notify_environment
        )
        notify(
            parsed.account_id,
            parsed.region,
            parsed.parts[0],
            status=p.get("status") or "",
            deployment_id=p.get("deploymentId"),
            outputs=outputs,
            message=p.get("statusMessage"),
            now=call.now,
        )
        return {}
