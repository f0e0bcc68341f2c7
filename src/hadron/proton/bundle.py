"""Template bundles as bytes: safe tar.gz unpacking and YAML loading, without touching a disk.

Layer 4 (pure): no file system, sockets or clock; bytes in, frozen values out, or
:class:`BundleError` naming the file and the problem. Spec: proton.md §2.4 (registration
validation, limits), §5.1 (layout), §9 (quotas). Registration (``hadron.proton.registration``)
builds on this module, ``manifest`` and ``schema``.

Safety rules (the archive comes from a caller-controlled object):

* the compressed bundle is at most 5 MB, and decompression stops at :data:`MAX_UNPACKED_BYTES`
  (a gzip bomb costs at most that much memory);
* members are regular files or directories only: symbolic links, hard links, devices, FIFOs and
  sparse files are refused, wherever they point (there is no extraction, so nothing can follow
  them, but a bundle that needs them cannot be rendered faithfully either);
* names are relative POSIX paths without ``..`` components, backslashes, NUL or drive letters;
  a name may appear once; at most :data:`MAX_MEMBERS` members;
* a file is at most 200 KB (the largest file quota; manifest and schema limits are checked by
  registration).

The bundle root is the archive root, or — UNCONFIRMED (§12.8), tolerant — the single top-level
folder that wraps everything (``tar -czf b.tar.gz my-template/``) when it holds ``schema/``.
"""

from __future__ import annotations

import io
import posixpath
import re
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import yaml

__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_MEMBERS",
    "MAX_UNPACKED_BYTES",
    "Bundle",
    "BundleError",
    "load_yaml",
    "unpack",
]

MAX_BUNDLE_BYTES: Final = 5 * 1024 * 1024
"""§9: template bundle size (the compressed object)."""
MAX_UNPACKED_BYTES: Final = 8 * 1024 * 1024
"""Decompressed tar stream limit: 10 template files of 200 KB plus headroom, far below it."""
MAX_FILE_BYTES: Final = 200 * 1024
"""§9: any template file (manifest and schema have a lower limit, checked at registration)."""
MAX_MEMBERS: Final = 256
"""Archive entries (files and directories) accepted before giving up."""

_DRIVE = re.compile(r"^[A-Za-z]:")
_BUNDLE = "bundle"


