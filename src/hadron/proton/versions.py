"""Proton handlers for environment and service template versions.

Layer: handlers (may use the store). Spec: proton.md §1.4 (clientToken), §2.4 (numbering,
statuses, recommended versions, deletion rules), §3.1 (listing), §9 (versions per template).
Create answers ``REGISTRATION_IN_PROGRESS`` and hands the version to the registration queue
(``hadron.proton.registrar``), which fetches and checks the bundle and sets ``DRAFT`` or
``REGISTRATION_FAILED``. Callers may only publish a ``DRAFT`` (UpdateXTemplateVersion
``status=PUBLISHED``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Protocol

from hadron.proton.arns import TemplateKind, template_arn, version_arn
from hadron.proton.paging import decode_token, encode_token, max_results
from hadron.proton.params import ProtonCall, ProtonHandler, request_hash, tags, version_part
from hadron.proton.quotas import Quotas
from hadron.store import SqlStore
from hadron.store.proton_records import TemplateVersion, VersionRef
from hadron.store.proton_templates import IN_PROGRESS, version_missing

__all__ = ["RegistrationQueue", "VersionsApi", "version_result"]

Result = dict[str, Any]
_NOUN = {"environment": "Environment", "service": "Service"}


class RegistrationQueue(Protocol):
    def submit(self, ref: VersionRef) -> None: ...


def version_result(v: TemplateVersion, *, summary: bool = False) -> Result:
    ref = v.ref
    tarn = template_arn(ref.region, ref.account_id, ref.kind, ref.template_name)
    out: Result = {
        "templateName": ref.template_name,
        "majorVersion": str(ref.major),
        "minorVersion": str(ref.minor),
        "status": v.status,
        "arn": version_arn(tarn, ref.major, ref.minor),
        "createdAt": v.created_at,
        "lastModifiedAt": v.last_modified_at,
    }
    if v.recommended_minor is not None:
        out["recommendedMinorVersion"] = str(v.recommended_minor)
    if v.status_message is not None:
        out["statusMessage"] = v.status_message
    if v.description is not None:
        out["description"] = v.description
    if summary:
        return out
    if v.schema is not None:
        out["schema"] = v.schema
    if ref.kind == "service":
        out["compatibleEnvironmentTemplates"] = [
            {"templateName": name, "majorVersion": major} for name, major in v.compatible
        ]
        if v.component_sources is not None:
            out["supportedComponentSources"] = list(v.component_sources)
    return out


def _compatible(params: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    items = params.get("compatibleEnvironmentTemplates")
    if items is None:
        return None
    return [(str(i["templateName"]), str(i["majorVersion"])) for i in items]


class VersionsApi:
    """Template version handlers bound to a store, the quotas and the registration queue."""

    def __init__(self, store: SqlStore, quotas: Quotas, registrar: RegistrationQueue) -> None:
        self._store = store
        self._quotas = quotas
        self._registrar = registrar

    def call_handlers(self) -> dict[tuple[str, str], ProtonHandler]:
        out: dict[tuple[str, str], ProtonHandler] = {}
        kind: TemplateKind
        for kind in ("environment", "service"):
            noun = f"{_NOUN[kind]}TemplateVersion"
            out[("proton", f"Create{noun}")] = partial(self.create, kind)
            out[("proton", f"Get{noun}")] = partial(self.get, kind)
            out[("proton", f"Update{noun}")] = partial(self.update, kind)
            out[("proton", f"Delete{noun}")] = partial(self.delete, kind)
            out[("proton", f"List{noun}s")] = partial(self.list, kind)
        return out

    @staticmethod
    def _key(kind: TemplateKind) -> str:
        return f"{kind}TemplateVersion"

    def _ref(self, kind: TemplateKind, call: ProtonCall) -> VersionRef:
        p = call.params
        name, major, minor = p["templateName"], p["majorVersion"], p["minorVersion"]
        missing = version_missing(kind, name, major, minor)
        return VersionRef(
            call.principal.account_id,
            call.region,
            kind,
            name,
            version_part(major, missing),
            version_part(minor, missing),
        )

    def create(self, kind: TemplateKind, call: ProtonCall) -> Result:
        p = call.params
        name = p["templateName"]
        major = p.get("majorVersion")
        s3 = p["source"]["s3"]
        compatible = _compatible(p) if kind == "service" else None
        created = self._store.create_template_version(
            call.principal.account_id,
            call.region,
            kind,
            name,
            None if major is None else version_part(major, version_missing(kind, name, major)),
            description=p.get("description"),
            source_bucket=s3["bucket"],
            source_key=s3["key"],
            compatible=compatible or (),
            component_sources=p.get("supportedComponentSources"),
            tags=tags(p),
            operation=f"Create{_NOUN[kind]}TemplateVersion",
            client_token=p.get("clientToken") or None,
            request_hash=request_hash(p),
            now=call.now,
            max_versions=self._quotas.versions_per_template,
        )
        if created.status == IN_PROGRESS:
            self._registrar.submit(created.ref)
        return {self._key(kind): version_result(created)}

    def get(self, kind: TemplateKind, call: ProtonCall) -> Result:
        ref = self._ref(kind, call)
        found = self._store.get_template_version(ref)
        if found is None:
            raise version_missing(kind, ref.template_name, ref.major, ref.minor)
        return {self._key(kind): version_result(found)}

    def update(self, kind: TemplateKind, call: ProtonCall) -> Result:
        p = call.params
        updated = self._store.update_template_version(
            self._ref(kind, call),
            status=p.get("status"),
            description=p.get("description"),
            compatible=_compatible(p) if kind == "service" else None,
            component_sources=p.get("supportedComponentSources") if kind == "service" else None,
            now=call.now,
        )
        return {self._key(kind): version_result(updated)}

    def delete(self, kind: TemplateKind, call: ProtonCall) -> Result:
        deleted = self._store.delete_template_version(self._ref(kind, call), call.now)
        return {} if deleted is None else {self._key(kind): version_result(deleted)}

    def list(self, kind: TemplateKind, call: ProtonCall) -> Result:
        p = call.params
        name = p["templateName"]
        major_text = p.get("majorVersion")
        major = None
        if major_text is not None:
            major = version_part(major_text, version_missing(kind, name, major_text))
        scope = f"{kind}-template-versions:{name}:{major_text or ''}"
        after = decode_token(scope, p.get("nextToken"))
        limit = max_results(p)
        found = self._store.list_template_versions(
            call.principal.account_id, call.region, kind, name, major
        )
        if isinstance(after, list) and len(after) == 2:
            found = [v for v in found if [v.ref.major, v.ref.minor] > after]
        page = found[:limit]
        out: Result = {"templateVersions": [version_result(v, summary=True) for v in page]}
        if len(found) > limit:
            last = page[-1].ref
            out["nextToken"] = encode_token(scope, [last.major, last.minor])
        return out
