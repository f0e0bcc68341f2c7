"""The roles and tags repository: roles, their policies, boundaries, and tags on users and roles."""

from __future__ import annotations

import pytest

from hadron.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.store import SqlStore

from .conftest import NOW

TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'  # noqa: E501
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


def test_role_lifecycle_and_conflicts(store: SqlStore, account: str) -> None:
    role = store.create_role(
        account, "App", "/svc/", TRUST, NOW, description="d", tags=[("Team", "a"), ("team", "b")]
    )
    assert role.arn == f"arn:aws:iam::{account}:role/svc/App"
    assert role.role_id.startswith("AROA") and role.max_session_duration == 3600
    assert role.tags == (("team", "b"),)
    with pytest.raises(EntityAlreadyExists, match=r"Role with name app already exists\."):
        store.create_role(account, "app", "/", TRUST, NOW)
    store.update_role(account, "app", max_session_duration=7200)
    got = store.get_role(account, "APP")
    assert got is not None and got.max_session_duration == 7200 and got.description == "d"
    assert [r.role_name for r in store.list_roles(account, "/svc/")] == ["App"]
    assert store.list_roles(account, "/other/") == []

    store.put_role_policy(account, "App", "p", POLICY)
    with pytest.raises(DeleteConflict, match="must delete policies first"):
        store.delete_role(account, "App")
    store.delete_role_policy(account, "App", "p")
    managed = store.create_policy(account, "m", "/", POLICY, None, NOW)
    store.attach_role_policy(account, "App", managed.arn, NOW)
    assert store.count_attachments(account, managed.arn) == 1
    with pytest.raises(DeleteConflict, match="attached to entities"):
        store.delete_policy(account, managed.arn)
    with pytest.raises(DeleteConflict, match="must detach all policies first"):
        store.delete_role(account, "App")
    store.detach_role_policy(account, "App", managed.arn)
    store.put_role_permissions_boundary(account, "App", managed.arn)
    assert store.count_boundary_uses(account, managed.arn) == 1
    with pytest.raises(DeleteConflict):
        store.delete_policy(account, managed.arn)
    store.delete_role_permissions_boundary(account, "App")
    store.delete_role(account, "App")
    assert store.get_role(account, "App") is None
    with pytest.raises(NoSuchEntity, match=r"The role with name App cannot be found\."):
        store.list_role_tags(account, "App")


def test_attachment_quota(store: SqlStore, account: str) -> None:
    store.create_role(account, "r", "/", TRUST, NOW)
    for i in range(10):
        arn = store.create_policy(account, f"p{i}", "/", POLICY, None, NOW).arn
        store.attach_role_policy(account, "r", arn, NOW)
    extra = store.create_policy(account, "p10", "/", POLICY, None, NOW).arn
    with pytest.raises(LimitExceeded, match="PoliciesPerRole: 10"):
        store.attach_role_policy(account, "r", extra, NOW)


def test_user_tags(store: SqlStore, account: str) -> None:
    store.create_user(account, "u", "/", NOW)
    store.tag_user(account, "u", [("Team", "a"), ("env", "x")])
    store.tag_user(account, "U", [("TEAM", "b")])
    assert store.list_user_tags(account, "u") == [("env", "x"), ("TEAM", "b")]
    store.untag_user(account, "u", ["team", "missing"])
    assert store.list_user_tags(account, "u") == [("env", "x")]
    with pytest.raises(LimitExceeded, match="maximum limit"):
        store.tag_user(account, "u", [(f"k{i}", "v") for i in range(50)])
    store.delete_user(account, "u")  # tags go with the user
    store.create_user(account, "u", "/", NOW)
    assert store.list_user_tags(account, "u") == []
