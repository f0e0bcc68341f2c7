"""The audit log on disk: hash-chained JSON lines in daily files, plus a head file.

Layer 1 (edge: file I/O and threads). The record format and the chain are pure functions in
``hadron.audit``; this module only orders, writes, resumes and reads.

Layout of the audit directory (mode 0700; files 0600)::

    2026-12-03.jsonl   one chained record per line, in sequence order
    2026-12-04.jsonl
    head.json          {"sequence": n, "hash": h, ...}: the last record written

* ``append`` is on the request path: it encodes the record, links it under a lock (a SHA-256 of
  about a kilobyte) and queues the line. No I/O.
* ``flush`` (a background task, or ``append`` when too much is queued) writes the queue with one
  ``write`` per daily file, then replaces ``head.json`` atomically (temporary file +
  ``os.replace``). Lines reach the file before the head names them, so after a crash the head
  is at most behind the files, never ahead of them.
* The daily file is the record's ``eventTime`` date (UTC) but never earlier than the file written
  last: records are appended in chain order, and a record finishing just after midnight must not
  be followed by one dated the day before in an earlier file, or reading the files in date order
  would see the chain out of order.
* On open, the chain resumes from the later of ``head.json`` and the last line on disk. A torn
  last line (crash mid-write) is completed if it is a whole record and cut off otherwise. A head
  ahead of the files (a truncated log) is kept, so the gap stays visible to ``verify_directory``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from hadron.audit import GENESIS, VerifyResult, canonical_json, link_canonical, verify_lines

__all__ = ["HEAD_FILE", "AuditLog", "AuditLogError", "verify_directory"]

log = logging.getLogger(__name__)

HEAD_FILE = "head.json"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOG_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.jsonl")
_TAIL_CHUNK = 64 * 1024


class AuditLogError(Exception):
    """The audit directory cannot be resumed safely (run ``hadron audit verify``)."""


def _log_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if _LOG_FILE.fullmatch(p.name) and p.is_file())


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_head(directory: Path) -> tuple[int, str] | None:
    """The head's (sequence, hash); ``None`` if absent; ``AuditLogError`` if unreadable."""
    try:
        doc = json.loads((directory / HEAD_FILE).read_bytes())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise AuditLogError(f"{HEAD_FILE} is not valid JSON") from exc
    if not isinstance(doc, dict):
        raise AuditLogError(f"{HEAD_FILE} is not an object")
    sequence, digest = doc.get("sequence"), doc.get("hash")
    if type(sequence) is not int or not isinstance(digest, str):
        raise AuditLogError(f"{HEAD_FILE} lacks an integer sequence and a string hash")
    return sequence, digest


def _chain_of(line: bytes) -> tuple[int, str] | None:
    """(sequence, hash) stated by a log line, without verifying it."""
    try:
        doc = json.loads(line)
        chain = doc["chain"]
        sequence, digest = chain["sequence"], chain["hash"]
    except (ValueError, TypeError, KeyError):
        return None
    if type(sequence) is not int or not isinstance(digest, str):
        return None
    return sequence, digest


def _last_line(path: Path) -> bytes | None:
    """The last complete line of ``path`` (without newline), repairing a torn final line."""
    with path.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return None
        # Walk back in chunks to the newline before the last line.
        end, buffer = size, b""
        while True:
            start = max(0, end - _TAIL_CHUNK)
            f.seek(start)
            buffer = f.read(end - start) + buffer
            end = start
            cut = buffer.rfind(b"\n", 0, len(buffer) - 1)
            if cut >= 0 or start == 0:
                break
        if not buffer.endswith(b"\n"):
            fragment = buffer[cut + 1 :]
            if _chain_of(fragment) is not None:
                log.warning("audit: completing a record torn before its newline in %s", path)
                f.seek(0, os.SEEK_END)
                f.write(b"\n")
                return fragment
            log.warning("audit: cutting a torn final line (%d bytes) off %s", len(fragment), path)
            f.truncate(size - len(fragment))
            return _last_line(path) if size - len(fragment) > 0 else None
        return buffer[cut + 1 : -1]


