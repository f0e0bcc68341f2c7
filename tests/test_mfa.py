"""Virtual MFA devices and MFA in STS, through the in-process gateway at a settable clock.

The IAM calls go through the real pipeline (SigV4, validation, live enforcement, handlers, the
SQLite store); codes are computed here from the ``Base32StringSeed`` the server hands back, with
a tiny independent RFC 6238 implementation (not ``hadron.totp``).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hadron.iam.simulator import IamSimulator
from hadron.keys import rotate
from hadron.session import Session, SessionKind, open_token, seal_token
from hadron.types import Principal
from tests.sts_world import ACCOUNT, Creds, Reply, World, make_world, policy, trust
from tests.totp_codes import otp

IAM_ALL = policy("Allow", ["iam:*", "sts:*"])


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def _device(world: World, name: str = "dev", path: str | None = None) -> tuple[str, str]:
    params = {"VirtualMFADeviceName": name}
    if path is not None:
        params["Path"] = path
    reply = world.iam(world.admin, "CreateVirtualMFADevice", **params)
    assert reply.status == 200, reply.parsed
    device = reply.parsed["VirtualMFADevice"]
    png = device["QRCodePNG"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return device["SerialNumber"], device["Base32StringSeed"].decode("ascii")


def _enable(world: World, user: str, serial: str, seed: str) -> None:
    reply = world.iam(
        world.admin,
        "EnableMFADevice",
        UserName=user,
        SerialNumber=serial,
        AuthenticationCode1=otp(seed, world.now, -1),
        AuthenticationCode2=otp(seed, world.now),
    )
    assert reply.status == 200, reply.parsed
    # Both codes are used up: the device's next code comes 30 s later.
    world.advance(30)


def _mfa_user(world: World, name: str = "alice", document: str = IAM_ALL) -> tuple[Creds, str, str]:
    creds = world.user(name, document)
    serial, seed = _device(world, f"{name}-dev")
    _enable(world, name, serial, seed)
    return creds, serial, seed


# --- IAM operations -------------------------------------------------------------------------


def test_create_enable_list_get_deactivate_delete(world: World) -> None:
    world.store.create_user(ACCOUNT, "alice", "/", world.now)  # no access key to delete first
    serial, seed = _device(world, "alice-phone", "/team/")
    assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/team/alice-phone"
    assert len(seed) == 64
    listed = world.iam(world.admin, "ListVirtualMFADevices", AssignmentStatus="Unassigned")
    assert [d["SerialNumber"] for d in listed.parsed["VirtualMFADevices"]] == [serial]
    assert "Base32StringSeed" not in listed.parsed["VirtualMFADevices"][0]

    _enable(world, "alice", serial, seed)
    assigned = world.iam(world.admin, "ListVirtualMFADevices", AssignmentStatus="Assigned")
    (entry,) = assigned.parsed["VirtualMFADevices"]
    assert entry["User"]["UserName"] == "alice" and "EnableDate" in entry
    unassigned = world.iam(world.admin, "ListVirtualMFADevices", AssignmentStatus="Unassigned")
    assert unassigned.parsed["VirtualMFADevices"] == []
    mine = world.iam(world.admin, "ListMFADevices", UserName="alice")
    assert [(d["UserName"], d["SerialNumber"]) for d in mine.parsed["MFADevices"]] == [
        ("alice", serial)
    ]
    got = world.iam(world.admin, "GetMFADevice", UserName="alice", SerialNumber=serial)
    assert got.status == 200 and got.parsed["SerialNumber"] == serial
    assert world.iam(world.admin, "ListMFADevices").parsed["MFADevices"] == []  # the caller's

    # Assigned: neither the device nor the user can be deleted.
    delete = world.iam(world.admin, "DeleteVirtualMFADevice", SerialNumber=serial)
    assert (delete.status, delete.code, delete.message) == (
        409,
        "DeleteConflict",
        "MFA VirtualDevice in use. Must deactivate first.",
    )
    user_delete = world.iam(world.admin, "DeleteUser", UserName="alice")
    assert (user_delete.code, user_delete.message) == (
        "DeleteConflict",
        "Cannot delete entity, must delete MFA device first.",
    )
    wrong_user = world.iam(
        world.admin, "DeactivateMFADevice", UserName="admin", SerialNumber=serial
    )
    assert (wrong_user.status, wrong_user.code, wrong_user.message) == (
        404,
        "NoSuchEntity",
        "MFA Device invalid for user.",
    )
    deactivate = world.iam(
        world.admin, "DeactivateMFADevice", UserName="alice", SerialNumber=serial
    )
    assert deactivate.status == 200, deactivate.parsed
    assert world.iam(world.admin, "ListMFADevices", UserName="alice").parsed["MFADevices"] == []
    assert world.iam(world.admin, "DeleteVirtualMFADevice", SerialNumber=serial).status == 200
    assert world.iam(world.admin, "DeleteUser", UserName="alice").status == 200
    gone = world.iam(world.admin, "DeleteVirtualMFADevice", SerialNumber=serial)
    assert (gone.status, gone.code, gone.message) == (
        404,
        "NoSuchEntity",
        f"VirtualMFADevice with serial number {serial} does not exist.",
    )


def test_enable_errors(world: World) -> None:
    world.user("alice")
    world.user("bob")
    serial, seed = _device(world)
    again = world.iam(world.admin, "CreateVirtualMFADevice", VirtualMFADeviceName="DEV")
    assert (again.status, again.code, again.message) == (
        409,
        "EntityAlreadyExists",
        "MFADevice entity at the same path and name already exists.",
    )
    other_path = world.iam(
        world.admin, "CreateVirtualMFADevice", VirtualMFADeviceName="dev", Path="/other/"
    )
    assert other_path.status == 200

    def enable(user: str, code1: str, code2: str, number: str = serial) -> tuple[int, str | None]:
        reply = world.iam(
            world.admin,
            "EnableMFADevice",
            UserName=user,
            SerialNumber=number,
            AuthenticationCode1=code1,
            AuthenticationCode2=code2,
        )
        return reply.status, reply.message

    now = world.now
    bad = (403, "Authentication code for device is not valid.")
    assert enable("alice", otp(seed, now), otp(seed, now, -1)) == bad  # wrong order
    assert enable("alice", otp(seed, now, -1), otp(seed, now, -1)) == bad  # not consecutive
    assert enable("alice", otp(seed, now, -60), otp(seed, now, -59)) == bad  # far too old
    short = world.iam(
        world.admin,
        "EnableMFADevice",
        UserName="alice",
        SerialNumber=serial,
        AuthenticationCode1="12345",
        AuthenticationCode2="123456",
    )
    assert short.code == "ValidationError"
    assert enable("nobody", otp(seed, now, -1), otp(seed, now)) == (
        404,
        "The user with name nobody cannot be found.",
    )
    unknown = f"arn:aws:iam::{ACCOUNT}:mfa/nothing"
    assert enable("alice", "123456", "654321", unknown) == (
        404,
        f"VirtualMFADevice with serial number {unknown} does not exist.",
    )
    assert enable("alice", otp(seed, now, -1), otp(seed, now)) == (200, None)
    assert enable("bob", otp(seed, now, -1), otp(seed, now)) == (
        409,
        "MFA Device is already in use.",
    )


def test_eight_devices_per_user(world: World) -> None:
    world.user("alice")
    for n in range(8):
        serial, seed = _device(world, f"d{n}")
        _enable(world, "alice", serial, seed)
    serial, seed = _device(world, "d8")
    reply = world.iam(
        world.admin,
        "EnableMFADevice",
        UserName="alice",
        SerialNumber=serial,
        AuthenticationCode1=otp(seed, world.now, -1),
        AuthenticationCode2=otp(seed, world.now),
    )
    assert (reply.status, reply.code, reply.message) == (
        409,
        "LimitExceeded",
        "Cannot exceed quota for MFADevicesPerUser: 8",
    )
    mine = world.iam(world.admin, "ListMFADevices", UserName="alice", MaxItems=5)
    assert len(mine.parsed["MFADevices"]) == 5 and mine.parsed["IsTruncated"] is True
    rest = world.iam(world.admin, "ListMFADevices", UserName="alice", Marker=mine.parsed["Marker"])
    assert len(rest.parsed["MFADevices"]) == 3 and rest.parsed["IsTruncated"] is False


def test_virtual_device_pagination(world: World) -> None:
    names = [f"p{n:02d}" for n in range(7)]
    for name in names:
        _device(world, name)
    seen: list[str] = []
    marker = None
    while True:
        params: dict[str, object] = {"MaxItems": 3}
        if marker is not None:
            params["Marker"] = marker
        page = world.iam(world.admin, "ListVirtualMFADevices", **params).parsed
        seen += [d["SerialNumber"].rsplit("/", 1)[1] for d in page["VirtualMFADevices"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == names


def test_tags(world: World) -> None:
    created = world.iam(
        world.admin,
        "CreateVirtualMFADevice",
        VirtualMFADeviceName="tagged",
        Tags=[{"Key": "team", "Value": "a"}],
    )
    serial = created.parsed["VirtualMFADevice"]["SerialNumber"]
    assert created.parsed["VirtualMFADevice"]["Tags"] == [{"Key": "team", "Value": "a"}]
    assert (
        world.iam(
            world.admin,
            "TagMFADevice",
            SerialNumber=serial,
            Tags=[{"Key": "Team", "Value": "b"}, {"Key": "env", "Value": "dev"}],
        ).status
        == 200
    )
    listed = world.iam(world.admin, "ListMFADeviceTags", SerialNumber=serial).parsed["Tags"]
    assert listed == [{"Key": "env", "Value": "dev"}, {"Key": "Team", "Value": "b"}]
    assert (
        world.iam(world.admin, "UntagMFADevice", SerialNumber=serial, TagKeys=["TEAM"]).status
        == 200
    )
    listed = world.iam(world.admin, "ListMFADeviceTags", SerialNumber=serial).parsed["Tags"]
    assert listed == [{"Key": "env", "Value": "dev"}]
    reserved = world.iam(
        world.admin, "TagMFADevice", SerialNumber=serial, Tags=[{"Key": "aws:x", "Value": "1"}]
    )
    assert reserved.status == 400
    missing = world.iam(
        world.admin, "ListMFADeviceTags", SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/none"
    )
    assert missing.code == "NoSuchEntity"


def test_resync(world: World) -> None:
    creds, serial, seed = _mfa_user(world)
    # Forty steps later the device's clock runs 10 steps behind: its codes fail until resynced.
    world.advance(40 * 30)
    late = world.now - timedelta(seconds=300)
    world.user("carol", IAM_ALL)  # another user, without the device

    def session_with(code: str) -> int:
        return world.sts(creds, "GetSessionToken", SerialNumber=serial, TokenCode=code).status

    assert session_with(otp(seed, late)) == 403
    reply = world.iam(
        world.admin,
        "ResyncMFADevice",
        UserName="alice",
        SerialNumber=serial,
        AuthenticationCode1=otp(seed, late, -1),
        AuthenticationCode2=otp(seed, late),
    )
    assert reply.status == 200, reply.parsed
    # The two codes entered are used up; the device's next code works.
    assert session_with(otp(seed, late)) == 403
    assert session_with(otp(seed, late, 1)) == 200
    wrong = world.iam(
        world.admin,
        "ResyncMFADevice",
        UserName="alice",
        SerialNumber=serial,
        AuthenticationCode1="000000",
        AuthenticationCode2="000001",
    )
    assert (wrong.status, wrong.code) == (403, "InvalidAuthenticationCode")
    not_hers = world.iam(
        world.admin,
        "ResyncMFADevice",
        UserName="carol",
        SerialNumber=serial,
        AuthenticationCode1=otp(seed, late, -1),
        AuthenticationCode2=otp(seed, late),
    )
    assert not_hers.message == "MFA Device invalid for user."


def test_iam_authorization_uses_the_user_and_device_arns(world: World) -> None:
    only_own = policy(
        "Allow",
        ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices"],
        [
            f"arn:aws:iam::{ACCOUNT}:mfa/${{aws:username}}",
            f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
        ],
    )
    dave = world.user("dave", only_own)
    ok = world.iam(dave, "CreateVirtualMFADevice", VirtualMFADeviceName="dave")
    assert ok.status == 200, ok.parsed
    other = world.iam(dave, "CreateVirtualMFADevice", VirtualMFADeviceName="erin")
    assert other.code == "AccessDenied"
    assert f"on resource: arn:aws:iam::{ACCOUNT}:mfa/erin" in (other.message or "")
    device = ok.parsed["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    enable = world.iam(
        dave,
        "EnableMFADevice",
        UserName="dave",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=otp(seed, world.now, -1),
        AuthenticationCode2=otp(seed, world.now),
    )
    assert enable.status == 200, enable.parsed
    assert world.iam(dave, "ListMFADevices").status == 200
    # No statement covers ListVirtualMFADevices (resource "*") or deleting devices.
    assert world.iam(dave, "ListVirtualMFADevices").code == "AccessDenied"


# --- STS ------------------------------------------------------------------------------------


def test_get_session_token_with_mfa_may_call_iam(world: World) -> None:
    creds, serial, seed = _mfa_user(world)
    plain = world.sts(creds, "GetSessionToken").creds()
    assert world.iam(plain, "ListUsers").code == "InvalidClientTokenId"

    reply = world.sts(creds, "GetSessionToken", SerialNumber=serial, TokenCode=otp(seed, world.now))
    assert reply.status == 200, reply.parsed
    session = reply.creds()
    listed = world.iam(session, "ListUsers")
    assert listed.status == 200, listed.parsed
    assert world.events[-1]["userIdentity"]["sessionContext"]["attributes"] == {
        "creationDate": "2026-12-03T12:00:30Z",
        "mfaAuthenticated": "true",
    }
    # The code never reaches the audit log.
    assert otp(seed, world.now) not in json.dumps(world.events)
    # Still no STS beyond AssumeRole and GetCallerIdentity.
    assert world.sts(session, "GetSessionToken").code == "AccessDenied"


def test_get_session_token_mfa_failures(world: World) -> None:
    creds, serial, seed = _mfa_user(world)
    wrong = world.sts(creds, "GetSessionToken", SerialNumber=serial, TokenCode="000000")
    if otp(seed, world.now) == "000000":  # pragma: no cover - one chance in a million
        return
    assert (wrong.status, wrong.code, wrong.message) == (
        403,
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    )
    stale = world.sts(
        creds, "GetSessionToken", SerialNumber=serial, TokenCode=otp(seed, world.now, -3)
    )
    assert stale.code == "AccessDenied"
    unable = (
        "MultiFactorAuthentication failed, unable to validate MFA code.  "
        "Please verify your MFA serial number is valid and associated with this user."
    )
    unknown = world.sts(
        creds,
        "GetSessionToken",
        SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/none",
        TokenCode=otp(seed, world.now),
    )
    assert (unknown.code, unknown.message) == ("AccessDenied", unable)
    # Someone else's device does not work for admin.
    theirs = world.sts(
        world.admin, "GetSessionToken", SerialNumber=serial, TokenCode=otp(seed, world.now)
    )
    assert theirs.message == unable
    only_serial = world.sts(creds, "GetSessionToken", SerialNumber=serial)
    assert only_serial.code == "AccessDenied"
    bad_format = world.sts(creds, "GetSessionToken", SerialNumber=serial, TokenCode="12ab56")
    assert bad_format.code == "ValidationError"
    short_serial = world.sts(creds, "GetSessionToken", SerialNumber="arn:x", TokenCode="123456")
    assert short_serial.code == "ValidationError"
    # Codes one step either side are accepted, each once, and never one older than the last
    # accepted (RFC 6238 §5.2). Two steps on, the step before now is not yet used.
    world.advance(60)

    def session_with(offset: int) -> Reply:
        code = otp(seed, world.now, offset)
        return world.sts(creds, "GetSessionToken", SerialNumber=serial, TokenCode=code)

    assert session_with(-1).status == 200
    assert session_with(-1).message == (
        "MultiFactorAuthentication failed with invalid MFA one time pass code."
    )
    assert session_with(1).status == 200
    assert session_with(0).code == "AccessDenied"  # older than the step just accepted
    assert session_with(1).code == "AccessDenied"
    world.advance(60)
    assert session_with(0).status == 200  # a new step


def test_identity_policy_mfa_conditions(world: World) -> None:
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "iam:ListUsers",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                },
                {
                    "Effect": "Allow",
                    "Action": "iam:ListAccessKeys",
                    "Resource": "*",
                    "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "600"}},
                },
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
            ],
        }
    )
    creds, serial, seed = _mfa_user(world, "fran", document)
    # Long-term keys: the key is absent, so Bool fails.
    assert world.iam(creds, "ListUsers").code == "AccessDenied"
    mfa = world.sts(creds, "GetSessionToken", SerialNumber=serial, TokenCode=otp(seed, world.now))
    session = mfa.creds()
    assert world.iam(session, "ListUsers").status == 200
    assert world.iam(session, "ListAccessKeys").status == 200
    world.advance(601)
    assert world.iam(session, "ListUsers").status == 200  # still MFA
    assert world.iam(session, "ListAccessKeys").code == "AccessDenied"  # but no longer recent


def test_role_trust_policy_requiring_mfa(world: World) -> None:
    creds, serial, seed = _mfa_user(world, "gina", policy("Allow", "sts:AssumeRole"))
    role_arn = world.role(
        "guarded",
        trust(
            f"arn:aws:iam::{ACCOUNT}:user/gina",
            condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        ),
    )
    without = world.sts(creds, "AssumeRole", RoleArn=role_arn, RoleSessionName="ss")
    assert without.code == "AccessDenied"
    assert "no role trust policy allows" in (without.message or "")
    wrong = world.sts(
        creds,
        "AssumeRole",
        RoleArn=role_arn,
        RoleSessionName="ss",
        SerialNumber=serial,
        TokenCode="000000",
    )
    if otp(seed, world.now) != "000000":
        assert (
            wrong.message == "MultiFactorAuthentication failed with invalid MFA one time pass code."
        )
    reply = world.sts(
        creds,
        "AssumeRole",
        RoleArn=role_arn,
        RoleSessionName="ss",
        SerialNumber=serial,
        TokenCode=otp(seed, world.now),
    )
    assert reply.status == 200, reply.parsed
    # The trust policy's check and the handler's spent the code once; a replay fails.
    replay = world.sts(
        creds,
        "AssumeRole",
        RoleArn=role_arn,
        RoleSessionName="ss",
        SerialNumber=serial,
        TokenCode=otp(seed, world.now),
    )
    assert replay.message == "MultiFactorAuthentication failed with invalid MFA one time pass code."
    role_session = reply.creds()
    # The role session carries MFA: its policy may require it, and the age counts from the code.
    world.store.put_role_policy(
        ACCOUNT,
        "guarded",
        "p",
        policy(
            "Allow",
            "sts:GetAccessKeyInfo",
            "*",
            {"NumericLessThan": {"aws:MultiFactorAuthAge": "100"}},
        ),
    )
    world.authorizer.invalidate()
    assert (
        world.sts(role_session, "GetAccessKeyInfo", AccessKeyId=role_session.access_key_id).status
        == 200
    )
    world.advance(120)
    late = world.sts(role_session, "GetAccessKeyInfo", AccessKeyId=role_session.access_key_id)
    assert late.code == "AccessDenied"

    # An MFA GetSessionToken session assumes it without passing a code (MFA is in the session),
    # and the chained role session keeps it.
    mfa_session = world.sts(
        creds, "GetSessionToken", SerialNumber=serial, TokenCode=otp(seed, world.now)
    ).creds()
    chained = world.sts(mfa_session, "AssumeRole", RoleArn=role_arn, RoleSessionName="cc")
    assert chained.status == 200, chained.parsed
    plain_session = world.sts(creds, "GetSessionToken").creds()
    refused = world.sts(plain_session, "AssumeRole", RoleArn=role_arn, RoleSessionName="cc")
    assert refused.code == "AccessDenied"


def test_role_sessions_have_no_mfa_devices(world: World) -> None:
    _creds, serial, seed = _mfa_user(world)
    role_arn = world.role("plain", trust(ACCOUNT))
    role = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="rr").creds()
    again = world.sts(
        role,
        "AssumeRole",
        RoleArn=role_arn,
        RoleSessionName="r2",
        SerialNumber=serial,
        TokenCode=otp(seed, world.now),
    )
    assert again.code == "AccessDenied"
    assert "unable to validate MFA code" in (again.message or "")


def test_simulator_agrees_on_mfa_context(world: World) -> None:
    document = policy(
        "Allow", "iam:ListUsers", "*", {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    )
    world.user("hank", document)
    source = f"arn:aws:iam::{ACCOUNT}:user/hank"
    # The simulator shares enforcement's engine call and policy gathering (same authorizer).
    handler = IamSimulator(world.store, world.authorizer).handlers()[
        ("iam", "SimulatePrincipalPolicy")
    ]
    caller = Principal(
        ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/admin", "AIDAADMIN", "IAMUser", "admin"
    )

    def decision(value: str | None) -> str:
        params: dict[str, object] = {"PolicySourceArn": source, "ActionNames": ["iam:ListUsers"]}
        if value is not None:
            params["ContextEntries"] = [
                {
                    "ContextKeyName": "aws:MultiFactorAuthPresent",
                    "ContextKeyValues": [value],
                    "ContextKeyType": "boolean",
                }
            ]
        result = handler(caller, params)
        assert result is not None
        return str(result["EvaluationResults"][0]["EvalDecision"])

    assert decision("true") == "allowed"
    assert decision("false") == "implicitDeny"
    assert decision(None) == "implicitDeny"
    # ...and live enforcement agrees: long-term keys (no key) are denied, an MFA session allowed.
    creds = world.user("ivy", document)
    serial, seed = _device(world, "ivy")
    _enable(world, "ivy", serial, seed)
    assert world.iam(creds, "ListUsers").code == "AccessDenied"
    mfa = world.sts(creds, "GetSessionToken", SerialNumber=serial, TokenCode=otp(seed, world.now))
    assert world.iam(mfa.creds(), "ListUsers").status == 200


# --- tokens and storage ---------------------------------------------------------------------


def test_session_tokens_carry_the_mfa_time_and_old_tokens_open(world: World) -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    base = dict(
        kind=SessionKind.USER,
        access_key_id="ASIAAAAAAAAAAAAAAAAA",
        secret_access_key="s" * 40,
        session_id="id",
        account_id=ACCOUNT,
        arn="arn",
        user_id="AIDA",
        source_arn="arn",
        source_name="alice",
        source_id="AIDA",
        issued_at=now,
        expires_at=now + timedelta(hours=1),
    )
    ring = world.store.ring
    with_mfa = Session(**base, mfa=True, mfa_authenticated_at=now - timedelta(seconds=5))  # type: ignore[arg-type]
    opened = open_token(ring, seal_token(ring, with_mfa), with_mfa.access_key_id)
    assert opened.mfa and opened.mfa_authenticated_at == now - timedelta(seconds=5)
    old = Session(**base)  # type: ignore[arg-type]
    reopened = open_token(ring, seal_token(ring, old), old.access_key_id)
    assert reopened.mfa is False and reopened.mfa_authenticated_at is None


def test_seeds_are_sealed_and_resealed(world: World, tmp_path: Path) -> None:
    serial, seed = _device(world, "sealed")
    raw = base64.b32decode(seed)
    db = (tmp_path / "hadron.db").read_bytes() + _wal(tmp_path)
    assert raw not in db and seed.encode() not in db
    before = world.store.get_mfa_device(ACCOUNT, serial)
    assert before is not None and before.seed == raw
    assert raw.hex() not in repr(before) and "seed=" not in repr(before)
    world.store._ring = rotate(world.store.ring)
    count = world.store.reseal_secrets()
    assert count == 2  # the admin's access key and the device's seed
    after = world.store.get_mfa_device(ACCOUNT, serial)
    assert after is not None and after.seed == raw
    assert raw not in (tmp_path / "hadron.db").read_bytes() + _wal(tmp_path)


def _wal(tmp_path: Path) -> bytes:
    wal = tmp_path / "hadron.db-wal"
    return wal.read_bytes() if wal.exists() else b""


def test_renamed_user_keeps_its_device(world: World) -> None:
    creds, serial, seed = _mfa_user(world)
    assert (
        world.iam(world.admin, "UpdateUser", UserName="alice", NewUserName="alicia").status == 200
    )
    listed = world.iam(world.admin, "ListMFADevices", UserName="alicia").parsed["MFADevices"]
    assert [d["SerialNumber"] for d in listed] == [serial]
    ok = world.sts(creds, "GetSessionToken", SerialNumber=serial, TokenCode=otp(seed, world.now))
    assert ok.status == 200, ok.parsed
