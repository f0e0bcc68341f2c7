"""Fixtures: a real SQLite store in ``tmp_path`` with one account and user ``alice``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hadron.keys import new_ring
from hadron.store import SqlStore, open_store

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path / 'hadron.db'}", new_ring())
    s.create_account(ACCOUNT, NOW)
    s.create_user(ACCOUNT, "alice", "/", NOW)
    try:
        yield s
    finally:
        s.close()
