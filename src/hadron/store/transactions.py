"""Unit-of-work helpers: every store method runs in exactly one of these transactions.

Layer 3 (store, edge). A write transaction commits when its block ends and rolls back on any
exception, so a failure never leaves half a change behind. On SQLite a write transaction starts
with ``BEGIN IMMEDIATE`` (see ``hadron.store.sqlite``) so that a check followed by a write (quota,
uniqueness) cannot interleave with another writer; on PostgreSQL the same code relies on row locks
(``SELECT ... FOR UPDATE``, which SQLite's compiler omits) and unique constraints.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from hadron.store.sqlite import BEGIN_OPTION

__all__ = ["read", "write"]


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A connection inside a write transaction, committed on success, rolled back on error."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            yield conn


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A connection inside a read transaction (one consistent snapshot for several queries)."""
    with engine.connect() as conn, conn.begin():
        yield conn
