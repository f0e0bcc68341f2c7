"""IAM Query API result helpers: URL-encoded policy documents and paging (``Marker`` and
``MaxItems``), shared by the handler modules ``hadron.iam.api``, ``hadron.iam.groups``,
``hadron.iam.roles``, ``hadron.iam.entity_policies`` and ``hadron.iam.simulator``.

Layer 4 (pure): no I/O, no store. Spec: security.md §6 (operations).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from hadron.errors import InvalidInput

__all__ = ["_encode", "_page"]

Result = dict[str, Any]
T = TypeVar("T")

_DEFAULT_MAX_ITEMS = 100


def _encode(document: str) -> str:
    return quote(document, safe="")


def _page(items: Sequence[T], params: Mapping[str, Any]) -> tuple[Sequence[T], Result]:
    """One page of ``items`` after ``Marker`` (an opaque offset), at most ``MaxItems`` long."""
    start = 0
    marker = params.get("Marker")
    if marker is not None:
        try:
            start = int(base64.urlsafe_b64decode(marker.encode("ascii")).decode("ascii"))
        except (ValueError, UnicodeError, binascii.Error):
            raise InvalidInput("Invalid Marker.") from None
        if start < 0:
            raise InvalidInput("Invalid Marker.")
    size = int(params.get("MaxItems") or _DEFAULT_MAX_ITEMS)
    page = items[start : start + size]
    extra: Result = {"IsTruncated": start + size < len(items)}
    if extra["IsTruncated"]:
        extra["Marker"] = base64.urlsafe_b64encode(str(start + size).encode()).decode("ascii")
    return page, extra
