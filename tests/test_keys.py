"""hadron.keys: identifier formats, sealing, rotation and the key-ring file format."""

from __future__ import annotations

import ast
import base64
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from hadron import keys
from hadron.keys import (
    MasterKey,
    MasterKeyRing,
    SealError,
    dump_ring,
    generate_access_key_id,
    generate_secret_access_key,
    generate_unique_id,
    load_ring,
    new_ring,
    open_sealed,
    rotate,
    seal,
)


def counter_rng(start: int = 0) -> Callable[[int], bytes]:
    state = [start]

    def rng(n: int) -> bytes:
        out = bytes((state[0] + i) % 256 for i in range(n))
        state[0] += n
        return out

    return rng


def test_access_key_id_format() -> None:
    for _ in range(50):
        assert re.fullmatch(r"AKIA[A-Z2-7]{16}", generate_access_key_id())
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", generate_access_key_id("ASIA"))


def test_ids_are_deterministic_given_the_rng() -> None:
    assert generate_access_key_id(rng=counter_rng()) == generate_access_key_id(rng=counter_rng())
    # byte & 31 over 0..15 → the first 16 letters of the alphabet.
    assert generate_access_key_id(rng=counter_rng()) == "AKIA" + "ABCDEFGHIJKLMNOP"


def test_secret_access_key_format() -> None:
    for _ in range(50):
        secret = generate_secret_access_key()
        assert re.fullmatch(r"[A-Za-z0-9+/]{40}", secret)
        assert len(base64.b64decode(secret)) == 30


def test_unique_id_format() -> None:
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", generate_unique_id("AIDA"))
    assert re.fullmatch(r"AROA[A-Z2-7]{17}", generate_unique_id("AROA"))
    assert len(generate_unique_id("AIDA")) == 21


def test_short_rng_output_is_rejected() -> None:
    with pytest.raises(ValueError, match="rng returned"):
        generate_secret_access_key(rng=lambda n: b"\x00" * (n - 1))


