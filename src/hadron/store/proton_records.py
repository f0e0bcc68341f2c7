"""Frozen values the Proton part of the store returns: templates, template versions, account
settings.

Layer 3 (store). Handlers build ARNs and wire dicts from these (``hadron.proton``); they never
see SQLAlchemy rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hadron.proton.arns import TemplateKind

__all__ = [
    "IDEMPOTENCY_WINDOW",
    "Component",
    "ComponentHost",
    "Deployment",
    "Environment",
    "EnvironmentAccountConnection",
    "NewDeployment",
    "NewInstance",
    "NewPipeline",
    "ProtonAccountSettings",
    "ProtonTemplate",
    "RepositoryBranch",
    "Service",
    "ServiceInstance",
    "ServicePipeline",
    "TemplateVersion",
    "VersionRef",
]

IDEMPOTENCY_WINDOW: Final = timedelta(hours=8)
"""How long a clientToken, and a deleted name for idempotent deletes, is remembered (§1.4)."""


@dataclass(frozen=True, slots=True)
class ProtonTemplate:
    account_id: str
    region: str
    kind: TemplateKind
    name: str
    display_name: str | None
    description: str | None
    encryption_key: str | None
    # ``provisioning`` of an environment template, ``pipelineProvisioning`` of a service one.
    provisioning: str | None
    created_at: datetime
    last_modified_at: datetime
    recommended_version: str | None


@dataclass(frozen=True, slots=True)
class VersionRef:
    """Names one template version."""

    account_id: str
    region: str
    kind: TemplateKind
    template_name: str
    major: int
    minor: int


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    ref: VersionRef
    status: str
    status_message: str | None
    description: str | None
    schema: str | None
    input_schemas: str | None
    source_bucket: str
    source_key: str
    compatible: tuple[tuple[str, str], ...]
    component_sources: tuple[str, ...] | None
    created_at: datetime
    last_modified_at: datetime
    recommended_minor: int | None


@dataclass(frozen=True, slots=True)
class RepositoryBranch:
    provider: str
    name: str
    branch: str


@dataclass(frozen=True, slots=True)
class ProtonAccountSettings:
    pipeline_service_role_arn: str | None = None
    pipeline_codebuild_role_arn: str | None = None
    repository: RepositoryBranch | None = None


@dataclass(frozen=True, slots=True)
class Environment:
    """A Proton environment (proton.md §2.5) as stored. ``inputs`` is JSON text (the validated
    inputs with defaults); the template version is the one last deployed or being deployed."""

    account_id: str
    region: str
    name: str
    description: str | None
    template_name: str
    template_major: int
    template_minor: int
    spec: str | None
    inputs: str
    deployment_status: str
    deployment_status_message: str | None
    proton_service_role_arn: str | None
    codebuild_role_arn: str | None
    component_role_arn: str | None
    environment_account_connection_id: str | None
    provisioning: str | None
    repository: RepositoryBranch | None
    created_at: datetime
    last_modified_at: datetime
    last_deployment_attempted_at: datetime
    last_deployment_succeeded_at: datetime
    last_attempted_deployment_id: str | None
    last_succeeded_deployment_id: str | None
    #: Set when the environment is provisioned through an environment account connection.
    environment_account_id: str | None = None


@dataclass(frozen=True, slots=True)
class EnvironmentAccountConnection:
    """An environment account connection (proton.md §2.13). ``account_id`` is the environment
    account (which created it and owns its ARN)."""

    id: str
    account_id: str
    region: str
    management_account_id: str
    environment_name: str
    role_arn: str | None
    component_role_arn: str | None
    codebuild_role_arn: str | None
    status: str
    requested_at: datetime
    last_modified_at: datetime


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment record (proton.md §2.16). ``action`` is DEPLOY or DELETE; ``engine`` the
    provisioning engine; the states are JSON text of the model's ``EnvironmentState`` plus the
    validated ``inputs`` (kept to revert a cancelled deployment)."""

    id: str
    account_id: str
    region: str
    target_type: str
    target_arn: str
    target_created_at: datetime
    environment_name: str
    action: str
    engine: str
    deployment_status: str
    deployment_status_message: str | None
    initial_state: str | None
    target_state: str
    created_at: datetime
    last_modified_at: datetime
    completed_at: datetime | None
    last_attempted_deployment_id: str | None
    last_succeeded_deployment_id: str | None
    component_name: str | None = None
    service_name: str | None = None
    service_instance_name: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """A Proton service (proton.md §2.6) as stored; ``status`` is the aggregate ServiceStatus."""

    account_id: str
    region: str
    name: str
    description: str | None
    template_name: str
    spec: str
    status: str
    status_message: str | None
    repository_connection_arn: str | None
    repository_id: str | None
    branch_name: str | None
    created_at: datetime
    last_modified_at: datetime


