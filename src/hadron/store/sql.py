"""The SQL store: one class composing the per-aggregate repositories over one engine.

Layer 3 (store, edge). ``SqlStore`` satisfies ``hadron.store.Store``; handlers see only that
protocol. New aggregates (Proton resources, roles, ...) are added as further mixins next to
``SqlCredentials`` so no single module grows into a grab-bag.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from hadron.keys import MasterKeyRing
from hadron.store import transactions
from hadron.store.credentials import SqlCredentials
from hadron.store.direct import DirectReads
from hadron.store.groups import SqlGroups
from hadron.store.iam import SqlIam
from hadron.store.mfa import SqlMfa
from hadron.store.policies import SqlPolicies
from hadron.store.profiles import SqlProfiles
from hadron.store.proton_components import SqlProtonComponents
from hadron.store.proton_connections import SqlProtonConnections
from hadron.store.proton_deployments import SqlProtonDeployments
from hadron.store.proton_environments import SqlProtonEnvironments
from hadron.store.proton_registrations import SqlProtonRegistrations
from hadron.store.proton_repositories import SqlProtonRepositories
from hadron.store.proton_service_instances import SqlProtonServiceInstances
from hadron.store.proton_services import SqlProtonServices
from hadron.store.proton_summary import SqlProtonSummary
from hadron.store.proton_tags import SqlProtonTags
from hadron.store.proton_templates import SqlProtonTemplates
from hadron.store.renames import SqlRenames
from hadron.store.roles import SqlRoles
from hadron.store.schema import meta
from hadron.store.vpc_endpoints import SqlVpcEndpoints

__all__ = ["SqlStore"]


class SqlStore(
    SqlCredentials,
    SqlIam,
    SqlPolicies,
    SqlGroups,
    SqlRoles,
    SqlRenames,
    SqlProtonTemplates,
    SqlProtonTags,
    SqlProtonRegistrations,
    SqlProtonComponents,
    SqlProtonEnvironments,
    SqlProtonDeployments,
    SqlProtonConnections,
    SqlProtonRepositories,
    SqlProtonSummary,
    SqlProtonServices,
    SqlProtonServiceInstances,
    SqlVpcEndpoints,
    SqlProfiles,
    SqlMfa,
):
    """All persistent state, over one SQLAlchemy engine and one master-key ring."""

    def __init__(
        self,
        engine: Engine,
        ring: MasterKeyRing,
        ring_source: Callable[[], MasterKeyRing] | None = None,
    ) -> None:
        self._engine = engine
        self._direct = DirectReads(engine)
        self._ring = ring
        self._ring_source = ring_source

    def reseal_secrets(self) -> int:
        """Seal every stored secret (access-key secrets, MFA seeds) again under the ring's
        active key; return how many. One transaction: every secret moves or none does."""
        with transactions.write(self._engine) as conn:
            return self._reseal_access_keys(conn) + self._reseal_mfa_seeds(conn)

    def _reload_ring(self) -> MasterKeyRing | None:
        """Re-read the ring from its source (the key file), keeping it if it changed."""
        if self._ring_source is None:
            return None
        fresh = self._ring_source()
        if fresh == self._ring:
            return None
        self._ring = fresh
        return fresh

    @property
    def ring(self) -> MasterKeyRing:
        """The master-key ring secrets (and session tokens) are sealed under."""
        return self._ring

    def reload_ring(self) -> MasterKeyRing | None:
        """Re-read the ring from its key file; the new ring if it changed, else ``None``."""
        return self._reload_ring()

    @property
    def engine(self) -> Engine:
        return self._engine

    def get_meta(self, key: str) -> str | None:
        with transactions.read(self._engine) as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()
        return value

    def set_meta(self, key: str, value: str) -> None:
        """Insert or replace one setting."""
        dialect = self._engine.dialect.name
        upsert: Insert
        if dialect == "sqlite":
            stmt = sqlite.insert(meta).values(key=key, value=value)
            upsert = stmt.on_conflict_do_update(index_elements=[meta.c.key], set_={"value": value})
        elif dialect == "postgresql":
            pg = postgresql.insert(meta).values(key=key, value=value)
            upsert = pg.on_conflict_do_update(index_elements=[meta.c.key], set_={"value": value})
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise NotImplementedError(dialect)
        with transactions.write(self._engine) as conn:
            conn.execute(upsert)

    def close(self) -> None:
        """Close every pooled connection (the WAL is checkpointed by SQLite on last close)."""
        self._direct.close()
        self._engine.dispose()
