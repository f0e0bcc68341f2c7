"""Hadron VPC endpoint benchmark: the endpoint listener vs the public one, and idle endpoints.

Run from the repository root as ``.venv/bin/python bench/vpce.py``. In one run it measures,
with wrk over HTTPS keep-alive (``bench/run.py``'s helpers, server and load generator pinned to
different cores):

1. a signed ``proton:ListEnvironmentTemplates`` by the admin (AdministratorAccess) on the public
   listener, and the same call through a Proton interface endpoint's listener whose endpoint
   policy is the issue's example (``proton:List*``, ``proton:Get*``): identity policy + endpoint
   policy + security-group admission on connect. Both answer the (empty) template list (the
   benchmark checks that answer, and that a call outside the endpoint policy is refused through
   the endpoint). The rounds
   alternate (public, endpoint, public, endpoint, ...) so drift hits both alike. Target: the
   endpoint within 10 % of the public listener.
2. signed ``sts:GetCallerIdentity`` on the public listener with no endpoint, then with 100 more
   endpoints (100 more listeners) open. Target: no measurable difference (within noise, 5 %).

It prints a table and writes ``bench/results/vpce-latest.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import ssl
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import run as frontdoor  # bench/run.py: server start/stop, signing, wrk, CPU accounting
from run import HOST, REGION, BenchError, Measurement, Request, Server

RESULTS_DIR = frontdoor.RESULTS_DIR
PROTON_TARGET = "AwsProton20200720.ListEnvironmentTemplates"
PROTON_TYPE = "application/x-amz-json-1.0"
SEED_POLICY = {
    "Statement": [
        {
            "Sid": "ProtonReadOnly",
            "Principal": "*",
            "Action": ["proton:List*", "proton:Get*"],
            "Effect": "Allow",
            "Resource": "*",
        }
    ]
}


def _log(message: str) -> None:
    print(f"[vpce] {message}", file=sys.stderr, flush=True)


@dataclass
class At(Server):
    """The same server, reached on another local address (an endpoint's listener)."""

    address: str = HOST

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.address}:{self.port}"


def signed(
    server: Server,
    host: str,
    keys: tuple[str, str],
    service: str,
    body: bytes,
    headers: dict[str, str],
    expect: bytes,
) -> Request:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    aws_request = AWSRequest(
        method="POST", url=f"https://{host}:{server.port}/", data=body, headers=headers
    )
    SigV4Auth(Credentials(*keys), service, REGION).add_auth(aws_request)
    out = [("Host", f"{host}:{server.port}")]
    out += [(str(k), str(v)) for k, v in aws_request.headers.items()]
    return Request("POST", "/", tuple(out), body, expect=expect)


def proton_request(
    server: Server, host: str, keys: tuple[str, str], target: str = PROTON_TARGET
) -> Request:
    headers = {"X-Amz-Target": target, "Content-Type": PROTON_TYPE}
    body = b"{}" if target == PROTON_TARGET else b'{"name":"bench"}'
    return signed(server, host, keys, "proton", body, headers, b'"templates"')


