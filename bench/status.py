"""Benchmark of the status page: a tenant page with 90 days of dense history (with and
without an open notice), and the operator overview over 1,000,000 tenants.

    python bench/status.py [--tenants N] [--every MINUTES] [--requests R] [--rounds K]

Builds a SQLite database in a temporary directory (N tenants written straight into
the `tenants` table after the real migrations, and one tenant whose state changes
every MINUTES for 90 days, written through `SqlStore.commit_operation`, and a second one
with the same history and an open notice of its own plus a host-wide one, each with
updates, written through the store), starts
`tenantstatus serve` on it pinned to one core, and sends requests from the other core
over one keep-alive connection, one at a time, in K interleaved rounds:

* the state API and `/healthz` on the same server, as baselines;
* `/status/{dense tenant}`: the page with the 90-day bar, and the same page of the
  tenant with open notices, side by side;
* `/status?state=…&q=…` and a next page (`after=`): filtered overview pages;
* `/status` unfiltered, `summary.json` and `badge.svg`.

It prints a markdown table of the handler's own time (the `Server-Timing` header the
status routes send: wall time, and the CPU time the server process spent meanwhile,
which other work on a busy machine does not inflate) and of the latency the client
saw, with each route's median latency as a ratio to the state API's. Stops
everything it started.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx2 as httpx

from tenantstatus.lifecycle import Operation, OperationRequest, apply
from tenantstatus.model import TenantState
from tenantstatus.store import NoticeScope, SqlStore

TOKEN = "bench-operator-token"  # noqa: S105 - a throwaway token for a loopback-only server
DENSE = "Dense0001"
NOTICED = "Dense0002"
NOTICED_HOST = "sod20.example.com"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A plausible mix of states for a large platform.
STATE_MIX = [
    (TenantState.Running, 0.90),
    (TenantState.Suspended, 0.03),
    (TenantState.OnlineMaintenance, 0.02),
    (TenantState.OfflineMaintenance, 0.01),
    (TenantState.Provisioning, 0.01),
    (TenantState.MigrationPending, 0.01),
    (TenantState.Deleted, 0.015),
    (TenantState.ProvisioningFailed, 0.005),
]


def micros(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the database ----------------------------------------------------------------------


async def seed_dense(store: SqlStore, ctx: str, host: str, now: datetime, every: timedelta) -> int:
    """Write a tenant's 90 days of dense history through the store; return the rows."""
    start = now - timedelta(days=90)

    async def run(request: OperationRequest, at: datetime) -> None:
        await store.commit_operation(
            ctx, lambda t: apply(ctx, t, request, now=at), actor="bench", at=at
        )

    await run(
        OperationRequest(
            Operation.PROVISION,
            endpoint=f"https://{host}/{ctx}",
            state=TenantState.Running,
            version_name="Release 11.10",
            file_version="11.10.2",
        ),
        start,
    )
    rows, at, online = 1, start + every, False
    while at < now:
        op = Operation.MAINTENANCE_DONE if online else Operation.MAINTENANCE_ONLINE
        await run(OperationRequest(op), at)
        online, at, rows = not online, at + every, rows + 1
    return rows


async def seed_notices(store: SqlStore, now: datetime) -> None:
    """An open notice of the noticed tenant's own and a host-wide one, with updates."""
    for scope, where in ((NoticeScope.TENANT, {"context_identifier": NOTICED}),
                         (NoticeScope.HOST, {"host": NOTICED_HOST})):  # fmt: skip
        notice = await store.post_notice(
            "Degraded: some requests are slow. Details: https://status.example.com/incident/42",
            scope=scope, posted_by="bench", at=now - timedelta(hours=2),
            until=now + timedelta(hours=1), **where,  # type: ignore[arg-type]
        )  # fmt: skip
        for minutes in (90, 60, 30):
            await store.add_notice_update(
                notice.id, f"Still investigating ({minutes} min ago).", posted_by="bench",
                at=now - timedelta(minutes=minutes),
            )  # fmt: skip


