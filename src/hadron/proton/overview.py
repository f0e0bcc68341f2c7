"""Proton GetResourcesSummary: counts of the account's Proton resources in a region.

Layer: handlers (may use the store). Spec: proton.md §2.15; the rules are in
``hadron.proton.summary``.
"""

from __future__ import annotations

from typing import Any

from hadron.proton.params import ProtonCall, ProtonHandler
from hadron.proton.summary import counts_summary
from hadron.store import SqlStore

__all__ = ["OverviewApi"]


class OverviewApi:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {("proton", "GetResourcesSummary"): self.get_resources_summary}

    def get_resources_summary(self, call: ProtonCall) -> dict[str, Any]:
        rows = self._store.resource_rows(call.principal.account_id, call.region)
        return {
            "counts": counts_summary(
                templates=rows.templates,
                environments=rows.environments,
                services=rows.services,
                service_instances=rows.service_instances,
                pipelines=rows.pipelines,
                components=rows.components,
                environment_versions=rows.environment_versions,
                service_versions=rows.service_versions,
            )
        }
