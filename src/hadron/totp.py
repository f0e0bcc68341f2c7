"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) for IAM virtual MFA devices.

Layer 4 (pure): no clock reads, no I/O; the time is always an input (``now``) and randomness an
``rng``. Spec: RFC 6238 (https://www.rfc-editor.org/rfc/rfc6238) with the parameters every
authenticator app and AWS use: HMAC-SHA-1, 6 digits, a 30-second step from the Unix epoch.
Key URI format: https://github.com/google/google-authenticator/wiki/Key-Uri-Format.

* :func:`code` is HOTP of the step number (RFC 4226 §5.3 dynamic truncation).
* :func:`matching_step` accepts the current step (shifted by the device's recorded drift) and
  one step either side (RFC 6238 §5.2 "at most one time step" of network delay); codes are
  compared with :func:`hmac.compare_digest` against every candidate, so the time taken does not
  tell which step (or whether any) matched.
* :func:`consecutive_step` finds two consecutive codes (EnableMFADevice, ResyncMFADevice) in a
  wider window, the way IAM associates or resynchronises a device that drifted.

Seeds are secrets: nothing here logs them, and callers seal them at rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

__all__ = [
    "DIGITS",
    "SEED_BYTES",
    "STEP_SECONDS",
    "code",
    "consecutive_step",
    "encode_seed",
    "generate_seed",
    "matching_step",
    "otpauth_uri",
    "step_at",
]

DIGITS = 6
STEP_SECONDS = 30
SEED_BYTES = 40  # 64 base32 characters, the length IAM's Base32StringSeed has
_MODULUS = 10**DIGITS


def generate_seed(rng: Callable[[int], bytes] = os.urandom) -> bytes:
    """A fresh random seed (``SEED_BYTES`` bytes)."""
    seed = rng(SEED_BYTES)
    if len(seed) != SEED_BYTES:
        raise ValueError("rng returned the wrong number of bytes")
    return seed


def encode_seed(seed: bytes) -> str:
    """The seed as authenticator apps take it: RFC 4648 base32, without padding."""
    return base64.b32encode(seed).decode("ascii").rstrip("=")


def step_at(now: datetime) -> int:
    """The RFC 6238 time-step number ``T`` at ``now`` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return int(now.timestamp()) // STEP_SECONDS


def code(seed: bytes, step: int) -> str:
    """The ``DIGITS``-digit code of ``seed`` for time step ``step`` (HOTP, RFC 4226 §5.3)."""
    if step < 0:
        raise ValueError("a time step is not negative")
    digest = hmac.new(seed, step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    binary = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{binary % _MODULUS:0{DIGITS}d}"


def _matches(seed: bytes, candidate: str, step: int) -> bool:
    if step < 0:
        return False
    return hmac.compare_digest(code(seed, step).encode("ascii"), candidate.encode("ascii"))


def _well_formed(candidate: str) -> bool:
    return len(candidate) == DIGITS and candidate.isascii() and candidate.isdigit()


def matching_step(
    seed: bytes, candidate: str, now: datetime, *, drift: int = 0, window: int = 1
) -> int | None:
    """The step (``step_at(now) + drift`` ± ``window``) whose code is ``candidate``, else
    ``None``. Every candidate step is compared, matched or not (no early exit)."""
    if not _well_formed(candidate):
        return None
    centre = step_at(now) + drift
    found: int | None = None
    for step in range(centre - window, centre + window + 1):
        if _matches(seed, candidate, step) and found is None:
            found = step
    return found


def consecutive_step(
    seed: bytes, first: str, second: str, now: datetime, *, window: int
) -> int | None:
    """The step ``s`` within ``window`` steps of now such that ``first`` is the code of ``s``
    and ``second`` the code of ``s + 1``; ``None`` if there is none. The latest such step wins
    (the pair the device showed most recently)."""
    if not (_well_formed(first) and _well_formed(second)):
        return None
    centre = step_at(now)
    found: int | None = None
    for step in range(centre - window, centre + window + 1):
        if _matches(seed, first, step) & _matches(seed, second, step + 1):
            found = step
    return found


def otpauth_uri(seed: bytes, label: str, issuer: str) -> str:
    """The ``otpauth://totp/…`` key URI an authenticator app scans (the QR code's text)."""
    name = quote(f"{issuer}:{label}", safe=":@")
    return (
        f"otpauth://totp/{name}?secret={encode_seed(seed)}&issuer={quote(issuer, safe='')}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )
