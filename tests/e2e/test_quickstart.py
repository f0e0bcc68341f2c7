"""The quickstart, black-box: the generated AWS files alone point unmodified clients at Hadron."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.server import Server, clean_env

AWS = str(Path(sys.executable).parent / "aws")
JS_DIR = Path(__file__).resolve().parents[1] / "js"


def test_aws_cli_get_caller_identity(server: Server) -> None:
    out = subprocess.run(
        [AWS, "sts", "get-caller-identity", "--output", "json"],
        env=server.aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    identity = json.loads(out.stdout)
    assert identity["Arn"] == f"arn:aws:iam::{server.account_id}:user/admin"
    assert identity["Account"] == server.account_id
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", identity["UserId"])


def test_boto3_get_caller_identity(server: Server) -> None:
    sts = server.client("sts")
    identity = sts.get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{server.account_id}:user/admin"
    assert identity["ResponseMetadata"]["HTTPStatusCode"] == 200
    headers = identity["ResponseMetadata"]["HTTPHeaders"]
    assert re.fullmatch(r"[0-9a-f-]{36}", identity["ResponseMetadata"]["RequestId"])
    assert "date" in headers


def test_generated_files(server: Server) -> None:
    data = server.data_dir
    config = (data / "aws" / "config").read_text()
    assert "[default]" in config
    assert "region = us-east-1" in config
    assert f"endpoint_url = https://127.0.0.1:{server.port}" in config
    assert f"ca_bundle = {data / 'tls' / 'ca.pem'}" in config
    creds = (data / "aws" / "credentials").read_text()
    assert re.search(r"aws_access_key_id = AKIA[A-Z2-7]{16}\n", creds)
    assert re.search(r"aws_secret_access_key = [A-Za-z0-9+/]{40}\n", creds)
    for private in ("master.key", "aws/credentials", "tls/ca-key.pem", "tls/server-key.pem"):
        mode = stat.S_IMODE((data / private).stat().st_mode)
        assert mode == 0o600, private


def test_hadron_env_prints_exports(server: Server) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hadron", "env", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    )
    lines = out.stdout.splitlines()
    assert lines == [
        f"export AWS_CONFIG_FILE={server.data_dir / 'aws' / 'config'}",
        f"export AWS_SHARED_CREDENTIALS_FILE={server.data_dir / 'aws' / 'credentials'}",
    ]


def test_hadron_env_without_data_dir(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hadron", "env", "--data-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert out.returncode == 1
    assert "run `hadron serve` once first" in out.stderr


def test_admin_gets_past_authorization_and_others_are_denied(server: Server) -> None:
    # The admin holds AdministratorAccess: an operation Hadron does not serve yet answers
    # NotImplemented (past authorization), and IAM operations work.
    ec2 = server.client("ec2")
    with pytest.raises(ec2.exceptions.ClientError) as info:
        ec2.describe_instances()
    assert info.value.response["Error"]["Code"] == "NotImplemented"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    iam = server.client("iam")
    assert "admin" in [u["UserName"] for u in iam.list_users()["Users"]]
    # A user without policies is denied, in AWS's words.
    iam.create_user(UserName="quickstart-nobody")
    key = iam.create_access_key(UserName="quickstart-nobody")["AccessKey"]
    nobody = server.session().client(
        "proton",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    with pytest.raises(nobody.exceptions.AccessDeniedException) as denied:
        nobody.list_services()
    assert denied.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{server.account_id}:user/quickstart-nobody is not authorized to "
        "perform: proton:ListServices because no identity-based policy allows the "
        "proton:ListServices action"
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_sdk_v3_signer(server: Server) -> None:
    akid, secret = server.credentials()
    env = clean_env() | {
        "AWS_REGION": "us-east-1",
        "HADRON_ENDPOINT": server.endpoint,
        "AWS_ACCESS_KEY_ID": akid,
        "AWS_SECRET_ACCESS_KEY": secret,
        "NODE_EXTRA_CA_CERTS": str(server.ca),
    }
    script = str(JS_DIR / "caller_identity.mjs")
    out = subprocess.run(
        ["node", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout) == {
        "Arn": f"arn:aws:iam::{server.account_id}:user/admin",
        "Account": server.account_id,
        "UserId": json.loads(out.stdout)["UserId"],
    }
    assert json.loads(out.stdout)["UserId"].startswith("AIDA")
    env["AWS_SECRET_ACCESS_KEY"] = "x" * 40
    bad = subprocess.run(
        ["node", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(bad.stdout) == {"error": "SignatureDoesNotMatch", "status": 403}


def test_restart_keeps_account_keys_and_ca(fresh_dir: Path) -> None:
    first = Server(fresh_dir).start()
    try:
        before = first.client("sts").get_caller_identity()["Arn"]
        ca = (fresh_dir / "tls" / "ca.pem").read_bytes()
        creds = (fresh_dir / "aws" / "credentials").read_bytes()
        key = (fresh_dir / "master.key").read_bytes()
    finally:
        assert first.stop() is not None
    second = Server(fresh_dir).start()
    try:
        assert second.account_id == first.account_id
        assert second.client("sts").get_caller_identity()["Arn"] == before
        assert (fresh_dir / "tls" / "ca.pem").read_bytes() == ca
        assert (fresh_dir / "aws" / "credentials").read_bytes() == creds
        assert (fresh_dir / "master.key").read_bytes() == key
    finally:
        second.stop()


def test_account_id_option(fresh_dir: Path) -> None:
    srv = Server(fresh_dir, ("--account-id", "123456789012")).start()
    try:
        assert srv.account_id == "123456789012"
        assert srv.client("sts").get_caller_identity()["Account"] == "123456789012"
    finally:
        srv.stop()


def test_bad_account_id_is_refused(fresh_dir: Path) -> None:
    out = subprocess.run(
        [
            *(sys.executable, "-m", "hadron", "serve", "--data-dir", str(fresh_dir)),
            *("--port", "0", "--account-id", "12ab"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert out.returncode == 2
    assert "--account-id must be 12 digits" in out.stderr


def test_secret_is_not_in_the_database_or_logs(fresh_dir: Path) -> None:
    srv = Server(fresh_dir).start()
    try:
        srv.client("sts").get_caller_identity()
        _, secret = srv.credentials()
    finally:
        srv.stop()
    for path in fresh_dir.rglob("*"):
        if path.is_file() and path.name != "credentials":
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in "".join(srv.output)
    assert os.path.exists(fresh_dir / "audit")
