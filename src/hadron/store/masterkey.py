"""The master-key file: create it safely, refuse it when others can read it, rotate it.

Layer 3 (store, edge: file I/O). The ring's format and cryptography live in ``hadron.keys``.

* A missing file is created with mode 0600 without a window where it exists half-written or
  readable by others: the ring is written to a temporary file opened ``O_CREAT|O_EXCL`` with mode
  0600, synced, then hard-linked to its final name (``link`` fails if the name exists, so two
  processes starting together end up sharing the first ring instead of overwriting it).
* An existing file whose mode grants any group/other permission is refused, as ssh does for
  private keys: the database is useless to an attacker only while this file stays private.
* Rotation writes a new file and ``os.replace``s it over the old one.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from hadron.keys import RNG, MasterKeyRing, dump_ring, load_ring, new_ring, rotate

__all__ = ["InsecureKeyFile", "load_or_create_ring", "read_ring", "rotate_ring_file"]


class InsecureKeyFile(Exception):
    """The master-key file is readable or writable by users other than its owner."""


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def read_ring(path: Path) -> MasterKeyRing:
    """Load the ring from ``path``; raise :class:`InsecureKeyFile` if its mode is not private."""
    fd = os.open(path, os.O_RDONLY)
    try:
        # fstat on the opened file: no race between the permission check and the read.
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InsecureKeyFile(f"{path} is not a regular file")
        if mode & 0o077:
            raise InsecureKeyFile(
                f"{path} has mode {stat.S_IMODE(mode):04o}; it must not be accessible by group "
                f"or others (chmod 600 {path})"
            )
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    try:
        return load_ring(b"".join(chunks))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_or_create_ring(path: Path, rng: RNG = os.urandom) -> MasterKeyRing:
    """Read the ring at ``path``, creating a new one-key ring (mode 0600) if there is none."""
    if path.exists():
        return read_ring(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = _temp_name(path)
    _write_private(temp, dump_ring(new_ring(rng)))
    try:
        os.link(temp, path)
    except FileExistsError:
        pass  # another process created it first: use theirs
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    _fsync_dir(path.parent)
    return read_ring(path)


def rotate_ring_file(path: Path, rng: RNG = os.urandom) -> MasterKeyRing:
    """Add a new active key to the ring file; old keys stay so existing secrets still open.

    Running servers keep their old ring until restarted; secrets they seal meanwhile use the old
    active key, which the rotated ring still holds.
    """
    ring = rotate(read_ring(path), rng)
    temp = _temp_name(path)
    _write_private(temp, dump_ring(ring))
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_dir(path.parent)
    return ring
