"""Benchmark of creating a rollout over 100,000 tenants (issue #16; target: 5 s at most).

    python bench/rollout.py [--tenants N] [--small M] [--rounds K]

Builds a SQLite database after the real migrations with N + M Running tenants (N on
sod2, M on sod3), starts `tenantstatus serve` on it and, in K interleaved rounds,
creates a rollout over the M tenants of sod3 and one over the N of sod2 through
`POST /admin/rollouts` (an upgrade with a message, so each tenant gets its scheduled
operation and its notice), then aborts each (which frees its tenants for the next
round). Prints a markdown table of wall time per creation and per abort, with the
N-tenant creation as a ratio to the M-tenant one measured in the same rounds, and the
server process's CPU time per call (from /proc, which waiting on a busy machine does
not inflate). Stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Processes, admin_headers, cpu_of, start_service, table

from tenantstatus.lifecycle import Operation, OperationRequest, apply
from tenantstatus.model import TenantState
from tenantstatus.store import SqlStore


async def _seed(database: Path, hosts: dict[str, int]) -> None:
    store = SqlStore(f"sqlite+aiosqlite:///{database}")
    await store.open()
    now = datetime.now(UTC)
    try:
        for host, count in hosts.items():
            prefix = host.split(".")[0].capitalize()
            tenants = [
                apply(
                    f"{prefix}{i:06d}",
                    None,
                    OperationRequest(
                        Operation.PROVISION,
                        endpoint=f"https://{host}/{prefix}{i:06d}",
                        state=TenantState.Running,
                        version_name="Release 11.10",
                        file_version="11.10.1",
                    ),
                    now=now,
                ).tenant
                for i in range(count)
            ]
            for start in range(0, count, 20_000):
                await store.import_tenants(tenants[start : start + 20_000], actor="bench", at=now)
    finally:
        await store.close()


def _post(url: str, body: object | None = None) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=data if data is not None else b"",
        method="POST",
        headers={**admin_headers(), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - loopback
        answer: dict[str, object] = json.loads(response.read())
    return answer


def _body(host: str, count: int) -> dict[str, object]:
    start = datetime.now(UTC) + timedelta(days=1)
    return {
        "Operation": "upgrade",
        "VersionName": "Release 11.11",
        "FileVersion": "11.11.0",
        "Message": "Upgrading to 11.11 tonight.",
        "Select": {"Host": host, "Version": "11.10*"},
        "Start": start.isoformat(),
        "WindowEnd": (start + timedelta(hours=8)).isoformat(),
        "BatchSize": max(1, count // 100),
        "MaxInProgress": max(1, count // 50),
        "ExpectedDuration": 240,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as root:
        data = Path(root) / "data"
        data.mkdir(mode=0o700)
        asyncio.run(
            _seed(
                data / "tenantstatus.db",
                {"sod2.example.com": args.tenants, "sod3.example.com": args.small},
            )
        )
        try:
            service = start_service(procs, "serve", data, {})
            times: dict[str, list[float]] = {}
            cpus: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for host, count in (
                    ("sod3.example.com", args.small),
                    ("sod2.example.com", args.tenants),
                ):
                    for what in ("create", "abort"):
                        key = f"{what} over {count:,}"
                        before_cpu = cpu_of(service.proc.pid)
                        started = time.perf_counter()
                        if what == "create":
                            answer = _post(f"{service.url}/admin/rollouts", _body(host, count))
                            assert answer["TenantCount"] == count, answer["TenantCount"]
                            rollout_id = answer["Id"]
                        else:
                            _post(f"{service.url}/admin/rollouts/{rollout_id}/abort")
                        times.setdefault(key, []).append(time.perf_counter() - started)
                        cpus.setdefault(key, []).append(cpu_of(service.proc.pid) - before_cpu)
        finally:
            procs.stop_all()
    small = statistics.median(times[f"create over {args.small:,}"])
    rows = [
        (
            key,
            f"{statistics.median(values):.2f} s",
            f"{max(values):.2f} s",
            f"{statistics.median(values) / small:.1f}x",
            f"{statistics.median(cpus[key]):.2f} s",
        )
        for key, values in times.items()
    ]
    print(table(("call", "median", "max", f"÷ create over {args.small:,}", "server CPU"), rows))


if __name__ == "__main__":
    main()
