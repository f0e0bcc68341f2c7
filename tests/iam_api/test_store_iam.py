"""The IAM repository on a real SQLite store: policies, versions, inline policies, attachments."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from hadron.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.keys import new_ring
from hadron.store import SqlStore, create_engine_for, open_store
from hadron.store.iam import split_policy_arn
from hadron.store.migrate import upgrade

from .conftest import ACCOUNT, ALLOW_ALL, NOW

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _policy(store: SqlStore, name: str = "p", path: str = "/") -> str:
    return store.create_policy(ACCOUNT, name, path, ALLOW_ALL, None, NOW).arn


def test_split_policy_arn() -> None:
    assert split_policy_arn(f"arn:aws:iam::{ACCOUNT}:policy/a/b/P") == (ACCOUNT, "/a/b/", "P")
    assert split_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess") == (
        "aws",
        "/",
        "AdministratorAccess",
    )
    assert split_policy_arn(f"arn:aws:iam::{ACCOUNT}:user/alice") is None
    assert split_policy_arn("nonsense") is None


def test_create_and_get_policy(store: SqlStore) -> None:
    created = store.create_policy(ACCOUNT, "Ops", "/team/", ALLOW_ALL, "d", NOW)
    assert created.arn == f"arn:aws:iam::{ACCOUNT}:policy/team/Ops"
    assert created.policy_id.startswith("ANPA")
    assert store.get_policy(ACCOUNT, created.arn) == created
    assert store.get_policy(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:policy/Ops") is None  # wrong path
    assert store.get_policy("999999999999", created.arn) is None
    with pytest.raises(EntityAlreadyExists, match="A policy called OPS already exists"):
        store.create_policy(ACCOUNT, "OPS", "/", ALLOW_ALL, None, NOW)
    version = store.get_policy_version(ACCOUNT, created.arn, "v1")
    assert version is not None
    assert version.document == ALLOW_ALL
    assert version.is_default


def test_version_limit_and_default(store: SqlStore) -> None:
    arn = _policy(store)
    for _ in range(4):
        store.create_policy_version(ACCOUNT, arn, ALLOW_ALL, False, NOW)
    with pytest.raises(LimitExceeded, match="up to 5 versions"):
        store.create_policy_version(ACCOUNT, arn, ALLOW_ALL, False, NOW)
    assert [v.version_id for v in store.list_policy_versions(ACCOUNT, arn)] == [
        "v5",
        "v4",
        "v3",
        "v2",
        "v1",
    ]
    store.set_default_policy_version(ACCOUNT, arn, "v3", NOW)
    with pytest.raises(DeleteConflict, match="default version"):
        store.delete_policy_version(ACCOUNT, arn, "v3")
    with pytest.raises(NoSuchEntity, match="version v9 does not exist"):
        store.set_default_policy_version(ACCOUNT, arn, "v9", NOW)
    store.delete_policy_version(ACCOUNT, arn, "v5")
    assert store.create_policy_version(ACCOUNT, arn, ALLOW_ALL, True, NOW).version_id == "v6"
    policy = store.get_policy(ACCOUNT, arn)
    assert policy is not None
    assert policy.default_version_id == "v6"


def test_delete_policy_conflicts(store: SqlStore) -> None:
    arn = _policy(store)
    store.attach_user_policy(ACCOUNT, "alice", arn, NOW)
    with pytest.raises(DeleteConflict, match="attached to entities"):
        store.delete_policy(ACCOUNT, arn)
    store.detach_user_policy(ACCOUNT, "alice", arn)
    store.create_policy_version(ACCOUNT, arn, ALLOW_ALL, False, NOW)
    with pytest.raises(DeleteConflict, match="more than one version"):
        store.delete_policy(ACCOUNT, arn)
    store.delete_policy_version(ACCOUNT, arn, "v2")
    store.delete_policy(ACCOUNT, arn)
    assert store.get_policy(ACCOUNT, arn) is None
    with pytest.raises(NoSuchEntity, match="was not found"):
        store.delete_policy(ACCOUNT, arn)


def test_attachments(store: SqlStore) -> None:
    arn = _policy(store)
    store.attach_user_policy(ACCOUNT, "ALICE", arn, NOW)
    store.attach_user_policy(ACCOUNT, "alice", arn, NOW)  # twice: a no-op
    store.attach_user_policy(ACCOUNT, "alice", ADMIN, NOW)
    assert store.list_attached_user_policies(ACCOUNT, "alice") == [arn, ADMIN]
    assert store.count_attachments(ACCOUNT, ADMIN) == 1
    with pytest.raises(NoSuchEntity, match="does not exist or is not attachable"):
        store.attach_user_policy(ACCOUNT, "alice", f"arn:aws:iam::{ACCOUNT}:policy/none", NOW)
    with pytest.raises(NoSuchEntity, match="The user with name bob cannot be found"):
        store.attach_user_policy(ACCOUNT, "bob", arn, NOW)
    for n in range(8):
        store.attach_user_policy(ACCOUNT, "alice", _policy(store, f"extra{n}"), NOW)
    with pytest.raises(LimitExceeded, match="PoliciesPerUser: 10"):
        store.attach_user_policy(ACCOUNT, "alice", _policy(store, "eleventh"), NOW)
    with pytest.raises(NoSuchEntity, match="was not found"):
        store.detach_user_policy(ACCOUNT, "alice", _policy(store, "never"))


def test_inline_policies_and_aggregate_quota(store: SqlStore) -> None:
    store.put_user_policy(ACCOUNT, "alice", "a", ALLOW_ALL)
    store.put_user_policy(ACCOUNT, "alice", "a", ALLOW_ALL)  # replace
    store.put_user_policy(ACCOUNT, "alice", "B", ALLOW_ALL)
    assert store.list_user_policies(ACCOUNT, "alice") == ["B", "a"]
    got = store.get_user_policy(ACCOUNT, "alice", "a")
    assert got is not None
    assert got.document == ALLOW_ALL
    assert store.get_user_policy(ACCOUNT, "alice", "A") is None  # names are case-sensitive
    big = ALLOW_ALL.replace('"*"}', '"' + "x" * 1900 + '"}', 1)
    with pytest.raises(LimitExceeded, match="Maximum policy size of 2048 bytes exceeded"):
        store.put_user_policy(ACCOUNT, "alice", "big", big)
    store.delete_user_policy(ACCOUNT, "alice", "a")
    with pytest.raises(NoSuchEntity, match="The user policy with name a cannot be found"):
        store.delete_user_policy(ACCOUNT, "alice", "a")


def test_user_policies_snapshot(store: SqlStore) -> None:
    arn = _policy(store)
    store.create_policy_version(ACCOUNT, arn, ALLOW_ALL.replace("*", "s3:*", 1), True, NOW)
    store.attach_user_policy(ACCOUNT, "alice", arn, NOW)
    store.attach_user_policy(ACCOUNT, "alice", ADMIN, NOW)
    store.put_user_policy(ACCOUNT, "alice", "inline", ALLOW_ALL)
    found = store.user_policies(ACCOUNT, "Alice")
    assert found is not None
    assert [p.policy_name for p in found.inline] == ["inline"]
    assert dict(found.managed) == {arn: ALLOW_ALL.replace("*", "s3:*", 1), ADMIN: None}
    assert store.user_policies(ACCOUNT, "nobody") is None


def test_delete_user(store: SqlStore) -> None:
    key = store.create_access_key(ACCOUNT, "alice", NOW)
    store.put_user_policy(ACCOUNT, "alice", "p", ALLOW_ALL)
    store.attach_user_policy(ACCOUNT, "alice", ADMIN, NOW)
    with pytest.raises(DeleteConflict, match="must delete access keys first"):
        store.delete_user(ACCOUNT, "alice")
    store.delete_access_key(key.access_key_id)
    with pytest.raises(DeleteConflict, match="must delete policies first"):
        store.delete_user(ACCOUNT, "alice")
    store.delete_user_policy(ACCOUNT, "alice", "p")
    with pytest.raises(DeleteConflict, match="must detach all policies first"):
        store.delete_user(ACCOUNT, "alice")
    store.detach_user_policy(ACCOUNT, "alice", ADMIN)
    store.delete_user(ACCOUNT, "alice")
    assert store.list_users(ACCOUNT) == []
    with pytest.raises(NoSuchEntity):
        store.delete_user(ACCOUNT, "alice")


def test_list_users_by_path(store: SqlStore) -> None:
    store.create_user(ACCOUNT, "bob", "/eng/", NOW)
    assert [u.user_name for u in store.list_users(ACCOUNT)] == ["alice", "bob"]
    assert [u.user_name for u in store.list_users(ACCOUNT, "/eng/")] == ["bob"]


def test_migration_attaches_administrator_access_to_existing_admins(tmp_path: Path) -> None:
    # A data directory created before IAM enforcement: its admin keeps working.
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = open_store(url, new_ring())
    old.close()

    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM alembic_version"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
            for table in (
                "mfa_device_tags",  # migration 0013
                "mfa_devices",
                "proton_environment_account_connections",  # migration 0012
                "proton_components",  # migration 0011
                "proton_service_pipelines",  # migration 0010
                "proton_service_instances",
                "proton_services",
                "proton_service_sync_configs",  # migration 0009
                "proton_template_sync_configs",
                "proton_repositories",
                "proton_deployment_outputs",  # migration 0008
                "proton_deployments",
                "proton_environments",
                "proton_account_settings",  # migration 0006
                "proton_tombstones",
                "proton_tags",
                "proton_idempotency",
                "proton_template_bundles",
                "proton_template_versions",
                "proton_templates",
                "ec2_tags",  # migration 0007
                "ec2_network_interfaces",
                "ec2_vpc_endpoint_groups",
                "ec2_vpc_endpoints",
                "ec2_security_group_rules",
                "ec2_security_groups",
                "ec2_subnets",
                "ec2_vpcs",
                "instance_profile_tags",  # migration 0005
                "instance_profile_roles",
                "instance_profiles",
                "policy_tags",
                "role_tags",  # migration 0004
                "user_tags",
                "role_policy_attachments",
                "role_policies",
                "roles",
                "user_permissions_boundaries",  # migration 0003
                "group_policy_attachments",
                "group_policies",
                "group_members",
                "groups",
                "user_policy_attachments",
                "user_policies",
                "policy_versions",
                "managed_policies",
            ):
                conn.execute(text(f"DROP TABLE {table}"))
            conn.execute(text("INSERT INTO accounts VALUES ('111122223333', '2026-01-01')"))
            conn.execute(
                text(
                    "INSERT INTO users VALUES ('111122223333', 'admin', 'admin', 'AIDAX', '/', "
                    "'2026-01-01')"
                )
            )
        upgrade(engine)
    finally:
        engine.dispose()
    s = open_store(url, new_ring())
    try:
        assert s.list_attached_user_policies("111122223333", "admin") == [ADMIN]
    finally:
        s.close()
