"""SQLite connection policy: WAL journal, enforced foreign keys, busy timeout, real transactions.

Layer 3 (store, edge). Every pooled connection gets, on connect:

* ``journal_mode=WAL`` - readers never block the writer and vice versa;
* ``foreign_keys=ON`` - SQLite leaves them off by default, per connection;
* ``busy_timeout=5000`` - wait up to 5 s for the write lock instead of failing at once;
* ``synchronous=NORMAL`` - durable across application crashes in WAL mode; a power loss can
  lose the last transactions but never corrupts the database.

Python's ``sqlite3`` module (3.11) emits ``BEGIN`` only before DML, so a ``SELECT`` that precedes
an ``INSERT`` (quota checks) would run outside the transaction. As SQLAlchemy's documentation
recommends, the driver's own transaction handling is turned off and SQLAlchemy's ``begin`` event
emits ``BEGIN`` itself. A connection carrying the execution option ``sqlite_begin="IMMEDIATE"``
takes the write lock at ``BEGIN``, so check-then-write sequences are serialised between writers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

__all__ = ["BEGIN_OPTION", "create_sqlite_engine"]

BEGIN_OPTION = "sqlite_begin"
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    if mode not in _BEGIN_MODES:
        raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


def create_sqlite_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for a ``sqlite://`` URL with the connection policy above installed."""
    engine = create_engine(url, **kwargs)
    if engine.dialect.name != "sqlite":
        raise ValueError("create_sqlite_engine needs a sqlite:// URL")
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine
