"""Proton's adjustable quotas (proton.md §9), as one value the composition root can change.

Layer 4 (pure).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Quotas"]


@dataclass(frozen=True, slots=True)
class Quotas:
    """Per account and region. AWS defaults; all adjustable there, so configurable here."""

    templates: int = 100  # environment and service templates together
    versions_per_template: int = 500
    environments: int = 100

    def __post_init__(self) -> None:
        if self.templates < 1 or self.versions_per_template < 1 or self.environments < 1:
            raise ValueError("quotas must be positive")
