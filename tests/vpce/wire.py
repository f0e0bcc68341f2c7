"""Raw-socket helpers for the endpoint-listener tests: TLS by hand (so SNI, the address and a
PROXY header can be chosen freely) and one botocore-signed request over it."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TARGETS = {
    "proton": ("AwsProton20200720.ListEnvironmentTemplates", "application/x-amz-json-1.0"),
}


def tls(sock: socket.socket, ca: Path, server_name: str) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(ca))
    return ctx.wrap_socket(sock, server_hostname=server_name)


def refused_before_tls(address: str, port: int, prefix: bytes = b"") -> bool:
    """Whether the server closes a new connection (after ``prefix``) without a TLS answer."""
    with socket.create_connection((address, port), timeout=10) as sock:
        if prefix:
            sock.sendall(prefix)
        try:
            return sock.recv(1) == b""  # the server sends nothing first; EOF means closed
        except (ConnectionResetError, TimeoutError):
            return True


def signed_call(
    sock: ssl.SSLSocket, host: str, credentials: tuple[str, str], service: str = "proton"
) -> tuple[int, dict[str, str], bytes]:
    """Send one signed request (Proton ListEnvironmentTemplates or STS GetCallerIdentity)."""
    if service == "proton":
        target, content_type = TARGETS["proton"]
        return signed_request(
            sock,
            host,
            credentials,
            service,
            b"{}",
            {"X-Amz-Target": target, "Content-Type": content_type},
        )
    return signed_request(
        sock, host, credentials, service, b"Action=GetCallerIdentity&Version=2011-06-15"
    )


def signed_request(
    sock: ssl.SSLSocket,
    host: str,
    credentials: tuple[str, str],
    service: str,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one SigV4-signed POST over ``sock`` and read the whole response."""
    headers = headers or {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = AWSRequest(method="POST", url=f"https://{host}/", data=body, headers=headers)
    SigV4Auth(Credentials(*credentials), service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    lines = ["POST / HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [
        f"{k}: {v}"
        for k, v in prepared.headers.items()
        if k.lower() not in ("host", "content-length")
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    response_headers = {
        k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)
    }
    length = int(response_headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(status_line.split()[1]), response_headers, rest


def error_code(status_headers_body: tuple[int, dict[str, str], bytes]) -> str:
    status, headers, body = status_headers_body
    if 200 <= status < 300:
        return "OK"
    if "x-amzn-errortype" in headers:
        return headers["x-amzn-errortype"].split(":", 1)[0]
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        text = body.decode()
        start = text.find("<Code>")
        return text[start + 6 : text.find("</Code>")] if start >= 0 else ""
    return str(parsed.get("__type", "")).rsplit("#", 1)[-1]
