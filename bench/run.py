"""Hadron throughput/latency benchmark: health probe vs. signed STS call vs. moto.

Run from the repository root as ``.venv/bin/python bench/run.py`` (or ``make bench``). In one run
it measures, over HTTPS keep-alive with a fixed number of connections and a fixed duration:

1. Hadron ``GET /_hadron/health`` (unauthenticated): the transport baseline (TLS, HTTP, ASGI);
2. Hadron ``sts:GetCallerIdentity`` signed with SigV4 by botocore: the full security path
   (parse, SigV4 verification, credential lookup, authorization, audit record);
   (2s) the same call signed with session credentials (``ASIA`` key + session token from
   ``GetSessionToken``): the token is opened (AES-GCM) instead of a cached key lookup;
3. moto's server (``moto_server`` from a separate venv, ``bench/.venv-moto``) for the same call.

It prints a table and writes ``bench/results/latest.json``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
LUA_SCRIPT = BENCH_DIR / "wrk_request.lua"
RESULTS_DIR = BENCH_DIR / "results"
MOTO_VENV = BENCH_DIR / ".venv-moto"
MOTO_REQUIREMENT = "moto[server]>=5,<6"

HOST = "127.0.0.1"  # loopback only, always
REGION = "us-east-1"
STS_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
TARGET_RATIO = 0.40
SESSION_TARGET_RATIO = 0.90  # session credentials within 10 % of long-term keys
# A SigV4 signature is accepted for +-5 minutes; every load run is signed just before it starts
# and may not last longer than this, so no replayed signature ever gets near the limit.
MAX_SIGNED_RUN_SECONDS = 240
NON_2XX_TOLERANCE = 0.001  # more than 0.1 % non-2xx responses makes a result invalid
NOISY_CPU_PCT = 10.0  # other processes' CPU (% of a core) above which a result is flagged

_LISTENING = re.compile(r"listening on (https?)://([^:\s]+):(\d+) \(account (\d{12})")


class BenchError(RuntimeError):
    """A failure that makes the benchmark meaningless; reported loudly."""


# --------------------------------------------------------------------------------------------
# Small helpers


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without AWS_* variables (the machine sets AWS_CA_BUNDLE, for one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _run_text(cmd: list[str], timeout: float = 30.0) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout or done.stderr).strip()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Pinning:
    """CPU placement: the server on one core, the load generator on another."""

    server: int | None
    client: int | None

    def prefix(self, cpu: int | None) -> list[str]:
        if cpu is None or shutil.which("taskset") is None:
            return []
        return ["taskset", "-c", str(cpu)]


def _pinning(enabled: bool) -> Pinning:
    cpus = sorted(os.sched_getaffinity(0))
    if not enabled or len(cpus) < 2 or shutil.which("taskset") is None:
        return Pinning(None, None)
    return Pinning(cpus[0], cpus[1])


# --------------------------------------------------------------------------------------------
# Processes


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    log_file: Path
    scheme: str
    port: int
    ca_file: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None


def _stop(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        _log(f"{name} (pid {proc.pid}) ignored SIGTERM; killing it")
        proc.kill()
        proc.wait(timeout=5)


class Processes:
    """Every process the benchmark starts, stopped on exit whatever happens."""

    def __init__(self) -> None:
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, cmd: list[str], log_file: Path, env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        with log_file.open("wb") as out:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
                start_new_session=True,  # a Ctrl-C in the terminal reaches only this script
            )
        self._procs.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        for name, p in list(self._procs):
            if p is proc:
                _stop(p, name)
                self._procs.remove((name, p))

    def stop_all(self) -> None:
        while self._procs:
            name, proc = self._procs.pop()
            try:
                _stop(proc, name)
            except Exception as exc:  # keep stopping the others
                _log(f"could not stop {name} (pid {proc.pid}): {exc}")


def start_hadron(procs: Processes, data_dir: Path, pin: Pinning) -> tuple[Server, str, str]:
    """Start ``hadron serve`` on a free port; returns the server and the admin key pair."""
    hadron = REPO / ".venv" / "bin" / "hadron"
    if not hadron.exists():
        raise BenchError(f"{hadron} is missing: run `make run` or install the project first")
    log_file = data_dir.parent / "hadron.log"
    cmd = [*pin.prefix(pin.server), str(hadron), "serve", "--data-dir", str(data_dir)]
    cmd += ["--port", "0", "--host", HOST]
    proc = procs.start("hadron", cmd, log_file, _clean_env())
    deadline = time.monotonic() + 60
    match = None
    while match is None:
        if proc.poll() is not None:
            raise BenchError(f"hadron exited with {proc.returncode}:\n{_tail(log_file)}")
        if time.monotonic() > deadline:
            raise BenchError(f"hadron did not start within 60 s:\n{_tail(log_file)}")
        time.sleep(0.1)
        match = _LISTENING.search(log_file.read_text(errors="replace"))
    scheme, host, port = match.group(1), match.group(2), int(match.group(3))
    if host != HOST:
        raise BenchError(f"hadron listens on {host}, expected {HOST}")
    access_key, secret_key = _read_credentials(data_dir / "aws" / "credentials")
    server = Server("hadron", proc, log_file, scheme, port, data_dir / "tls" / "ca.pem")
    return server, access_key, secret_key


def _read_credentials(path: Path) -> tuple[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    try:
        return values["aws_access_key_id"], values["aws_secret_access_key"]
    except KeyError as exc:
        raise BenchError(f"{path} has no {exc.args[0]}") from None


def ensure_moto_venv() -> tuple[Path | None, str]:
    """Create ``bench/.venv-moto`` with moto[server] if missing; returns (moto_server, note)."""
    moto_server = MOTO_VENV / "bin" / "moto_server"
    python = MOTO_VENV / "bin" / "python"
    if moto_server.exists():
        return moto_server, ""
    _log(f"creating {MOTO_VENV.relative_to(REPO)} with {MOTO_REQUIREMENT} (first run only)...")
    started = time.monotonic()
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(MOTO_VENV)], check=True, timeout=120)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--no-input", MOTO_REQUIREMENT],
            check=True,
            timeout=400,
            env=_clean_env(),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not install {MOTO_REQUIREMENT}: {exc}"
    _log(f"moto venv ready in {time.monotonic() - started:.0f} s")
    if not moto_server.exists():
        return None, f"{moto_server} missing after installing {MOTO_REQUIREMENT}"
    return moto_server, ""


def _moto_version() -> str:
    code = "import importlib.metadata as m; print(m.version('moto'))"
    return _run_text([str(MOTO_VENV / "bin" / "python"), "-c", code]) or "?"


def _moto_supports_ssl(moto_server: Path) -> tuple[bool, bool]:
    """(supports --ssl, supports --ssl-cert/--ssl-key), from ``moto_server --help``."""
    text = _run_text([str(moto_server), "--help"])
    return "--ssl" in text, "--ssl-cert" in text and "--ssl-key" in text


def start_moto(
    procs: Processes,
    moto_server: Path,
    work: Path,
    pin: Pinning,
    cert: tuple[Path, Path, Path],
    access_key: str,
    secret_key: str,
) -> Server:
    """Start moto_server: TLS with Hadron's certificate if possible, else --ssl, else HTTP."""
    cert_file, key_file, ca_file = cert
    has_ssl, has_cert_opts = _moto_supports_ssl(moto_server)
    attempts: list[tuple[str, list[str], Path | None, str]] = []
    if has_cert_opts:
        attempts.append(
            (
                "https",
                ["--ssl-cert", str(cert_file), "--ssl-key", str(key_file)],
                ca_file,
                "TLS with Hadron's server certificate (--ssl-cert/--ssl-key)",
            )
        )
    if has_ssl:
        attempts.append(("https", ["--ssl"], None, "TLS with moto's ad-hoc certificate (--ssl)"))
    attempts.append(("http", [], None, "PLAIN HTTP: moto_server has no TLS option here"))
    failures: list[str] = []
    for i, (scheme, extra, ca, note) in enumerate(attempts):
        port = _free_port()
        log_file = work / f"moto-{i}.log"
        cmd = [*pin.prefix(pin.server), str(moto_server), "-H", HOST, "-p", str(port), *extra]
        proc = procs.start("moto_server", cmd, log_file, _clean_env())
        server = Server("moto", proc, log_file, scheme, port, ca, [note])
        try:
            wait_until_ok(server, signed_sts_request(server, access_key, secret_key), 60)
        except BenchError as exc:
            failures.append(f"{note}: {exc}")
            procs.stop(proc)
            continue
        if failures:
            server.notes.append("fell back after: " + " | ".join(failures))
        return server
    raise BenchError("moto_server did not start:\n" + "\n".join(failures))


