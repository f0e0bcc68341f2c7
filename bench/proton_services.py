"""Hadron Proton services benchmark: GetService and ListServices as the service count grows.

Run from the repository root as ``.venv/bin/python bench/proton_services.py``. One server; for
each size (100, 1,000, 10,000 services by default) the services are added through the store
(``SqlStore.create_service``, the same transaction the API uses, in this process next to the
running server), then, with wrk over HTTPS keep-alive (``bench/run.py``'s helpers):

1. ``GET /_hadron/health`` (the transport baseline, measured again at every size),
2. a signed ``proton:GetService`` by the admin (SigV4, IAM policy evaluation with the
   ``proton:ServiceTemplate`` lookup, the store read),
3. a signed ``proton:ListServices`` (first page, 100 summaries).

It prints req/s and the ratio to the health probe at each size, and writes
``bench/results/proton-services-latest.json``. A flat ratio across sizes means the cost of a call
does not grow with the number of services.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import run as frontdoor  # bench/run.py: server start/stop, signing, wrk, CPU accounting
from run import HOST, BenchError, Measurement, Request, Server

from hadron.bootstrap import META_ACCOUNT, DataDir
from hadron.store import SqlStore, open_store
from hadron.store.masterkey import read_ring
from vpce import signed

RESULTS_DIR = frontdoor.RESULTS_DIR
TYPE = "application/x-amz-json-1.0"


def _log(message: str) -> None:
    print(f"[proton-services] {message}", file=sys.stderr, flush=True)


def _name(i: int) -> str:
    return f"svc-{i:06d}"


def add_services(store: SqlStore, account: str, region: str, start: int, stop: int) -> None:
    now = datetime.now(UTC)
    for i in range(start, stop):
        values = {
            "account_id": account, "region": region, "name": _name(i), "description": None,
            "template_name": "bench", "spec": "proton: ServiceSpec\n",
            "repository_connection_arn": None, "repository_id": None, "branch_name": None,
            "request_hash": "bench",
        }  # fmt: skip
        store.create_service(values, [], None, tags=(), now=now, max_services=1_000_000)


def proton_call(server: Server, keys: tuple[str, str], op: str, body: dict[str, Any],
                expect: bytes) -> Request:  # fmt: skip
    headers = {"X-Amz-Target": f"AwsProton20200720.{op}", "Content-Type": TYPE}
    return signed(server, HOST, keys, "proton", json.dumps(body).encode(), headers, expect)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="100,1000,10000", help="service counts, comma-separated")
    p.add_argument("--duration", type=float, default=3.0, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per run")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-pin", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    pin = frontdoor._pinning(not args.no_pin)
    wrk_path, note = frontdoor.ensure_wrk(allow_install=False)
    if wrk_path is None:
        raise BenchError(f"wrk is needed: {note}")
    gen = frontdoor.WrkGenerator(wrk_path, args.connections, args.threads, pin)
    procs = frontdoor.Processes()
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": frontdoor.machine_info(),
        "settings": dict(vars(args)),
        "sizes": {},
    }
    with (
        tempfile.TemporaryDirectory(prefix="hadron-services-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        stack.callback(procs.stop_all)
        work = Path(tmp)
        server, ak, sk = frontdoor.start_hadron(procs, work / "data", pin)
        keys = (ak, sk)
        data = DataDir((work / "data").resolve())
        store = open_store(f"sqlite:///{data.database}", read_ring(data.master_key))
        stack.callback(store.close)
        account = store.get_meta(META_ACCOUNT)
        if account is None:
            raise BenchError("the data directory has no account")
        have = 0
        for size in sizes:
            _log(f"adding services {have} -> {size}")
            add_services(store, account, frontdoor.REGION, have, size)
            have = size
            middle = _name(size // 2)
            row: dict[str, Any] = {}
            for key, make in (
                ("health", lambda: frontdoor.health_request(server)),
                ("get_service", lambda middle=middle: proton_call(server, keys, "GetService",
                                                    {"name": middle}, b'"service"')),
                ("list_services", lambda: proton_call(server, keys, "ListServices", {},
                                                      b'"services"')),
            ):  # fmt: skip
                m: Measurement = frontdoor.measure(gen, server, make, args, work)
                if m.non_2xx:
                    raise BenchError(f"{key} answered {m.non_2xx} non-2xx responses")
                row[key] = {"rps": m.rps, "p50_ms": m.p50_ms, "server_cpu_pct": m.server_cpu_pct}
                _log(f"{size:>6} services: {key:<14} {m.rps:9.1f} req/s  p50 {m.p50_ms:.2f} ms")
            base = row["health"]["rps"]
            for key in ("get_service", "list_services"):
                row[key]["vs_health"] = row[key]["rps"] / base if base else None
            result["sizes"][str(size)] = row
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "proton-services-latest.json").write_text(
        json.dumps(result, indent=2, default=str)
    )
    print(f"{'services':>8} {'health req/s':>13} {'GetService':>11} {'ratio':>6} "
          f"{'ListServices':>13} {'ratio':>6}")  # fmt: skip
    for size, row in result["sizes"].items():
        g, lst = row["get_service"], row["list_services"]
        print(
            f"{size:>8} {row['health']['rps']:>13.1f} {g['rps']:>11.1f} {g['vs_health']:>6.3f} "
            f"{lst['rps']:>13.1f} {lst['vs_health']:>6.3f}"
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/proton_services.py: {exc}", file=sys.stderr)
        sys.exit(1)
