"""Proton GetAccountSettings and UpdateAccountSettings.

Layer: handlers (may use the store). Spec: proton.md §2.14. Settings are per account and region;
an empty role ARN clears it; ``deletePipelineProvisioningRepository`` clears the repository and
cannot be combined with a new one. The repository must be linked (CreateRepository; otherwise
ValidationException naming ``pipelineProvisioningRepository``); a linked repository named here
cannot be deleted while it is set.
"""

from __future__ import annotations

from typing import Any

from hadron.errors import ValidationError
from hadron.proton.params import ProtonCall, ProtonHandler
from hadron.store import SqlStore
from hadron.store.proton_records import ProtonAccountSettings, RepositoryBranch

__all__ = ["AccountSettingsApi"]

Result = dict[str, Any]


def _settings(s: ProtonAccountSettings, account_id: str, region: str) -> Result:
    out: Result = {}
    if s.pipeline_service_role_arn:
        out["pipelineServiceRoleArn"] = s.pipeline_service_role_arn
    if s.pipeline_codebuild_role_arn:
        out["pipelineCodebuildRoleArn"] = s.pipeline_codebuild_role_arn
    if s.repository is not None:
        r = s.repository
        out["pipelineProvisioningRepository"] = {
            "arn": f"arn:aws:proton:{region}:{account_id}:repository/{r.provider.lower()}:{r.name}",
            "provider": r.provider,
            "name": r.name,
            "branch": r.branch,
        }
    return out


class AccountSettingsApi:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        return {
            ("proton", "GetAccountSettings"): self.get_account_settings,
            ("proton", "UpdateAccountSettings"): self.update_account_settings,
        }

    def get_account_settings(self, call: ProtonCall) -> Result:
        account = call.principal.account_id
        found = self._store.get_proton_account_settings(account, call.region)
        return {"accountSettings": _settings(found, account, call.region)}

    def update_account_settings(self, call: ProtonCall) -> Result:
        p = call.params
        account = call.principal.account_id
        repo = p.get("pipelineProvisioningRepository")
        delete = bool(p.get("deletePipelineProvisioningRepository"))
        if delete and repo is not None:
            raise ValidationError(
                "pipelineProvisioningRepository cannot be set when "
                "deletePipelineProvisioningRepository is true."
            )
        updated = self._store.update_proton_account_settings(
            account,
            call.region,
            service_role=p.get("pipelineServiceRoleArn"),
            codebuild_role=p.get("pipelineCodebuildRoleArn"),
            repository=None
            if repo is None
            else RepositoryBranch(repo["provider"], repo["name"], repo["branch"]),
            delete_repository=delete,
        )
        return {"accountSettings": _settings(updated, account, call.region)}