# --------------------------------------------------------------------------------------------
# Requests


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    expect: bytes = b""  # a good answer contains this

    def tampered(self) -> Request:
        """The same request with one hex digit of the SigV4 signature changed."""

        def flip(value: str) -> str:
            head, sep, sig = value.rpartition("Signature=")
            if not sep or not sig:
                raise BenchError("the request carries no SigV4 signature")
            return f"{head}{sep}{sig[:-1]}{'0' if sig[-1] != '0' else '1'}"

        headers = tuple(
            (k, flip(v) if k.lower() == "authorization" else v) for k, v in self.headers
        )
        return Request(self.method, self.target, headers, self.body, self.expect)

    def write_spec(self, path: Path) -> None:
        """The file format wrk_request.lua reads."""
        lines = [self.method, self.target, *(f"{k}: {v}" for k, v in self.headers), ""]
        path.write_bytes("\n".join(lines).encode("latin-1") + b"\n" + self.body)

    def wire(self) -> bytes:
        head = [f"{self.method} {self.target} HTTP/1.1"]
        head += [f"{k}: {v}" for k, v in self.headers]
        if self.body or self.method in ("POST", "PUT"):
            head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


def health_request(server: Server) -> Request:
    return Request(
        "GET", "/_hadron/health", (("Host", f"{HOST}:{server.port}"),), expect=b'"status"'
    )


