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
    account_connections: int = 5  # per environment account
    components: int = 100
    services: int = 1000
    instances_per_service: int = 20

    def __post_init__(self) -> None:
        values = (self.templates, self.versions_per_template, self.environments,
                  self.account_connections, self.components, self.services,
                  self.instances_per_service)  # fmt: skip
        if min(values) < 1:
            raise ValueError("quotas must be positive")
