"""The Proton templates repository: environment and service templates, their versions, the
registered bundles, and clientToken idempotency, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §1.4 (idempotency), §2.2-2.4 (templates, versions,
numbering, recommended versions, deletion rules), §9 (quotas). Every public method is one
transaction, so a refused request leaves nothing behind. Inputs are validated by the handlers
(``hadron.proton``) before they get here; the rules that need the database (existence, numbering,
quotas, conflicts) are checked here, inside the transaction that writes.

A version's recommended minor is the highest PUBLISHED minor of its major; a template's
recommended version is that of its highest major with a PUBLISHED minor. Both are derived on
read, never stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, delete, func, select, update

from hadron.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationError,
)
from hadron.proton.arns import TemplateKind, parse, template_arn, version_arn
from hadron.proton.managed_tags import managed_tags
from hadron.proton.params import MAX_VERSION_DIGITS
from hadron.store import transactions
from hadron.store.proton_environments import environments_using
from hadron.store.proton_records import (
    IDEMPOTENCY_WINDOW,
    ProtonTemplate,
    TemplateVersion,
    VersionRef,
)
from hadron.store.proton_repositories import template_sync_config_count
from hadron.store.proton_service_instances import version_users
from hadron.store.proton_services import services_of_template
from hadron.store.proton_tags import deleted_at, forget_resource, merge_tags, read_tags
from hadron.store.schema_proton import (
    proton_idempotency,
    proton_template_versions,
    proton_templates,
)

__all__ = [
    "DRAFT",
    "FAILED",
    "IN_PROGRESS",
    "PUBLISHED",
    "SqlProtonTemplates",
    "ref_where",
    "template_missing",
    "version_from_row",
    "version_missing",
    "versions_where",
]

_T = proton_templates
_V = proton_template_versions
Tags = Sequence[tuple[str, str]]

PUBLISHED = "PUBLISHED"
DRAFT = "DRAFT"
IN_PROGRESS = "REGISTRATION_IN_PROGRESS"
FAILED = "REGISTRATION_FAILED"


def template_missing(kind: TemplateKind, name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The {kind} template {name} was not found.")


def version_missing(
    kind: TemplateKind, name: str, major: int | str, minor: int | str | None = None
) -> ResourceNotFoundException:
    version = f"{major}" if minor is None else f"{major}.{minor}"
    noun = "major version" if minor is None else "version"
    return ResourceNotFoundException(f"The {kind} template {name} {noun} {version} was not found.")


def _template(row: Row[Any], recommended: str | None) -> ProtonTemplate:
    return ProtonTemplate(
        account_id=row.account_id,
        region=row.region,
        kind=row.kind,
        name=row.name,
        display_name=row.display_name,
        description=row.description,
        encryption_key=row.encryption_key,
        provisioning=row.provisioning,
        created_at=row.created_at,
        last_modified_at=row.last_modified_at,
        recommended_version=recommended,
    )


def version_from_row(row: Row[Any], recommended_minor: int | None) -> TemplateVersion:
    compatible = json.loads(row.compatible) if row.compatible else []
    sources = json.loads(row.component_sources) if row.component_sources is not None else None
    return TemplateVersion(
        ref=VersionRef(
            row.account_id, row.region, row.kind, row.template_name, row.major, row.minor
        ),
        status=row.status,
        status_message=row.status_message,
        description=row.description,
        schema=row.schema,
        input_schemas=row.input_schemas,
        source_bucket=row.source_bucket,
        source_key=row.source_key,
        compatible=tuple((str(n), str(m)) for n, m in compatible),
        component_sources=None if sources is None else tuple(sources),
        created_at=row.created_at,
        last_modified_at=row.last_modified_at,
        recommended_minor=recommended_minor,
    )


def _template_where(account_id: str, region: str, kind: str, name: str) -> Any:
    return and_(_T.c.account_id == account_id, _T.c.region == region, _T.c.kind == kind,
                _T.c.name == name)  # fmt: skip


def versions_where(account_id: str, region: str, kind: str, name: str) -> Any:
    return and_(_V.c.account_id == account_id, _V.c.region == region, _V.c.kind == kind,
                _V.c.template_name == name)  # fmt: skip


def ref_where(ref: VersionRef) -> Any:
    return and_(
        versions_where(ref.account_id, ref.region, ref.kind, ref.template_name),
        _V.c.major == ref.major,
        _V.c.minor == ref.minor,
    )


def _recommended_minors(
    conn: Connection, account_id: str, region: str, kind: str, name: str
) -> dict[int, int]:
    """major → highest PUBLISHED minor, for the majors that have one."""
    rows = conn.execute(
        select(_V.c.major, func.max(_V.c.minor))
        .where(versions_where(account_id, region, kind, name), _V.c.status == PUBLISHED)
        .group_by(_V.c.major)
    ).all()
    return {int(major): int(minor) for major, minor in rows}


def _recommended_version(minors: dict[int, int]) -> str | None:
    if not minors:
        return None
    major = max(minors)
    return f"{major}.{minors[major]}"


def _check_compatible(
    conn: Connection, account_id: str, region: str, compatible: Sequence[tuple[str, str]]
) -> None:
    """Each (environment template, major version) exists and has a PUBLISHED minor."""
    for name, major in compatible:
        if len(major) > MAX_VERSION_DIGITS:  # no such major can exist (nor fit an integer)
            raise version_missing("environment", name, major)
        found = conn.execute(
            select(_T.c.name).where(_template_where(account_id, region, "environment", name))
        ).first()
        if found is None:
            raise template_missing("environment", name)
        published = conn.execute(
            select(_V.c.minor)
            .where(
                versions_where(account_id, region, "environment", name),
                _V.c.major == int(major),
                _V.c.status == PUBLISHED,
            )
            .limit(1)
        ).first()
        if published is None:
            raise ValidationError(
                f"compatibleEnvironmentTemplates: environment template {name} has no published "
                f"version in major version {major}."
            )


class SqlProtonTemplates:
    """Proton template methods of the SQL store; mixed into ``hadron.store.sql.SqlStore``."""

    _engine: Engine

    # --- templates --------------------------------------------------------------------------------

    def create_proton_template(
        self,
        account_id: str,
        region: str,
        kind: TemplateKind,
        name: str,
        *,
        display_name: str | None,
        description: str | None,
        encryption_key: str | None,
        provisioning: str | None,
        tags: Tags,
        request_hash: str,
        now: datetime,
        max_templates: int,
    ) -> ProtonTemplate:
        """Create a template, or return the existing one for an identical retry (§1.4).

        An existing name with a different request → ValidationException; an identical retry of a
        template modified since → ConflictException. The quota counts both kinds.
        """
        with transactions.write(self._engine) as conn:
            row = conn.execute(
                select(_T).where(_template_where(account_id, region, kind, name))
            ).first()
            if row is not None:
                if row.request_hash != request_hash:
                    raise ValidationError("Idempotent parameter mismatch")
                if row.last_modified_at != row.created_at:
                    raise ConflictException(
                        f"The {kind} template {name} already exists and was modified since it "
                        "was created."
                    )
                minors = _recommended_minors(conn, account_id, region, kind, name)
                return _template(row, _recommended_version(minors))
            count = conn.execute(
                select(func.count())
                .select_from(_T)
                .where(_T.c.account_id == account_id, _T.c.region == region)
            ).scalar_one()
            if count >= max_templates:
                raise ServiceQuotaExceededException(
                    f"You have reached the maximum number of templates ({max_templates}) in "
                    f"this account and region."
                )
            conn.execute(
                _T.insert().values(
                    account_id=account_id,
                    region=region,
                    kind=kind,
                    name=name,
                    display_name=display_name,
                    description=description,
                    encryption_key=encryption_key,
                    provisioning=provisioning,
                    request_hash=request_hash,
                    created_at=now,
                    last_modified_at=now,
                )
            )
            arn = template_arn(region, account_id, kind, name)
            forget_resource(conn, account_id, arn, tombstone_at=None)
            merge_tags(conn, account_id, arn, [*managed_tags(account_id, template=arn), *tags])
            created = conn.execute(
                select(_T).where(_template_where(account_id, region, kind, name))
            ).one()
            return _template(created, None)

    def get_proton_template(
        self, account_id: str, region: str, kind: TemplateKind, name: str
    ) -> ProtonTemplate | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(
                select(_T).where(_template_where(account_id, region, kind, name))
            ).first()
            if row is None:
                return None
            minors = _recommended_minors(conn, account_id, region, kind, name)
            return _template(row, _recommended_version(minors))

    def list_proton_templates(
        self, account_id: str, region: str, kind: TemplateKind, after: str | None, limit: int
    ) -> list[ProtonTemplate]:
        """Up to ``limit`` templates in name order, starting after the name ``after``."""
        query = select(_T).where(_T.c.account_id == account_id, _T.c.region == region,
                                 _T.c.kind == kind)  # fmt: skip
        if after is not None:
            query = query.where(_T.c.name > after)
        with transactions.read(self._engine) as conn:
            rows = conn.execute(query.order_by(_T.c.name).limit(limit)).all()
            if not rows:
                return []
            published = conn.execute(
                select(_V.c.template_name, _V.c.major, func.max(_V.c.minor))
                .where(
                    _V.c.account_id == account_id,
                    _V.c.region == region,
                    _V.c.kind == kind,
                    _V.c.template_name.in_([r.name for r in rows]),
                    _V.c.status == PUBLISHED,
                )
                .group_by(_V.c.template_name, _V.c.major)
            ).all()
        by_name: dict[str, dict[int, int]] = {}
        for name, major, minor in published:
            by_name.setdefault(name, {})[int(major)] = int(minor)
        return [_template(r, _recommended_version(by_name.get(r.name, {}))) for r in rows]

    def update_proton_template(
        self,
        account_id: str,
        region: str,
        kind: TemplateKind,
        name: str,
        *,
        display_name: str | None,
        description: str | None,
        now: datetime,
    ) -> ProtonTemplate:
        """Change the display name and/or description (``None``: keep)."""
        values: dict[str, Any] = {"last_modified_at": now}
        if display_name is not None:
            values["display_name"] = display_name
        if description is not None:
            values["description"] = description
        with transactions.write(self._engine) as conn:
            done = conn.execute(
                update(_T).where(_template_where(account_id, region, kind, name)).values(values)
            )
            if done.rowcount == 0:
                raise template_missing(kind, name)
            row = conn.execute(
                select(_T).where(_template_where(account_id, region, kind, name))
            ).one()
            minors = _recommended_minors(conn, account_id, region, kind, name)
            return _template(row, _recommended_version(minors))

    def delete_proton_template(
        self, account_id: str, region: str, kind: TemplateKind, name: str, now: datetime
    ) -> ProtonTemplate | None:
        """Delete a template that has no versions; ``None`` if it was deleted in the last 8
        hours (an idempotent retry), else ResourceNotFoundException."""
        arn = template_arn(region, account_id, kind, name)
        with transactions.write(self._engine) as conn:
            row = conn.execute(
                select(_T).where(_template_where(account_id, region, kind, name))
            ).first()
            if row is None:
                if _recently_deleted(conn, account_id, arn, now):
                    return None
                raise template_missing(kind, name)
            versions = conn.execute(
                select(func.count())
                .select_from(_V)
                .where(versions_where(account_id, region, kind, name))
            ).scalar_one()
            if versions:
                raise ConflictException(
                    f"The {kind} template {name} has {versions} version(s); delete them first."
                )
            services = services_of_template(conn, account_id, region, name) if (
                kind == "service") else []  # fmt: skip
            if services:
                raise ConflictException(
                    f"The service template {name} is used by {len(services)} service(s): "
                    f"{', '.join(services[:10])}. Delete them first."
                )
            if template_sync_config_count(conn, account_id, region, kind, name):
                raise ConflictException(
                    f"The {kind} template {name} has a template sync configuration; delete it "
                    "first."
                )
            conn.execute(delete(_T).where(_template_where(account_id, region, kind, name)))
            forget_resource(conn, account_id, arn, tombstone_at=now)
            return _template(row, None)

    # --- versions ---------------------------------------------------------------------------------

    def create_template_version(
        self,
        account_id: str,
        region: str,
        kind: TemplateKind,
        template_name: str,
        major: int | None,
        *,
        description: str | None,
        source_bucket: str,
        source_key: str,
        compatible: Sequence[tuple[str, str]] = (),
        component_sources: Sequence[str] | None = None,
        tags: Tags,
        operation: str,
        client_token: str | None,
        request_hash: str,
        now: datetime,
        max_versions: int,
    ) -> TemplateVersion:
        """Create a version in REGISTRATION_IN_PROGRESS: a new major (``major=None``) with minor
        0, or the next minor of ``major``. A clientToken seen in the last 8 hours returns the
        version it created (same request) or is refused (different request)."""
        tarn = template_arn(region, account_id, kind, template_name)
        with transactions.write(self._engine) as conn:
            if not conn.execute(
                select(_T.c.name).where(_template_where(account_id, region, kind, template_name))
            ).first():
                raise template_missing(kind, template_name)
            if client_token:
                earlier = self._replay(conn, account_id, region, operation, client_token, now,
                                       request_hash)  # fmt: skip
                if earlier is not None:
                    return earlier
            where = versions_where(account_id, region, kind, template_name)
            count = conn.execute(select(func.count()).select_from(_V).where(where)).scalar_one()
            if count >= max_versions:
                raise ServiceQuotaExceededException(
                    f"The {kind} template {template_name} has reached the maximum number of "
                    f"versions ({max_versions})."
                )
            if major is None:
                top = conn.execute(select(func.max(_V.c.major)).where(where)).scalar_one()
                major, minor = (0 if top is None else int(top)) + 1, 0
            else:
                top = conn.execute(
                    select(func.max(_V.c.minor)).where(where, _V.c.major == major)
                ).scalar_one()
                if top is None:
                    raise version_missing(kind, template_name, major)
                minor = int(top) + 1
            if kind == "service":
                _check_compatible(conn, account_id, region, compatible)
            conn.execute(
                _V.insert().values(
                    account_id=account_id,
                    region=region,
                    kind=kind,
                    template_name=template_name,
                    major=major,
                    minor=minor,
                    status=IN_PROGRESS,
                    status_message=None,
                    description=description,
                    schema=None,
                    input_schemas=None,
                    source_bucket=source_bucket,
                    source_key=source_key,
                    compatible=json.dumps([list(c) for c in compatible]) if kind == "service"
                    else None,
                    component_sources=None if component_sources is None
                    else json.dumps(list(component_sources)),
                    created_at=now,
                    last_modified_at=now,
                )
            )  # fmt: skip
            varn = version_arn(tarn, major, minor)
            # Customer tags of the template propagate to versions created later (§1.5).
            forget_resource(conn, account_id, varn, tombstone_at=None)
            merge_tags(conn, account_id, varn, [*read_tags(conn, account_id, tarn), *tags])
            if client_token:
                conn.execute(
                    delete(proton_idempotency).where(
                        proton_idempotency.c.account_id == account_id,
                        proton_idempotency.c.region == region,
                        proton_idempotency.c.operation == operation,
                        proton_idempotency.c.client_token == client_token,
                    )
                )
                conn.execute(
                    proton_idempotency.insert().values(
                        account_id=account_id,
                        region=region,
                        operation=operation,
                        client_token=client_token,
                        request_hash=request_hash,
                        resource_arn=varn,
                        created_at=now,
                    )
                )
            ref = VersionRef(account_id, region, kind, template_name, major, minor)
            found = self._version_in(conn, ref)
            assert found is not None  # noqa: S101 - inserted above, in this transaction
            return found

    def _replay(
        self,
        conn: Connection,
        account_id: str,
        region: str,
        operation: str,
        client_token: str,
        now: datetime,
        request_hash: str,
    ) -> TemplateVersion | None:
        row = conn.execute(
            select(proton_idempotency).where(
                proton_idempotency.c.account_id == account_id,
                proton_idempotency.c.region == region,
                proton_idempotency.c.operation == operation,
                proton_idempotency.c.client_token == client_token,
            )
        ).first()
        if row is None or row.created_at <= now - IDEMPOTENCY_WINDOW:
            return None
        if row.request_hash != request_hash:
            raise ValidationError("Idempotent parameter mismatch")
        parsed = parse(row.resource_arn)
        if parsed is None:  # pragma: no cover - written by create_template_version
            return None
        kind: TemplateKind = (
            "service" if parsed.resource_type.startswith("service") else "environment"
        )
        name, major, minor = parsed.parts
        ref = VersionRef(account_id, region, kind, name, int(major), int(minor))
        return self._version_in(conn, ref)  # None if deleted since: create anew

    def _version_in(self, conn: Connection, ref: VersionRef) -> TemplateVersion | None:
        row = conn.execute(select(_V).where(ref_where(ref))).first()
        if row is None:
            return None
        minors = _recommended_minors(conn, ref.account_id, ref.region, ref.kind, ref.template_name)
        return version_from_row(row, minors.get(ref.major))

    def get_template_version(self, ref: VersionRef) -> TemplateVersion | None:
        with transactions.read(self._engine) as conn:
            return self._version_in(conn, ref)

    def list_template_versions(
        self, account_id: str, region: str, kind: TemplateKind, template_name: str,
        major: int | None,
    ) -> list[TemplateVersion]:  # fmt: skip
        """The versions of a template in (major, minor) order: all minors of ``major``, or (no
        ``major``) one per major — its recommended minor, else its highest minor. Raises
        ResourceNotFoundException for a missing template or major."""
        with transactions.read(self._engine) as conn:
            if not conn.execute(
                select(_T.c.name).where(_template_where(account_id, region, kind, template_name))
            ).first():
                raise template_missing(kind, template_name)
            query = select(_V).where(versions_where(account_id, region, kind, template_name))
            if major is not None:
                query = query.where(_V.c.major == major)
            rows = conn.execute(query.order_by(_V.c.major, _V.c.minor)).all()
            minors = _recommended_minors(conn, account_id, region, kind, template_name)
        if major is not None:
            if not rows:
                raise version_missing(kind, template_name, major)
            return [version_from_row(r, minors.get(r.major)) for r in rows]
        chosen: dict[int, Row[Any]] = {}
        for r in rows:
            best = chosen.get(r.major)
            if (
                best is None
                or r.minor == minors.get(r.major)
                or (best.minor != minors.get(r.major) and r.minor > best.minor)
            ):
                chosen[r.major] = r
        return [version_from_row(chosen[m], minors.get(m)) for m in sorted(chosen)]

    def update_template_version(
        self,
        ref: VersionRef,
        *,
        status: str | None,
        description: str | None,
        compatible: Sequence[tuple[str, str]] | None = None,
        component_sources: Sequence[str] | None = None,
        now: datetime,
    ) -> TemplateVersion:
        """Publish a DRAFT (the only transition a caller may ask for) and/or change the
        description, compatible environment templates or component sources."""
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_V).where(ref_where(ref))).first()
            if row is None:
                raise version_missing(ref.kind, ref.template_name, ref.major, ref.minor)
            if row.status == IN_PROGRESS:
                raise ConflictException(
                    f"The {ref.kind} template {ref.template_name} version "
                    f"{ref.major}.{ref.minor} is still being registered."
                )
            values: dict[str, Any] = {"last_modified_at": now}
            if status is not None and status != row.status:
                if (row.status, status) != (DRAFT, PUBLISHED):
                    raise ValidationError(
                        f"status: a template version can only go from {DRAFT} to {PUBLISHED}; "
                        f"version {ref.major}.{ref.minor} is {row.status}."
                    )
                values["status"] = status
            if description is not None:
                values["description"] = description
            if compatible is not None:
                _check_compatible(conn, ref.account_id, ref.region, compatible)
                values["compatible"] = json.dumps([list(c) for c in compatible])
            if component_sources is not None:
                values["component_sources"] = json.dumps(list(component_sources))
            conn.execute(update(_V).where(ref_where(ref)).values(values))
            found = self._version_in(conn, ref)
            assert found is not None  # noqa: S101 - updated above, in this transaction
            return found

    def delete_template_version(self, ref: VersionRef, now: datetime) -> TemplateVersion | None:
        """Delete a version under §2.4's rules; ``None`` for a retry within 8 hours."""
        tarn = template_arn(ref.region, ref.account_id, ref.kind, ref.template_name)
        varn = version_arn(tarn, ref.major, ref.minor)
        with transactions.write(self._engine) as conn:
            row = conn.execute(select(_V).where(ref_where(ref))).first()
            if row is None:
                if _recently_deleted(conn, ref.account_id, varn, now):
                    return None
                raise version_missing(ref.kind, ref.template_name, ref.major, ref.minor)
            if row.status == IN_PROGRESS:
                raise ConflictException(
                    f"The {ref.kind} template {ref.template_name} version "
                    f"{ref.major}.{ref.minor} is still being registered."
                )
            if ref.kind == "environment":
                users = environments_using(
                    conn, ref.account_id, ref.region, ref.template_name, ref.major, ref.minor
                )
                if users:
                    raise ConflictException(
                        f"The environment template {ref.template_name} version "
                        f"{ref.major}.{ref.minor} is used by {len(users)} environment(s): "
                        f"{', '.join(users[:10])}. Delete them or move them to another version "
                        "first."
                    )
            if ref.kind == "service":
                users = version_users(
                    conn, ref.account_id, ref.region, ref.template_name, ref.major, ref.minor
                )
                if users:
                    raise ConflictException(
                        f"The service template {ref.template_name} version "
                        f"{ref.major}.{ref.minor} is used by {len(users)} service instance(s) "
                        f"or pipeline(s): {', '.join(users[:10])}. Delete them or move them to "
                        "another version first."
                    )
            minors = _recommended_minors(
                conn, ref.account_id, ref.region, ref.kind, ref.template_name
            )
            where = versions_where(ref.account_id, ref.region, ref.kind, ref.template_name)
            in_major = conn.execute(
                select(func.count()).select_from(_V).where(where, _V.c.major == ref.major)
            ).scalar_one()
            if minors.get(ref.major) == ref.minor:
                if in_major > 1:
                    raise ConflictException(
                        f"Version {ref.major}.{ref.minor} is the recommended version of major "
                        f"version {ref.major} of the {ref.kind} template {ref.template_name}; "
                        "it can be deleted only when it is the last version of its major "
                        "version."
                    )
                majors = conn.execute(
                    select(func.count(func.distinct(_V.c.major))).where(where)
                ).scalar_one()
                if max(minors) == ref.major and majors > 1:
                    raise ConflictException(
                        f"Major version {ref.major} is the recommended major version of the "
                        f"{ref.kind} template {ref.template_name}; it can be deleted only when "
                        "no other major versions exist."
                    )
            conn.execute(delete(_V).where(ref_where(ref)))
            forget_resource(conn, ref.account_id, varn, tombstone_at=now)
            return version_from_row(row, minors.get(ref.major))


def _recently_deleted(conn: Connection, account_id: str, arn: str, now: datetime) -> bool:
    when = deleted_at(conn, account_id, arn)
    return when is not None and when > now - IDEMPOTENCY_WINDOW