def signed_sts_request(
    server: Server,
    access_key: str,
    secret_key: str,
    *,
    close: bool = False,
    token: str | None = None,
    body: bytes = STS_BODY,
    expect: bytes = b"<Arn>",
) -> Request:
    """POST / GetCallerIdentity, SigV4-signed by botocore now (valid for 5 minutes of replay).

    ``close`` adds an (unsigned) ``Connection: close``: one TCP+TLS connection per request.
    ``token``: a session token (temporary credentials), sent and signed as
    ``X-Amz-Security-Token``.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{server.base_url}/"
    aws_request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": FORM_TYPE})
    SigV4Auth(Credentials(access_key, secret_key, token), "sts", REGION).add_auth(aws_request)
    headers = [("Host", f"{HOST}:{server.port}")]
    headers += [(str(k), str(v)) for k, v in aws_request.headers.items()]
    if close:
        headers.append(("Connection", "close"))
    return Request("POST", "/", tuple(headers), body, expect=expect)


def session_credentials(server: Server, access_key: str, secret_key: str) -> tuple[str, str, str]:
    """(access key id, secret, token) from Hadron's ``GetSessionToken`` (one hour)."""
    body = b"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=3600"
    req = signed_sts_request(server, access_key, secret_key, body=body, expect=b"<SessionToken>")
    status, answer = send_once(server, req)
    text = answer.decode(errors="replace")
    found = [re.search(f"<{name}>([^<]+)</{name}>", text) for name in _CREDENTIAL_FIELDS]
    if status != 200 or not all(found):
        raise BenchError(f"GetSessionToken answered HTTP {status}:\n{text[:2000]}")
    akid, secret, token = (m.group(1) for m in found if m is not None)
    return akid, secret, token


_CREDENTIAL_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken")


def _client_context(ca_file: Path | None) -> ssl.SSLContext:
    if ca_file is not None:
        return ssl.create_default_context(cafile=str(ca_file))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # moto's ad-hoc certificate: nothing to verify it against
    return ctx


def send_once(server: Server, req: Request, timeout: float = 10.0) -> tuple[int, bytes]:
    status, body, _headers = exchange(server, req, timeout)
    return status, body


def exchange(
    server: Server, req: Request, timeout: float = 10.0
) -> tuple[int, bytes, dict[str, str]]:
    """One request on a new connection: (status, body, lower-cased response headers)."""
    conn: http.client.HTTPConnection
    if server.scheme == "https":
        ctx = _client_context(server.ca_file)
        conn = http.client.HTTPSConnection(HOST, server.port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(HOST, server.port, timeout=timeout)
    try:
        conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for k, v in req.headers:
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(req.body)))
        conn.endheaders(req.body or None)
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, response.read(), headers
    finally:
        conn.close()


