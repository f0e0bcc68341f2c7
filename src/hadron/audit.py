"""CloudTrail-format audit records and the hash chain that makes the audit log tamper-evident.

Layer 2 (pure core used by the handlers' layer): no file, socket or database I/O and no clock; the
edge that writes files is ``hadron.auditlog``. Spec: security.md §9.2 (record fields), §9.3
(``userIdentity``).

Records
    :func:`build_event` produces one management-event record (``eventType: AwsApiCall``) with
    CloudTrail's field names and size limits; :func:`redact` hides secret-bearing members by name.
    "CloudTrail truncates a field if the field's contents exceeds the maximum field size. If a
    field is truncated, omitted is present with a value of true" (CloudTrail record contents):
    strings are cut at a UTF-8 character boundary, and an over-long JSON member is replaced by
    ``{"omitted": true, "originalSize": <bytes>}``.

Chain
    Each log line is the canonical JSON of ``{"record": event, "chain": {"sequence": n,
    "previousHash": p, "hash": h}}`` where ``h = sha256(p + "\\n" + str(n) + "\\n" +
    canonical(event))`` and the first record has ``n = 1`` and ``p = GENESIS``. Verification
    recomputes every hash, so an edited, removed, inserted or reordered record breaks the chain
    at that point, and comparing the last record with the separately stored head (last sequence
    and hash) catches a truncated tail. The chain is unkeyed: it proves integrity against anyone
    who cannot also rewrite the head, not against the host's administrator (signed digests,
    §9.4, are a separate layer).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EVENT_VERSION",
    "GENESIS",
    "HIDDEN",
    "SENSITIVE_KEYS",
    "VerifyResult",
    "build_event",
    "canonical_json",
    "chain_hash",
    "link",
    "link_canonical",
    "redact",
    "verify_lines",
]

EVENT_VERSION = "1.11"
GENESIS = "0" * 64
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

SENSITIVE_KEYS: frozenset[str] = frozenset(
    name.lower()
    for name in (
        "SecretAccessKey",
        "SessionToken",
        "Password",
        "OldPassword",
        "NewPassword",
        "PrivateKey",
        "Signature",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "Authorization",
        "Credentials",
        # virtual MFA devices: the TOTP seed (and its QR code) and one-time codes
        "Base32StringSeed",
        "QRCodePNG",
        "AuthenticationCode1",
        "AuthenticationCode2",
        "TokenCode",
    )
)

_HASH = re.compile(r"[0-9a-f]{64}")

USER_AGENT_LIMIT = 1024
ERROR_LIMIT = 1024
PARAMETERS_LIMIT = 100 * 1024
ADDITIONAL_DATA_LIMIT = 28 * 1024


# --- records --------------------------------------------------------------------------------------


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with every secret-named member (any depth, any case) hidden."""
    return {key: _redact_member(key, value) for key, value in params.items()}


def _redact_member(key: str, value: Any) -> Any:
    if key.lower() in SENSITIVE_KEYS:
        return HIDDEN
    return _redact_value(value)


