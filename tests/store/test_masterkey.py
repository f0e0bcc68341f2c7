"""The master-key file: created 0600, refused when others can read it, rotated in place."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hadron.keys import open_sealed, seal
from hadron.store.masterkey import (
    InsecureKeyFile,
    load_or_create_ring,
    read_ring,
    rotate_ring_file,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    ring = load_or_create_ring(path)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert load_or_create_ring(path) == ring  # second start reads the same ring
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left


def test_created_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "master.key"
        load_or_create_ring(path)
    finally:
        os.umask(old)
    assert mode(path) == 0o600


@pytest.mark.parametrize("bad_mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_refused_when_group_or_world_accessible(tmp_path: Path, bad_mode: int) -> None:
    path = tmp_path / "master.key"
    load_or_create_ring(path)
    path.chmod(bad_mode)
    with pytest.raises(InsecureKeyFile, match="chmod 600"):
        load_or_create_ring(path)
    with pytest.raises(InsecureKeyFile):
        rotate_ring_file(path)


def test_0400_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    ring = load_or_create_ring(path)
    path.chmod(0o400)
    assert read_ring(path) == ring


def test_not_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    os.mkfifo(path, 0o600)
    with pytest.raises(InsecureKeyFile, match="regular file"):
        # O_RDONLY on a FIFO would block without a writer: open a writer first.
        fd = os.open(path, os.O_RDWR)
        try:
            read_ring(path)
        finally:
            os.close(fd)


def test_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"{}")
    os.close(fd)
    with pytest.raises(ValueError, match=r"master\.key"):
        load_or_create_ring(path)


def test_rotate_keeps_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    ring = load_or_create_ring(path)
    envelope = seal(ring, b"secret", aad=b"AKIA1")
    rotated = rotate_ring_file(path)
    assert mode(path) == 0o600
    assert rotated.active_id == "k2"
    assert read_ring(path) == rotated
    assert open_sealed(rotated, envelope, aad=b"AKIA1") == b"secret"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]
