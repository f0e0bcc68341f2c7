"""Callers and Principal elements (§4.6) and the principal-derived global keys (§5)."""

from __future__ import annotations

import pytest

from hadron.iam.context import context_values
from hadron.iam.principals import (
    CallerType,
    Match,
    PrincipalMatcher,
    identify,
    principal_value_error,
)
from tests.iam.helpers import ACCOUNT, ALICE, FEDERATED, OTHER, ROLE, ROOT, SESSION

DERIVED = [
    (
        ALICE,
        CallerType.USER,
        {
            "aws:principalarn": ALICE,
            "aws:principalaccount": ACCOUNT,
            "aws:principaltype": "User",
            "aws:username": "alice",
            "aws:principalisawsservice": "false",
        },
    ),
    (f"arn:aws:iam::{ACCOUNT}:user/eng/alice", CallerType.USER, {"aws:username": "alice"}),
    (
        SESSION,
        CallerType.ASSUMED_ROLE,
        {"aws:principalarn": ROLE, "aws:principaltype": "AssumedRole"},
    ),
    (
        FEDERATED,
        CallerType.FEDERATED_USER,
        {
            "aws:principalarn": FEDERATED,
            "aws:userid": f"{ACCOUNT}:carol",
            "aws:principaltype": "FederatedUser",
        },
    ),
    (
        ROOT,
        CallerType.ACCOUNT,
        {"aws:principalarn": ROOT, "aws:userid": ACCOUNT, "aws:principaltype": "Account"},
    ),
    (
        None,
        CallerType.ANONYMOUS,
        {"aws:principalaccount": "anonymous", "aws:principaltype": "Anonymous"},
    ),
    (
        "proton.amazonaws.com",
        CallerType.SERVICE,
        {"aws:principalisawsservice": "true", "aws:principalservicename": "proton.amazonaws.com"},
    ),
    (ROLE, CallerType.ROLE, {"aws:principalarn": ROLE}),
    (f"arn:aws:s3:::{ACCOUNT}", CallerType.OTHER, {}),
]


@pytest.mark.parametrize(
    ("principal", "kind", "keys"), DERIVED, ids=[str(p) for p, _, _ in DERIVED]
)
def test_callers_and_their_global_keys(
    principal: str | None, kind: CallerType, keys: dict[str, str]
) -> None:
    caller = identify(principal)
    assert caller.type is kind
    values = context_values(None, caller, None)
    for key, value in keys.items():
        assert values[key] == value
    # aws:username is present only for IAM users (§5)
    assert ("aws:username" in values) is (kind is CallerType.USER)


def test_identify_is_cached() -> None:
    assert identify(ALICE) is identify(ALICE)
    assert identify(SESSION).is_session and not identify(ALICE).is_session


MATCH_ROWS = [
    ({"AWS": "*"}, None, Match.DIRECT, "Principal * includes anonymous users"),
    ({"AWS": ALICE}, ALICE, Match.DIRECT, "an IAM user ARN names that user"),
    (
        {"AWS": f"arn:aws:iam::{ACCOUNT}:user/Alice"},
        ALICE,
        Match.NONE,
        "user names in principal ARNs are case-sensitive",
    ),
    ({"AWS": ACCOUNT}, ALICE, Match.ACCOUNT, "an account id names the account (delegation)"),
    (
        {"AWS": ROOT},
        ALICE,
        Match.ACCOUNT,
        "arn:aws:iam::<account>:root names the account, not the root user",
    ),
    ({"AWS": OTHER}, ALICE, Match.NONE, "another account"),
    ({"AWS": ROLE}, SESSION, Match.SESSION, "a role ARN names the role's sessions"),
    (
        {"AWS": SESSION},
        SESSION,
        Match.DIRECT,
        "an assumed-role session ARN names exactly that session",
    ),
    (
        {"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/other"},
        SESSION,
        Match.NONE,
        "another session of the role",
    ),
    (
        {"AWS": f"arn:aws:iam::{ACCOUNT}:user/carol"},
        FEDERATED,
        Match.SESSION,
        "a user ARN names the user's federated sessions",
    ),
    (
        {"Service": "proton.amazonaws.com"},
        "proton.amazonaws.com",
        Match.DIRECT,
        "a service principal",
    ),
    ({"Service": "proton.amazonaws.com"}, ALICE, Match.NONE, "a service principal is not a user"),
    (
        {"AWS": ACCOUNT},
        "proton.amazonaws.com",
        Match.NONE,
        "an account does not include service principals",
    ),
    (
        {"Federated": "cognito-identity.amazonaws.com"},
        SESSION,
        Match.NONE,
        "a federated provider, not this session's",
    ),
    ({"CanonicalUser": "79a59df9"}, "79a59df9", Match.DIRECT, "a canonical user id"),
]


