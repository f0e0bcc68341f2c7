"""Availability zones of a served region: ``<region>a``, ``b`` and ``c``.

Layer: pure core. Zone ids follow AWS's pattern (``use1-az1`` for ``us-east-1a``): the region's
parts abbreviated (``us-east-1`` → ``use1``, ``ap-southeast-2`` → ``apse2``), then ``-az<n>``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ZONE_LETTERS", "zone_id", "zones"]

ZONE_LETTERS: Final = ("a", "b", "c")
_DIRECTIONS: Final = {
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def zones(region: str) -> tuple[str, ...]:
    """The zone names of ``region`` in order."""
    return tuple(f"{region}{letter}" for letter in ZONE_LETTERS)


def zone_id(zone: str) -> str:
    """``us-east-1a`` → ``use1-az1``."""
    region, letter = zone[:-1], zone[-1]
    parts = region.split("-")
    short = parts[0] + "".join(_DIRECTIONS.get(p, p[:1]) for p in parts[1:-1]) + parts[-1]
    return f"{short}-az{ZONE_LETTERS.index(letter) + 1}"
