"""ARN parsing, action matching (§4.4) and resource matching (§4.5): one row per rule."""

from __future__ import annotations

import pytest

from hadron.iam.arn import (
    ActionMatcher,
    Arn,
    action_matches,
    arn_like,
    format_arn,
    parse_arn,
    try_parse_arn,
)
from hadron.iam.matching import ResourceMatcher


def test_parse_keeps_colons_and_slashes_in_the_resource_part() -> None:
    # "The sixth part may itself contain : and /" (§4.5; ARN reference: resource-id may contain
    # colons).
    arn = parse_arn("arn:aws:proton:us-east-1:111122223333:repository/github:org/repo")
    assert arn == Arn("aws", "proton", "us-east-1", "111122223333", "repository/github:org/repo")
    assert str(arn) == "arn:aws:proton:us-east-1:111122223333:repository/github:org/repo"
    assert format_arn("aws", "s3", "", "", "b") == "arn:aws:s3:::b"


@pytest.mark.parametrize("text", ["*", "arn:aws:s3", "urn:aws:s3:::b:c", "arn:aws:iam::1"])
def test_not_an_arn(text: str) -> None:
    assert try_parse_arn(text) is None
    with pytest.raises(ValueError, match="not an ARN"):
        parse_arn(text)


ACTION_ROWS = [
    # (pattern, action, matches, AWS documentation sentence encoded)
    (
        "*",
        "proton:GetService",
        True,
        "Action element: you can use a wildcard (*) to give access to all the actions",
    ),
    (
        "proton:GetService",
        "proton:GetService",
        True,
        "Action element: service prefix and action name",
    ),
    (
        "IAM:listaccesskeys",
        "iam:ListAccessKeys",
        True,
        "Action element: prefixes and action names are case insensitive",
    ),
    (
        "proton:get*",
        "proton:GetServiceInstance",
        True,
        "Action element: wildcards (*) in the action name",
    ),
    (
        "proton:Get?ervice",
        "proton:GetService",
        True,
        "Action element: ? matches any single character",
    ),
    (
        "proton:Get?ervice",
        "proton:GetSService",
        False,
        "Action element: ? matches exactly one character",
    ),
    (
        "proton:Get*",
        "proton:ListServices",
        False,
        "Action element: an anchored, whole-string match",
    ),
    (
        "proton:*Service",
        "proton:GetServiceInstance",
        False,
        "Action element: the match is anchored at the end",
    ),
    ("proton:Get*", "iam:GetUser", False, "Action element: the service prefix must match"),
    (
        "proton:Get Service",
        "proton:Get Service",
        False,
        "iam-simulate edgeCases/whitespaceActions: whitespace never matches",
    ),
    (
        "proton:GetService,proton:ListServices",
        "proton:GetService",
        False,
        "iam-simulate edgeCases/commas: a comma never matches",
    ),
    ("proton:", "proton:", False, "§4.4: an empty action name never matches"),
    ("GetService", "GetService", False, "§4.4: an action without a vendor never matches"),
]


@pytest.mark.parametrize(
    ("pattern", "action", "expected", "doc"), ACTION_ROWS, ids=[r[3] for r in ACTION_ROWS]
)
def test_action_matching(pattern: str, action: str, expected: bool, doc: str) -> None:
    assert action_matches(pattern, action) is expected


def test_action_matcher_combines_literals_and_globs() -> None:
    matcher = ActionMatcher(["proton:GetService", "proton:List*", "bad action"])
    assert matcher.matches("proton:getservice")
    assert matcher.matches("proton:listservices")
    assert not matcher.matches("proton:deleteservice")
    assert not ActionMatcher([]).matches("proton:getservice")


RESOURCE_ROWS = [
    (
        "*",
        "arn:aws:proton:us-east-1:111122223333:service/web",
        True,
        "Resource element: * matches all resources",
    ),
    ("*", "*", True, "§4.5: * matches the * of actions without resource-level permissions"),
    (
        "arn:aws:proton:us-east-1:111122223333:service/*",
        "*",
        False,
        "iam-simulate wildcardOnlyActions: a specific ARN never matches *",
    ),
    (
        "arn:aws:proton:us-east-1:111122223333:service/web",
        "arn:aws:proton:us-east-1:111122223333:service/web",
        True,
        "Resource element: an exact ARN",
    ),
    (
        "arn:aws:proton:us-east-1:111122223333:service/Web",
        "arn:aws:proton:us-east-1:111122223333:service/web",
        False,
        "§4.5: ARN matching is case-sensitive",
    ),
    (
        "arn:aws:proton:*:111122223333:service/web",
        "arn:aws:proton:eu-west-1:111122223333:service/web",
        True,
        "Resource element: wildcards in the region segment",
    ),
    (
        "arn:aws:proton:*:service/web",
        "arn:aws:proton:eu-west-1:111122223333:service/web",
        False,
        "§4.5: * never crosses a segment boundary before the resource part",
    ),
    (
        "arn:aws:proton:us-east-?:111122223333:service/web",
        "arn:aws:proton:us-east-1:111122223333:service/web",
        True,
        "Resource element: ? in a segment",
    ),
    (
        "arn:aws:proton:us-east-1:*:service/web",
        "arn:aws:proton:us-east-1:444455556666:service/web",
        True,
        "Resource element: wildcards in the account segment",
    ),
    (
        "arn:aws:s3:::B/*/test/*",
        "arn:aws:s3:::B//test/object.jpg",
        True,
        "Resource element: arn:aws:s3:::B/*/test/* matches B//test/object.jpg",
    ),
    (
        "arn:aws:s3:::B/*/test/*",
        "arn:aws:s3:::B/1/2/test/3/x",
        True,
        "Resource element: * in the resource part spans / characters",
    ),
    (
        "arn:aws:proton:us-east-1:111122223333:repository/*",
        "arn:aws:proton:us-east-1:111122223333:repository/github:org/r",
        True,
        "§4.5: * in the resource part spans : characters",
    ),
    (
        "arn:aws:proton:us-east-1:111122223333:service/web",
        "arn:aws:proton:us-east-1:111122223333:service/web/service-instance/a",
        False,
        "Resource element: anchored match",
    ),
]


@pytest.mark.parametrize(
    ("pattern", "resource", "expected", "doc"), RESOURCE_ROWS, ids=[r[3] for r in RESOURCE_ROWS]
)
def test_resource_matching(pattern: str, resource: str, expected: bool, doc: str) -> None:
    matcher = ResourceMatcher((pattern,), substitute=True)
    assert matcher.matches(resource, {}) is expected
    if pattern != "*" and resource != "*":
        assert arn_like(pattern, resource) is expected


def test_arn_like_rejects_non_arns_and_accepts_star() -> None:
    assert arn_like("*", "anything")
    assert not arn_like("arn:aws:s3:::b", "b")
    assert not arn_like("arn:aws:s3", "arn:aws:s3:::b")
