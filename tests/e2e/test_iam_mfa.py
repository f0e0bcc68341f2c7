"""Virtual MFA devices and MFA-authenticated STS sessions, black-box: boto3 against a real
``hadron serve`` over TLS, codes computed here from the ``Base32StringSeed`` it hands back."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server, run_admin
from tests.totp_codes import otp

ALLOW = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def _user_with_device(server: Server, iam: Any) -> tuple[str, dict[str, str], str, str]:
    name = f"mfa-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=json.dumps(ALLOW))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    serial, seed = device["SerialNumber"], device["Base32StringSeed"].decode("ascii")
    assert device["QRCodePNG"].startswith(b"\x89PNG")
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=serial,
        AuthenticationCode1=otp(seed, offset=-1),
        AuthenticationCode2=otp(seed),
    )
    return name, key, serial, seed


def test_mfa_session_may_call_iam_and_plain_session_may_not(server: Server) -> None:
    iam = server.client("iam")
    name, key, serial, seed = _user_with_device(server, iam)
    sts = server.client_with("sts", key)

    plain = sts.get_session_token()["Credentials"]
    with pytest.raises(ClientError) as refused:
        server.client_with("iam", plain).list_users()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"

    with pytest.raises(ClientError) as wrong:
        sts.get_session_token(SerialNumber=serial, TokenCode=otp(seed, offset=5))
    assert wrong.value.response["Error"]["Code"] == "AccessDenied"

    # The codes EnableMFADevice took are used up: the next one is (it is within the window).
    code = otp(seed, offset=1)
    mfa = sts.get_session_token(SerialNumber=serial, TokenCode=code)["Credentials"]
    with pytest.raises(ClientError) as replayed:  # a code is good once
        sts.get_session_token(SerialNumber=serial, TokenCode=code)
    assert replayed.value.response["Error"] == {
        "Type": "Sender",
        "Code": "AccessDenied",
        "Message": "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    }
    users = server.client_with("iam", mfa).list_users()["Users"]
    assert name in {u["UserName"] for u in users}

    devices = iam.list_mfa_devices(UserName=name)["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]
    with pytest.raises(ClientError) as conflict:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert conflict.value.response["Error"]["Code"] == "DeleteConflict"
    iam.deactivate_mfa_device(UserName=name, SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert serial not in {
        d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    }


def test_role_trust_policy_requiring_mfa(server: Server) -> None:
    iam = server.client("iam")
    name, key, serial, seed = _user_with_device(server, iam)
    user_arn = iam.get_user(UserName=name)["User"]["Arn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": user_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ],
    }
    role_arn = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    sts = server.client_with("sts", key)
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="no-mfa")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assumed = sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName="with-mfa",
        SerialNumber=serial,
        TokenCode=otp(seed, offset=1),
    )
    assert assumed["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{name}-role/with-mfa")


def test_rotate_master_key_reseals_seeds(fresh_dir: Path) -> None:
    srv = Server(fresh_dir).start()
    try:
        iam = srv.client("iam")
        _name, key, serial, seed = _user_with_device(srv, iam)
        raw = base64.b32decode(seed)
        stored = (fresh_dir / "hadron.db").read_bytes()
        wal = fresh_dir / "hadron.db-wal"
        if wal.exists():
            stored += wal.read_bytes()
        assert raw not in stored and seed.encode() not in stored

        rotated = run_admin(fresh_dir, "rotate-master-key")
        assert rotated.returncode == 0, rotated.stderr
        # admin's key, the user's key and the device's seed
        assert "3 secrets re-sealed" in rotated.stdout
        assert raw not in (fresh_dir / "hadron.db").read_bytes()
        # The running server opens the re-sealed seed (it re-reads the ring by itself).
        sts = srv.client_with("sts", key)
        creds = sts.get_session_token(SerialNumber=serial, TokenCode=otp(seed, offset=1))[
            "Credentials"
        ]
        assert creds["AccessKeyId"].startswith("ASIA")
    finally:
        srv.stop()
