"""Safe unpacking of template bundles: bytes in, files or BundleError out."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hadron.proton.bundle import (
    MAX_BUNDLE_BYTES,
    MAX_FILE_BYTES,
    MAX_MEMBERS,
    BundleError,
    load_yaml,
    unpack,
)
from tests.proton.bundles import tar_gz


def _member(name: str, kind: bytes, **attrs: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def test_files_and_wrapping_folder() -> None:
    files = {"schema/schema.yaml": "a", "infrastructure/manifest.yaml": "b"}
    assert dict(unpack(tar_gz(files)).files) == {k: v.encode() for k, v in files.items()}
    wrapped = unpack(tar_gz(files, prefix="my-template/"))
    assert set(wrapped.files) == set(files)
    dotted = unpack(tar_gz(files, prefix="./"))
    assert set(dotted.files) == set(files)
    assert dotted.under("infrastructure") == {"manifest.yaml": b"b"}
    assert dotted.top_level() == {"schema", "infrastructure"}


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil", "path traversal"),
        ("schema/../../evil", "path traversal"),
        ("/etc/passwd", "absolute paths"),
        ("C:/x", "absolute paths"),
        ("a\\b", "backslash"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "drive", "backslash"],
)
def test_bad_names(name: str, problem: str) -> None:
    with pytest.raises(BundleError, match=problem):
        unpack(tar_gz({name: "x"}))


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        (_member("schema/link", tarfile.SYMTYPE, linkname="/etc/passwd"), "symbolic link"),
        (_member("schema/inner", tarfile.SYMTYPE, linkname="schema.yaml"), "symbolic link"),
        (_member("schema/hard", tarfile.LNKTYPE, linkname="../../x"), "hard link"),
        (_member("dev", tarfile.CHRTYPE, devmajor=1, devminor=3), "device, FIFO"),
        (_member("blk", tarfile.BLKTYPE), "device, FIFO"),
        (_member("fifo", tarfile.FIFOTYPE), "device, FIFO"),
    ],
    ids=["symlink-out", "symlink-in", "hardlink", "chardev", "blockdev", "fifo"],
)
def test_links_and_special_files(member: tarfile.TarInfo, problem: str) -> None:
    data = tar_gz({"schema/schema.yaml": "x"}, extra=lambda a: a.addfile(member))
    with pytest.raises(BundleError, match=problem) as info:
        unpack(data)
    assert info.value.file == member.name


def test_limits() -> None:
    with pytest.raises(BundleError, match="the limit is 5242880"):
        unpack(b"\x1f\x8b" + b"\0" * MAX_BUNDLE_BYTES)
    with pytest.raises(BundleError, match="the limit is 204800"):
        unpack(tar_gz({"big": b"x" * (MAX_FILE_BYTES + 1)}))
    many = {f"f{i}": "" for i in range(MAX_MEMBERS + 1)}
    with pytest.raises(BundleError, match="more than 256 archive entries"):
        unpack(tar_gz(many))
    bomb = gzip.compress(b"\0" * (9 * 1024 * 1024))  # ~9 KB compressed
    with pytest.raises(BundleError, match="unpacks to more than"):
        unpack(bomb)


def test_corrupt_archives() -> None:
    with pytest.raises(BundleError, match="not a gzip-compressed tar"):
        unpack(b"PK\x03\x04 a zip file")
    good = tar_gz({"schema/schema.yaml": "x" * 2000})
    with pytest.raises(BundleError, match=r"truncated|corrupt"):
        unpack(good[: len(good) // 2])
    with pytest.raises(BundleError, match="not a valid tar archive"):
        unpack(gzip.compress(b"this is not a tar file" * 40))
    with pytest.raises(BundleError, match="no files"):
        unpack(gzip.compress(b"\0" * 1024))
    twice = tar_gz({"a": "1"}, extra=lambda t: t.addfile(tarfile.TarInfo("a"), io.BytesIO(b"")))
    with pytest.raises(BundleError, match="more than once"):
        unpack(twice)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_garbage_is_only_ever_a_bundle_error(data: bytes) -> None:
    for candidate in (data, gzip.compress(data, mtime=0), b"\x1f\x8b" + data):
        try:
            unpack(candidate)
        except BundleError:
            pass


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab./\\\0-_:", min_size=1, max_size=12),
            st.sampled_from(
                [
                    tarfile.REGTYPE,
                    tarfile.DIRTYPE,
                    tarfile.SYMTYPE,
                    tarfile.LNKTYPE,
                    tarfile.FIFOTYPE,
                    tarfile.CHRTYPE,
                ]
            ),
            st.binary(max_size=64),
        ),
        max_size=6,
    ),
    st.integers(min_value=0, max_value=600),
)
def test_any_archive_unpacks_safely_or_fails_cleanly(
    members: list[tuple[str, bytes, bytes]], cut: int
) -> None:
    def add(archive: tarfile.TarFile) -> None:
        for name, kind, data in members:
            info = _member(name, kind, size=len(data) if kind == tarfile.REGTYPE else 0,
                           linkname="x")  # fmt: skip
            try:
                archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
            except ValueError:  # names tarfile itself cannot write (NUL)
                pass

    data = tar_gz({}, extra=add)
    for candidate in (data, data[: len(data) - cut] if cut else data):
        try:
            bundle = unpack(candidate)
        except BundleError:
            continue
        for path in bundle.files:
            assert not path.startswith("/") and ".." not in path.split("/")


def test_yaml_loading() -> None:
    assert load_yaml(b"a: [1, 2]", "f.yaml") == {"a": [1, 2]}
    with pytest.raises(BundleError, match=r"f.yaml: is not valid YAML \(line 1"):
        load_yaml(b"a: [1, 2", "f.yaml")
    with pytest.raises(BundleError, match="aliases are not supported"):
        load_yaml(b"a: &x [1]\nb: *x\n", "f.yaml")
    with pytest.raises(BundleError, match="not UTF-8"):
        load_yaml(b"\xff\xfe", "f.yaml")
    with pytest.raises(BundleError, match="not valid YAML"):
        load_yaml(b"!!python/object:os.system ls", "f.yaml")
