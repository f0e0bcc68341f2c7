"""Proton directly defined component handlers: Create/Get/Update/Delete/ListComponents,
CancelComponentDeployment, ListComponentOutputs, ListComponentProvisionedResources.

Layer: handlers (may use the store). Spec: proton.md §2.9, §2.15, §2.16, §6. A component carries
its own ``manifest`` and single ``templateFile`` inline. The manifest must name CloudFormation
(``rendering_engine: jinja``) or Terraform (``rendering_engine: hcl``): components cannot use
CodeBuild provisioning. A component follows its environment's provisioning method (Terraform in
a self-managed environment, CloudFormation otherwise; UNCONFIRMED as a hard rule), and outside
self-managed environments the environment needs a ``componentRoleArn``.

Every request is checked completely before anything is written; the store writes the component
and its deployment record in one transaction and the deployment goes to the provisioning queue.
CloudFormation and Terraform do not run in Hadron yet, so deployments fail with a message saying
so, and deleting a component completes at once.

Attaching a component (``serviceName`` + ``serviceInstanceName``) looks the instance up through
``SqlStore.component_service_instance`` only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from hadron.errors import ConflictException, ResourceNotFoundException, ValidationError
from hadron.proton import deployments as dep
from hadron.proton.bundle import BundleError
from hadron.proton.environments import DeploymentQueue
from hadron.proton.manifest import parse_manifest
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler, request_hash, tags
from hadron.proton.quotas import Quotas
from hadron.store import SqlStore
from hadron.store.proton_components import component_arn, component_missing, component_state
from hadron.store.proton_environments import environment_missing
from hadron.store.proton_records import Component, ComponentHost, Environment, NewDeployment

__all__ = ["ComponentsApi", "component_engine", "component_result"]

Result = dict[str, Any]


def component_result(c: Component, *, summary: bool = False) -> Result:
    out: Result = {
        "name": c.name,
        "arn": component_arn(c.region, c.account_id, c.name),
        "environmentName": c.environment_name,
        "createdAt": c.created_at,
        "lastModifiedAt": c.last_modified_at,
        "deploymentStatus": c.deployment_status,
    }
    optional: dict[str, Any] = {
        "serviceName": c.service_name,
        "serviceInstanceName": c.service_instance_name,
        "deploymentStatusMessage": c.deployment_status_message,
        "lastDeploymentAttemptedAt": c.last_deployment_attempted_at,
        "lastDeploymentSucceededAt": c.last_deployment_succeeded_at,
        "lastAttemptedDeploymentId": c.last_attempted_deployment_id,
        "lastSucceededDeploymentId": c.last_succeeded_deployment_id,
    }
    if not summary:
        optional |= {
            "description": c.description,
            "serviceSpec": c.service_spec,
            "lastClientRequestToken": c.last_client_request_token,
        }
    return out | {k: v for k, v in optional.items() if v is not None}


def component_engine(manifest: str) -> str:
    """``cloudformation`` or ``terraform``: the engine a component manifest names, or a
    ValidationException naming ``manifest``."""
    try:
        parsed = parse_manifest(manifest.encode(), "manifest")
    except BundleError as exc:
        raise ValidationError(f"manifest: {exc.problem}") from None
    first = parsed.templates[0]
    if first.rendering_engine == "codebuild":
        raise ValidationError(
            "manifest: components cannot use CodeBuild provisioning (rendering_engine codebuild); "
            "use rendering_engine jinja with template_language cloudformation, or rendering_engine "
            "hcl with template_language terraform."
        )
    if len(parsed.templates) != 1:
        raise ValidationError("manifest: a component manifest lists exactly one template file.")
    return str(first.template_language)


def _check_environment(env: Environment, engine: str) -> None:
    """A component follows its environment's provisioning method; outside self-managed
    environments the environment needs a componentRoleArn."""
    self_managed = env.repository is not None
    if self_managed and engine != "terraform":
        raise ValidationError(
            f"manifest: the environment {env.name} uses self-managed (Terraform) provisioning; "
            "its components must use rendering_engine hcl with template_language terraform."
        )
    if not self_managed and engine == "terraform":
        raise ValidationError(
            f"manifest: the environment {env.name} does not use self-managed provisioning; its "
            "components must use rendering_engine jinja with template_language cloudformation."
        )
    if not self_managed and not env.component_role_arn:
        raise ValidationError(
            f"environmentName: the environment {env.name} has no componentRoleArn; set one with "
            "UpdateEnvironment before adding directly defined components to it."
        )


def _instance_missing(service: str, instance: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"The service instance {instance} of service {service} was not found."
    )


def _check_host(host: ComponentHost, service: str, instance: str) -> None:
    if not host.directly_defined:
        raise ValidationError(
            f"serviceInstanceName: the service template version of service instance {instance} "
            f"of service {service} does not list DIRECTLY_DEFINED in supportedComponentSources."
        )
    if dep.is_busy(dep.DeploymentStatus(host.deployment_status)):
        raise ConflictException(
            f"The service instance {instance} of service {service} has a deployment in progress "
            f"(deploymentStatus {host.deployment_status})."
        )


class ComponentsApi:
    """Component handlers bound to a store, the quotas and the provisioning queue."""

    def __init__(self, store: SqlStore, quotas: Quotas, queue: DeploymentQueue) -> None:
        self._store = store
        self._quotas = quotas
        self._queue = queue

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "CreateComponent"): self.create,
            ("proton", "GetComponent"): self.get,
            ("proton", "UpdateComponent"): self.update,
            ("proton", "DeleteComponent"): self.delete,
            ("proton", "ListComponents"): self.list,
            ("proton", "CancelComponentDeployment"): self.cancel,
            ("proton", "ListComponentOutputs"): self.outputs,
            ("proton", "ListComponentProvisionedResources"): self.provisioned_resources,
        }

    # --- helpers -------------------------------------------------------------------------------

    def _found(self, call: ProtonCall, name: str) -> Component:
        found = self._store.get_component(call.principal.account_id, call.region, name)
        if found is None:
            raise component_missing(name)
        return found

    def _environment(self, call: ProtonCall, name: str) -> Environment:
        env = self._store.get_environment(call.principal.account_id, call.region, name)
        if env is None:
            raise environment_missing(name)
        return env

    def _host(self, call: ProtonCall, service: str, instance: str) -> ComponentHost:
        host = self._store.component_service_instance(
            call.principal.account_id, call.region, service, instance
        )
        if host is None:
            raise _instance_missing(service, instance)
        _check_host(host, service, instance)
        return host

    # --- handlers ------------------------------------------------------------------------------

    def create(self, call: ProtonCall) -> Result:
        p = call.params
        account, region = call.principal.account_id, call.region
        engine = component_engine(p["manifest"])
        service, instance = p.get("serviceName") or None, p.get("serviceInstanceName") or None
        if (service is None) != (instance is None):
            raise ValidationError(
                "serviceInstanceName: serviceName and serviceInstanceName must be given together "
                "(an attached component) or not at all (a detached one, with environmentName)."
            )
        env_name = p.get("environmentName")
        if service is not None and instance is not None:
            host = self._host(call, service, instance)
            if env_name is not None and env_name != host.environment_name:
                raise ValidationError(
                    f"environmentName: the service instance {instance} of service {service} "
                    f"runs in environment {host.environment_name}, not {env_name}."
                )
            env_name = host.environment_name
        else:
            if env_name is None:
                raise ValidationError(
                    "environmentName: is required for a component that is not attached to a "
                    "service instance (serviceName and serviceInstanceName)."
                )
            if p.get("serviceSpec") is not None:
                raise ValidationError(
                    "serviceSpec: only a component attached to a service instance has a "
                    "serviceSpec."
                )
        _check_environment(self._environment(call, env_name), engine)
        values: dict[str, Any] = {
            "account_id": account,
            "region": region,
            "name": p["name"],
            "description": p.get("description"),
            "environment_name": env_name,
            "service_name": service,
            "service_instance_name": instance,
            "service_spec": p.get("serviceSpec"),
            "manifest": p["manifest"],
            "template_file": p["templateFile"],
            "engine": engine,
        }
        deployment = NewDeployment(
            id=str(uuid.uuid4()),
            action="DEPLOY",
            engine=engine,
            target_state=component_state(
                service, instance, p.get("serviceSpec"), p["templateFile"]
            ),
        )
        comp, created = self._store.create_component(
            values,
            deployment,
            client_token=p.get("clientToken") or None,
            request_hash=request_hash(p),
            tags=tags(p),
            now=call.now,
            max_components=self._quotas.components,
        )
        if created:
            self._queue.submit(deployment.id)
        return {"component": component_result(comp)}

    def get(self, call: ProtonCall) -> Result:
        return {"component": component_result(self._found(call, call.params["name"]))}

    def _attachment(
        self, call: ProtonCall, comp: Component, params: Mapping[str, Any]
    ) -> tuple[str | None, str | None]:
        """The (service, instance) an UpdateComponent leaves the component attached to: an
        omitted field keeps its value, an empty one detaches."""
        given_service, given_instance = params.get("serviceName"), params.get("serviceInstanceName")
        service = comp.service_name if given_service is None else (given_service or None)
        instance = (
            comp.service_instance_name if given_instance is None else (given_instance or None)
        )
        if (service is None) != (instance is None):
            raise ValidationError(
                "serviceInstanceName: serviceName and serviceInstanceName must both name a service "
                "instance or both be empty (to detach the component)."
            )
        if service is None or instance is None:
            return None, None
        if (service, instance) == (comp.service_name, comp.service_instance_name):
            return service, instance
        if comp.service_name is not None:
            raise ValidationError(
                f"serviceInstanceName: the component {comp.name} is attached to service instance "
                f"{comp.service_instance_name} of service {comp.service_name}; detach it first "
                "(empty serviceName and serviceInstanceName), then attach it to another instance."
            )
        host = self._host(call, service, instance)
        if host.environment_name != comp.environment_name:
            raise ValidationError(
                f"serviceInstanceName: the service instance {instance} of service {service} runs "
                f"in environment {host.environment_name}; the component {comp.name} belongs to "
                f"environment {comp.environment_name}."
            )
        return service, instance

    def _check_instance_idle(self, call: ProtonCall, comp: Component) -> None:
        """An attached component is not updated while its service instance deploys."""
        if comp.service_name is None or comp.service_instance_name is None:
            return
        host = self._store.component_service_instance(
            call.principal.account_id, call.region, comp.service_name, comp.service_instance_name
        )
        if host is not None and dep.is_busy(dep.DeploymentStatus(host.deployment_status)):
            raise ConflictException(
                f"Cannot update component {comp.name}: its service instance "
                f"{comp.service_instance_name} of service {comp.service_name} has a deployment in "
                f"progress (deploymentStatus {host.deployment_status})."
            )

    def update(self, call: ProtonCall) -> Result:
        p = call.params
        name = p["name"]
        account, region = call.principal.account_id, call.region
        comp = self._found(call, name)
        kind = dep.DeploymentType(p["deploymentType"])
        if kind not in (dep.DeploymentType.NONE, dep.DeploymentType.CURRENT_VERSION):
            raise ValidationError(
                f"deploymentType: components have no template version; use NONE (description "
                f"only) or CURRENT_VERSION, not {kind}."
            )
        # The busy check is the store's, after a client-token replay (which answers even while
        # the deployment that request started is running).
        self._check_instance_idle(call, comp)
        changes: dict[str, Any] = {}
        if p.get("description") is not None:
            changes["description"] = p["description"]
        deployment = None
        if kind is dep.DeploymentType.NONE:
            given = [f for f in ("serviceName", "serviceInstanceName", "serviceSpec",
                                 "templateFile") if p.get(f) is not None]  # fmt: skip
            if given:
                raise ValidationError(
                    f"{given[0]}: deploymentType NONE changes only the description; use "
                    "CURRENT_VERSION to change serviceName, serviceInstanceName, serviceSpec or "
                    "templateFile."
                )
        else:
            service, instance = self._attachment(call, comp, p)
            spec = p.get("serviceSpec")
            if service is None:
                if spec:
                    raise ValidationError(
                        "serviceSpec: only a component attached to a service instance has a "
                        "serviceSpec."
                    )
                spec = None
            elif spec is None:
                spec = comp.service_spec
            template_file = p.get("templateFile") or comp.template_file
            _check_environment(self._environment(call, comp.environment_name), comp.engine)
            changes |= {
                "service_name": service,
                "service_instance_name": instance,
                "service_spec": spec or None,
                "template_file": template_file,
            }
            deployment = NewDeployment(
                id=str(uuid.uuid4()),
                action="DEPLOY",
                engine=comp.engine,
                target_state=component_state(service, instance, spec or None, template_file),
            )
        updated, started = self._store.update_component(
            account,
            region,
            name,
            changes=changes,
            deployment=deployment,
            client_token=p.get("clientToken") or None,
            request_hash=request_hash(p),
            now=call.now,
        )
        if deployment is not None and started:
            self._queue.submit(deployment.id)
        return {"component": component_result(updated)}

    def delete(self, call: ProtonCall) -> Result:
        name = call.params["name"]
        account, region = call.principal.account_id, call.region
        comp = self._store.get_component(account, region, name)
        engine, state = "cloudformation", "{}"
        if comp is not None:
            engine = comp.engine
            state = component_state(comp.service_name, comp.service_instance_name,
                                    comp.service_spec, comp.template_file)  # fmt: skip
        deployment = NewDeployment(
            id=str(uuid.uuid4()), action="DELETE", engine=engine, target_state=state
        )
        started = self._store.start_component_delete(account, region, name, deployment, call.now)
        if started is None:
            return {}
        found, new = started
        if new:
            self._queue.submit(deployment.id)
        return {"component": component_result(found)}

    def list(self, call: ProtonCall) -> Result:
        p = call.params
        env, service, instance = (
            p.get("environmentName"),
            p.get("serviceName"),
            p.get("serviceInstanceName"),
        )
        if instance is not None and service is None:
            raise ValidationError("serviceName: is required when serviceInstanceName is given.")
        scope = f"components:{env or ''}:{service or ''}:{instance or ''}"
        after = decode_token(scope, p.get("nextToken"))
        limit = max_results(p)
        found = self._store.list_components(
            call.principal.account_id,
            call.region,
            environment=env,
            service=service,
            instance=instance,
            after=after if isinstance(after, str) else None,
            limit=limit + 1,
        )
        page = found[:limit]
        out: Result = {"components": [component_result(c, summary=True) for c in page]}
        if len(found) > limit:
            out["nextToken"] = encode_token(scope, page[-1].name)
        return out

    def cancel(self, call: ProtonCall) -> Result:
        comp = self._store.cancel_component_deployment(
            call.principal.account_id, call.region, call.params["componentName"], call.now
        )
        if comp.last_attempted_deployment_id is not None:
            self._queue.cancel(comp.last_attempted_deployment_id)
        return {"component": component_result(comp)}

    def outputs(self, call: ProtonCall) -> Result:
        p = call.params
        found = self._store.component_outputs(
            call.principal.account_id, call.region, p["componentName"], p.get("deploymentId")
        )
        return {"outputs": [{"key": k, "valueString": v} for k, v in found]}

    def provisioned_resources(self, call: ProtonCall) -> Result:
        # CloudFormation and Terraform provisioning do not run in Hadron yet: nothing provisioned.
        self._found(call, call.params["componentName"])
        return {"provisionedResources": []}
