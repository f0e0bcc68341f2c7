"""EC2 resource identifiers: ``<prefix>-`` + 17 lower-case hex digits.

Layer: pure core (no I/O). Spec: security.md §7.3 (endpoint ids ``vpce-`` + 17 hex; older ids
had 8). The random source is a parameter (style §9).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Final

__all__ = ["DNS_SUFFIX_ALPHABET", "dns_suffix", "is_id", "new_id"]

RNG = Callable[[int], bytes]

_ID = re.compile(r"^[a-z]+(?:-[a-z]+)*-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
DNS_SUFFIX_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_id(prefix: str, rng: RNG = os.urandom) -> str:
    """``vpc-0123456789abcdef0``-style id: the prefix, a dash and 17 hex digits."""
    return f"{prefix}-{rng(9).hex()[:17]}"


def is_id(value: str, prefix: str) -> bool:
    """Whether ``value`` is well formed for ``prefix`` (8 or 17 hex digits after the dash)."""
    return (
        value.startswith(f"{prefix}-")
        and _ID.match(value) is not None
        and (len(value) - len(prefix) - 1 in (8, 17))
    )


def dns_suffix(rng: RNG = os.urandom) -> str:
    """The 8-character ``[a-z0-9]`` suffix of an endpoint's DNS names (``vpce-…-29p5708s``)."""
    raw = rng(8)
    return "".join(DNS_SUFFIX_ALPHABET[b % len(DNS_SUFFIX_ALPHABET)] for b in raw)
