"""Bring a database to the newest schema with Alembic, configured in code (no alembic.ini).

Layer 3 (store, edge). The migration scripts ship inside the package (``store/migrations``), so an
installed Hadron migrates its own database at start-up: ``upgrade(engine)`` is idempotent and runs
every pending revision in one transaction (SQLite and PostgreSQL both have transactional DDL), so a
failed migration leaves the previous schema intact.

On SQLite, foreign-key enforcement is switched off for the duration (it cannot change inside a
transaction) because Alembic's batch mode rebuilds tables with DROP/CREATE, and a DROP of a parent
table with ``ON DELETE CASCADE`` children would otherwise delete the children's rows.
``PRAGMA foreign_key_check`` runs before commit instead.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from hadron.store.sqlite import BEGIN_OPTION

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations; ``connection`` is used by env.py."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this version of Hadron."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _raw_pragma(conn: Connection, pragma: str) -> None:
    # Straight to the driver connection, outside any transaction: going through SQLAlchemy would
    # autobegin first, and foreign_keys cannot change inside a transaction.
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a checked-out connection always has one
        raise RuntimeError("connection has no DBAPI connection")
    cursor = dbapi.cursor()
    try:
        cursor.execute(pragma)
    finally:
        cursor.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` in a single transaction."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            _raw_pragma(conn, "PRAGMA foreign_keys=OFF")
            conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        try:
            with conn.begin():
                command.upgrade(alembic_config(conn), revision)
                if sqlite:
                    violations = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if violations:
                        raise RuntimeError(f"migration left foreign key violations: {violations}")
        finally:
            if sqlite:
                conn.execution_options(**{BEGIN_OPTION: "DEFERRED"})
                _raw_pragma(conn, "PRAGMA foreign_keys=ON")
