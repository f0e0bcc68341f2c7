"""Proton service handlers: Create/Get/Update/Delete/ListServices.

Layer: handlers (may use the store). Spec: proton.md §2.6, §5.4. A request is checked
completely (template version, the spec against the version's instance and pipeline input
schemas, every instance's environment, the pipeline's repository fields and account settings,
quotas) before anything is written; the store then writes the service, its instances, its
pipeline and one deployment each in one transaction, and the deployments go to the
provisioning queue (``hadron.proton.provisioner``). The service moves from ``*_IN_PROGRESS`` to
ACTIVE or ``*_FAILED`` when its deployments finish (``hadron.store.proton_service_deployments``).

Choices (UNCONFIRMED, README): instances added by UpdateService use the newest version its
existing instances are on; a kept instance's spec entry is not redeployed (use
UpdateServiceInstance) but its environment cannot change; when instances are added or removed,
the pipeline is redeployed at its current version and spec (after the instance deployments, so
its templates see the new instance list).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from hadron.errors import ServiceQuotaExceededException, ValidationError
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
    schemas,
    state_json,
    version_of,
)
from hadron.proton.service_results import service_result
from hadron.proton.specs import ServiceSpec, parse_service_spec, thaw, validate_inputs
from hadron.store import SqlStore
from hadron.store.proton_records import (
    NewDeployment,
    NewInstance,
    NewPipeline,
    ServiceInstance,
    ServicePipeline,
    TemplateVersion,
)
from hadron.store.proton_service_deployments import service_missing
from hadron.store.proton_templates import template_missing

__all__ = ["ServicesApi"]

Result = dict[str, Any]
_REPOSITORY_FIELDS = ("repositoryConnectionArn", "repositoryId", "branchName")


def _deployment(action: str, engine: str, state: str) -> NewDeployment:
    return NewDeployment(id=str(uuid.uuid4()), action=action, engine=engine, target_state=state)


class ServicesApi:
    """Service handlers bound to a store, the quotas and the provisioning queue."""

    def __init__(self, store: SqlStore, quotas: Quotas, queue: DeploymentQueue) -> None:
        self._store = store
        self._quotas = quotas
        self._queue = queue

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "CreateService"): self.create,
            ("proton", "GetService"): self.get,
            ("proton", "UpdateService"): self.update,
            ("proton", "DeleteService"): self.delete,
            ("proton", "ListServices"): self.list,
        }

    # --- helpers -------------------------------------------------------------------------------

    def _instances(
        self,
        call: ProtonCall,
        spec: ServiceSpec,
        names: set[str] | None,
        version: TemplateVersion,
        engine: str,
    ) -> list[NewInstance]:
        """New instances for the spec's entries (only those in ``names`` when given)."""
        account, region = call.principal.account_id, call.region
        schema = schemas(version).get("service")
        ref = dep.VersionRef(version.ref.major, version.ref.minor)
        out: list[NewInstance] = []
        for index, item in enumerate(spec.instances):
            if names is not None and item.name not in names:
                continue
            field = f"spec.instances[{index}]"
            check_environment(
                store=self._store,
                account=account,
                region=region,
                name=item.environment,
                version=version,
                instance_engine=engine,
                field=f"{field}.environment",
            )
            inputs = thaw(validate_inputs(item.inputs, schema, field=f"{field}.spec"))
            out.append(
                NewInstance(
                    name=item.name,
                    environment_name=item.environment,
                    template_major=ref.major,
                    template_minor=ref.minor,
                    spec=spec.text,
                    inputs=json.dumps(inputs, sort_keys=True),
                    deployment=_deployment(
                        "DEPLOY",
                        engine,
                        state_json(version.ref.template_name, ref, spec.text, inputs),
                    ),
                )
            )
        return out

    def _removal(self, call: ProtonCall, item: ServiceInstance | ServicePipeline) -> NewDeployment:
        """A DELETE deployment of an existing instance or pipeline, with its engine."""
        account, region = call.principal.account_id, call.region
        template = self._store.get_proton_template(account, region, "service", item.template_name)
        version = version_of(
            self._store,
            account,
            region,
            item.template_name,
            dep.VersionRef(item.template_major, item.template_minor),
        )
        found = engines(self._store, version, None if template is None else template.provisioning)
        engine = found.instance if isinstance(item, ServiceInstance) else found.pipeline
        state = state_json(
            item.template_name,
            dep.VersionRef(item.template_major, item.template_minor),
            item.spec,
            json.loads(item.inputs),
        )
        return _deployment("DELETE", engine or "codebuild", state)

    # --- handlers ------------------------------------------------------------------------------

    def create(self, call: ProtonCall) -> Result:
        p = call.params
        account, region = call.principal.account_id, call.region
        template_name = p["templateName"]
        template = self._store.get_proton_template(account, region, "service", template_name)
        if template is None:
            raise template_missing("service", template_name)
        ref = resolve_create(
            self._store,
            account,
            region,
            template_name,
            p["templateMajorVersion"],
            p.get("templateMinorVersion"),
        )
        version = version_of(self._store, account, region, template_name, ref)
        spec = parse_service_spec(p["spec"])
        if len(spec.instances) > self._quotas.instances_per_service:
            raise ServiceQuotaExceededException(
                f"spec.instances: a service can have at most {self._quotas.instances_per_service}"
                f" service instances; the spec lists {len(spec.instances)}."
            )
        found = engines(self._store, version, template.provisioning)
        pipeline = self._pipeline(call, spec, version, found.pipeline)
        instances = self._instances(call, spec, None, version, found.instance)
        values: dict[str, Any] = {
            "account_id": account,
            "region": region,
            "name": p["name"],
            "description": p.get("description"),
            "template_name": template_name,
            "spec": p["spec"],
            "repository_connection_arn": p.get("repositoryConnectionArn"),
            "repository_id": p.get("repositoryId"),
            "branch_name": p.get("branchName"),
            "request_hash": request_hash(p),
        }
        service, created = self._store.create_service(
            values,
            instances,
            pipeline,
            tags=tags(p),
            now=call.now,
            max_services=self._quotas.services,
        )
        if created:
            for item in instances:
                self._queue.submit(item.deployment.id)
            if pipeline is not None:
                self._queue.submit(pipeline.deployment.id)
        return {
            "service": service_result(
                service, self._store.get_service_pipeline(account, region, service.name)
            )
        }

    def _pipeline(
        self, call: ProtonCall, spec: ServiceSpec, version: TemplateVersion, engine: str | None
    ) -> NewPipeline | None:
        p = call.params
        if engine is None:
            given = [f for f in _REPOSITORY_FIELDS if p.get(f) is not None]
            if given:
                raise ValidationError(
                    f"{given[0]}: the service template {version.ref.template_name} has no "
                    "pipeline (pipelineProvisioning CUSTOMER_MANAGED); omit the repository fields."
                )
            if spec.pipeline is not None:
                raise ValidationError(
                    f"spec.pipeline: the service template {version.ref.template_name} has no "
                    "pipeline."
                )
            return None
        for field in _REPOSITORY_FIELDS:
            if not p.get(field):
                raise ValidationError(
                    f"{field}: is required for a service whose template includes a pipeline."
                )
        if spec.pipeline is None:
            raise ValidationError(
                "spec.pipeline: is required for a service whose template includes a pipeline."
            )
        check_pipeline_settings(self._store, call.principal.account_id, call.region, engine)
        inputs = thaw(
            validate_inputs(spec.pipeline, schemas(version).get("pipeline"), field="spec.pipeline")
        )
        ref = dep.VersionRef(version.ref.major, version.ref.minor)
        return NewPipeline(
            template_major=ref.major,
            template_minor=ref.minor,
            spec=spec.text,
            inputs=json.dumps(inputs, sort_keys=True),
            environment_name=spec.instances[0].environment,
            deployment=_deployment(
                "DEPLOY", engine, state_json(version.ref.template_name, ref, spec.text, inputs)
            ),
        )

    def get(self, call: ProtonCall) -> Result:
        account, region, name = call.principal.account_id, call.region, call.params["name"]
        found = self._store.service_view(account, region, name)
        if found is None:
            raise service_missing(name)
        return {"service": service_result(*found)}

    def update(self, call: ProtonCall) -> Result:
        p = call.params
        account, region, name = call.principal.account_id, call.region, p["name"]
        service = self._store.get_service(account, region, name)
        if service is None:
            raise service_missing(name)
        added: list[NewInstance] = []
        removed: dict[str, NewDeployment] = {}
        pipeline_deployment: NewDeployment | None = None
        if p.get("spec") is not None:
            dep.check_service_change(name, dep.ServiceStatus(service.status), "update")
            spec = parse_service_spec(p["spec"])
            current = {i.name: i for i in self._store.service_instances(account, region, name)}
            for index, item in enumerate(spec.instances):
                kept = current.get(item.name)
                if kept is not None and kept.environment_name != item.environment:
                    raise ValidationError(
                        f"spec.instances[{index}].environment: service instance {item.name} is "
                        f"deployed to environment {kept.environment_name}; an instance cannot "
                        "move to another environment."
                    )
            wanted = {i.name for i in spec.instances}
            new_names = wanted - set(current)
            total = len(wanted)
            if total > self._quotas.instances_per_service:
                raise ServiceQuotaExceededException(
                    f"spec.instances: a service can have at most "
                    f"{self._quotas.instances_per_service} service instances; the spec lists "
                    f"{total}."
                )
            if new_names:
                newest = max(current.values(), key=lambda i: (i.template_major, i.template_minor))
                version = version_of(
                    self._store,
                    account,
                    region,
                    service.template_name,
                    dep.VersionRef(newest.template_major, newest.template_minor),
                )
                template = self._store.get_proton_template(
                    account, region, "service", service.template_name
                )
                engine = engines(
                    self._store, version, None if template is None else template.provisioning
                ).instance
                added = self._instances(call, spec, new_names, version, engine)
            for gone in sorted(set(current) - wanted):
                removed[gone] = self._removal(call, current[gone])
            piped = self._store.get_service_pipeline(account, region, name)
            if piped is not None and (added or removed):
                redeploy = self._removal(call, piped)
                pipeline_deployment = NewDeployment(
                    id=redeploy.id,
                    action="DEPLOY",
                    engine=redeploy.engine,
                    target_state=redeploy.target_state,
                )
        updated = self._store.update_service(
            account,
            region,
            name,
            description=p.get("description"),
            spec=p.get("spec"),
            added=added,
            removed=removed,
            now=call.now,
            max_instances=self._quotas.instances_per_service,
            pipeline=pipeline_deployment,
        )
        for new in added:
            self._queue.submit(new.deployment.id)
        for removal in removed.values():
            self._queue.submit(removal.id)
        if pipeline_deployment is not None:
            self._queue.submit(pipeline_deployment.id)
        pipeline = self._store.get_service_pipeline(account, region, name)
        return {"service": service_result(updated, pipeline)}

    def delete(self, call: ProtonCall) -> Result:
        account, region, name = call.principal.account_id, call.region, call.params["name"]
        deployments: dict[str, NewDeployment] = {}
        service = self._store.get_service(account, region, name)
        pipeline = None
        if service is not None and service.status != dep.ServiceStatus.DELETE_IN_PROGRESS:
            for item in self._store.service_instances(account, region, name):
                deployments[item.name] = self._removal(call, item)
            pipeline = self._store.get_service_pipeline(account, region, name)
            if pipeline is not None:
                deployments[""] = self._removal(call, pipeline)
        found = self._store.start_service_delete(account, region, name, deployments, call.now)
        if found is None:
            return {}
        for deployment in deployments.values():
            self._queue.submit(deployment.id)  # an unknown id (a retry) is ignored
        return {
            "service": service_result(
                found, self._store.get_service_pipeline(account, region, name)
            )
        }

    def list(self, call: ProtonCall) -> Result:
        p = call.params
        after = decode_token("services", p.get("nextToken"))
        limit = max_results(p)
        found = self._store.list_services(
            call.principal.account_id,
            call.region,
            after if isinstance(after, str) else None,
            limit + 1,
        )
        page = found[:limit]
        out: Result = {"services": [service_result(s, summary=True) for s in page]}
        if len(found) > limit:
            out["nextToken"] = encode_token("services", page[-1].name)
        return out
