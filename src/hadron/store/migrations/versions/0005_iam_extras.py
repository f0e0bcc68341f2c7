"""IAM extras (policy tags, instance profiles) — reserved; filled by the IAM work.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Layer 3 (store, migration). Self-contained: never import hadron.store.schema here.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """No schema change yet: the revision number is reserved so parallel work stays linear."""


def downgrade() -> None:
    """Nothing to undo."""
