"""The groups repository, the group handlers and group/boundary enforcement on a real store."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

from hadron.enforcement import PolicyAuthorizer
from hadron.errors import (
    AccessDenied,
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
)
from hadron.iam.api import IamApi
from hadron.iam.groups import GroupsApi
from hadron.policy_cache import PolicyCache
from hadron.store import SqlStore
from hadron.store.groups import (
    MAX_GROUP_INLINE_BYTES,
    MAX_GROUPS_PER_USER,
    MAX_MANAGED_POLICIES_PER_GROUP,
)
from hadron.types import Principal

from .conftest import ACCOUNT, ALLOW_ALL, NOW

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ALICE = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice", "AIDAALICE", "IAMUser", "alice")
CONTEXT: dict[str, Any] = {"aws:SecureTransport": True, "aws:CurrentTime": NOW}


def _doc(effect: str, action: str) -> str:
    return (
        '{"Version":"2012-10-17","Statement":[{"Effect":"'
        + effect
        + '","Action":"'
        + action
        + '","Resource":"*"}]}'
    )


def _policy(store: SqlStore, name: str = "p", document: str = ALLOW_ALL) -> str:
    return store.create_policy(ACCOUNT, name, "/", document, None, NOW).arn


# --- repository -----------------------------------------------------------------------------------


def test_create_get_list_groups(store: SqlStore) -> None:
    created = store.create_group(ACCOUNT, "Devs", "/eng/", NOW)
    assert created.arn == f"arn:aws:iam::{ACCOUNT}:group/eng/Devs"
    assert created.group_id.startswith("AGPA") and len(created.group_id) == 21
    assert store.get_group(ACCOUNT, "devs") == created
    assert store.get_group(ACCOUNT, "nobody") is None
    store.create_group(ACCOUNT, "Admins", "/", NOW)
    assert [g.group_name for g in store.list_groups(ACCOUNT)] == ["Admins", "Devs"]
    assert [g.group_name for g in store.list_groups(ACCOUNT, "/eng/")] == ["Devs"]
    with pytest.raises(EntityAlreadyExists, match="Group with name DEVS already exists"):
        store.create_group(ACCOUNT, "DEVS", "/", NOW)
    with pytest.raises(ValueError):
        store.create_group(ACCOUNT, "bad", "nopath", NOW)


def test_membership(store: SqlStore) -> None:
    store.create_group(ACCOUNT, "devs", "/", NOW)
    store.create_user(ACCOUNT, "bob", "/", NOW)
    store.add_user_to_group(ACCOUNT, "devs", "Alice", NOW)
    store.add_user_to_group(ACCOUNT, "devs", "alice", NOW)  # twice: a no-op
    store.add_user_to_group(ACCOUNT, "devs", "bob", NOW)
    assert [u.user_name for u in store.list_group_members(ACCOUNT, "devs")] == ["alice", "bob"]
    assert [g.group_name for g in store.list_groups_for_user(ACCOUNT, "alice")] == ["devs"]
    store.remove_user_from_group(ACCOUNT, "devs", "bob")
    with pytest.raises(NoSuchEntity):
        store.remove_user_from_group(ACCOUNT, "devs", "bob")
    with pytest.raises(NoSuchEntity, match="The group with name nope cannot be found"):
        store.add_user_to_group(ACCOUNT, "nope", "alice", NOW)
    with pytest.raises(NoSuchEntity, match="The user with name carol cannot be found"):
        store.add_user_to_group(ACCOUNT, "devs", "carol", NOW)
    with pytest.raises(NoSuchEntity):
        store.list_groups_for_user(ACCOUNT, "carol")


def test_groups_per_user_quota(store: SqlStore) -> None:
    for i in range(MAX_GROUPS_PER_USER + 1):
        store.create_group(ACCOUNT, f"g{i:02}", "/", NOW)
    for i in range(MAX_GROUPS_PER_USER):
        store.add_user_to_group(ACCOUNT, f"g{i:02}", "alice", NOW)
    with pytest.raises(LimitExceeded, match="Cannot exceed quota for GroupsPerUser: 10"):
        store.add_user_to_group(ACCOUNT, "g10", "alice", NOW)
    store.add_user_to_group(ACCOUNT, "g00", "alice", NOW)  # already a member: fine


def test_delete_group_conflicts(store: SqlStore) -> None:
    store.create_group(ACCOUNT, "devs", "/", NOW)
    store.add_user_to_group(ACCOUNT, "devs", "alice", NOW)
    with pytest.raises(DeleteConflict, match="must remove users from group first"):
        store.delete_group(ACCOUNT, "devs")
    with pytest.raises(DeleteConflict, match="must remove user from all groups first"):
        store.delete_user(ACCOUNT, "alice")
    store.remove_user_from_group(ACCOUNT, "devs", "alice")
    store.put_group_policy(ACCOUNT, "devs", "inline", ALLOW_ALL)
    with pytest.raises(DeleteConflict, match="must delete policies first"):
        store.delete_group(ACCOUNT, "devs")
    store.delete_group_policy(ACCOUNT, "devs", "inline")
    store.attach_group_policy(ACCOUNT, "devs", ADMIN, NOW)
    with pytest.raises(DeleteConflict, match="must detach all policies first"):
        store.delete_group(ACCOUNT, "devs")
    store.detach_group_policy(ACCOUNT, "devs", ADMIN)
    store.delete_group(ACCOUNT, "devs")
    assert store.get_group(ACCOUNT, "devs") is None
    with pytest.raises(NoSuchEntity):
        store.delete_group(ACCOUNT, "devs")
    store.delete_user(ACCOUNT, "alice")


def test_group_inline_policies(store: SqlStore) -> None:
    store.create_group(ACCOUNT, "devs", "/", NOW)
    store.put_group_policy(ACCOUNT, "devs", "b", ALLOW_ALL)
    store.put_group_policy(ACCOUNT, "devs", "a", ALLOW_ALL)
    store.put_group_policy(ACCOUNT, "devs", "a", _doc("Deny", "*"))  # replaced
    assert store.list_group_policies(ACCOUNT, "devs") == ["a", "b"]
    found = store.get_group_policy(ACCOUNT, "devs", "a")
    assert found is not None and '"Deny"' in found.document
    assert store.get_group_policy(ACCOUNT, "devs", "zzz") is None
    big = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"'
        + "x" * (MAX_GROUP_INLINE_BYTES)
        + '","Resource":"*"}]}'
    )
    with pytest.raises(LimitExceeded, match="5120 bytes exceeded for group devs"):
        store.put_group_policy(ACCOUNT, "devs", "big", big)
    with pytest.raises(NoSuchEntity, match="The group policy with name zzz cannot be found"):
        store.delete_group_policy(ACCOUNT, "devs", "zzz")


def test_group_attachments_count_and_quota(store: SqlStore) -> None:
    store.create_group(ACCOUNT, "devs", "/", NOW)
    arn = _policy(store)
    store.attach_group_policy(ACCOUNT, "devs", arn, NOW)
    store.attach_group_policy(ACCOUNT, "devs", arn, NOW)  # twice: a no-op
    policy = store.get_policy(ACCOUNT, arn)
    assert policy is not None and policy.attachment_count == 1
    assert store.count_attachments(ACCOUNT, arn) == 1
    with pytest.raises(DeleteConflict, match="Cannot delete a policy attached to entities"):
        store.delete_policy(ACCOUNT, arn)
    with pytest.raises(NoSuchEntity, match="does not exist or is not attachable"):
        store.attach_group_policy(ACCOUNT, "devs", f"arn:aws:iam::{ACCOUNT}:policy/none", NOW)
    for i in range(MAX_MANAGED_POLICIES_PER_GROUP - 1):
        store.attach_group_policy(ACCOUNT, "devs", _policy(store, f"q{i}"), NOW)
    with pytest.raises(LimitExceeded, match="Cannot exceed quota for PoliciesPerGroup: 10"):
        store.attach_group_policy(ACCOUNT, "devs", _policy(store, "one-more"), NOW)
    assert store.list_attached_group_policies(ACCOUNT, "devs")[0] == arn
    store.detach_group_policy(ACCOUNT, "devs", arn)
    with pytest.raises(NoSuchEntity):
        store.detach_group_policy(ACCOUNT, "devs", arn)
    store.delete_policy(ACCOUNT, arn)


def test_permissions_boundary(store: SqlStore) -> None:
    arn = _policy(store, "boundary")
    assert store.get_user_permissions_boundary(ACCOUNT, "alice") is None
    store.put_user_permissions_boundary(ACCOUNT, "alice", arn)
    store.put_user_permissions_boundary(ACCOUNT, "Alice", arn)  # replaced, not duplicated
    assert store.get_user_permissions_boundary(ACCOUNT, "alice") == arn
    assert store.count_boundary_uses(ACCOUNT, arn) == 1
    with pytest.raises(DeleteConflict):
        store.delete_policy(ACCOUNT, arn)
    missing = f"arn:aws:iam::{ACCOUNT}:policy/none"
    with pytest.raises(NoSuchEntity, match=f"Scope ARN: {missing} does not exist"):
        store.put_user_permissions_boundary(ACCOUNT, "alice", missing)
    with pytest.raises(NoSuchEntity):
        store.put_user_permissions_boundary(ACCOUNT, "carol", arn)
    inherited = store.inherited_policies(ACCOUNT, "alice")
    assert inherited.boundary == (arn, ALLOW_ALL)
    store.delete_user_permissions_boundary(ACCOUNT, "alice")
    store.delete_user_permissions_boundary(ACCOUNT, "alice")  # none: a no-op
    assert store.inherited_policies(ACCOUNT, "alice").boundary is None
    store.delete_policy(ACCOUNT, arn)


def test_inherited_policies_snapshot(store: SqlStore) -> None:
    arn = _policy(store)
    for name in ("b", "a"):
        store.create_group(ACCOUNT, name, "/", NOW)
        store.add_user_to_group(ACCOUNT, name, "alice", NOW)
        store.put_group_policy(ACCOUNT, name, "inline", ALLOW_ALL)
        store.attach_group_policy(ACCOUNT, name, arn, NOW)
        store.attach_group_policy(ACCOUNT, name, ADMIN, NOW)
    store.put_user_permissions_boundary(ACCOUNT, "alice", ADMIN)
    found = store.inherited_policies(ACCOUNT, "alice")
    assert [p.policy_name for p in found.groups.inline] == ["a/inline", "b/inline"]
    assert found.groups.managed == ((arn, ALLOW_ALL), (ADMIN, None))  # by ARN, once each
    assert found.boundary == (ADMIN, None)
    assert store.inherited_policies(ACCOUNT, "nobody").groups.managed == ()


# --- handlers and enforcement ---------------------------------------------------------------------


def _apis(store: SqlStore) -> tuple[PolicyAuthorizer, IamApi, GroupsApi]:
    authorizer = PolicyAuthorizer(store, PolicyCache(store, monotonic=lambda: 0.0))
    iam = IamApi(store, lambda: NOW, policies_changed=authorizer.invalidate)
    groups = GroupsApi(store, lambda: NOW, policies_changed=authorizer.invalidate)
    return authorizer, iam, groups


def _allowed(authorizer: PolicyAuthorizer, operation: str = "ListServices") -> bool:
    try:
        authorizer.authorize(ALICE, "proton", operation, {}, context=CONTEXT)
    except AccessDenied:
        return False
    return True


def test_group_policies_grant_and_membership_changes_invalidate(store: SqlStore) -> None:
    authorizer, _, groups = _apis(store)
    root = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root", None)
    groups.create_group(root, {"GroupName": "devs"})
    groups.put_group_policy(
        root,
        {"GroupName": "devs", "PolicyName": "p", "PolicyDocument": _doc("Allow", "proton:*")},
    )
    assert not _allowed(authorizer)
    groups.add_user_to_group(root, {"GroupName": "devs", "UserName": "alice"})
    assert _allowed(authorizer)
    groups.remove_user_from_group(root, {"GroupName": "devs", "UserName": "alice"})
    assert not _allowed(authorizer)
    groups.add_user_to_group(root, {"GroupName": "devs", "UserName": "alice"})
    groups.delete_group_policy(root, {"GroupName": "devs", "PolicyName": "p"})
    assert not _allowed(authorizer)
    groups.attach_group_policy(root, {"GroupName": "devs", "PolicyArn": ADMIN})
    assert _allowed(authorizer)
    groups.put_group_policy(
        root,
        {"GroupName": "devs", "PolicyName": "d", "PolicyDocument": _doc("Deny", "proton:List*")},
    )
    assert not _allowed(authorizer)
    assert _allowed(authorizer, "GetService")


def test_handlers_validate_and_encode(store: SqlStore) -> None:
    _, _, groups = _apis(store)
    root = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root", None)
    out = groups.create_group(root, {"GroupName": "devs", "Path": "/eng/"})
    assert out["Group"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/eng/devs"
    with pytest.raises(MalformedPolicyDocument):
        groups.put_group_policy(
            root, {"GroupName": "devs", "PolicyName": "p", "PolicyDocument": '{"nope": 1}'}
        )
    assert store.list_group_policies(ACCOUNT, "devs") == []
    document = _doc("Allow", "proton:*")
    groups.put_group_policy(
        root, {"GroupName": "devs", "PolicyName": "p", "PolicyDocument": document}
    )
    got = groups.get_group_policy(root, {"GroupName": "DEVS", "PolicyName": "p"})
    assert got["GroupName"] == "devs"
    assert got["PolicyDocument"] != document and unquote(got["PolicyDocument"]) == document
    with pytest.raises(NoSuchEntity, match="The group policy with name q cannot be found"):
        groups.get_group_policy(root, {"GroupName": "devs", "PolicyName": "q"})
    with pytest.raises(NoSuchEntity, match="The group with name x cannot be found"):
        groups.get_group(root, {"GroupName": "x"})
    with pytest.raises(NoSuchEntity, match="does not exist or is not attachable"):
        groups.attach_group_policy(
            root, {"GroupName": "devs", "PolicyArn": "arn:aws:iam::aws:policy/NoSuchThing"}
        )
    with pytest.raises(NoSuchEntity, match="Scope ARN"):
        groups.put_user_permissions_boundary(
            root,
            {"UserName": "alice", "PermissionsBoundary": "arn:aws:iam::aws:policy/NoSuchThing"},
        )


def test_boundary_limits_identity_policies(store: SqlStore) -> None:
    authorizer, iam, groups = _apis(store)
    root = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root", None)
    store.attach_user_policy(ACCOUNT, "alice", ADMIN, NOW)
    boundary = _policy(store, "only-get", _doc("Allow", "proton:Get*"))
    assert _allowed(authorizer)
    groups.put_user_permissions_boundary(
        root, {"UserName": "alice", "PermissionsBoundary": boundary}
    )
    with pytest.raises(AccessDenied) as info:
        authorizer.authorize(ALICE, "proton", "ListServices", {}, context=CONTEXT)
    assert info.value.message.endswith(
        "because no permissions boundary allows the proton:ListServices action"
    )
    assert _allowed(authorizer, "GetService")
    user = iam.get_user(root, {"UserName": "alice"})["User"]
    assert user["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": boundary,
    }
    policy = iam.get_policy(root, {"PolicyArn": boundary})["Policy"]
    assert policy["PermissionsBoundaryUsageCount"] == 1 and policy["AttachmentCount"] == 0
    listed = iam.list_policies(root, {"Scope": "Local", "PolicyUsageFilter": "PermissionsBoundary"})
    assert [p["Arn"] for p in listed["Policies"]] == [boundary]
    groups.delete_user_permissions_boundary(root, {"UserName": "alice"})
    assert _allowed(authorizer)
    assert "PermissionsBoundary" not in iam.get_user(root, {"UserName": "alice"})["User"]


def test_create_user_with_boundary(store: SqlStore) -> None:
    _, iam, _ = _apis(store)
    root = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root", None)
    created = iam.create_user(root, {"UserName": "bob", "PermissionsBoundary": ADMIN})["User"]
    assert created["PermissionsBoundary"]["PermissionsBoundaryArn"] == ADMIN
    assert store.get_user_permissions_boundary(ACCOUNT, "bob") == ADMIN
    missing = f"arn:aws:iam::{ACCOUNT}:policy/none"
    with pytest.raises(NoSuchEntity, match=f"Scope ARN: {missing} does not exist"):
        iam.create_user(root, {"UserName": "carol", "PermissionsBoundary": missing})
    assert store.get_user(ACCOUNT, "carol") is None
