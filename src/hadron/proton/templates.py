"""Proton handlers for environment and service templates (Create/Get/Update/Delete/List).

Layer: handlers (may use the store, like ``hadron.iam.api``). Spec: proton.md §1.3
(pagination), §1.4 (idempotent creates and deletes), §2.2, §2.3, §9 (template quota).
One implementation serves both kinds; they differ in the wire names only
(``environmentTemplate``/``provisioning`` vs ``serviceTemplate``/``pipelineProvisioning``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from hadron.proton.arns import TemplateKind, template_arn
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler, request_hash, tags
from hadron.proton.quotas import Quotas
from hadron.store import SqlStore
from hadron.store.proton_records import ProtonTemplate
from hadron.store.proton_templates import template_missing

__all__ = ["TemplatesApi", "template_result"]

Result = dict[str, Any]
_NOUN = {"environment": "Environment", "service": "Service"}
_PROVISIONING = {"environment": "provisioning", "service": "pipelineProvisioning"}


def template_result(t: ProtonTemplate, *, summary: bool = False) -> Result:
    out: Result = {
        "name": t.name,
        "arn": template_arn(t.region, t.account_id, t.kind, t.name),
        "createdAt": t.created_at,
        "lastModifiedAt": t.last_modified_at,
    }
    optional = {
        "displayName": t.display_name,
        "description": t.description,
        _PROVISIONING[t.kind]: t.provisioning,
        "recommendedVersion": t.recommended_version,
    }
    if not summary:
        optional["encryptionKey"] = t.encryption_key
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


class TemplatesApi:
    """Template handlers bound to a store and the quotas."""

    def __init__(self, store: SqlStore, quotas: Quotas) -> None:
        self._store = store
        self._quotas = quotas

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        out: dict[tuple[str, str], ProtonHandler] = {}
        kind: TemplateKind
        for kind in ("environment", "service"):
            noun = f"{_NOUN[kind]}Template"
            out[("proton", f"Create{noun}")] = partial(self.create, kind)
            out[("proton", f"Get{noun}")] = partial(self.get, kind)
            out[("proton", f"Update{noun}")] = partial(self.update, kind)
            out[("proton", f"Delete{noun}")] = partial(self.delete, kind)
            out[("proton", f"List{noun}s")] = partial(self.list, kind)
        return out

    @staticmethod
    def _key(kind: TemplateKind) -> str:
        return f"{kind}Template"

    def create(self, kind: TemplateKind, call: ProtonCall) -> Result:
        p: Mapping[str, Any] = call.params
        created = self._store.create_proton_template(
            call.principal.account_id,
            call.region,
            kind,
            p["name"],
            display_name=p.get("displayName"),
            description=p.get("description"),
            encryption_key=p.get("encryptionKey"),
            provisioning=p.get(_PROVISIONING[kind]),
            tags=tags(p),
            request_hash=request_hash(p),
            now=call.now,
            max_templates=self._quotas.templates,
        )
        return {self._key(kind): template_result(created)}

    def get(self, kind: TemplateKind, call: ProtonCall) -> Result:
        name = call.params["name"]
        found = self._store.get_proton_template(call.principal.account_id, call.region, kind, name)
        if found is None:
            raise template_missing(kind, name)
        return {self._key(kind): template_result(found)}

    def update(self, kind: TemplateKind, call: ProtonCall) -> Result:
        p = call.params
        updated = self._store.update_proton_template(
            call.principal.account_id,
            call.region,
            kind,
            p["name"],
            display_name=p.get("displayName"),
            description=p.get("description"),
            now=call.now,
        )
        return {self._key(kind): template_result(updated)}

    def delete(self, kind: TemplateKind, call: ProtonCall) -> Result:
        deleted = self._store.delete_proton_template(
            call.principal.account_id, call.region, kind, call.params["name"], call.now
        )
        return {} if deleted is None else {self._key(kind): template_result(deleted)}

    def list(self, kind: TemplateKind, call: ProtonCall) -> Result:
        scope = f"{kind}-templates"
        after = decode_token(scope, call.params.get("nextToken"))
        if after is not None and not isinstance(after, str):
            after = None
        limit = max_results(call.params)
        found = self._store.list_proton_templates(
            call.principal.account_id, call.region, kind, after, limit + 1
        )
        out: Result = {"templates": [template_result(t, summary=True) for t in found[:limit]]}
        if len(found) > limit:
            out["nextToken"] = encode_token(scope, found[limit - 1].name)
        return out
