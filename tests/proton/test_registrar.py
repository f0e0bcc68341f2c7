"""The registration worker over a real SQLite store and real local buckets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hadron.keys import new_ring
from hadron.proton.registrar import Registrar
from hadron.proton.sources import LocalBuckets
from hadron.store import SqlStore, open_store
from hadron.store.proton_records import VersionRef
from tests.proton.bundles import example_bundle

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path / 'hadron.db'}", new_ring())
    s.create_account(ACCOUNT, NOW)
    s.create_proton_template(
        ACCOUNT, REGION, "environment", "env", display_name=None, description=None,
        encryption_key=None, provisioning=None, tags=(), request_hash="h", now=NOW,
        max_templates=100,
    )  # fmt: skip
    try:
        yield s
    finally:
        s.close()


def _version(store: SqlStore, key: str) -> VersionRef:
    return store.create_template_version(
        ACCOUNT, REGION, "environment", "env", None, description=None, source_bucket="b-1",
        source_key=key, tags=(), operation="Op", client_token=None, request_hash="r", now=NOW,
        max_versions=500,
    ).ref  # fmt: skip


def _status(store: SqlStore, ref: VersionRef) -> tuple[str, str | None]:
    found = store.get_template_version(ref)
    assert found is not None
    return found.status, found.status_message


class _BrokenSource:
    def fetch(self, bucket: str, key: str) -> bytes:
        raise RuntimeError("disk on fire")


def test_start_resumes_pending_versions_and_the_thread_registers_new_ones(
    store: SqlStore, tmp_path: Path
) -> None:
    buckets = LocalBuckets(tmp_path / "buckets")
    buckets.put("b-1", "ok.tar.gz", example_bundle("environment-template"))
    left_over = _version(store, "ok.tar.gz")  # as if a previous process had crashed
    registrar = Registrar(store, buckets, lambda: NOW)
    registrar.start()
    try:
        fresh = _version(store, "missing.tar.gz")
        registrar.submit(fresh)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and store.pending_registrations():
            time.sleep(0.05)
    finally:
        registrar.stop()
    assert _status(store, left_over) == ("DRAFT", "")
    assert store.get_template_bundle(left_over) == example_bundle("environment-template")
    assert _status(store, fresh) == (
        "REGISTRATION_FAILED",
        "s3://b-1/missing.tar.gz: the object does not exist",
    )


def test_unexpected_errors_fail_the_version_and_the_worker_goes_on(store: SqlStore) -> None:
    first, second = _version(store, "a"), _version(store, "b")
    registrar = Registrar(store, _BrokenSource(), lambda: NOW)
    registrar.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and store.pending_registrations():
        time.sleep(0.05)
    registrar.stop()
    for ref in (first, second):
        assert _status(store, ref) == (
            "REGISTRATION_FAILED",
            "bundle: registration failed because of an internal error",
        )


def test_finished_or_deleted_versions_are_skipped(store: SqlStore, tmp_path: Path) -> None:
    ref = _version(store, "x")
    assert store.finish_registration(ref, schema=None, input_schemas=None, bundle=None,
                                     failure="done", now=NOW)  # fmt: skip
    registrar = Registrar(store, _BrokenSource(), lambda: NOW)
    registrar.register(ref)  # already finished: nothing happens
    assert _status(store, ref) == ("REGISTRATION_FAILED", "done")
    store.delete_template_version(ref, NOW)
    registrar.register(ref)  # gone: nothing happens
    assert store.get_template_version(ref) is None
