"""Where template bundles come from: the ``BundleSource`` interface and the local bucket
directory that ``hadron bundle put`` fills.

Edge module (file I/O). Spec: proton.md §2.4 (a version's ``source.s3`` {bucket, key} is fetched
at registration). ``LocalBuckets`` maps ``s3://bucket/key`` to ``<root>/<bucket>/<key>``; keys
are split on ``/`` and a key with an empty, ``.`` or ``..`` segment is refused, and the resolved
path must stay inside the bucket directory (a symbolic link planted in the data directory cannot
lead elsewhere). Reads stop one byte past the bundle size limit.

``S3Buckets`` reads from any S3-compatible endpoint (path-style addressing, SigV4 with the
credentials configured for bundle fetching); ``FirstFound`` asks the local directory first and the
endpoint for objects it does not hold.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hadron.proton.bundle import MAX_BUNDLE_BYTES

__all__ = [
    "BundleFetchError",
    "BundleSource",
    "FirstFound",
    "LocalBuckets",
    "S3Buckets",
    "parse_s3_url",
]

_BUCKET: Final = re.compile(r"^[a-z0-9]+[a-z0-9-\.]+[a-z0-9]+$")  # the model's S3Bucket


class BundleFetchError(Exception):
    """The bundle could not be read; the message names the object and the reason. ``missing``:
    the source does not hold the object (another source may)."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


class BundleSource(Protocol):
    def fetch(self, bucket: str, key: str) -> bytes: ...


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key), or ValueError."""
    if not url.startswith("s3://"):
        raise ValueError(f"{url}: expected s3://BUCKET/KEY")
    bucket, _, key = url[len("s3://") :].partition("/")
    _check(bucket, key)
    return bucket, key


def _check(bucket: str, key: str) -> list[str]:
    if not (3 <= len(bucket) <= 63 and _BUCKET.match(bucket)):
        raise ValueError(f"{bucket!r} is not a valid bucket name")
    segments = key.split("/")
    if not key or len(key) > 1024 or "\0" in key or any(s in ("", ".", "..") for s in segments):
        raise ValueError(f"{key!r}: a key needs 1-1024 characters without empty, '.' or '..' parts")
    return segments


class LocalBuckets:
    """Buckets as directories under ``root`` (``DATA/buckets``)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, bucket: str, key: str) -> Path:
        segments = _check(bucket, key)
        return self._root.joinpath(bucket, *segments)

    def fetch(self, bucket: str, key: str) -> bytes:
        url = f"s3://{bucket}/{key}"
        try:
            path = self._path(bucket, key)
        except ValueError:
            raise BundleFetchError(f"{url}: the object does not exist", missing=True) from None
        try:
            resolved = path.resolve(strict=True)
            inside = resolved.is_relative_to((self._root / bucket).resolve(strict=True))
        except (OSError, RuntimeError):
            raise BundleFetchError(f"{url}: the object does not exist", missing=True) from None
        if not inside or not resolved.is_file():
            raise BundleFetchError(f"{url}: the object does not exist", missing=True)
        try:
            with resolved.open("rb") as f:
                data = f.read(MAX_BUNDLE_BYTES + 1)
        except OSError as exc:
            raise BundleFetchError(f"{url}: the object cannot be read ({exc.strerror})") from None
        return data

    def put(self, bucket: str, key: str, data: bytes) -> Path:
        """Store ``data`` as the object (atomically: readers see the old or the new bytes)."""
        path = self._path(bucket, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.parent.resolve().is_relative_to(self._root.resolve()):
            raise ValueError(f"s3://{bucket}/{key}: leads outside {self._root}")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


class S3Buckets:
    """Objects of an S3-compatible endpoint (``--bundle-s3-endpoint``)."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        ca_bundle: str | None = None,
    ) -> None:
        session = botocore.session.Session()
        config = Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            signature_version="s3v4",
        )
        self._client: Any = session.create_client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            verify=ca_bundle if ca_bundle else True,
            config=config,
        )
        self._endpoint = endpoint_url

    def fetch(self, bucket: str, key: str) -> bytes:
        url = f"s3://{bucket}/{key}"
        try:
            response = self._client.get_object(Bucket=bucket, Key=key)
            body = response["Body"]
            try:
                data: bytes = body.read(MAX_BUNDLE_BYTES + 1)
            finally:
                body.close()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "NoSuchBucket", "404") or status == 404:
                raise BundleFetchError(f"{url}: the object does not exist", missing=True) from None
            if code in ("AccessDenied", "403") or status == 403:
                raise BundleFetchError(f"{url}: access to the object was denied") from None
            raise BundleFetchError(f"{url}: the object cannot be read ({code})") from None
        except BotoCoreError as exc:
            raise BundleFetchError(
                f"{url}: the object cannot be read from {self._endpoint} ({type(exc).__name__})"
            ) from None
        return data


class FirstFound:
    """The first source that holds the object; the last source's error otherwise."""

    def __init__(self, sources: Sequence[BundleSource]) -> None:
        if not sources:
            raise ValueError("at least one bundle source is needed")
        self._sources = tuple(sources)

    def fetch(self, bucket: str, key: str) -> bytes:
        for source in self._sources[:-1]:
            try:
                return source.fetch(bucket, key)
            except BundleFetchError as exc:
                if not exc.missing:
                    raise
        return self._sources[-1].fetch(bucket, key)
