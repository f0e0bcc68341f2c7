"""Proton tags (by resource ARN), deletion tombstones and Proton account settings.

Layer 3 (store, edge). Spec: proton.md §1.5 (tagging: keys case-sensitive, ≤ 50 customer tags
per resource, ``aws:`` reserved), §1.4 (idempotent deletes), §2.14 (account settings).

Tags belong to a resource ARN. Which ARNs exist is answered by :func:`resource_exists`, one case
per Proton resource type: a later slice that adds a taggable resource (environments, services,
…) adds its case there, and the three tag operations work for it unchanged. The module-level
helpers take a connection so the resource's own create/delete transaction writes its tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, Engine, Select, bindparam, delete, select

from hadron.errors import ResourceNotFoundException, ValidationError
from hadron.proton.arns import ProtonArn
from hadron.store import transactions
from hadron.store.direct import DirectReads
from hadron.store.proton_records import ProtonAccountSettings, RepositoryBranch
from hadron.store.schema_proton import (
    proton_account_settings,
    proton_components,
    proton_environment_account_connections,
    proton_environments,
    proton_repositories,
    proton_service_instances,
    proton_services,
    proton_tags,
    proton_template_versions,
    proton_templates,
    proton_tombstones,
)

__all__ = [
    "MAX_TAGS_PER_RESOURCE",
    "SqlProtonTags",
    "deleted_at",
    "forget_resource",
    "merge_tags",
    "read_tags",
    "resource_exists",
]

MAX_TAGS_PER_RESOURCE: Final = 50
"""Proton quota (§9, not adjustable): customer tags per resource."""

_TAGS = proton_tags.c
# ARNs per tags statement: one statement per count up to this (a request names at most three).
_ARNS_PER_READ: Final = 8


@cache  # one statement per count (1.._ARNS_PER_READ), compiled once by DirectReads
def _tags_of(count: int) -> Select[Any]:
    return (
        select(_TAGS.resource_arn, _TAGS.tag_key, _TAGS.tag_value)
        .where(
            _TAGS.account_id == bindparam("account"),
            _TAGS.resource_arn.in_([bindparam(f"arn{i}") for i in range(count)]),
        )
        .order_by(_TAGS.resource_arn, _TAGS.tag_key)
    )


def read_tags(conn: Connection, account_id: str, arn: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(_TAGS.tag_key, _TAGS.tag_value)
        .where(_TAGS.account_id == account_id, _TAGS.resource_arn == arn)
        .order_by(_TAGS.tag_key)
    ).all()
    return [(str(k), str(v)) for k, v in rows]


def merge_tags(
    conn: Connection, account_id: str, arn: str, tags: Sequence[tuple[str, str]]
) -> None:
    """Add or replace ``tags`` on ``arn`` (later values win), within the per-resource quota."""
    incoming = dict(tags)
    if not incoming:
        return
    merged = dict(read_tags(conn, account_id, arn)) | incoming
    customer = [k for k in merged if not k.startswith("aws:")]
    if len(customer) > MAX_TAGS_PER_RESOURCE:
        raise ValidationError(
            f"tags: resource {arn} would have {len(customer)} tags; the maximum is "
            f"{MAX_TAGS_PER_RESOURCE}."
        )
    conn.execute(
        delete(proton_tags).where(
            _TAGS.account_id == account_id,
            _TAGS.resource_arn == arn,
            _TAGS.tag_key.in_(list(incoming)),
        )
    )
    conn.execute(
        proton_tags.insert(),
        [
            {"account_id": account_id, "resource_arn": arn, "tag_key": k, "tag_value": v}
            for k, v in incoming.items()
        ],
    )


def forget_resource(
    conn: Connection, account_id: str, arn: str, *, tombstone_at: datetime | None
) -> None:
    """Drop ``arn``'s tags; remember its deletion time (``tombstone_at``) or, for a resource
    being created, forget an earlier deletion of the same ARN (``None``)."""
    conn.execute(
        delete(proton_tags).where(_TAGS.account_id == account_id, _TAGS.resource_arn == arn)
    )
    tomb = proton_tombstones.c
    conn.execute(
        delete(proton_tombstones).where(tomb.account_id == account_id, tomb.resource_arn == arn)
    )
    if tombstone_at is not None:
        conn.execute(
            proton_tombstones.insert().values(
                account_id=account_id, resource_arn=arn, deleted_at=tombstone_at
            )
        )


def deleted_at(conn: Connection, account_id: str, arn: str) -> datetime | None:
    tomb = proton_tombstones.c
    value: datetime | None = conn.execute(
        select(tomb.deleted_at).where(tomb.account_id == account_id, tomb.resource_arn == arn)
    ).scalar_one_or_none()
    return value


def resource_exists(conn: Connection, ref: ProtonArn) -> bool:
    """Whether the Proton resource ``ref`` names exists (one case per taggable type)."""
    t, v = proton_templates.c, proton_template_versions.c
    if ref.resource_type in ("environment-template", "service-template"):
        query = select(t.name).where(
            t.account_id == ref.account_id,
            t.region == ref.region,
            t.kind == ref.resource_type.removesuffix("-template"),
            t.name == ref.parts[0],
        )
    elif ref.resource_type in ("environment-template-version", "service-template-version"):
        name, major, minor = ref.parts
        if len(major) > 9 or len(minor) > 9:  # beyond any version number ever created
            return False
        query = select(v.template_name).where(
            v.account_id == ref.account_id,
            v.region == ref.region,
            v.kind == ref.resource_type.removesuffix("-template-version"),
            v.template_name == name,
            v.major == int(major),
            v.minor == int(minor),
        )
    elif ref.resource_type == "environment":
        e = proton_environments.c
        query = select(e.name).where(
            e.account_id == ref.account_id, e.region == ref.region, e.name == ref.parts[0]
        )
    elif ref.resource_type == "component":
        c = proton_components.c
        query = select(c.name).where(
            c.account_id == ref.account_id, c.region == ref.region, c.name == ref.parts[0]
        )
    elif ref.resource_type == "service":
        s = proton_services.c
        query = select(s.name).where(
            s.account_id == ref.account_id, s.region == ref.region, s.name == ref.parts[0]
        )
    elif ref.resource_type == "service-instance":
        i = proton_service_instances.c
        query = select(i.name).where(
            i.account_id == ref.account_id,
            i.region == ref.region,
            i.service_name == ref.parts[0],
            i.name == ref.parts[1],
        )
    elif ref.resource_type == "repository":
        r = proton_repositories.c
        query = select(r.name).where(
            r.account_id == ref.account_id,
            r.region == ref.region,
            r.provider == ref.parts[0].upper(),
            r.name == ref.parts[1],
        )
    elif ref.resource_type == "environment-account-connection":
        c = proton_environment_account_connections.c
        query = select(c.id).where(
            c.account_id == ref.account_id, c.region == ref.region, c.id == ref.parts[0]
        )
    else:  # resource types of later slices
        return False
    return conn.execute(query).first() is not None


def _require_linked_repository(
    conn: Connection, account_id: str, region: str, repository: RepositoryBranch
) -> None:
    r = proton_repositories.c
    found = conn.execute(
        select(r.name).where(
            r.account_id == account_id,
            r.region == region,
            r.provider == repository.provider,
            r.name == repository.name,
        )
    ).first()
    if found is None:
        raise ValidationError(
            f"pipelineProvisioningRepository: the {repository.provider} repository "
            f"{repository.name} is not linked to AWS Proton; link it with CreateRepository first."
        )


def _missing(ref: ProtonArn) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The resource {ref.arn} was not found.")


class SqlProtonTags:
    """Tag and account-settings methods of the SQL store; mixed into ``SqlStore``."""

    _engine: Engine
    _direct: DirectReads

    def proton_resource_tags(
        self, account_id: str, arns: Sequence[str]
    ) -> dict[str, list[tuple[str, str]]]:
        """The tags (sorted by key, ``aws:proton:*`` included) of each of ``arns`` that is
        tagged in ``account_id``; untagged or unknown ARNs are left out. One read per
        ``_ARNS_PER_READ`` ARNs, on the direct-read path (enforcement calls this on every
        Proton request that names a resource). Errors propagate: callers fail closed."""
        wanted = list(dict.fromkeys(arns))
        out: dict[str, list[tuple[str, str]]] = {}
        for start in range(0, len(wanted), _ARNS_PER_READ):
            chunk = wanted[start : start + _ARNS_PER_READ]
            params = {"account": account_id, **{f"arn{i}": a for i, a in enumerate(chunk)}}
            for arn, key, value in self._direct.all(_tags_of(len(chunk)), params):
                out.setdefault(arn, []).append((key, value))
        return out

    def tag_proton_resource(self, ref: ProtonArn, tags: Sequence[tuple[str, str]]) -> None:
        with transactions.write(self._engine) as conn:
            if not resource_exists(conn, ref):
                raise _missing(ref)
            merge_tags(conn, ref.account_id, ref.arn, tags)

    def untag_proton_resource(self, ref: ProtonArn, tag_keys: Sequence[str]) -> None:
        with transactions.write(self._engine) as conn:
            if not resource_exists(conn, ref):
                raise _missing(ref)
            if tag_keys:
                conn.execute(
                    delete(proton_tags).where(
                        _TAGS.account_id == ref.account_id,
                        _TAGS.resource_arn == ref.arn,
                        _TAGS.tag_key.in_(list(tag_keys)),
                    )
                )

    def list_proton_tags(self, ref: ProtonArn) -> list[tuple[str, str]]:
        with transactions.read(self._engine) as conn:
            if not resource_exists(conn, ref):
                raise _missing(ref)
            return read_tags(conn, ref.account_id, ref.arn)

    # --- account settings -------------------------------------------------------------------------

    def get_proton_account_settings(self, account_id: str, region: str) -> ProtonAccountSettings:
        s = proton_account_settings.c
        with transactions.read(self._engine) as conn:
            row = conn.execute(
                select(proton_account_settings).where(
                    s.account_id == account_id, s.region == region
                )
            ).first()
        if row is None:
            return ProtonAccountSettings()
        repository = None
        if row.repository_provider is not None:
            repository = RepositoryBranch(
                row.repository_provider, row.repository_name, row.repository_branch
            )
        return ProtonAccountSettings(
            row.pipeline_service_role_arn or None, row.pipeline_codebuild_role_arn or None,
            repository,
        )  # fmt: skip

    def update_proton_account_settings(
        self,
        account_id: str,
        region: str,
        *,
        service_role: str | None,
        codebuild_role: str | None,
        repository: RepositoryBranch | None,
        delete_repository: bool,
    ) -> ProtonAccountSettings:
        """``None`` keeps a value, ``""`` clears a role; ``delete_repository`` clears the
        repository."""
        s = proton_account_settings.c
        with transactions.write(self._engine) as conn:
            row = conn.execute(
                select(proton_account_settings).where(
                    s.account_id == account_id, s.region == region
                )
            ).first()
            values = {
                "pipeline_service_role_arn": row.pipeline_service_role_arn if row else None,
                "pipeline_codebuild_role_arn": row.pipeline_codebuild_role_arn if row else None,
                "repository_provider": row.repository_provider if row else None,
                "repository_name": row.repository_name if row else None,
                "repository_branch": row.repository_branch if row else None,
            }
            if service_role is not None:
                values["pipeline_service_role_arn"] = service_role or None
            if codebuild_role is not None:
                values["pipeline_codebuild_role_arn"] = codebuild_role or None
            if delete_repository:
                values |= {"repository_provider": None, "repository_name": None,
                           "repository_branch": None}  # fmt: skip
            elif repository is not None:
                _require_linked_repository(conn, account_id, region, repository)
                values |= {"repository_provider": repository.provider,
                           "repository_name": repository.name,
                           "repository_branch": repository.branch}  # fmt: skip
            conn.execute(
                delete(proton_account_settings).where(
                    s.account_id == account_id, s.region == region
                )
            )
            conn.execute(
                proton_account_settings.insert().values(
                    account_id=account_id, region=region, **values
                )
            )
        return self.get_proton_account_settings(account_id, region)