@dataclass(frozen=True, slots=True)
class ServiceInstance:
    """A service instance (proton.md §2.7); ``inputs`` is JSON text (validated, with defaults)."""

    account_id: str
    region: str
    service_name: str
    name: str
    environment_name: str
    template_name: str
    template_major: int
    template_minor: int
    spec: str
    inputs: str
    deployment_status: str
    deployment_status_message: str | None
    last_client_request_token: str | None
    created_at: datetime
    last_modified_at: datetime
    last_deployment_attempted_at: datetime
    last_deployment_succeeded_at: datetime
    last_attempted_deployment_id: str | None
    last_succeeded_deployment_id: str | None


@dataclass(frozen=True, slots=True)
class ServicePipeline:
    """A service's pipeline (proton.md §2.8); ``inputs`` is JSON text."""

    account_id: str
    region: str
    service_name: str
    template_name: str
    template_major: int
    template_minor: int
    spec: str
    inputs: str
    deployment_status: str
    deployment_status_message: str | None
    created_at: datetime
    last_modified_at: datetime
    last_deployment_attempted_at: datetime
    last_deployment_succeeded_at: datetime
    last_attempted_deployment_id: str | None
    last_succeeded_deployment_id: str | None


@dataclass(frozen=True, slots=True)
class NewDeployment:
    """What a create/update/delete starts: the record's id, action, engine and target state."""

    id: str
    action: str
    engine: str
    target_state: str


@dataclass(frozen=True, slots=True)
class Component:
    """A directly defined component (proton.md §2.9) as stored. ``engine`` is cloudformation or
    terraform (from its manifest); detached when ``service_name`` is None."""

    account_id: str
    region: str
    name: str
    description: str | None
    environment_name: str
    service_name: str | None
    service_instance_name: str | None
    service_spec: str | None
    manifest: str
    template_file: str
    engine: str
    deployment_status: str
    deployment_status_message: str | None
    last_client_request_token: str | None
    created_at: datetime
    last_modified_at: datetime
    last_deployment_attempted_at: datetime | None
    last_deployment_succeeded_at: datetime | None
    last_attempted_deployment_id: str | None
    last_succeeded_deployment_id: str | None


@dataclass(frozen=True, slots=True)
class ComponentHost:
    """What attaching a component needs to know of a service instance: its environment, whether
    its service template version lists DIRECTLY_DEFINED in ``supportedComponentSources``, and its
    ``deploymentStatus``."""

    environment_name: str
    directly_defined: bool
    deployment_status: str


@dataclass(frozen=True, slots=True)
class NewInstance:
    """A service instance a create/update of its service adds, with its first deployment."""

    name: str
    environment_name: str
    template_major: int
    template_minor: int
    spec: str
    inputs: str
    deployment: NewDeployment


@dataclass(frozen=True, slots=True)
class NewPipeline:
    """A service's pipeline and its first deployment; ``environment_name`` goes on its
    deployment records (the model requires one; UNCONFIRMED: the first instance's)."""

    template_major: int
    template_minor: int
    spec: str
    inputs: str
    environment_name: str
    deployment: NewDeployment
