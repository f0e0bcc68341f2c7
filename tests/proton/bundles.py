"""Build template bundles (tar.gz bytes) for tests, from dicts or from ``examples/``."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def tar_gz(
    files: Mapping[str, bytes | str],
    *,
    extra: Callable[[tarfile.TarFile], None] | None = None,
    prefix: str = "",
) -> bytes:
    """A gzipped tar holding ``files`` (path → content) under ``prefix``; ``extra`` may add
    further members (links, devices, …) to the open archive."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(prefix + path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        if extra is not None:
            extra(archive)
    return gzip.compress(raw.getvalue(), mtime=0)


def example_files(name: str) -> dict[str, bytes]:
    root = EXAMPLES / name
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def example_bundle(name: str) -> bytes:
    """``examples/<name>`` packed as ``tar -czf … -C examples/<name> .`` would."""
    return tar_gz(example_files(name))
