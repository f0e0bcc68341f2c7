"""Proton environment handlers: Create/Get/Update/Delete/ListEnvironments,
CancelEnvironmentDeployment, ListEnvironmentOutputs, ListEnvironmentProvisionedResources.

Layer: handlers (may use the store). Spec: proton.md §2.5, §2.15, §5.4, §6. Every request is
checked completely (template version, spec against the version's environment input schema,
the role/repository rules of the version's provisioning engine) before anything is written;
the store then writes the environment and its deployment record in one transaction and the
deployment is handed to the provisioning queue (``hadron.proton.provisioner``).

Provisioning engine of a version (from its registered bundle): ``codebuild`` (run locally),
``cloudformation`` (AWS-managed) and ``terraform`` (self-managed) are accepted and stored, but
only CodeBuild provisioning runs; the other deployments fail with a message naming the engine.
A CUSTOMER_MANAGED template's environments are "imported": their spec values become their
outputs. An environment may be provisioned in another account through an environment account
connection (``environmentAccountConnectionId``; the rules are in ``hadron.proton.connections``):
it then carries the connection's id, its ``environmentAccountId`` and the connection's
``componentRoleArn``, and takes no role ARNs of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Final, Protocol

from hadron.errors import ResourceNotFoundException, ValidationError
from hadron.proton import deployments as dep
from hadron.proton.connections import check_connection_roles, environment_connection
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler, request_hash, tags, version_part
from hadron.proton.quotas import Quotas
from hadron.proton.registration import check_bundle
from hadron.proton.specs import parse_environment_spec, thaw, validate_inputs
from hadron.store import SqlStore
from hadron.store.proton_environments import environment_arn, environment_missing
from hadron.store.proton_records import (
    Environment,
    EnvironmentAccountConnection,
    NewDeployment,
    VersionRef,
)
from hadron.store.proton_templates import template_missing, version_missing

__all__ = [
    "CUSTOMER_MANAGED",
    "DeploymentQueue",
    "EnvironmentsApi",
    "environment_result",
    "version_engine",
]

Result = dict[str, Any]
CUSTOMER_MANAGED: Final = "CUSTOMER_MANAGED"
_OWN_ROLES = ("protonServiceRoleArn", "codebuildRoleArn", "componentRoleArn")


class DeploymentQueue(Protocol):
    """The provisioning worker, as the handlers see it."""

    def submit(self, deployment_id: str) -> None: ...
    def cancel(self, deployment_id: str) -> None: ...


def _repository_arn(region: str, account_id: str, provider: str, name: str) -> str:
    return f"arn:aws:proton:{region}:{account_id}:repository/{provider.lower()}:{name}"


def environment_result(env: Environment, *, summary: bool = False) -> Result:
    out: Result = {
        "name": env.name,
        "arn": environment_arn(env.region, env.account_id, env.name),
        "templateName": env.template_name,
        "templateMajorVersion": str(env.template_major),
        "templateMinorVersion": str(env.template_minor),
        "deploymentStatus": env.deployment_status,
        "createdAt": env.created_at,
        "lastDeploymentAttemptedAt": env.last_deployment_attempted_at,
        "lastDeploymentSucceededAt": env.last_deployment_succeeded_at,
    }
    optional = {
        "description": env.description,
        "deploymentStatusMessage": env.deployment_status_message,
        "protonServiceRoleArn": env.proton_service_role_arn,
        "componentRoleArn": env.component_role_arn,
        "environmentAccountConnectionId": env.environment_account_connection_id,
        "environmentAccountId": env.environment_account_id,
        "provisioning": env.provisioning,
        "lastAttemptedDeploymentId": env.last_attempted_deployment_id,
        "lastSucceededDeploymentId": env.last_succeeded_deployment_id,
    }
    if not summary:
        optional["codebuildRoleArn"] = env.codebuild_role_arn
        optional["spec"] = env.spec
    out |= {k: v for k, v in optional.items() if v is not None}
    if not summary and env.repository is not None:
        r = env.repository
        out["provisioningRepository"] = {
            "arn": _repository_arn(env.region, env.account_id, r.provider, r.name),
            "provider": r.provider,
            "name": r.name,
            "branch": r.branch,
        }
    return out


def version_engine(store: SqlStore, ref: VersionRef, provisioning: str | None) -> str:
    """How a version's environments are provisioned: the manifest's rendering engine
    (``codebuild``, ``cloudformation``, ``terraform``) or CUSTOMER_MANAGED."""
    if provisioning == CUSTOMER_MANAGED:
        return CUSTOMER_MANAGED
    data = store.get_template_bundle(ref)
    if data is None:  # pragma: no cover - registered versions keep their bundle
        raise ValidationError(
            f"The environment template {ref.template_name} version {ref.major}.{ref.minor} has "
            "no registered bundle."
        )
    first = check_bundle(data, kind="environment").manifests["infrastructure"].templates[0]
    if first.rendering_engine == "codebuild":
        return "codebuild"
    return first.template_language or first.rendering_engine  # cloudformation | terraform


def _check_roles(engine: str, values: Mapping[str, Any]) -> None:
    """The role/repository rules of proton.md §2.5 for the version's engine."""
    repo = values.get("repository_provider") is not None
    if engine == "terraform":
        if not repo:
            raise ValidationError(
                "provisioningRepository: is required for an environment template version that "
                "uses self-managed (terraform) provisioning."
            )
        if values.get("proton_service_role_arn"):
            raise ValidationError(
                "protonServiceRoleArn: must not be given for an environment that uses "
                "self-managed provisioning."
            )
        return
    if repo:
        raise ValidationError(
            "provisioningRepository: can only be given for an environment template version "
            "that uses self-managed (terraform) provisioning."
        )
    if engine == "codebuild" and not values.get("codebuild_role_arn"):
        raise ValidationError(
            "codebuildRoleArn: is required for an environment template version that uses "
            "CodeBuild provisioning."
        )
    if engine == "cloudformation" and not values.get("proton_service_role_arn"):
        raise ValidationError(
            "protonServiceRoleArn: is required for an environment template version that uses "
            "AWS-managed (CloudFormation) provisioning."
        )