@pytest.mark.parametrize(
    ("element", "principal", "strength", "doc"), MATCH_ROWS, ids=[r[3] for r in MATCH_ROWS]
)
def test_principal_matching(
    element: dict[str, str], principal: str | None, strength: Match, doc: str
) -> None:
    matcher = PrincipalMatcher(tuple((k, (v,)) for k, v in element.items()))
    caller = identify(principal)
    assert matcher.match(caller, context_values(None, caller, None)) is strength


def test_unique_ids_and_federated_providers_match() -> None:
    # "IAM converts user/role ARNs in trust policies into unique IDs" (Principal element doc).
    user_id = PrincipalMatcher((("AWS", ("AIDAJQABLZS4A3QDU576Q",)),))
    caller = identify(ALICE)
    assert user_id.match(caller, {"aws:userid": "AIDAJQABLZS4A3QDU576Q"}) is Match.DIRECT
    role_id = PrincipalMatcher((("AWS", ("AROADBQP57FF2AEXAMPLE",)),))
    session = identify(SESSION)
    assert role_id.match(session, {"aws:userid": "AROADBQP57FF2AEXAMPLE:ci-run"}) is Match.SESSION
    assert role_id.match(session, {}) is Match.NONE
    assert user_id.match(identify(FEDERATED), {"aws:userid": "AIDAJQABLZS4A3QDU576Q"}) is Match.NONE
    federated = PrincipalMatcher((("Federated", ("cognito-identity.amazonaws.com",)),))
    values = {"aws:federatedprovider": "cognito-identity.amazonaws.com"}
    assert federated.match(session, values) is Match.DIRECT


def test_not_principal_identities() -> None:
    session = identify(SESSION)
    values = context_values(None, session, None)
    everything = PrincipalMatcher((("AWS", (SESSION, ROLE, ACCOUNT)),))
    partial = PrincipalMatcher((("AWS", (SESSION, ACCOUNT)),))
    assert everything.excludes_for_deny(session, values)
    assert not partial.excludes_for_deny(session, values)
    assert partial.excludes_for_allow(session, values)
    anonymous = identify(None)
    assert not everything.excludes_for_deny(anonymous, {})
    assert PrincipalMatcher((("AWS", ("*",)),)).excludes_for_deny(anonymous, {})
    service = identify("proton.amazonaws.com")
    assert PrincipalMatcher((("Service", ("proton.amazonaws.com",)),)).excludes_for_deny(
        service, {}
    )
    root = identify(ROOT)
    assert PrincipalMatcher((("AWS", (ROOT,)),)).excludes_for_deny(root, {})


@pytest.mark.parametrize(
    ("kind", "value", "valid"),
    [
        ("AWS", "*", True),
        ("AWS", ACCOUNT, True),
        ("AWS", ROOT, True),
        ("AWS", ALICE, True),
        ("AWS", ROLE, True),
        ("AWS", SESSION, True),
        ("AWS", FEDERATED, True),
        ("AWS", "AIDAJQABLZS4A3QDU576Q", True),
        ("AWS", "arn:aws:iam::*:root", False),
        ("AWS", "arn:aws:iam:us-east-1:111122223333:root", False),
        ("AWS", "arn:aws:s3:::bucket", False),
        ("AWS", "", False),
        ("Service", "proton.amazonaws.com", True),
        ("Service", "*", False),
        ("Federated", "arn:aws:iam::111122223333:saml-provider/x", True),
    ],
)
def test_principal_values(kind: str, value: str, valid: bool) -> None:
    assert (principal_value_error(kind, value) is None) is valid
