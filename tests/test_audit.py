"""hadron.audit (records, redaction, chain) and hadron.auditlog (files, resume, verification)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from hadron.audit import (
    GENESIS,
    HIDDEN,
    build_event,
    canonical_json,
    link,
    redact,
    verify_lines,
)
from hadron.auditlog import HEAD_FILE, AuditLog, AuditLogError, verify_directory

T0 = datetime(2026, 12, 3, 23, 59, 58, tzinfo=UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def event(i: int = 0, when: datetime = T0, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "event_time": when,
        "event_source": "proton.amazonaws.com",
        "event_name": "ListServices",
        "aws_region": "us-east-1",
        "source_ip": "192.0.2.1",
        "user_agent": "aws-cli/2.0",
        "request_id": f"req-{i}",
        "event_id": f"evt-{i}",
        "user_identity": {"type": "IAMUser", "accountId": "123456789012"},
        "request_parameters": {"i": i},
        "response_elements": None,
        "error_code": None,
        "error_message": None,
        "read_only": True,
        "recipient_account_id": "123456789012",
        "tls_details": None,
        "api_version": None,
    }
    args.update(overrides)
    return build_event(**args)


# --- records --------------------------------------------------------------------------------------


def test_success_record_shape() -> None:
    e = event(
        event_time=datetime(2026, 12, 3, 12, 0, 1, 999, tzinfo=timezone(timedelta(hours=2))),
        event_name="CreateService",
        read_only=False,
        response_elements={"service": {"name": "s"}},
        tls_details={"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256"},
        api_version="2020-07-20",
        vpc_endpoint_id="vpce-1",
        additional_event_data={"x": 1},
    )
    assert e["eventVersion"] == "1.11"
    assert e["eventTime"] == "2026-12-03T10:00:01Z"
    assert e["eventType"] == "AwsApiCall"
    assert e["managementEvent"] is True
    assert e["eventCategory"] == "Management"
    assert e["readOnly"] is False
    assert e["responseElements"] == {"service": {"name": "s"}}
    assert e["requestID"] == "req-0" and e["eventID"] == "evt-0"
    assert e["sourceIPAddress"] == "192.0.2.1"
    assert e["tlsDetails"]["tlsVersion"] == "TLSv1.3"
    assert e["apiVersion"] == "2020-07-20"
    assert e["vpcEndpointId"] == "vpce-1"
    assert e["additionalEventData"] == {"x": 1}
    assert "errorCode" not in e and "errorMessage" not in e


def test_failure_record_shape() -> None:
    e = event(
        read_only=False,
        response_elements={"should": "vanish"},
        error_code="AccessDeniedException",
        error_message="m" * 5000,
    )
    assert e["errorCode"] == "AccessDeniedException"
    assert len(e["errorMessage"]) == 1024
    assert e["responseElements"] is None


def test_optional_members_absent_and_unknown_identity() -> None:
    e = event(user_identity=None, recipient_account_id=None, request_parameters=None)
    for name in ("apiVersion", "recipientAccountId", "tlsDetails", "vpcEndpointId"):
        assert name not in e
    assert e["userIdentity"] == {"type": "Unknown"}
    assert e["requestParameters"] is None


def test_read_only_calls_have_no_response_elements() -> None:
    assert event(read_only=True, response_elements={"a": 1})["responseElements"] is None


def test_naive_event_time_is_refused() -> None:
    with pytest.raises(ValueError):
        event(event_time=datetime(2026, 12, 3))


def test_user_agent_truncated_to_1kb_on_a_character_boundary() -> None:
    assert len(event(user_agent="a" * 3000)["userAgent"]) == 1024
    ua = event(user_agent="a" + "é" * 1000)["userAgent"]  # 2-byte characters, odd offset
    assert len(ua.encode()) == 1023 and ua.endswith("é")


def test_oversized_parameters_are_omitted() -> None:
    e = event(request_parameters={"big": "x" * (100 * 1024)})
    assert e["requestParameters"]["omitted"] is True
    assert e["requestParameters"]["originalSize"] > 100 * 1024
    small = event(request_parameters={"big": "x" * 1000})
    assert small["requestParameters"] == {"big": "x" * 1000}


def test_redact_by_name_case_insensitive_and_nested() -> None:
    params = {
        "UserName": "alice",
        "secretAccessKey": SECRET,
        "Nested": {"Password": "p", "list": [{"SessionToken": "t"}, "plain", {"ok": 1}]},
        "X-Amz-Signature": "abc",
        "authorization": "AWS4-HMAC-SHA256 ...",
        "Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": SECRET},
        "OldPassword": "o",
        "NewPassword": "n",
        "PrivateKey": "k",
        "Signature": "s",
        "X-Amz-Security-Token": "tok",
    }
    out = redact(params)
    assert out["UserName"] == "alice"
    assert out["Nested"]["list"][1:] == ["plain", {"ok": 1}]
    for key in ("secretAccessKey", "X-Amz-Signature", "authorization", "Credentials"):
        assert out[key] == HIDDEN
    assert out["Nested"]["Password"] == HIDDEN
    assert out["Nested"]["list"][0] == {"SessionToken": HIDDEN}
    assert params["secretAccessKey"] == SECRET  # the input is not modified


def test_secrets_never_reach_a_record() -> None:
    secrets = {"SecretAccessKey": SECRET, "SessionToken": "FQoGZXIvYXdzEXAMPLETOKEN"}
    e = event(
        read_only=False,
        request_parameters={"Deep": [secrets]},
        response_elements={"AccessKey": {"AccessKeyId": "AKIA1", **secrets}},
        additional_event_data={"Credentials": secrets},
        user_identity={"type": "IAMUser", "SessionToken": "FQoGZXIvYXdzEXAMPLETOKEN"},
    )
    line, _ = link(GENESIS, 1, e)
    for value in secrets.values():
        assert value not in line
    assert e["responseElements"]["AccessKey"]["AccessKeyId"] == "AKIA1"


# --- the chain ------------------------------------------------------------------------------------


def test_link_is_canonical_and_hash_follows_the_formula() -> None:
    e = event(user_agent="ünïcode")
    line, h = link(GENESIS, 1, e)
    expected = canonical_json(
        {"record": e, "chain": {"sequence": 1, "previousHash": GENESIS, "hash": h}}
    )
    assert line == expected
    assert "ünïcode" in line  # ensure_ascii=False
    assert h == hashlib.sha256(f"{GENESIS}\n1\n{canonical_json(e)}".encode()).hexdigest()
    with pytest.raises(ValueError):
        link("not-a-hash", 1, e)
    with pytest.raises(ValueError):
        link(GENESIS, 0, e)
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def chain(n: int) -> tuple[list[tuple[str, int, str]], tuple[int, str]]:
    lines, prev = [], GENESIS
    for i in range(1, n + 1):
        line, prev = link(prev, i, event(i))
        lines.append(("f.jsonl", i, line))
    return lines, (n, prev)


def test_verify_lines_ok_and_empty() -> None:
    lines, head = chain(5)
    assert verify_lines(lines, head) == verify_lines(lines, None)
    assert verify_lines(lines, head).ok and verify_lines(lines, head).records == 5
    assert verify_lines([], None).ok
    assert verify_lines([], (0, GENESIS)).ok
    missing = verify_lines([], (3, "ab" * 32))
    assert (missing.ok, missing.first_bad) == (False, "head")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("garbage", "unparseable"),
        ("[]", "not a chained"),
        ('{"chain":{},"record":{}}', "malformed"),
        ('{"chain":{"hash":"x","previousHash":"y","sequence":true},"record":{}}', "malformed"),
    ],
)
def test_verify_lines_rejects_malformed(text: str, reason: str) -> None:
    lines, _ = chain(3)
    lines[1] = ("f.jsonl", 2, text)
    result = verify_lines(lines, None)
    assert not result.ok and result.first_bad == "f.jsonl:2" and reason in (result.reason or "")
    assert result.records == 1


def test_verify_lines_rejects_non_canonical_whitespace() -> None:
    lines, _ = chain(2)
    lines[0] = ("f.jsonl", 1, lines[0][2].replace(":", ": ", 1))
    result = verify_lines(lines, None)
    assert (result.ok, result.first_bad) == (False, "f.jsonl:1")
    assert "canonical" in (result.reason or "")


# --- the log on disk ------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def write_log(directory: Path, n: int = 6) -> AuditLog:
    """``n`` records: the first half dated T0 (Dec 3), the rest the next day."""
    audit = AuditLog(directory, Clock(T0))
    for i in range(1, n + 1):
        audit.append(event(i, T0 + timedelta(seconds=0 if i <= n // 2 else 5)))
    audit.flush()
    return audit


def file_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_files_modes_and_layout(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    write_log(directory).close()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["2026-12-03.jsonl", "2026-12-04.jsonl", HEAD_FILE]
    for name in names:
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    head = json.loads((directory / HEAD_FILE).read_text())
    assert head["sequence"] == 6 and head["file"] == "2026-12-04.jsonl"
    assert len(file_lines(directory / "2026-12-03.jsonl")) == 3
    result = verify_directory(directory)
    assert result.ok and result.records == 6


def test_append_does_no_io_until_flush(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path, Clock(T0))
    audit.append(event(1))
    assert list(tmp_path.iterdir()) == []
    assert audit.head[0] == 1
    audit.flush()
    audit.flush()  # nothing queued: no-op
    assert verify_directory(tmp_path).records == 1


def test_files_never_go_back_a_day(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path, Clock(T0))
    audit.append(event(1, T0 + timedelta(seconds=5)))  # Dec 4
    audit.append(event(2, T0))  # finished earlier, appended later: stays in Dec 4's file
    audit.close()
    assert [p.name for p in sorted(tmp_path.glob("*.jsonl"))] == ["2026-12-04.jsonl"]
    assert verify_directory(tmp_path).ok


def test_resume_from_head(tmp_path: Path) -> None:
    write_log(tmp_path, 4).close()
    audit = AuditLog(tmp_path, Clock(T0))
    assert audit.head[0] == 4
    audit.append(event(5, T0 + timedelta(seconds=9)))
    audit.close()
    assert verify_directory(tmp_path).records == 5
    with pytest.raises(AuditLogError):
        audit.append(event(6))


def test_resume_without_head_scans_the_last_line(tmp_path: Path) -> None:
    write_log(tmp_path, 4).close()
    (tmp_path / HEAD_FILE).unlink()
    assert verify_directory(tmp_path).first_bad == HEAD_FILE
    assert verify_directory(tmp_path, require_head=False).ok
    audit = AuditLog(tmp_path, Clock(T0))  # rewrites the head from the last record
    assert audit.head[0] == 4
    audit.append(event(5, T0 + timedelta(seconds=9)))
    audit.close()
    assert verify_directory(tmp_path).records == 5


def test_resume_after_crash_between_lines_and_head(tmp_path: Path) -> None:
    write_log(tmp_path, 2).close()
    stale = (tmp_path / HEAD_FILE).read_bytes()
    audit = AuditLog(tmp_path, Clock(T0))
    audit.append(event(3, T0 + timedelta(seconds=9)))
    audit.flush()
    (tmp_path / HEAD_FILE).write_bytes(stale)  # as if the head replace never happened
    assert not verify_directory(tmp_path).ok
    resumed = AuditLog(tmp_path, Clock(T0))
    assert resumed.head[0] == 3
    resumed.append(event(4, T0 + timedelta(seconds=9)))
    resumed.close()
    assert verify_directory(tmp_path).records == 4


@pytest.mark.parametrize("keep_record", [True, False])
def test_resume_repairs_a_torn_last_line(tmp_path: Path, keep_record: bool) -> None:
    write_log(tmp_path, 4).close()
    # A crash mid-flush: the head (written after the lines) was never updated.
    (tmp_path / HEAD_FILE).unlink()
    path = tmp_path / "2026-12-04.jsonl"
    text = path.read_bytes()
    path.write_bytes(text[:-1] if keep_record else text[:-40])
    audit = AuditLog(tmp_path, Clock(T0))
    assert audit.head[0] == (4 if keep_record else 3)
    assert path.read_bytes().endswith(b"\n")
    audit.append(event(9, T0 + timedelta(seconds=9)))
    audit.close()
    result = verify_directory(tmp_path)
    assert result.ok, result
    assert result.records == (5 if keep_record else 4)


def test_resume_after_truncation_keeps_the_gap_visible(tmp_path: Path) -> None:
    write_log(tmp_path, 4).close()
    path = tmp_path / "2026-12-04.jsonl"
    path.write_text("".join(file_lines(path)[:-1]))  # record 4 removed, head still says 4
    audit = AuditLog(tmp_path, Clock(T0))
    assert audit.head[0] == 4
    audit.append(event(5, T0 + timedelta(seconds=9)))
    audit.close()
    result = verify_directory(tmp_path)
    assert (result.ok, result.first_bad) == (False, "2026-12-04.jsonl:2")


def test_torn_only_line_is_cut(tmp_path: Path) -> None:
    (tmp_path / "2026-12-03.jsonl").write_text('{"chain":')
    audit = AuditLog(tmp_path, Clock(T0))
    assert audit.head == (0, GENESIS)
    assert (tmp_path / "2026-12-03.jsonl").read_bytes() == b""
    audit.append(event(1))
    audit.close()
    assert verify_directory(tmp_path).records == 1


def test_unreadable_tail_without_head_refuses_to_resume(tmp_path: Path) -> None:
    write_log(tmp_path, 2).close()
    (tmp_path / HEAD_FILE).unlink()
    with (tmp_path / "2026-12-04.jsonl").open("a") as f:
        f.write("garbage\n")
    with pytest.raises(AuditLogError):
        AuditLog(tmp_path, Clock(T0))


def test_corrupt_head(tmp_path: Path) -> None:
    write_log(tmp_path, 2).close()
    (tmp_path / HEAD_FILE).write_text("{nope")
    assert verify_directory(tmp_path).first_bad == HEAD_FILE
    with pytest.raises(AuditLogError):
        AuditLog(tmp_path, Clock(T0))


def test_threads(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path, Clock(T0), max_pending=50)

    def worker(k: int) -> None:
        for i in range(100):
            audit.append(event(k * 1000 + i))
            if i % 25 == 0:
                audit.flush()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    audit.close()
    result = verify_directory(tmp_path)
    assert result.ok and result.records == 800


# --- tampering trials -----------------------------------------------------------------------------

DAY1, DAY2 = "2026-12-03.jsonl", "2026-12-04.jsonl"


def rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines), encoding="utf-8")


def edit_field(d: Path) -> None:
    lines = file_lines(d / DAY1)
    lines[1] = lines[1].replace('"evt-2"', '"evt-X"')
    rewrite(d / DAY1, lines)


def delete_middle(d: Path) -> None:
    lines = file_lines(d / DAY1)
    rewrite(d / DAY1, lines[:1] + lines[2:])


def delete_last(d: Path) -> None:
    rewrite(d / DAY2, file_lines(d / DAY2)[:-1])


def reorder(d: Path) -> None:
    lines = file_lines(d / DAY2)
    rewrite(d / DAY2, [lines[1], lines[0], lines[2]])


def swap_files(d: Path) -> None:
    one, two = (d / DAY1).read_bytes(), (d / DAY2).read_bytes()
    (d / DAY1).write_bytes(two)
    (d / DAY2).write_bytes(one)


def garbage(d: Path) -> None:
    lines = file_lines(d / DAY2)
    rewrite(d / DAY2, [*lines[:1], "{not json\n", *lines[1:]])


def delete_file(d: Path) -> None:
    (d / DAY2).unlink()


def delete_first_file(d: Path) -> None:
    (d / DAY1).unlink()


def reforge_hash(d: Path) -> None:
    # Edit a record and recompute its own hash: the next record's previousHash no longer matches.
    lines = file_lines(d / DAY1)
    doc = json.loads(lines[0])
    doc["record"]["eventName"] = "DeleteService"
    line, _h = link(GENESIS, 1, doc["record"])
    rewrite(d / DAY1, [line + "\n", *lines[1:]])


@pytest.mark.parametrize(
    ("tamper", "first_bad", "reason"),
    [
        (edit_field, f"{DAY1}:2", "hash mismatch"),
        (delete_middle, f"{DAY1}:2", "sequence"),
        (delete_last, f"{DAY2}:3", "truncated"),
        (reorder, f"{DAY2}:1", "sequence"),
        (swap_files, f"{DAY1}:1", "sequence"),
        (garbage, f"{DAY2}:2", "unparseable"),
        (delete_file, f"{DAY1}:4", "truncated"),
        (delete_first_file, f"{DAY2}:1", "sequence"),
        (reforge_hash, f"{DAY1}:2", "previousHash"),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_tampering_is_detected(tmp_path: Path, tamper: Any, first_bad: str, reason: str) -> None:
    write_log(tmp_path, 6).close()
    assert verify_directory(tmp_path).ok
    tamper(tmp_path)
    result = verify_directory(tmp_path)
    assert not result.ok
    assert result.first_bad == first_bad
    assert reason in (result.reason or "")


def test_resume_reads_back_over_long_records(tmp_path: Path) -> None:
    # A record larger than the 64 KiB tail-read chunk.
    audit = AuditLog(tmp_path, Clock(T0))
    audit.append(event(1))
    audit.append(event(2, request_parameters={"big": "x" * 90_000}))
    audit.close()
    (tmp_path / HEAD_FILE).unlink()
    resumed = AuditLog(tmp_path, Clock(T0))
    assert resumed.head[0] == 2
    resumed.close()
    assert verify_directory(tmp_path).records == 2


def test_append_flushes_when_the_queue_is_full(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path, Clock(T0), max_pending=3)
    for i in range(3):
        audit.append(event(i))
    assert verify_directory(tmp_path).records == 3


def test_failed_write_requeues_the_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audit = AuditLog(tmp_path, Clock(T0))
    audit.append(event(1))
    real_write = os.write

    def full_disk(fd: int, data: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space"):
        audit.flush()
    monkeypatch.setattr(os, "write", real_write)
    audit.append(event(2))
    audit.close()
    result = verify_directory(tmp_path)
    assert result.ok and result.records == 2


def test_failed_fsync_does_not_duplicate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audit = AuditLog(tmp_path, Clock(T0), fsync=True)
    audit.append(event(1))
    real_fsync = os.fsync

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="Input/output"):
        audit.flush()
    monkeypatch.setattr(os, "fsync", real_fsync)
    audit.append(event(2))
    audit.close()
    result = verify_directory(tmp_path)
    assert result.ok and result.records == 2
