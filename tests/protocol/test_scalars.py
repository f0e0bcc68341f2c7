"""Scalar codecs, Java-pattern translation and strict form decoding, as tables."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hadron.errors import MalformedQueryString
from hadron.protocol.form import decode_form
from hadron.protocol.patterns import compile_pattern
from hadron.protocol.scalars import (
    decode_base64,
    epoch_seconds,
    float_from_text,
    float_to_text,
    format_timestamp,
    iso8601,
    parse_timestamp,
    timestamp_from_epoch,
    to_datetime,
)

WHEN = datetime(2026, 12, 3, 16, 5, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03T16:05:27Z", WHEN),
        ("2026-12-03T16:05:27", WHEN),
        ("2026-12-03T17:05:27+01:00", WHEN),
        ("2026-12-03T16:05:27.250Z", WHEN + timedelta(milliseconds=250)),
        ("1796313927", WHEN),
        ("1796313927.5", WHEN + timedelta(milliseconds=500)),
        ("Thu, 03 Dec 2026 16:05:27 GMT", WHEN),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["", "soon", "2026-13-01T00:00:00Z", "1e999", "NaN", "0001-01-01T00:00:00+01:00"]
)
def test_parse_timestamp_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_epoch_conversions() -> None:
    assert timestamp_from_epoch(1796313927) == WHEN
    assert epoch_seconds(WHEN) == 1796313927
    assert epoch_seconds(WHEN + timedelta(microseconds=3691)) == 1796313927.003691
    for bad in (True, math.inf, 10**30):
        with pytest.raises(ValueError):
            timestamp_from_epoch(bad)


def test_to_datetime_accepts_what_botocore_accepts() -> None:
    assert to_datetime(datetime(2026, 12, 3, 16, 5, 27)) == WHEN
    assert to_datetime(WHEN.astimezone(timezone(timedelta(hours=-5)))).tzinfo is UTC
    assert to_datetime(1796313927) == WHEN
    assert to_datetime("2026-12-03T16:05:27Z") == WHEN
    with pytest.raises(ValueError, match="not a timestamp"):
        to_datetime(b"x")


def test_timestamp_formats() -> None:
    assert iso8601(WHEN) == "2026-12-03T16:05:27Z"
    assert iso8601(WHEN, millis=True) == "2026-12-03T16:05:27.000Z"
    assert iso8601(WHEN.replace(microsecond=120000)) == "2026-12-03T16:05:27.120Z"
    assert iso8601(WHEN.replace(microsecond=5)) == "2026-12-03T16:05:27.000005Z"
    assert format_timestamp(WHEN, "unixTimestamp") == 1796313927
    assert format_timestamp(WHEN, "rfc822") == "Thu, 03 Dec 2026 16:05:27 GMT"
    assert format_timestamp(WHEN, "iso8601") == "2026-12-03T16:05:27Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.5", 1.5), ("-2", -2.0), (".5e3", 500.0), ("Infinity", math.inf), ("-Infinity", -math.inf)],
)
def test_float_text(text: str, expected: float) -> None:
    assert float_from_text(text) == expected
    assert float_from_text(float_to_text(expected)) == expected


def test_float_text_specials() -> None:
    assert math.isnan(float_from_text("NaN"))
    assert float_to_text(math.nan) == "NaN"
    for bad in ("inf", "1_0", " 1", "0x10", ""):
        with pytest.raises(ValueError, match="not a number"):
            float_from_text(bad)


@pytest.mark.parametrize("text", ["abc", "ab=c", "a===", "YQ", "!!!!", "YQ==YQ=="])
def test_base64_is_strict(text: str) -> None:
    with pytest.raises(ValueError, match="not base64"):
        decode_base64(text)
    assert decode_base64("YQ==") == b"a"


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        ("^[a-z]+$", "abc", "abc\n"),
        ("[\\w+=,.@-]+", "a_b", "é"),
        ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", "ключ 1 \u0661", "a\u0001"),
        ("\\p{Lu}x", "Äx", "äx"),
        ("\\P{L}+", "12 !", "a"),
        ("[^\\p{N}]+", "ab", "a1"),
        ("[]\\p{N}]+", "]1", "a"),
        ("\\d{12}", "123456789012", "١٢٣٤٥٦٧٨٩٠١٢"),
    ],
)
def test_java_patterns(pattern: str, good: str, bad: str) -> None:
    compiled = compile_pattern(pattern)
    assert compiled is not None
    assert compiled.fullmatch(good)
    assert not compiled.fullmatch(bad)


@pytest.mark.parametrize("pattern", ["\\z", "[\\P{L}]", "\\p{Xx}", "(", "\\p{Alpha}"])
def test_patterns_python_cannot_compile_are_skipped(pattern: str) -> None:
    assert compile_pattern(pattern) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("a=1&b=%2B+x", [("a", "1"), ("b", "+ x")]),
        ("&&c&d=%C3%A9&=", [("c", ""), ("d", "é"), ("", "")]),
        ("a=1&a=2", [("a", "1"), ("a", "2")]),
        ("k%3Dv=x%3D", [("k=v", "x=")]),
    ],
)
def test_form_decoding(data: str, expected: list[tuple[str, str]]) -> None:
    assert decode_form(data) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("a=%4", "Incomplete trailing escape % sequence"),
        ("a=%", "Incomplete trailing escape % sequence"),
        ("a%4=1", "Incomplete trailing escape % sequence"),
        ("a=%zz", "Illegal hex character in escape % pattern: %zz"),
        ("a=%4g&b", "Illegal hex character in escape % pattern: %4g"),
        ("a=%4%41", "Illegal hex character in escape % pattern: %4%"),
        ("a=%FF", "The query string is not valid UTF-8"),
        ("a=\u0100", "Invalid character in the query string"),
    ],
)
def test_form_decoding_is_strict(data: str, message: str) -> None:
    with pytest.raises(MalformedQueryString) as raised:
        decode_form(data)
    assert raised.value.message == message
