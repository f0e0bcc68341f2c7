"""Proton environments — reserved; filled by the environments work.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """No schema change yet: the revision number is reserved so parallel work stays linear."""


def downgrade() -> None:
    """Nothing to undo."""
