"""Live enforcement reads Proton resources' tags as ``aws:ResourceTag/<key>``, per resource."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from hadron.enforcement import PolicyAuthorizer
from hadron.errors import AccessDenied
from hadron.proton.arns import parse
from hadron.store import SqlStore
from hadron.types import Principal

from .conftest import ACCOUNT, NOW
from .test_enforcement import ALICE, CONTEXT

REGION = "us-east-1"
PREFIX = f"arn:aws:proton:{REGION}:{ACCOUNT}"
SERVICE = f"{PREFIX}:service/web"
INSTANCE = f"{SERVICE}/service-instance/one"


def _allow(store: SqlStore, condition: dict[str, Any], action: str = "proton:*") -> None:
    statement = {"Effect": "Allow", "Action": action, "Resource": "*", "Condition": condition}
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    store.put_user_policy(ACCOUNT, "alice", "abac", document)


def _template(store: SqlStore, name: str, tags: Sequence[tuple[str, str]]) -> str:
    store.create_proton_template(
        ACCOUNT, REGION, "environment", name, display_name=None, description=None,
        encryption_key=None, provisioning=None, tags=tags, request_hash="h", now=NOW,
        max_templates=100,
    )  # fmt: skip
    return f"{PREFIX}:environment-template/{name}"


def _get(authorizer: PolicyAuthorizer, name: str, who: Principal = ALICE) -> None:
    authorizer.authorize(who, "proton", "GetEnvironmentTemplate", {"name": name}, context=CONTEXT)


def test_tag_conditions_decide_on_the_resource_tags(store: SqlStore) -> None:
    blue = _template(store, "blue", [("team", "blue")])
    _template(store, "red", [("team", "red")])
    _template(store, "none", [])
    _allow(store, {"StringEquals": {"aws:ResourceTag/team": "blue"}})
    authorizer = PolicyAuthorizer(store)
    _get(authorizer, "blue")
    for name in ("red", "none", "missing"):
        with pytest.raises(AccessDenied) as info:
            _get(authorizer, name)
        assert info.value.message == (
            f"User: {ALICE.arn} is not authorized to perform: proton:GetEnvironmentTemplate on "
            f"resource: {PREFIX}:environment-template/{name} because no identity-based policy "
            "allows the proton:GetEnvironmentTemplate action"
        )
    # No cache: a tag change decides the next request.
    ref = parse(blue)
    assert ref is not None
    store.tag_proton_resource(ref, [("team", "red")])
    with pytest.raises(AccessDenied):
        _get(authorizer, "blue")
    store.untag_proton_resource(ref, ["team"])
    _allow(store, {"StringEqualsIfExists": {"aws:ResourceTag/team": "blue"}})
    authorizer.invalidate()
    _get(authorizer, "blue")  # untagged now: IfExists holds
    _get(authorizer, "missing")  # creates and unknown resources carry no resource tags
    with pytest.raises(AccessDenied):
        _get(authorizer, "red")


def test_managed_tags_are_resource_tags(store: SqlStore) -> None:
    arn = _template(store, "managed", [])
    _allow(store, {"StringEquals": {"aws:ResourceTag/aws:proton:template": arn}})
    authorizer = PolicyAuthorizer(store)
    _get(authorizer, "managed")
    _template(store, "other", [])
    with pytest.raises(AccessDenied):
        _get(authorizer, "other")


class _Tags:
    """Stands in for the store's tag read: records the calls, answers fixed tags."""

    def __init__(self, tags: dict[str, list[tuple[str, str]]]) -> None:
        self.tags = tags
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, account: str, arns: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        self.calls.append((account, list(arns)))
        return {a: t for a, t in self.tags.items() if a in arns}


def test_each_resource_of_a_request_has_its_own_tags(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _allow(store, {"StringEquals": {"aws:ResourceTag/team": "blue"}})
    authorizer = PolicyAuthorizer(store)
    params = {"serviceName": "web", "serviceInstanceName": "one"}

    def outputs(tags: dict[str, list[tuple[str, str]]]) -> _Tags:
        fake = _Tags(tags)
        monkeypatch.setattr(store, "proton_resource_tags", fake)
        authorizer.authorize(ALICE, "proton", "ListServiceInstanceOutputs", params, context=CONTEXT)
        return fake

    fake = outputs({INSTANCE: [("team", "blue")], SERVICE: [("team", "blue")]})
    assert fake.calls == [(ACCOUNT, [INSTANCE, SERVICE])]  # one read for both
    for tags, denied in (
        ({INSTANCE: [("team", "blue")]}, SERVICE),  # the instance's tags do not cover its service
        ({INSTANCE: [("team", "blue")], SERVICE: [("team", "red")]}, SERVICE),
        ({SERVICE: [("team", "blue")]}, INSTANCE),
    ):
        with pytest.raises(AccessDenied) as info:
            outputs(tags)
        assert info.value.message == (
            f"User: {ALICE.arn} is not authorized to perform: proton:ListServiceInstanceOutputs "
            f"on resource: {denied} because no identity-based policy allows the "
            "proton:ListServiceInstanceOutputs action"
        )


def test_tags_are_read_only_for_proton_requests_naming_resources(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put_user_policy(ACCOUNT, "alice", "all", json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))  # fmt: skip
    fake = _Tags({})
    monkeypatch.setattr(store, "proton_resource_tags", fake)
    authorizer = PolicyAuthorizer(store)
    authorizer.authorize(ALICE, "proton", "ListEnvironmentTemplates", {}, context=CONTEXT)
    authorizer.authorize(ALICE, "proton", "GetAccountSettings", {}, context=CONTEXT)
    authorizer.authorize(ALICE, "iam", "GetUser", {}, context=CONTEXT)
    assert fake.calls == []
    _get(authorizer, "x")
    assert fake.calls == [(ACCOUNT, [f"{PREFIX}:environment-template/x"])]


def test_a_failed_tag_read_fails_the_request(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put_user_policy(ACCOUNT, "alice", "all", json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))  # fmt: skip
    authorizer = PolicyAuthorizer(store)

    def broken(account: str, arns: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(store, "proton_resource_tags", broken)
    with pytest.raises(RuntimeError, match="database is locked"):
        _get(authorizer, "x")  # not decided without the keys (not even allowed)
