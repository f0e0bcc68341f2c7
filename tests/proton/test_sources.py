"""The local bucket directory: s3://bucket/key → DATA/buckets/bucket/key, and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from hadron.proton.bundle import MAX_BUNDLE_BYTES
from hadron.proton.sources import BundleFetchError, LocalBuckets, parse_s3_url


def test_put_then_fetch(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path / "buckets")
    path = buckets.put("templates", "env/v1.tar.gz", b"bundle")
    assert path == tmp_path / "buckets" / "templates" / "env" / "v1.tar.gz"
    assert buckets.fetch("templates", "env/v1.tar.gz") == b"bundle"
    buckets.put("templates", "env/v1.tar.gz", b"newer")
    assert buckets.fetch("templates", "env/v1.tar.gz") == b"newer"
    assert [p.name for p in path.parent.iterdir()] == ["v1.tar.gz"]  # no temporary left


@pytest.mark.parametrize(
    "key", ["../outside", "a/../../outside", "/abs", "a//b", "a/./b", "", "nul\0"]
)
def test_keys_cannot_leave_the_bucket(tmp_path: Path, key: str) -> None:
    buckets = LocalBuckets(tmp_path / "buckets")
    (tmp_path / "outside").write_bytes(b"secret")
    with pytest.raises(BundleFetchError, match="does not exist"):
        buckets.fetch("templates", key)
    with pytest.raises(ValueError, match="a key needs"):
        buckets.put("templates", key, b"x")


def test_symlinks_cannot_lead_out(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path / "buckets")
    buckets.put("templates", "real.tar.gz", b"ok")
    (tmp_path / "secret").write_bytes(b"secret")
    (tmp_path / "buckets" / "templates" / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(BundleFetchError, match="s3://templates/link: the object does not exist"):
        buckets.fetch("templates", "link")
    (tmp_path / "buckets" / "templates" / "dir").mkdir()
    with pytest.raises(BundleFetchError):
        buckets.fetch("templates", "dir")
    with pytest.raises(BundleFetchError):
        buckets.fetch("absent", "real.tar.gz")


def test_reads_stop_past_the_bundle_limit(tmp_path: Path) -> None:
    buckets = LocalBuckets(tmp_path / "buckets")
    buckets.put("templates", "big", b"\0" * (MAX_BUNDLE_BYTES + 100))
    assert len(buckets.fetch("templates", "big")) == MAX_BUNDLE_BYTES + 1


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://my-bucket/a/b.tar.gz") == ("my-bucket", "a/b.tar.gz")
    for bad in ("my-bucket/key", "s3://UPPER/key", "s3://ab/key", "s3://bucket", "s3://b-1/"):
        with pytest.raises(ValueError):
            parse_s3_url(bad)
