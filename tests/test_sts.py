"""STS in process: AssumeRole, GetSessionToken, session enforcement, GetAccessKeyInfo,
DecodeAuthorizationMessage — through the real gateway, store and enforcement, with a settable
clock (no sleeps)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import create_parser

from hadron.authzmessage import decode as decode_authorization_message
from hadron.authzmessage import encode as encode_authorization_message
from hadron.credentials import SessionKeys
from hadron.enforcement import PolicyAuthorizer
from hadron.errors import AccessDenied
from hadron.gateway import Connection
from hadron.keys import MasterKeyRing, new_ring, rotate
from hadron.protocol.models import load_service
from hadron.session import Session, SessionKind, account_of_temporary_key, temporary_credentials
from hadron.types import HttpRequest, Principal
from tests.sts_world import (
    ACCOUNT,
    ALLOW_ALL,
    OTHER,
    START,
    Creds,
    Reply,
    World,
    make_world,
    policy,
    trust,
)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _user_arn(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


def test_assume_role_same_account_trust_naming_the_user(world: World) -> None:
    bob = world.user("bob")  # no identity policy at all
    role_arn = world.role("deploy", trust(_user_arn("bob")))
    reply = world.sts(bob, "AssumeRole", RoleArn=role_arn, RoleSessionName="bob-session")
    assert reply.status == 200, reply.parsed
    role = world.store.get_role(ACCOUNT, "deploy")
    assert role is not None
    assert reply.value("AssumedRoleUser/Arn") == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/bob-session"
    )
    assert reply.value("AssumedRoleUser/AssumedRoleId") == f"{role.role_id}:bob-session"
    assert reply.value("Credentials/Expiration") == "2026-12-03T13:00:00Z"
    assert reply.value("PackedPolicySize") is None
    creds = reply.creds()
    assert creds.access_key_id.startswith("ASIA") and len(creds.access_key_id) == 20
    assert account_of_temporary_key(creds.access_key_id) == ACCOUNT
    who = world.sts(creds, "GetCallerIdentity")
    assert who.value("Arn") == (f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/bob-session")
    assert who.value("UserId") == f"{role.role_id}:bob-session"
    assert who.value("Account") == ACCOUNT
    # The token is never logged; the audit record names the session.
    identity = world.events[-1]["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"].endswith("assumed-role/deploy/bob-session")
    assert identity["accessKeyId"] == creds.access_key_id
    assert identity["sessionContext"] == {
        "sessionIssuer": {
            "type": "Role",
            "principalId": role.role_id,
            "arn": role_arn,
            "accountId": ACCOUNT,
            "userName": "deploy",
        },
        "webIdFederationData": {},
        "attributes": {"creationDate": "2026-12-03T12:00:00Z", "mfaAuthenticated": "false"},
    }
    issued = world.events[0]
    assert issued["eventName"] == "AssumeRole"
    assert issued["responseElements"]["AssumedRoleUser"]["Arn"] == identity["arn"]
    assert issued["responseElements"]["Credentials"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert creds.token is not None and creds.token not in json.dumps(world.events)


def test_role_path_is_dropped_from_the_session_arn(world: World) -> None:
    role = world.store.create_role(ACCOUNT, "r", "/team/app/", trust(ACCOUNT), world.now)
    reply = world.sts(world.admin, "AssumeRole", RoleArn=role.arn, RoleSessionName="s1")
    assert reply.value("AssumedRoleUser/Arn") == f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s1"


def test_trust_naming_the_account_needs_the_callers_identity_permission(world: World) -> None:
    role_arn = world.role("acct", trust(ACCOUNT))
    carol = world.user("carol")
    denied = world.sts(carol, "AssumeRole", RoleArn=role_arn, RoleSessionName="cc")
    assert (denied.status, denied.code) == (403, "AccessDenied")
    assert denied.message == (
        f"User: {_user_arn('carol')} is not authorized to perform: sts:AssumeRole on resource: "
        f"{role_arn} because no identity-based policy allows the sts:AssumeRole action"
    )
    dave = world.user("dave", policy("Allow", "sts:AssumeRole", role_arn))
    assert world.sts(dave, "AssumeRole", RoleArn=role_arn, RoleSessionName="dd").status == 200


def test_identity_permission_alone_is_not_enough(world: World) -> None:
    role_arn = world.role("closed", trust(f"arn:aws:iam::{OTHER}:root"))
    denied = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="xx")
    assert denied.code == "AccessDenied"
    assert denied.message is not None
    assert denied.message.endswith("because no role trust policy allows the sts:AssumeRole action")


def test_unknown_role_is_denied_like_an_untrusting_one(world: World) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:role/nope"
    denied = world.sts(world.admin, "AssumeRole", RoleArn=arn, RoleSessionName="xx")
    assert (denied.status, denied.code) == (403, "AccessDenied")
    assert denied.message == (
        f"User: {_user_arn('admin')} is not authorized to perform: sts:AssumeRole "
        f"on resource: {arn} because no role trust policy allows the sts:AssumeRole action"
    )
    # The same words as an existing role whose trust policy does not name the caller.
    world.role("closed", trust(f"arn:aws:iam::{OTHER}:root"))
    closed = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/closed",
        RoleSessionName="xx",
    )
    assert closed.message == denied.message.replace("role/nope", "role/closed")


def test_cross_account_needs_both_sides(world: World) -> None:
    trusting = world.role("shared", trust(ACCOUNT), account=OTHER)
    untrusting = world.role("private", trust(OTHER), account=OTHER)
    eve = world.user("eve")  # no identity policy
    assert world.sts(eve, "AssumeRole", RoleArn=trusting, RoleSessionName="ee").code == (
        "AccessDenied"
    )
    both = world.sts(world.admin, "AssumeRole", RoleArn=trusting, RoleSessionName="aa")
    assert both.status == 200, both.parsed
    creds = both.creds()
    assert account_of_temporary_key(creds.access_key_id) == OTHER
    who = world.sts(creds, "GetCallerIdentity")
    assert who.value("Account") == OTHER
    assert who.value("Arn") == (f"arn:aws:sts::{OTHER}:assumed-role/shared/aa")
    only_identity = world.sts(world.admin, "AssumeRole", RoleArn=untrusting, RoleSessionName="aa")
    assert only_identity.code == "AccessDenied"


def test_external_id_is_required_and_checked(world: World) -> None:
    role_arn = world.role(
        "vendor", trust(ACCOUNT, condition={"StringEquals": {"sts:ExternalId": "Unique-42"}})
    )
    base = {"RoleArn": role_arn, "RoleSessionName": "vv"}
    assert world.sts(world.admin, "AssumeRole", **base).code == "AccessDenied"
    assert world.sts(world.admin, "AssumeRole", ExternalId="wrong-id", **base).code == (
        "AccessDenied"
    )
    assert world.sts(world.admin, "AssumeRole", ExternalId="Unique-42", **base).status == 200


def test_durations(world: World) -> None:
    role_arn = world.role("long", trust(ACCOUNT), max_session_duration=7200)
    base = {"RoleArn": role_arn, "RoleSessionName": "ss"}
    too_long = world.sts(world.admin, "AssumeRole", DurationSeconds=7201, **base)
    assert (too_long.status, too_long.code, too_long.message) == (
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )
    short = world.sts(world.admin, "AssumeRole", DurationSeconds=900, **base)
    assert short.value("Credentials/Expiration") == "2026-12-03T12:15:00Z"
    ok = world.sts(world.admin, "AssumeRole", DurationSeconds=7200, **base)
    session = ok.creds()
    chained = world.sts(session, "AssumeRole", DurationSeconds=3601, **base)
    assert (chained.code, chained.message) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining.",
    )
    default = world.sts(session, "AssumeRole", **base)
    assert default.value("Credentials/Expiration") == "2026-12-03T13:00:00Z"
    below = world.sts(world.admin, "AssumeRole", DurationSeconds=899, **base)
    assert below.code == "ValidationError"


def test_expiry_is_enforced(world: World) -> None:
    role_arn = world.role("short", trust(ACCOUNT))
    creds = world.sts(
        world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="ss", DurationSeconds=900
    ).creds()
    world.advance(899)
    assert world.sts(creds, "GetCallerIdentity").status == 200
    world.advance(1)
    expired = world.sts(creds, "GetCallerIdentity")
    assert (expired.status, expired.code, expired.message) == (
        403,
        "ExpiredToken",
        "The security token included in the request is expired",
    )


def test_tampered_and_mismatched_tokens_are_refused(world: World) -> None:
    role_arn = world.role("t", trust(ACCOUNT))
    creds = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="ss").creds()
    other = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="oo").creds()
    assert creds.token is not None and other.token is not None
    flipped = creds.token[:40] + ("A" if creds.token[40] != "A" else "B") + creds.token[41:]
    for bad in (
        Creds(creds.access_key_id, creds.secret, flipped),
        Creds(creds.access_key_id, creds.secret, creds.token[:-10]),
        Creds(creds.access_key_id, creds.secret, other.token),  # bound to another key id
        Creds(world.admin.access_key_id, world.admin.secret, creds.token),  # AKIA + token
    ):
        reply = world.sts(bad, "GetCallerIdentity")
        assert (reply.status, reply.code) == (403, "InvalidClientTokenId")
    swapped = world.sts(Creds(creds.access_key_id, creds.secret, other.token), "GetCallerIdentity")
    assert swapped.message == "The security token included in the request is invalid"
    # Once a token has been opened (and remembered), it still works only with its own key id.
    assert world.sts(other, "GetCallerIdentity").status == 200
    again = world.sts(Creds(creds.access_key_id, creds.secret, other.token), "GetCallerIdentity")
    assert (again.code, again.message) == (
        "InvalidClientTokenId",
        "The security token included in the request is invalid",
    )
    no_token = world.sts(Creds(creds.access_key_id, creds.secret), "GetCallerIdentity")
    assert no_token.code == "InvalidClientTokenId"


def test_session_policy_narrows_the_role(world: World) -> None:
    role_arn = world.role("wide", trust(ACCOUNT))
    narrow = policy("Allow", "sts:GetAccessKeyInfo")
    creds = world.sts(
        world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="nn", Policy=narrow
    ).creds()
    assert world.sts(creds, "GetAccessKeyInfo", AccessKeyId=creds.access_key_id).status == 200
    denied = world.sts(creds, "DecodeAuthorizationMessage", EncodedMessage="abc")
    assert denied.code == "AccessDenied"
    assert denied.message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/wide/nn is not authorized to perform: "
        "sts:DecodeAuthorizationMessage because no session policy allows the "
        "sts:DecodeAuthorizationMessage action"
    )
    # A session policy cannot grant what the role lacks.
    limited = world.role(
        "limited", trust(ACCOUNT), document=policy("Allow", "sts:GetAccessKeyInfo")
    )
    creds2 = world.sts(
        world.admin, "AssumeRole", RoleArn=limited, RoleSessionName="nn", Policy=ALLOW_ALL
    ).creds()
    assert world.sts(creds2, "DecodeAuthorizationMessage", EncodedMessage="abc").code == (
        "AccessDenied"
    )


def test_managed_session_policies(world: World) -> None:
    role_arn = world.role("m", trust(ACCOUNT))
    managed = world.store.create_policy(
        ACCOUNT, "OnlyKeyInfo", "/", policy("Allow", "sts:GetAccessKeyInfo"), None, world.now
    )
    reply = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=role_arn,
        RoleSessionName="mm",
        PolicyArns=[{"arn": managed.arn}],
    )
    creds = reply.creds()
    assert reply.value("PackedPolicySize") is not None
    assert world.sts(creds, "GetAccessKeyInfo", AccessKeyId=creds.access_key_id).status == 200
    assert world.sts(creds, "DecodeAuthorizationMessage", EncodedMessage="x").code == (
        "AccessDenied"
    )
    missing = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=role_arn,
        RoleSessionName="mm",
        PolicyArns=[{"arn": f"arn:aws:iam::{ACCOUNT}:policy/none"}],
    )
    assert missing.code == "InvalidParameterValue"
    unknown_aws = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=role_arn,
        RoleSessionName="mm",
        PolicyArns=[{"arn": "arn:aws:iam::aws:policy/NoSuchPolicy"}],
    )
    assert unknown_aws.code == "InvalidParameterValue"
    aws_managed = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=role_arn,
        RoleSessionName="mm",
        PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
    )
    assert aws_managed.status == 200, aws_managed.parsed


def test_session_policy_errors(world: World) -> None:
    role_arn = world.role("e", trust(ACCOUNT))
    base = {"RoleArn": role_arn, "RoleSessionName": "ee"}
    malformed = world.sts(world.admin, "AssumeRole", Policy='{"Statement": 1}', **base)
    assert (malformed.status, malformed.code) == (400, "MalformedPolicyDocument")
    big = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:GetCallerIdentity",
                    "Resource": "*",
                    "Sid": "S" + "x" * 2100,
                }
            ],
        }
    )
    too_long = world.sts(world.admin, "AssumeRole", Policy=big, **base)
    assert too_long.code == "ValidationError"
    assert too_long.message is not None
    assert too_long.message.endswith(
        "at 'policy' failed to satisfy constraint: Member must have length less than or equal "
        "to 2048"
    )
    arns = [{"arn": f"arn:aws:iam::aws:policy/P{i}"} for i in range(11)]
    too_many = world.sts(world.admin, "AssumeRole", PolicyArns=arns, **base)
    assert too_many.code == "ValidationError"
    assert too_many.message is not None and "'policyArns'" in too_many.message
    bad_name = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="a b")
    assert bad_name.code == "ValidationError"
    assert bad_name.message is not None and "roleSessionName" in bad_name.message
    tags = [
        {"Key": f"k{i}", "Value": "".join(_hex(f"{i}/{j}") for j in range(4))[:256]}
        for i in range(40)
    ]
    packed = world.sts(world.admin, "AssumeRole", Tags=tags, **base)
    assert packed.code == "PackedPolicyTooLarge"
    assert packed.message is not None
    assert packed.message.startswith("Packed policy consumes ")
    assert packed.message.endswith("% of allotted space, please use smaller policy.")
    # Nothing was issued for any refusal: only the admin's key exists.
    assert len(world.store.list_access_keys(ACCOUNT, "admin")) == 1


def test_revocation_by_token_issue_time(world: World) -> None:
    role_arn = world.role("rev", trust(ACCOUNT))
    old = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="oo").creds()
    world.advance(60)
    cutoff = world.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    world.store.put_role_policy(
        ACCOUNT,
        "rev",
        "AWSRevokeOlderSessions",
        policy("Deny", "*", "*", {"DateLessThan": {"aws:TokenIssueTime": cutoff}}),
    )
    world.authorizer.invalidate(ACCOUNT)
    world.advance(1)
    new = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="nn").creds()
    key_info = {"AccessKeyId": world.admin.access_key_id}
    revoked = world.sts(old, "GetAccessKeyInfo", **key_info)
    assert revoked.code == "AccessDenied"
    assert revoked.message is not None
    assert revoked.message.endswith("with an explicit deny in an identity-based policy")
    assert world.sts(new, "GetAccessKeyInfo", **key_info).status == 200


def test_session_tags_transitive_and_overrides(world: World) -> None:
    gate = policy(
        "Allow", "sts:GetAccessKeyInfo", "*", {"StringEquals": {"aws:PrincipalTag/Team": "blue"}}
    )
    first = world.role("first", trust(ACCOUNT), document=ALLOW_ALL, tags=[("Team", "red")])
    second = world.role(
        "second", trust(f"arn:aws:iam::{ACCOUNT}:role/first"), document=gate, tags=[("Team", "red")]
    )
    no_tag_trust = world.role("untaggable", trust(ACCOUNT, actions="sts:AssumeRole"))
    refused = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=no_tag_trust,
        RoleSessionName="tt",
        Tags=[{"Key": "a", "Value": "b"}],
    )
    assert refused.code == "AccessDenied"
    assert refused.message is not None and "sts:TagSession" in refused.message
    one = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=first,
        RoleSessionName="one",
        Tags=[{"Key": "team", "Value": "blue"}, {"Key": "Project", "Value": "x"}],
        TransitiveTagKeys=["team"],
    )
    assert one.status == 200, one.parsed
    creds = one.creds()
    # team=blue is transitive: the chained session has it and it overrides the role's Team=red.
    two = world.sts(creds, "AssumeRole", RoleArn=second, RoleSessionName="two")
    assert two.status == 200, two.parsed
    chained = two.creds()
    key_info = {"AccessKeyId": world.admin.access_key_id}
    assert world.sts(chained, "GetAccessKeyInfo", **key_info).status == 200
    # Without the transitive tag the role's own Team=red applies.
    plain = world.sts(world.admin, "AssumeRole", RoleArn=first, RoleSessionName="pp").creds()
    plain_two = world.sts(plain, "AssumeRole", RoleArn=second, RoleSessionName="tt").creds()
    assert world.sts(plain_two, "GetAccessKeyInfo", **key_info).code == "AccessDenied"
    # Carrying transitive tags into a role whose trust policy does not allow sts:TagSession
    # is refused.
    strict = world.role(
        "strict", trust(f"arn:aws:iam::{ACCOUNT}:role/first", actions="sts:AssumeRole")
    )
    untagged = world.sts(creds, "AssumeRole", RoleArn=strict, RoleSessionName="st")
    assert untagged.code == "AccessDenied"
    assert untagged.message is not None and "sts:TagSession" in untagged.message
    assert world.sts(plain, "AssumeRole", RoleArn=strict, RoleSessionName="st").status == 200
    # Re-passing an inherited transitive key fails.
    clash = world.sts(
        creds,
        "AssumeRole",
        RoleArn=second,
        RoleSessionName="cc",
        Tags=[{"Key": "TEAM", "Value": "green"}],
    )
    assert (clash.status, clash.code) == (400, "InvalidParameterValue")
    duplicate = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=first,
        RoleSessionName="dd",
        Tags=[{"Key": "k", "Value": "1"}, {"Key": "K", "Value": "2"}],
    )
    assert duplicate.code == "InvalidParameterValue"
    stray = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=first,
        RoleSessionName="dd",
        Tags=[{"Key": "k", "Value": "1"}],
        TransitiveTagKeys=["other"],
    )
    assert stray.code == "InvalidParameterValue"


def test_source_identity_persists_through_chaining(world: World) -> None:
    gate = policy(
        "Allow", "sts:GetAccessKeyInfo", "*", {"StringEquals": {"aws:SourceIdentity": "alice"}}
    )
    first = world.role("si1", trust(ACCOUNT))
    second = world.role("si2", trust(f"arn:aws:iam::{ACCOUNT}:role/si1"), document=gate)
    one = world.sts(
        world.admin, "AssumeRole", RoleArn=first, RoleSessionName="aa", SourceIdentity="alice"
    )
    assert one.value("SourceIdentity") == "alice"
    creds = one.creds()
    two = world.sts(creds, "AssumeRole", RoleArn=second, RoleSessionName="bb")
    assert two.value("SourceIdentity") == "alice"
    key_info = {"AccessKeyId": world.admin.access_key_id}
    assert world.sts(two.creds(), "GetAccessKeyInfo", **key_info).status == 200
    changed = world.sts(
        creds, "AssumeRole", RoleArn=second, RoleSessionName="cc", SourceIdentity="mallory"
    )
    assert changed.code == "InvalidParameterValue"
    no_permission = world.role("si3", trust(ACCOUNT, actions="sts:AssumeRole"))
    refused = world.sts(
        world.admin,
        "AssumeRole",
        RoleArn=no_permission,
        RoleSessionName="aa",
        SourceIdentity="alice",
    )
    assert refused.code == "AccessDenied"
    assert refused.message is not None and "sts:SetSourceIdentity" in refused.message


def test_role_boundary_limits_the_session(world: World) -> None:
    boundary = world.store.create_policy(
        ACCOUNT, "B", "/", policy("Allow", "sts:GetAccessKeyInfo"), None, world.now
    )
    role_arn = world.role("bounded", trust(ACCOUNT), permissions_boundary=boundary.arn)
    creds = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="bb").creds()
    assert world.sts(creds, "GetAccessKeyInfo", AccessKeyId=creds.access_key_id).status == 200
    denied = world.sts(creds, "DecodeAuthorizationMessage", EncodedMessage="x")
    assert denied.message is not None and "permissions boundary" in denied.message


def test_role_session_context_keys(world: World) -> None:
    role = world.store.create_role(ACCOUNT, "ctx", "/p/", trust(ACCOUNT), world.now)
    conditions = {
        "StringEquals": {
            "aws:PrincipalType": "AssumedRole",
            "aws:userid": f"{role.role_id}:ctx-s",
            "aws:PrincipalArn": role.arn,
        },
        "Bool": {"aws:MultiFactorAuthPresent": "false"},
        "Null": {"aws:username": "true", "aws:TokenIssueTime": "false"},
    }
    world.store.put_role_policy(
        ACCOUNT, "ctx", "p", policy("Allow", "sts:GetAccessKeyInfo", "*", conditions)
    )
    creds = world.sts(world.admin, "AssumeRole", RoleArn=role.arn, RoleSessionName="ctx-s").creds()
    reply = world.sts(creds, "GetAccessKeyInfo", AccessKeyId=creds.access_key_id)
    assert reply.status == 200, reply.parsed


def test_get_session_token(world: World) -> None:
    reply = world.sts(world.admin, "GetSessionToken")
    assert reply.status == 200, reply.parsed
    assert reply.value("Credentials/Expiration") == "2026-12-04T00:00:00Z"  # 12 hours
    creds = reply.creds()
    who = world.sts(creds, "GetCallerIdentity")
    user = world.store.get_user(ACCOUNT, "admin")
    assert user is not None
    assert who.value("Arn") == user.arn
    assert who.value("UserId") == user.user_id
    again = world.sts(creds, "GetSessionToken")
    assert (again.status, again.code, again.message) == (
        403,
        "AccessDenied",
        "Cannot call GetSessionToken with session credentials",
    )
    iam = world.iam(creds, "ListUsers")
    assert (iam.status, iam.code) == (403, "InvalidClientTokenId")
    # A GetSessionToken session may assume roles (counted as chaining: at most one hour).
    role_arn = world.role("from-gst", trust(ACCOUNT))
    assumed = world.sts(creds, "AssumeRole", RoleArn=role_arn, RoleSessionName="gg")
    assert assumed.status == 200, assumed.parsed
    long = world.sts(
        creds, "AssumeRole", RoleArn=role_arn, RoleSessionName="gg", DurationSeconds=7200
    )
    assert long.code == "ValidationError"
    short = world.sts(world.admin, "GetSessionToken", DurationSeconds=900)
    assert short.value("Credentials/Expiration") == "2026-12-03T12:15:00Z"
    too_long = world.sts(world.admin, "GetSessionToken", DurationSeconds=129601)
    assert too_long.code == "ValidationError"
    mfa = world.sts(
        world.admin, "GetSessionToken", SerialNumber="arn:aws:iam::1:mfa/x", TokenCode="123456"
    )
    assert mfa.code == "AccessDenied"
    # Role sessions cannot call it either.
    role_creds = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="rr")
    refused = world.sts(role_creds.creds(), "GetSessionToken")
    assert refused.message == "Cannot call GetSessionToken with session credentials"


def test_get_caller_identity_is_never_denied(world: World) -> None:
    world.store.put_user_policy(ACCOUNT, "admin", "deny", policy("Deny", "*"))
    world.authorizer.invalidate()
    assert world.sts(world.admin, "GetCallerIdentity").status == 200
    assert world.sts(world.admin, "GetSessionToken").status == 200


def test_get_access_key_info(world: World) -> None:
    other = world.user("o", account=OTHER)
    info = world.sts(world.admin, "GetAccessKeyInfo", AccessKeyId=other.access_key_id)
    assert info.value("Account") == OTHER
    unknown = world.sts(world.admin, "GetAccessKeyInfo", AccessKeyId="AKIAIOSFODNN7EXAMPLE")
    assert (unknown.status, unknown.code) == (400, "InvalidParameterValue")


def test_decode_authorization_message(world: World) -> None:
    message = {"allowed": False, "explicitDeny": False, "context": {"action": "ec2:X"}}
    encoded = encode_authorization_message(world.store.ring, message, ACCOUNT)
    reply = world.sts(world.admin, "DecodeAuthorizationMessage", EncodedMessage=encoded)
    decoded = reply.value("DecodedMessage")
    assert decoded is not None and json.loads(decoded) == message
    bad = world.sts(world.admin, "DecodeAuthorizationMessage", EncodedMessage="garbage")
    assert (bad.status, bad.code) == (400, "InvalidAuthorizationMessageException")
    foreign = encode_authorization_message(world.store.ring, message, OTHER)
    assert (
        world.sts(world.admin, "DecodeAuthorizationMessage", EncodedMessage=foreign).code
        == "InvalidAuthorizationMessageException"
    )
    with pytest.raises(Exception, match="not issued by Hadron"):
        decode_authorization_message(new_ring(), encoded, ACCOUNT)


def test_root_cannot_assume_roles(world: World) -> None:
    root = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root")
    authorizer = PolicyAuthorizer(world.store)
    with pytest.raises(AccessDenied, match=r"^Roles may not be assumed by root accounts\.$"):
        authorizer.authorize(
            root, "sts", "AssumeRole", {"RoleArn": "arn:aws:iam::1:role/x", "RoleSessionName": "ss"}
        )


def test_rotated_master_key_keeps_sessions_and_reloads_once() -> None:
    ring = new_ring()
    rotated = rotate(ring)  # what `hadron admin rotate-master-key` wrote to the key file
    current = {"ring": ring}
    reloads: list[MasterKeyRing] = []
    ticks = [0.0]

    def reload() -> MasterKeyRing | None:
        reloads.append(rotated)
        fresh = None if current["ring"] is rotated else rotated
        current["ring"] = rotated
        return fresh

    keys = SessionKeys(lambda: current["ring"], reload, monotonic=lambda: ticks[0])
    old = _session()
    old_token = keys.seal(old)  # sealed under the old active key
    assert keys.open(old_token, old.access_key_id) == old
    assert not reloads
    # Another node, already on the rotated ring, issues a session under the new key: the first
    # token naming the unknown key makes this node re-read the key file once.
    new = _session()
    new_token = SessionKeys(lambda: rotated).seal(new)
    assert keys.open(new_token, new.access_key_id) == new
    assert len(reloads) == 1
    assert keys.open(old_token, old.access_key_id) == old  # old sessions stay valid
    # Garbage, or a key id no ring has, never makes it read the file more than once a second.
    foreign = SessionKeys(lambda: rotate(rotated)).seal(_session())
    assert keys.open(foreign, new.access_key_id) is None
    assert keys.open(foreign, new.access_key_id) is None
    assert keys.open("garbage", new.access_key_id) is None
    assert len(reloads) == 1
    ticks[0] += 1.5
    assert keys.open(foreign, new.access_key_id) is None
    assert keys.open(foreign, new.access_key_id) is None
    assert len(reloads) == 2


def _session() -> Session:
    akid, secret, sid = temporary_credentials(ACCOUNT)
    return Session(
        kind=SessionKind.USER,
        access_key_id=akid,
        secret_access_key=secret,
        session_id=sid,
        account_id=ACCOUNT,
        arn=_user_arn("u"),
        user_id="AIDAEXAMPLEEXAMPLE12",
        source_arn=_user_arn("u"),
        source_name="u",
        source_id="AIDAEXAMPLEEXAMPLE12",
        issued_at=START,
        expires_at=START.replace(hour=13),
    )


def test_ec2_denials_carry_a_message_sts_decodes(world: World) -> None:
    frank = world.user("frank", policy("Allow", "sts:DecodeAuthorizationMessage"))
    denied = world.ec2(frank, "DescribeVpcEndpoints")
    assert (denied.status, denied.code) == (403, "UnauthorizedOperation")
    head = (
        "You are not authorized to perform this operation. User: "
        f"{_user_arn('frank')} is not authorized to perform: ec2:DescribeVpcEndpoints because "
        "no identity-based policy allows the ec2:DescribeVpcEndpoints action. "
        "Encoded authorization failure message: "
    )
    assert denied.message is not None and denied.message.startswith(head)
    encoded = denied.message[len(head) :]
    reply = world.sts(frank, "DecodeAuthorizationMessage", EncodedMessage=encoded)
    decoded = json.loads(reply.value("DecodedMessage"))
    user = world.store.get_user(ACCOUNT, "frank")
    assert user is not None
    assert decoded["allowed"] is False and decoded["explicitDeny"] is False
    assert decoded["context"]["principal"] == {
        "id": user.user_id,
        "name": "frank",
        "arn": _user_arn("frank"),
    }
    assert decoded["context"]["action"] == "ec2:DescribeVpcEndpoints"
    keys = {item["key"] for item in decoded["context"]["conditions"]["items"]}
    assert {"aws:SourceIp", "aws:SecureTransport", "aws:CurrentTime"} <= keys
    # Another account's caller cannot read it.
    other = world.user("ophelia", ALLOW_ALL, account=OTHER)
    foreign = world.sts(other, "DecodeAuthorizationMessage", EncodedMessage=encoded)
    assert foreign.code == "InvalidAuthorizationMessageException"


def _presigned(world: World, creds: Creds) -> Reply:
    """GetCallerIdentity as a presigned GET URL (``X-Amz-Security-Token`` in the query)."""
    url = "https://127.0.0.1:8443/?Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest("GET", url)
    signer = SigV4QueryAuth(
        Credentials(creds.access_key_id, creds.secret, creds.token), "sts", "us-east-1", 3600
    )
    with mock.patch(
        "botocore.auth.get_current_datetime", return_value=world.now.replace(tzinfo=None)
    ):
        signer.add_auth(request)
    parts = urlsplit(request.url)
    target = f"{parts.path}?{parts.query}"
    response = world.gateway.handle(
        HttpRequest("GET", target, (("host", "127.0.0.1:8443"),)),
        Connection("127.0.0.1", {"tlsVersion": "1.3"}),
    )
    model = load_service("sts").operation_model("GetCallerIdentity")
    raw = {"body": response.body, "headers": dict(response.headers), "status_code": response.status}
    return Reply(response.status, create_parser("query").parse(raw, model.output_shape))


def test_presigned_urls_with_session_credentials_expire_with_the_session(world: World) -> None:
    role_arn = world.role("presign", trust(ACCOUNT))
    creds = world.sts(
        world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="ps", DurationSeconds=900
    ).creds()
    ok = _presigned(world, creds)
    assert ok.status == 200, ok.parsed
    assert ok.value("Arn") == f"arn:aws:sts::{ACCOUNT}:assumed-role/presign/ps"
    world.advance(900)
    expired = _presigned(world, creds)
    assert (expired.status, expired.code) == (403, "ExpiredToken")


def test_sessions_of_a_deleted_role_get_nothing_from_a_recreated_one(world: World) -> None:
    role_arn = world.role("phoenix", trust(ACCOUNT))
    creds = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="old").creds()
    key_info = {"AccessKeyId": world.admin.access_key_id}
    assert world.sts(creds, "GetAccessKeyInfo", **key_info).status == 200
    world.store.delete_role_policy(ACCOUNT, "phoenix", "p")
    world.store.delete_role(ACCOUNT, "phoenix")
    world.role("phoenix", trust(ACCOUNT))  # same name and ARN, new role id
    world.authorizer.invalidate(ACCOUNT)
    denied = world.sts(creds, "GetAccessKeyInfo", **key_info)
    assert denied.code == "AccessDenied"
    fresh = world.sts(world.admin, "AssumeRole", RoleArn=role_arn, RoleSessionName="new").creds()
    assert world.sts(fresh, "GetAccessKeyInfo", **key_info).status == 200


def test_session_token_sessions_are_bound_to_the_user_id(world: World) -> None:
    grace = world.user("grace", policy("Allow", "ec2:DescribeVpcEndpoints"))
    creds = world.sts(grace, "GetSessionToken").creds()
    # Allowed: authorization passes and the (unserved) operation answers 501.
    assert world.ec2(creds, "DescribeVpcEndpoints").code == "NotImplemented"
    for key in world.store.list_access_keys(ACCOUNT, "grace"):
        world.store.delete_access_key(key.access_key_id)
    world.store.delete_user_policy(ACCOUNT, "grace", "p")
    world.store.delete_user(ACCOUNT, "grace")
    world.user("grace", policy("Allow", "ec2:DescribeVpcEndpoints"))  # new user id
    world.authorizer.invalidate(ACCOUNT)
    assert world.ec2(creds, "DescribeVpcEndpoints").code == "UnauthorizedOperation"
