"""PROXY protocol version 2: parse (and build) the binary header a load balancer prepends.

Layer 4 (pure core): bytes in, a ``ProxyHeader`` out; every malformed input raises the one
``ProxyProtocolError``. Spec: haproxy's ``proxy-protocol.txt`` §2.2 and security.md §7.6: the
12-byte signature, version 2 with command ``LOCAL`` (0x20) or ``PROXY`` (0x21), TCP over IPv4
(0x11) or IPv6 (0x21) (``UNSPEC`` is accepted only with ``LOCAL``), a 2-byte big-endian length of
the rest, the address block, then TLVs (type, 2-byte length, value) filling the declared length
exactly. The AWS TLV (type 0xEA, first value byte subtype 0x01) carries the VPC endpoint id.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass

__all__ = [
    "HEADER_PREFIX_LENGTH",
    "MAX_HEADER_LENGTH",
    "SIGNATURE",
    "ProxyHeader",
    "ProxyProtocolError",
    "build_header",
    "declared_length",
    "parse_header",
]

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
HEADER_PREFIX_LENGTH = 16  # signature, version/command, family/protocol, length
MAX_HEADER_LENGTH = HEADER_PREFIX_LENGTH + 0xFFFF
PP2_TYPE_AWS = 0xEA
PP2_SUBTYPE_AWS_VPCE_ID = 0x01
_LOCAL, _PROXY = 0x20, 0x21
_TCP4, _TCP6, _UNSPEC = 0x11, 0x21, 0x00
_ADDRESS_LENGTH = {_TCP4: 12, _TCP6: 36, _UNSPEC: 0}
_VPCE_ID = re.compile(r"vpce-[0-9a-f]{8,17}")


class ProxyProtocolError(ValueError):
    """The bytes are not one well-formed PROXY v2 header."""


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A parsed header. ``local`` headers (health checks) carry no addresses."""

    local: bool
    source_ip: str | None = None
    source_port: int | None = None
    destination_ip: str | None = None
    destination_port: int | None = None
    tlvs: tuple[tuple[int, bytes], ...] = ()
    vpc_endpoint_id: str | None = None


def declared_length(prefix: bytes) -> int:
    """The whole header's length, from its first 16 bytes (checked as far as they go)."""
    if len(prefix) < HEADER_PREFIX_LENGTH:
        raise ProxyProtocolError("truncated PROXY header")
    if prefix[:12] != SIGNATURE:
        raise ProxyProtocolError("not a PROXY protocol v2 signature")
    if prefix[12] not in (_LOCAL, _PROXY):
        raise ProxyProtocolError(f"unsupported version/command byte 0x{prefix[12]:02x}")
    family = prefix[13]
    if family not in _ADDRESS_LENGTH or (family == _UNSPEC and prefix[12] != _LOCAL):
        raise ProxyProtocolError(f"unsupported address family/protocol byte 0x{family:02x}")
    length: int = struct.unpack("!H", prefix[14:16])[0]
    if length < _ADDRESS_LENGTH[family]:
        raise ProxyProtocolError("PROXY header length is shorter than its address block")
    return HEADER_PREFIX_LENGTH + length


def _tlvs(data: bytes) -> tuple[tuple[int, bytes], ...]:
    out: list[tuple[int, bytes]] = []
    at = 0
    while at < len(data):
        if len(data) - at < 3:
            raise ProxyProtocolError("truncated TLV")
        kind = data[at]
        size: int = struct.unpack("!H", data[at + 1 : at + 3])[0]
        value = data[at + 3 : at + 3 + size]
        if len(value) != size:
            raise ProxyProtocolError("TLV runs past the end of the header")
        out.append((kind, value))
        at += 3 + size
    return tuple(out)


def _endpoint_id(tlvs: tuple[tuple[int, bytes], ...]) -> str | None:
    found: str | None = None
    for kind, value in tlvs:
        if kind != PP2_TYPE_AWS or not value or value[0] != PP2_SUBTYPE_AWS_VPCE_ID:
            continue
        try:
            text = value[1:].decode("ascii")
        except UnicodeDecodeError as exc:
            raise ProxyProtocolError("the AWS VPC endpoint TLV is not ASCII") from exc
        if _VPCE_ID.fullmatch(text) is None:
            raise ProxyProtocolError("the AWS VPC endpoint TLV does not hold a vpce- id")
        if found is not None and found != text:
            raise ProxyProtocolError("two different VPC endpoint ids in one header")
        found = text
    return found


def parse_header(data: bytes) -> ProxyHeader:
    """Parse exactly one header; ``data`` must be the whole header and nothing more."""
    total = declared_length(data[:HEADER_PREFIX_LENGTH])
    if len(data) != total:
        raise ProxyProtocolError("PROXY header length does not match its declared length")
    family = data[13]
    block = data[HEADER_PREFIX_LENGTH : HEADER_PREFIX_LENGTH + _ADDRESS_LENGTH[family]]
    tlvs = _tlvs(data[HEADER_PREFIX_LENGTH + _ADDRESS_LENGTH[family] :])
    endpoint = _endpoint_id(tlvs)
    if data[12] == _LOCAL:
        return ProxyHeader(local=True, tlvs=tlvs, vpc_endpoint_id=endpoint)
    size = 4 if family == _TCP4 else 16
    source = ipaddress.ip_address(block[:size])
    destination = ipaddress.ip_address(block[size : 2 * size])
    sport, dport = struct.unpack("!HH", block[2 * size : 2 * size + 4])
    return ProxyHeader(
        local=False,
        source_ip=str(source),
        source_port=sport,
        destination_ip=str(destination),
        destination_port=dport,
        tlvs=tlvs,
        vpc_endpoint_id=endpoint,
    )


def build_header(
    source: tuple[str, int] | None,
    destination: tuple[str, int] | None = None,
    *,
    vpc_endpoint_id: str | None = None,
    extra_tlvs: tuple[tuple[int, bytes], ...] = (),
) -> bytes:
    """A header as an NLB sends it (``source=None``: a LOCAL health-check header)."""
    tlvs = list(extra_tlvs)
    if vpc_endpoint_id is not None:
        tlvs.append((PP2_TYPE_AWS, bytes([PP2_SUBTYPE_AWS_VPCE_ID]) + vpc_endpoint_id.encode()))
    tail = b"".join(bytes([k]) + struct.pack("!H", len(v)) + v for k, v in tlvs)
    if source is None:
        return SIGNATURE + bytes([_LOCAL, _UNSPEC]) + struct.pack("!H", len(tail)) + tail
    src = ipaddress.ip_address(source[0])
    unspecified = "0.0.0.0" if src.version == 4 else "::"  # noqa: S104
    dst = ipaddress.ip_address(destination[0] if destination else unspecified)
    family = _TCP4 if src.version == 4 else _TCP6
    block = (
        src.packed
        + dst.packed
        + struct.pack("!HH", source[1], destination[1] if destination else 0)
    )
    body = block + tail
    return SIGNATURE + bytes([_PROXY, family]) + struct.pack("!H", len(body)) + body
