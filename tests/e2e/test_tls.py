"""TLS posture, black-box: versions, forward-secret suites only, no plaintext, cert reload."""

from __future__ import annotations

import http.client
import shutil
import signal
import socket
import ssl
import subprocess
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hadron import pki
from tests.e2e.server import Server


def _client_context(
    server: Server, version: ssl.TLSVersion, ciphers: str | None = None
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(server.ca)
    with warnings.catch_warnings():  # the ssl module deprecates naming TLS 1.0/1.1 at all
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = version
        ctx.maximum_version = version
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    elif version < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def _handshake(server: Server, ctx: ssl.SSLContext) -> tuple[str | None, str]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            cipher = tls.cipher()
            assert cipher is not None
            assert tls.compression() is None
            return tls.version(), cipher[0]


@pytest.fixture(scope="module")
def legacy_server(tmp_path_factory: pytest.TempPathFactory) -> object:
    srv = Server(tmp_path_factory.mktemp("legacy") / "data", ("--tls-min-version", "1.0"))
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls12_and_tls13_accepted(server: Server, version: ssl.TLSVersion) -> None:
    negotiated, cipher = _handshake(server, _client_context(server, version))
    assert negotiated == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]
    if version == ssl.TLSVersion.TLSv1_2:
        assert cipher.startswith("ECDHE-")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls10_and_tls11_refused_by_default(server: Server, version: ssl.TLSVersion) -> None:
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        _handshake(server, _client_context(server, version))


@pytest.mark.parametrize(
    "ciphers",
    ["AES128-GCM-SHA256:AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-SHA", "DHE-RSA-AES128-SHA"],
    ids=["static-rsa", "ecdhe-cbc", "dhe-cbc"],
)
def test_non_pfs_or_non_aead_tls12_suites_refused(server: Server, ciphers: str) -> None:
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        _handshake(server, _client_context(server, ssl.TLSVersion.TLSv1_2, ciphers))


def test_min_version_10_allows_tls10_with_pfs_suites_only(legacy_server: Server) -> None:
    ctx = _client_context(legacy_server, ssl.TLSVersion.TLSv1, "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0")
    negotiated, cipher = _handshake(legacy_server, ctx)
    assert (negotiated, cipher) == ("TLSv1", "ECDHE-ECDSA-AES128-SHA")
    static = _client_context(legacy_server, ssl.TLSVersion.TLSv1, "AES128-SHA:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        _handshake(legacy_server, static)
    assert _handshake(legacy_server, _client_context(legacy_server, ssl.TLSVersion.TLSv1_3))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
@pytest.mark.parametrize(("flag", "ok"), [("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)])
def test_openssl_s_client(server: Server, flag: str, ok: bool) -> None:
    out = subprocess.run(
        [
            *("openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", flag),
            *("-CAfile", str(server.ca), "-servername", "localhost", "-brief"),
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    text = out.stdout + out.stderr
    if ok:
        assert "Verification: OK" in text, text
        assert "Protocol version: TLSv1." in text
    else:
        assert "Protocol version" not in text


def test_plaintext_http_gets_no_http_answer(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /_hadron/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        reply = b""
        try:
            while chunk := raw.recv(4096):
                reply += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert b"HTTP/" not in reply
    assert b"ok" not in reply


def test_garbage_bytes_fail_the_handshake(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(bytes(range(256)) * 4)
        reply = b""
        try:
            while chunk := raw.recv(4096):
                reply += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert b"HTTP/" not in reply
    # and the server still serves
    assert _health(server) == 200


def _health(server: Server, conn: http.client.HTTPSConnection | None = None) -> int:
    own = conn is None
    conn = conn or http.client.HTTPSConnection(
        "127.0.0.1", server.port, context=_client_context(server, ssl.TLSVersion.TLSv1_3)
    )
    conn.request("GET", "/_hadron/health")
    response = conn.getresponse()
    assert response.read() == b'{"status":"ok"}'
    if own:
        conn.close()
    return response.status


def _peer_serial(server: Server) -> int:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        ctx = _client_context(server, ssl.TLSVersion.TLSv1_3)
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    from cryptography import x509

    return x509.load_der_x509_certificate(der).serial_number


def test_sighup_reloads_certificate_without_dropping_connections(fresh_dir: Path) -> None:
    srv = Server(fresh_dir).start()
    try:
        keep = http.client.HTTPSConnection(
            "127.0.0.1", srv.port, context=_client_context(srv, ssl.TLSVersion.TLSv1_3)
        )
        assert _health(srv, keep) == 200
        before = _peer_serial(srv)
        tls = fresh_dir / "tls"
        ca = pki.KeyPair((tls / "ca.pem").read_bytes(), (tls / "ca-key.pem").read_bytes())
        fresh = pki.create_server_certificate(ca, hostnames=["localhost"], now=datetime.now(UTC))
        (tls / "server-key.pem").write_bytes(fresh.private_key_pem)
        (tls / "server.pem").write_bytes(fresh.certificate_pem)
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while _peer_serial(srv) == before:
            assert time.monotonic() < deadline, "certificate was not reloaded"
            time.sleep(0.05)
        assert _health(srv, keep) == 200  # the old connection still works
        keep.close()
    finally:
        assert srv.stop() is not None


def test_health_is_unauthenticated(server: Server) -> None:
    assert _health(server) == 200


def test_sigterm_drains_in_flight_requests_and_exits_cleanly(fresh_dir: Path) -> None:
    srv = Server(fresh_dir).start()
    try:
        ctx = _client_context(srv, ssl.TLSVersion.TLSv1_3)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
                    b"X-Amz-Target: AwsProton20200720.ListServices\r\nContent-Length: 2\r\n\r\n{"
                )
                time.sleep(0.3)
                assert srv.proc is not None
                srv.proc.send_signal(signal.SIGTERM)
                time.sleep(0.3)
                tls.sendall(b"}")
                reply = b""
                while chunk := tls.recv(65536):
                    reply += chunk
        assert reply.startswith(b"HTTP/1.1 400")  # answered (unsigned), not dropped
        assert b"MissingAuthenticationTokenException" in reply
        assert srv.proc is not None
        assert srv.proc.wait(20) == 0
    finally:
        srv.stop()
