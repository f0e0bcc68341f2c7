"""Audit, black-box: one CloudTrail-format record per request, chained; `hadron audit verify`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Server, clean_env


def _verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hadron", "audit", "verify", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )


def _records(data_dir: Path) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for path in sorted((data_dir / "audit").glob("*.jsonl")):
        lines += [json.loads(line)["record"] for line in path.read_text().splitlines()]
    return lines


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("audited") / "data"
    srv = Server(data).start()
    try:
        sts = srv.client("sts")
        sts.get_caller_identity()
        sts.get_caller_identity()
        ec2 = srv.client("ec2")
        with pytest.raises(ec2.exceptions.ClientError):
            ec2.describe_instances()  # allowed (AdministratorAccess), not served
        bad = srv.session().client(
            "sts", aws_access_key_id="AKIAAAAAAAAAAAAAAAAA", aws_secret_access_key="x" * 40
        )
        with pytest.raises(bad.exceptions.ClientError):
            bad.get_caller_identity()
    finally:
        srv.stop()
    return data


def test_one_record_per_request(audited: Path) -> None:
    records = _records(audited)
    assert [r["eventName"] for r in records] == [
        "GetCallerIdentity",
        "GetCallerIdentity",
        "DescribeInstances",
        "GetCallerIdentity",
    ]
    ok = records[0]
    assert ok["eventSource"] == "sts.amazonaws.com"
    assert ok["eventVersion"] == "1.11"
    assert ok["eventType"] == "AwsApiCall"
    assert ok["userIdentity"]["type"] == "IAMUser"
    assert ok["userIdentity"]["userName"] == "admin"
    assert ok["userIdentity"]["accessKeyId"].startswith("AKIA")
    assert ok["sourceIPAddress"] == "127.0.0.1"
    assert ok["readOnly"] is True
    assert ok["tlsDetails"]["tlsVersion"] in ("TLSv1.2", "TLSv1.3")
    assert ok["tlsDetails"]["clientProvidedHostHeader"].startswith("127.0.0.1:")
    assert "errorCode" not in ok
    unserved = records[2]
    assert unserved["errorCode"] == "NotImplemented"
    assert "DescribeInstances" in unserved["errorMessage"]
    unknown = records[3]
    assert unknown["errorCode"] == "InvalidClientTokenId"
    assert unknown["userIdentity"]["accessKeyId"] == "AKIAAAAAAAAAAAAAAAAA"


def test_no_secrets_or_signatures_in_the_log(audited: Path) -> None:
    text = "".join(p.read_text() for p in (audited / "audit").glob("*"))
    secret = (audited / "aws" / "credentials").read_text().split("aws_secret_access_key = ")[1]
    assert secret.strip() not in text
    assert "Signature=" not in text
    assert "AWS4-HMAC-SHA256" not in text


def test_verify_ok(audited: Path) -> None:
    out = _verify(audited)
    assert out.returncode == 0, out.stderr
    assert "4 records verified" in out.stdout


def _tamper_copy(audited: Path, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(audited, copy)
    files = sorted((copy / "audit").glob("*.jsonl"))
    assert len(files) == 1
    return copy, files[0], files[0].read_text().splitlines(keepends=True)


@pytest.mark.parametrize("trial", ["edit", "delete-middle", "delete-last", "reorder"])
def test_tampering_is_detected(audited: Path, tmp_path: Path, trial: str) -> None:
    copy, path, lines = _tamper_copy(audited, tmp_path)
    if trial == "edit":
        lines[1] = lines[1].replace('"sourceIPAddress":"127.0.0.1"', '"sourceIPAddress":"10.9.9.9"')
        expected = f"{path.name}:2"
    elif trial == "delete-middle":
        del lines[1]
        expected = f"{path.name}:2"
    elif trial == "delete-last":
        del lines[-1]
    else:
        lines[1], lines[2] = lines[2], lines[1]
        expected = f"{path.name}:2"
    path.write_text("".join(lines))
    out = _verify(copy)
    assert out.returncode == 1
    assert "TAMPERED" in out.stderr
    if trial != "delete-last":
        assert expected in out.stderr, out.stderr
