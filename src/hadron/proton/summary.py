"""GetResourcesSummary's counts, and how stale a deployed resource is.

Layer 4 (pure). Spec: proton.md §2.15 and the model's documentation of GetResourcesSummary: "A
resource is stale when it's behind the recommended version of the Proton template that it uses".

* The recommended version of a template is its highest PUBLISHED major's highest PUBLISHED
  minor (proton.md §2.4). A resource deployed to an older major is ``BEHIND_MAJOR``; on the
  recommended major (or a newer, unpublished one) but below that major's highest published minor,
  ``BEHIND_MINOR``; otherwise ``UP_TO_DATE``. A resource on a major other than the recommended one
  is also compared with its own major's recommended minor only when it is not behind the major.
  A template with no published version recommends nothing: its resources are up to date.
* The model documents which members each count carries: ``environmentTemplates`` and
  ``serviceTemplates`` only ``total``; ``components`` ``total`` and ``failed``; the
  infrastructure resources (services, service instances, pipelines) every member. For
  ``environments`` the member documentation says "only total" while the operation's
  documentation says environments return staleness counts (UNCONFIRMED; we follow the member
  documentation, which the operation's own text defers to: "Components, environments, and
  service templates return less information").
* Failed: a deployment status of FAILED or DELETE_FAILED; for services, any status naming a
  failure (CREATE_FAILED*, UPDATE_FAILED*, UPDATE_COMPLETE_CLEANUP_FAILED, DELETE_FAILED).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hadron.proton.deployments import VersionInfo, VersionRef, recommended_minor

__all__ = [
    "Deployed",
    "Staleness",
    "counts_summary",
    "recommended_version",
    "resource_counts",
    "staleness",
]


class Staleness(StrEnum):
    """The values of ListServiceInstances' ``deployedTemplateVersionStatus`` filter."""

    UP_TO_DATE = "UP_TO_DATE"
    BEHIND_MINOR = "BEHIND_MINOR"
    BEHIND_MAJOR = "BEHIND_MAJOR"


@dataclass(frozen=True, slots=True)
class Deployed:
    """One provisioned resource as the summary sees it: its template version and status."""

    template: str
    major: int
    minor: int
    status: str


def recommended_version(versions: Sequence[VersionInfo]) -> VersionRef | None:
    """The template's recommended version: its highest published major's highest minor."""
    published = [v.ref for v in versions if v.status == "PUBLISHED"]
    return max(published, default=None)


def staleness(major: int, minor: int, versions: Sequence[VersionInfo]) -> Staleness:
    """How far a resource on ``major.minor`` is behind its template's recommended version."""
    recommended = recommended_version(versions)
    if recommended is None:
        return Staleness.UP_TO_DATE
    if major < recommended.major:
        return Staleness.BEHIND_MAJOR
    own = recommended_minor(major, versions)
    if own is not None and minor < own.minor:
        return Staleness.BEHIND_MINOR
    return Staleness.UP_TO_DATE


def _failed(status: str) -> bool:
    return "FAILED" in status


def resource_counts(
    resources: Iterable[Deployed],
    versions: Mapping[str, Sequence[VersionInfo]],
    *,
    detail: str,
) -> dict[str, int]:
    """A ``ResourceCountsSummary``. ``detail``: ``total``, ``failed`` (total and failed) or
    ``staleness`` (every member). ``versions``: each template's versions, by template name."""
    items = list(resources)
    out = {"total": len(items)}
    if detail == "total":
        return out
    out["failed"] = sum(1 for r in items if _failed(r.status))
    if detail == "failed":
        return out
    tally = dict.fromkeys(Staleness, 0)
    known: dict[tuple[str, int, int], Staleness] = {}  # resources share a few versions
    for r in items:
        key = (r.template, r.major, r.minor)
        found = known.get(key)
        if found is None:
            found = known[key] = staleness(r.major, r.minor, versions.get(r.template, ()))
        tally[found] += 1
    out |= {
        "upToDate": tally[Staleness.UP_TO_DATE],
        "behindMajor": tally[Staleness.BEHIND_MAJOR],
        "behindMinor": tally[Staleness.BEHIND_MINOR],
    }
    return out


def counts_summary(
    *,
    templates: Mapping[str, int],
    environments: Iterable[Deployed],
    services: Iterable[Deployed] = (),
    service_instances: Iterable[Deployed] = (),
    pipelines: Iterable[Deployed] = (),
    components: Iterable[str] = (),
    environment_versions: Mapping[str, Sequence[VersionInfo]],
    service_versions: Mapping[str, Sequence[VersionInfo]],
) -> dict[str, Any]:
    """The ``CountsSummary`` of an account and region. ``templates``: count per kind
    (``environment``, ``service``); ``components``: each component's deployment status."""
    component_list = list(components)
    return {
        "environmentTemplates": {"total": templates.get("environment", 0)},
        "serviceTemplates": {"total": templates.get("service", 0)},
        "environments": resource_counts(environments, environment_versions, detail="total"),
        "services": resource_counts(services, service_versions, detail="staleness"),
        "serviceInstances": resource_counts(
            service_instances, service_versions, detail="staleness"
        ),
        "pipelines": resource_counts(pipelines, service_versions, detail="staleness"),
        "components": {
            "total": len(component_list),
            "failed": sum(1 for s in component_list if _failed(s)),
        },
    }
