"""The instance-profile repository and the tags of customer managed policies."""

from __future__ import annotations

import pytest

from hadron.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.store import SqlStore

from .conftest import NOW

TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'  # noqa: E501
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


def test_profile_holds_one_role_and_blocks_deletes(store: SqlStore, account: str) -> None:
    made = store.create_instance_profile(account, "Web", "/p/", NOW, tags=[("A", "1"), ("a", "2")])
    assert made.arn == f"arn:aws:iam::{account}:instance-profile/p/Web"
    assert made.profile_id.startswith("AIPA") and made.roles == ()
    assert made.tags == (("a", "2"),)
    with pytest.raises(EntityAlreadyExists, match=r"Instance Profile web already exists\."):
        store.create_instance_profile(account, "web", "/", NOW)
    store.create_role(account, "r1", "/", TRUST, NOW)
    store.create_role(account, "r2", "/", TRUST, NOW)
    store.add_role_to_instance_profile(account, "WEB", "R1", NOW)
    with pytest.raises(LimitExceeded, match="InstanceSessionsPerInstanceProfile: 1"):
        store.add_role_to_instance_profile(account, "web", "r2", NOW)
    got = store.get_instance_profile(account, "web")
    assert got is not None and [r.role_name for r in got.roles] == ["r1"]
    assert [p.profile_name for p in store.list_instance_profiles_for_role(account, "r1")] == ["Web"]
    with pytest.raises(DeleteConflict, match="must remove roles from instance profile first"):
        store.delete_role(account, "r1")
    with pytest.raises(DeleteConflict, match="must remove roles from instance profile first"):
        store.delete_instance_profile(account, "web")
    with pytest.raises(NoSuchEntity):
        store.remove_role_from_instance_profile(account, "web", "r2")
    store.remove_role_from_instance_profile(account, "web", "r1")
    store.delete_role(account, "r1")
    store.delete_instance_profile(account, "web")
    assert store.get_instance_profile(account, "web") is None
    assert store.list_instance_profiles(account) == []
    with pytest.raises(NoSuchEntity, match=r"Instance Profile web cannot be found\."):
        store.list_instance_profile_tags(account, "web")


def test_profile_tags_quota(store: SqlStore, account: str) -> None:
    store.create_instance_profile(account, "p", "/", NOW)
    store.tag_instance_profile(account, "p", [(f"k{i}", "v") for i in range(50)])
    with pytest.raises(LimitExceeded):
        store.tag_instance_profile(account, "p", [("one-more", "v")])
    store.tag_instance_profile(account, "p", [("K0", "new")])  # replaces, within the quota
    assert ("K0", "new") in store.list_instance_profile_tags(account, "p")
    store.untag_instance_profile(account, "p", ["k0", "absent"])
    assert len(store.list_instance_profile_tags(account, "p")) == 49


def test_policy_tags_go_with_the_policy(store: SqlStore, account: str) -> None:
    policy = store.create_policy(account, "P", "/", POLICY, None, NOW, tags=[("team", "a")])
    store.tag_policy(account, policy.arn, [("Team", "b"), ("env", "x")])
    assert store.list_policy_tags(account, policy.arn) == [("env", "x"), ("Team", "b")]
    store.untag_policy(account, policy.arn, ["ENV"])
    assert store.list_policy_tags(account, policy.arn) == [("Team", "b")]
    store.delete_policy(account, policy.arn)
    with pytest.raises(NoSuchEntity, match="was not found"):
        store.list_policy_tags(account, policy.arn)
    again = store.create_policy(account, "P", "/", POLICY, None, NOW)
    assert store.list_policy_tags(account, again.arn) == []
