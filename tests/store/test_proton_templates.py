"""The Proton templates repository over a real SQLite store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hadron.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationError,
)
from hadron.proton.arns import parse, template_arn
from hadron.store import SqlStore
from hadron.store.proton_records import RepositoryBranch, VersionRef

from .conftest import NOW

REGION = "us-east-1"
CONNECTION = "arn:aws:codestar-connections:us-east-1:111122223333:connection/c0ffee"


def _template(store: SqlStore, account: str, name: str = "env", kind: str = "environment",
              **kw: object) -> None:  # fmt: skip
    args: dict[str, object] = dict(display_name=None, description=None, encryption_key=None,
                                   provisioning=None, tags=(), request_hash="h", now=NOW,
                                   max_templates=100)  # fmt: skip
    args.update(kw)
    store.create_proton_template(account, REGION, kind, name, **args)  # type: ignore[arg-type]


def _version(store: SqlStore, account: str, name: str = "env", major: int | None = None,
             kind: str = "environment", **kw: object) -> VersionRef:  # fmt: skip
    args: dict[str, object] = dict(description=None, source_bucket="b", source_key="k",
                                   tags=(), operation="Op", client_token=None,
                                   request_hash="r", now=NOW, max_versions=500)  # fmt: skip
    args.update(kw)
    v = store.create_template_version(account, REGION, kind, name, major, **args)  # type: ignore[arg-type]
    return v.ref


def _register(store: SqlStore, ref: VersionRef) -> None:
    assert store.finish_registration(
        ref, schema="s", input_schemas="{}", bundle=b"x", failure=None, now=NOW
    )


def test_template_create_is_idempotent_for_identical_requests(
    store: SqlStore, account: str
) -> None:
    _template(store, account, description="d")
    _template(store, account, description="d")  # identical retry
    with pytest.raises(ValidationError, match="Idempotent parameter mismatch"):
        _template(store, account, request_hash="other")
    store.update_proton_template(
        account, REGION, "environment", "env", display_name="D", description=None,
        now=NOW + timedelta(seconds=1),
    )  # fmt: skip
    with pytest.raises(ConflictException):
        _template(store, account)
    got = store.get_proton_template(account, REGION, "environment", "env")
    assert got is not None and got.display_name == "D" and got.description == "d"


def test_template_quota_counts_both_kinds(store: SqlStore, account: str) -> None:
    _template(store, account, "a", max_templates=2)
    _template(store, account, "b", kind="service", max_templates=2)
    with pytest.raises(ServiceQuotaExceededException):
        _template(store, account, "c", max_templates=2)
    assert store.get_proton_template(account, REGION, "environment", "c") is None


def test_version_numbering_and_recommended(store: SqlStore, account: str) -> None:
    _template(store, account)
    v10 = _version(store, account)
    v11 = _version(store, account, major=1)
    v20 = _version(store, account)
    assert [(v.major, v.minor) for v in (v10, v11, v20)] == [(1, 0), (1, 1), (2, 0)]
    with pytest.raises(ResourceNotFoundException, match="major version 7"):
        _version(store, account, major=7)
    for ref in (v10, v11, v20):
        _register(store, ref)
    with pytest.raises(ValidationError, match="DRAFT to PUBLISHED"):
        store.update_template_version(v10, status="REGISTRATION_FAILED", description=None,
                                      now=NOW)  # fmt: skip
    store.update_template_version(v10, status="PUBLISHED", description=None, now=NOW)
    t = store.get_proton_template(account, REGION, "environment", "env")
    assert t is not None and t.recommended_version == "1.0"
    store.update_template_version(v11, status="PUBLISHED", description="two", now=NOW)
    got = store.get_template_version(v10)
    assert got is not None and got.recommended_minor == 1
    listed = store.list_template_versions(account, REGION, "environment", "env", None)
    assert [(v.ref.major, v.ref.minor) for v in listed] == [(1, 1), (2, 0)]
    minors = store.list_template_versions(account, REGION, "environment", "env", 1)
    assert [v.ref.minor for v in minors] == [0, 1]
    # deletion rules: the recommended minor only when last in its major ...
    with pytest.raises(ConflictException, match="recommended version"):
        store.delete_template_version(v11, NOW)
    store.delete_template_version(v10, NOW)
    # ... and the recommended major only when no other major exists.
    with pytest.raises(ConflictException, match="recommended major"):
        store.delete_template_version(v11, NOW)
    with pytest.raises(ConflictException, match="has 2 version"):
        store.delete_proton_template(account, REGION, "environment", "env", NOW)
    store.delete_template_version(v20, NOW)
    assert store.delete_template_version(v20, NOW) is None  # idempotent retry
    store.delete_template_version(v11, NOW)
    assert store.delete_proton_template(account, REGION, "environment", "env", NOW) is not None
    assert store.delete_proton_template(account, REGION, "environment", "env", NOW) is None
    later = NOW + timedelta(hours=9)
    with pytest.raises(ResourceNotFoundException):
        store.delete_proton_template(account, REGION, "environment", "env", later)


def test_client_token(store: SqlStore, account: str) -> None:
    _template(store, account)
    first = _version(store, account, client_token="t1")
    assert _version(store, account, client_token="t1") == first
    with pytest.raises(ValidationError, match="Idempotent parameter mismatch"):
        _version(store, account, client_token="t1", request_hash="other")
    expired = _version(store, account, client_token="t1", now=NOW + timedelta(hours=8, seconds=1))
    assert expired != first


def test_registration_outcomes(store: SqlStore, account: str) -> None:
    _template(store, account)
    ok, bad = _version(store, account), _version(store, account)
    with pytest.raises(ConflictException, match="still being registered"):
        store.delete_template_version(ok, NOW)
    assert {v.ref for v in store.pending_registrations()} == {ok, bad}
    _register(store, ok)
    assert not store.finish_registration(ok, schema=None, input_schemas=None, bundle=None,
                                         failure="late", now=NOW)  # fmt: skip
    assert store.finish_registration(bad, schema=None, input_schemas=None, bundle=None,
                                     failure="schema/schema.yaml: broken", now=NOW)  # fmt: skip
    got = store.get_template_version(bad)
    assert got is not None and got.status == "REGISTRATION_FAILED"
    assert got.status_message == "schema/schema.yaml: broken"
    assert store.get_template_bundle(ok) == b"x" and store.get_template_bundle(bad) is None
    assert store.pending_registrations() == []


def test_service_versions_need_published_environment_majors(store: SqlStore, account: str) -> None:
    _template(store, account, "env")
    _template(store, account, "svc", kind="service")
    with pytest.raises(ResourceNotFoundException, match="nope"):
        _version(store, account, "svc", kind="service", compatible=[("nope", "1")])
    with pytest.raises(ResourceNotFoundException, match=r"major version 1{20} was not"):
        _version(store, account, "svc", kind="service", compatible=[("env", "1" * 20)])
    env = _version(store, account, "env")
    with pytest.raises(ValidationError, match="no published version in major version 1"):
        _version(store, account, "svc", kind="service", compatible=[("env", "1")])
    _register(store, env)
    store.update_template_version(env, status="PUBLISHED", description=None, now=NOW)
    svc = _version(store, account, "svc", kind="service", compatible=[("env", "1")],
                   component_sources=["DIRECTLY_DEFINED"])  # fmt: skip
    got = store.get_template_version(svc)
    assert got is not None and got.compatible == (("env", "1"),)
    assert got.component_sources == ("DIRECTLY_DEFINED",)


def test_tags_follow_their_resource(store: SqlStore, account: str) -> None:
    _template(store, account, tags=[("team", "a")])
    arn = template_arn(REGION, account, "environment", "env")
    ref = parse(arn)
    assert ref is not None
    store.tag_proton_resource(ref, [("team", "b"), ("Team", "c")])
    managed = [("aws:proton:account", account), ("aws:proton:template", arn)]
    assert store.list_proton_tags(ref) == sorted([*managed, ("Team", "c"), ("team", "b")])
    v = _version(store, account, tags=[("v", "1")])
    vref = parse(f"{arn}:{v.major}.{v.minor}")
    # The version inherits its template's managed and customer tags.
    assert vref is not None and store.list_proton_tags(vref) == sorted(
        [*managed, ("Team", "c"), ("team", "b"), ("v", "1")]
    )
    store.untag_proton_resource(ref, ["team", "absent"])
    assert store.list_proton_tags(ref) == sorted([*managed, ("Team", "c")])
    with pytest.raises(ValidationError, match="maximum is 50"):
        store.tag_proton_resource(ref, [(f"k{i}", "") for i in range(50)])
    missing = parse(template_arn(REGION, account, "service", "env"))
    assert missing is not None
    with pytest.raises(ResourceNotFoundException):
        store.list_proton_tags(missing)


def test_account_settings(store: SqlStore, account: str) -> None:
    assert store.get_proton_account_settings(account, REGION).pipeline_service_role_arn is None
    role = f"arn:aws:iam::{account}:role/p"
    repo = RepositoryBranch("GITHUB", "o/r", "main")
    with pytest.raises(ValidationError, match="GITHUB repository o/r is not linked"):
        store.update_proton_account_settings(
            account, REGION, service_role=role, codebuild_role=None, repository=repo,
            delete_repository=False,
        )  # fmt: skip
    assert store.get_proton_account_settings(account, REGION).pipeline_service_role_arn is None
    store.create_proton_repository(
        account, REGION, "GITHUB", "o/r", connection_arn=CONNECTION, encryption_key=None,
        tags=(), request_hash="h", now=NOW,
    )  # fmt: skip
    got = store.update_proton_account_settings(
        account, REGION, service_role=role, codebuild_role=None, repository=repo,
        delete_repository=False,
    )  # fmt: skip
    assert (got.pipeline_service_role_arn, got.repository) == (role, repo)
    got = store.update_proton_account_settings(
        account, REGION, service_role="", codebuild_role=role, repository=None,
        delete_repository=True,
    )  # fmt: skip
    assert got.pipeline_service_role_arn is None and got.repository is None
    assert got.pipeline_codebuild_role_arn == role
