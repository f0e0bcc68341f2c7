"""Condition operators (§4.7): one parametrised table per family, then the generic modifiers.

Every row names the AWS documentation sentence (IAM User Guide, "IAM JSON policy elements:
Condition operators" and "Single-valued vs. multivalued context keys") it encodes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hadron.iam.conditions import (
    OPERATORS,
    CompiledCondition,
    Condition,
    Qualifier,
    condition_matches,
    parse_date,
    parse_operator,
)
from hadron.iam.context import context_values
from hadron.iam.principals import identify
from tests.iam.helpers import ALICE

KEY = "test:Key"
Row = tuple[str, Any, Any, bool, str]  # operator, policy value(s), request value, expected, doc


def holds(
    operator: str,
    policy: Any,
    request: Any,
    *,
    key: str = KEY,
    substitute: bool = True,
    extra: dict[str, Any] | None = None,
) -> bool:
    """Evaluate ``{operator: {key: policy}}`` for alice with ``key = request`` (None: absent)."""
    values = tuple(policy) if isinstance(policy, list) else (policy,)
    compiled = CompiledCondition(Condition(operator, key, values), substitute=substitute)
    context: dict[str, Any] = dict(extra or {})
    if request is not None:
        context[KEY] = request
    return condition_matches(compiled, context_values(context, identify(ALICE), None))


def table(rows: list[Row]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        ("operator", "policy", "request_value", "expected", "doc"), rows, ids=[r[4] for r in rows]
    )


STRING: list[Row] = [
    ("StringEquals", "web", "web", True, "StringEquals: Exact matching, case sensitive"),
    ("StringEquals", "web", "Web", False, "StringEquals: case sensitive"),
    (
        "StringEquals",
        ["api", "web"],
        "web",
        True,
        "multiple values for one key are evaluated using a logical OR",
    ),
    ("StringEquals", "w*", "web", False, "StringEquals: no wildcards, * is literal"),
    ("StringEquals", "w*", "w*", True, "StringEquals: a literal * matches itself"),
    ("StringNotEquals", "web", "api", True, "StringNotEquals: Negated matching"),
    (
        "StringNotEquals",
        ["api", "web"],
        "web",
        False,
        "negated operators: the value cannot match any of the values (NOR)",
    ),
    (
        "StringNotEquals",
        ["api", "web"],
        "db",
        True,
        "negated operators: none of the values match, so true",
    ),
    (
        "StringEqualsIgnoreCase",
        "WEB",
        "web",
        True,
        "StringEqualsIgnoreCase: Exact matching, ignoring case",
    ),
    (
        "StringNotEqualsIgnoreCase",
        "WEB",
        "web",
        False,
        "StringNotEqualsIgnoreCase: Negated matching, ignoring case",
    ),
    (
        "StringNotEqualsIgnoreCase",
        "WEB",
        "api",
        True,
        "StringNotEqualsIgnoreCase: different values match",
    ),
    (
        "StringLike",
        "w*b",
        "web",
        True,
        "StringLike: multi-character match wildcards (*) anywhere in the string",
    ),
    ("StringLike", "w?b", "web", True, "StringLike: single-character match wildcards (?)"),
    ("StringLike", "w?b", "weeb", False, "StringLike: ? is exactly one character"),
    ("StringLike", "W*", "web", False, "StringLike: Case-sensitive matching"),
    ("StringLike", "w*", "w/x:y\nz", True, "StringLike: * spans any characters"),
    ("StringNotLike", ["a*", "w*"], "web", False, "StringNotLike: Negated case-sensitive matching"),
    ("StringNotLike", ["a*", "b*"], "web", True, "StringNotLike: no pattern matches"),
]
NUMERIC: list[Row] = [
    ("NumericEquals", "10", "10", True, "NumericEquals: Matching"),
    (
        "NumericEquals",
        "10",
        "10.0",
        True,
        "numeric condition operators compare numbers, not strings",
    ),
    ("NumericEquals", "10", 10, True, "a number in the request context compares as a number"),
    ("NumericNotEquals", "10", "11", True, "NumericNotEquals: Negated matching"),
    ("NumericNotEquals", ["10", "11"], "11", False, "NumericNotEquals: NOR over the values"),
    ("NumericLessThan", "10", "9", True, "NumericLessThan: Less than matching"),
    ("NumericLessThan", "10", "10", False, "NumericLessThan: strictly less"),
    (
        "NumericLessThanEquals",
        "10",
        "10",
        True,
        "NumericLessThanEquals: Less than or equals matching",
    ),
    ("NumericGreaterThan", "10", "10.5", True, "NumericGreaterThan: Greater than matching"),
    (
        "NumericGreaterThanEquals",
        "10",
        "9.99",
        False,
        "NumericGreaterThanEquals: Greater than or equals matching",
    ),
    ("NumericLessThan", "-1.5", "-2", True, "numbers may be negative or decimal"),
    (
        "NumericLessThan",
        "10",
        "ten",
        False,
        "§4.7 rule 8: a non-numeric request value never matches",
    ),
    (
        "NumericNotEquals",
        "10",
        "ten",
        False,
        "§4.7 rule 8: a parse failure is not inverted by a negated operator",
    ),
    (
        "NumericNotEquals",
        "ten",
        "5",
        False,
        "§4.7 rule 8: an unparseable policy value makes a negated operator false",
    ),
    (
        "NumericEquals",
        ["ten", "5"],
        "5",
        True,
        "§4.7 rule 8: an unparseable value is one false comparison in the OR",
    ),
]
DATE: list[Row] = [
    (
        "DateEquals",
        "2020-01-01T00:00:01Z",
        "2020-01-01T00:00:01Z",
        True,
        "DateEquals: Matching a specific date",
    ),
    (
        "DateEquals",
        "2020-01-01T00:00:00Z",
        "2020-01-01T02:00:00+02:00",
        True,
        "date operators compare instants (time zones)",
    ),
    ("DateEquals", "2020-01-01", "2020-01-01T00:00:00Z", True, "a date-only value is midnight UTC"),
    (
        "DateNotEquals",
        "2020-01-01T00:00:00Z",
        "2021-01-01T00:00:00Z",
        True,
        "DateNotEquals: Negated matching",
    ),
    (
        "DateLessThan",
        "2020-01-01T00:00:00Z",
        datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC),
        True,
        "DateLessThan: Matching before a specific date and time",
    ),
    (
        "DateLessThan",
        "2020-01-01T00:00:00Z",
        "2020-01-01T00:00:00Z",
        False,
        "DateLessThan: strictly before",
    ),
    (
        "DateLessThanEquals",
        "2020-01-01T00:00:00Z",
        "2020-01-01T00:00:00Z",
        True,
        "DateLessThanEquals: at or before",
    ),
    (
        "DateGreaterThan",
        "2020-01-01T00:00:00Z",
        "2020-01-01T00:00:00.5Z",
        True,
        "DateGreaterThan: Matching after a specific date and time",
    ),
    (
        "DateGreaterThanEquals",
        "1577836800",
        "2020-01-01T00:00:00Z",
        True,
        "date values may be epoch seconds (aws:EpochTime)",
    ),
    (
        "DateGreaterThan",
        "2020-01-01T00:00:00Z",
        "1577836801",
        True,
        "a request value in epoch seconds compares as an instant",
    ),
    (
        "DateLessThan",
        "2020-01-01T00:00:00Z",
        "yesterday",
        False,
        "§4.7 rule 8: a non-date never matches",
    ),
    (
        "DateNotEquals",
        "2020-01-01T00:00:00Z",
        "yesterday",
        False,
        "§4.7 rule 8: not inverted by a negated date operator",
    ),
]
BOOL: list[Row] = [
    ("Bool", "true", True, True, "Bool: Boolean matching"),
    ("Bool", "true", "TRUE", True, "Bool: true/false are compared case-insensitively"),
    ("Bool", "false", True, False, "Bool: true is not false"),
    ("Bool", "true", "yes", False, "§4.7: a non-boolean request value never matches"),
    ("Bool", ["true", "false"], "false", True, "Bool: OR over the values"),
]
BINARY: list[Row] = [
    (
        "BinaryEquals",
        "QmluYXJ5VmFsdWVJbkJhc2U2NA==",
        b"BinaryValueInBase64",
        True,
        "BinaryEquals: compares byte for byte against a base-64 encoded value",
    ),
    (
        "BinaryEquals",
        "QmluYXJ5VmFsdWVJbkJhc2U2NA==",
        b"binaryvalueinbase64",
        False,
        "BinaryEquals: bytes differ",
    ),
    (
        "BinaryEquals",
        "not base64!",
        b"x",
        False,
        "BinaryEquals: an invalid base-64 policy value never matches",
    ),
]
IP: list[Row] = [
    (
        "IpAddress",
        "203.0.113.0/24",
        "203.0.113.9",
        True,
        "IpAddress: The specified IP address or range (CIDR)",
    ),
    ("IpAddress", "203.0.113.0/24", "198.51.100.1", False, "IpAddress: outside the range"),
    ("IpAddress", "203.0.113.9", "203.0.113.9", True, "a bare address means /32"),
    ("IpAddress", "2001:db8::/32", "2001:db8:1::1", True, "IpAddress: IPv6 ranges"),
    (
        "IpAddress",
        "203.0.113.0/24",
        "2001:db8::1",
        False,
        "an IPv6 address never falls in an IPv4 range",
    ),
    (
        "NotIpAddress",
        "203.0.113.0/24",
        "2001:db8::1",
        True,
        "NotIpAddress: true across address families",
    ),
    (
        "NotIpAddress",
        ["10.0.0.0/8", "203.0.113.0/24"],
        "203.0.113.9",
        False,
        "NotIpAddress: All IP addresses except the specified IP address or range (NOR)",
    ),
    ("IpAddress", "203.0.113.0/24", "not-an-ip", False, "§4.7 rule 8: a non-IP never matches"),
    (
        "IpAddress",
        "203.0.113.0/33",
        "203.0.113.9",
        False,
        "§4.7 rule 8: an invalid CIDR never matches",
    ),
    (
        "NotIpAddress",
        "203.0.113.0/24",
        "not-an-ip",
        False,
        "§4.7 rule 8: not inverted by NotIpAddress",
    ),
]
ROLE_A = "arn:aws:iam::111122223333:role/a"
ARN: list[Row] = [
    (
        "ArnEquals",
        "arn:aws:iam::111122223333:role/*",
        ROLE_A,
        True,
        "ArnEquals, ArnLike: Case-sensitive matching of the ARN (wildcards allowed)",
    ),
    (
        "ArnLike",
        "arn:aws:iam::*:role/a",
        ROLE_A,
        True,
        "ArnLike: each of the six colon-delimited components is checked separately",
    ),
    ("ArnLike", "arn:aws:iam::*:role/A", ROLE_A, False, "ArnLike: case-sensitive"),
    (
        "ArnLike",
        "arn:aws:iam::*",
        ROLE_A,
        False,
        "ArnLike: * does not cross the account segment into the resource part",
    ),
    (
        "ArnLike",
        "arn:aws:iam::111122223333:role/a",
        "not-an-arn",
        False,
        "§4.7 rule 8: a non-ARN request value never matches",
    ),
    (
        "ArnNotEquals",
        "arn:aws:iam::111122223333:role/b",
        ROLE_A,
        True,
        "ArnNotEquals, ArnNotLike: Negated matching for ARN",
    ),
    (
        "ArnNotLike",
        ["arn:aws:iam::*:role/b", "arn:aws:iam::*:role/a"],
        ROLE_A,
        False,
        "ArnNotLike: NOR over the values",
    ),
    (
        "ArnNotLike",
        "arn:aws:iam::111122223333:role/a",
        "not-an-arn",
        False,
        "§4.7 rule 8: not inverted for a non-ARN",
    ),
    (
        "ArnNotLike",
        "*",
        ROLE_A,
        False,
        "a policy value that is not an ARN makes the condition false (iam-simulate)",
    ),
]


@table(STRING)
def test_string_operators(
    operator: str, policy: Any, request_value: Any, expected: bool, doc: str
) -> None:
    assert holds(operator, policy, request_value) is expected


@table(NUMERIC)
def test_numeric_operators(
    operator: str, policy: Any, request_value: Any, expected: bool, doc: str
) -> None:
    assert holds(operator, policy, request_value) is expected


@table(DATE)
def test_date_operators(
    operator: str, policy: Any, request_value: Any, expected: bool, doc: str
) -> None:
    assert holds(operator, policy, request_value) is expected


@table(BOOL)
def test_bool_operator(
    operator: str, policy: Any, request_value: Any, expected: bool, doc: str
) -> None:
    assert holds(operator, policy, request_value) is expected


@table(BINARY)
def test_binary_operator(
    operator: str, policy: Any, request_value: Any, expected: bool, doc: str
) -> None:
    assert holds(operator, policy, request_value) is expected


@table(IP)
def test_ip_operators(
    operator: str, policy: Any, request_value: Any, expected: bool, doc: str
) -> None:
    assert holds(operator, policy, request_value) is expected


@table(ARN)
def test_arn_operators(
    operator: str, policy: Any, request_value: Any, expected: bool, doc: str
) -> None:
    assert holds(operator, policy, request_value) is expected


NEGATED = sorted(name for name, op in OPERATORS.items() if op.negated)
POSITIVE = sorted(name for name, op in OPERATORS.items() if not op.negated and not op.null)
SAMPLE = {"Numeric": "1", "Date": "2020-01-01", "Bool": "true", "IpAddress": "10.0.0.0/8"}


def sample(operator: str) -> str:
    for prefix, value in SAMPLE.items():
        if operator.startswith(prefix) or operator.startswith(f"Not{prefix}"):
            return value
    return "arn:aws:iam::111122223333:root" if operator.startswith("Arn") else "x"


def test_every_negated_operator_is_listed() -> None:
    # §4.7 rule 2 lists exactly these negated operators.
    assert NEGATED == sorted(
        [
            "ArnNotEquals",
            "ArnNotLike",
            "DateNotEquals",
            "NotIpAddress",
            "NumericNotEquals",
            "StringNotEquals",
            "StringNotEqualsIgnoreCase",
            "StringNotLike",
        ]
    )


@pytest.mark.parametrize("operator", POSITIVE)
def test_missing_key_positive_operator_is_false(operator: str) -> None:
    # "If the key that you specify in a policy condition is not present in the request context,
    # the values do not match and the condition is false."
    assert holds(operator, sample(operator), None) is False


@pytest.mark.parametrize("operator", NEGATED)
def test_missing_key_negated_operator_is_true(operator: str) -> None:
    # §4.7 rule 2 (iam-simulate condition.ts): a negated operator on an absent key is true.
    assert holds(operator, sample(operator), None) is True


@pytest.mark.parametrize("operator", POSITIVE + NEGATED)
def test_if_exists_on_a_missing_key_is_true(operator: str) -> None:
    # "If the key is not present, evaluate the condition element as true."
    assert holds(f"{operator}IfExists", sample(operator), None) is True


def test_if_exists_on_a_present_key_is_the_plain_operator() -> None:
    # "If the policy key is present in the context of the request, process the key as specified
    # in the policy."
    assert holds("StringEqualsIfExists", "web", "web") is True
    assert holds("StringEqualsIfExists", "web", "api") is False
    assert holds("StringNotEqualsIfExists", "web", "web") is False


SET_ROWS: list[Row] = [
    (
        "ForAllValues:StringEquals",
        ["team", "env"],
        ["team"],
        True,
        (
            "ForAllValues: true if every context key value in the request matches "
            "a value in the policy"
        ),
    ),
    (
        "ForAllValues:StringEquals",
        ["team", "env"],
        ["team", "cost"],
        False,
        "ForAllValues: one request value outside the policy set",
    ),
    (
        "ForAllValues:StringEquals",
        ["team"],
        None,
        True,
        "ForAllValues: It also returns true if there are no context keys in the request",
    ),
    (
        "ForAllValues:StringEquals",
        ["team"],
        [],
        True,
        "ForAllValues: an empty set (context key with an empty value) is true",
    ),
    (
        "ForAnyValue:StringEquals",
        ["team", "env"],
        ["cost", "env"],
        True,
        "ForAnyValue: true if any one of the context key values matches",
    ),
    ("ForAnyValue:StringEquals", ["team"], ["cost"], False, "ForAnyValue: no matching value"),
    (
        "ForAnyValue:StringEquals",
        ["team"],
        None,
        False,
        "ForAnyValue: For no matching context key ... the condition returns false",
    ),
    ("ForAnyValue:StringEquals", ["team"], [], False, "ForAnyValue: a null dataset returns false"),
    (
        "ForAllValues:StringNotLike",
        "key1*",
        ["a", "b"],
        True,
        "ForAllValues:StringNotLike true iff no requested tag key starts with key1",
    ),
    (
        "ForAllValues:StringNotLike",
        "key1*",
        ["a", "key1x"],
        False,
        "ForAllValues with a negated operator: negation per request value",
    ),
    (
        "ForAllValues:StringNotLike",
        "key1*",
        None,
        True,
        "ForAllValues:StringNotLike true when no tags are sent",
    ),
    (
        "ForAnyValue:StringNotEquals",
        ["a", "b"],
        ["a", "c"],
        True,
        "ForAnyValue:StringNotEquals true iff some request value equals none of the values",
    ),
    (
        "ForAnyValue:StringNotEquals",
        ["a", "b"],
        ["a", "b"],
        False,
        "ForAnyValue:StringNotEquals, every value listed",
    ),
    (
        "ForAnyValue:StringEquals",
        "web",
        "web",
        True,
        "§4.7 rule 6: a single-valued key under a set operator is a one-element set",
    ),
    (
        "ForAllValues:StringLike",
        ["team", "env*"],
        ["team", "env-prod"],
        True,
        "ForAllValues with StringLike wildcards",
    ),
    (
        "StringEquals",
        "team",
        ["team"],
        False,
        "§4.7 rule 7: a multivalued key without a set operator never matches",
    ),
    ("StringNotEquals", "team", ["env"], False, "§4.7 rule 7: also for negated operators"),
    (
        "ForAnyValue:StringEqualsIfExists",
        "team",
        None,
        True,
        "IfExists with a set operator: a missing key is true",
    ),
]


@table(SET_ROWS)
def test_set_operators(
    operator: str, policy: Any, request_value: Any, expected: bool, doc: str
) -> None:
    assert holds(operator, policy, request_value) is expected


NULL_ROWS: list[Row] = [
    ("Null", "true", None, True, "Null: true (the key doesn't exist, it is null)"),
    ("Null", "true", "x", False, "Null: true, but the key is present"),
    ("Null", "false", "x", True, "Null: false (the key exists and its value is not null)"),
    ("Null", "false", None, False, "Null: false, but the key is absent"),
    ("Null", "false", [], False, "Null: an empty multivalued key counts as absent"),
    ("Null", "TRUE", None, True, "Null: the value is compared case-insensitively"),
]


@table(NULL_ROWS)
def test_null_operator(
    operator: str, policy: Any, request_value: Any, expected: bool, doc: str
) -> None:
    assert holds(operator, policy, request_value) is expected


def test_condition_key_names_are_case_insensitive() -> None:
    # "Condition key names are not case-sensitive." (also the tag-key suffix of aws:ResourceTag/)
    assert holds("StringEquals", "web", "web", key="TEST:key")
    compiled = CompiledCondition(
        Condition("StringEquals", "aws:ResourceTag/TagKey1", ("v",)), substitute=True
    )
    values = context_values({"aws:resourcetag/tagkey1": "v"}, identify(ALICE), None)
    assert condition_matches(compiled, values)


@pytest.mark.parametrize(
    "name",
    [
        "StringEqual",
        "stringequals",
        "ForSomeValues:StringEquals",
        "NullIfExists",
        "ForAnyValue:Null",
    ],
)
def test_unknown_operators_never_match(name: str) -> None:
    # §4.7 rule 9: an operator the table does not know never matches (and Null takes no modifier).
    assert parse_operator(name) is None
    assert holds(name, "x", "x") is False
    assert holds(name, "x", None) is False


def test_operator_names_split_into_qualifier_base_and_if_exists() -> None:
    parsed = parse_operator("ForAnyValue:StringLikeIfExists")
    assert parsed is not None
    assert (parsed.base.name, parsed.qualifier, parsed.if_exists) == (
        "StringLike",
        Qualifier.FOR_ANY_VALUE,
        True,
    )


def test_parse_date_forms() -> None:
    assert parse_date("1970-01-01T00:00:00Z") == (0, 0)
    assert parse_date("2020") == (
        2020,
        0,
    )  # digits only: epoch seconds, as IAM's validator reads it
    assert parse_date("2020-06") == parse_date("2020-06-01")
    assert parse_date("2020-01-01t00:00:00z") == parse_date("2020-01-01T00:00:00Z")
    assert parse_date("99999999999999999999") is None
    assert parse_date("-5") is None


def test_context_values_are_normalised() -> None:
    # Lists may mix strings, booleans and numbers; an empty list is an absent key.
    assert holds("ForAllValues:StringEquals", ["a", "true", "7"], ["a", True, 7])
    compiled = CompiledCondition(Condition("Null", "test:key", ("true",)), substitute=True)
    assert condition_matches(compiled, {"test:key": ()})


def test_datetimes_format_as_utc_whatever_came_before() -> None:
    # The last formatted datetime is remembered; an equal naive, UTC or offset value must still
    # give its own UTC text (a naive datetime is taken to be UTC).
    from datetime import UTC, datetime, timedelta, timezone

    caller = identify(ALICE)
    naive = datetime(2024, 5, 1, 12, 0, 0)
    aware = naive.replace(tzinfo=UTC)
    plus_two = aware.astimezone(timezone(timedelta(hours=2)))
    for value in (aware, naive, plus_two, aware, datetime(2024, 5, 1, 14, 0, 0, tzinfo=UTC)):
        got = context_values({"aws:CurrentTime": value}, caller, None)["aws:currenttime"]
        expected = value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
        assert got == expected.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_context_time_reads_as_the_instant_it_was_made_from() -> None:
    # context_values formats aws:CurrentTime and leaves the instant for the Date operators; the
    # answer must be what parsing the text gives, with or without microseconds.
    from datetime import UTC, datetime

    from hadron.iam.conditions import _parse_date_text

    caller = identify(ALICE)
    for moment in (
        datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ):
        text = context_values({"aws:CurrentTime": moment}, caller, None)["aws:currenttime"]
        assert isinstance(text, str)
        assert parse_date(text) == _parse_date_text(text) is not None
    late = datetime(2024, 5, 1, 12, 0, 0, 999999, tzinfo=UTC)
    for key in ("aws:CurrentTime", KEY):  # CurrentTime's conditions keep no memo
        extra = {key: late}
        assert holds("DateLessThan", ["2024-05-01T12:00:01Z"], None, key=key, extra=extra)
        assert not holds("DateLessThan", ["2024-05-01T12:00:00Z"], None, key=key, extra=extra)
        assert holds("DateGreaterThan", ["2024-05-01T12:00:00Z"], None, key=key, extra=extra)
