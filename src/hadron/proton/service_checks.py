"""What creating or changing a service, instance or pipeline checks before anything is written.

Layer: handlers (reads the store). Spec: proton.md §2.6-§2.8, §2.14, §5.4. Shared by
``hadron.proton.services`` and ``hadron.proton.service_instances``:

* :func:`resolve_create` / :func:`resolve_target`: the template version a request deploys
  (``deployments.create_version`` / ``target_version``), with ResourceNotFoundException messages
  naming the service template and version.
* :func:`engines`: how a version's instances and pipeline are provisioned (the manifests'
  rendering engine: ``codebuild``, ``cloudformation``, ``terraform``).
* :func:`check_environment`: an instance's environment exists, is deployed, is built from a
  template major the version lists in ``compatibleEnvironmentTemplates``, and (CodeBuild
  provisioning) has the ``codebuildRoleArn`` its instances are provisioned with.
* :func:`check_pipeline_settings`: the account settings the pipeline's engine needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hadron.errors import ResourceNotFoundException, ValidationError
from hadron.proton import deployments as dep
from hadron.proton.connections import build_role
from hadron.proton.manifest import Manifest
from hadron.proton.registration import check_bundle
from hadron.store import SqlStore
from hadron.store.proton_environments import environment_missing
from hadron.store.proton_records import Environment, TemplateVersion, VersionRef
from hadron.store.proton_templates import version_missing

__all__ = [
    "CUSTOMER_MANAGED",
    "Engines",
    "check_environment",
    "check_pipeline_settings",
    "engines",
    "resolve_create",
    "resolve_target",
    "state_json",
    "version_of",
]

CUSTOMER_MANAGED = "CUSTOMER_MANAGED"


@dataclass(frozen=True, slots=True)
class Engines:
    """Provisioning engines of a service template version; ``pipeline`` None without one."""

    instance: str
    pipeline: str | None


def _versions(store: SqlStore, account: str, region: str, template: str) -> list[dep.VersionInfo]:
    return [
        dep.VersionInfo(dep.VersionRef(major, minor), status)
        for major, minor, status in store.version_statuses(account, region, "service", template)
    ]


def _missing(
    template: str, exc: ResourceNotFoundException, major: str, minor: str | None
) -> ResourceNotFoundException:
    if "major version" in exc.message and minor is None:
        return version_missing("service", template, major)
    return version_missing("service", template, major, minor)


def resolve_create(
    store: SqlStore, account: str, region: str, template: str, major: str, minor: str | None
) -> dep.VersionRef:
    """The version a Create* deploys: the given major at the given or recommended minor."""
    if len(major) > 9 or (minor is not None and len(minor) > 9):
        raise version_missing("service", template, major, minor)
    try:
        return dep.create_version(major, minor, _versions(store, account, region, template))
    except ResourceNotFoundException as exc:
        raise _missing(template, exc, major, minor) from None


def resolve_target(
    store: SqlStore,
    account: str,
    region: str,
    template: str,
    kind: dep.DeploymentType,
    current: dep.VersionRef,
    major: str | None,
    minor: str | None,
) -> dep.VersionRef | None:
    """The version an Update* with ``kind`` deploys (None for NONE)."""
    if (major is not None and len(major) > 9) or (minor is not None and len(minor) > 9):
        raise version_missing("service", template, major or "", minor)
    try:
        return dep.target_version(
            kind, current, major, minor, _versions(store, account, region, template)
        )
    except ResourceNotFoundException as exc:
        raise _missing(template, exc, major or str(current.major), minor) from None


def version_of(
    store: SqlStore, account: str, region: str, template: str, version: dep.VersionRef
) -> TemplateVersion:
    ref = VersionRef(account, region, "service", template, version.major, version.minor)
    found = store.get_template_version(ref)
    if found is None:
        raise version_missing("service", template, version.major, version.minor)
    return found


def schemas(version: TemplateVersion) -> dict[str, Any]:
    """The version's input JSON Schemas (``service``, ``pipeline``)."""
    return dict(json.loads(version.input_schemas or "{}"))


def _engine(manifest: Manifest) -> str:
    first = manifest.templates[0]
    if first.rendering_engine == "codebuild":
        return "codebuild"
    return first.template_language or first.rendering_engine


def engines(
    store: SqlStore, version: TemplateVersion, pipeline_provisioning: str | None
) -> Engines:
    customer_managed = pipeline_provisioning == CUSTOMER_MANAGED
    data = store.get_template_bundle(version.ref)
    if data is None:  # pragma: no cover - registered versions keep their bundle
        raise ValidationError(
            f"The service template {version.ref.template_name} version "
            f"{version.ref.major}.{version.ref.minor} has no registered bundle."
        )
    manifests = check_bundle(data, kind="service", customer_managed=customer_managed).manifests
    pipeline = manifests.get("pipeline_infrastructure")
    return Engines(
        instance=_engine(manifests["instance_infrastructure"]),
        pipeline=None if pipeline is None or customer_managed else _engine(pipeline),
    )


def check_environment(
    store: SqlStore,
    account: str,
    region: str,
    name: str,
    version: TemplateVersion,
    instance_engine: str,
    field: str,
) -> Environment:
    """The environment an instance is deployed to, checked (see the module docstring)."""
    env = store.get_environment(account, region, name)
    if env is None:
        raise environment_missing(name)
    if env.last_succeeded_deployment_id is None or env.deployment_status.startswith("DELETE"):
        raise ValidationError(
            f"{field}: the environment {name} is not deployed (deploymentStatus "
            f"{env.deployment_status}); service instances need a successfully deployed "
            "environment."
        )
    compatible = {(t, str(m)) for t, m in version.compatible}
    if (env.template_name, str(env.template_major)) not in compatible:
        listed = ", ".join(f"{t}:{m}" for t, m in sorted(compatible)) or "none"
        raise ValidationError(
            f"{field}: the environment {name} uses environment template "
            f"{env.template_name} major version {env.template_major}, which service template "
            f"{version.ref.template_name} version {version.ref.major}.{version.ref.minor} is "
            f"not compatible with (compatibleEnvironmentTemplates: {listed})."
        )
    if instance_engine == "codebuild" and build_role(store, env).role_arn is None:
        raise ValidationError(
            f"{field}: the environment {name} has no codebuildRoleArn (of its own or of its "
            "environment account connection); instances of a service template that uses "
            "CodeBuild provisioning are provisioned with the environment's CodeBuild role."
        )
    return env


def check_pipeline_settings(store: SqlStore, account: str, region: str, engine: str) -> None:
    settings = store.get_proton_account_settings(account, region)
    if engine == "codebuild" and not settings.pipeline_codebuild_role_arn:
        raise ValidationError(
            "The account settings have no pipelineCodebuildRoleArn; set it with "
            "UpdateAccountSettings before creating a service with a CodeBuild pipeline."
        )
    if engine == "cloudformation" and not settings.pipeline_service_role_arn:
        raise ValidationError(
            "The account settings have no pipelineServiceRoleArn; set it with "
            "UpdateAccountSettings before creating a service with a pipeline."
        )
    if engine == "terraform" and settings.repository is None:
        raise ValidationError(
            "The account settings have no pipelineProvisioningRepository; set it with "
            "UpdateAccountSettings before creating a service with a self-managed pipeline."
        )


def state_json(
    template: str, version: dep.VersionRef, spec: str | None, inputs: Mapping[str, Any] | Any
) -> str:
    """A deployment's target state: the model's state fields plus the validated inputs."""
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
