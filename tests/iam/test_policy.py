"""Policy values: parse forms, normalisation, canonical JSON, caching, compiled slices."""

from __future__ import annotations

import dataclasses
import json

import pytest

import hadron.iam
from hadron.iam import Condition, Effect, Policy, PolicyKind, Statement, parse_policy
from tests.iam.helpers import WEB, doc, stmt

TEXT = """{
  "Version": "2012-10-17",
  "Id": "read-only",
  "Statement": {
    "Sid": "Read",
    "Effect": "Allow",
    "Action": "proton:Get*",
    "Resource": ["arn:aws:proton:*:*:service/*"],
    "Condition": {"Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"a:n": [10, 2.5]}}
  }
}"""


def test_parse_keeps_the_submitted_text_and_normalises_values() -> None:
    policy = parse_policy(TEXT, kind="identity")
    assert policy.text == TEXT  # kept verbatim
    assert policy == Policy(
        kind=PolicyKind.IDENTITY,
        version="2012-10-17",
        id="read-only",
        statements=(
            Statement(
                effect=Effect.ALLOW,
                actions=("proton:Get*",),
                resources=("arn:aws:proton:*:*:service/*",),
                conditions=(
                    Condition("Bool", "aws:SecureTransport", ("true",)),
                    Condition("NumericLessThan", "a:n", ("10", "2.5")),
                ),
                sid="Read",
            ),
        ),
    )


def test_to_json_round_trips() -> None:
    policy = parse_policy(TEXT, kind="identity")
    assert parse_policy(policy.to_json(), kind="identity") == policy
    assert json.loads(policy.to_json())["Statement"][0]["Condition"]["Bool"] == {
        "aws:SecureTransport": ["true"]
    }


def test_principal_star_is_normalised() -> None:
    star = parse_policy(doc(stmt("Allow", "*", None, Principal="*")), kind="resource")
    aws_star = parse_policy(doc(stmt("Allow", "*", None, Principal={"AWS": "*"})), kind="resource")
    assert star == aws_star
    assert star.statements[0].principals == (("AWS", ("*",)),)
    not_principal = parse_policy(
        doc(stmt("Deny", "*", None, NotPrincipal={"AWS": ["111122223333"]})), kind="resource"
    )
    assert json.loads(not_principal.to_json())["Statement"][0]["NotPrincipal"] == {
        "AWS": ["111122223333"]
    }


def test_policies_are_frozen_and_hashable() -> None:
    policy = parse_policy(TEXT, kind="identity")
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.version = "2008-10-17"  # type: ignore[misc]
    assert hash(policy) == hash(parse_policy(TEXT, kind="identity"))


def test_a_policy_passes_through_and_text_is_parsed_once() -> None:
    policy = parse_policy(TEXT, kind="identity")
    assert parse_policy(policy, kind="resource") is policy
    assert parse_policy(TEXT, kind="identity") is policy  # cached by text
    assert parse_policy(TEXT, kind="boundary") is not policy


def test_built_policies_get_canonical_text_and_compile() -> None:
    policy = Policy(PolicyKind.IDENTITY, (Statement(Effect.DENY, ("proton:*",), resources=(WEB,)),))
    assert json.loads(policy.text) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": ["proton:*"], "Resource": [WEB]}],
    }
    assert (
        hadron.iam.authorize(
            principal="arn:aws:iam::111122223333:user/a",
            action="proton:GetService",
            resource=WEB,
            identity_policies=[policy],
        ).result
        == "ExplicitlyDenied"
    )


def test_action_slices_are_memoised_and_bounded() -> None:
    policy = parse_policy(
        doc(stmt("Allow", "proton:Get*", "*"), stmt("Deny", "proton:GetService", "*")),
        kind="identity",
    )
    get = policy.for_action("proton:getservice")
    assert policy.for_action("proton:getservice") is get
    assert [s.index for s in get.allows] == [0] and [s.index for s in get.denies] == [1]
    assert policy.for_action("proton:listservices").statements == ()
    for n in range(600):
        policy.for_action(f"x:{n}")
    assert len(policy._by_action) <= 512


def test_direct_statements_with_unknown_operators_never_match() -> None:
    policy = Policy(
        PolicyKind.IDENTITY,
        (
            Statement(
                Effect.ALLOW,
                ("*",),
                resources=("*",),
                conditions=(Condition("StringEqual", "aws:username", ("a",)),),
            ),
        ),
    )
    decision = hadron.iam.authorize(
        principal="arn:aws:iam::111122223333:user/a",
        action="s3:GetObject",
        identity_policies=[policy],
    )
    assert decision.result == "ImplicitlyDenied"


def test_direct_construction_normalises_kinds_and_effects() -> None:
    policy = Policy("identity", [Statement("Allow", ["proton:*"], resources=["*"])])  # type: ignore[arg-type]
    assert policy.kind is PolicyKind.IDENTITY
    assert policy.statements[0].effect is Effect.ALLOW
    assert policy.statements[0].actions == ("proton:*",)
    assert policy == parse_policy(policy.to_json(), kind="identity")
    with pytest.raises(ValueError):
        Statement("allow", ("*",))  # type: ignore[arg-type]
