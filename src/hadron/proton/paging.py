"""``nextToken``/``maxResults`` pagination for the Proton list operations (proton.md §1.3).

Layer 4 (pure). Lists are in key order (names, or (major, minor) for versions) and a token is the
base64 (standard alphabet, matching the model's ``^[A-Za-z0-9+=/]+$``) of the last key returned,
tagged with the list it belongs to; listing resumes after that key, so a page costs the same
however long the list is, and items created or deleted between pages are neither repeated nor
skipped. A token from another list, or one not produced here, is a ValidationException.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final

from hadron.errors import ValidationError

__all__ = ["DEFAULT_MAX_RESULTS", "decode_token", "encode_token", "max_results"]

DEFAULT_MAX_RESULTS: Final = 100
"""Page size when ``maxResults`` is absent (UNCONFIRMED: AWS does not document it)."""


def encode_token(scope: str, key: Any) -> str:
    raw = json.dumps([scope, key], separators=(",", ":")).encode()
    return base64.b64encode(raw).decode("ascii")


def decode_token(scope: str, token: str | None) -> Any:
    """The key a token resumes after (``None`` for the first page)."""
    if token is None:
        return None
    try:
        found = json.loads(base64.b64decode(token, validate=True))
    except (binascii.Error, ValueError):
        found = None
    if not (isinstance(found, list) and len(found) == 2 and found[0] == scope):
        raise ValidationError("nextToken: the pagination token is invalid for this request.")
    return found[1]


def max_results(params: Mapping[str, Any]) -> int:
    value = params.get("maxResults")
    return DEFAULT_MAX_RESULTS if value is None else int(value)