def send(server: Server, host: str, req: Request) -> tuple[int, bytes]:
    ctx = ssl.create_default_context(cafile=str(server.ca_file))
    ctx.check_hostname = False  # the endpoint certificate names its own address
    conn = http.client.HTTPSConnection(host, server.port, timeout=10, context=ctx)
    try:
        conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for k, v in req.headers:
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(req.body)))
        conn.endheaders(req.body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def ec2(server: Server, keys: tuple[str, str], **params: str) -> str:
    body = "&".join(f"{k}={v}" for k, v in {"Version": "2016-11-15", **params}.items()).encode()
    req = signed(server, HOST, keys, "ec2", body, {"Content-Type": frontdoor.FORM_TYPE}, b"")
    status, answer = send(server, HOST, req)
    if status != 200:
        raise BenchError(f"EC2 {params.get('Action')} answered {status}: {answer[:300]!r}")
    return answer.decode()


def _find(text: str, tag: str) -> str:
    start = text.index(f"<{tag}>") + len(tag) + 2
    return text[start : text.index(f"</{tag}>", start)]


def measure(
    gen: Any, server: Server, make: Any, args: argparse.Namespace, work: Path
) -> Measurement:
    if args.warmup > 0:
        gen.run(server, make(), args.warmup, work)
    cpu: dict[str, float] = {}
    with frontdoor.cpu_accounting(server, cpu):
        m: Measurement = gen.run(server, make(), args.duration, work)
    m.server_cpu_pct = cpu.get("server_cpu_pct")
    m.other_cpu_pct = cpu.get("other_cpu_pct")
    if not server.alive():
        raise BenchError(f"hadron died during the run:\n{frontdoor._tail(server.log_file)}")
    return m


def combine(rounds: list[Measurement]) -> dict[str, Any]:
    requests = sum(m.requests for m in rounds)
    duration = sum(m.duration_s for m in rounds)
    p50 = sorted(m.p50_ms for m in rounds)[len(rounds) // 2]
    # Server CPU per request: less sensitive than req/s to other processes on a shared machine.
    cpu_ms = [
        m.server_cpu_pct * 10 / m.rps for m in rounds if m.server_cpu_pct is not None and m.rps
    ]
    return {
        "rps": requests / duration if duration else 0.0,
        "server_cpu_ms_per_request": sorted(cpu_ms)[len(cpu_ms) // 2] if cpu_ms else None,
        "p50_ms": p50,
        "rounds_rps": [round(m.rps, 1) for m in rounds],
        "server_cpu_pct": [m.server_cpu_pct for m in rounds],
        "other_cpu_pct": [m.other_cpu_pct for m in rounds],
        "non_2xx": sum(m.non_2xx for m in rounds),
        "requests": requests,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measured round")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds per target")
    p.add_argument("--endpoints", type=int, default=100, help="idle endpoints for part 2")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-pin", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pin = frontdoor._pinning(not args.no_pin)
    wrk_path, note = frontdoor.ensure_wrk(allow_install=False)
    if wrk_path is None:
        raise BenchError(f"wrk is needed: {note}")
    gen = frontdoor.WrkGenerator(wrk_path, args.connections, args.threads, pin)
    procs = frontdoor.Processes()
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": frontdoor.machine_info(),
        "settings": {k: v for k, v in vars(args).items()},
    }
    with (
        tempfile.TemporaryDirectory(prefix="hadron-vpce-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        stack.callback(procs.stop_all)
        work = Path(tmp)
        server, ak, sk = frontdoor.start_hadron(procs, work / "data", pin)
        keys = (ak, sk)
        _log(f"hadron on {server.base_url}")
        vpc = _find(ec2(server, keys, Action="CreateVpc", CidrBlock="10.0.0.0/16"), "vpcId")
        subnet = _find(
            ec2(server, keys, Action="CreateSubnet", VpcId=vpc, CidrBlock="10.0.1.0/24"), "subnetId"
        )
        group = _find(
            ec2(
                server,
                keys,
                Action="CreateSecurityGroup",
                GroupName="bench",
                GroupDescription="bench",
                VpcId=vpc,
            ),
            "groupId",
        )
        ec2(
            server,
            keys,
            Action="AuthorizeSecurityGroupIngress",
            GroupId=group,
            **{
                "IpPermissions.1.IpProtocol": "tcp",
                "IpPermissions.1.FromPort": str(server.port),
                "IpPermissions.1.ToPort": str(server.port),
                "IpPermissions.1.IpRanges.1.CidrIp": "127.0.0.0/8",
            },
        )
        from urllib.parse import quote

        created = ec2(
            server,
            keys,
            Action="CreateVpcEndpoint",
            VpcId=vpc,
            ServiceName=f"com.amazonaws.{REGION}.proton",
            VpcEndpointType="Interface",
            PolicyDocument=quote(json.dumps(SEED_POLICY), safe=""),
            **{"SubnetId.1": subnet, "SecurityGroupId.1": group},
        )
        endpoint_id = _find(created, "vpcEndpointId")
        address = _find(
            ec2(
                server,
                keys,
                Action="DescribeNetworkInterfaces",
                **{"Filter.1.Name": "vpc-id", "Filter.1.Value.1": vpc},
            ),
            "privateIpAddress",
        )
        through = At(
            server.name,
            server.proc,
            server.log_file,
            server.scheme,
            server.port,
            server.ca_file,
            address=address,
        )
        # Sanity: allowed calls pass both ways; outside the endpoint policy is refused there.
        for host in (HOST, address):
            status, body = send(server, host, proton_request(server, host, keys))
            if status != 200 or b'"templates"' not in body:
                raise BenchError(f"unexpected answer via {host}: {status} {body[:200]!r}")
        status, body = send(
            server,
            address,
            proton_request(server, address, keys, "AwsProton20200720.DeleteEnvironment"),
        )
        if b"VPC endpoint policy" not in body:
            raise BenchError(f"the endpoint policy is not applied: {status} {body[:300]!r}")
        _log(f"endpoint {endpoint_id} listens on {address}:{server.port}")

        public_rounds: list[Measurement] = []
        endpoint_rounds: list[Measurement] = []
        for i in range(args.rounds):
            _log(f"round {i + 1}/{args.rounds}: public, then endpoint")
            public_rounds.append(
                measure(gen, server, lambda: proton_request(server, HOST, keys), args, work)
            )
            endpoint_rounds.append(
                measure(gen, through, lambda: proton_request(server, address, keys), args, work)
            )
        public = combine(public_rounds)
        endpoint = combine(endpoint_rounds)
        result["proton_public"] = public
        result["proton_endpoint"] = endpoint
        result["endpoint_vs_public"] = endpoint["rps"] / public["rps"] if public["rps"] else None

        sts = lambda: frontdoor.signed_sts_request(server, ak, sk)  # noqa: E731
        before = combine([measure(gen, server, sts, args, work) for _ in range(args.rounds)])
        _log(f"opening {args.endpoints} more endpoints")
        for _ in range(args.endpoints):
            ec2(
                server,
                keys,
                Action="CreateVpcEndpoint",
                VpcId=vpc,
                ServiceName=f"com.amazonaws.{REGION}.proton",
                VpcEndpointType="Interface",
                PrivateDnsEnabled="false",
                **{"SubnetId.1": subnet, "SecurityGroupId.1": group},
            )
        after = combine([measure(gen, server, sts, args, work) for _ in range(args.rounds)])
        result["sts_public_no_endpoints"] = before
        result["sts_public_with_endpoints"] = after
        result["with_vs_without_endpoints"] = (
            after["rps"] / before["rps"] if before["rps"] else None
        )

    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "vpce-latest.json").write_text(json.dumps(result, indent=2, default=str))
    print(f"{'target':<48} {'req/s':>9} {'p50 ms':>8} {'cpu ms/req':>10}  rounds")
    for key, label in (
        ("proton_public", "proton ListEnvironmentTemplates, public listener"),
        ("proton_endpoint", "  same, through the endpoint listener"),
        ("sts_public_no_endpoints", "sts GetCallerIdentity, public, 1 endpoint"),
        ("sts_public_with_endpoints", f"  same with {args.endpoints} more endpoints open"),
    ):
        row = result[key]
        cpu = row["server_cpu_ms_per_request"]
        cpu_text = "-" if cpu is None else f"{cpu:.3f}"
        print(
            f"{label:<48} {row['rps']:>9.1f} {row['p50_ms']:>8.2f} {cpu_text:>10}  "
            f"{row['rounds_rps']}"
        )
    ratio = result["endpoint_vs_public"]
    idle = result["with_vs_without_endpoints"]
    print(
        f"endpoint / public: {ratio:.3f} (target >= 0.90: {'met' if ratio >= 0.9 else 'NOT met'})"
    )
    print(f"with / without {args.endpoints} endpoints: {idle:.3f}")
    a = result["proton_public"]["server_cpu_ms_per_request"]
    b = result["proton_endpoint"]["server_cpu_ms_per_request"]
    if a and b:
        print(f"server CPU per request, endpoint / public: {b / a:.3f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/vpce.py: {exc}", file=sys.stderr)
        sys.exit(1)