def wait_until_ok(server: Server, req: Request, timeout: float) -> bytes:
    """Send ``req`` until the server answers; it must answer 200 (twice: replay must work)."""
    deadline = time.monotonic() + timeout
    while True:
        if not server.alive():
            raise BenchError(f"{server.name} exited:\n{_tail(server.log_file)}")
        try:
            status, body = send_once(server, req)
            break
        except (ConnectionError, OSError, http.client.HTTPException) as exc:
            if time.monotonic() > deadline:
                raise BenchError(f"{server.name} not reachable: {exc}") from exc
            time.sleep(0.2)
    for _ in range(2):
        if status != 200 or req.expect not in body:
            text = body[:2000].decode(errors="replace")
            code = re.search(r"<Code>([^<]+)</Code>", text)
            raise BenchError(
                f"{server.name} answered HTTP {status}{f' {code.group(1)}' if code else ''} "
                f"to {req.method} {req.target} (a benchmark of errors is worthless):\n{text}"
            )
        status, body = send_once(server, req)
    return body


def rejects_bad_signature(server: Server, req: Request) -> tuple[bool, int]:
    """Does the server refuse ``req`` with a wrong signature? (status 4xx)"""
    status, _body = send_once(server, req.tampered())
    return 400 <= status < 500, status


# --------------------------------------------------------------------------------------------
# Load generators


@dataclass
class Measurement:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    raw: str = ""
    server_cpu_pct: float | None = None  # of one core, all the server's threads
    client_cpu_pct: float | None = None  # the load generator (and this script)
    other_cpu_pct: float | None = None  # everything else on the machine: noise


class WrkGenerator:
    name = "wrk"

    def __init__(self, wrk: str, connections: int, threads: int, pin: Pinning) -> None:
        self.wrk = wrk
        self.connections = connections
        self.threads = threads
        self.pin = pin
        banner = _run_text([wrk, "-v"]).splitlines()
        self.version = banner[0].split(" Copyright")[0] if banner else "?"

    def run(self, server: Server, req: Request, seconds: float, work: Path) -> Measurement:
        spec = work / "request.txt"
        req.write_spec(spec)
        cmd = [*self.pin.prefix(self.pin.client), self.wrk, f"-t{self.threads}"]
        cmd += [f"-c{self.connections}", f"-d{seconds:g}s", "--timeout", "5s", "--latency"]
        cmd += ["-s", str(LUA_SCRIPT), f"{server.base_url}{req.target}"]
        env = _clean_env({"BENCH_REQUEST_FILE": str(spec)})
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"wrk did not finish: {exc}") from exc
        if done.returncode != 0:
            raise BenchError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
        match = re.search(r"^BENCH_JSON (\{.*\})$", done.stdout, re.MULTILINE)
        if match is None:
            raise BenchError(f"no summary in wrk's output:\n{done.stdout}\n{done.stderr}")
        s = json.loads(match.group(1))
        duration = s["duration_us"] / 1e6
        errors = s["connect_errors"] + s["read_errors"] + s["write_errors"] + s["timeouts"]
        raw = done.stdout[: match.start()].rstrip()
        return Measurement(
            requests=s["requests"],
            duration_s=duration,
            rps=s["requests"] / duration if duration else 0.0,
            p50_ms=s["p50_us"] / 1000,
            p90_ms=s["p90_us"] / 1000,
            p99_ms=s["p99_us"] / 1000,
            mean_ms=s["mean_us"] / 1000,
            max_ms=s["max_us"] / 1000,
            non_2xx=s["non_2xx_3xx"],
            socket_errors=errors,
            raw=raw,
        )


