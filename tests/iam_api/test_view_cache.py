"""The cached user view (``PolicyCache.user_view``): GetUser and user-ARN resources without
store reads, kept in step with every IAM API write by ``policies_changed``."""

from __future__ import annotations

from typing import Any

import pytest

from hadron.enforcement import PolicyAuthorizer
from hadron.errors import AccessDenied, NoSuchEntity
from hadron.iam.account import AccountApi
from hadron.iam.api import IamApi
from hadron.iam.groups import GroupsApi
from hadron.iam.roles import RolesApi
from hadron.policy_cache import PolicyCache
from hadron.store import SqlStore
from hadron.types import Principal

from .conftest import ACCOUNT, NOW
from .test_enforcement import ALICE, Ticks

BOUNDARY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


class Apis:
    def __init__(self, store: SqlStore, ticks: Ticks) -> None:
        self.authorizer = PolicyAuthorizer(store, PolicyCache(store, monotonic=ticks))
        changed = self.authorizer.invalidate
        self.iam = IamApi(
            store, lambda: NOW, policies_changed=changed, user_view=self.authorizer.cache.user_view
        )
        self.roles = RolesApi(store, lambda: NOW, policies_changed=changed)
        self.groups = GroupsApi(store, lambda: NOW, policies_changed=changed)
        self.account = AccountApi(store, lambda: NOW, policies_changed=changed)

    def user(self, name: str = "alice") -> dict[str, Any]:
        result: dict[str, Any] = self.iam.get_user(ALICE, {"UserName": name})["User"]
        return result


def test_every_api_write_is_seen_by_the_next_get_user(store: SqlStore) -> None:
    apis = Apis(store, Ticks())
    assert "Tags" not in apis.user() and "PermissionsBoundary" not in apis.user()
    apis.roles.tag_user(ALICE, {"UserName": "alice", "Tags": [{"Key": "team", "Value": "red"}]})
    assert apis.user()["Tags"] == [{"Key": "team", "Value": "red"}]
    apis.roles.untag_user(ALICE, {"UserName": "alice", "TagKeys": ["team"]})
    assert "Tags" not in apis.user()
    apis.groups.put_user_permissions_boundary(
        ALICE, {"UserName": "alice", "PermissionsBoundary": BOUNDARY}
    )
    assert apis.user()["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    apis.groups.delete_user_permissions_boundary(ALICE, {"UserName": "alice"})
    assert "PermissionsBoundary" not in apis.user()
    apis.account.update_user(ALICE, {"UserName": "alice", "NewPath": "/ops/"})
    assert apis.user()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/ops/alice"
    apis.account.update_user(ALICE, {"UserName": "alice", "NewUserName": "alicia"})
    with pytest.raises(NoSuchEntity, match=r"The user with name alice cannot be found\."):
        apis.user()
    assert apis.user("alicia")["UserName"] == "alicia"
    apis.iam.delete_user(ALICE, {"UserName": "alicia"})
    with pytest.raises(NoSuchEntity):
        apis.user("alicia")


def test_a_missing_user_is_not_cached(store: SqlStore) -> None:
    apis = Apis(store, Ticks())
    with pytest.raises(NoSuchEntity, match=r"The user with name bob cannot be found\."):
        apis.user("bob")
    store.create_user(ACCOUNT, "bob", "/", NOW)  # no invalidation: nothing was cached
    assert apis.user("bob")["UserName"] == "bob"


def test_writes_elsewhere_are_seen_after_the_ttl(store: SqlStore) -> None:
    ticks = Ticks()
    apis = Apis(store, ticks)
    assert "Tags" not in apis.user()
    store.tag_user(ACCOUNT, "alice", [("env", "prod")])  # another process: no invalidation
    assert "Tags" not in apis.user()  # served from the cache
    ticks.now = 5.1
    assert apis.user()["Tags"] == [{"Key": "env", "Value": "prod"}]


def test_user_arn_resources_use_the_view(store: SqlStore) -> None:
    apis = Apis(store, Ticks())
    apis.account.update_user(ALICE, {"UserName": "alice", "NewPath": "/ops/"})
    admin = Principal(
        ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/admin", "AIDAADMIN", "IAMUser", "admin"
    )
    decision = apis.authorizer.decide(
        admin,
        "iam:GetUser",
        f"arn:aws:iam::{ACCOUNT}:user/ops/alice",
        identity_policies=[],
    )
    assert decision.result == "ImplicitlyDenied"
    with pytest.raises(AccessDenied, match=r"on resource: arn:aws:iam::\d+:user/ops/alice"):
        apis.authorizer.authorize(admin, "iam", "GetUser", {"UserName": "alice"})


def test_resource_tags_reach_the_engine(store: SqlStore) -> None:
    apis = Apis(store, Ticks())
    store.create_user(ACCOUNT, "bob", "/", NOW)
    apis.roles.tag_user(ALICE, {"UserName": "bob", "Tags": [{"Key": "team", "Value": "blue"}]})
    document = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*",'
        '"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"blue"}}}]}'
    )
    apis.iam.put_user_policy(
        ALICE, {"UserName": "alice", "PolicyName": "by-tag", "PolicyDocument": document}
    )
    # Operations on an existing user see its tags (CreateAccessKey included) ...
    for operation in ("GetUser", "CreateAccessKey", "ListUserTags", "UpdateUser"):
        apis.authorizer.authorize(ALICE, "iam", operation, {"UserName": "bob"})
    # ... an untagged one and a user being created have none.
    with pytest.raises(AccessDenied):
        apis.authorizer.authorize(ALICE, "iam", "GetUser", {"UserName": "alice"})
    with pytest.raises(AccessDenied):
        apis.authorizer.authorize(ALICE, "iam", "CreateUser", {"UserName": "carol"})
    apis.roles.untag_user(ALICE, {"UserName": "bob", "TagKeys": ["TEAM"]})
    with pytest.raises(AccessDenied):
        apis.authorizer.authorize(ALICE, "iam", "GetUser", {"UserName": "bob"})
