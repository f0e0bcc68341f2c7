"""``hadron.iam.index``: statements pre-selected by action and guard condition, cached per layer."""

from __future__ import annotations

from collections.abc import Mapping

from hadron.iam import Policy, PolicyKind
from hadron.iam.conditions import CompiledCondition, Condition, guard_of, memo_matches
from hadron.iam.index import layer_index

from .helpers import GET, identity, stmt


def _policy() -> tuple[Policy, ...]:
    return (
        identity(
            stmt("Deny", GET, Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
            stmt("Allow", GET, Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),
            stmt("Allow", GET, Condition={"StringLike": {"aws:RequestedRegion": "us-*"}}),
            stmt("Allow", "proton:ListServices"),
        ),
        identity(
            stmt("Allow", GET, Condition={"Bool": {"aws:SecureTransport": "true"}}),
            stmt("Deny", GET),
        ),
    )


def _selected(values: Mapping[str, str | tuple[str, ...]]) -> list[tuple[int, int]]:
    index = layer_index(POLICIES, PolicyKind.IDENTITY).for_action(GET.lower())
    return [(p, s.index) for p, _policy, s in index.select(values)]


POLICIES = _policy()


def test_only_statements_covering_the_action_in_evaluation_order() -> None:
    # Per policy: its Deny statements, then its Allow statements; ListServices is left out.
    every = {"aws:requestedregion": "eu-west-1", "aws:securetransport": "true"}
    assert _selected(every) == [(0, 0), (0, 2), (1, 1), (1, 0)]


def test_statements_whose_guard_fails_are_left_out() -> None:
    assert _selected({"aws:requestedregion": "us-east-1"}) == [(0, 1), (0, 2), (1, 1)]
    assert _selected({"aws:securetransport": "TRUE"}) == [(0, 2), (1, 1), (1, 0)]
    # absent and multivalued keys fail a plain StringEquals (and so its guard)
    assert _selected({"aws:requestedregion": ("us-east-1",)}) == [(0, 2), (1, 1)]
    assert _selected({}) == [(0, 2), (1, 1)]


def test_the_layer_index_is_cached_by_policy_identity() -> None:
    first = layer_index(POLICIES, PolicyKind.IDENTITY)
    assert layer_index(tuple(POLICIES), PolicyKind.IDENTITY) is first
    assert layer_index(POLICIES, PolicyKind.BOUNDARY) is not first
    assert layer_index(_policy(), PolicyKind.IDENTITY) is not first  # equal, but other objects


def test_guards_are_positive_unqualified_equality_conditions_only() -> None:
    def guard(operator: str, *values: str) -> object:
        return guard_of(CompiledCondition(Condition(operator, "k", values), substitute=True))

    assert guard("StringEquals", "a", "b") is not None
    assert guard("StringEqualsIgnoreCase", "A") is not None
    assert guard("NumericEquals", "7") is not None
    for operator in (
        "StringNotEquals",
        "StringEqualsIfExists",
        "ForAnyValue:StringEquals",
        "ForAllValues:StringEquals",
        "StringLike",
        "Null",
        "NumericLessThan",
    ):
        assert guard(operator, "true") is None, operator
    assert guard("StringEquals", "${aws:username}") is None  # a policy variable
    assert guard("NumericEquals", "seven") is None  # a value that does not parse


def test_memoised_conditions_answer_as_computed() -> None:
    from hadron.iam.conditions import condition_matches

    static = CompiledCondition(
        Condition("IpAddress", "aws:SourceIp", ("10.0.0.0/8",)), substitute=True
    )
    dynamic = CompiledCondition(
        Condition("StringEquals", "k", ("${aws:username}",)), substitute=True
    )
    assert dynamic.memo is None
    requests: list[dict[str, str | tuple[str, ...]]] = [
        {"aws:sourceip": "10.1.1.1"},
        {"aws:sourceip": "192.0.2.1"},
        {},
        {"aws:sourceip": ("10.1.1.1",)},
        {"aws:sourceip": "10.1.1.1"},
        {"k": "alice", "aws:username": "alice"},
        {"k": "alice", "aws:username": "bob"},
    ]
    for values in requests * 2:
        for condition in (static, dynamic):
            assert memo_matches(condition, values) is condition_matches(condition, values)
    assert static.memo is not None and len(static.memo) == 4


def test_a_guard_that_cannot_be_evaluated_keeps_denies_and_drops_allows() -> None:
    # Evaluation skips the guard of what select() returns (CompiledStatement.holds), so if a
    # guard ever raised, select must fail closed itself: a Deny stays in, an Allow goes.
    def broken(_value: str) -> object:
        raise RuntimeError("coercion failed")

    policies = _policy()  # fresh objects: the patch below stays local to this test
    index = layer_index(policies, PolicyKind.IDENTITY).for_action(GET.lower())
    for _p, _policy_obj, statement in index.entries:
        if statement.guard is not None:
            key, _coerce, accepted = statement.guard
            statement.guard = (key, broken, accepted)
    index._groups = tuple((key, broken, table) for key, _c, table in index._groups)
    selected = [(p, s.index) for p, _policy_obj, s in index.select({"aws:requestedregion": "x"})]
    # (0, 0) Deny with a broken guard: kept; (0, 1) Allow with one: dropped; the unguarded and
    # non-equality statements stay; (1, 0) Allow guarded by Bool: dropped.
    assert selected == [(0, 0), (0, 2), (1, 1)]
