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
from hadron.store.schema import (
    proton_components,
    proton_environments,
    proton_template_versions,
    proton_templates,
)

__all__ = ["ResourceRows", "SqlProtonSummary"]


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
            services=[],
            service_instances=[],
            pipelines=[],
            components=components,
        )


def _deployed(row: Any) -> Deployed:
    return Deployed(str(row.template), int(row.major), int(row.minor), str(row.status))
