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
    "ProtonAccountSettings",
    "ProtonTemplate",
    "RepositoryBranch",
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
