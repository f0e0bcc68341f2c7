"""Proton service instance and service pipeline handlers.

Layer: handlers (may use the store). Spec: proton.md §2.7, §2.8, §2.15. Operations:
CreateServiceInstance, GetServiceInstance, UpdateServiceInstance, ListServiceInstances,
CancelServiceInstanceDeployment, ListServiceInstanceOutputs,
ListServiceInstanceProvisionedResources, UpdateServicePipeline, CancelServicePipelineDeployment,
ListServicePipelineOutputs, ListServicePipelineProvisionedResources.

Updates take the four ``deploymentType`` modes as environments do (``deployments.target_version``);
MAJOR_VERSION (and every deployment) re-checks that the instance's environment is compatible
with the target version. A spec given to an instance operation may be a ServiceSpec (the entry
named like the instance is used) or a plain input map (proton.md §2.7, UNCONFIRMED);
``${Proton::CURRENT_VAL}`` keeps a current value. UpdateServicePipeline with deploymentType NONE
changes nothing (its spec is required by the model but only a deployment can apply it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hadron.errors import ResourceNotFoundException, ValidationError
from hadron.proton import deployments as dep
from hadron.proton.environments import DeploymentQueue
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler, request_hash, tags
from hadron.proton.quotas import Quotas
from hadron.proton.service_checks import (
    check_environment,
    check_pipeline_settings,
    engines,
    resolve_create,
    resolve_target,
    schemas,
    state_json,
    version_of,
)
from hadron.proton.service_results import instance_result, pipeline_result
from hadron.proton.specs import instance_inputs, parse_service_spec, thaw, validate_inputs
from hadron.store import SqlStore
from hadron.store.proton_records import NewDeployment, NewInstance, ServiceInstance
from hadron.store.proton_service_deployments import (
    instance_missing,
    pipeline_missing,
    service_missing,
)
from hadron.store.proton_templates import template_missing

__all__ = ["ServiceInstancesApi"]

Result = dict[str, Any]
_SORT_KEYS: Mapping[str, Callable[[ServiceInstance], Any]] = {
    "name": lambda i: i.name,
    "deploymentStatus": lambda i: i.deployment_status,
    "templateName": lambda i: i.template_name,
    "serviceName": lambda i: i.service_name,
    "environmentName": lambda i: i.environment_name,
    "lastDeploymentAttemptedAt": lambda i: i.last_deployment_attempted_at,
    "createdAt": lambda i: i.created_at,
}
_VERSION_STATUSES = ("UP_TO_DATE", "BEHIND_MINOR", "BEHIND_MAJOR")


def _when(value: str, key: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"filters: the {key} value {value!r} is not a date like 1985-04-12T23:20:50.52Z"
        ) from None


def _version_status(i: ServiceInstance, versions: Sequence[tuple[int, int, str]]) -> str:
    published = [(major, minor) for major, minor, status in versions if status == "PUBLISHED"]
    if any(major > i.template_major for major, _ in published):
        return "BEHIND_MAJOR"
    if any(major == i.template_major and minor > i.template_minor for major, minor in published):
        return "BEHIND_MINOR"
    return "UP_TO_DATE"


class ServiceInstancesApi:
    """Instance and pipeline handlers bound to a store, the quotas and the provisioning queue."""

    def __init__(self, store: SqlStore, quotas: Quotas, queue: DeploymentQueue) -> None:
        self._store = store
        self._quotas = quotas
        self._queue = queue

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "CreateServiceInstance"): self.create,
            ("proton", "GetServiceInstance"): self.get,
            ("proton", "UpdateServiceInstance"): self.update,
            ("proton", "ListServiceInstances"): self.list,
            ("proton", "CancelServiceInstanceDeployment"): self.cancel,
            ("proton", "ListServiceInstanceOutputs"): self.outputs,
            ("proton", "ListServiceInstanceProvisionedResources"): self.provisioned_resources,
            ("proton", "UpdateServicePipeline"): self.update_pipeline,
            ("proton", "CancelServicePipelineDeployment"): self.cancel_pipeline,
            ("proton", "ListServicePipelineOutputs"): self.pipeline_outputs,
            ("proton", "ListServicePipelineProvisionedResources"): self.pipeline_resources,
        }

    # --- helpers -------------------------------------------------------------------------------

    def _service(self, call: ProtonCall, name: str) -> None:
        if self._store.get_service(call.principal.account_id, call.region, name) is None:
            raise service_missing(name)

    def _instance(self, call: ProtonCall, service: str, name: str) -> ServiceInstance:
        found = self._store.get_service_instance(
            call.principal.account_id, call.region, service, name
        )
        if found is None:
            self._service(call, service)
            raise instance_missing(service, name)
        return found

    def _provisioning(self, call: ProtonCall, template: str) -> str | None:
        found = self._store.get_proton_template(
            call.principal.account_id, call.region, "service", template
        )
        if found is None:  # pragma: no cover - a template with versions in use stays
            raise template_missing("service", template)
        return found.provisioning

    # --- instances -----------------------------------------------------------------------------

    def create(self, call: ProtonCall) -> Result:
        p = call.params
        account, region = call.principal.account_id, call.region
        service_name, name = p["serviceName"], p["name"]
        service = self._store.get_service(account, region, service_name)
        if service is None:
            raise service_missing(service_name)
        raw = p["spec"]
        parsed = parse_service_spec(raw, require_instances=False) if "proton:" in raw else None
        entry = None if parsed is None else parsed.instance(name)
        if entry is None:
            raise ValidationError(
                f"spec: must be a ServiceSpec whose instances list names {name} with its "
                "environment."
            )
        major = p.get("templateMajorVersion")
        if major is None:
            existing = self._store.service_instances(account, region, service_name)
            newest = max(existing, key=lambda i: (i.template_major, i.template_minor), default=None)
            if newest is not None:
                major = str(newest.template_major)
            else:
                versions = self._store.version_statuses(
                    account, region, "service", service.template_name
                )
                majors = [m for m, _, s in versions if s == "PUBLISHED"]
                major = str(max(majors, default=1))
        ref = resolve_create(
            self._store,
            account,
            region,
            service.template_name,
            major,
            p.get("templateMinorVersion"),
        )
        version = version_of(self._store, account, region, service.template_name, ref)
        engine = engines(self._store, version, self._provisioning(call, service.template_name))
        check_environment(
            self._store,
            account,
            region,
            entry.environment,
            version,
            engine.instance,
            "spec.instances.environment",
        )
        inputs = thaw(
            validate_inputs(entry.inputs, schemas(version).get("service"), field="spec.spec")
        )
        item = NewInstance(
            name=name,
            environment_name=entry.environment,
            template_major=ref.major,
            template_minor=ref.minor,
            spec=raw,
            inputs=json.dumps(inputs, sort_keys=True),
            deployment=NewDeployment(
                id=str(uuid.uuid4()),
                action="DEPLOY",
                engine=engine.instance,
                target_state=state_json(service.template_name, ref, raw, inputs),
            ),
        )
        token = p.get("clientToken")
        found, added = self._store.add_service_instance(
            account,
            region,
            service_name,
            item,
            tags=tags(p),
            client_token=token,
            now=call.now,
            max_instances=self._quotas.instances_per_service,
        )
        if added:
            self._queue.submit(item.deployment.id)
        return {"serviceInstance": instance_result(found)}

    def get(self, call: ProtonCall) -> Result:
        p = call.params
        return {
            "serviceInstance": instance_result(self._instance(call, p["serviceName"], p["name"]))
        }

    def update(self, call: ProtonCall) -> Result:
        p = call.params
        account, region = call.principal.account_id, call.region
        service, name = p["serviceName"], p["name"]
        instance = self._instance(call, service, name)
        kind = dep.DeploymentType(p["deploymentType"])
        dep.check_update(
            dep.ResourceKind.SERVICE_INSTANCE,
            name,
            dep.DeploymentStatus(instance.deployment_status),
        )
        current = dep.VersionRef(instance.template_major, instance.template_minor)
        target = resolve_target(
            self._store,
            account,
            region,
            instance.template_name,
            kind,
            current,
            p.get("templateMajorVersion"),
            p.get("templateMinorVersion"),
        )
        changes: dict[str, Any] = {}
        if p.get("clientToken") is not None:
            changes["last_client_request_token"] = p["clientToken"]
        deployment = None
        if target is None:
            if p.get("spec") is not None:
                raise ValidationError(
                    "spec: the spec can only be changed by a deployment; use a deploymentType "
                    "other than NONE."
                )
        else:
            version = version_of(self._store, account, region, instance.template_name, target)
            engine = engines(self._store, version, self._provisioning(call, instance.template_name))
            check_environment(
                self._store,
                account,
                region,
                instance.environment_name,
                version,
                engine.instance,
                "serviceInstance.environmentName",
            )
            text = p.get("spec") or instance.spec
            inputs = thaw(
                validate_inputs(
                    instance_inputs(text, name),
                    schemas(version).get("service"),
                    field="spec",
                    current=json.loads(instance.inputs),
                )
            )
            changes |= {
                "template_major": target.major,
                "template_minor": target.minor,
                "spec": text,
                "inputs": json.dumps(inputs, sort_keys=True),
            }
            deployment = NewDeployment(
                id=str(uuid.uuid4()),
                action="DEPLOY",
                engine=engine.instance,
                target_state=state_json(instance.template_name, target, text, inputs),
            )
        updated = self._store.update_service_instance(
            account, region, service, name, changes=changes, deployment=deployment, now=call.now
        )
        if deployment is not None:
            self._queue.submit(deployment.id)
        return {"serviceInstance": instance_result(updated)}

    def list(self, call: ProtonCall) -> Result:
        p = call.params
        account, region = call.principal.account_id, call.region
        service = p.get("serviceName")
        if service is not None:
            self._service(call, service)
        found = self._store.service_instances(account, region, service)
        versions: dict[str, list[tuple[int, int, str]]] = {}
        wanted: dict[str, list[str]] = {}
        for item in p.get("filters") or []:
            wanted.setdefault(str(item["key"]), []).append(str(item["value"]))
        for key, values in wanted.items():
            if key == "deployedTemplateVersionStatus":
                for v in values:
                    if v not in _VERSION_STATUSES:
                        raise ValidationError(
                            f"filters: deployedTemplateVersionStatus must be one of "
                            f"{', '.join(_VERSION_STATUSES)}, got {v!r}."
                        )
                for i in found:
                    if i.template_name not in versions:
                        versions[i.template_name] = self._store.version_statuses(
                            account, region, "service", i.template_name
                        )
                found = [
                    i for i in found if _version_status(i, versions[i.template_name]) in values
                ]
            elif key in _SORT_KEYS and key not in ("lastDeploymentAttemptedAt", "createdAt"):
                found = [i for i in found if _SORT_KEYS[key](i) in values]
            elif key.endswith(("Before", "After")):
                attr = key.removesuffix("Before").removesuffix("After")
                if attr not in ("lastDeploymentAttemptedAt", "createdAt"):
                    raise ValidationError(f"filters: unknown filter key {key}.")
                bounds = [_when(v, key) for v in values]
                pick = _SORT_KEYS[attr]
                if key.endswith("Before"):
                    found = [i for i in found if all(pick(i) < b for b in bounds)]
                else:
                    found = [i for i in found if all(pick(i) > b for b in bounds)]
            else:
                raise ValidationError(f"filters: unknown filter key {key}.")
        sort_by = p.get("sortBy")
        if sort_by is not None:
            key_of = _SORT_KEYS[str(sort_by)]
            found.sort(
                key=lambda i: (key_of(i), i.service_name, i.name),
                reverse=p.get("sortOrder") == "DESCENDING",
            )
        elif p.get("sortOrder") == "DESCENDING":
            found.reverse()
        scope = "service-instances:" + request_hash(p, ("nextToken", "maxResults"))[:16]
        after = decode_token(scope, p.get("nextToken"))
        start = after if isinstance(after, int) else 0
        limit = max_results(p)
        page = found[start : start + limit]
        out: Result = {"serviceInstances": [instance_result(i, summary=True) for i in page]}
        if start + limit < len(found):
            out["nextToken"] = encode_token(scope, start + limit)
        return out

    def cancel(self, call: ProtonCall) -> Result:
        p = call.params
        service, name = p["serviceName"], p["serviceInstanceName"]
        self._instance(call, service, name)
        found = self._store.cancel_target_deployment(
            call.principal.account_id, call.region, service, name, call.now
        )
        if found.last_attempted_deployment_id is not None:
            self._queue.cancel(found.last_attempted_deployment_id)
        assert isinstance(found, ServiceInstance)  # noqa: S101 - asked for an instance
        return {"serviceInstance": instance_result(found)}

    def outputs(self, call: ProtonCall) -> Result:
        p = call.params
        found = self._store.target_outputs(
            call.principal.account_id,
            call.region,
            p["serviceName"],
            p["serviceInstanceName"],
            p.get("deploymentId"),
        )
        return {"outputs": [{"key": k, "valueString": v} for k, v in found]}

    def provisioned_resources(self, call: ProtonCall) -> Result:
        # As for environments: CodeBuild provisioning names no CloudFormation stack or
        # Terraform resource, and the other engines do not run yet.
        p = call.params
        self._instance(call, p["serviceName"], p["serviceInstanceName"])
        return {"provisionedResources": []}

    # --- pipeline ------------------------------------------------------------------------------

    def _pipeline_missing(self, call: ProtonCall, service: str) -> ResourceNotFoundException:
        self._service(call, service)
        return pipeline_missing(service)

    def update_pipeline(self, call: ProtonCall) -> Result:
        p = call.params
        account, region, service = call.principal.account_id, call.region, p["serviceName"]
        pipeline = self._store.get_service_pipeline(account, region, service)
        if pipeline is None:
            raise self._pipeline_missing(call, service)
        kind = dep.DeploymentType(p["deploymentType"])
        dep.check_update(
            dep.ResourceKind.SERVICE_PIPELINE,
            service,
            dep.DeploymentStatus(pipeline.deployment_status),
        )
        current = dep.VersionRef(pipeline.template_major, pipeline.template_minor)
        target = resolve_target(
            self._store,
            account,
            region,
            pipeline.template_name,
            kind,
            current,
            p.get("templateMajorVersion"),
            p.get("templateMinorVersion"),
        )
        deployment = None
        changes: dict[str, Any] = {}
        if target is not None:
            version = version_of(self._store, account, region, pipeline.template_name, target)
            engine = engines(
                self._store, version, self._provisioning(call, pipeline.template_name)
            ).pipeline
            if engine is None:
                raise ValidationError(
                    f"The service template {pipeline.template_name} version {target} has no "
                    "pipeline."
                )
            check_pipeline_settings(self._store, account, region, engine)
            spec = parse_service_spec(p["spec"], require_instances=False)
            inputs = thaw(
                validate_inputs(
                    spec.pipeline or {},
                    schemas(version).get("pipeline"),
                    field="spec.pipeline",
                    current=json.loads(pipeline.inputs),
                )
            )
            changes = {
                "template_major": target.major,
                "template_minor": target.minor,
                "spec": p["spec"],
                "inputs": json.dumps(inputs, sort_keys=True),
            }
            deployment = NewDeployment(
                id=str(uuid.uuid4()),
                action="DEPLOY",
                engine=engine,
                target_state=state_json(pipeline.template_name, target, p["spec"], inputs),
            )
        updated = self._store.update_service_pipeline(
            account, region, service, changes=changes, deployment=deployment, now=call.now
        )
        if deployment is not None:
            self._queue.submit(deployment.id)
        return {"pipeline": pipeline_result(updated)}

    def cancel_pipeline(self, call: ProtonCall) -> Result:
        account, region, service = (
            call.principal.account_id,
            call.region,
            call.params["serviceName"],
        )
        if self._store.get_service_pipeline(account, region, service) is None:
            raise self._pipeline_missing(call, service)
        found = self._store.cancel_target_deployment(account, region, service, None, call.now)
        if found.last_attempted_deployment_id is not None:
            self._queue.cancel(found.last_attempted_deployment_id)
        assert not isinstance(found, ServiceInstance)  # noqa: S101 - asked for the pipeline
        return {"pipeline": pipeline_result(found)}

    def pipeline_outputs(self, call: ProtonCall) -> Result:
        p = call.params
        found = self._store.target_outputs(
            call.principal.account_id, call.region, p["serviceName"], None, p.get("deploymentId")
        )
        return {"outputs": [{"key": k, "valueString": v} for k, v in found]}

    def pipeline_resources(self, call: ProtonCall) -> Result:
        account, region, service = (
            call.principal.account_id,
            call.region,
            call.params["serviceName"],
        )
        if self._store.get_service_pipeline(account, region, service) is None:
            raise self._pipeline_missing(call, service)
        return {"provisionedResources": []}