class PythonGenerator:
    """Fallback: asyncio replays pre-built request bytes over N keep-alive connections."""

    name = "python-asyncio"

    def __init__(self, connections: int, pin: Pinning) -> None:
        self.connections = connections
        self.pin = pin
        self.version = f"bench/run.py (Python {platform.python_version()})"

    def run(self, server: Server, req: Request, seconds: float, work: Path) -> Measurement:
        del work
        before = os.sched_getaffinity(0)
        if self.pin.client is not None:
            os.sched_setaffinity(0, {self.pin.client})
        try:
            return asyncio.run(self._run(server, req, seconds))
        finally:
            os.sched_setaffinity(0, before)

    async def _run(self, server: Server, req: Request, seconds: float) -> Measurement:
        payload = req.wire()
        ctx = _client_context(server.ca_file) if server.scheme == "https" else None
        latencies: list[float] = []
        counters = {"non_2xx": 0, "errors": 0}
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + seconds
        workers = [
            _py_worker(server.port, ctx, payload, deadline, latencies, counters)
            for _ in range(self.connections)
        ]
        await asyncio.gather(*workers)
        elapsed = loop.time() - started
        latencies.sort()
        n = len(latencies)

        def pct(p: float) -> float:
            return latencies[min(n - 1, int(p / 100 * n))] * 1000 if n else 0.0

        return Measurement(
            requests=n,
            duration_s=elapsed,
            rps=n / elapsed if elapsed else 0.0,
            p50_ms=pct(50),
            p90_ms=pct(90),
            p99_ms=pct(99),
            mean_ms=sum(latencies) / n * 1000 if n else 0.0,
            max_ms=latencies[-1] * 1000 if n else 0.0,
            non_2xx=counters["non_2xx"],
            socket_errors=counters["errors"],
        )


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response; returns (status, server wants to close)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("connection closed")
    status = int(status_line.split()[1])
    length = 0
    chunked = close = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def _py_worker(
    port: int,
    ctx: ssl.SSLContext | None,
    payload: bytes,
    deadline: float,
    latencies: list[float],
    counters: dict[str, int],
) -> None:
    loop = asyncio.get_running_loop()
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    try:
        while loop.time() < deadline:
            if writer is None or reader is None:
                server_hostname = HOST if ctx is not None else None
                reader, writer = await asyncio.open_connection(
                    HOST, port, ssl=ctx, server_hostname=server_hostname
                )
            t0 = time.perf_counter()
            try:
                writer.write(payload)
                status, close = await asyncio.wait_for(_read_response(reader), 5)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                counters["errors"] += 1
                writer.close()
                writer = reader = None
                continue
            latencies.append(time.perf_counter() - t0)
            if not 200 <= status < 400:
                counters["non_2xx"] += 1
            if close:
                writer.close()
                writer = reader = None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def ensure_wrk(allow_install: bool) -> tuple[str | None, str]:
    """Find wrk, installing Debian's package if we are root and may; returns (path, note)."""
    found = shutil.which("wrk")
    if found:
        return found, ""
    if not allow_install:
        return None, "wrk not installed (--no-install)"
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None, "wrk not installed and apt-get unavailable (or not root)"
    _log("installing wrk with apt-get...")
    env = {**_clean_env(), "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"]):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(cmd, capture_output=True, timeout=240, env=env, check=False)
        if shutil.which("wrk"):
            break
    if not shutil.which("wrk"):  # after an update, one more install
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["apt-get", "install", "-y", "-q", "wrk"],
                capture_output=True,
                timeout=240,
                env=env,
                check=False,
            )
    found = shutil.which("wrk")
    return (found, "installed with apt-get") if found else (None, "apt-get install wrk failed")


# --------------------------------------------------------------------------------------------
# The run


_TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds all cores spent not idle, from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / _TICK


