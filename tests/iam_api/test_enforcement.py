"""The live authorizer: policy gathering, the per-principal cache and its invalidation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from hadron.enforcement import PolicyAuthorizer
from hadron.errors import AccessDenied
from hadron.iam.api import IamApi
from hadron.iam_resources import resource_for
from hadron.policy_cache import PolicyCache
from hadron.store import SqlStore
from hadron.store.schema import user_policies
from hadron.types import Principal

from .conftest import ACCOUNT, ALLOW_ALL, NOW

ALICE = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice", "AIDAALICE", "IAMUser", "alice")
CONTEXT: dict[str, Any] = {
    "aws:SourceIp": "127.0.0.1",
    "aws:SecureTransport": True,
    "aws:CurrentTime": NOW,
    "aws:EpochTime": int(NOW.timestamp()),
    "aws:RequestedRegion": "us-east-1",
}


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _doc(statement: str) -> str:
    return '{"Version":"2012-10-17","Statement":[' + statement + "]}"


def _authorizer(store: SqlStore, ticks: Ticks) -> tuple[PolicyAuthorizer, IamApi]:
    authorizer = PolicyAuthorizer(store, PolicyCache(store, monotonic=ticks))
    api = IamApi(store, lambda: NOW, policies_changed=authorizer.invalidate)
    return authorizer, api


def test_no_policies_is_an_implicit_deny(store: SqlStore) -> None:
    authorizer, _ = _authorizer(store, Ticks())
    with pytest.raises(AccessDenied) as info:
        authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)
    assert info.value.message == (
        f"User: {ALICE.arn} is not authorized to perform: proton:ListServices because no "
        "identity-based policy allows the proton:ListServices action"
    )


def test_api_writes_invalidate_the_cache(store: SqlStore) -> None:
    authorizer, api = _authorizer(store, Ticks())
    with pytest.raises(AccessDenied):
        authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)
    api.put_user_policy(
        ALICE, {"UserName": "alice", "PolicyName": "p", "PolicyDocument": ALLOW_ALL}
    )
    authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)
    deny = _doc('{"Effect":"Deny","Action":"proton:*","Resource":"*"}')
    arn = api.create_policy(ALICE, {"PolicyName": "d", "PolicyDocument": deny})["Policy"]["Arn"]
    api.attach_user_policy(ALICE, {"UserName": "alice", "PolicyArn": arn})
    with pytest.raises(AccessDenied, match="with an explicit deny in an identity-based policy"):
        authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)
    api.detach_user_policy(ALICE, {"UserName": "alice", "PolicyArn": arn})
    authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)


def test_writes_elsewhere_are_seen_after_the_ttl(store: SqlStore) -> None:
    ticks = Ticks()
    authorizer, _ = _authorizer(store, ticks)
    with pytest.raises(AccessDenied):
        authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)
    store.put_user_policy(ACCOUNT, "alice", "p", ALLOW_ALL)  # another process, no invalidation
    with pytest.raises(AccessDenied):
        authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)
    ticks.now = 5.1
    authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)


def test_a_load_racing_an_invalidation_is_not_cached(store: SqlStore) -> None:
    cache = PolicyCache(store, monotonic=Ticks())
    original = cache._load

    def racing(account_id: str, user_name: str) -> Any:
        loaded = original(account_id, user_name)
        cache.invalidate(account_id)  # a write lands while the load is in flight
        return loaded

    cache._load = racing  # type: ignore[method-assign]
    assert cache.identity_policies(ACCOUNT, "alice") == ()
    assert cache._entries == {}


def test_unparseable_stored_policy_fails_closed(store: SqlStore) -> None:
    authorizer, _ = _authorizer(store, Ticks())
    store.attach_user_policy(ACCOUNT, "alice", "arn:aws:iam::aws:policy/AdministratorAccess", NOW)
    store.put_user_policy(ACCOUNT, "alice", "p", ALLOW_ALL)
    with store.engine.begin() as conn:  # corrupted behind Hadron's back
        conn.execute(update(user_policies).values(document="{not json"))
    with pytest.raises(AccessDenied, match="explicit deny"):
        authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)


def test_conditions_see_the_request_context(store: SqlStore) -> None:
    authorizer, api = _authorizer(store, Ticks())
    only_ipv4_lan = _doc(
        '{"Effect":"Allow","Action":"*","Resource":"*",'
        '"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}}'
    )
    api.put_user_policy(
        ALICE, {"UserName": "alice", "PolicyName": "p", "PolicyDocument": only_ipv4_lan}
    )
    with pytest.raises(AccessDenied):
        authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)
    authorizer.authorize(
        ALICE, "proton", "ListServices", {}, context=CONTEXT | {"aws:SourceIp": "10.1.2.3"}
    )


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        ("proton", "ListServices", {}, "*"),
        ("iam", "GetUser", {}, ALICE.arn),
        ("iam", "GetUser", {"UserName": "bob"}, f"arn:aws:iam::{ACCOUNT}:user/eng/bob"),
        ("iam", "GetUser", {"UserName": "zed"}, f"arn:aws:iam::{ACCOUNT}:user/zed"),
        ("iam", "CreateUser", {"UserName": "x", "Path": "/p/"}, f"arn:aws:iam::{ACCOUNT}:user/p/x"),
        ("iam", "ListUsers", {}, f"arn:aws:iam::{ACCOUNT}:user/"),
        (
            "iam",
            "GetPolicy",
            {"PolicyArn": "arn:aws:iam::aws:policy/X"},
            "arn:aws:iam::aws:policy/X",
        ),
        (
            "iam",
            "CreatePolicy",
            {"PolicyName": "P", "Path": "/t/"},
            f"arn:aws:iam::{ACCOUNT}:policy/t/P",
        ),
        ("iam", "ListPolicies", {}, "*"),
        ("iam", "UpdateUser", {"UserName": "bob"}, f"arn:aws:iam::{ACCOUNT}:user/eng/bob"),
        ("iam", "UpdateGroup", {"GroupName": "devs"}, f"arn:aws:iam::{ACCOUNT}:group/devs"),
        (
            "iam",
            "ListEntitiesForPolicy",
            {"PolicyArn": "arn:aws:iam::aws:policy/X"},
            "arn:aws:iam::aws:policy/X",
        ),
        ("iam", "GetAccountAuthorizationDetails", {}, "*"),
        (
            "iam",
            "CreateInstanceProfile",
            {"InstanceProfileName": "web", "Path": "/p/"},
            f"arn:aws:iam::{ACCOUNT}:instance-profile/p/web",
        ),
        (
            "iam",
            "GetInstanceProfile",
            {"InstanceProfileName": "web"},
            f"arn:aws:iam::{ACCOUNT}:instance-profile/web",
        ),
        ("iam", "ListInstanceProfiles", {}, f"arn:aws:iam::{ACCOUNT}:instance-profile/"),
        (
            "iam",
            "ListInstanceProfilesForRole",
            {"RoleName": "ops"},
            f"arn:aws:iam::{ACCOUNT}:role/ops",
        ),
        (
            "iam",
            "TagPolicy",
            {"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/P"},
            f"arn:aws:iam::{ACCOUNT}:policy/P",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_resource_for(service: str, operation: str, params: dict[str, Any], expected: str) -> None:
    paths = {"bob": "/eng/"}
    assert resource_for(ALICE, service, operation, params, lambda _a, n: paths.get(n)) == expected
