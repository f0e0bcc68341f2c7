"""What GetResourcesSummary counts, read in one transaction.

Layer 3 (store, edge). Spec: proton.md §2.15. Returns plain rows; the counting and the staleness
rules are the pure ``hadron.proton.summary``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from hadron.proton.deployments import VersionInfo, VersionRef
from hadron.proton.summary import Deployed
from hadron.store import transactions
from hadron.store.schema_proton import (
    proton_components,
    proton_environments,
    proton_service_instances,
    proton_service_pipelines,
    proton_services,
    proton_template_versions,
    proton_templates,
)

__all__ = ["ResourceRows", "SqlProtonSummary"]

_NEWEST = 2**31 - 1  # a version no template reaches: "not behind"


@dataclass(frozen=True, slots=True)
class ResourceRows:
    """Everything the summary of one account and region is computed from."""

    templates: dict[str, int]
    environment_versions: dict[str, list[VersionInfo]]
    service_versions: dict[str, list[VersionInfo]]
    environments: list[Deployed]
    services: list[Deployed]
    service_instances: list[Deployed]
    pipelines: list[Deployed]
    components: list[str]


class SqlProtonSummary:
    """Mixed into ``SqlStore``."""

    _engine: Engine

    def resource_rows(self, account_id: str, region: str) -> ResourceRows:
        t, v, e = proton_templates.c, proton_template_versions.c, proton_environments.c
        with transactions.read(self._engine) as conn:
            templates = {
                str(r.kind): int(r.n)
                for r in conn.execute(
                    select(t.kind, func.count().label("n"))
                    .where(t.account_id == account_id, t.region == region)
                    .group_by(t.kind)
                ).all()
            }
            versions: dict[str, dict[str, list[VersionInfo]]] = {
                "environment": defaultdict(list),
                "service": defaultdict(list),
            }
            for r in conn.execute(
                select(v.kind, v.template_name, v.major, v.minor, v.status).where(
                    v.account_id == account_id, v.region == region
                )
            ).all():
                versions[str(r.kind)][str(r.template_name)].append(
                    VersionInfo(VersionRef(int(r.major), int(r.minor)), str(r.status))
                )
            environments = [
                _deployed(r)
                for r in conn.execute(
                    select(
                        e.template_name.label("template"),
                        e.template_major.label("major"),
                        e.template_minor.label("minor"),
                        e.deployment_status.label("status"),
                    ).where(e.account_id == account_id, e.region == region)
                ).all()
            ]
            i, p, s = (
                proton_service_instances.c,
                proton_service_pipelines.c,
                proton_services.c,
            )
            by_service: dict[str, list[Deployed]] = defaultdict(list)
            service_instances: list[Deployed] = []
            for r in conn.execute(
                select(
                    i.service_name,
                    i.template_name.label("template"),
                    i.template_major.label("major"),
                    i.template_minor.label("minor"),
                    i.deployment_status.label("status"),
                ).where(i.account_id == account_id, i.region == region)
            ).all():
                service_instances.append(_deployed(r))
                by_service[str(r.service_name)].append(service_instances[-1])
            pipelines: list[Deployed] = []
            for r in conn.execute(
                select(
                    p.service_name,
                    p.template_name.label("template"),
                    p.template_major.label("major"),
                    p.template_minor.label("minor"),
                    p.deployment_status.label("status"),
                ).where(p.account_id == account_id, p.region == region)
            ).all():
                pipelines.append(_deployed(r))
                by_service[str(r.service_name)].append(pipelines[-1])
            services = [
                _service(str(r.template_name), str(r.status), by_service.get(str(r.name), []))
                for r in conn.execute(
                    select(s.name, s.template_name, s.status).where(
                        s.account_id == account_id, s.region == region
                    )
                ).all()
            ]
            c = proton_components.c
            components = [
                str(status)
                for status in conn.execute(
                    select(c.deployment_status).where(
                        c.account_id == account_id, c.region == region
                    )
                ).scalars()
            ]
        return ResourceRows(
            templates=templates,
            environment_versions=dict(versions["environment"]),
            service_versions=dict(versions["service"]),
            environments=environments,
            services=services,
            service_instances=service_instances,
            pipelines=pipelines,
            components=components,
        )


def _service(template: str, status: str, parts: list[Deployed]) -> Deployed:
    """A service as the summary sees it: its status, and the version of its stalest instance
    or pipeline (the oldest version of its template among them)."""
    if not parts:  # a service always has an instance; none left while it is deleted
        return Deployed(template, _NEWEST, _NEWEST, status)
    oldest = min(parts, key=lambda d: (d.major, d.minor))
    return Deployed(template, oldest.major, oldest.minor, status)


def _deployed(row: Any) -> Deployed:
    return Deployed(str(row.template), int(row.major), int(row.minor), str(row.status))
