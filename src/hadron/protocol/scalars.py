"""Scalar codecs shared by the JSON and Query protocols: timestamps, blobs, numbers.

Layer 4 (pure core). Must not import asyncio, socket, sqlite3, sqlalchemy, starlette, uvicorn or
hadron.store.

Mirror of the scalar helpers of ``botocore/serialize.py`` (``_timestamp_*``, ``_get_base64``,
``_handle_float``) and of ``botocore.utils.parse_timestamp``. Every decoder raises ``ValueError``
(never anything else) on input it cannot decode; the protocol modules turn that into the
protocol's error.
"""

from __future__ import annotations

import base64
import math
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final

__all__ = [
    "INTEGER_RANGES",
    "decode_base64",
    "encode_base64",
    "epoch_seconds",
    "float_from_text",
    "float_to_text",
    "format_timestamp",
    "iso8601",
    "parse_timestamp",
    "timestamp_from_epoch",
    "to_datetime",
]

INTEGER_RANGES: Final[dict[str, tuple[int, int]]] = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}
"""Inclusive value range of each integral model type (Smithy: two's complement widths)."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Decimal or exponent notation only: Python's float() would also take "1_0", " 1", "inf"...
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
# Smithy spells the non-finite values as these strings on every protocol.
_SPECIAL_FLOATS: Final[dict[str, float]] = {
    "NaN": math.nan,
    "Infinity": math.inf,
    "-Infinity": -math.inf,
}
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]*={0,2}", re.ASCII)


def float_from_text(text: str) -> float:
    """A float from its wire text (decimal, exponent, ``NaN``, ``Infinity``, ``-Infinity``)."""
    special = _SPECIAL_FLOATS.get(text)
    if special is not None:
        return special
    if _DECIMAL.fullmatch(text) is None:
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def float_to_text(value: float) -> str:
    """The wire text of a float: ``repr`` for finite values, else the Smithy spelling."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def timestamp_from_epoch(seconds: float) -> datetime:
    """UTC datetime ``seconds`` after the epoch (fractions kept to the microsecond)."""
    if isinstance(seconds, bool):
        raise ValueError("epoch seconds must be a number")
    try:
        if not math.isfinite(seconds):
            raise ValueError("epoch seconds must be finite")
        return _EPOCH + timedelta(seconds=seconds)
    except OverflowError as exc:
        raise ValueError("epoch seconds out of range") from exc


def parse_timestamp(text: str) -> datetime:
    """UTC datetime from ISO-8601 text, epoch-seconds text or (last resort) RFC 822 text.

    ISO-8601 without an offset is read as UTC, as AWS does.
    """
    if _DECIMAL.fullmatch(text) is not None:
        digits = text.lstrip("+-")
        return timestamp_from_epoch(int(text) if digits.isdigit() else float(text))
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = _parse_rfc822(text)
    try:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("timestamp out of range") from exc


def _parse_rfc822(text: str) -> datetime:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise ValueError(f"not a timestamp: {text!r}") from exc


def to_datetime(value: object) -> datetime:
    """A UTC datetime from what a handler may return for a timestamp member.

    Accepts ``datetime`` (naive means UTC), epoch seconds and timestamp text, like botocore's
    ``parse_to_aware_datetime`` does for client input.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timestamp_from_epoch(value)
    if isinstance(value, str):
        return parse_timestamp(value)
    raise ValueError(f"not a timestamp: {type(value).__name__}")


def epoch_seconds(value: datetime) -> int | float:
    """Epoch seconds: an int for whole seconds, else a float rounded once (like botocore)."""
    delta = value - _EPOCH
    whole = delta.days * 86_400 + delta.seconds
    if delta.microseconds == 0:
        return whole
    return (whole * 10**6 + delta.microseconds) / 10**6


def iso8601(value: datetime, *, millis: bool = False) -> str:
    """``2026-12-03T16:05:27Z``; fractions only as precise as needed (``millis``: ``.000``)."""
    base = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    micro = value.microsecond
    if micro % 1000:
        return f"{base}.{micro:06d}Z"
    if micro or millis:
        return f"{base}.{micro // 1000:03d}Z"
    return base + "Z"


def format_timestamp(
    value: datetime, timestamp_format: str, *, millis: bool = False
) -> str | int | float:
    """``value`` in the model's ``timestampFormat`` (``iso8601``, ``unixTimestamp``, ``rfc822``)."""
    fmt = timestamp_format.lower()
    if fmt == "unixtimestamp":
        return epoch_seconds(value)
    if fmt == "rfc822":
        return format_datetime(value.astimezone(UTC).replace(microsecond=0), usegmt=True)
    return iso8601(value, millis=millis)


def decode_base64(text: str) -> bytes:
    """Bytes from standard, padded base64 text; anything else is a ``ValueError``."""
    if len(text) % 4 or _BASE64.fullmatch(text) is None:
        raise ValueError("not base64")
    # binascii.Error, should the checks above ever miss a case, is a ValueError too.
    return base64.b64decode(text, validate=True)


def encode_base64(value: bytes | bytearray | str) -> str:
    """Base64 text of a blob (a ``str`` is UTF-8 encoded first, as botocore does)."""
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")
