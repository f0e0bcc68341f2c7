"""Session tokens: sealed, self-contained, bound to their ASIA key id (hadron.session)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hadron.keys import new_ring, rotate
from hadron.session import (
    InvalidSessionToken,
    Session,
    SessionKind,
    account_of_temporary_key,
    envelope_key_id,
    new_temporary_key_id,
    open_token,
    seal_token,
    temporary_credentials,
)

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
RING = new_ring()


def _session(**overrides: object) -> Session:
    akid, secret, sid = temporary_credentials(ACCOUNT)
    values: dict[str, object] = {
        "kind": SessionKind.ASSUMED_ROLE,
        "access_key_id": akid,
        "secret_access_key": secret,
        "session_id": sid,
        "account_id": ACCOUNT,
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/alice",
        "user_id": "AROAEXAMPLEEXAMPLE123:alice",
        "source_arn": f"arn:aws:iam::{ACCOUNT}:role/ops/deploy",
        "source_name": "deploy",
        "source_id": "AROAEXAMPLEEXAMPLE123",
        "issued_at": NOW,
        "expires_at": NOW + timedelta(hours=1),
        "session_name": "alice",
        "policy": '{"Version":"2012-10-17","Statement":[]}',
        "policy_arns": (f"arn:aws:iam::{ACCOUNT}:policy/narrow",),
        "tags": (("Team", "blue"), ("Project", "x")),
        "transitive_tag_keys": ("Team",),
        "source_identity": "alice@example.com",
        "chained": True,
    }
    values.update(overrides)
    return Session(**values)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field() -> None:
    session = _session()
    token = seal_token(RING, session)
    assert open_token(RING, token, session.access_key_id) == session
    assert session.transitive_tags == (("Team", "blue"),)
    assert session.secret_access_key not in repr(session)


def test_minimal_user_session_round_trips() -> None:
    session = _session(
        kind=SessionKind.USER,
        arn=f"arn:aws:iam::{ACCOUNT}:user/bob",
        user_id="AIDAEXAMPLEEXAMPLE123",
        session_name=None,
        policy=None,
        policy_arns=(),
        tags=(),
        transitive_tag_keys=(),
        source_identity=None,
        chained=False,
    )
    assert open_token(RING, seal_token(RING, session), session.access_key_id) == session


def test_token_is_bound_to_its_access_key_id() -> None:
    session = _session()
    token = seal_token(RING, session)
    other, _secret, _sid = temporary_credentials(ACCOUNT)
    with pytest.raises(InvalidSessionToken):
        open_token(RING, token, other)


def test_foreign_ring_and_garbage_fail_alike() -> None:
    session = _session()
    token = seal_token(RING, session)
    for bad in (
        token[:-8],
        token + "AAAA",
        "not base64!",
        "",
        base64.b64encode(b"x" * 80).decode(),
    ):
        with pytest.raises(InvalidSessionToken) as info:
            open_token(RING, bad, session.access_key_id)
        assert str(info.value) == "invalid session token"
    with pytest.raises(InvalidSessionToken):
        open_token(new_ring(), token, session.access_key_id)


def test_rotation_keeps_old_tokens_valid_and_seals_under_the_new_key() -> None:
    old = _session()
    old_token = seal_token(RING, old)
    rotated = rotate(RING)
    assert open_token(rotated, old_token, old.access_key_id) == old
    new = _session()
    new_token = seal_token(rotated, new)
    assert envelope_key_id(new_token) == rotated.active_id != envelope_key_id(old_token)
    with pytest.raises(InvalidSessionToken):  # the old ring lacks the new key
        open_token(RING, new_token, new.access_key_id)


def test_expiry_is_exclusive() -> None:
    session = _session(expires_at=NOW + timedelta(seconds=900))
    assert not session.expired(NOW + timedelta(seconds=899))
    assert session.expired(NOW + timedelta(seconds=900))


def test_session_values_are_validated() -> None:
    with pytest.raises(ValueError, match="ASIA"):
        _session(access_key_id="AKIAIOSFODNN7EXAMPLE")
    with pytest.raises(ValueError, match="expire after"):
        _session(expires_at=NOW)
    with pytest.raises(ValueError, match="timezone"):
        _session(issued_at=NOW.replace(tzinfo=None))


@given(st.integers(min_value=0, max_value=10**12 - 1), st.binary(min_size=8, max_size=8))
def test_temporary_key_ids_encode_their_account(number: int, seed: bytes) -> None:
    account = f"{number:012d}"
    akid = new_temporary_key_id(account, rng=lambda n: seed[:n])
    assert len(akid) == 20 and akid.startswith("ASIA")
    assert account_of_temporary_key(akid) == account


def test_account_of_other_key_ids() -> None:
    assert account_of_temporary_key("AKIAIOSFODNN7EXAMPLE") is None
    assert account_of_temporary_key("ASIA") is None
    assert account_of_temporary_key("ASIA" + "1" * 16) is None  # not base32
    with pytest.raises(ValueError):
        new_temporary_key_id("12345")


_AKID = _session().access_key_id


@settings(max_examples=200)
@given(st.data())
def test_any_byte_change_fails(data: st.DataObject) -> None:
    session = _session()
    raw = bytearray(base64.b64decode(seal_token(RING, session)))
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    raw[index] ^= flip
    with pytest.raises(InvalidSessionToken):
        open_token(RING, base64.b64encode(bytes(raw)).decode(), session.access_key_id)


@given(st.text(max_size=300))
def test_arbitrary_text_never_opens(text: str) -> None:
    with pytest.raises(InvalidSessionToken):
        open_token(RING, text, _AKID)