class BundleError(Exception):
    """A bundle cannot be registered: ``file`` (a path in the bundle, or ``bundle``) and
    ``problem`` (what is wrong with it). ``str()`` is ``"<file>: <problem>"``."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Bundle:
    """The regular files of a bundle by path relative to the bundle root (``schema/schema.yaml``),
    and the directories it declares."""

    files: Mapping[str, bytes]
    directories: frozenset[str]

    def under(self, directory: str) -> dict[str, bytes]:
        """Files below ``directory`` (at any depth), keyed by their path inside it."""
        prefix = directory.rstrip("/") + "/"
        return {p[len(prefix) :]: d for p, d in self.files.items() if p.startswith(prefix)}

    def top_level(self) -> frozenset[str]:
        """The first path component of every file and directory."""
        names = [p.split("/", 1)[0] for p in self.files] + [
            d.split("/", 1)[0] for d in self.directories
        ]
        return frozenset(names)


def _gunzip(data: bytes) -> bytes:
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(
            _BUNDLE, f"the bundle is {len(data)} bytes; the limit is {MAX_BUNDLE_BYTES} (5 MB)"
        )
    if not data.startswith(b"\x1f\x8b"):
        raise BundleError(_BUNDLE, "not a gzip-compressed tar archive (.tar.gz)")
    out = bytearray()
    rest = data
    try:
        while rest:
            d = zlib.decompressobj(wbits=31)
            out += d.decompress(rest, MAX_UNPACKED_BYTES + 1 - len(out))
            if len(out) > MAX_UNPACKED_BYTES:
                raise BundleError(
                    _BUNDLE, f"unpacks to more than {MAX_UNPACKED_BYTES} bytes (8 MB)"
                )
            if not d.eof:
                raise BundleError(_BUNDLE, "the gzip stream is truncated")
            rest = d.unused_data
            if rest.strip(b"\0") == b"":  # trailing padding after the last member
                break
    except zlib.error as exc:
        raise BundleError(_BUNDLE, f"the gzip stream is corrupt ({exc})") from None
    return bytes(out)


def _member_path(name: str) -> str:
    """The normalised relative path of an archive member, or BundleError."""
    shown = name.replace("\0", "\\0")
    if "\0" in name or "\\" in name:
        raise BundleError(shown, "the name contains a backslash or NUL character")
    if name.startswith("/") or _DRIVE.match(name):
        raise BundleError(shown, "absolute paths are not allowed in a bundle")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BundleError(shown, "path traversal ('..') is not allowed in a bundle")
    path = posixpath.join(*parts) if parts else ""
    return path


def _read_members(raw: bytes) -> tuple[dict[str, bytes], set[str]]:
    files: dict[str, bytes] = {}
    directories: set[str] = set()
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            count = 0
            while (member := archive.next()) is not None:
                count += 1
                if count > MAX_MEMBERS:
                    raise BundleError(_BUNDLE, f"more than {MAX_MEMBERS} archive entries")
                path = _member_path(member.name)
                if member.issym() or member.islnk():
                    kind = "symbolic link" if member.issym() else "hard link"
                    raise BundleError(
                        path or member.name, f"is a {kind}; links are not allowed in a bundle"
                    )
                if member.isdir():
                    if path:
                        directories.add(path)
                    continue
                if not member.isreg() or member.issparse():
                    raise BundleError(
                        path or member.name,
                        "is a device, FIFO or other special file; only regular files and "
                        "directories are allowed",
                    )
                if not path:
                    raise BundleError(member.name, "a file needs a name")
                if path in files or path in directories:
                    raise BundleError(path, "appears more than once in the archive")
                if member.size > MAX_FILE_BYTES:
                    raise BundleError(
                        path, f"is {member.size} bytes; the limit is {MAX_FILE_BYTES} (200 KB)"
                    )
                handle = archive.extractfile(member)
                data = b"" if handle is None else handle.read(MAX_FILE_BYTES + 1)
                if len(data) != member.size:
                    raise BundleError(path, "the archive ends inside this file")
                files[path] = data
    except BundleError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError, zlib.error) as exc:
        raise BundleError(_BUNDLE, f"not a valid tar archive ({type(exc).__name__})") from None
    return files, directories


def _strip_wrapper(
    files: dict[str, bytes], directories: set[str]
) -> tuple[dict[str, bytes], set[str]]:
    """Drop a single top-level folder that wraps the whole bundle (tolerant discovery)."""
    tops = {p.split("/", 1)[0] for p in files} | {d.split("/", 1)[0] for d in directories}
    if len(tops) != 1 or "schema" in tops:
        return files, directories
    (top,) = tops
    prefix = top + "/"
    if not any(p.startswith(prefix + "schema/") for p in files):
        return files, directories  # not a wrapped bundle: let the layout check say what is wrong
    return (
        {p[len(prefix) :]: d for p, d in files.items()},
        {d[len(prefix) :] for d in directories if d.startswith(prefix)},
    )


def unpack(data: bytes) -> Bundle:
    """The files of a tar.gz bundle, checked against the safety rules above."""
    files, directories = _read_members(_gunzip(data))
    for path in files:  # a file may not also be used as a directory
        parent = posixpath.dirname(path)
        while parent:
            if parent in files:
                raise BundleError(parent, "is both a file and a directory in the archive")
            directories.add(parent)
            parent = posixpath.dirname(parent)
    files, directories = _strip_wrapper(files, directories)
    if not files:
        raise BundleError(_BUNDLE, "the archive contains no files")
    return Bundle(MappingProxyType(dict(sorted(files.items()))), frozenset(directories))


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases (no billion-laughs, no cyclic documents)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not supported", event.start_mark
            )
        return super().compose_node(parent, index)


def load_yaml(data: bytes, path: str) -> Any:
    """One YAML document from ``data`` (UTF-8, no aliases), or BundleError naming ``path``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(path, "is not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BundleError(path, f"is not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise BundleError(path, "is nested too deeply") from None
