"""Master-key rotation with re-sealing, seen from a second store that still holds the old ring."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hadron.keys import SealError
from hadron.store import open_store
from hadron.store.masterkey import load_or_create_ring, read_ring, rotate_ring_file

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def test_reseal_moves_every_secret_and_a_stale_store_reloads_the_ring(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    url = f"sqlite:///{tmp_path / 'h.db'}"
    old_ring = load_or_create_ring(key_file)
    stale = open_store(url, old_ring, ring_source=lambda: read_ring(key_file))
    stale.create_account("111122223333", NOW)
    stale.create_user("111122223333", "alice", "/", NOW)
    key = stale.create_access_key("111122223333", "alice", NOW)

    new_ring = rotate_ring_file(key_file)
    rotator = open_store(url, new_ring)
    assert rotator.reseal_secrets() == 1
    # Sealed under the new key now: a store with only the old ring and no source fails closed...
    blind = open_store(url, old_ring)
    with pytest.raises(SealError):
        blind.get_access_key(key.access_key_id)
    # ...and one that can re-read the key file recovers by itself.
    reread = stale.get_access_key(key.access_key_id)
    assert reread is not None and reread.secret == key.secret
    for store in (stale, rotator, blind):
        store.close()
