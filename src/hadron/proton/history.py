"""Deployment history handlers (GetDeployment, ListDeployments, DeleteDeployment) and
NotifyResourceDeploymentStatusChange.

Layer: handlers (may use the store). Spec: proton.md §2.16 (deployments), §3.1 (notify),
§6.2-6.3 (CodeBuild commands report outputs; self-managed automation reports status).
Deployments of environments, service instances, service pipelines and components; notifications
name an environment, a service instance (``service/SVC/service-instance/NAME``), a pipeline
(``service/SVC/pipeline``) or a component. The build of an environment provisioned through an
environment account connection reports from the environment account
(:func:`hadron.proton.connections.may_notify`); everything else from its own account.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from hadron.errors import ResourceNotFoundException, ValidationError
from hadron.proton.arns import parse
from hadron.proton.connections import may_notify
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler
from hadron.store import SqlStore
from hadron.store.proton_deployments import deployment_arn
from hadron.store.proton_records import Deployment

__all__ = ["HistoryApi", "deployment_result"]

Result = dict[str, Any]
_STATE_FIELDS = ("templateName", "templateMajorVersion", "templateMinorVersion", "spec")
_COMPONENT_FIELDS = ("serviceName", "serviceInstanceName", "serviceSpec", "templateFile")
_COMPONENT = "COMPONENT"


_STATE_KEYS = {
    "ENVIRONMENT": "environment",
    "SERVICE_INSTANCE": "serviceInstance",
    "SERVICE_PIPELINE": "servicePipeline",
}
_PIPELINE_ARN = re.compile(
    r"arn:aws:proton:([a-z0-9-]+):(\d{12}):service/([0-9A-Za-z]+[0-9A-Za-z_\-]*)/pipeline"
)


def _state(text: str | None, target_type: str = "ENVIRONMENT") -> dict[str, Any] | None:
    if text is None:
        return None
    stored = json.loads(text)
    if not stored:
        return None
    if target_type == _COMPONENT:
        return {"component": {k: stored[k] for k in _COMPONENT_FIELDS if stored.get(k)}}
    fields = {k: stored[k] for k in _STATE_FIELDS if stored.get(k) is not None}
    if target_type == "SERVICE_INSTANCE":
        fields.setdefault("spec", "")  # required in ServiceInstanceState
    return {_STATE_KEYS.get(target_type, "environment"): fields}


def _attachment(d: Deployment) -> dict[str, Any]:
    """``serviceName``/``serviceInstanceName`` of a deployment: its columns, or for a
    component's, the service instance its target state attaches it to."""
    if d.target_type != _COMPONENT:
        return {"serviceName": d.service_name, "serviceInstanceName": d.service_instance_name}
    state = json.loads(d.target_state or "{}")
    return {k: state.get(k) or None for k in ("serviceName", "serviceInstanceName")}


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
        **_attachment(d),
        "componentName": d.component_name,
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
        named = {
            "environmentName": found.environment_name,
            **_attachment(found),
            "componentName": found.component_name,
        }
        if any(p.get(k) is not None and p[k] != v for k, v in named.items()):
            raise _missing(p["id"])
        return {"deployment": deployment_result(found)}

    def list(self, call: ProtonCall) -> Result:
        p = call.params
        if p.get("serviceInstanceName") is not None and p.get("serviceName") is None:
            raise ValidationError("serviceName: is required when serviceInstanceName is given.")
        env, component = p.get("environmentName"), p.get("componentName")
        service, instance = p.get("serviceName"), p.get("serviceInstanceName")
        scope = f"deployments:{env or ''}:{service or ''}:{instance or ''}:{component or ''}"
        after = decode_token(scope, p.get("nextToken"))
        limit = max_results(p)
        key = None
        if isinstance(after, list) and len(after) == 2:
            key = (datetime.fromisoformat(str(after[0])), str(after[1]))
        found = self._store.list_deployments(
            call.principal.account_id,
            call.region,
            env,
            key,
            limit + 1,
            service_name=service,
            service_instance_name=instance,
            component_name=component,
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

    def _may_notify(self, call: ProtonCall, account: str, target: tuple[str, ...]) -> bool:
        """The resource's own account may report on it; so may, for an environment provisioned
        through an environment account connection and for the service instances in it, the
        connection's environment account (their builds run there, with its role)."""
        caller = call.principal.account_id
        if account == caller:
            return True
        environment = None
        if target[0] == "environment":
            environment = target[1]
        elif target[0] == "service-instance":
            found = self._store.get_service_instance(account, call.region, target[1], target[2])
            environment = None if found is None else found.environment_name
        return environment is not None and may_notify(
            self._store, caller, account, call.region, environment
        )

    def notify(self, call: ProtonCall) -> Result:
        p = call.params
        arn = p["resourceArn"]
        parsed = parse(arn)
        pipeline = _PIPELINE_ARN.fullmatch(arn)
        if pipeline is not None:
            region, account, service = pipeline.groups()
            target: tuple[str, ...] = ("pipeline", service)
        elif parsed is not None and parsed.resource_type in (
            "environment",
            "service-instance",
            "component",
        ):
            region, account = parsed.region, parsed.account_id
            target = (parsed.resource_type, *parsed.parts)
        else:
            region = account = ""
            target = ()
        if not target or region != call.region or not self._may_notify(call, account, target):
            raise ResourceNotFoundException(f"The resource {arn} was not found.")
        outputs: list[tuple[str, str]] = []
        for i, item in enumerate(p.get("outputs") or []):
            if item.get("key") is None or item.get("valueString") is None:
                raise ValidationError(f"outputs[{i}]: key and valueString are both required.")
            outputs.append((str(item["key"]), str(item["valueString"])))
        if target[0] == "component":
            self._store.notify_component(
                account,
                region,
                target[1],
                status=p.get("status") or "",
                deployment_id=p.get("deploymentId"),
                outputs=outputs,
                message=p.get("statusMessage"),
                now=call.now,
            )
            return {}
        if target[0] != "environment":
            self._store.notify_target(
                account,
                region,
                target[1],
                target[2] if len(target) > 2 else None,
                status=p.get("status") or "",
                deployment_id=p.get("deploymentId"),
                outputs=outputs,
                message=p.get("statusMessage"),
                now=call.now,
            )
            return {}
        self._store.notify_environment(
            account,
            region,
            target[1],
            status=p.get("status") or "",
            deployment_id=p.get("deploymentId"),
            outputs=outputs,
            message=p.get("statusMessage"),
            now=call.now,
        )
        return {}
