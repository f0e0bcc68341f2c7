"""Credential identifiers, secrets, and the master-key ring that seals secrets at rest.

Layer 4 (pure core): no file, socket or database I/O. Randomness is an input (an ``rng`` callable
returning ``n`` bytes, ``os.urandom`` by default) so tests can pass a deterministic source
(STYLE.md §9). Reading and writing the key file is the edge's job (``hadron.store.masterkey``).

Spec: security.md §2.1.

* Access key ids: a 4-letter prefix (``AKIA`` long-term, ``ASIA`` temporary) + 16 characters from
  the base32 alphabet ``A-Z2-7``. Other unique ids (``AIDA`` users, ``AROA`` roles, ...) use 17.
* Secret access keys: 30 random bytes, base64-encoded (40 characters from ``[A-Za-z0-9+/]``).
* Secrets are stored sealed (AES-256-GCM) under a :class:`MasterKeyRing`. SigV4 needs the plaintext
  secret to verify, so hashing is not an option (§2.1); sealing limits the damage of a leaked
  database file to nothing, as long as the key file does not leak with it.

Envelope format (all integers unsigned)::

    version (1 byte, 0x01) | key-id length (1 byte) | key id (ASCII) | nonce (12 bytes) | ct+tag

The AES-GCM associated data is the header (version, key-id length, key id) followed by the
caller's ``aad``: the header cannot be altered, and an envelope moved to another row (whose
``aad`` differs) does not open. Every failure raises the same :class:`SealError` with the same
message, so nothing distinguishes a wrong key from a forged tag (cryptography's ``InvalidToken``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "BASE32_ALPHABET",
    "RNG",
    "MasterKey",
    "MasterKeyRing",
    "SealError",
    "dump_ring",
    "generate_access_key_id",
    "generate_secret_access_key",
    "generate_unique_id",
    "load_ring",
    "new_ring",
    "open_sealed",
    "rotate",
    "seal",
]

RNG = Callable[[int], bytes]
"""A source of random bytes: ``rng(n)`` returns exactly ``n`` bytes (``os.urandom``)."""

BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
ENVELOPE_VERSION = 1
RING_FORMAT_VERSION = 1

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class SealError(Exception):
    """A sealed value could not be opened. Deliberately carries no detail."""

    def __init__(self) -> None:
        super().__init__("sealed value could not be opened")


def _random_bytes(rng: RNG, n: int) -> bytes:
    data = rng(n)
    if len(data) != n:
        raise ValueError(f"rng returned {len(data)} bytes, expected {n}")
    return data


def _random_base32(n: int, rng: RNG) -> str:
    # INVARIANT: 256 is a multiple of 32, so ``byte & 31`` is uniform over the alphabet.
    return "".join(BASE32_ALPHABET[b & 31] for b in _random_bytes(rng, n))


def generate_access_key_id(prefix: str = "AKIA", rng: RNG = os.urandom) -> str:
    """``prefix`` + 16 random base32 characters (``AKIAIOSFODNN7EXAMPLE`` shape)."""
    return prefix + _random_base32(16, rng)


def generate_secret_access_key(rng: RNG = os.urandom) -> str:
    """40 characters: 30 random bytes, standard base64 (no padding is needed for 30 bytes)."""
    return base64.b64encode(_random_bytes(rng, 30)).decode("ascii")


def generate_unique_id(prefix: str, rng: RNG = os.urandom) -> str:
    """An IAM unique id: ``prefix`` (``AIDA``, ``AROA``, ...) + 17 base32 characters (21 total)."""
    return prefix + _random_base32(17, rng)


# --- the master-key ring --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MasterKey:
    """One AES-256 key and its short identifier (written into every envelope it seals)."""

    key_id: str
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise ValueError("key id must be 1-32 characters from [A-Za-z0-9_-]")
        if len(self.material) != KEY_BYTES:
            raise ValueError(f"master key must be {KEY_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class MasterKeyRing:
    """All master keys still able to open envelopes; ``active_id`` names the one that seals."""

    keys: tuple[MasterKey, ...]
    active_id: str

    def __post_init__(self) -> None:
        ids = [k.key_id for k in self.keys]
        if not ids:
            raise ValueError("a key ring needs at least one key")
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate key id in key ring")
        if self.active_id not in ids:
            raise ValueError("the active key id is not in the ring")

    @property
    def active(self) -> MasterKey:
        for key in self.keys:
            if key.key_id == self.active_id:
                return key
        raise AssertionError("unreachable: validated in __post_init__")  # pragma: no cover

    def get(self, key_id: str) -> MasterKey | None:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        return None


def _next_key_id(existing: set[str]) -> str:
    n = len(existing) + 1
    while f"k{n}" in existing:
        n += 1
    return f"k{n}"


def new_ring(rng: RNG = os.urandom) -> MasterKeyRing:
    """A ring with one fresh random key, ``k1``."""
    key = MasterKey("k1", _random_bytes(rng, KEY_BYTES))
    return MasterKeyRing((key,), key.key_id)


def rotate(ring: MasterKeyRing, rng: RNG = os.urandom) -> MasterKeyRing:
    """A new ring with one more key, which becomes active; older keys stay to open old envelopes."""
    key = MasterKey(_next_key_id({k.key_id for k in ring.keys}), _random_bytes(rng, KEY_BYTES))
    return MasterKeyRing((*ring.keys, key), key.key_id)


# --- sealing --------------------------------------------------------------------------------------


def _header(key_id: str) -> bytes:
    kid = key_id.encode("ascii")
    return bytes((ENVELOPE_VERSION, len(kid))) + kid


def seal(
    ring: MasterKeyRing,
    plaintext: bytes,
    *,
    aad: bytes,
    nonce: bytes | None = None,
    rng: RNG = os.urandom,
) -> bytes:
    """Encrypt ``plaintext`` under the ring's active key, bound to ``aad``.

    ``nonce`` exists for reproducible test vectors only: reusing a nonce under one key breaks
    AES-GCM completely. Leave it ``None`` and a fresh 96-bit nonce is drawn from ``rng``.
    """
    key = ring.active
    if nonce is None:
        nonce = _random_bytes(rng, NONCE_BYTES)
    elif len(nonce) != NONCE_BYTES:
        raise ValueError(f"nonce must be {NONCE_BYTES} bytes")
    header = _header(key.key_id)
    return header + nonce + AESGCM(key.material).encrypt(nonce, plaintext, header + aad)


def open_sealed(ring: MasterKeyRing, envelope: bytes, *, aad: bytes) -> bytes:
    """Decrypt an envelope from :func:`seal` with the same ``aad``, or raise ``SealError``."""
    if len(envelope) < 2 or envelope[0] != ENVELOPE_VERSION:
        raise SealError
    kid_end = 2 + envelope[1]
    body_start = kid_end + NONCE_BYTES
    if len(envelope) < body_start + TAG_BYTES:
        raise SealError
    try:
        key_id = envelope[2:kid_end].decode("ascii")
    except UnicodeDecodeError:
        raise SealError from None
    key = ring.get(key_id)
    if key is None:
        raise SealError
    header = envelope[:kid_end]
    nonce = envelope[kid_end:body_start]
    try:
        return AESGCM(key.material).decrypt(nonce, envelope[body_start:], header + aad)
    except InvalidTag:
        raise SealError from None


# --- key file serialization -----------------------------------------------------------------------


def dump_ring(ring: MasterKeyRing) -> bytes:
    """The ring as JSON bytes (keys base64-encoded), for the edge to write to a 0600 file."""
    doc = {
        "version": RING_FORMAT_VERSION,
        "active": ring.active_id,
        "keys": [
            {"id": k.key_id, "key": base64.b64encode(k.material).decode("ascii")} for k in ring.keys
        ],
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def load_ring(data: bytes) -> MasterKeyRing:
    """Parse :func:`dump_ring` output; raise ``ValueError`` naming what is wrong (never the key)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("key ring is not valid JSON") from exc
    if not isinstance(doc, dict) or doc.get("version") != RING_FORMAT_VERSION:
        raise ValueError(f"key ring must be an object with version {RING_FORMAT_VERSION}")
    active = doc.get("active")
    entries = doc.get("keys")
    if not isinstance(active, str) or not isinstance(entries, list):
        raise ValueError("key ring needs a string 'active' and a list 'keys'")
    keys: list[MasterKey] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"keys[{index}] is not an object")
        key_id, encoded = entry.get("id"), entry.get("key")
        if not isinstance(key_id, str) or not isinstance(encoded, str):
            raise ValueError(f"keys[{index}] needs string 'id' and 'key'")
        try:
            material = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"keys[{index}].key is not base64") from exc
        keys.append(MasterKey(key_id, material))
    return MasterKeyRing(tuple(keys), active)
