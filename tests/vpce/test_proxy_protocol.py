"""The PROXY v2 parser: well-formed headers, each kind of malformation, and fuzzing (any bytes
give either a header or the one ProxyProtocolError)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hadron.proxy_protocol import (
    HEADER_PREFIX_LENGTH,
    SIGNATURE,
    ProxyHeader,
    ProxyProtocolError,
    build_header,
    declared_length,
    parse_header,
)

ENDPOINT = "vpce-08a979e28f97a9f7c"


def test_ipv4_header_with_the_aws_tlv() -> None:
    data = build_header(("10.1.2.3", 50000), ("10.0.0.9", 443), vpc_endpoint_id=ENDPOINT)
    assert declared_length(data[:HEADER_PREFIX_LENGTH]) == len(data)
    header = parse_header(data)
    assert header == ProxyHeader(
        local=False,
        source_ip="10.1.2.3",
        source_port=50000,
        destination_ip="10.0.0.9",
        destination_port=443,
        tlvs=((0xEA, b"\x01" + ENDPOINT.encode()),),
        vpc_endpoint_id=ENDPOINT,
    )


def test_ipv6_header_and_other_tlvs_are_kept() -> None:
    data = build_header(("2001:db8::1", 1), ("2001:db8::2", 2), extra_tlvs=((0x04, b"\x00"),))
    header = parse_header(data)
    assert (header.source_ip, header.destination_ip) == ("2001:db8::1", "2001:db8::2")
    assert header.tlvs == ((0x04, b"\x00"),)
    assert header.vpc_endpoint_id is None


def test_local_header_carries_no_address() -> None:
    header = parse_header(build_header(None))
    assert header.local and header.source_ip is None


def test_the_aws_tlv_with_another_subtype_is_not_an_endpoint() -> None:
    data = build_header(("10.1.2.3", 1), extra_tlvs=((0xEA, b"\x02abc"),))
    assert parse_header(data).vpc_endpoint_id is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GET / HTTP/1.1", "truncated"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n", "signature"),
        (b"\x16\x03\x01\x02\x00" + b"\x00" * 11, "signature"),
        (SIGNATURE + b"\x11\x11\x00\x0c" + b"\x00" * 12, "version/command"),
        (SIGNATURE + b"\x21\x12\x00\x0c" + b"\x00" * 12, "family"),
        (SIGNATURE + b"\x21\x00\x00\x00", "family"),
        (SIGNATURE + b"\x21\x11\x00\x04" + b"\x00" * 4, "shorter than its address"),
        (SIGNATURE + b"\x21\x11\x00\x0c" + b"\x00" * 11, "does not match"),
        (SIGNATURE + b"\x21\x11\x00\x0e" + b"\x00" * 14, "truncated TLV"),
        (SIGNATURE + b"\x21\x11\x00\x0f" + b"\x00" * 12 + b"\x05\x00\x09", "past the end"),
        (
            build_header(("10.0.0.1", 1), extra_tlvs=((0xEA, b"\x01not-an-id"),)),
            "does not hold a vpce- id",
        ),
        (
            build_header(("10.0.0.1", 1), extra_tlvs=((0xEA, b"\x01\xff\xfe"),)),
            "not ASCII",
        ),
        (
            build_header(
                ("10.0.0.1", 1),
                vpc_endpoint_id=ENDPOINT,
                extra_tlvs=((0xEA, b"\x01vpce-0123456789abcdef0"),),
            ),
            "two different",
        ),
    ],
)
def test_malformed_headers(data: bytes, reason: str) -> None:
    with pytest.raises(ProxyProtocolError, match=reason):
        parse_header(data)


def test_trailing_bytes_are_refused() -> None:
    with pytest.raises(ProxyProtocolError, match="does not match"):
        parse_header(build_header(("10.0.0.1", 1)) + b"\x16")


@given(st.binary(max_size=200))
def test_garbage_gives_a_header_or_the_one_error(data: bytes) -> None:
    try:
        parse_header(data)
    except ProxyProtocolError:
        pass


@given(
    st.sampled_from([0x20, 0x21]),
    st.sampled_from([0x00, 0x11, 0x21]),
    st.binary(max_size=120),
)
def test_garbage_after_a_valid_signature(command: int, family: int, rest: bytes) -> None:
    data = SIGNATURE + bytes([command, family]) + struct.pack("!H", len(rest)) + rest
    try:
        header = parse_header(data)
    except ProxyProtocolError:
        return
    assert header.local == (command == 0x20)


@given(
    st.ip_addresses(v=4).map(str),
    st.integers(0, 65535),
    st.none() | st.from_regex(r"vpce-[0-9a-f]{17}", fullmatch=True),
)
def test_round_trip(address: str, port: int, endpoint: str | None) -> None:
    header = parse_header(build_header((address, port), vpc_endpoint_id=endpoint))
    assert (header.source_ip, header.source_port, header.vpc_endpoint_id) == (
        address,
        port,
        endpoint,
    )
