"""Benchmark of the vendor portal's deliveries page at 100,000 deliveries of one application.

    python bench/portal.py [--deliveries N] [--requests R] [--rounds K]

Builds a SQLite database in a temporary directory after the real migrations: two
applications with N deliveries each, interleaved (so the page must seek the
application's own rows, not walk the table), 1 to 3 attempts each, a few percent dead,
and 2,000 approving tenants for application A. Starts `tenantstatus serve` on it
pinned to one core, logs in through the portal's own form from the other core, and
sends requests over one keep-alive connection, one at a time, in K interleaved rounds:

* `/healthz`, as the baseline;
* `/portal/deliveries`: the newest page (25 deliveries with every attempt);
* `/portal/deliveries?after=...`: a page half-way down (a keyset cursor);
* `/portal/deliveries?status=dead`: a filtered page;
* `/portal` and `/portal/customers`.

Prints a markdown table of client-side latency (p50, p90, p99) with each route's median
as a ratio to `/healthz` measured in the same rounds, the server process's CPU time per
request (from /proc, which waiting on a busy machine does not inflate), and SQLite's
plans of the page's queries. Stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx2 as httpx

from tenantstatus.service.auth import hash_token
from tenantstatus.store import SqlStore
from tenantstatus.store.push_records import Application

TOKEN = "bench-operator-token"  # noqa: S105 - a throwaway token for a loopback-only server
APP_TOKEN = "tsapp_bench-application-token"  # noqa: S105 - likewise
APP_A, APP_B = "app_00000000000000aa", "app_00000000000000bb"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def migrate_and_register(database: Path, now: datetime) -> None:
    store = SqlStore(f"sqlite+aiosqlite:///{database}")
    await store.open()
    try:
        for app, token in ((APP_A, APP_TOKEN), (APP_B, "tsapp_other")):
            await store.add_application(
                Application(
                    id=app,
                    name=f"Bench {app[-2:]}",
                    url="https://hooks.example.com/n",
                    token_hash=hash_token(token),
                    secret="not-sealed-never-sent",  # noqa: S106 - never read
                    created_at=now,
                )
            )
    finally:
        await store.close()


def insert_rows(database: Path, per_app: int, now: datetime) -> None:
    """Deliveries (interleaved A, B), their attempts, and A's customers, straight in."""
    rng = random.Random(7)
    start = micros(now - timedelta(days=30))
    step = (micros(now) - start) // (2 * per_app)
    with sqlite3.connect(database) as connection:
        tenants = [
            (f"Cust{n:05d}", f"https://sod2.example.com/Cust{n:05d}", rng.choice((2, 2, 2, 4)))
            for n in range(2000)
        ]
        connection.executemany(
            "INSERT INTO tenants (context_identifier, endpoint, state, state_since, created_at, "
            "updated_at, version_name, file_version, version_document, revision) "
            "VALUES (?, ?, ?, ?, ?, ?, 'R1', '1.0', '{}', 1)",
            [(c, e, s, start, start, start) for c, e, s in tenants],
        )
        connection.executemany(
            "INSERT INTO approvals (application_id, context_identifier, approved_at) "
            "VALUES (?, ?, ?)",
            [(APP_A, c, start) for c, _, _ in tenants],
        )
        deliveries, attempts = [], []
        for seq in range(1, 2 * per_app + 1):
            app = APP_A if seq % 2 else APP_B
            at = start + seq * step
            dead = rng.random() < 0.03
            tries = 3 if dead else rng.choice((1, 1, 1, 2))
            deliveries.append(
                (seq, f"msg_{seq:032x}", app, tenants[seq % 2000][0], seq, 3, "R1", "1.0",
                 "dead" if dead else "delivered", tries, at, at, at + 1000,
                 500 if dead else 200)
            )  # fmt: skip
            for n in range(tries):
                attempts.append(
                    (seq, at + n * 1000, 500 if dead else 200, rng.randint(2, 80),
                     "<html>busy</html>" if dead else '{"status":"ok"}')
                )  # fmt: skip
        connection.executemany(
            "INSERT INTO deliveries (seq, id, application_id, context_identifier, history_id, "
            "change_type, version_name, file_version, status, attempts, next_attempt_at, "
            "created_at, finished_at, last_status) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            deliveries,
        )
        connection.executemany(
            "INSERT INTO delivery_attempts (delivery_seq, at, status_code, latency_ms, "
            "response_excerpt) VALUES (?, ?, ?, ?, ?)",
            attempts,
        )
        connection.execute("ANALYZE")


