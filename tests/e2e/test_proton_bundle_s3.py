"""Template bundles from an S3-compatible endpoint: moto's S3 server as a local stand-in."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import WaiterError

from hadron.proton.sources import BundleFetchError, FirstFound, LocalBuckets, S3Buckets
from tests.e2e.server import Server, clean_env
from tests.proton.bundles import example_bundle

FAST = {"Delay": 1, "MaxAttempts": 30}
KEY_ID, SECRET = "AKIAMOTOEXAMPLE00000", "moto-secret-for-tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _s3(url: str) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}),
    )


def test_s3_source_reads_objects(moto_s3: str, tmp_path: Path) -> None:
    s3 = _s3(moto_s3)
    s3.create_bucket(Bucket="remote-templates")
    s3.put_object(Bucket="remote-templates", Key="a/env.tar.gz", Body=b"bundle bytes")
    remote = S3Buckets(moto_s3, region="us-east-1", access_key_id=KEY_ID,
                       secret_access_key=SECRET)  # fmt: skip
    assert remote.fetch("remote-templates", "a/env.tar.gz") == b"bundle bytes"
    with pytest.raises(BundleFetchError, match="does not exist") as missing:
        remote.fetch("remote-templates", "absent")
    assert missing.value.missing
    with pytest.raises(BundleFetchError, match="does not exist"):
        remote.fetch("no-such-bucket", "k")
    local = LocalBuckets(tmp_path)
    local.put("remote-templates", "a/env.tar.gz", b"local copy")
    both = FirstFound([local, remote])
    assert both.fetch("remote-templates", "a/env.tar.gz") == b"local copy"
    s3.put_object(Bucket="remote-templates", Key="only-remote", Body=b"r")
    assert both.fetch("remote-templates", "only-remote") == b"r"
    down = S3Buckets(f"http://127.0.0.1:{_free_port()}", region="us-east-1",
                     access_key_id=KEY_ID, secret_access_key=SECRET)  # fmt: skip
    with pytest.raises(BundleFetchError, match="cannot be read from") as unreachable:
        down.fetch("remote-templates", "only-remote")
    assert not unreachable.value.missing


def test_server_registers_bundles_from_the_endpoint(
    moto_s3: str, fresh_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = _s3(moto_s3)
    bucket = f"bundles-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="env.tar.gz", Body=example_bundle("environment-template"))
    monkeypatch.setenv("HADRON_BUNDLE_S3_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("HADRON_BUNDLE_S3_SECRET_ACCESS_KEY", SECRET)
    server = Server(fresh_dir, ("--bundle-s3-endpoint", moto_s3)).start()
    try:
        proton = server.client("proton")
        proton.create_environment_template(name="remote")
        waiter = proton.get_waiter("environment_template_version_registered")
        for key in ("env.tar.gz", "missing.tar.gz"):
            proton.create_environment_template_version(
                templateName="remote", source={"s3": {"bucket": bucket, "key": key}}
            )
        waiter.wait(templateName="remote", majorVersion="1", minorVersion="0", WaiterConfig=FAST)
        with pytest.raises(WaiterError):
            waiter.wait(templateName="remote", majorVersion="2", minorVersion="0",
                        WaiterConfig=FAST)  # fmt: skip
        failed = proton.get_environment_template_version(
            templateName="remote", majorVersion="2", minorVersion="0"
        )["environmentTemplateVersion"]
        assert failed["statusMessage"] == f"s3://{bucket}/missing.tar.gz: the object does not exist"
        proton.close()
    finally:
        server.stop()
