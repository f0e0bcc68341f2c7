"""Template version registration in the store: what is pending, recording outcomes, the copied
bundles, and the schemas a new minor version is compared with.

Layer 3 (store, edge). Spec: proton.md §2.4. Used by the registration worker
(``hadron.proton.registrar``); each public method is one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from hadron.store import transactions
from hadron.store.proton_records import TemplateVersion, VersionRef
from hadron.store.proton_templates import (
    DRAFT,
    FAILED,
    IN_PROGRESS,
    PUBLISHED,
    ref_where,
    version_from_row,
    versions_where,
)
from hadron.store.schema_proton import proton_template_bundles, proton_template_versions

__all__ = ["SqlProtonRegistrations"]

_V = proton_template_versions


class SqlProtonRegistrations:
    """Registration methods of the SQL store; mixed into ``hadron.store.sql.SqlStore``."""

    _engine: Engine

    def pending_registrations(self) -> list[TemplateVersion]:
        """Every version still REGISTRATION_IN_PROGRESS (re-run after a restart)."""
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(_V).where(_V.c.status == IN_PROGRESS).order_by(_V.c.created_at)
            ).all()
        return [version_from_row(r, None) for r in rows]

    def finish_registration(
        self,
        ref: VersionRef,
        *,
        schema: str | None,
        input_schemas: str | None,
        bundle: bytes | None,
        failure: str | None,
        now: datetime,
    ) -> bool:
        """Record the outcome of a registration: DRAFT with the schema and bundle, or
        REGISTRATION_FAILED with ``failure`` as statusMessage. False if the version is gone or
        no longer in progress."""
        values: dict[str, Any] = {"last_modified_at": now}
        if failure is None:
            values |= {"status": DRAFT, "status_message": "", "schema": schema,
                       "input_schemas": input_schemas}  # fmt: skip
        else:
            values |= {"status": FAILED, "status_message": failure}
        with transactions.write(self._engine) as conn:
            done = conn.execute(
                update(_V).where(ref_where(ref), _V.c.status == IN_PROGRESS).values(values)
            )
            if done.rowcount == 0:
                return False
            if failure is None and bundle is not None:
                conn.execute(
                    proton_template_bundles.insert().values(
                        account_id=ref.account_id,
                        region=ref.region,
                        kind=ref.kind,
                        template_name=ref.template_name,
                        major=ref.major,
                        minor=ref.minor,
                        bundle=bundle,
                    )
                )
            return True

    def earlier_minor_schemas(self, ref: VersionRef) -> list[tuple[int, str]]:
        """(minor, input_schemas JSON) of the registered (DRAFT or PUBLISHED) minors below
        ``ref.minor`` in its major, highest first."""
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(_V.c.minor, _V.c.input_schemas)
                .where(
                    versions_where(ref.account_id, ref.region, ref.kind, ref.template_name),
                    _V.c.major == ref.major,
                    _V.c.minor < ref.minor,
                    _V.c.status.in_([DRAFT, PUBLISHED]),
                    _V.c.input_schemas.is_not(None),
                )
                .order_by(_V.c.minor.desc())
            ).all()
        return [(int(minor), str(schemas)) for minor, schemas in rows]

    def get_template_bundle(self, ref: VersionRef) -> bytes | None:
        """The registered bundle (tar.gz) of a version, if registration succeeded."""
        b = proton_template_bundles.c
        with transactions.read(self._engine) as conn:
            value = conn.execute(
                select(b.bundle).where(
                    b.account_id == ref.account_id,
                    b.region == ref.region,
                    b.kind == ref.kind,
                    b.template_name == ref.template_name,
                    b.major == ref.major,
                    b.minor == ref.minor,
                )
            ).scalar_one_or_none()
        return None if value is None else bytes(value)
