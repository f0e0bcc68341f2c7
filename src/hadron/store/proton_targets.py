"""What a finished deployment does to its target resource, per target type.

Layer 3 (store). A deployment record names its target (``target_type``: ENVIRONMENT,
SERVICE_INSTANCE, SERVICE_PIPELINE or COMPONENT). When the shared deployment code in
``hadron.store.proton_deployments`` moves a deployment to a new status, it calls the finisher
registered here for the target type, inside the same transaction, so the target's status (or its
removal on DELETE_COMPLETE) and the deployment record never disagree. Each target's store module
registers its own finisher when it is imported (``hadron.store.sql`` imports them all).

DeleteDeployment asks :data:`IS_CURRENT` (same registration) whether a deployment is its target's
latest attempted or last succeeded one, which cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from hadron.proton.deployments import DeploymentStatus

__all__ = ["FINISHERS", "IS_CURRENT", "CurrentCheck", "Finisher"]

Finisher = Callable[[Connection, Row[Any], DeploymentStatus, str | None, datetime], None]
"""(connection, the deployment row as it was before this step, its new status, the message,
now) → None. Called only when the deployment actually moved."""

FINISHERS: dict[str, Finisher] = {}

CurrentCheck = Callable[[Connection, Row[Any]], bool]
"""(connection, a deployment row) → whether it is its target's latest attempted or last
succeeded deployment."""

IS_CURRENT: dict[str, CurrentCheck] = {}
