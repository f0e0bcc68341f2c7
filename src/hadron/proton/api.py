"""All Proton handlers of this slice, as one ``call_handlers`` mapping for the gateway.

Layer: handlers. ``hadron.cli`` builds one :class:`ProtonApi` and passes
``ProtonApi.call_handlers()`` to the gateway; operations not listed here still answer 501.
"""

from __future__ import annotations

from typing import Protocol

from hadron.proton.account import AccountSettingsApi
from hadron.proton.components import ComponentsApi
from hadron.proton.connections import ConnectionsApi
from hadron.proton.environments import DeploymentQueue, EnvironmentsApi
from hadron.proton.history import HistoryApi
from hadron.proton.overview import OverviewApi
from hadron.proton.params import ProtonHandler
from hadron.proton.quotas import Quotas
from hadron.proton.repositories import RepositoriesApi
from hadron.proton.service_instances import ServiceInstancesApi
from hadron.proton.services import ServicesApi
from hadron.proton.sync import SyncApi
from hadron.proton.tagging import TaggingApi
from hadron.proton.templates import TemplatesApi
from hadron.proton.versions import RegistrationQueue, VersionsApi
from hadron.store import SqlStore

__all__ = ["ProtonApi"]


class _Part(Protocol):
    """One group of handlers (templates, environments, ...)."""

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]: ...


class ProtonApi:
    def __init__(
        self,
        store: SqlStore,
        registrar: RegistrationQueue,
        quotas: Quotas | None = None,
        deployments: DeploymentQueue | None = None,
    ) -> None:
        quotas = quotas or Quotas()
        self._parts: tuple[_Part, ...] = (
            TemplatesApi(store, quotas),
            VersionsApi(store, quotas, registrar),
            TaggingApi(store),
            AccountSettingsApi(store),
            RepositoriesApi(store),
            SyncApi(store),
            OverviewApi(store),
            ConnectionsApi(store, quotas),
        )
        if deployments is not None:  # environments need the provisioning worker
            self._parts += (
                EnvironmentsApi(store, quotas, deployments),
                ComponentsApi(store, quotas, deployments),
                HistoryApi(store),
                ServicesApi(store, quotas, deployments),
                ServiceInstancesApi(store, quotas, deployments),
            )

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        out: dict[tuple[str, str], ProtonHandler] = {}
        for part in self._parts:
            out |= part.call_handlers()
        return out
