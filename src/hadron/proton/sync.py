"""Proton template and service sync configurations, their status operations and sync blockers.

Layer: handlers (may use the store). Spec: proton.md §2.11, §2.12. The Git sync engines are a
later slice: these operations validate and store the configurations, and the status operations
say that syncing is not running:

* ``GetTemplateSyncStatus`` / ``GetServiceInstanceSyncStatus`` answer with no ``latestSync``,
  ``latestSuccessfulSync`` or ``desiredState`` (no attempt has run; the desired revision would be
  the branch head's commit, which nothing has read).
* ``GetRepositorySyncStatus`` for a branch that sync configurations read answers a
  ``latestSync`` with status ``QUEUED`` since the first configuration was stored, and one event
  of type ``SYNC_NOT_RUNNING`` whose text says so; for a branch nothing reads, no ``latestSync``.
* ``ListRepositorySyncDefinitions`` is derived from the stored configurations.

Service sync operations need the service to exist (``ResourceNotFoundException`` "The service
NAME was not found."), ``GetServiceInstanceSyncStatus`` also the instance;
``UpdateServiceSyncBlocker`` answers ResourceNotFoundException for every id (no blocker can exist
without a sync). Deleting a service deletes its sync configuration.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, Final

from hadron.errors import ResourceNotFoundException
from hadron.proton.arns import TemplateKind
from hadron.proton.params import ProtonCall, ProtonHandler
from hadron.store import SqlStore
from hadron.store.proton_repositories import (
    ServiceSyncConfig,
    TemplateSyncConfig,
    repository_missing,
)
from hadron.store.proton_service_deployments import instance_missing

__all__ = ["NOT_RUNNING", "SyncApi"]

Result = dict[str, Any]

_KINDS: Final[dict[str, TemplateKind]] = {"ENVIRONMENT": "environment", "SERVICE": "service"}
NOT_RUNNING: Final = (
    "Syncing is not running: this Hadron server has no Git sync engine yet. The sync "
    "configurations are stored, and nothing is read from the repository."
)


def _template_sync(c: TemplateSyncConfig) -> Result:
    out: Result = {
        "templateName": c.template_name,
        "templateType": c.kind.upper(),
        "repositoryProvider": c.repository_provider,
        "repositoryName": c.repository_name,
        "branch": c.branch,
    }
    if c.subdirectory is not None:
        out["subdirectory"] = c.subdirectory
    return out


def _service_sync(c: ServiceSyncConfig) -> Result:
    return {
        "serviceName": c.service_name,
        "repositoryProvider": c.repository_provider,
        "repositoryName": c.repository_name,
        "branch": c.branch,
        "filePath": c.file_path,
    }


def _queued(since: datetime) -> Result:
    return {
        "startedAt": since,
        "status": "QUEUED",
        "events": [{"type": "SYNC_NOT_RUNNING", "event": NOT_RUNNING, "time": since}],
    }


class SyncApi:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "CreateTemplateSyncConfig"): self.create_template_sync_config,
            ("proton", "GetTemplateSyncConfig"): self.get_template_sync_config,
            ("proton", "UpdateTemplateSyncConfig"): self.update_template_sync_config,
            ("proton", "DeleteTemplateSyncConfig"): self.delete_template_sync_config,
            ("proton", "GetTemplateSyncStatus"): self.get_template_sync_status,
            ("proton", "GetRepositorySyncStatus"): self.get_repository_sync_status,
            ("proton", "ListRepositorySyncDefinitions"): self.list_repository_sync_definitions,
            ("proton", "CreateServiceSyncConfig"): partial(self.put_service_sync, create=True),
            ("proton", "UpdateServiceSyncConfig"): partial(self.put_service_sync, create=False),
            ("proton", "GetServiceSyncConfig"): self.get_service_sync_config,
            ("proton", "DeleteServiceSyncConfig"): self.delete_service_sync_config,
            ("proton", "GetServiceInstanceSyncStatus"): self.get_service_instance_sync_status,
            ("proton", "GetServiceSyncBlockerSummary"): self.get_service_sync_blocker_summary,
            ("proton", "UpdateServiceSyncBlocker"): self.update_service_sync_blocker,
        }

    # --- template sync ----------------------------------------------------------------------------

    def _put_template_sync(self, call: ProtonCall, *, create: bool) -> Result:
        p = call.params
        put = (
            self._store.create_template_sync_config
            if create
            else self._store.update_template_sync_config
        )
        done = put(
            call.principal.account_id,
            call.region,
            _KINDS[p["templateType"]],
            p["templateName"],
            repository_provider=p["repositoryProvider"],
            repository_name=p["repositoryName"],
            branch=p["branch"],
            subdirectory=p.get("subdirectory"),
            now=call.now,
        )
        return {"templateSyncConfig": _template_sync(done)}

    def create_template_sync_config(self, call: ProtonCall) -> Result:
        return self._put_template_sync(call, create=True)

    def update_template_sync_config(self, call: ProtonCall) -> Result:
        return self._put_template_sync(call, create=False)

    def get_template_sync_config(self, call: ProtonCall) -> Result:
        p = call.params
        found = self._store.get_template_sync_config(
            call.principal.account_id, call.region, _KINDS[p["templateType"]], p["templateName"]
        )
        return {"templateSyncConfig": _template_sync(found)}

    def delete_template_sync_config(self, call: ProtonCall) -> Result:
        p = call.params
        deleted = self._store.delete_template_sync_config(
            call.principal.account_id,
            call.region,
            _KINDS[p["templateType"]],
            p["templateName"],
            call.now,
        )
        return {} if deleted is None else {"templateSyncConfig": _template_sync(deleted)}

    def get_template_sync_status(self, call: ProtonCall) -> Result:
        p = call.params
        # The template and its configuration must exist; no attempt has run (see module doc).
        self._store.get_template_sync_config(
            call.principal.account_id, call.region, _KINDS[p["templateType"]], p["templateName"]
        )
        return {}

    def get_repository_sync_status(self, call: ProtonCall) -> Result:
        p = call.params
        account, provider, name = (
            call.principal.account_id,
            p["repositoryProvider"],
            p["repositoryName"],
        )
        if not self._store.proton_repository_linked(account, call.region, provider, name):
            raise repository_missing(provider, name)
        since = [c.created_at for c in self._configs(call) if c.branch == p["branch"]]
        return {"latestSync": _queued(min(since))} if since else {}

    def _configs(self, call: ProtonCall) -> list[TemplateSyncConfig] | list[ServiceSyncConfig]:
        p = call.params
        args = (
            call.principal.account_id,
            call.region,
            p["repositoryProvider"],
            p["repositoryName"],
        )
        if p["syncType"] == "TEMPLATE_SYNC":
            return self._store.template_sync_configs_for(*args)
        return self._store.service_sync_configs_for(*args)

    def list_repository_sync_definitions(self, call: ProtonCall) -> Result:
        definitions: list[Result] = []
        for c in self._configs(call):
            if isinstance(c, TemplateSyncConfig):
                target, directory = c.template_name, c.subdirectory or "/"
            else:
                target, directory = c.service_name, c.file_path
            definitions.append(
                {"target": target, "parent": target, "branch": c.branch, "directory": directory}
            )
        return {"syncDefinitions": definitions}

    # --- service sync -----------------------------------------------------------------------------

    def put_service_sync(self, call: ProtonCall, *, create: bool) -> Result:
        p = call.params
        done = self._store.put_service_sync_config(
            call.principal.account_id,
            call.region,
            p["serviceName"],
            repository_provider=p["repositoryProvider"],
            repository_name=p["repositoryName"],
            branch=p["branch"],
            file_path=p["filePath"],
            create=create,
            now=call.now,
        )
        return {"serviceSyncConfig": _service_sync(done)}

    def get_service_sync_config(self, call: ProtonCall) -> Result:
        name = call.params["serviceName"]
        found = self._store.service_sync_config(call.principal.account_id, call.region, name)
        if found is None:
            raise ResourceNotFoundException(
                f"The service {name} has no service sync configuration."
            )
        return {"serviceSyncConfig": _service_sync(found)}

    def delete_service_sync_config(self, call: ProtonCall) -> Result:
        deleted = self._store.delete_service_sync_config(
            call.principal.account_id, call.region, call.params["serviceName"]
        )
        return {"serviceSyncConfig": _service_sync(deleted)}

    def get_service_instance_sync_status(self, call: ProtonCall) -> Result:
        # The service and instance must exist; no attempt has run.
        p = call.params
        account, region = call.principal.account_id, call.region
        self._store.service_sync_config(account, region, p["serviceName"])
        name = p["serviceInstanceName"]
        if self._store.get_service_instance(account, region, p["serviceName"], name) is None:
            raise instance_missing(p["serviceName"], name)
        return {}

    def get_service_sync_blocker_summary(self, call: ProtonCall) -> Result:
        p = call.params
        self._store.service_sync_config(call.principal.account_id, call.region, p["serviceName"])
        out: Result = {"serviceName": p["serviceName"], "latestBlockers": []}
        if p.get("serviceInstanceName") is not None:
            out["serviceInstanceName"] = p["serviceInstanceName"]
        return {"serviceSyncBlockerSummary": out}

    def update_service_sync_blocker(self, call: ProtonCall) -> Result:
        raise ResourceNotFoundException(
            f"The service sync blocker {call.params['id']} was not found."
        )
