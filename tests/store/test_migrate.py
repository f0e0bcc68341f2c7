"""Migrations run at open, are idempotent, and build exactly what schema.py describes."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import hadron.store
from hadron.keys import MasterKeyRing
from hadron.store import SqlStore, Store, open_store
from hadron.store.migrate import MIGRATIONS_DIR, current_revision, head_revision
from hadron.store.schema import metadata

from .conftest import ACCOUNT, NOW


def test_open_applies_migrations(store: SqlStore) -> None:
    assert head_revision() == "0013"
    assert current_revision(store.engine) == head_revision()
    tables = set(inspect(store.engine).get_table_names())
    assert {"accounts", "users", "access_keys", "meta", "alembic_version"} <= tables


def test_reopen_is_idempotent(db_path: Path, ring: MasterKeyRing) -> None:
    first = open_store(f"sqlite:///{db_path}", ring)
    first.create_account(ACCOUNT, NOW)
    first.close()
    second = open_store(f"sqlite:///{db_path}", ring)
    try:
        assert current_revision(second.engine) == head_revision()
        assert [a.account_id for a in second.list_accounts()] == [ACCOUNT]
    finally:
        second.close()


def test_migrated_schema_matches_metadata(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_connection_policy(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_foreign_keys_back_on_after_migrating(db_path: Path, ring: MasterKeyRing) -> None:
    # The migration connection switches enforcement off; it must not return to the pool that way.
    s = open_store(f"sqlite:///{db_path}", ring)
    try:
        for _ in range(3):
            with s.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        s.close()


def test_migrations_ship_in_the_package() -> None:
    assert MIGRATIONS_DIR.is_relative_to(Path(hadron.store.__file__).parent)
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_credentials.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0002_iam.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0003_groups.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0004_roles.py").is_file()


def test_sql_store_satisfies_the_protocol(store: SqlStore) -> None:
    typed: Store = store  # checked by mypy
    assert typed is store


def test_exported_members() -> None:
    public = {name for name in dir(hadron.store) if not name.startswith("_")}
    assert set(hadron.store.__all__) <= public
    assert "Store" in hadron.store.__all__
    assert "open_store" in hadron.store.__all__
