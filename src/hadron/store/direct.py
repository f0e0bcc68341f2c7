"""Direct reads: a hot read path's SELECTs, compiled once, run on the SQLite driver itself.

Layer 3 (store, edge). SQLAlchemy Core spends most of a one-row read on its per-call machinery:
pool checkout, the ``begin`` event, compiled-cache lookup, result-proxy set-up, commit, checkin.
For the few reads every request of a busy operation makes (GetService), :class:`DirectReads`
keeps one ``sqlite3`` connection per thread (configured with the same PRAGMAs as the engine's
pool, ``hadron.store.sqlite``), and runs each statement's SQL as SQLAlchemy compiled it for the
dialect, applying the same bind and result processors, so a row holds exactly the values the
engine would have returned (a test compares both on every statement that uses this).

Reads inside one :meth:`DirectReads.snapshot` share one read transaction (WAL: one consistent
snapshot, never blocking the writer). Anything but a file SQLite database (PostgreSQL, an
in-memory or URI database) falls back to an ordinary ``transactions.read`` connection with the
same interface, so callers never branch on the dialect.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Select

from hadron.store import transactions
from hadron.store.sqlite import PRAGMAS

__all__ = ["DirectReads", "Reader"]

_Processor = Callable[[Any], Any] | None


class Reader(Protocol):
    """What a snapshot offers: the first row of a prepared SELECT (attribute access by column
    key, like a SQLAlchemy ``Row``), or ``None``; or every row, in the statement's order."""

    def first(self, stmt: Select[Any], params: Mapping[str, Any]) -> Any: ...

    def all(self, stmt: Select[Any], params: Mapping[str, Any]) -> list[Any]: ...


class _Compiled:
    """One statement compiled for one dialect: SQL text, bind order and processors, row type."""

    __slots__ = ("binds", "row", "sql")

    def __init__(self, stmt: Select[Any], engine: Engine) -> None:
        dialect = engine.dialect
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        order = compiled.positiontup or ()
        binds: list[tuple[str, _Processor, Any]] = []
        for name in order:
            param = compiled.binds[name]
            processor = param.type._cached_bind_processor(dialect)
            binds.append((param.key, processor, param.value))  # value: a literal's own
        self.binds = tuple(binds)
        keys: list[str] = []
        processors: list[_Processor] = []
        for column in stmt.selected_columns:
            keys.append(str(column.key))
            processors.append(column.type._cached_result_processor(dialect, None))
        row_class = namedtuple("Row", keys, rename=False)  # type: ignore[misc]
        procs = tuple(processors)
        build: Callable[[Any], Any] = row_class._make
        if any(p is not None for p in procs):

            def make(raw: tuple[Any, ...]) -> Any:
                return build([v if p is None else p(v) for p, v in zip(procs, raw, strict=True)])

            self.row: Callable[[tuple[Any, ...]], Any] = make
        else:
            self.row = build

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for key, proc, value in self.binds:
            given = params.get(key, value)
            out.append(given if proc is None else proc(given))
        return tuple(out)


class _DirectReader:
    __slots__ = ("_compile", "_conn")

    def __init__(self, conn: sqlite3.Connection, compile_: Callable[[Select[Any]], _Compiled]):
        self._conn = conn
        self._compile = compile_

    def first(self, stmt: Select[Any], params: Mapping[str, Any]) -> Any:
        query = self._compile(stmt)
        raw = self._conn.execute(query.sql, query.arguments(params)).fetchone()
        return None if raw is None else query.row(raw)

    def all(self, stmt: Select[Any], params: Mapping[str, Any]) -> list[Any]:
        query = self._compile(stmt)
        row = query.row
        return [row(raw) for raw in self._conn.execute(query.sql, query.arguments(params))]


class _EngineReader:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def first(self, stmt: Select[Any], params: Mapping[str, Any]) -> Any:
        return self._conn.execute(stmt, dict(params)).first()

    def all(self, stmt: Select[Any], params: Mapping[str, Any]) -> list[Any]:
        return list(self._conn.execute(stmt, dict(params)).all())


class DirectReads:
    """Per-thread direct SQLite connections for hot reads, over one engine's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        url = engine.url
        database = url.database
        self._path = (
            database
            if engine.dialect.name == "sqlite"
            and database
            and database != ":memory:"
            and not database.startswith("file:")
            and not url.query
            else None
        )
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[sqlite3.Connection] = []
        # Compiled statements by the statement object (module constants: kept alive, so ids
        # stay theirs; the dict holds the statement too, to make that so for any caller).
        self._compiled: dict[int, tuple[Select[Any], _Compiled]] = {}

    def _compile(self, stmt: Select[Any]) -> _Compiled:
        found = self._compiled.get(id(stmt))
        if found is not None and found[0] is stmt:
            return found[1]
        compiled = _Compiled(stmt, self._engine)
        with self._lock:
            self._compiled[id(stmt)] = (stmt, compiled)
        return compiled

    def _connection(self, path: str) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit at the driver (isolation_level None): BEGIN/COMMIT are ours, as for the
            # engine's connections. Only this thread uses it; close() may come from another.
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            for pragma in PRAGMAS:
                conn.execute(pragma)
            with self._lock:
                self._open.append(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[Reader]:
        """A read transaction: every read in the block sees the same committed state."""
        path = self._path
        if path is None:
            with transactions.read(self._engine) as engine_conn:
                yield _EngineReader(engine_conn)
            return
        conn = self._connection(path)
        conn.execute("BEGIN")
        try:
            yield _DirectReader(conn, self._compile)
        finally:
            conn.execute("COMMIT")  # a read transaction: nothing to roll back

    def first(self, stmt: Select[Any], params: Mapping[str, Any]) -> Any:
        """The first row of one statement (a statement alone is its own snapshot)."""
        path = self._path
        if path is None:
            with transactions.read(self._engine) as engine_conn:
                return _EngineReader(engine_conn).first(stmt, params)
        return _DirectReader(self._connection(path), self._compile).first(stmt, params)

    def all(self, stmt: Select[Any], params: Mapping[str, Any]) -> list[Any]:
        """Every row of one statement (a statement alone is its own snapshot)."""
        path = self._path
        if path is None:
            with transactions.read(self._engine) as engine_conn:
                return _EngineReader(engine_conn).all(stmt, params)
        return _DirectReader(self._connection(path), self._compile).all(stmt, params)

    def close(self) -> None:
        """Close every direct connection (a later read opens a new one)."""
        with self._lock:
            opened, self._open = self._open, []
        for conn in opened:
            conn.close()
        self._local = threading.local()
