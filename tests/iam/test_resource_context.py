"""Keys that hold for one resource only (``resource_context``: its ``aws:ResourceTag/…``).

AWS evaluates ``aws:ResourceTag/<key>`` per resource; a request naming several resources (a
service instance and its service) must be allowed on each with that resource's own tags.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from hadron.iam import Policies, RequestContext, Result, authorize, decide, parse_policy

USER = "arn:aws:iam::111122223333:user/alice"
SERVICE = "arn:aws:proton:us-east-1:111122223333:service/web"
INSTANCE = f"{SERVICE}/service-instance/one"
GET = "proton:GetService"


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow_if(operator: str, key: str, value: Any, resource: str = "*") -> str:
    condition = {operator: {key: value}}
    return _policy({"Effect": "Allow", "Action": "proton:*", "Resource": resource,
                    "Condition": condition})  # fmt: skip


def _tags(**tags: str) -> dict[str, str]:
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()}


def _decide(
    policy: str,
    resource: str | list[str] = SERVICE,
    per_resource: Mapping[str, Mapping[str, Any]] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Any:
    return authorize(
        principal=USER,
        action=GET,
        resource=resource,
        context=context,
        resource_context=per_resource,
        identity_policies=[policy],
    )


BLUE = _allow_if("StringEquals", "aws:ResourceTag/team", "blue")


@pytest.mark.parametrize(
    ("tags", "allowed"),
    [({"team": "blue"}, True), ({"team": "red"}, False), ({}, False), ({"Team": "blue"}, True)],
    ids=["blue", "red", "untagged", "key-case-insensitive"],
)
def test_one_resource_with_its_tags(tags: dict[str, str], allowed: bool) -> None:
    decision = _decide(BLUE, per_resource={SERVICE: _tags(**tags)} if tags else None)
    assert decision.allowed is allowed
    assert decision.errors == ()


@pytest.mark.parametrize(
    ("policy", "untagged", "blue", "red"),
    [
        (_allow_if("StringEqualsIfExists", "aws:ResourceTag/team", "blue"), True, True, False),
        (_allow_if("Null", "aws:ResourceTag/team", "true"), True, False, False),
        (_allow_if("Null", "aws:ResourceTag/team", "false"), False, True, True),
        (_allow_if("StringNotEquals", "aws:ResourceTag/team", "red"), True, True, False),
    ],
    ids=["IfExists", "Null-true", "Null-false", "StringNotEquals"],
)
def test_absent_tags_behave_as_absent_keys(
    policy: str, untagged: bool, blue: bool, red: bool
) -> None:
    assert _decide(policy).allowed is untagged
    assert _decide(policy, per_resource={SERVICE: {}}).allowed is untagged
    assert _decide(policy, per_resource={SERVICE: _tags(team="blue")}).allowed is blue
    assert _decide(policy, per_resource={SERVICE: _tags(team="red")}).allowed is red


def test_each_resource_is_decided_with_its_own_tags() -> None:
    both = [INSTANCE, SERVICE]
    blue_blue = {INSTANCE: _tags(team="blue"), SERVICE: _tags(team="blue")}
    assert _decide(BLUE, both, blue_blue).allowed
    # The instance's tags never decide for the service (and the reverse).
    only_instance = _decide(BLUE, both, {INSTANCE: _tags(team="blue")})
    assert only_instance.result is Result.IMPLICITLY_DENIED
    assert only_instance.resource == SERVICE
    only_service = _decide(BLUE, both, {SERVICE: _tags(team="blue")})
    assert not only_service.allowed and only_service.resource == INSTANCE
    red_service = _decide(BLUE, both, {INSTANCE: _tags(team="blue"), SERVICE: _tags(team="red")})
    assert not red_service.allowed and red_service.resource == SERVICE


def test_explicit_deny_on_one_resource_by_its_tags() -> None:
    policy = _policy(
        {"Effect": "Allow", "Action": "proton:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "proton:*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/locked": "yes"}}},
    )  # fmt: skip
    both = [INSTANCE, SERVICE]
    assert _decide(policy, both, {INSTANCE: _tags(locked="no")}).allowed
    denied = _decide(policy, both, {SERVICE: _tags(locked="yes")})
    assert denied.result is Result.EXPLICITLY_DENIED and denied.resource == SERVICE


def test_resource_keys_override_request_keys_for_that_resource_only() -> None:
    request = _tags(team="red")  # a caller-given value (the simulator's context entries)
    assert not _decide(BLUE, context=request).allowed
    assert _decide(BLUE, context=request, per_resource={SERVICE: _tags(team="blue")}).allowed
    # A resource the request does not name adds nothing.
    assert not _decide(BLUE, per_resource={INSTANCE: _tags(team="blue")}).allowed


def test_policy_variables_read_the_resource_tags() -> None:
    by_name = "arn:aws:proton:*:*:service/${aws:ResourceTag/name}"
    policy = _policy({"Effect": "Allow", "Action": "proton:*", "Resource": by_name})
    assert _decide(policy, per_resource={SERVICE: _tags(name="web")}).allowed
    assert not _decide(policy, per_resource={SERVICE: _tags(name="api")}).allowed


def test_request_context_carries_resource_keys_to_decide() -> None:
    ctx = RequestContext.build(
        principal=USER,
        action=GET,
        resource=[INSTANCE, SERVICE],
        resource_context={INSTANCE: _tags(team="blue"), SERVICE: {"aws:ResourceTag/Team": "blue"}},
    )
    assert ctx.per_resource == {
        INSTANCE: {"aws:resourcetag/team": "blue"},
        SERVICE: {"aws:resourcetag/team": "blue"},
    }
    assert "aws:resourcetag/team" not in ctx.values
    policies = Policies(identity=(parse_policy(BLUE, kind="identity"),))
    assert decide(ctx, policies).allowed
    plain = RequestContext.build(principal=USER, action=GET, resource=SERVICE)
    assert plain.per_resource is None and not decide(plain, policies).allowed
    empty = RequestContext.build(
        principal=USER, action=GET, resource=SERVICE, resource_context={SERVICE: {}}
    )
    assert empty.per_resource is None


def test_unsupported_resource_values_raise() -> None:
    with pytest.raises(TypeError):
        _decide(BLUE, per_resource={SERVICE: {"aws:ResourceTag/x": object()}})
