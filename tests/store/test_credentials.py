"""Accounts, users and access keys in a real SQLite file."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from hadron.errors import EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.keys import MasterKeyRing, SealError, new_ring
from hadron.store import SqlStore, open_store
from hadron.store.schema import access_keys, users

from .conftest import ACCOUNT, NOW


def test_accounts(store: SqlStore) -> None:
    assert store.get_account(ACCOUNT) is None
    assert store.list_accounts() == []
    created = store.create_account(ACCOUNT, NOW)
    assert created.account_id == ACCOUNT and created.created_at == NOW
    store.create_account("000000000001", NOW)
    assert store.get_account(ACCOUNT) == created
    assert [a.account_id for a in store.list_accounts()] == ["000000000001", ACCOUNT]
    with pytest.raises(EntityAlreadyExists):
        store.create_account(ACCOUNT, NOW)
    with pytest.raises(ValueError):
        store.create_account("12345", NOW)


def test_naive_datetimes_are_refused(store: SqlStore) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.create_account(ACCOUNT, NOW.replace(tzinfo=None))
    assert store.get_account(ACCOUNT) is None


def test_users(store: SqlStore, account: str) -> None:
    user = store.create_user(account, "Alice", "/", NOW)
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", user.user_id)
    assert user.arn == f"arn:aws:iam::{account}:user/Alice"
    assert user.path == "/" and user.created_at == NOW
    assert store.get_user(account, "Alice") == user
    assert store.get_user(account, "alice") == user  # names are case-insensitive
    assert store.get_user(account, "Bob") is None
    assert store.get_user("000000000000", "Alice") is None
    dev = store.create_user(account, "bob", "/division/dev/", NOW)
    assert dev.arn == f"arn:aws:iam::{account}:user/division/dev/bob"


@pytest.mark.parametrize("name", ["Alice", "alice", "ALICE"])
def test_duplicate_user(store: SqlStore, account: str, name: str) -> None:
    store.create_user(account, "Alice", "/", NOW)
    with pytest.raises(EntityAlreadyExists) as info:
        store.create_user(account, name, "/", NOW)
    assert info.value.message == f"User with name {name} already exists."
    assert info.value.wire("query")[:2] == ("EntityAlreadyExists", 409)


def test_user_needs_account_and_valid_path(store: SqlStore, account: str) -> None:
    with pytest.raises(NoSuchEntity):
        store.create_user("000000000000", "Alice", "/", NOW)
    with pytest.raises(ValueError):
        store.create_user(account, "Alice", "no-slashes", NOW)


def test_access_key_lifecycle(store: SqlStore, account: str) -> None:
    store.create_user(account, "Alice", "/", NOW)
    key = store.create_access_key(account, "alice", NOW)
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key.access_key_id)
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", key.secret)
    assert (key.account_id, key.user_name, key.status) == (account, "Alice", "Active")
    assert key.secret not in repr(key)

    got = store.get_access_key(key.access_key_id)
    assert got == key
    assert store.get_access_key("AKIANOTAKEY000000000") is None
    assert store.list_access_keys(account, "Alice") == [key]

    store.set_access_key_status(key.access_key_id, "Inactive")
    inactive = store.get_access_key(key.access_key_id)
    assert inactive is not None and inactive.status == "Inactive"
    store.set_access_key_status(key.access_key_id, "Active")

    store.delete_access_key(key.access_key_id)
    assert store.get_access_key(key.access_key_id) is None
    assert store.list_access_keys(account, "Alice") == []


def test_access_key_not_found_messages(store: SqlStore, account: str) -> None:
    with pytest.raises(NoSuchEntity) as info:
        store.create_access_key(account, "Ghost", NOW)
    assert info.value.message == "The user with name Ghost cannot be found."
    with pytest.raises(NoSuchEntity) as info:
        store.list_access_keys(account, "Ghost")
    assert info.value.message == "The user with name Ghost cannot be found."
    with pytest.raises(NoSuchEntity) as info:
        store.set_access_key_status("AKIAGHOST", "Inactive")
    assert info.value.message == "The Access Key with id AKIAGHOST cannot be found."
    with pytest.raises(NoSuchEntity) as info:
        store.delete_access_key("AKIAGHOST")
    assert info.value.message == "The Access Key with id AKIAGHOST cannot be found."
    store.create_user(account, "Alice", "/", NOW)
    key = store.create_access_key(account, "Alice", NOW)
    with pytest.raises(ValueError):
        store.set_access_key_status(key.access_key_id, "Expired")  # type: ignore[arg-type]


def test_two_keys_per_user(store: SqlStore, account: str) -> None:
    store.create_user(account, "Alice", "/", NOW)
    store.create_user(account, "Bob", "/", NOW)
    first = store.create_access_key(account, "Alice", NOW)
    store.create_access_key(account, "Alice", NOW + timedelta(seconds=1))
    with pytest.raises(LimitExceeded) as info:
        store.create_access_key(account, "Alice", NOW)
    assert info.value.message == "Cannot exceed quota for AccessKeysPerUser: 2"
    assert info.value.wire("query")[:2] == ("LimitExceeded", 409)
    assert len(store.list_access_keys(account, "Alice")) == 2
    store.create_access_key(account, "Bob", NOW)  # the quota is per user
    store.delete_access_key(first.access_key_id)
    store.create_access_key(account, "Alice", NOW)  # room again after a delete


def test_key_quota_holds_under_concurrency(store: SqlStore, account: str) -> None:
    store.create_user(account, "Alice", "/", NOW)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            store.create_access_key(account, "Alice", NOW)
            result = "ok"
        except LimitExceeded:
            result = "limit"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["limit"] * 6 + ["ok"] * 2
    assert len(store.list_access_keys(account, "Alice")) == 2


def read_database_bytes(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(db_path.parent.glob(db_path.name + "*")))


def test_secrets_are_not_stored_in_plaintext(
    db_path: Path, ring: MasterKeyRing, store: SqlStore, account: str
) -> None:
    store.create_user(account, "Alice", "/", NOW)
    keys = [store.create_access_key(account, "Alice", NOW) for _ in range(2)]
    with store.engine.connect() as conn:
        stored = dict(
            conn.execute(select(access_keys.c.access_key_id, access_keys.c.secret_sealed)).all()
        )
    for key in keys:
        sealed = stored[key.access_key_id]
        assert isinstance(sealed, bytes)
        assert key.secret.encode() not in sealed
    # Both while the WAL is live and after the final checkpoint on close.
    for phase in ("open", "closed"):
        if phase == "closed":
            store.close()
        data = read_database_bytes(db_path)
        assert keys[0].access_key_id.encode() in data  # sanity: we are reading the right file
        for key in keys:
            assert key.secret.encode() not in data
            assert key.secret.encode("utf-16-le") not in data


def test_swapped_sealed_secrets_do_not_open(store: SqlStore, account: str) -> None:
    store.create_user(account, "Alice", "/", NOW)
    a = store.create_access_key(account, "Alice", NOW)
    b = store.create_access_key(account, "Alice", NOW)
    with store.engine.begin() as conn:
        sealed_b = conn.execute(
            select(access_keys.c.secret_sealed).where(
                access_keys.c.access_key_id == b.access_key_id
            )
        ).scalar_one()
        conn.execute(
            update(access_keys)
            .where(access_keys.c.access_key_id == a.access_key_id)
            .values(secret_sealed=sealed_b)
        )
    with pytest.raises(SealError):
        store.get_access_key(a.access_key_id)


def test_a_different_master_key_cannot_read_secrets(db_path: Path, store: SqlStore) -> None:
    store.create_account(ACCOUNT, NOW)
    store.create_user(ACCOUNT, "Alice", "/", NOW)
    key = store.create_access_key(ACCOUNT, "Alice", NOW)
    other = open_store(f"sqlite:///{db_path}", new_ring())
    try:
        with pytest.raises(SealError):
            other.get_access_key(key.access_key_id)
    finally:
        other.close()


def test_last_used_batch(store: SqlStore, account: str) -> None:
    store.create_user(account, "Alice", "/", NOW)
    a = store.create_access_key(account, "Alice", NOW)
    b = store.create_access_key(account, "Alice", NOW)
    assert a.last_used_at is None and a.last_used_service is None
    store.record_key_usage([])  # no-op
    later = NOW + timedelta(minutes=5)
    store.record_key_usage(
        [
            (a.access_key_id, NOW, "sts", "us-east-1"),
            (a.access_key_id, later, "proton", "eu-west-1"),
            (b.access_key_id, NOW, "iam", "us-east-1"),
            ("AKIADELETEDKEY000000", NOW, "sts", "us-east-1"),  # skipped silently
        ]
    )
    got_a = store.get_access_key(a.access_key_id)
    got_b = store.get_access_key(b.access_key_id)
    assert got_a is not None and got_b is not None
    assert (got_a.last_used_at, got_a.last_used_service, got_a.last_used_region) == (
        later,
        "proton",
        "eu-west-1",
    )
    assert (got_b.last_used_at, got_b.last_used_service) == (NOW, "iam")
    # An older use arriving late never moves last-used backwards.
    store.record_key_usage([(a.access_key_id, NOW, "sts", "us-east-1")])
    again = store.get_access_key(a.access_key_id)
    assert again is not None and again.last_used_at == later


def test_failed_write_leaves_nothing(store: SqlStore, account: str) -> None:
    store.create_user(account, "Alice", "/", NOW)

    def explode(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO access_keys"):
            raise RuntimeError("disk on fire")

    event.listen(store.engine, "after_cursor_execute", explode)
    try:
        with pytest.raises(RuntimeError, match="disk on fire"):
            store.create_access_key(account, "Alice", NOW)
    finally:
        event.remove(store.engine, "after_cursor_execute", explode)
    assert store.list_access_keys(account, "Alice") == []
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(access_keys)).scalar_one() == 0


def test_failed_batch_leaves_nothing(store: SqlStore, account: str) -> None:
    store.create_user(account, "Alice", "/", NOW)
    key = store.create_access_key(account, "Alice", NOW)
    with pytest.raises(Exception, match="naive datetime"):
        store.record_key_usage(
            [
                (key.access_key_id, NOW, "sts", "us-east-1"),
                (key.access_key_id, NOW.replace(tzinfo=None), "sts", "us-east-1"),
            ]
        )
    got = store.get_access_key(key.access_key_id)
    assert got is not None and got.last_used_at is None


def test_deleting_a_user_row_cascades_to_keys(store: SqlStore, account: str) -> None:
    # Foreign keys are enforced: no orphaned (and unreachable) secrets.
    store.create_user(account, "Alice", "/", NOW)
    key = store.create_access_key(account, "Alice", NOW)
    with store.engine.begin() as conn:
        conn.execute(users.delete())
    assert store.get_access_key(key.access_key_id) is None


def test_meta(store: SqlStore) -> None:
    assert store.get_meta("bootstrap") is None
    store.set_meta("bootstrap", "1")
    store.set_meta("bootstrap", "2")
    store.set_meta("other", "x")
    assert store.get_meta("bootstrap") == "2"
    assert store.get_meta("other") == "x"
