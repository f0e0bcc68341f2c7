"""RFC 6238 TOTP: the appendix B SHA-1 vectors (truncated to 6 digits) and the step windows."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from hadron import totp

# RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
SEED = b"12345678901234567890"
VECTORS = [  # (Unix time, 8-digit TOTP from the RFC)
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.mark.parametrize(("seconds", "expected"), VECTORS, ids=[str(v[0]) for v in VECTORS])
def test_rfc6238_sha1_vectors(seconds: int, expected: str) -> None:
    step = totp.step_at(_at(seconds))
    assert step == seconds // 30
    # 6 digits = the 8-digit value mod 10**6 (same dynamic truncation, smaller modulus)
    assert totp.code(SEED, step) == expected[-6:]
    assert totp.matching_step(SEED, expected[-6:], _at(seconds)) == step


def test_window_accepts_one_step_either_side_only() -> None:
    now = _at(1234567890)
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        assert totp.matching_step(SEED, totp.code(SEED, step + offset), now) == step + offset
    for offset in (-3, -2, 2, 3):
        assert totp.matching_step(SEED, totp.code(SEED, step + offset), now) is None


def test_drift_moves_the_window() -> None:
    now = _at(1234567890)
    step = totp.step_at(now)
    late = totp.code(SEED, step - 5)
    assert totp.matching_step(SEED, late, now) is None
    assert totp.matching_step(SEED, late, now, drift=-5) == step - 5


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345"])
def test_malformed_codes_never_match(bad: str) -> None:
    assert totp.matching_step(SEED, bad, _at(59)) is None
    assert totp.consecutive_step(SEED, bad, bad, _at(59), window=5) is None


def test_consecutive_pair() -> None:
    now = _at(2000000000)
    step = totp.step_at(now)
    first, second = totp.code(SEED, step - 4), totp.code(SEED, step - 3)
    assert totp.consecutive_step(SEED, first, second, now, window=5) == step - 4
    assert totp.consecutive_step(SEED, second, first, now, window=5) is None
    assert totp.consecutive_step(SEED, first, second, now, window=2) is None


def test_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        totp.step_at(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="not negative"):
        totp.code(SEED, -1)


def test_seed_and_uri() -> None:
    seed = totp.generate_seed(lambda n: bytes(range(n)))
    assert len(seed) == totp.SEED_BYTES
    text = totp.encode_seed(seed)
    assert len(text) == 64 and "=" not in text
    assert base64.b32decode(text) == seed
    uri = totp.otpauth_uri(seed, "dev@111122223333", "Hadron")
    assert uri.startswith("otpauth://totp/Hadron:dev@111122223333?secret=" + text)
    assert "&digits=6&period=30" in uri
    with pytest.raises(ValueError, match="wrong number"):
        totp.generate_seed(lambda n: b"x")