def _process_cpu_s(pid: int) -> float:
    """CPU seconds used by a process (all threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _own_cpu_s() -> float:
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


@contextlib.contextmanager
def cpu_accounting(server: Server, into: dict[str, float]) -> Iterator[None]:
    """Fill ``into`` with the CPU use (% of one core) of server, client and the rest."""
    try:
        before = (time.monotonic(), _machine_busy_s(), _process_cpu_s(server.proc.pid))
    except (OSError, ValueError, IndexError):
        yield
        return
    own = _own_cpu_s()
    yield
    try:
        wall = time.monotonic() - before[0]
        busy = _machine_busy_s() - before[1]
        srv = _process_cpu_s(server.proc.pid) - before[2]
    except (OSError, ValueError, IndexError):
        return
    client = _own_cpu_s() - own
    if wall > 0:
        into["server_cpu_pct"] = round(100 * srv / wall, 1)
        into["client_cpu_pct"] = round(100 * client / wall, 1)
        into["other_cpu_pct"] = round(100 * max(0.0, busy - srv - client) / wall, 1)


@dataclass
class Target:
    key: str
    label: str
    measurement: Measurement | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def measure(
    gen: WrkGenerator | PythonGenerator,
    server: Server,
    make_request: Any,
    args: argparse.Namespace,
    work: Path,
) -> Measurement:
    """Warm up, then measure; each load run gets a fresh signature."""
    req: Request = make_request()
    wait_until_ok(server, req, 10)
    if args.warmup > 0:
        gen.run(server, make_request(), args.warmup, work)
    cpu: dict[str, float] = {}
    with cpu_accounting(server, cpu):
        m = gen.run(server, make_request(), args.duration, work)
    m.server_cpu_pct = cpu.get("server_cpu_pct")
    m.client_cpu_pct = cpu.get("client_cpu_pct")
    m.other_cpu_pct = cpu.get("other_cpu_pct")
    if not server.alive():
        raise BenchError(f"{server.name} died during the run:\n{_tail(server.log_file)}")
    if m.requests == 0:
        raise BenchError(f"no request completed against {server.name}")
    wait_until_ok(server, make_request(), 10)  # still healthy afterwards
    return m


def _git(*argv: str) -> str:
    return _run_text(["git", "-C", str(REPO), *argv])


def machine_info() -> dict[str, Any]:
    import botocore

    try:
        import uvicorn

        uvicorn_version = uvicorn.__version__
    except ImportError:
        uvicorn_version = "?"
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "botocore": botocore.__version__,
        "uvicorn": uvicorn_version,
        "hadron_commit": _git("rev-parse", "--short", "HEAD") or "?",
        "hadron_worktree_dirty": dirty,
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _ratio(a: Target, b: Target) -> float | None:
    if a.measurement is None or b.measurement is None or not b.measurement.rps:
        return None
    return a.measurement.rps / b.measurement.rps


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def render(
    targets: list[Target], info: dict[str, Any], settings: dict[str, Any], ratios: dict[str, Any]
) -> str:
    out: list[str] = []
    dirty = " (dirty work tree)" if info["hadron_worktree_dirty"] else ""
    out.append(
        f"Hadron benchmark  {info['timestamp']}  commit {info['hadron_commit']}{dirty}\n"
        f"machine: {info['nproc']} cores ({info['cpu_model']}), Python {info['python']}, "
        f"{info['openssl']}, load average at start {info['loadavg_at_start']}\n"
        f"generator: {settings['generator']} ({settings['generator_version']}), "
        f"{settings['connections']} keep-alive connections, {settings['threads']} thread, "
        f"{settings['warmup_s']:g} s warm-up + {settings['duration_s']:g} s per target, "
        f"pinning: {settings['pinning']}"
    )
    out.append("")
    header = (
        f"{'target':<48} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'requests':>9} {'non-2xx':>8} {'sock err':>8} {'srv CPU':>8} {'other':>6}"
    )
    out.append(header)
    out.append("-" * len(header))
    for t in targets:
        m = t.measurement
        if m is None:
            out.append(f"{t.label:<48} FAILED: {t.error or 'not run (an earlier step failed)'}")
            continue
        out.append(
            f"{t.label:<48} {m.rps:>9.0f} {m.p50_ms:>8.2f} {m.p90_ms:>8.2f} {m.p99_ms:>8.2f} "
            f"{m.requests:>9} {m.non_2xx:>8} {m.socket_errors:>8} "
            f"{_pct(m.server_cpu_pct):>8} {_pct(m.other_cpu_pct):>6}"
        )
    out.append("")
    r21 = ratios["signed_over_health"]
    verdict = "n/a" if r21 is None else ("MEETS" if r21 >= TARGET_RATIO else "BELOW")
    out.append(
        f"(2)/(1) signed STS vs health      = {_fmt(r21, '.3f')}   "
        f"target >= {TARGET_RATIO:.2f}: {verdict}"
    )
    rs = ratios.get("session_over_signed")
    if rs is not None:
        session_verdict = "MEETS" if rs >= SESSION_TARGET_RATIO else "BELOW"
        out.append(
            f"(2s)/(2) session vs long-term keys = {rs:.3f}   "
            f"target >= {SESSION_TARGET_RATIO:.2f}: {session_verdict}"
        )
    out.append(
        f"(2)/(3) Hadron STS vs moto STS    = {_fmt(ratios['signed_over_moto'], '.3f')}   "
        "(> 1: Hadron is faster)"
    )
    if ratios.get("signed_close_over_moto") is not None:
        out.append(
            f"(2c)/(3) same, both reconnecting  = {_fmt(ratios['signed_close_over_moto'], '.3f')}"
            "   (like for like if moto cannot keep connections alive)"
        )
    out.append(
        "srv CPU = server process CPU in % of one core during the measurement (100% = saturated); "
        "other = CPU used by\nother processes on the machine meanwhile (noise: above ~10% the "
        "numbers are disturbed)."
    )
    for t in targets:
        for note in t.notes:
            out.append(f"note {t.key}: {note}")
    return "\n".join(out)


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="seconds measured per target")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per target")
    p.add_argument("--connections", type=int, default=8, help="keep-alive connections")
    p.add_argument(
        "--threads", type=int, default=1, help="wrk threads (leave a core to the server)"
    )
    p.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--no-moto", action="store_true", help="skip target (3)")
    p.add_argument(
        "--no-close-run", action="store_true", help="skip target (2c) (connection per request)"
    )
    p.add_argument(
        "--no-session-run", action="store_true", help="skip target (2s) (session credentials)"
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin server/client to cores")
    p.add_argument("--no-install", action="store_true", help="install neither wrk nor moto")
    p.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json")
    args = p.parse_args(argv)
    if not 0 < args.duration <= MAX_SIGNED_RUN_SECONDS:
        p.error(f"--duration must be in (0, {MAX_SIGNED_RUN_SECONDS}] (one signature per run)")
    if not 0 <= args.warmup <= 60:
        p.error("--warmup must be in [0, 60]")
    if args.connections < 1 or args.threads < 1 or args.threads > args.connections:
        p.error("need 1 <= --threads <= --connections")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    info = machine_info()
    info["timestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pin = _pinning(not args.no_pin)

    gen: WrkGenerator | PythonGenerator
    wrk_note = ""
    wrk_path: str | None = None
    if args.generator in ("auto", "wrk"):
        wrk_path, wrk_note = ensure_wrk(not args.no_install)
        if wrk_path is None and args.generator == "wrk":
            raise BenchError(wrk_note)
    if wrk_path is not None:
        gen = WrkGenerator(wrk_path, args.connections, args.threads, pin)
    else:
        gen = PythonGenerator(args.connections, pin)
        if wrk_note:
            _log(f"falling back to the Python load generator: {wrk_note}")
    pinning = (
        f"server on CPU {pin.server}, load generator on CPU {pin.client}"
        if pin.server is not None
        else "none"
    )
    settings = {
        "generator": gen.name,
        "generator_version": gen.version,
        "generator_note": wrk_note,
        "connections": args.connections,
        "threads": args.threads if gen.name == "wrk" else 1,
        "warmup_s": args.warmup,
        "duration_s": args.duration,
        "pinning": pinning,
        "region": REGION,
    }

    health = Target("health", "(1) hadron GET /_hadron/health")
    signed = Target("signed", "(2) hadron sts:GetCallerIdentity (SigV4)")
    signed_session = Target("signed_session", "(2s) same as (2), session credentials")
    signed_close = Target("signed_close", "(2c) same as (2), new connection per request")
    moto = Target("moto", "(3) moto   sts:GetCallerIdentity (SigV4)")
    targets = [health, signed, signed_session, signed_close, moto]
    if args.no_close_run:
        targets.remove(signed_close)
    if args.no_session_run:
        targets.remove(signed_session)
    moto_info: dict[str, Any] = {}
    security: dict[str, bool] = {}
    failed = False

    procs = Processes()
    work = Path(tempfile.mkdtemp(prefix="hadron-bench-"))
    try:
        with _sigterm_as_exit():
            data_dir = work / "data"
            server, ak, sk = start_hadron(procs, data_dir, pin)
            _log(f"hadron pid {server.proc.pid} on {server.base_url}")
            wait_until_ok(server, signed_sts_request(server, ak, sk), 30)
            tk, ts, tt = session_credentials(server, ak, sk)
            for target, make in (
                (health, lambda: health_request(server)),
                (signed, lambda: signed_sts_request(server, ak, sk)),
                (signed_session, lambda: signed_sts_request(server, tk, ts, token=tt)),
                (signed_close, lambda: signed_sts_request(server, ak, sk, close=True)),
            ):
                if target not in targets:
                    continue
                if target is not signed_close:
                    target.label += f" ({server.scheme})"
                _log(f"measuring {target.label}...")
                target.measurement = measure(gen, server, make, args, work)
            refused, status = rejects_bad_signature(server, signed_sts_request(server, ak, sk))
            security["hadron_rejects_bad_signature"] = refused
            if not refused:
                signed.notes.append(f"WARNING: Hadron accepted a tampered signature ({status})")
                failed = True
            procs.stop(server.proc)

            if args.no_moto:
                moto.error = "skipped (--no-moto)"
            else:
                moto_server, note = (
                    ensure_moto_venv()
                    if not args.no_install or (MOTO_VENV / "bin" / "moto_server").exists()
                    else (None, "moto venv missing (--no-install)")
                )
                if moto_server is None:
                    moto.error = note
                    failed = True
                else:
                    moto_info["version"] = _moto_version()
                    certs = (data_dir / "tls" / "server.pem", data_dir / "tls" / "server-key.pem")
                    mserver = start_moto(
                        procs, moto_server, work, pin, (*certs, data_dir / "tls" / "ca.pem"), ak, sk
                    )
                    _log(f"moto_server pid {mserver.proc.pid} on {mserver.base_url}")
                    moto.label += f" ({mserver.scheme})"
                    moto.notes += mserver.notes
                    _s, _b, mheaders = exchange(mserver, signed_sts_request(mserver, ak, sk))
                    moto_info["closes_every_connection"] = (
                        mheaders.get("connection", "").lower() == "close"
                    )
                    if moto_info["closes_every_connection"]:
                        moto.notes.append(
                            "moto_server (werkzeug) answers 'Connection: close': no keep-alive, "
                            "every request pays a TCP+TLS handshake; compare it with (2c)"
                        )
                    moto_info["mode"] = mserver.scheme
                    moto_info["notes"] = mserver.notes
                    _log(f"measuring {moto.label}...")
                    moto.measurement = measure(
                        gen, mserver, lambda: signed_sts_request(mserver, ak, sk), args, work
                    )
                    refused, status = rejects_bad_signature(
                        mserver, signed_sts_request(mserver, ak, sk)
                    )
                    security["moto_rejects_bad_signature"] = refused
                    moto.notes.append(
                        f"a tampered signature got HTTP {status} from moto: "
                        + (
                            "it verifies SigV4"
                            if refused
                            else "it does not verify SigV4 (nor audit), so (3) does less work"
                        )
                    )
                    procs.stop(mserver.proc)
    except BenchError as exc:
        failed = True
        for t in targets:
            if t.measurement is None and t.error is None:
                t.error = str(exc).splitlines()[0]
                break
        _log(f"ERROR: {exc}")
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)

    for t in targets:
        m = t.measurement
        if m is None:
            continue
        total = m.requests + m.socket_errors
        if m.non_2xx or m.socket_errors:
            t.notes.append(f"{m.non_2xx} non-2xx responses and {m.socket_errors} socket errors")
        if m.other_cpu_pct is not None and m.other_cpu_pct > NOISY_CPU_PCT:
            t.notes.append(
                f"noisy: other processes used {m.other_cpu_pct:.0f}% of a core during this run"
            )
        if total and (m.non_2xx + m.socket_errors) / total > NON_2XX_TOLERANCE:
            t.notes.append("INVALID: too many errors for the numbers to mean anything")
            failed = True

    ratios: dict[str, Any] = {
        "signed_over_health": _ratio(signed, health),
        "signed_over_moto": _ratio(signed, moto),
        "signed_close_over_moto": _ratio(signed_close, moto),
        "session_over_signed": _ratio(signed_session, signed),
        "target_session_over_signed": SESSION_TARGET_RATIO,
        "target_signed_over_health": TARGET_RATIO,
    }
    r21 = ratios["signed_over_health"]
    ratios["meets_target"] = None if r21 is None else r21 >= TARGET_RATIO
    settings["wall_time_s"] = round(time.monotonic() - started, 1)

    print(render(targets, info, settings, ratios))
    result = {
        "schema": 1,
        "machine": info,
        "settings": settings,
        "moto": moto_info,
        "results": {
            t.key: {
                "label": t.label,
                "error": t.error,
                "notes": t.notes,
                **({} if t.measurement is None else asdict(t.measurement)),
            }
            for t in targets
        },
        "ratios": ratios,
        "security_checks": security,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {args.output} (whole run {settings['wall_time_s']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench: interrupted; every process it started was stopped", file=sys.stderr)
        sys.exit(130)