def test_seal_round_trip() -> None:
    ring = new_ring()
    envelope = seal(ring, b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", aad=b"AKIAEXAMPLE")
    assert b"wJalrXUtnFEMI" not in envelope
    assert open_sealed(ring, envelope, aad=b"AKIAEXAMPLE") == (
        b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    assert envelope[0] == 1
    assert envelope[2 : 2 + envelope[1]] == b"k1"


def test_seal_uses_fresh_nonces() -> None:
    ring = new_ring()
    assert seal(ring, b"x", aad=b"a") != seal(ring, b"x", aad=b"a")


def test_explicit_nonce_gives_a_reproducible_vector() -> None:
    ring = MasterKeyRing((MasterKey("k1", bytes(32)),), "k1")
    nonce = bytes(range(12))
    first = seal(ring, b"secret", aad=b"row", nonce=nonce)
    assert first == seal(ring, b"secret", aad=b"row", nonce=nonce)
    assert first[4:16] == nonce
    assert len(first) == 1 + 1 + 2 + 12 + len(b"secret") + 16
    with pytest.raises(ValueError):
        seal(ring, b"secret", aad=b"row", nonce=b"short")


def test_every_byte_flip_fails() -> None:
    ring = new_ring()
    envelope = seal(ring, b"a secret of forty characters, roughly..", aad=b"AKIA1")
    for i in range(len(envelope)):
        for mask in (0x01, 0x80):
            tampered = bytearray(envelope)
            tampered[i] ^= mask
            with pytest.raises(SealError):
                open_sealed(ring, bytes(tampered), aad=b"AKIA1")


def test_truncation_and_extension_fail() -> None:
    ring = new_ring()
    envelope = seal(ring, b"secret", aad=b"a")
    for n in range(len(envelope)):
        with pytest.raises(SealError):
            open_sealed(ring, envelope[:n], aad=b"a")
    with pytest.raises(SealError):
        open_sealed(ring, envelope + b"\x00", aad=b"a")


def test_wrong_aad_fails() -> None:
    ring = new_ring()
    envelope = seal(ring, b"secret", aad=b"AKIAAAAAAAAAAAAAAAAA")
    with pytest.raises(SealError):
        open_sealed(ring, envelope, aad=b"AKIABBBBBBBBBBBBBBBB")
    with pytest.raises(SealError):
        open_sealed(ring, envelope, aad=b"")


def test_unknown_key_or_other_ring_fails() -> None:
    envelope = seal(new_ring(), b"secret", aad=b"a")
    with pytest.raises(SealError):
        open_sealed(new_ring(), envelope, aad=b"a")  # same id "k1", different material
    other = MasterKeyRing((MasterKey("zz", bytes(32)),), "zz")
    with pytest.raises(SealError):
        open_sealed(other, envelope, aad=b"a")


def test_seal_error_says_nothing() -> None:
    ring = new_ring()
    envelope = seal(ring, b"secret", aad=b"a")
    messages = set()
    for bad in (b"", b"\x02" + envelope[1:], envelope[:-1] + bytes([envelope[-1] ^ 0x01])):
        with pytest.raises(SealError) as info:
            open_sealed(ring, bad, aad=b"a")
        messages.add(str(info.value))
    with pytest.raises(SealError) as info:
        open_sealed(ring, envelope, aad=b"b")
    messages.add(str(info.value))
    assert messages == {"sealed value could not be opened"}


def test_rotation_keeps_old_envelopes_readable() -> None:
    ring1 = new_ring()
    old = seal(ring1, b"old", aad=b"a")
    ring2 = rotate(ring1)
    assert ring2.active_id == "k2"
    assert [k.key_id for k in ring2.keys] == ["k1", "k2"]
    new = seal(ring2, b"new", aad=b"a")
    assert new[2 : 2 + new[1]] == b"k2"
    assert open_sealed(ring2, old, aad=b"a") == b"old"
    assert open_sealed(ring2, new, aad=b"a") == b"new"
    with pytest.raises(SealError):
        open_sealed(ring1, new, aad=b"a")  # the old ring does not know k2
    assert rotate(ring2).active_id == "k3"


def test_ring_dump_load_round_trip() -> None:
    ring = rotate(new_ring())
    loaded = load_ring(dump_ring(ring))
    assert loaded == ring
    envelope = seal(ring, b"x", aad=b"a")
    assert open_sealed(loaded, envelope, aad=b"a") == b"x"


def test_key_material_is_not_in_repr() -> None:
    ring = new_ring()
    assert base64.b64encode(ring.active.material).decode() not in repr(ring)
    assert repr(ring.active.material) not in repr(ring)


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff",
        b"[]",
        b'{"version": 2, "active": "k1", "keys": []}',
        b'{"version": 1, "active": 1, "keys": []}',
        b'{"version": 1, "active": "k1", "keys": ["x"]}',
        b'{"version": 1, "active": "k1", "keys": [{"id": "k1"}]}',
        b'{"version": 1, "active": "k1", "keys": [{"id": "k1", "key": "!!"}]}',
        b'{"version": 1, "active": "k1", "keys": [{"id": "k1", "key": "AAAA"}]}',
        b'{"version": 1, "active": "k2", "keys": []}',
    ],
    ids=[
        "garbage",
        "not-utf8",
        "not-object",
        "version",
        "active-type",
        "key-entry",
        "key-missing",
        "key-not-base64",
        "key-short",
        "empty",
    ],
)
def test_load_ring_rejects_malformed(data: bytes) -> None:
    with pytest.raises(ValueError):
        load_ring(data)


def test_ring_invariants() -> None:
    key = MasterKey("k1", bytes(32))
    with pytest.raises(ValueError):
        MasterKeyRing((), "k1")
    with pytest.raises(ValueError):
        MasterKeyRing((key, key), "k1")
    with pytest.raises(ValueError):
        MasterKeyRing((key,), "k2")
    with pytest.raises(ValueError):
        MasterKey("bad id", bytes(32))
    with pytest.raises(ValueError):
        MasterKey("k1", bytes(16))
    assert MasterKeyRing((key,), "k1").get("nope") is None


def test_keys_module_imports_no_io() -> None:
    tree = ast.parse(Path(keys.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"sqlite3", "sqlalchemy", "asyncio", "socket", "pathlib", "io"}
    assert "hadron" not in imported or all(
        not isinstance(n, ast.ImportFrom) or not (n.module or "").startswith("hadron.store")
        for n in ast.walk(tree)
    )
