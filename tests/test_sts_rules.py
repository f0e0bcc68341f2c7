"""STS request rules (hadron.sts_rules): vectors and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hadron.errors import InvalidParameterValue, ValidationError
from hadron.sts_rules import (
    ROLE_CHAINING_MAX_SECONDS,
    assumed_role_arn,
    packed_size,
    policy_arns,
    role_session_duration,
    session_policy,
    session_tags,
    source_identity,
    user_session_duration,
)


@pytest.mark.parametrize(
    ("role_arn", "session", "expected"),
    [
        (
            "arn:aws:iam::111122223333:role/deploy",
            "s1",
            "arn:aws:sts::111122223333:assumed-role/deploy/s1",
        ),
        (
            "arn:aws:iam::111122223333:role/a/b/deploy",
            "x@y",
            "arn:aws:sts::111122223333:assumed-role/deploy/x@y",
        ),
        (
            "arn:aws-cn:iam::111122223333:role/r",
            "s",
            "arn:aws-cn:sts::111122223333:assumed-role/r/s",
        ),
    ],
    ids=["plain", "path-dropped", "partition"],
)
def test_assumed_role_arn(role_arn: str, session: str, expected: str) -> None:
    assert assumed_role_arn(role_arn, session) == expected


@given(
    st.one_of(st.none(), st.integers(min_value=900, max_value=43200)),
    st.integers(min_value=3600, max_value=43200),
    st.booleans(),
)
def test_role_session_duration(requested: int | None, max_session: int, chained: bool) -> None:
    try:
        duration = role_session_duration(requested, max_session, chained=chained)
    except ValidationError as exc:
        assert requested is not None
        if chained and requested > ROLE_CHAINING_MAX_SECONDS:
            assert "role chaining" in exc.message
        else:
            assert requested > max_session and "MaxSessionDuration" in exc.message
        return
    assert duration == (3600 if requested is None else requested)
    assert duration <= max_session and (not chained or duration <= ROLE_CHAINING_MAX_SECONDS)


def test_user_session_duration_default() -> None:
    assert user_session_duration(None) == 43200
    assert user_session_duration(900) == 900


_KEY = st.text(alphabet="abcXYZ", min_size=1, max_size=3)


@given(
    st.lists(st.tuples(_KEY, st.text(max_size=3)), max_size=6),
    st.lists(st.tuples(_KEY, st.text(max_size=3)), max_size=4, unique_by=lambda t: t[0].lower()),
)
def test_session_tags_keys_stay_unique_case_insensitively(
    requested: list[tuple[str, str]], inherited: list[tuple[str, str]]
) -> None:
    tags = [{"Key": k, "Value": v} for k, v in requested]
    transitive = [k for k, _ in requested[:2]]
    try:
        result = session_tags(tags, transitive, inherited)
    except InvalidParameterValue:
        lowered = [k.lower() for k, _ in requested]
        inherited_keys = {k.lower() for k, _ in inherited}
        assert len(set(lowered)) < len(lowered) or inherited_keys & set(lowered)
        return
    keys = [k.lower() for k, _ in result.tags]
    assert len(keys) == len(set(keys))
    assert result.tags[: len(inherited)] == tuple(inherited)  # inherited tags come first
    assert {k.lower() for k in result.transitive_keys} <= set(keys)


def test_session_tag_errors() -> None:
    with pytest.raises(InvalidParameterValue, match="reserved"):
        session_tags([{"Key": "aws:x", "Value": "1"}], None)
    with pytest.raises(InvalidParameterValue, match="Transitive tag key other"):
        session_tags([{"Key": "k", "Value": "1"}], ["other"])
    with pytest.raises(InvalidParameterValue, match="cannot exceed 50"):
        session_tags(
            [{"Key": f"k{i}", "Value": ""} for i in range(30)],
            None,
            [(f"i{i}", "") for i in range(21)],
        )


def test_source_identity_is_set_once() -> None:
    assert source_identity("alice", None) == "alice"
    assert source_identity(None, "alice") == "alice"
    assert source_identity("alice", "alice") == "alice"
    with pytest.raises(InvalidParameterValue):
        source_identity("bob", "alice")


def test_session_policy_and_packing() -> None:
    assert session_policy(None) is None
    policy = session_policy(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
    )
    assert policy is not None
    assert packed_size(None, (), ()) is None
    small = packed_size(policy, (), ())
    assert small is not None and 0 < small <= 10
    with_tags = packed_size(policy, ("arn:aws:iam::aws:policy/ReadOnlyAccess",), (("k", "v"),))
    assert with_tags is not None and with_tags >= small
    with pytest.raises(ValidationError, match="'policyArns'"):
        policy_arns([{"arn": f"arn:aws:iam::aws:policy/P{i}"} for i in range(11)])
    assert policy_arns([{"arn": "arn:aws:iam::aws:policy/P"}]) == ("arn:aws:iam::aws:policy/P",)
