"""RFC 6238 codes for tests, written independently of ``hadron.totp`` (HMAC-SHA-1, 6 digits,
30 s steps), so the tests do not check the server's TOTP against itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime


def otp(seed_b32: str, when: datetime | None = None, offset: int = 0) -> str:
    """The code for the step of ``when`` (default: now) plus ``offset``."""
    key = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
    moment = datetime.now(UTC) if when is None else when
    counter = int(moment.timestamp()) // 30 + offset
    digest = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    start = digest[-1] & 15
    return f"{(int.from_bytes(digest[start : start + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"