def _redact_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _redact_member(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    # INVARIANT: errors="ignore" drops only the partial character at the cut.
    return encoded[:limit].decode("utf-8", errors="ignore")


def _bounded(value: Mapping[str, Any] | None, limit: int) -> dict[str, Any] | None:
    if value is None:
        return None
    redacted = redact(value)
    size = len(canonical_json(redacted).encode("utf-8"))
    if size > limit:
        return {"omitted": True, "originalSize": size}
    return redacted


def _event_time(when: datetime) -> str:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("event_time must be timezone-aware")
    utc = when.astimezone(UTC)
    # f-string formatting: several times cheaper than strftime on the request path.
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def build_event(
    *,
    event_time: datetime,
    event_source: str,
    event_name: str,
    aws_region: str,
    source_ip: str,
    user_agent: str,
    request_id: str,
    event_id: str,
    user_identity: Mapping[str, Any] | None,
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None,
    error_code: str | None,
    error_message: str | None,
    read_only: bool,
    recipient_account_id: str | None,
    tls_details: Mapping[str, str] | None,
    api_version: str | None,
    vpc_endpoint_id: str | None = None,
    additional_event_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One CloudTrail management-event record (security.md §9.2).

    * ``errorCode``/``errorMessage`` appear only when ``error_code`` is set (a failure);
    * ``responseElements`` is ``null`` for failures and read-only calls;
    * ``requestParameters``, ``responseElements`` and ``additionalEventData`` are redacted here
      as well, whatever the caller did, so a secret cannot reach the log by omission;
    * a missing ``user_identity`` (the caller could not be identified) is ``{"type": "Unknown"}``;
    * optional members (``apiVersion``, ``recipientAccountId``, ``tlsDetails``,
      ``vpcEndpointId``, ``additionalEventData``) are left out when ``None``.
    """
    failed = error_code is not None
    event: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": redact(user_identity) if user_identity is not None else {"type": "Unknown"},
        "eventTime": _event_time(event_time),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": aws_region,
        "sourceIPAddress": source_ip,
        "userAgent": _truncate_utf8(user_agent, USER_AGENT_LIMIT),
        "requestParameters": _bounded(request_parameters, PARAMETERS_LIMIT),
        "responseElements": (
            None if failed or read_only else _bounded(response_elements, PARAMETERS_LIMIT)
        ),
        "requestID": request_id,
        "eventID": event_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "eventCategory": "Management",
    }
    if failed:
        event["errorCode"] = _truncate_utf8(error_code or "", ERROR_LIMIT)
        event["errorMessage"] = _truncate_utf8(error_message or "", ERROR_LIMIT)
    if api_version is not None:
        event["apiVersion"] = api_version
    if recipient_account_id is not None:
        event["recipientAccountId"] = recipient_account_id
    if tls_details is not None:
        event["tlsDetails"] = dict(tls_details)
    if vpc_endpoint_id is not None:
        event["vpcEndpointId"] = vpc_endpoint_id
    if additional_event_data is not None:
        event["additionalEventData"] = _bounded(additional_event_data, ADDITIONAL_DATA_LIMIT)
    return event


# --- the chain ------------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text kept as is; NaN/Infinity rejected (not JSON)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def chain_hash(prev_hash: str, sequence: int, canonical_event: str) -> str:
    """``sha256(prev + "\\n" + sequence + "\\n" + canonical event)`` as lower-case hex."""
    data = f"{prev_hash}\n{sequence}\n{canonical_event}".encode()
    return hashlib.sha256(data).hexdigest()


def link(prev_hash: str, sequence: int, event: Mapping[str, Any]) -> tuple[str, str]:
    """The log line for ``event`` (no newline) after ``prev_hash``, and the new chain hash."""
    return link_canonical(prev_hash, sequence, canonical_json(event))


def link_canonical(prev_hash: str, sequence: int, canonical_event: str) -> tuple[str, str]:
    """:func:`link` for an event already in canonical JSON (lets the edge encode outside a lock)."""
    if not _HASH.fullmatch(prev_hash) or sequence < 1:
        raise ValueError("prev_hash must be 64 lower-case hex digits and sequence >= 1")
    new_hash = chain_hash(prev_hash, sequence, canonical_event)
    # INVARIANT: equal to canonical_json({"record": event, "chain": {...}}) because sorted keys
    # put "chain" before "record" and "hash" < "previousHash" < "sequence".
    chain = f'{{"hash":"{new_hash}","previousHash":"{prev_hash}","sequence":{sequence}}}'
    return f'{{"chain":{chain},"record":{canonical_event}}}', new_hash


# --- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of verifying a log: ``records`` counts the records verified before any failure."""

    ok: bool
    records: int
    first_bad: str | None = None
    reason: str | None = None


def _check_line(text: str, sequence: int, prev_hash: str) -> tuple[str | None, str]:
    """(failure reason or None, this record's hash)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return "unparseable line", ""
    if not isinstance(doc, dict) or set(doc) != {"record", "chain"}:
        return "not a chained audit record", ""
    record, chain = doc["record"], doc["chain"]
    if (
        not isinstance(record, dict)
        or not isinstance(chain, dict)
        or set(chain) != {"sequence", "previousHash", "hash"}
        or type(chain["sequence"]) is not int
        or not isinstance(chain["previousHash"], str)
        or not isinstance(chain["hash"], str)
    ):
        return "malformed chain fields", ""
    try:
        line, computed = link(prev_hash, sequence, record)
    except ValueError:
        return "record cannot be canonicalised (NaN, or invalid UTF-8)", ""
    if chain["sequence"] != sequence:
        return (
            f"sequence {chain['sequence']} where {sequence} was expected "
            "(record removed, inserted or reordered)",
            "",
        )
    if chain["previousHash"] != prev_hash:
        return "previousHash does not match the preceding record", ""
    if chain["hash"] != computed:
        return "hash mismatch (record edited)", ""
    if line != text:
        return "line is not in canonical form (edited)", ""
    return None, computed


def verify_lines(
    lines: Iterable[tuple[str, int, str]], head: tuple[int, str] | None
) -> VerifyResult:
    """Verify a whole chain from :data:`GENESIS`.

    ``lines`` are ``(file name, line number, text without newline)`` in log order; ``head`` is
    the last ``(sequence, hash)`` the writer recorded, or ``None`` to skip the tail check.
    ``first_bad`` is ``"<file>:<line>"`` of the first bad line or, for a truncated tail, the place
    right after the last good record (``"head"`` if there is none).
    """
    prev_hash, sequence, last_place = GENESIS, 0, None
    for name, number, text in lines:
        reason, computed = _check_line(text, sequence + 1, prev_hash)
        if reason is not None:
            return VerifyResult(False, sequence, f"{name}:{number}", reason)
        sequence, prev_hash, last_place = sequence + 1, computed, (name, number)
    if head is not None and head != (sequence, prev_hash):
        after = "head" if last_place is None else f"{last_place[0]}:{last_place[1] + 1}"
        head_seq = head[0]
        if head_seq > sequence:
            reason = f"log ends at sequence {sequence} but the head records {head_seq} (truncated)"
        elif head_seq < sequence:
            reason = f"log continues to sequence {sequence} past the head's {head_seq}"
        else:
            reason = "last record's hash differs from the head (tail replaced)"
        return VerifyResult(False, sequence, after, reason)
    return VerifyResult(True, sequence)
