"""`hadron admin`, black-box against a running server and its data directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.server import Server, clean_env, run_admin


def test_admin_help_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hadron", "admin", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    )
    for command in ("create-account", "list-accounts", "rotate-master-key", "reset-admin-key"):
        assert command in out.stdout


def test_admin_needs_a_data_dir(tmp_path: Path) -> None:
    out = run_admin(tmp_path / "nothing", "list-accounts")
    assert out.returncode == 1
    assert "is not a Hadron data directory" in out.stderr


def test_accounts_rotation_and_key_reset(fresh_dir: Path) -> None:
    srv = Server(fresh_dir, ("--account-id", "111111111111")).start()
    try:
        first_arn = srv.client("sts").get_caller_identity()["Arn"]
        created = run_admin(fresh_dir, "create-account", "--account-id", "222222222222")
        assert created.returncode == 0, created.stderr
        assert "account 222222222222 created" in created.stdout
        again = run_admin(fresh_dir, "create-account", "--account-id", "222222222222")
        assert again.returncode == 2
        assert "already exists" in again.stderr
        listed = run_admin(fresh_dir, "list-accounts")
        assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [
            "111111111111",
            "222222222222",
        ]
        # The new account's profile works through the generated files.
        second = srv.session().client("sts", region_name="us-east-1")
        session = srv.session()
        session._session.set_config_variable("profile", "account-222222222222")
        other = session.client("sts").get_caller_identity()
        assert other["Arn"] == "arn:aws:iam::222222222222:user/admin"
        assert second.get_caller_identity()["Arn"] == first_arn

        secret = srv.credentials()[1]
        rotated = run_admin(fresh_dir, "rotate-master-key")
        assert rotated.returncode == 0, rotated.stderr
        assert "2 secrets re-sealed" in rotated.stdout
        assert secret.encode() not in (fresh_dir / "hadron.db").read_bytes()
        # The running server reads the new ring by itself once its cache expires.
        srv.client("sts").get_caller_identity()

        old_key = srv.credentials()[0]
        reset = run_admin(fresh_dir, "reset-admin-key")
        assert reset.returncode == 0, reset.stderr
        new_key = srv.credentials()[0]
        assert new_key != old_key and new_key in reset.stdout
        assert srv.client("sts").get_caller_identity()["Arn"] == first_arn
    finally:
        srv.stop()
    # After a restart everything still opens under the rotated ring.
    again_srv = Server(fresh_dir).start()
    try:
        assert again_srv.client("sts").get_caller_identity()["Arn"] == first_arn
    finally:
        again_srv.stop()


@pytest.mark.parametrize("bad", ["12", "abcdefghijkl"])
def test_create_account_refuses_bad_ids(fresh_dir: Path, bad: str) -> None:
    srv = Server(fresh_dir).start()
    srv.stop()
    out = run_admin(fresh_dir, "create-account", "--account-id", bad)
    assert out.returncode == 2
    assert "--account-id must be 12 digits" in out.stderr