async def migrate_and_seed_dense(database: Path, now: datetime, every: timedelta) -> int:
    """Apply the migrations, then write both dense tenants and the notices."""
    store = SqlStore(f"sqlite+aiosqlite:///{database}")
    await store.open()
    try:
        rows = await seed_dense(store, DENSE, "sod2.example.com", now, every)
        await seed_dense(store, NOTICED, NOTICED_HOST, now, every)
        await seed_notices(store, now)
        return rows
    finally:
        await store.close()


def insert_tenants(database: Path, count: int, now: datetime) -> None:
    """Write `count` tenants straight into the table, 50,000 rows a transaction."""
    rng = random.Random(7)
    states = [int(s) for s, _ in STATE_MIX]
    weights = [w for _, w in STATE_MIX]
    stamp = micros(now - timedelta(days=30))
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        for start in range(0, count, 50_000):
            rows = []
            for i in range(start, min(start + 50_000, count)):
                ctx = f"Cust{i:07d}"
                state = rng.choices(states, weights)[0]
                since = stamp - rng.randrange(0, 86_400_000_000 * 300)
                rows.append(
                    (ctx, f"https://sod{i % 9}.example.com/{ctx}", state, since, since, since,
                     "Release 11.10", "11.10.2", "{}", i + 10)
                )  # fmt: skip
            connection.executemany(
                "INSERT INTO tenants (context_identifier, endpoint, state, state_since, "
                "created_at, updated_at, version_name, file_version, version_document, revision)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            connection.commit()


def query_plans(database: Path) -> list[str]:
    """SQLite's plan for the overview's filtered page and the history window."""
    with sqlite3.connect(database) as connection:
        plans = []
        for sql in (
            "SELECT context_identifier FROM tenants WHERE state = 4 AND "
            "context_identifier >= 'Cust01' AND context_identifier < 'Cust02' "
            "AND context_identifier > 'Cust010' ORDER BY context_identifier LIMIT 51",
            "SELECT at, to_state FROM tenant_history WHERE context_identifier = 'x' "
            "AND at >= 0 ORDER BY at, id",
        ):
            rows = connection.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            plans.append("; ".join(str(row[-1]) for row in rows))
        return plans


# --- measuring -------------------------------------------------------------------------


@dataclass
class Series:
    """Latencies (client) and handler times (server) of one kind of request."""

    name: str
    client_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def server_timing(response: httpx.Response) -> dict[str, float]:
    """`Server-Timing: app;dur=1.2, cpu;dur=0.9` as {"app": 1.2, "cpu": 0.9}."""
    timings = {}
    for metric in response.headers.get("server-timing", "").split(","):
        name, _, duration = metric.strip().partition(";dur=")
        if duration:
            timings[name] = float(duration)
    return timings


def measure(client: httpx.Client, series: Series, urls: Callable[[int], str], count: int) -> None:
    for i in range(count):
        url = urls(i)
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
        series.client_ms.append(elapsed)
        timings = server_timing(response)
        if "app" in timings:
            series.server_ms.append(timings["app"])
            series.cpu_ms.append(timings["cpu"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=1_000_000)
    parser.add_argument("--every", type=float, default=15.0, help="minutes between changes")
    parser.add_argument("--requests", type=int, default=200, help="per route and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-status-"))
    data = root / "data"
    data.mkdir(mode=0o700)
    database = data / "tenantstatus.db"
    now = datetime.now(UTC)
    process: subprocess.Popen[bytes] | None = None
    try:
        t0 = time.perf_counter()
        history_rows = anyio.run(
            migrate_and_seed_dense, database, now, timedelta(minutes=args.every)
        )
        t1 = time.perf_counter()
        insert_tenants(database, args.tenants, now)
        t2 = time.perf_counter()
        port = free_port()
        env = {**os.environ, "TENANTSTATUS_OPERATOR_TOKEN": TOKEN}
        cpus = os.sched_getaffinity(0)
        server_cpu, client_cpu = (min(cpus), max(cpus)) if len(cpus) > 1 else (0, 0)
        log = (root / "serve.log").open("wb")
        process = subprocess.Popen(
            ["taskset", "-c", str(server_cpu), sys.executable, "-m", "tenantstatus", "serve",
             "--port", str(port), "--data-dir", str(data), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        os.sched_setaffinity(0, {client_cpu})
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 600
        while True:
            if process.poll() is not None:
                raise RuntimeError((root / "serve.log").read_text())
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve was not ready in 600 s")
            time.sleep(0.2)
        t3 = time.perf_counter()

        rng = random.Random(11)
        n = args.tenants
        prefixes = [f"Cust{rng.randrange(0, min(n, 9_999_999) // 1000):04d}" for _ in range(64)]
        states = ["Suspended", "OfflineMaintenance", "Running", "ProvisioningFailed"]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            # One page to find a cursor for "next page" requests.
            after = [f"Cust{rng.randrange(0, n):07d}" for _ in range(64)]
            routes: list[tuple[Series, Callable[[int], str]]] = [
                (Series("state API (baseline)"), lambda i: f"/api/state/Cust{i * 7919 % n:07d}"),
                (Series("/healthz (FastAPI baseline)"), lambda i: "/healthz"),
                (
                    Series(f"tenant page, {history_rows:,} changes in 90 days"),
                    lambda i: f"/status/{DENSE}",
                ),
                (
                    Series("same history + open notice and host notice (3 updates each)"),
                    lambda i: f"/status/{NOTICED}",
                ),
                (
                    Series("overview: state filter + prefix"),
                    lambda i: f"/status?state={states[i % 4]}&q={prefixes[i % 64]}",
                ),
                (
                    Series("overview: state filter, next page"),
                    lambda i: f"/status?state={states[i % 4]}&after={after[i % 64]}",
                ),
                (Series("overview: first page, no filter"), lambda i: "/status"),
                (Series("summary.json (dense tenant)"), lambda i: f"/status/{DENSE}/summary.json"),
                (Series("badge.svg"), lambda i: f"/status/Cust{i * 7919 % n:07d}/badge.svg"),
            ]
            for _series, urls in routes:  # warm up: templates, caches, connections
                measure(client, Series("warm-up"), urls, 20)
            load_before = Path("/proc/loadavg").read_text().split()[:3]
            for _ in range(args.rounds):
                for series, urls in routes:
                    measure(client, series, urls, args.requests)
            load_after = Path("/proc/loadavg").read_text().split()[:3]
            # The overview's counts per state are taken from the state cache at most every
            # 5 s; the request that retakes them pays for counting every cached tenant.
            recount = Series("overview: the request that recounts the states")
            for _ in range(3):
                time.sleep(5.2)
                measure(client, recount, lambda i: "/status?state=Suspended", 1)
            routes.append((recount, lambda i: ""))
        baseline = statistics.median(routes[0][0].client_ms)
        print(f"# Status page benchmark ({args.tenants:,} tenants)\n")
        print(
            f"Setup: dense history {history_rows:,} rows in {t1 - t0:.1f} s; "
            f"{args.tenants:,} tenants inserted in {t2 - t1:.1f} s; "
            f"serve ready (state cache loaded) in {t3 - t2:.1f} s. "
            f"Server on CPU {server_cpu}, client on CPU {client_cpu}; "
            f"{args.rounds} interleaved rounds x {args.requests} sequential requests "
            "per route over one keep-alive connection. "
            f"Load average before/after: {' '.join(load_before)} / {' '.join(load_after)} "
            f"(on {os.cpu_count()} cores; other work on the machine counts too).\n"
        )
        print(
            "| route | handler p50 ms | handler p90 ms | handler p99 ms | handler max ms | "
            "handler CPU p50 ms | client p50 ms | client p99 ms | client p50 / state API |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for series, _ in routes:
            if series.server_ms:
                handler = (
                    f"{percentile(series.server_ms, 0.5):.2f} | "
                    f"{percentile(series.server_ms, 0.9):.2f} | "
                    f"{percentile(series.server_ms, 0.99):.2f} | "
                    f"{max(series.server_ms):.2f} | "
                    f"{percentile(series.cpu_ms, 0.5):.2f}"
                )
            else:
                handler = "- | - | - | - | -"
            client_p50 = statistics.median(series.client_ms)
            print(
                f"| {series.name} | {handler} | {client_p50:.2f} | "
                f"{percentile(series.client_ms, 0.99):.2f} | {client_p50 / baseline:.1f}x |"
            )
        print("\nSQLite query plans:\n")
        for plan in query_plans(database):
            print(f"- `{plan}`")
        return 0
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