def _no_own_roles(params: Mapping[str, Any], why: str) -> None:
    """An environment provisioned through a connection uses the connection's roles."""
    for field in _OWN_ROLES:
        if params.get(field):
            raise ValidationError(
                f"{field}: cannot be given {why}; the environment account connection's roles "
                "are used (set them with UpdateEnvironmentAccountConnection)."
            )


def _state(template: str, version: dep.VersionRef, spec: str | None, inputs: Any) -> str:
    return json.dumps(
        {
            "templateName": template,
            "templateMajorVersion": str(version.major),
            "templateMinorVersion": str(version.minor),
            "spec": spec,
            "inputs": inputs,
        },
        sort_keys=True,
    )


class EnvironmentsApi:
    """Environment handlers bound to a store, the quotas and the provisioning queue."""

    def __init__(self, store: SqlStore, quotas: Quotas, queue: DeploymentQueue) -> None:
        self._store = store
        self._quotas = quotas
        self._queue = queue

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "CreateEnvironment"): self.create,
            ("proton", "GetEnvironment"): self.get,
            ("proton", "UpdateEnvironment"): self.update,
            ("proton", "DeleteEnvironment"): self.delete,
            ("proton", "ListEnvironments"): self.list,
            ("proton", "CancelEnvironmentDeployment"): self.cancel,
            ("proton", "ListEnvironmentOutputs"): self.outputs,
            ("proton", "ListEnvironmentProvisionedResources"): self.provisioned_resources,
        }

    # --- helpers -------------------------------------------------------------------------------

    def _versions(self, call: ProtonCall, template: str) -> list[dep.VersionInfo]:
        return [
            dep.VersionInfo(dep.VersionRef(major, minor), status)
            for major, minor, status in self._store.version_statuses(
                call.principal.account_id, call.region, "environment", template
            )
        ]

    def _schema(self, ref: VersionRef) -> Mapping[str, Any] | None:
        version = self._store.get_template_version(ref)
        if version is None or version.input_schemas is None:
            raise version_missing("environment", ref.template_name, ref.major, ref.minor)
        schema: Mapping[str, Any] | None = json.loads(version.input_schemas).get("environment")
        return schema

    def _found(self, call: ProtonCall, name: str) -> Environment:
        env = self._store.get_environment(call.principal.account_id, call.region, name)
        if env is None:
            raise environment_missing(name)
        return env

    def _repository(self, call: ProtonCall, params: Mapping[str, Any]) -> dict[str, Any]:
        """The columns of a ``provisioningRepository``, which must be a linked repository."""
        repo = params.get("provisioningRepository")
        if repo is None:
            return {}
        account, region = call.principal.account_id, call.region
        if not self._store.proton_repository_linked(
            account, region, repo["provider"], repo["name"]
        ):
            raise ValidationError(
                f"provisioningRepository: the {repo['provider']} repository {repo['name']} is not "
                "linked to AWS Proton; link it with CreateRepository first."
            )
        return {
            "repository_provider": repo["provider"],
            "repository_name": repo["name"],
            "repository_branch": repo["branch"],
        }

    def _update_connection(
        self, call: ProtonCall, env: Environment
    ) -> EnvironmentAccountConnection | None:
        """The connection an update provisions through: a new one given (which must connect the
        same environment account), else the environment's current one (None if deleted)."""
        p = call.params
        given = p.get("environmentAccountConnectionId")
        current = env.environment_account_connection_id
        if current is None:
            if given:
                raise ValidationError(
                    f"environmentAccountConnectionId: the environment {env.name} was not created "
                    "with an environment account connection, so it cannot be moved onto one."
                )
            return None
        _no_own_roles(p, f"for environment {env.name}, which uses an environment account "
                         "connection")  # fmt: skip
        if given:
            return environment_connection(self._store, call, env.name, given, env)
        return self._store.get_connection(current)

    @staticmethod
    def _check_update_roles(
        engine: str,
        env: Environment,
        connection: EnvironmentAccountConnection | None,
        merged: Mapping[str, Any],
    ) -> None:
        if env.environment_account_connection_id is None:
            _check_roles(engine, merged)
        elif connection is not None:  # a deleted connection fails the deployment instead
            check_connection_roles(engine, connection)

    @staticmethod
    def _not_found_version(template: str, exc: ResourceNotFoundException, major: str,
                           minor: str | None) -> ResourceNotFoundException:  # fmt: skip
        if "major version" in exc.message and minor is None:
            return version_missing("environment", template, major)
        return version_missing("environment", template, major, minor)

    # --- handlers ------------------------------------------------------------------------------

    def create(self, call: ProtonCall) -> Result:
        p = call.params
        account, region = call.principal.account_id, call.region
        template_name = p["templateName"]
        connection = None
        if p.get("environmentAccountConnectionId"):
            _no_own_roles(p, "with environmentAccountConnectionId")
            connection = environment_connection(
                self._store, call, p["name"], p["environmentAccountConnectionId"]
            )
        template = self._store.get_proton_template(account, region, "environment", template_name)
        if template is None:
            raise template_missing("environment", template_name)
        major, minor = p["templateMajorVersion"], p.get("templateMinorVersion")
        if len(major) > 9 or (minor is not None and len(minor) > 9):
            raise version_missing("environment", template_name, major, minor)
        try:
            version = dep.create_version(major, minor, self._versions(call, template_name))
        except ResourceNotFoundException as exc:
            raise self._not_found_version(template_name, exc, major, minor) from None
        ref = VersionRef(account, region, "environment", template_name, version.major,
                         version.minor)  # fmt: skip
        spec = parse_environment_spec(p["spec"])
        inputs = validate_inputs(spec.inputs, self._schema(ref))
        values: dict[str, Any] = {
            "account_id": account,
            "region": region,
            "name": p["name"],
            "description": p.get("description"),
            "template_name": template_name,
            "template_major": version.major,
            "template_minor": version.minor,
            "spec": p["spec"],
            "inputs": json.dumps(thaw(inputs), sort_keys=True),
            "proton_service_role_arn": p.get("protonServiceRoleArn"),
            "codebuild_role_arn": p.get("codebuildRoleArn"),
            "component_role_arn": p.get("componentRoleArn"),
            "environment_account_connection_id": None,
            "provisioning": None,
            **self._repository(call, p),
            "request_hash": request_hash(p),
        }
        engine = version_engine(self._store, ref, template.provisioning)
        if connection is None:
            _check_roles(engine, values)
        else:
            if values.get("repository_provider") is not None:
                raise ValidationError(
                    "provisioningRepository: cannot be given with environmentAccountConnectionId."
                )
            check_connection_roles(engine, connection)
            values |= {
                "environment_account_connection_id": connection.id,
                "environment_account_id": connection.account_id,
                "component_role_arn": connection.component_role_arn,
            }
        if engine == CUSTOMER_MANAGED:
            values["provisioning"] = CUSTOMER_MANAGED
        deployment = NewDeployment(
            id=str(uuid.uuid4()),
            action="DEPLOY",
            engine=engine,
            target_state=_state(template_name, version, p["spec"], thaw(inputs)),
        )
        env, created = self._store.create_environment(
            values,
            deployment,
            tags=tags(p),
            now=call.now,
            max_environments=self._quotas.environments,
        )
        if created:
            self._queue.submit(deployment.id)
        return {"environment": environment_result(env)}

    def get(self, call: ProtonCall) -> Result:
        return {"environment": environment_result(self._found(call, call.params["name"]))}

    def update(self, call: ProtonCall) -> Result:
        p = call.params
        name = p["name"]
        env = self._found(call, name)
        connection = self._update_connection(call, env)
        kind = dep.DeploymentType(p["deploymentType"])
        dep.check_update(dep.ResourceKind.ENVIRONMENT, name, dep.DeploymentStatus(
            env.deployment_status))  # fmt: skip
        current = dep.VersionRef(env.template_major, env.template_minor)
        major, minor = p.get("templateMajorVersion"), p.get("templateMinorVersion")
        if (major is not None and len(major) > 9) or (minor is not None and len(minor) > 9):
            raise version_missing("environment", env.template_name, major or "", minor)
        try:
            target = dep.target_version(
                kind, current, major, minor, self._versions(call, env.template_name)
            )
        except ResourceNotFoundException as exc:
            raise self._not_found_version(
                env.template_name, exc, major or str(current.major), minor
            ) from None
        changes: dict[str, Any] = {}
        for field, column in (
            ("description", "description"),
            ("protonServiceRoleArn", "proton_service_role_arn"),
            ("codebuildRoleArn", "codebuild_role_arn"),
            ("componentRoleArn", "component_role_arn"),
        ):
            if p.get(field) is not None:
                changes[column] = p[field]
        changes |= self._repository(call, p)
        if connection is not None and p.get("environmentAccountConnectionId"):
            changes |= {
                "environment_account_connection_id": connection.id,
                "component_role_arn": connection.component_role_arn,
            }
        account, region = call.principal.account_id, call.region
        template = self._store.get_proton_template(account, region, "environment",
                                                   env.template_name)  # fmt: skip
        if template is None:  # pragma: no cover - a template with versions in use stays
            raise template_missing("environment", env.template_name)
        merged = {
            "proton_service_role_arn": env.proton_service_role_arn,
            "codebuild_role_arn": env.codebuild_role_arn,
            "repository_provider": None if env.repository is None else env.repository.provider,
            **changes,
        }
        deployment = None
        if target is None:
            if p.get("spec") is not None:
                raise ValidationError(
                    "spec: the spec can only be changed by a deployment; use a deploymentType "
                    "other than NONE."
                )
            ref = VersionRef(account, region, "environment", env.template_name, current.major,
                             current.minor)  # fmt: skip
            self._check_update_roles(
                version_engine(self._store, ref, template.provisioning), env, connection, merged
            )
        else:
            ref = VersionRef(account, region, "environment", env.template_name, target.major,
                             target.minor)  # fmt: skip
            spec_text = p.get("spec") or env.spec or ""
            spec = parse_environment_spec(spec_text)
            inputs = validate_inputs(spec.inputs, self._schema(ref), current=json.loads(env.inputs))
            engine = version_engine(self._store, ref, template.provisioning)
            self._check_update_roles(engine, env, connection, merged)
            changes |= {
                "template_major": target.major,
                "template_minor": target.minor,
                "spec": spec_text,
                "inputs": json.dumps(thaw(inputs), sort_keys=True),
            }
            deployment = NewDeployment(
                id=str(uuid.uuid4()),
                action="DEPLOY",
                engine=engine,
                target_state=_state(env.template_name, target, spec_text, thaw(inputs)),
            )
        updated = self._store.update_environment(
            account, region, name, changes=changes, deployment=deployment, now=call.now
        )
        if deployment is not None:
            self._queue.submit(deployment.id)
        return {"environment": environment_result(updated)}

    def delete(self, call: ProtonCall) -> Result:
        name = call.params["name"]
        account, region = call.principal.account_id, call.region
        env = self._store.get_environment(account, region, name)
        engine = CUSTOMER_MANAGED
        target_state = "{}"
        if env is not None:
            template = self._store.get_proton_template(account, region, "environment",
                                                       env.template_name)  # fmt: skip
            ref = VersionRef(account, region, "environment", env.template_name,
                             env.template_major, env.template_minor)  # fmt: skip
            engine = version_engine(
                self._store, ref, None if template is None else template.provisioning
            )
            target_state = _state(
                env.template_name,
                dep.VersionRef(env.template_major, env.template_minor),
                env.spec,
                json.loads(env.inputs),
            )
        deployment = NewDeployment(
            id=str(uuid.uuid4()), action="DELETE", engine=engine, target_state=target_state
        )
        started = self._store.start_environment_delete(account, region, name, deployment,
                                                       call.now)  # fmt: skip
        if started is None:
            return {}
        found, new = started
        if new:
            self._queue.submit(deployment.id)
        return {"environment": environment_result(found)}

    def list(self, call: ProtonCall) -> Result:
        p = call.params
        filters = p.get("environmentTemplates")
        templates = None
        if filters is not None:
            templates = [
                (
                    str(f["templateName"]),
                    version_part(
                        f["majorVersion"],
                        version_missing("environment", f["templateName"], f["majorVersion"]),
                    ),
                )
                for f in filters
            ]
        scope = "environments:" + json.dumps(templates, separators=(",", ":"))
        after = decode_token(scope, p.get("nextToken"))
        limit = max_results(p)
        found = self._store.list_environments(
            call.principal.account_id,
            call.region,
            templates,
            after if isinstance(after, str) else None,
            limit + 1,
        )
        page = found[:limit]
        out: Result = {"environments": [environment_result(e, summary=True) for e in page]}
        if len(found) > limit:
            out["nextToken"] = encode_token(scope, page[-1].name)
        return out

    def cancel(self, call: ProtonCall) -> Result:
        name = call.params["environmentName"]
        env = self._store.cancel_environment_deployment(
            call.principal.account_id, call.region, name, call.now
        )
        if env.last_attempted_deployment_id is not None:
            self._queue.cancel(env.last_attempted_deployment_id)
        return {"environment": environment_result(env)}

    def outputs(self, call: ProtonCall) -> Result:
        p = call.params
        found = self._store.outputs(
            call.principal.account_id, call.region, p["environmentName"], p.get("deploymentId")
        )
        return {"outputs": [{"key": k, "valueString": v} for k, v in found]}

    def provisioned_resources(self, call: ProtonCall) -> Result:
        # CodeBuild-style provisioning runs commands; it provisions nothing Hadron could name as
        # a CloudFormation stack or Terraform resource (the only ProvisionedResourceEngine
        # values), and the other engines do not run yet.
        self._found(call, call.params["environmentName"])
        return {"provisionedResources": []}
