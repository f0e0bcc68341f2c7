"""MFA device steps over a real SQLite store: a TOTP step is accepted once, never an older one,
and only for an assigned device (the conditional UPDATE that makes replays fail even when two
requests race)."""

from __future__ import annotations

from hadron.store import SqlStore

from .conftest import NOW


def test_a_step_is_used_once_and_never_an_older_one(store: SqlStore, account: str) -> None:
    store.create_user(account, "alice", "/", NOW)
    device = store.create_virtual_mfa_device(account, "phone", "/", b"s" * 40, NOW)
    serial = device.serial_number
    assert not store.use_mfa_step(account, serial, 10)  # not assigned to anyone yet
    store.enable_mfa_device(account, "alice", serial, NOW, drift=0, last_step=10)
    assert not store.use_mfa_step(account, serial, 10)  # EnableMFADevice's second code
    assert store.use_mfa_step(account, serial, 11)
    assert not store.use_mfa_step(account, serial, 11)
    assert not store.use_mfa_step(account, serial, 9)
    assert store.use_mfa_step(account, serial, 13)
    store.resync_mfa_device(account, "alice", serial, drift=2, last_step=20)
    assert not store.use_mfa_step(account, serial, 20)
    assert store.use_mfa_step(account, serial, 21)
    store.deactivate_mfa_device(account, "alice", serial)
    assert not store.use_mfa_step(account, serial, 30)
    assert not store.use_mfa_step(account, f"arn:aws:iam::{account}:mfa/none", 30)