def query_plans(database: Path, after: int) -> list[str]:
    """SQLite's plans for the deliveries page's two reads."""
    with sqlite3.connect(database) as connection:
        plans = []
        for sql, parameters in (
            (
                "SELECT seq FROM deliveries WHERE application_id = ? AND seq < ? "
                "ORDER BY seq DESC LIMIT 26",
                (APP_A, after),
            ),
            ("SELECT count(*) FROM delivery_attempts WHERE delivery_seq = 5", ()),
            (
                "SELECT * FROM delivery_attempts WHERE delivery_seq IN (1, 3, 5) "
                "ORDER BY delivery_seq, id",
                (),
            ),
        ):
            rows = connection.execute("EXPLAIN QUERY PLAN " + sql, parameters).fetchall()
            plans.append("; ".join(str(row[-1]) for row in rows))
        return plans


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def log_in(client: httpx.Client) -> None:
    form = client.get("/portal/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    answer = client.post("/portal/login", data={"csrf": csrf.group(1), "token": APP_TOKEN})
    if answer.status_code != 303:
        raise RuntimeError(f"login: {answer.status_code} {answer.text[:300]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=100_000, help="per application")
    parser.add_argument("--requests", type=int, default=100, help="per route and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-portal-"))
    data = root / "data"
    data.mkdir(mode=0o700)
    database = data / "tenantstatus.db"
    now = datetime.now(UTC)
    process: subprocess.Popen[bytes] | None = None
    try:
        anyio.run(migrate_and_register, database, now)
        built = time.perf_counter()
        insert_rows(database, args.deliveries, now)
        built = time.perf_counter() - built
        middle = args.deliveries  # A's rows are the odd seqs up to 2N: half-way down
        plans = query_plans(database, middle)
        port = free_port()
        env = {**os.environ, "TENANTSTATUS_OPERATOR_TOKEN": TOKEN}
        cpus = os.sched_getaffinity(0)
        server_cpu, client_cpu = (min(cpus), max(cpus)) if len(cpus) > 1 else (0, 0)
        log = (root / "serve.log").open("wb")
        process = subprocess.Popen(
            ["taskset", "-c", str(server_cpu), sys.executable, "-m", "tenantstatus",
             "serve", "--port", str(port), "--data-dir", str(data), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        os.sched_setaffinity(0, {client_cpu})
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError((root / "serve.log").read_text())
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve was not ready in 120 s")
            time.sleep(0.1)
        routes = {
            "/healthz (baseline)": "/healthz",
            "deliveries, newest page": "/portal/deliveries",
            "deliveries, half-way down (after=)": f"/portal/deliveries?after={middle}",
            "deliveries, status=dead": "/portal/deliveries?status=dead",
            "application": "/portal",
            "customers (2,000)": "/portal/customers",
        }
        latencies: dict[str, list[float]] = {name: [] for name in routes}
        cpu: dict[str, float] = dict.fromkeys(routes, 0.0)
        with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as client:
            log_in(client)
            page = client.get("/portal/deliveries")
            assert page.status_code == 200 and page.text.count('<article class="delivery"') == 25
            for path in routes.values():  # warm up
                for _ in range(10):
                    client.get(path)
            for _ in range(args.rounds):
                for name, path in routes.items():
                    used = cpu_seconds(process.pid)
                    for _ in range(args.requests):
                        started = time.perf_counter()
                        answer = client.get(path)
                        latencies[name].append((time.perf_counter() - started) * 1000)
                        if answer.status_code != 200:
                            raise RuntimeError(f"{path}: {answer.status_code}")
                    cpu[name] += cpu_seconds(process.pid) - used
        baseline = percentile(latencies["/healthz (baseline)"], 0.5)
        print(
            f"{args.deliveries:,} deliveries of the application (and as many of another, "
            f"interleaved), built in {built:.1f} s. Server on CPU {server_cpu}, client on "
            f"CPU {client_cpu}; {args.rounds} interleaved rounds of {args.requests} "
            f"requests per route; load average {os.getloadavg()[0]:.1f}.\n"
        )
        print("| route | p50 | p90 | p99 | p50 ÷ /healthz | server CPU per request |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, values in latencies.items():
            p50 = percentile(values, 0.5)
            print(
                f"| {name} | {p50:.2f} ms | {percentile(values, 0.9):.2f} ms | "
                f"{percentile(values, 0.99):.2f} ms | {p50 / baseline:.1f}x | "
                f"{cpu[name] * 1000 / len(values):.2f} ms |"
            )
        print("\nSQLite's plans:\n")
        for plan in plans:
            print(f"- `{plan}`")
        return 0
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
