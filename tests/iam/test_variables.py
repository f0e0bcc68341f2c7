"""Policy variables (§4.8; IAM User Guide, "IAM policy elements: Variables and tags")."""

from __future__ import annotations

from typing import Any

import pytest

from hadron.iam import authorize
from hadron.iam.variables import (
    DynamicPattern,
    Lit,
    Raw,
    Var,
    parse_template,
    render_regex,
    render_text,
)
from tests.iam.helpers import ACCOUNT, ALICE, GET, identity, pol, stmt

SVC = f"arn:aws:proton:us-east-1:{ACCOUNT}:service"


def allowed(
    resource_pattern: str, resource: str, *, version: str | None = "2012-10-17", **ctx: Any
) -> bool:
    policy = (
        pol("identity", stmt("Allow", GET, resource_pattern), version=version) if version else None
    )
    if policy is None:  # 2008-10-17 is not accepted for identity policies: use a resource policy
        resource_policy = pol(
            "resource", stmt("Allow", GET, resource_pattern, Principal={"AWS": ALICE}), version=None
        )
        decision = authorize(
            principal=ALICE,
            action=GET,
            resource=resource,
            resource_policy=resource_policy,
            context=ctx,
        )
    else:
        decision = authorize(
            principal=ALICE, action=GET, resource=resource, identity_policies=[policy], context=ctx
        )
    return decision.allowed


RESOURCE_ROWS = [
    (
        f"{SVC}/${{aws:username}}-*",
        f"{SVC}/alice-web",
        {},
        True,
        "${aws:username} in the resource part is replaced by the user's name",
    ),
    (f"{SVC}/${{aws:username}}-*", f"{SVC}/bob-web", {}, False, "the substituted value must match"),
    (
        f"{SVC}/${{AWS:UserName}}",
        f"{SVC}/alice",
        {},
        True,
        "variable key names are case-insensitive",
    ),
    (
        f"{SVC}/${{aws:PrincipalTag/team}}",
        f"{SVC}/red",
        {"aws:PrincipalTag/team": "red"},
        True,
        "any single-valued key can be a variable (aws:PrincipalTag/team)",
    ),
    (
        f"{SVC}/${{aws:PrincipalTag/team, 'company-wide'}}",
        f"{SVC}/company-wide",
        {},
        True,
        "${key, 'default'}: the default is used when the key is absent",
    ),
    (
        f"{SVC}/${{aws:PrincipalTag/team, 'company-wide'}}",
        f"{SVC}/red",
        {"aws:PrincipalTag/team": "red"},
        True,
        "${key, 'default'}: the key's value wins when present",
    ),
    (
        f"{SVC}/${{aws:PrincipalTag/team}}",
        f"{SVC}/red",
        {},
        False,
        "an unresolvable variable makes the Resource entry match nothing",
    ),
    (
        f"{SVC}/${{aws:TagKeys}}",
        f"{SVC}/a",
        {"aws:TagKeys": ["a"]},
        False,
        "multivalued keys cannot be variables",
    ),
    (f"{SVC}/${{*}}", f"{SVC}/*", {}, True, "${*} is a literal asterisk"),
    (f"{SVC}/${{*}}", f"{SVC}/web", {}, False, "${*} does not act as a wildcard"),
    (f"{SVC}/w${{?}}b", f"{SVC}/w?b", {}, True, "${?} is a literal question mark"),
    (f"{SVC}/w${{?}}b", f"{SVC}/web", {}, False, "${?} does not act as a wildcard"),
    (f"{SVC}/${{$}}x", f"{SVC}/$x", {}, True, "${$} is a literal dollar sign"),
    (f"{SVC}/${{*}}${{aws:username}}", f"{SVC}/*alice", {}, True, "escapes and variables together"),
    (
        f"{SVC}/${{aws:PrincipalTag/team}}",
        f"{SVC}/web",
        {"aws:PrincipalTag/team": "*"},
        False,
        "a substituted value is literal text, never a wildcard",
    ),
    (
        f"{SVC}/${{aws:PrincipalTag/team}}",
        f"{SVC}/*",
        {"aws:PrincipalTag/team": "*"},
        True,
        "a substituted * matches only a literal *",
    ),
    (
        "arn:aws:proton:us-east-1:${aws:PrincipalAccount}:service/web",
        f"{SVC}/web",
        {},
        False,
        "variables only after the fifth colon of a Resource ARN",
    ),
]


@pytest.mark.parametrize(
    ("pattern", "resource", "ctx", "expected", "doc"),
    RESOURCE_ROWS,
    ids=[r[4] for r in RESOURCE_ROWS],
)
def test_variables_in_resources(
    pattern: str, resource: str, ctx: dict[str, Any], expected: bool, doc: str
) -> None:
    assert allowed(pattern, resource, **ctx) is expected


