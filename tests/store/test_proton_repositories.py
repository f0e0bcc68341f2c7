"""The Proton repositories store (linked repositories, template and service sync
configurations) over a real SQLite store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hadron.errors import ConflictException, ResourceNotFoundException, ValidationError
from hadron.proton.arns import parse, repository_arn
from hadron.store import SqlStore
from hadron.store.proton_records import RepositoryBranch

from .conftest import NOW

REGION = "us-east-1"
CONNECTION = "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc"


def _link(store: SqlStore, account: str, name: str = "acme/templates", provider: str = "GITHUB",
          request_hash: str = "h", tags: tuple[tuple[str, str], ...] = ()) -> None:  # fmt: skip
    store.create_proton_repository(
        account, REGION, provider, name, connection_arn=CONNECTION, encryption_key=None,
        tags=tags, request_hash=request_hash, now=NOW,
    )  # fmt: skip


def _template(store: SqlStore, account: str, name: str = "env", kind: str = "environment") -> None:
    store.create_proton_template(
        account, REGION, kind, name, display_name=None, description=None,  # type: ignore[arg-type]
        encryption_key=None, provisioning=None, tags=(), request_hash="h", now=NOW,
        max_templates=100,
    )  # fmt: skip


def _sync(store: SqlStore, account: str, name: str = "env", repo: str = "acme/templates",
          branch: str = "main", create: bool = True) -> None:  # fmt: skip
    put = store.create_template_sync_config if create else store.update_template_sync_config
    put(account, REGION, "environment", name, repository_provider="GITHUB",
        repository_name=repo, branch=branch, subdirectory=None, now=NOW)  # fmt: skip


def test_link_get_list_delete(store: SqlStore, account: str) -> None:
    _link(store, account, tags=(("team", "a"),))
    _link(store, account)  # nothing differs from the stored request hash "h"
    with pytest.raises(ConflictException, match="already linked with different parameters"):
        _link(store, account, request_hash="other")
    _link(store, account, "acme/a", provider="BITBUCKET")
    _link(store, account, "acme/b")
    found = store.get_proton_repository(account, REGION, "GITHUB", "acme/templates")
    assert found is not None and found.connection_arn == CONNECTION
    assert found.arn == f"arn:aws:proton:{REGION}:{account}:repository/github:acme/templates"
    ref = parse(found.arn)
    assert ref is not None and store.list_proton_tags(ref) == [("team", "a")]
    keys = [(r.provider, r.name) for r in store.list_proton_repositories(account, REGION, None, 10)]
    assert keys == [("BITBUCKET", "acme/a"), ("GITHUB", "acme/b"), ("GITHUB", "acme/templates")]
    page = store.list_proton_repositories(account, REGION, ("GITHUB", "acme/b"), 10)
    assert [r.name for r in page] == ["acme/templates"]
    assert store.get_proton_repository(account, REGION, "GITHUB_ENTERPRISE", "acme/b") is None

    deleted = store.delete_proton_repository(account, REGION, "GITHUB", "acme/templates", NOW)
    assert deleted is not None and deleted.name == "acme/templates"
    assert store.get_proton_repository(account, REGION, "GITHUB", "acme/templates") is None
    with pytest.raises(ResourceNotFoundException):
        store.list_proton_tags(ref)
    # A retry within 8 hours answers nothing; later, or for a name never linked, not found.
    assert store.delete_proton_repository(account, REGION, "GITHUB", "acme/templates", NOW) is None
    later = NOW + timedelta(hours=9)
    with pytest.raises(ResourceNotFoundException, match="GITHUB repository acme/templates"):
        store.delete_proton_repository(account, REGION, "GITHUB", "acme/templates", later)
    with pytest.raises(ResourceNotFoundException):
        store.delete_proton_repository(account, REGION, "GITHUB", "acme/never", NOW)


def test_repository_in_use_cannot_be_deleted(store: SqlStore, account: str) -> None:
    _link(store, account)
    _template(store, account)
    _sync(store, account)
    with pytest.raises(ConflictException, match="template sync configuration of environment"):
        store.delete_proton_repository(account, REGION, "GITHUB", "acme/templates", NOW)
    store.delete_template_sync_config(account, REGION, "environment", "env", NOW)
    branch = RepositoryBranch("GITHUB", "acme/templates", "main")
    store.update_proton_account_settings(account, REGION, service_role=None, codebuild_role=None,
                                         repository=branch, delete_repository=False)  # fmt: skip
    with pytest.raises(ConflictException, match="pipelineProvisioningRepository"):
        store.delete_proton_repository(account, REGION, "GITHUB", "acme/templates", NOW)
    assert store.get_proton_repository(account, REGION, "GITHUB", "acme/templates") is not None
    store.update_proton_account_settings(account, REGION, service_role=None, codebuild_role=None,
                                         repository=None, delete_repository=True)  # fmt: skip
    assert store.delete_proton_repository(account, REGION, "GITHUB", "acme/templates", NOW)


def test_template_sync_config_lifecycle(store: SqlStore, account: str) -> None:
    with pytest.raises(ResourceNotFoundException, match="environment template env was not found"):
        _sync(store, account)
    _template(store, account)
    with pytest.raises(ValidationError, match="repositoryName: the GITHUB repository acme/"):
        _sync(store, account)
    with pytest.raises(ResourceNotFoundException, match="has no template sync configuration"):
        store.get_template_sync_config(account, REGION, "environment", "env")
    _link(store, account)
    _link(store, account, "acme/other")
    _sync(store, account)
    _sync(store, account)  # an identical retry
    with pytest.raises(ConflictException, match="already has a template sync configuration"):
        _sync(store, account, branch="dev")
    got = store.get_template_sync_config(account, REGION, "environment", "env")
    assert (got.repository_name, got.branch, got.subdirectory) == ("acme/templates", "main", None)
    with pytest.raises(ConflictException, match="has a template sync configuration"):
        store.delete_proton_template(account, REGION, "environment", "env", NOW)
    with pytest.raises(ValidationError, match="acme/missing is not linked"):
        _sync(store, account, repo="acme/missing", create=False)
    _sync(store, account, repo="acme/other", branch="dev", create=False)
    got = store.get_template_sync_config(account, REGION, "environment", "env")
    assert (got.repository_name, got.branch) == ("acme/other", "dev")
    configs = store.template_sync_configs_for(account, REGION, "GITHUB", "acme/other")
    assert [c.template_name for c in configs] == ["env"]
    assert store.template_sync_configs_for(account, REGION, "GITHUB", "acme/templates") == []
    deleted = store.delete_template_sync_config(account, REGION, "environment", "env", NOW)
    assert deleted is not None and deleted.branch == "dev"
    assert store.delete_template_sync_config(account, REGION, "environment", "env", NOW) is None
    with pytest.raises(ResourceNotFoundException, match="has no template sync configuration"):
        store.delete_template_sync_config(
            account, REGION, "environment", "env", NOW + timedelta(hours=9)
        )
    with pytest.raises(ResourceNotFoundException, match="has no template sync configuration"):
        _sync(store, account, create=False)
    assert store.delete_proton_template(account, REGION, "environment", "env", NOW)


def test_service_sync_configs_need_a_service(store: SqlStore, account: str) -> None:
    _link(store, account)
    missing = "^The service web was not found.$"
    with pytest.raises(ResourceNotFoundException, match=missing):
        store.service_sync_config(account, REGION, "web")
    with pytest.raises(ResourceNotFoundException, match=missing):
        store.delete_service_sync_config(account, REGION, "web")
    for create in (True, False):
        with pytest.raises(ResourceNotFoundException, match=missing):
            store.put_service_sync_config(
                account, REGION, "web", repository_provider="GITHUB",
                repository_name="acme/templates", branch="main", file_path="proton-ops.yaml",
                create=create, now=NOW,
            )  # fmt: skip
    assert store.service_sync_configs_for(account, REGION, "GITHUB", "acme/templates") == []


def test_repository_arn_round_trip() -> None:
    arn = repository_arn(REGION, "123456789012", "GITHUB_ENTERPRISE", "o/r.x")
    assert arn.endswith(":repository/github_enterprise:o/r.x")
    ref = parse(arn)
    assert ref is not None and ref.resource_type == "repository"
    assert ref.parts == ("github_enterprise", "o/r.x")
