"""Fixtures: a real SQLite store in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hadron.keys import MasterKeyRing, new_ring
from hadron.store import SqlStore, open_store

NOW = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
ACCOUNT = "123456789012"


@pytest.fixture
def ring() -> MasterKeyRing:
    return new_ring()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hadron.db"


@pytest.fixture
def store(db_path: Path, ring: MasterKeyRing) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{db_path}", ring)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def account(store: SqlStore) -> str:
    store.create_account(ACCOUNT, NOW)
    return ACCOUNT