def test_no_substitution_under_version_2008() -> None:
    # "If you use policy variables with Version 2008-10-17 ... the variable is treated as a
    # literal string."
    assert not allowed(f"{SVC}/${{aws:username}}", f"{SVC}/alice", version=None)
    assert allowed(f"{SVC}/${{aws:username}}", f"{SVC}/${{aws:username}}", version=None)


def test_unresolvable_variable_in_not_resource_excludes_nothing() -> None:
    # §4.8: the NotResource entry matches nothing, so a Deny with NotResource applies everywhere.
    policy = identity(
        stmt("Allow", GET, "*"),
        {"Effect": "Deny", "Action": GET, "NotResource": f"{SVC}/${{aws:PrincipalTag/team}}"},
    )
    decision = authorize(
        principal=ALICE, action=GET, resource=f"{SVC}/red", identity_policies=[policy]
    )
    assert decision.result == "ExplicitlyDenied"
    tagged = authorize(
        principal=ALICE,
        action=GET,
        resource=f"{SVC}/red",
        identity_policies=[policy],
        context={"aws:PrincipalTag/team": "red"},
    )
    assert tagged.allowed


CONDITION_ROWS = [
    (
        "StringEquals",
        "${aws:username}",
        "alice",
        True,
        "condition values may contain variables (String operators)",
    ),
    ("StringEquals", "${aws:username}", "bob", False, "the substituted value is compared"),
    (
        "StringEquals",
        "${aws:PrincipalTag/team}",
        "red",
        False,
        "an unresolvable variable: positive operators do not match",
    ),
    (
        "StringNotEquals",
        "${aws:PrincipalTag/team}",
        "red",
        True,
        "an unresolvable variable: negated operators do match",
    ),
    (
        "StringLike",
        "${aws:username}-*",
        "alice-x",
        True,
        "variables in StringLike; the wildcard still works",
    ),
    (
        "StringLike",
        "${aws:PrincipalTag/t}",
        "anything",
        False,
        "a substituted value is never a wildcard (tag value *)",
    ),
    ("StringEqualsIgnoreCase", "${aws:username}", "ALICE", True, "variables with IgnoreCase"),
    (
        "ArnLike",
        "arn:aws:iam::${aws:PrincipalAccount}:role/*",
        f"arn:aws:iam::{ACCOUNT}:role/x",
        True,
        "variables in ARN condition values",
    ),
    (
        "Bool",
        "${aws:PrincipalTag/flag}",
        "true",
        True,
        "Bool takes variables (condition operators page)",
    ),
    (
        "NumericEquals",
        "${aws:PrincipalTag/n}",
        "5",
        False,
        "no variables in Numeric operators: the text is not a number",
    ),
]


@pytest.mark.parametrize(
    ("operator", "value", "request_value", "expected", "doc"),
    CONDITION_ROWS,
    ids=[r[4] for r in CONDITION_ROWS],
)
def test_variables_in_conditions(
    operator: str, value: str, request_value: str, expected: bool, doc: str
) -> None:
    policy = identity(stmt("Allow", GET, "*", Condition={operator: {"test:key": value}}))
    context = {
        "test:key": request_value,
        "aws:PrincipalTag/t": "*",
        "aws:PrincipalTag/flag": "true",
        "aws:PrincipalTag/n": "5",
    }
    decision = authorize(principal=ALICE, action=GET, identity_policies=[policy], context=context)
    assert decision.allowed is expected


def test_templates() -> None:
    assert parse_template("a${aws:username}b", substitute=False) == (Raw("a${aws:username}b"),)
    assert parse_template("${*}${ aws:x , 'd' }${}", substitute=True) == (
        Lit("*"),
        Var("aws:x", "d"),
        Raw("${}"),
    )
    template = parse_template("x${aws:a}*", substitute=True)
    assert render_text(template, {"aws:a": "."}) == "x.*"
    assert render_regex(template, {"aws:a": "."}, None) == r"x\..*"
    assert render_text(template, {}) is None
    assert render_regex(parse_template("${?}", substitute=True), {}, None) == r"\?"
    assert render_regex(template, {"aws:a": ("m",)}, None) is None


def test_compiled_variable_patterns_are_memoised_and_bounded() -> None:
    pattern = DynamicPattern(parse_template("u/${aws:username}/*", substitute=True), None)
    first = pattern.compile({"aws:username": "alice"})
    assert first is pattern.compile({"aws:username": "alice"})
    for n in range(300):
        compiled = pattern.compile({"aws:username": f"user{n}"})
        assert compiled is not None and compiled.fullmatch(f"u/user{n}/x")
    assert pattern.compile({}) is None
