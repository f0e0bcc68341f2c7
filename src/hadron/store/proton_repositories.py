"""The Proton repositories store: linked repositories, template sync configurations and service
sync configurations, on SQLAlchemy Core.

Layer 3 (store, edge). Spec: proton.md §2.10 (repositories), §2.11 (template sync
configurations), §2.12 (service sync configurations), §1.4 (idempotent creates and deletes).
Every public method is one transaction, so a refused request leaves nothing behind.

Nothing here syncs: the Git sync engines are a later slice. The records are validated and stored
(a configuration's template or service must exist and its repository must be linked), and a
repository cannot be unlinked while a configuration or the account's pipeline provisioning
repository uses it (ConflictException).

A service sync configuration needs its service (:func:`service_exists`); the service's store
(``hadron.store.proton_service_deployments``) deletes the configuration with the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, delete, select, tuple_, update

from hadron.errors import ConflictException, ResourceNotFoundException, ValidationError
from hadron.proton.arns import TemplateKind, repository_arn, template_arn
from hadron.store import transactions
from hadron.store.proton_records import IDEMPOTENCY_WINDOW
from hadron.store.proton_tags import deleted_at, forget_resource, merge_tags, read_tags
from hadron.store.schema_proton import (
    proton_account_settings,
    proton_environments,
    proton_repositories,
    proton_service_sync_configs,
    proton_services,
    proton_template_sync_configs,
    proton_templates,
)

__all__ = [
    "ProtonRepository",
    "ServiceSyncConfig",
    "SqlProtonRepositories",
    "TemplateSyncConfig",
    "repository_linked",
    "repository_missing",
    "service_exists",
    "service_missing",
    "template_sync_config_count",
]

_R = proton_repositories
_TS = proton_template_sync_configs
_SS = proton_service_sync_configs


@dataclass(frozen=True, slots=True)
class ProtonRepository:
    account_id: str
    region: str
    provider: str
    name: str
    connection_arn: str
    encryption_key: str | None
    created_at: datetime

    @property
    def arn(self) -> str:
        return repository_arn(self.region, self.account_id, self.provider, self.name)


@dataclass(frozen=True, slots=True)
class TemplateSyncConfig:
    kind: TemplateKind
    template_name: str
    repository_provider: str
    repository_name: str
    branch: str
    subdirectory: str | None
    created_at: datetime
    last_modified_at: datetime


@dataclass(frozen=True, slots=True)
class ServiceSyncConfig:
    service_name: str
    repository_provider: str
    repository_name: str
    branch: str
    file_path: str
    created_at: datetime
    last_modified_at: datetime


def repository_missing(provider: str, name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The {provider} repository {name} was not found.")


def service_missing(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The service {name} was not found.")


def _sync_config_missing(kind: str, name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        f"The {kind} template {name} has no template sync configuration."
    )


def _repo_where(account_id: str, region: str, provider: str, name: str) -> Any:
    return and_(_R.c.account_id == account_id, _R.c.region == region,
                _R.c.provider == provider, _R.c.name == name)  # fmt: skip


def _tsc_where(account_id: str, region: str, kind: str, name: str) -> Any:
    return and_(_TS.c.account_id == account_id, _TS.c.region == region, _TS.c.kind == kind,
                _TS.c.template_name == name)  # fmt: skip


def _repository(row: Row[Any]) -> ProtonRepository:
    return ProtonRepository(row.account_id, row.region, row.provider, row.name,
                            row.connection_arn, row.encryption_key, row.created_at)  # fmt: skip


def _template_sync(row: Row[Any]) -> TemplateSyncConfig:
    return TemplateSyncConfig(row.kind, row.template_name, row.repository_provider,
                              row.repository_name, row.branch, row.subdirectory, row.created_at,
                              row.last_modified_at)  # fmt: skip


def _service_sync(row: Row[Any]) -> ServiceSyncConfig:
    return ServiceSyncConfig(row.service_name, row.repository_provider, row.repository_name,
                             row.branch, row.file_path, row.created_at,
                             row.last_modified_at)  # fmt: skip


def repository_linked(
    conn: Connection, account_id: str, region: str, provider: str, name: str
) -> bool:
    found = conn.execute(select(_R.c.name).where(_repo_where(account_id, region, provider, name)))
    return found.first() is not None


def _require_linked(
    conn: Connection, account_id: str, region: str, provider: str, name: str, field: str
) -> None:
    """A repository named in a request must be linked (ValidationException naming ``field``)."""
    if not repository_linked(conn, account_id, region, provider, name):
        raise ValidationError(
            f"{field}: the {provider} repository {name} is not linked to AWS Proton; "
            "link it with CreateRepository first."
        )


def template_sync_config_count(
    conn: Connection, account_id: str, region: str, kind: str, name: str
) -> int:
    """How many sync configurations name the template (0 or 1): a template with one cannot be
    deleted."""
    found = conn.execute(select(_TS.c.branch).where(_tsc_where(account_id, region, kind, name)))
    return len(found.all())


def service_exists(conn: Connection, account_id: str, region: str, name: str) -> bool:
    """Whether the service exists."""
    s = proton_services.c
    found = conn.execute(
        select(s.name).where(s.account_id == account_id, s.region == region, s.name == name)
    )
    return found.first() is not None


def _template_exists(conn: Connection, account_id: str, region: str, kind: str, name: str) -> bool:
    t = proton_templates.c
    found = conn.execute(
        select(t.name).where(
            t.account_id == account_id, t.region == region, t.kind == kind, t.name == name
        )
    )
    return found.first() is not None


def _repository_users(
    conn: Connection, account_id: str, region: str, provider: str, name: str
) -> list[str]:
    """What uses the repository, described for a ConflictException."""
    users: list[str] = []
    rows = conn.execute(
        select(_TS.c.kind, _TS.c.template_name)
        .where(
            _TS.c.account_id == account_id,
            _TS.c.region == region,
            _TS.c.repository_provider == provider,
            _TS.c.repository_name == name,
        )
        .order_by(_TS.c.kind, _TS.c.template_name)
    ).all()
    users += [f"the template sync configuration of {k} template {n}" for k, n in rows]
    services = conn.execute(
        select(_SS.c.service_name)
        .where(
            _SS.c.account_id == account_id,
            _SS.c.region == region,
            _SS.c.repository_provider == provider,
            _SS.c.repository_name == name,
        )
        .order_by(_SS.c.service_name)
    ).scalars()
    users += [f"the service sync configuration of service {n}" for n in services]
    e = proton_environments.c
    environments = conn.execute(
        select(e.name)
        .where(
            e.account_id == account_id,
            e.region == region,
            e.repository_provider == provider,
            e.repository_name == name,
        )
        .order_by(e.name)
    ).scalars()
    users += [f"environment {n} (provisioningRepository)" for n in environments]
    s = proton_account_settings.c
    pipeline = conn.execute(
        select(s.account_id).where(
            s.account_id == account_id,
            s.region == region,
            s.repository_provider == provider,
            s.repository_name == name,
        )
    ).first()
    if pipeline is not None:
        users.append("the account settings (pipelineProvisioningRepository)")
    return users


class SqlProtonRepositories:
    """Repository and sync-configuration methods of the SQL store; mixed into ``SqlStore``."""

    _engine: Engine

    # --- repositories -----------------------------------------------------------------------------

    def create_proton_repository(
        self,
        account_id: str,
        region: str,
        provider: str,
        name: str,
        *,
        connection_arn: str,
        encryption_key: str | None,
        tags: Sequence[tuple[str, str]],
        request_hash: str,
        now: datetime,
    ) -> ProtonRepository:
        """Link a repository; an identical retry returns the existing link, a different request
        for a linked (provider, name) is a ConflictException."""
        with transactions.write(self._engine) as conn:
            where = _repo_where(account_id, region, provider, name)
            row = conn.execute(select(_R).where(where)).first()
            if row is not None:
                if row.request_hash != request_hash:
                    raise ConflictException(
                        f"The {provider} repository {name} is already linked with different "
                        "parameters."
                    )
                return _repository(row)
            conn.execute(
                _R.insert().values(
                    account_id=account_id,
                    region=region,
                    provider=provider,
                    name=name,
                    connection_arn=connection_arn,
                    encryption_key=encryption_key,
                    request_hash=request_hash,
                    created_at=now,
                )
            )
            arn = repository_arn(region, account_id, provider, name)
            forget_resource(conn, account_id, arn, tombstone_at=None)
            merge_tags(conn, account_id, arn, tags)
            return _repository(conn.execute(select(_R).where(where)).one())

    def get_proton_repository(
        self, account_id: str, region: str, provider: str, name: str
    ) -> ProtonRepository | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(select(_R).where(_repo_where(account_id, region, provider, name)))
            found = row.first()
        return None if found is None else _repository(found)

    def list_proton_repositories(
        self, account_id: str, region: str, after: tuple[str, str] | None, limit: int
    ) -> list[ProtonRepository]:
        """Up to ``limit`` repositories in (provider, name) order, after the key ``after``."""
        query = select(_R).where(_R.c.account_id == account_id, _R.c.region == region)
        if after is not None:
            query = query.where(tuple_(_R.c.provider, _R.c.name) > tuple_(*after))
        with transactions.read(self._engine) as conn:
            rows = conn.execute(query.order_by(_R.c.provider, _R.c.name).limit(limit)).all()
        return [_repository(r) for r in rows]

    def delete_proton_repository(
        self, account_id: str, region: str, provider: str, name: str, now: datetime
    ) -> ProtonRepository | None:
        """Unlink a repository nothing uses; ``None`` for a retry within 8 hours of its
        deletion, else ResourceNotFoundException."""
        arn = repository_arn(region, account_id, provider, name)
        with transactions.write(self._engine) as conn:
            where = _repo_where(account_id, region, provider, name)
            row = conn.execute(select(_R).where(where)).first()
            if row is None:
                when = deleted_at(conn, account_id, arn)
                if when is not None and when > now - IDEMPOTENCY_WINDOW:
                    return None
                raise repository_missing(provider, name)
            users = _repository_users(conn, account_id, region, provider, name)
            if users:
                raise ConflictException(
                    f"The {provider} repository {name} is used by {', '.join(users)}; "
                    "remove those first."
                )
            conn.execute(delete(_R).where(where))
            forget_resource(conn, account_id, arn, tombstone_at=now)
            return _repository(row)

    def proton_repository_tags(self, repository: ProtonRepository) -> list[tuple[str, str]]:
        with transactions.read(self._engine) as conn:
            return read_tags(conn, repository.account_id, repository.arn)

    # --- template sync configurations -------------------------------------------------------------

    def create_template_sync_config(
        self,
        account_id: str,
        region: str,
        kind: TemplateKind,
        template_name: str,
        *,
        repository_provider: str,
        repository_name: str,
        branch: str,
        subdirectory: str | None,
        now: datetime,
    ) -> TemplateSyncConfig:
        """One configuration per template: an identical retry returns it, anything else for a
        template that has one is a ConflictException."""
        with transactions.write(self._engine) as conn:
            if not _template_exists(conn, account_id, region, kind, template_name):
                raise ResourceNotFoundException(
                    f"The {kind} template {template_name} was not found."
                )
            where = _tsc_where(account_id, region, kind, template_name)
            row = conn.execute(select(_TS).where(where)).first()
            if row is not None:
                same = (row.repository_provider, row.repository_name, row.branch,
                        row.subdirectory) == (repository_provider, repository_name, branch,
                                              subdirectory)  # fmt: skip
                if same:
                    return _template_sync(row)
                raise ConflictException(
                    f"The {kind} template {template_name} already has a template sync "
                    "configuration."
                )
            _require_linked(conn, account_id, region, repository_provider, repository_name,
                            "repositoryName")  # fmt: skip
            conn.execute(
                _TS.insert().values(
                    account_id=account_id,
                    region=region,
                    kind=kind,
                    template_name=template_name,
                    repository_provider=repository_provider,
                    repository_name=repository_name,
                    branch=branch,
                    subdirectory=subdirectory,
                    created_at=now,
                    last_modified_at=now,
                )
            )
            forget_resource(conn, account_id, _tsc_key(region, account_id, kind, template_name),
                            tombstone_at=None)  # fmt: skip
            return _template_sync(conn.execute(select(_TS).where(where)).one())

    def get_template_sync_config(
        self, account_id: str, region: str, kind: TemplateKind, template_name: str
    ) -> TemplateSyncConfig:
        with transactions.read(self._engine) as conn:
            return self._template_sync_config(conn, account_id, region, kind, template_name)

    @staticmethod
    def _template_sync_config(
        conn: Connection, account_id: str, region: str, kind: TemplateKind, template_name: str
    ) -> TemplateSyncConfig:
        if not _template_exists(conn, account_id, region, kind, template_name):
            raise ResourceNotFoundException(f"The {kind} template {template_name} was not found.")
        row = conn.execute(
            select(_TS).where(_tsc_where(account_id, region, kind, template_name))
        ).first()
        if row is None:
            raise _sync_config_missing(kind, template_name)
        return _template_sync(row)

    def update_template_sync_config(
        self,
        account_id: str,
        region: str,
        kind: TemplateKind,
        template_name: str,
        *,
        repository_provider: str,
        repository_name: str,
        branch: str,
        subdirectory: str | None,
        now: datetime,
    ) -> TemplateSyncConfig:
        """Replace everything but the key (an absent ``subdirectory`` clears it)."""
        with transactions.write(self._engine) as conn:
            self._template_sync_config(conn, account_id, region, kind, template_name)
            _require_linked(conn, account_id, region, repository_provider, repository_name,
                            "repositoryName")  # fmt: skip
            where = _tsc_where(account_id, region, kind, template_name)
            conn.execute(
                update(_TS)
                .where(where)
                .values(
                    repository_provider=repository_provider,
                    repository_name=repository_name,
                    branch=branch,
                    subdirectory=subdirectory,
                    last_modified_at=now,
                )
            )
            return _template_sync(conn.execute(select(_TS).where(where)).one())

    def delete_template_sync_config(
        self, account_id: str, region: str, kind: TemplateKind, template_name: str, now: datetime
    ) -> TemplateSyncConfig | None:
        """Delete the configuration; ``None`` for a retry within 8 hours of its deletion."""
        key = _tsc_key(region, account_id, kind, template_name)
        with transactions.write(self._engine) as conn:
            where = _tsc_where(account_id, region, kind, template_name)
            row = conn.execute(select(_TS).where(where)).first()
            if row is None:
                when = deleted_at(conn, account_id, key)
                if when is not None and when > now - IDEMPOTENCY_WINDOW:
                    return None
                self._template_sync_config(conn, account_id, region, kind, template_name)
                raise _sync_config_missing(kind, template_name)
            conn.execute(delete(_TS).where(where))
            forget_resource(conn, account_id, key, tombstone_at=now)
            return _template_sync(row)

    def template_sync_configs_for(
        self, account_id: str, region: str, provider: str, name: str
    ) -> list[TemplateSyncConfig]:
        """The template sync configurations that read the repository, in template order."""
        with transactions.read(self._engine) as conn:
            if not repository_linked(conn, account_id, region, provider, name):
                return []
            rows = conn.execute(
                select(_TS)
                .where(
                    _TS.c.account_id == account_id,
                    _TS.c.region == region,
                    _TS.c.repository_provider == provider,
                    _TS.c.repository_name == name,
                )
                .order_by(_TS.c.kind, _TS.c.template_name)
            ).all()
        return [_template_sync(r) for r in rows]

    def proton_repository_linked(
        self, account_id: str, region: str, provider: str, name: str
    ) -> bool:
        with transactions.read(self._engine) as conn:
            return repository_linked(conn, account_id, region, provider, name)

    # --- service sync configurations --------------------------------------------------------------

    def service_sync_config(
        self, account_id: str, region: str, service_name: str
    ) -> ServiceSyncConfig | None:
        """The service's sync configuration (ResourceNotFoundException if the service does not
        exist; ``None`` if it has no configuration)."""
        with transactions.read(self._engine) as conn:
            return self._service_sync_config(conn, account_id, region, service_name)

    @staticmethod
    def _service_sync_config(
        conn: Connection, account_id: str, region: str, service_name: str
    ) -> ServiceSyncConfig | None:
        if not service_exists(conn, account_id, region, service_name):
            raise service_missing(service_name)
        row = conn.execute(
            select(_SS).where(
                _SS.c.account_id == account_id,
                _SS.c.region == region,
                _SS.c.service_name == service_name,
            )
        ).first()
        return None if row is None else _service_sync(row)

    def put_service_sync_config(
        self,
        account_id: str,
        region: str,
        service_name: str,
        *,
        repository_provider: str,
        repository_name: str,
        branch: str,
        file_path: str,
        create: bool,
        now: datetime,
    ) -> ServiceSyncConfig:
        """Create (``create``) or update a service's sync configuration."""
        with transactions.write(self._engine) as conn:
            found = self._service_sync_config(conn, account_id, region, service_name)
            wanted = (repository_provider, repository_name, branch, file_path)
            if create and found is not None:
                if (found.repository_provider, found.repository_name, found.branch,
                        found.file_path) == wanted:  # fmt: skip
                    return found
                raise ConflictException(
                    f"The service {service_name} already has a service sync configuration."
                )
            if not create and found is None:
                raise ResourceNotFoundException(
                    f"The service {service_name} has no service sync configuration."
                )
            _require_linked(conn, account_id, region, repository_provider, repository_name,
                            "repositoryName")  # fmt: skip
            values = dict(repository_provider=repository_provider,
                          repository_name=repository_name, branch=branch, file_path=file_path,
                          last_modified_at=now)  # fmt: skip
            where = and_(_SS.c.account_id == account_id, _SS.c.region == region,
                         _SS.c.service_name == service_name)  # fmt: skip
            if create:
                conn.execute(_SS.insert().values(account_id=account_id, region=region,
                                                 service_name=service_name, created_at=now,
                                                 **values))  # fmt: skip
            else:
                conn.execute(update(_SS).where(where).values(**values))
            return _service_sync(conn.execute(select(_SS).where(where)).one())

    def delete_service_sync_config(
        self, account_id: str, region: str, service_name: str
    ) -> ServiceSyncConfig:
        with transactions.write(self._engine) as conn:
            found = self._service_sync_config(conn, account_id, region, service_name)
            if found is None:
                raise ResourceNotFoundException(
                    f"The service {service_name} has no service sync configuration."
                )
            conn.execute(
                delete(_SS).where(
                    _SS.c.account_id == account_id,
                    _SS.c.region == region,
                    _SS.c.service_name == service_name,
                )
            )
            return found

    def service_sync_configs_for(
        self, account_id: str, region: str, provider: str, name: str
    ) -> list[ServiceSyncConfig]:
        with transactions.read(self._engine) as conn:
            rows = conn.execute(
                select(_SS)
                .where(
                    _SS.c.account_id == account_id,
                    _SS.c.region == region,
                    _SS.c.repository_provider == provider,
                    _SS.c.repository_name == name,
                )
                .order_by(_SS.c.service_name)
            ).all()
        return [_service_sync(r) for r in rows]


def _tsc_key(region: str, account_id: str, kind: TemplateKind, template_name: str) -> str:
    """The tombstone key of a template's sync configuration (not an AWS ARN: the configuration
    has none)."""
    return f"{template_arn(region, account_id, kind, template_name)}#template-sync-config"