class AuditLog:
    """Appends chained records to the daily files of ``directory``; safe to use from threads."""

    def __init__(
        self,
        directory: Path,
        clock: Callable[[], datetime],
        *,
        fsync: bool = False,
        max_pending: int = 10_000,
    ) -> None:
        self._dir = directory
        self._clock = clock
        self._fsync = fsync
        self._max_pending = max_pending
        self._state_lock = threading.Lock()  # chain state and queue
        self._write_lock = threading.Lock()  # file writes, one flush at a time, in order
        self._pending: list[tuple[str, str]] = []  # (day, line)
        self._closed = False
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.stat().st_mode & 0o077:
            directory.chmod(0o700)
        self._sequence, self._hash, self._day = self._resume()

    @property
    def head(self) -> tuple[int, str]:
        """The last (sequence, hash) appended, flushed or not."""
        with self._state_lock:
            return self._sequence, self._hash

    def append(self, event: dict[str, Any]) -> None:
        """Link ``event`` into the chain and queue its line (no I/O unless the queue is full)."""
        canonical = canonical_json(event)  # outside the lock: the costly part
        when = event.get("eventTime")
        if isinstance(when, str) and _DAY.fullmatch(when[:10]):
            day = when[:10]
        else:
            day = self._clock().strftime("%Y-%m-%d")
        with self._state_lock:
            if self._closed:
                raise AuditLogError("audit log is closed")
            sequence = self._sequence + 1
            line, digest = link_canonical(self._hash, sequence, canonical)
            self._day = max(self._day, day)
            self._pending.append((self._day, line))
            self._sequence, self._hash = sequence, digest
            full = len(self._pending) >= self._max_pending
        if full:
            self.flush()

    def flush(self) -> None:
        """Write queued lines to their daily files, then record the new head."""
        with self._write_lock:
            with self._state_lock:
                pending, self._pending = self._pending, []
                head = (self._sequence, self._hash)
            if not pending:
                return
            groups: dict[str, list[str]] = {}
            for day, line in pending:
                groups.setdefault(day, []).append(line)
            written = 0
            try:
                for day, lines in groups.items():
                    fd = self._open_append(f"{day}.jsonl")
                    try:
                        _write_all(fd, "".join(f"{x}\n" for x in lines).encode("utf-8"))
                        written += len(lines)
                        if self._fsync:
                            os.fsync(fd)
                    finally:
                        os.close(fd)
            except BaseException:
                # Requeue, in order, what never reached a file, for the next flush. (A write that
                # failed part-way leaves a torn line, which verification will report.)
                with self._state_lock:
                    self._pending[:0] = pending[written:]
                raise
            self._write_head(head, f"{pending[-1][0]}.jsonl")

    def close(self) -> None:
        """Flush and refuse further appends."""
        with self._state_lock:
            self._closed = True
        self.flush()

    # --- files ------------------------------------------------------------------------------------

    def _open_append(self, name: str) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        return os.open(self._dir / name, flags, 0o600)

    def _write_head(self, head: tuple[int, str], file_name: str | None) -> None:
        doc = {
            "sequence": head[0],
            "hash": head[1],
            "file": file_name,
            "updatedAt": self._clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        temp = self._dir / f".{HEAD_FILE}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(temp, flags, 0o600)
        try:
            _write_all(fd, (json.dumps(doc, sort_keys=True) + "\n").encode("utf-8"))
            if self._fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, self._dir / HEAD_FILE)

    def _resume(self) -> tuple[int, str, str]:
        """(sequence, hash, day of the newest file) to continue the chain from."""
        head = _read_head(self._dir)
        files = _log_files(self._dir)
        day = files[-1].name[:10] if files else ""
        last: tuple[int, str] | None = None
        for path in reversed(files):
            line = _last_line(path)
            if line is None:
                continue  # an empty file; look at the one before
            last = _chain_of(line)
            if last is None and head is None:
                raise AuditLogError(
                    f"the last line of {path.name} is not an audit record and {HEAD_FILE} is "
                    "missing: cannot tell where the chain ends"
                )
            break
        if last is not None and (head is None or last[0] > head[0]):
            if head is not None:
                log.warning("audit: head at %d behind the log at %d; resuming", head[0], last[0])
            self._write_head(last, files[-1].name if files else None)
            return last[0], last[1], day
        if head is not None:
            if last is None or last != head:
                log.warning("audit: log does not end at the head; run `hadron audit verify`")
            return head[0], head[1], day
        return 0, GENESIS, day


def _directory_lines(files: list[Path]) -> Iterator[tuple[str, int, str]]:
    for path in files:
        with path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                line = raw[:-1] if raw.endswith(b"\n") else raw
                yield path.name, number, line.decode("utf-8", errors="surrogateescape")


def verify_directory(directory: Path, *, require_head: bool = True) -> VerifyResult:
    """Verify every daily file of ``directory`` in date order against ``head.json``.

    With ``require_head``, a log with records but no head fails: without it a truncated tail
    could not be detected.
    """
    try:
        head = _read_head(directory)
    except AuditLogError as exc:
        return VerifyResult(False, 0, HEAD_FILE, str(exc))
    result = verify_lines(_directory_lines(_log_files(directory)), head)
    if result.ok and head is None and require_head and result.records:
        return VerifyResult(
            False, result.records, HEAD_FILE, f"{HEAD_FILE} is missing (tail cannot be checked)"
        )
    return result
