"""STS black-box: boto3 and the AWS CLI against a real server.

Profiles with ``role_arn`` + ``source_profile`` go through botocore's own AssumeRole credential
provider. Session expiry is tested without sleeping: the server's API clock runs ahead by what
the test writes to ``--clock-offset-file``, and the client signs with the same offset.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.server import Server, clean_env

AWS = str(Path(sys.executable).parent / "aws")
JS_DIR = Path(__file__).resolve().parents[1] / "js"
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
_NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def _trust(principal: str, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _policy(effect: str, action: str, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _role(server: Server, trust: str, document: str | None = ALLOW_ALL, **kwargs: Any) -> str:
    iam = server.client("iam")
    name = _name("role")
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, **kwargs)["Role"]["Arn"]
    )
    if document is not None:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=document)
    return arn


def _code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return str(error["Code"]), str(error.get("Message"))


def _role_profile(server: Server, name: str, role_arn: str, extra: str = "") -> Path:
    """A config file: the generated one plus a role profile using it as ``source_profile``.

    The role profile repeats ``endpoint_url`` and ``ca_bundle``: botocore's AssumeRole provider
    creates its STS client from the profile being resolved (the role profile), not from the
    source profile.
    """
    generated = (server.data_dir / "aws" / "config").read_text()
    path = server.data_dir / "aws" / f"config-{name}"
    path.write_text(
        generated + f"\n[profile {name}]\nrole_arn = {role_arn}\nsource_profile = default\n"
        f"region = us-east-1\nendpoint_url = {server.endpoint}\nca_bundle = {server.ca}\n{extra}"
    )
    return path


def _profile_session(server: Server, config: Path, profile: str) -> boto3.Session:
    core = botocore.session.Session(profile=profile)
    core.set_config_variable("config_file", str(config))
    core.set_config_variable("credentials_file", str(server.data_dir / "aws" / "credentials"))
    return boto3.Session(botocore_session=core)


def test_boto3_profile_with_role_arn_and_source_profile(server: Server) -> None:
    role_arn = _role(server, _trust(server.account_id))
    config = _role_profile(server, "deployer", role_arn, "role_session_name = from-profile\n")
    session = _profile_session(server, config, "deployer")
    identity = session.client("sts", config=_NO_RETRY).get_caller_identity()
    role_name = role_arn.rsplit("/", 1)[-1]
    role = server.client("iam").get_role(RoleName=role_name)["Role"]
    assert identity["Arn"] == (
        f"arn:aws:sts::{server.account_id}:assumed-role/{role_name}/from-profile"
    )
    assert identity["UserId"] == f"{role['RoleId']}:from-profile"
    assert identity["Account"] == server.account_id
    # The credentials botocore obtained are temporary ones from Hadron.
    frozen = session.get_credentials().get_frozen_credentials()
    assert frozen.access_key.startswith("ASIA") and frozen.token


def test_aws_cli_profile_with_role_arn_and_source_profile(server: Server) -> None:
    role_arn = _role(server, _trust(server.account_id))
    config = _role_profile(server, "cli-role", role_arn, "role_session_name = cli\n")
    env = server.aws_env | {"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "cli-role"}
    out = subprocess.run(
        [AWS, "sts", "get-caller-identity", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    role_name = role_arn.rsplit("/", 1)[-1]
    assert json.loads(out.stdout)["Arn"] == (
        f"arn:aws:sts::{server.account_id}:assumed-role/{role_name}/cli"
    )


def test_aws_cli_profile_with_role_arn_and_credential_source(server: Server) -> None:
    """``credential_source = Environment``: the source credentials come from the environment.

    The profile is named with ``--profile`` (botocore's environment provider would otherwise win
    over the profile, as it does against AWS)."""
    role_arn = _role(server, _trust(server.account_id))
    generated = (server.data_dir / "aws" / "config").read_text()
    config = server.data_dir / "aws" / "config-credential-source"
    config.write_text(
        generated + f"\n[profile from-env]\nrole_arn = {role_arn}\n"
        "credential_source = Environment\nrole_session_name = env-source\n"
        f"region = us-east-1\nendpoint_url = {server.endpoint}\nca_bundle = {server.ca}\n"
    )
    akid, secret = server.credentials()
    env = server.aws_env | {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(server.data_dir / "aws" / "no-such-file"),
        "AWS_ACCESS_KEY_ID": akid,
        "AWS_SECRET_ACCESS_KEY": secret,
    }
    out = subprocess.run(
        [AWS, "sts", "get-caller-identity", "--output", "json", "--profile", "from-env"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    role_name = role_arn.rsplit("/", 1)[-1]
    assert json.loads(out.stdout)["Arn"] == (
        f"arn:aws:sts::{server.account_id}:assumed-role/{role_name}/env-source"
    )


def test_profile_external_id_is_required_and_checked(server: Server) -> None:
    role_arn = _role(
        server, _trust(server.account_id, {"StringEquals": {"sts:ExternalId": "partner-7"}})
    )
    good = _role_profile(server, "ext-good", role_arn, "external_id = partner-7\n")
    assert _profile_session(server, good, "ext-good").client("sts").get_caller_identity()
    for name, extra in (("ext-none", ""), ("ext-bad", "external_id = partner-8\n")):
        config = _role_profile(server, name, role_arn, extra)
        with pytest.raises(ClientError) as info:
            _profile_session(server, config, name).client("sts").get_caller_identity()
        assert _code(info)[0] == "AccessDenied"


def test_session_policy_narrows_and_chaining_is_capped(server: Server) -> None:
    sts = server.client("sts")
    role_arn = _role(server, _trust(server.account_id), MaxSessionDuration=7200)
    narrow = _policy("Allow", "sts:GetAccessKeyInfo")
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="narrow", Policy=narrow)
    assert isinstance(creds["PackedPolicySize"], int)
    session_sts = server.client_with("sts", creds["Credentials"])
    key = creds["Credentials"]["AccessKeyId"]
    assert session_sts.get_access_key_info(AccessKeyId=key)["Account"] == server.account_id
    with pytest.raises(ClientError) as info:
        session_sts.decode_authorization_message(EncodedMessage="abc")
    assert _code(info)[1].endswith(
        "because no session policy allows the sts:DecodeAuthorizationMessage action"
    )
    wide = sts.assume_role(RoleArn=role_arn, RoleSessionName="wide", DurationSeconds=7200)
    assert wide["Credentials"]["Expiration"] - datetime.now(UTC) > timedelta(seconds=7000)
    chained = server.client_with("sts", wide["Credentials"])
    with pytest.raises(ClientError) as info:
        chained.assume_role(RoleArn=role_arn, RoleSessionName="again", DurationSeconds=3601)
    assert _code(info) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining.",
    )
    again = chained.assume_role(RoleArn=role_arn, RoleSessionName="again")
    assert again["Credentials"]["Expiration"] - datetime.now(UTC) <= timedelta(seconds=3600)


def test_tampered_tokens_are_refused(server: Server) -> None:
    role_arn = _role(server, _trust(server.account_id))
    creds = server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="t1")["Credentials"]
    token = creds["SessionToken"]
    for bad in (token[:-4], token[:30] + ("A" if token[30] != "A" else "B") + token[31:]):
        with pytest.raises(ClientError) as info:
            server.client_with("sts", creds | {"SessionToken": bad}).get_caller_identity()
        assert _code(info) == (
            "InvalidClientTokenId",
            "The security token included in the request is invalid",
        )
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_get_session_token_and_exact_identities(server: Server) -> None:
    sts = server.client("sts")
    me = sts.get_caller_identity()
    issued = sts.get_session_token(DurationSeconds=900)["Credentials"]
    session_sts = server.client_with("sts", issued)
    assert session_sts.get_caller_identity()["Arn"] == me["Arn"]
    assert session_sts.get_caller_identity()["UserId"] == me["UserId"]
    with pytest.raises(ClientError) as info:
        session_sts.get_session_token()
    assert _code(info) == ("AccessDenied", "Cannot call GetSessionToken with session credentials")
    with pytest.raises(ClientError) as info:
        server.client_with("iam", issued).list_users()
    assert _code(info)[0] == "InvalidClientTokenId"


@contextmanager
def _ahead(offset_file: Path, seconds: int) -> Iterator[None]:
    """Move the server's API clock and this client's signing clock ahead together."""
    offset_file.write_text(str(seconds))
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=seconds)
    with mock.patch("botocore.auth.get_current_datetime", return_value=later):
        yield
    offset_file.write_text("0")


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    root = tmp_path_factory.mktemp("clocked")
    offset = root / "offset"
    offset.write_text("0")
    srv = Server(root / "data", ("--clock-offset-file", str(offset))).start()
    yield srv, offset
    srv.stop()


def test_expiry_is_enforced(clocked: tuple[Server, Path]) -> None:
    server, offset = clocked
    role_arn = _role(server, _trust(server.account_id))
    creds = server.client("sts").assume_role(
        RoleArn=role_arn, RoleSessionName="short", DurationSeconds=900
    )["Credentials"]
    with _ahead(offset, 890):
        assert server.client_with("sts", creds).get_caller_identity()
    with _ahead(offset, 901), pytest.raises(ClientError) as info:
        server.client_with("sts", creds).get_caller_identity()
    assert _code(info) == ("ExpiredToken", "The security token included in the request is expired")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Every wire protocol answers in its own words (security.md §1.9 row 14).
    with _ahead(offset, 901), pytest.raises(ClientError) as info:
        server.client_with("proton", creds).list_services()
    assert _code(info) == (
        "ExpiredTokenException",
        "The security token included in the request is expired",
    )
    with _ahead(offset, 901), pytest.raises(ClientError) as info:
        server.client_with("ec2", creds).describe_vpc_endpoints()
    assert _code(info) == ("RequestExpired", "Request has expired.")


def test_revocation_by_token_issue_time(clocked: tuple[Server, Path]) -> None:
    server, offset = clocked
    iam = server.client("iam")
    role_arn = _role(server, _trust(server.account_id))
    sts = server.client("sts")
    old = sts.assume_role(RoleArn=role_arn, RoleSessionName="old")["Credentials"]
    with _ahead(offset, 5):
        cutoff = (datetime.now(UTC) + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
        revoke = _policy("Deny", "*", {"DateLessThan": {"aws:TokenIssueTime": cutoff}})
        iam.put_role_policy(
            RoleName=role_arn.rsplit("/", 1)[-1],
            PolicyName="AWSRevokeOlderSessions",
            PolicyDocument=revoke,
        )
    with _ahead(offset, 10):
        new = server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="new")
        key = old["AccessKeyId"]
        with pytest.raises(ClientError) as info:
            server.client_with("sts", old).get_access_key_info(AccessKeyId=key)
        assert _code(info)[1].endswith("with an explicit deny in an identity-based policy")
        fresh = server.client_with("sts", new["Credentials"])
        assert fresh.get_access_key_info(AccessKeyId=key)["Account"] == server.account_id


def test_cross_account_needs_both_sides(clocked: tuple[Server, Path]) -> None:
    server, _offset = clocked
    other = "777788889999"
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "hadron",
            "admin",
            "create-account",
            "--account-id",
            other,
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    core = botocore.session.Session(profile=f"account-{other}")
    core.set_config_variable("config_file", str(server.data_dir / "aws" / "config"))
    core.set_config_variable("credentials_file", str(server.data_dir / "aws" / "credentials"))
    other_iam = boto3.Session(botocore_session=core).client("iam", config=_NO_RETRY)
    assert (
        boto3.Session(botocore_session=core).client("sts").get_caller_identity()["Account"] == other
    )
    name = _name("shared")
    trusting = other_iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=_trust(server.account_id)
    )["Role"]["Arn"]
    other_iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=ALLOW_ALL)
    # Account A's admin (allowed to sts:AssumeRole by AdministratorAccess) is trusted: works.
    assumed = server.client("sts").assume_role(RoleArn=trusting, RoleSessionName="xacct")
    assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{other}:assumed-role/{name}/xacct"
    assert (
        server.client_with("sts", assumed["Credentials"]).get_caller_identity()["Account"] == other
    )
    # A user of account A without an identity policy is refused although B trusts A.
    iam = server.client("iam")
    user = _name("plain")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    plain = server.client_with("sts", key)
    with pytest.raises(ClientError) as info:
        plain.assume_role(RoleArn=trusting, RoleSessionName="xacct")
    assert _code(info)[1].endswith(
        "because no identity-based policy allows the sts:AssumeRole action"
    )
    # A role in B that does not trust A refuses even A's admin.
    untrusting = other_iam.create_role(
        RoleName=_name("private"), AssumeRolePolicyDocument=_trust(other)
    )["Role"]["Arn"]
    with pytest.raises(ClientError) as info:
        server.client("sts").assume_role(RoleArn=untrusting, RoleSessionName="xacct")
    assert _code(info)[1].endswith("because no role trust policy allows the sts:AssumeRole action")


def test_role_profile_through_a_services_section(server: Server) -> None:
    """The other supported way: the role profile names a ``services`` section that gives STS's
    endpoint (botocore's endpoint configuration), instead of its own ``endpoint_url``."""
    role_arn = _role(server, _trust(server.account_id))
    generated = (server.data_dir / "aws" / "config").read_text()
    config = server.data_dir / "aws" / "config-services"
    config.write_text(
        generated + f"\n[profile via-services]\nrole_arn = {role_arn}\nsource_profile = default\n"
        f"role_session_name = svc\nregion = us-east-1\nca_bundle = {server.ca}\n"
        "services = hadron-endpoints\n"
        f"\n[services hadron-endpoints]\nsts =\n  endpoint_url = {server.endpoint}\n"
    )
    identity = _profile_session(server, config, "via-services").client("sts").get_caller_identity()
    assert identity["Arn"].endswith(f"/{role_arn.rsplit('/', 1)[-1]}/svc")


def test_ec2_denial_decodes_with_sts(server: Server) -> None:
    iam = server.client("iam")
    user = _name("noec2")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    ec2 = server.client_with("ec2", key)
    with pytest.raises(ClientError) as info:
        ec2.describe_vpc_endpoints()
    code, message = _code(info)
    assert code == "UnauthorizedOperation"
    marker = "Encoded authorization failure message: "
    assert message.startswith("You are not authorized to perform this operation. User: ")
    decoded = server.client("sts").decode_authorization_message(
        EncodedMessage=message.split(marker, 1)[1]
    )["DecodedMessage"]
    assert json.loads(decoded)["context"]["action"] == "ec2:DescribeVpcEndpoints"


def test_master_key_rotation_keeps_sessions(clocked: tuple[Server, Path]) -> None:
    server, _offset = clocked
    role_arn = _role(server, _trust(server.account_id))
    before = server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="before")
    rotated = subprocess.run(
        [
            sys.executable,
            "-m",
            "hadron",
            "admin",
            "rotate-master-key",
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rotated.returncode == 0, rotated.stderr
    old = server.client_with("sts", before["Credentials"])
    assert old.get_caller_identity()["Arn"].endswith("/before")
    after = server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="after")
    assert (
        server.client_with("sts", after["Credentials"])
        .get_caller_identity()["Arn"]
        .endswith("/after")
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_sdk_v3_with_session_credentials(server: Server) -> None:
    role_arn = _role(server, _trust(server.account_id))
    creds = server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="js-sdk")[
        "Credentials"
    ]
    env = clean_env() | {
        "AWS_REGION": "us-east-1",
        "HADRON_ENDPOINT": server.endpoint,
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "NODE_EXTRA_CA_CERTS": str(server.ca),
    }
    script = str(JS_DIR / "caller_identity.mjs")
    out = subprocess.run(
        ["node", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    role_name = role_arn.rsplit("/", 1)[-1]
    assert json.loads(out.stdout)["Arn"] == (
        f"arn:aws:sts::{server.account_id}:assumed-role/{role_name}/js-sdk"
    )
    env["AWS_SESSION_TOKEN"] = creds["SessionToken"][:-8]
    bad = subprocess.run(
        ["node", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(bad.stdout) == {"error": "InvalidClientTokenId", "status": 403}
