"""Benchmark of several nodes on one PostgreSQL (issue 7).

    python bench/nodes.py [--deliveries N] [--rounds R] [--changes N] [--alg RS256|ES256]

Starts everything itself on 127.0.0.1 (a private PostgreSQL cluster made with initdb,
durable settings, `pg_stat_statements` loaded; `tenantstatus serve` nodes; a SQLite
`serve` for comparison; a minimal receiver), in a temporary directory, and stops
everything it started. Prints markdown tables of:

1. state API throughput of one node on PostgreSQL and of one on SQLite: wrk, 64
   connections, one thread, 10 s, random tenants of 1,000, interleaved rounds; the
   server pinned to core 0 and wrk to core 1;
2. change propagation: an operation through node A's operator API, then node B's state
   API polled in a tight loop until it answers the new state; latency from the history
   row's `At` (before A's transaction began) and from A's 200 answer to the first
   answer of B with the new state; idle nodes, one change at a time;
3. delivery throughput of a fan-out (default 10,000 deliveries: 100 applications x 100
   tenants x 1 operation, operations spread over the nodes) with 1 and 2 nodes on the
   same database, interleaved; nothing pinned, so nodes, PostgreSQL, the receiver and
   this driver share the 2 cores as they would; CPU seconds per group from /proc
   (PostgreSQL: the postmaster and every backend), statements and transactions from
   `pg_stat_statements` and `pg_stat_database`, and from them the cost per delivery
   and a model for N nodes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

SERVER_CPU = "0"
LOAD_CPU = "1"
PHASE_LIMIT = 120.0
WRK_TENANTS = 1000
TARGET_PROPAGATION_P99_MS = 100
TARGET_SCALE = 1.5

WRK_LUA = """\
local n = {n}
local prefix, suffix
function init(args)
  math.randomseed({seed})
  prefix = "GET /api/state/Cust"
  suffix = " HTTP/1.1\\r\\nHost: " .. wrk.host .. ":" .. wrk.port .. "\\r\\n\\r\\n"
end
function request()
  return prefix .. math.random(1, n) .. suffix
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests":%d,"duration_us":%d,"errors":%d,"status":%d,' ..
    '"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""

# Unless --untuned: autovacuum looks every second and analyzes `deliveries` after 500
# changed rows, so the claim query is planned with statistics that know the fan-out's
# due rows (see the claim plan table for what happens otherwise).
AUTOVACUUM_SERVER = ("autovacuum_naptime=1s",)
AUTOVACUUM_TABLE = (
    "ALTER TABLE deliveries SET (autovacuum_analyze_threshold = 500, "
    "autovacuum_analyze_scale_factor = 0, autovacuum_vacuum_scale_factor = 0.02)"
)

# Statements this driver sends itself, left out of the per-delivery counts.
OBSERVER_ROLE = "bench_observer"


@dataclass
class WrkResult:
    store: str
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cores: float
    others: float


@dataclass
class Propagation:
    from_at_ms: list[float] = field(default_factory=list)
    from_answer_ms: list[float] = field(default_factory=list)


@dataclass
class Throughput:
    nodes: int
    round: int
    deliveries: int
    seconds: float
    steady: float
    cpu: dict[str, float]
    statements: int
    transactions: int
    top: list[tuple[str, int, float]]

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds

    def per_delivery_ms(self, key: str) -> float:
        return 1000 * self.cpu.get(key, 0.0) / self.deliveries

    @property
    def claim_ms(self) -> float:
        """Mean execution time of the claim query in this run."""
        calls = [(c, ms) for text, c, ms in self.top if _is_claim(text)]
        return sum(ms for _, ms in calls) / max(sum(c for c, _ in calls), 1)

    @property
    def node_cpu(self) -> float:
        return sum(v for k, v in self.cpu.items() if k.startswith("node "))


def _is_claim(query: str) -> bool:
    return query.startswith("SELECT deliveries.seq") and "SKIP LOCKED" in query


class Bench:
    def __init__(
        self, args: argparse.Namespace, root: Path, procs: h.Processes, pg: h.Postgres
    ) -> None:
        from cryptography.fernet import Fernet

        self.args = args
        self.root = root
        self.procs = procs
        self.pg = pg
        self.database = "bench"
        asyncio.run(self._create_database())
        self.env = {
            "TENANTSTATUS_DATABASE_URL": self.pg.url(self.database),
            "TENANTSTATUS_SECRET_KEY": Fernet.generate_key().decode(),
            "TENANTSTATUS_PUBLIC_URL": "http://127.0.0.1:1/nodes",
            "TENANTSTATUS_SIGNING_ALG": args.alg,
        }
        self.ports = [h.free_port(), h.free_port()]
        self.nodes: list[h.Service | None] = [None, None]
        self.receiver = h.start_receiver(procs, root)
        self.meter = h.CpuMeter(
            {
                "node A": h.Group(lambda: self._pid(0)),
                "node B": h.Group(lambda: self._pid(1)),
                "PostgreSQL": self.pg.group(),
                "receiver": h.procs_group(self.receiver.proc),  # type: ignore[attr-defined]
            }
        )
        self.state: dict[str, str] = {}
        self.wrk: list[WrkResult] = []
        self.propagation = Propagation()
        self.throughput: list[Throughput] = []
        self.setup_seconds = 0.0
        self.claim_plans: list[ClaimPlan] = []
        self.failures: list[str] = []

    def _pid(self, n: int) -> list[int]:
        node = self.nodes[n]
        return [node.proc.pid] if node is not None and node.proc.poll() is None else []

    # --- PostgreSQL ---------------------------------------------------------------------

    async def _create_database(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        connection = await asyncpg.connect(self.pg.url())
        try:
            await connection.execute(f'CREATE DATABASE "{self.database}"')
            await connection.execute(f"CREATE ROLE {OBSERVER_ROLE} LOGIN SUPERUSER")
        finally:
            await connection.close()
        connection = await asyncpg.connect(self.pg.url(self.database))
        try:
            await connection.execute("CREATE EXTENSION pg_stat_statements")
        finally:
            await connection.close()

    def _observer_url(self) -> str:
        return self.pg.url(self.database).replace("postgres@", f"{OBSERVER_ROLE}@")

    # --- nodes --------------------------------------------------------------------------

    def start_node(self, n: int, *, cpus: str | None = None) -> h.Service:
        node = self.nodes[n]
        if node is not None and node.proc.poll() is None:
            return node
        node = h.start_service(
            self.procs,
            f"node{'AB'[n]}",
            self.root / f"node{'AB'[n]}",
            self.env,
            cpus=cpus,
            port=self.ports[n],
        )
        self.nodes[n] = node
        return node

    def stop_node(self, n: int) -> None:
        node = self.nodes[n]
        if node is not None:
            self.procs.stop(node.proc)
        self.nodes[n] = None

    def next_operation(self, ctx: str) -> str:
        operation = "suspend" if self.state.get(ctx, "Running") == "Running" else "resume"
        self.state[ctx] = "Suspended" if operation == "suspend" else "Running"
        return operation

    # --- 1. state API: PostgreSQL vs SQLite -------------------------------------------

    def state_api(self) -> None:
        import httpx2 as httpx

        node = self.start_node(0)
        h.pin(node.proc.pid, SERVER_CPU)
        sqlite = h.start_service(self.procs, "sqlite", self.root / "sqlite", {}, cpus=SERVER_CPU)
        tenants = {
            "Tenants": [
                {
                    "ContextIdentifier": f"Cust{n}",
                    "Endpoint": f"https://sod.example.com/Cust{n}",
                    "State": "Running",
                }
                for n in range(1, WRK_TENANTS + 1)
            ]
        }
        for service in (node, sqlite):
            with httpx.Client(base_url=service.url, headers=h.admin_headers(), timeout=60) as c:
                c.post("/admin/tenants/import", json=tenants).raise_for_status()
        script = self.root / "state.lua"
        script.write_text(WRK_LUA.format(n=WRK_TENANTS, seed=42))
        meter = h.CpuMeter({"server": h.Group(lambda: [current.proc.pid])})
        deadline = time.monotonic() + PHASE_LIMIT
        try:
            for round_ in range(1, self.args.wrk_rounds + 1):
                for name, current in (("PostgreSQL", node), ("SQLite", sqlite)):
                    if time.monotonic() > deadline:
                        break
                    before = meter.snapshot()
                    result = run_wrk(current.url, script, self.args.wrk_seconds)
                    used = meter.usage(before, meter.snapshot())
                    self.wrk.append(
                        WrkResult(
                            name,
                            round_,
                            result["requests"] / (result["duration_us"] / 1e6),
                            result["p50_us"] / 1000,
                            result["p99_us"] / 1000,
                            result["errors"] + result["status"],
                            used["server"] / used["wall"],
                            used["others"] / used["wall"],
                        )
                    )
        finally:
            self.procs.stop(sqlite.proc)
            h.pin(node.proc.pid, "0-1")

    # --- 2. propagation ---------------------------------------------------------------

    def propagate(self) -> None:
        import httpx2 as httpx

        a = self.start_node(0)
        b = self.start_node(1)
        ctx = "Prop1"
        with httpx.Client(base_url=a.url, headers=h.admin_headers(), timeout=30) as admin:
            admin.post(
                "/admin/tenants",
                json={"ContextIdentifier": ctx, "Endpoint": "https://h/x", "State": "Running"},
            ).raise_for_status()
            poller = Poller(b.url, ctx)
            poller.start()
            try:
                poller.wait_for("Running", 10)
                deadline = time.monotonic() + PHASE_LIMIT
                for _ in range(self.args.changes):
                    if time.monotonic() > deadline:
                        break
                    operation = self.next_operation(ctx)
                    expected = self.state[ctx]
                    answer = admin.post(
                        f"/admin/tenants/{ctx}/operations", json={"Operation": operation}
                    )
                    answered = time.time()
                    answer.raise_for_status()
                    at = h.history_at(answer.json())
                    seen = poller.wait_for(expected, 10)
                    self.propagation.from_at_ms.append((seen - at) * 1000)
                    self.propagation.from_answer_ms.append((seen - answered) * 1000)
                    time.sleep(random.uniform(0.02, 0.05))
            finally:
                poller.stop()

    # --- 3. delivery throughput with 1 and 2 nodes -------------------------------------

    def setup_fan_out(self) -> None:
        a = self.start_node(0)
        b = self.start_node(1)
        apps = min(100, self.args.deliveries)
        self.tenants = max(1, self.args.deliveries // apps)
        self.deliveries = apps * self.tenants
        started = time.monotonic()
        asyncio.run(
            h.setup_fan_out(
                [a.url, b.url], self.receiver.url, apps=apps, tenants=self.tenants, prefix="fan"
            )
        )
        self.setup_seconds = time.monotonic() - started
        self.apps = apps
        if not self.args.untuned:
            asyncio.run(self._execute(AUTOVACUUM_TABLE))

    async def _execute(self, statement: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(self._observer_url())
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def fan_out(self, nodes: int, round_: int) -> Throughput:
        for n in range(2):
            if n < nodes:
                self.start_node(n)
            else:
                self.stop_node(n)
        urls = [node.url for node in self.nodes if node is not None]
        ctxs = [f"fan{n}" for n in range(self.tenants)]
        operation = ""
        for ctx in ctxs:
            operation = self.next_operation(ctx)
        h.wait_quiet(0.2, self.args.quiet_wait, self.meter)
        start = self.receiver.stats()
        asyncio.run(self._reset_statements())
        before = self.meter.snapshot()
        commits_before = asyncio.run(self._xact_commit())
        sent = time.time()
        asyncio.run(h.run_operations(urls, ctxs, operation))
        stats = self.receiver.wait_unique(start["unique"] + self.deliveries, PHASE_LIMIT)
        observer_xacts = asyncio.run(self._wait_outbox_empty())
        after = self.meter.snapshot()
        time.sleep(1.5)  # pg_stat_database is flushed by backends at most once a second
        commits = asyncio.run(self._xact_commit()) - commits_before - observer_xacts - 1
        statements, top = asyncio.run(self._statements())
        used = self.meter.usage(before, after)
        arrivals = sorted(r[0] for r in self.receiver.dump(start["count"]))
        low, high = arrivals[len(arrivals) // 10], arrivals[len(arrivals) * 9 // 10]
        return Throughput(
            nodes,
            round_,
            self.deliveries,
            stats["last"] - sent,
            (len(arrivals) * 8 // 10) / max(high - low, 1e-9),
            used,
            statements,
            commits,
            top,
        )

    async def _reset_statements(self) -> None:
        import asyncpg

        connection = await asyncpg.connect(self._observer_url())
        try:
            await connection.execute("SELECT pg_stat_statements_reset()")
        finally:
            await connection.close()

    async def _xact_commit(self) -> int:
        import asyncpg

        connection = await asyncpg.connect(self._observer_url())
        try:
            return int(
                await connection.fetchval(
                    "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", self.database
                )
            )
        finally:
            await connection.close()

    async def _wait_outbox_empty(self) -> int:
        """Wait until every outcome is written; return how many transactions that took."""
        import asyncpg

        connection = await asyncpg.connect(self._observer_url())
        xacts = 0
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                xacts += 1
                pending = await connection.fetchval(
                    "SELECT count(*) FROM deliveries WHERE status = 'pending'"
                )
                if pending == 0:
                    return xacts
                await asyncio.sleep(0.02)
        finally:
            await connection.close()
        raise RuntimeError("the outbox did not drain")

    async def _statements(self) -> tuple[int, list[tuple[str, int, float]]]:
        """Statements the nodes ran since the reset (BEGIN/COMMIT left out), and the top
        ones: (text, calls, total execution ms)."""
        import asyncpg

        connection = await asyncpg.connect(self._observer_url())
        try:
            rows = await connection.fetch(
                """
                SELECT query, calls, total_exec_time
                FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                WHERE r.rolname <> $1
                  AND upper(query) NOT IN ('BEGIN', 'COMMIT', 'ROLLBACK')
                  AND query NOT LIKE 'BEGIN%' AND query NOT LIKE 'SELECT pg_stat_%'
                ORDER BY calls DESC
                """,
                OBSERVER_ROLE,
            )
        finally:
            await connection.close()
        total = sum(int(r["calls"]) for r in rows)
        top = [(str(r["query"]), int(r["calls"]), float(r["total_exec_time"])) for r in rows]
        return total, top


@dataclass
class ClaimPlan:
    pending: int
    statistics: str
    ms: float
    plan: str


CLAIM_PLAN_SIZES = (500, 1000, 2000)


async def claim_plans(bench: Bench) -> list[ClaimPlan]:
    """Time the nodes' own claim query (its text from pg_stat_statements) with N due rows:
    with statistics taken when nothing was pending (the state between two fan-outs, once
    autovacuum has analyzed), and after ANALYZE. Nodes stopped; rows marked pending again
    and back."""
    import asyncpg

    for n in range(2):
        bench.stop_node(n)
    connection = await asyncpg.connect(bench._observer_url())
    plans: list[ClaimPlan] = []
    try:
        await connection.execute("SET statement_timeout = '60s'")
        # Autovacuum must not refresh the statistics behind our back here.
        await connection.execute("ALTER TABLE deliveries SET (autovacuum_enabled = false)")
        query = await connection.fetchval(
            "SELECT query FROM pg_stat_statements WHERE query LIKE 'SELECT deliveries.seq%' "
            "AND query LIKE '%SKIP LOCKED%' LIMIT 1"
        )
        if query is None:
            raise RuntimeError("the claim query is not in pg_stat_statements")
        now = int(time.time() * 1e6)
        sizes = [n for n in CLAIM_PLAN_SIZES if n <= bench.deliveries] or [bench.deliveries]
        for size in sizes:
            for statistics in ("taken when nothing was pending", "fresh (ANALYZE)"):
                if statistics.startswith("fresh") and size != sizes[-1]:
                    continue
                await connection.execute("ANALYZE deliveries")
                await connection.execute(
                    "UPDATE deliveries SET status = 'pending', claimed_until = NULL WHERE seq "
                    "IN (SELECT seq FROM deliveries ORDER BY seq DESC LIMIT $1)",
                    size,
                )
                if statistics.startswith("fresh"):
                    await connection.execute("ANALYZE deliveries")
                explain = await connection.prepare("EXPLAIN (ANALYZE, FORMAT JSON) " + query)
                values = [
                    {"int8": now, "bool": True, "int4": 32}.get(p.name, "pending")
                    for p in explain.get_parameters()
                ]
                plan = json.loads(await explain.fetchval(*values))[0]
                plans.append(
                    ClaimPlan(
                        size, statistics, float(plan["Execution Time"]), _plan_outline(plan["Plan"])
                    )
                )
                await connection.execute(
                    "UPDATE deliveries SET status = 'delivered' WHERE status = 'pending'"
                )
    finally:
        await connection.close()
    return plans


def _plan_outline(plan: dict[str, Any]) -> str:
    """The plan's node types, outermost first, with the rows each produced."""
    parts: list[str] = []
    todo = [plan]
    while todo:
        node = todo.pop(0)
        name = node["Node Type"]
        if node.get("Join Type", "Inner") != "Inner":
            name += f" {node['Join Type']}"
        if "Index Name" in node:
            name += f" {node['Index Name']}"
        parts.append(f"{name} ({node.get('Actual Rows', '?')})")
        todo = list(node.get("Plans", [])) + todo
    return " > ".join(parts)


class Poller:
    """Polls one node's state API for one tenant in a thread; records state changes."""

    def __init__(self, url: str, ctx: str) -> None:
        import http.client

        host, port = url.removeprefix("http://").split(":")
        self._connection = http.client.HTTPConnection(host, int(port), timeout=10)
        self._path = f"/api/state/{ctx}"
        self._state = ""
        self._changed_at = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._connection.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._connection.request("GET", self._path)
            body = self._connection.getresponse().read()
            received = time.time()
            state = json.loads(body)["State"]
            with self._lock:
                if state != self._state:
                    self._state, self._changed_at = state, received

    def wait_for(self, state: str, timeout: float) -> float:
        """Wait until the node answers `state`; return when it first did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._state == state:
                    return self._changed_at
            time.sleep(0.0002)
        raise RuntimeError(f"the node did not answer {state} within {timeout} s")


def run_wrk(url: str, script: Path, seconds: float) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    out = subprocess.run(
        [
            "taskset",
            "-c",
            LOAD_CPU,
            wrk,
            "-t1",
            "-c64",
            f"-d{seconds:g}s",
            "-s",
            str(script),
            f"{url}/",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
            return result
    raise RuntimeError(f"no summary from wrk:\n{out.stdout}\n{out.stderr}")


# --- report ------------------------------------------------------------------------------


def state_report(bench: Bench) -> str:
    args = bench.args
    out = [
        f"State API, one node, wrk -t1 -c64 -d{args.wrk_seconds:g}s, random tenants of "
        f"{WRK_TENANTS:,}; server pinned to core {SERVER_CPU}, wrk to core {LOAD_CPU}; "
        "server cores = CPU of the server process / wall time:",
        "",
        h.table(
            [
                "store",
                "round",
                "requests/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "server cores",
                "others",
            ],
            [
                [
                    w.store,
                    w.round,
                    h.fmt(w.rps),
                    f"{w.p50_ms:.2f}",
                    f"{w.p99_ms:.2f}",
                    w.errors,
                    f"{w.server_cores:.2f}",
                    f"{w.others:.2f}",
                ]
                for w in bench.wrk
            ],
        ),
    ]
    pg = [w.rps for w in bench.wrk if w.store == "PostgreSQL"]
    lite = [w.rps for w in bench.wrk if w.store == "SQLite"]
    if pg and lite:
        pg_cpu = h.median(w.rps / w.server_cores for w in bench.wrk if w.store == "PostgreSQL")
        lite_cpu = h.median(w.rps / w.server_cores for w in bench.wrk if w.store == "SQLite")
        out.append("")
        out.append(
            f"PostgreSQL / SQLite (medians): {h.median(pg) / h.median(lite):.2f}x "
            f"({h.fmt(h.median(pg))} vs {h.fmt(h.median(lite))} requests/s); per CPU-second "
            f"of the server: {h.fmt(pg_cpu)} vs {h.fmt(lite_cpu)} "
            f"({pg_cpu / lite_cpu:.2f}x)."
        )
    return "\n".join(out)


def report(bench: Bench) -> str:
    out: list[str] = []
    args = bench.args
    out.append(
        f"Several nodes on one PostgreSQL: {h.CORES} cores, shared with other users of the "
        f'machine ("others" = their CPU, in cores). PostgreSQL '
        f"{bench.pg.bindir.parent.name}, fsync and synchronous_commit on, "
        + (
            "autovacuum at its defaults"
            if args.untuned
            else "autovacuum_naptime=1s and `deliveries` analyzed after every 500 changed rows"
        )
        + f". Signing {args.alg}. Medians over rounds where several."
    )
    if bench.wrk:
        out.append("")
        out.append(state_report(bench))
    p = bench.propagation
    if p.from_at_ms:
        out.append("")
        out.append(
            "Change propagation, node A's operator API to node B's state API (B polled in a "
            "loop; an answer counts when it is read), idle nodes, one change at a time:"
        )
        out.append("")
        out.append(
            h.table(
                ["changes", "from", "p50 ms", "p90 ms", "p99 ms", "max ms"],
                [
                    [len(values), name]
                    + [f"{h.percentile(values, q):.1f}" for q in (50, 90, 99)]
                    + [f"{max(values):.1f}"]
                    for name, values in (
                        ("A's history At (before its transaction)", p.from_at_ms),
                        ("A's 200 answer", p.from_answer_ms),
                    )
                ],
            )
        )
    if bench.throughput:
        out.append("")
        out.append(throughput_report(bench))
    if bench.claim_plans:
        out.append("")
        out.append(
            "The claim query (the nodes' own text from pg_stat_statements, EXPLAIN ANALYZE, "
            "nodes stopped) with N due rows:"
        )
        out.append("")
        out.append(
            h.table(
                ["due rows", "statistics", "execution ms", "plan (rows out of each node)"],
                [
                    [f"{c.pending:,}", c.statistics, f"{c.ms:.1f}", c.plan]
                    for c in bench.claim_plans
                ],
            )
        )
    for failure in bench.failures:
        out.append("")
        out.append(f"Failed: {failure}")
    out.append("")
    out.append(targets(bench))
    return "\n".join(out)


def throughput_report(bench: Bench) -> str:
    out: list[str] = []
    out.append(
        f"Delivery throughput: fan-out of {bench.deliveries:,} deliveries ({bench.apps} "
        f"applications x {bench.tenants} tenants x 1 operation, operations spread over the "
        f"nodes), receiver on loopback, nothing pinned; setup {bench.setup_seconds:.0f} s. "
        "CPU in cores (CPU seconds / wall seconds of the run):"
    )
    out.append("")
    rows = []
    for t in bench.throughput:
        wall = t.cpu["wall"]
        rows.append(
            [
                t.nodes,
                t.round,
                h.fmt(t.rate),
                h.fmt(t.steady),
                f"{t.node_cpu / wall:.2f}",
                f"{t.cpu['PostgreSQL'] / wall:.2f}",
                f"{t.cpu['receiver'] / wall:.2f}",
                f"{t.cpu['bench'] / wall:.2f}",
                f"{t.cpu['others'] / wall:.2f}",
                f"{t.cpu['machine'] / wall:.2f}",
                f"{t.claim_ms:.1f}",
            ]
        )
    out.append(
        h.table(
            [
                "nodes",
                "round",
                "deliveries/s",
                "steady /s",
                "nodes (cores)",
                "PostgreSQL",
                "receiver",
                "driver",
                "others",
                "machine busy",
                "claim query ms/call",
            ],
            rows,
        )
    )
    out.append("")
    out.append("Cost per delivery (medians of the runs with that many nodes):")
    out.append("")
    rows = []
    for nodes in (1, 2):
        runs = [t for t in bench.throughput if t.nodes == nodes]
        if not runs:
            continue
        rows.append(
            [
                nodes,
                f"{h.median(1000 * t.node_cpu / t.deliveries for t in runs):.3f}",
                f"{h.median(t.per_delivery_ms('PostgreSQL') for t in runs):.3f}",
                f"{h.median(t.per_delivery_ms('receiver') for t in runs):.3f}",
                f"{h.median(t.statements / t.deliveries for t in runs):.2f}",
                f"{h.median(t.transactions / t.deliveries for t in runs):.3f}",
            ]
        )
    out.append(
        h.table(
            [
                "nodes",
                "node CPU ms",
                "PostgreSQL CPU ms",
                "receiver CPU ms",
                "statements",
                "transactions",
            ],
            rows,
        )
    )
    for nodes in (1, 2):
        runs = [t for t in bench.throughput if t.nodes == nodes]
        if not runs:
            continue
        last = runs[-1]
        out.append("")
        out.append(
            f"Statements of the last run with {nodes} node(s) (pg_stat_statements), per "
            f"delivery; {last.statements / last.deliveries:.2f} statements and "
            f"{last.transactions / last.deliveries:.3f} transactions per delivery in all:"
        )
        out.append("")
        out.append(
            h.table(
                ["statement", "calls/delivery", "exec ms/call", "exec ms/delivery"],
                [
                    [
                        "`" + " ".join(text.split())[:100].replace("|", "\\|") + "`",
                        f"{calls / last.deliveries:.3f}",
                        f"{ms / max(calls, 1):.3f}",
                        f"{ms / last.deliveries:.3f}",
                    ]
                    for text, calls, ms in sorted(last.top, key=lambda r: -r[2])[:8]
                ],
            )
        )
    out.append("")
    out.append(model(bench))
    return "\n".join(out)


def model(bench: Bench) -> str:
    def cost(runs: list[Throughput]) -> dict[str, float]:
        return {
            "node": h.median(1000 * t.node_cpu / t.deliveries for t in runs),
            "pg": h.median(t.per_delivery_ms("PostgreSQL") for t in runs),
            "receiver": h.median(t.per_delivery_ms("receiver") for t in runs),
            "util": h.median(t.node_cpu / t.cpu["wall"] / t.nodes for t in runs),
            "rate": h.median(t.rate for t in runs),
            "statements": h.median(t.statements / t.deliveries for t in runs),
            "xacts": h.median(t.transactions / t.deliveries for t in runs),
            "others": h.median(t.cpu["others"] / t.cpu["wall"] for t in runs),
        }

    one = [t for t in bench.throughput if t.nodes == 1]
    two = [t for t in bench.throughput if t.nodes == 2]
    if not one:
        return ""
    c1 = cost(one)
    lines = [
        "Model (from the measured costs; one node = one process = at most one core):",
        "",
        f"* one node spends {c1['node']:.2f} ms of its CPU per delivery, so a core of its own "
        f"would send {h.fmt(1000 / c1['node'])}/s; it used {c1['util']:.2f} of a core and "
        f"sent {h.fmt(c1['rate'])}/s: it waits (on the database and on its own flush "
        "timer) as much as it computes;",
        f"* PostgreSQL spends {c1['pg']:.2f} ms of CPU, {c1['statements']:.2f} statements and "
        f"{c1['xacts']:.3f} transactions per delivery with one node: one PostgreSQL core "
        f"absorbs about {h.fmt(1000 / c1['pg'])} deliveries/s;",
    ]
    if two:
        c2 = cost(two)
        lines.append(
            f"* with two nodes: {c2['node']:.2f} ms of node CPU and {c2['pg']:.2f} ms of "
            f"PostgreSQL CPU per delivery ({c2['pg'] / c1['pg']:.1f}x), "
            f"{c2['statements']:.2f} statements and {c2['xacts']:.3f} transactions; each node "
            f"used {c2['util']:.2f} of a core;"
        )
    else:
        c2 = c1
    grows = c2["pg"] > 1.3 * c1["pg"]
    lines += [
        f"* N nodes with a core each and P cores for PostgreSQL: rate(N) ~ min(N x "
        f"{h.fmt(c1['rate'])}, P x 1000 / pg_ms(N)) deliveries/s, with pg_ms(1) = "
        f"{c1['pg']:.2f} and pg_ms(2) = {c2['pg']:.2f} measured here"
        + (
            ": the database cost per delivery grew with the node count;"
            if grows
            else "; one PostgreSQL core keeps up with about "
            f"{c1['node'] / max(c1['pg'], c2['pg']):.1f} nodes that each keep a core busy "
            "(node CPU per delivery / PostgreSQL CPU per delivery);"
        ),
        f"* on this machine everything shares {h.CORES} cores, of which other users took "
        f"{c1['others']:.2f} (one node) and {c2['others']:.2f} (two nodes): with the two-node "
        f"costs, all {h.CORES} cores would give at most "
        f"{h.fmt(h.CORES * 1000 / (c2['node'] + c2['pg'] + c2['receiver']))} deliveries/s, "
        f"and what other users leave, {h.CORES - c2['others']:.2f} cores, "
        f"{h.fmt((h.CORES - c2['others']) * 1000 / (c2['node'] + c2['pg'] + c2['receiver']))}"
        "/s.",
    ]
    return "\n".join(lines)


def targets(bench: Bench) -> str:
    rows = []
    if bench.propagation.from_at_ms:
        p99 = h.percentile(bench.propagation.from_at_ms, 99)
        rows.append(
            [
                f"propagation p99 <= {TARGET_PROPAGATION_P99_MS} ms",
                f"{p99:.1f} ms (from A's At)",
                _met(p99 <= TARGET_PROPAGATION_P99_MS),
            ]
        )
    one = [t.rate for t in bench.throughput if t.nodes == 1]
    two = [t.rate for t in bench.throughput if t.nodes == 2]
    if one and two:
        ratio = h.median(two) / h.median(one)
        rows.append(
            [
                f"2 nodes >= {TARGET_SCALE}x one node",
                f"{ratio:.2f}x ({h.fmt(h.median(two))} vs {h.fmt(h.median(one))}/s)",
                _met(ratio >= TARGET_SCALE),
            ]
        )
    pg = [w for w in bench.wrk if w.store == "PostgreSQL"]
    lite = [w for w in bench.wrk if w.store == "SQLite"]
    if pg and lite:
        ratio = h.median(w.rps for w in pg) / h.median(w.rps for w in lite)
        per_cpu = h.median(w.rps / w.server_cores for w in pg) / h.median(
            w.rps / w.server_cores for w in lite
        )
        rows.append(
            [
                "state API per node on PostgreSQL = SQLite (within 10 %, per CPU-second of "
                "the server: other users take a varying share of its core)",
                f"{per_cpu:.2f}x per CPU-second; {ratio:.2f}x requests/s",
                _met(abs(per_cpu - 1) <= 0.10),
            ]
        )
    return h.table(["target", "measured", ""], rows)


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="fan-out rounds (1 and 2 nodes)")
    parser.add_argument("--changes", type=int, default=200, help="propagation samples")
    parser.add_argument("--wrk-rounds", type=int, default=3)
    parser.add_argument("--wrk-seconds", type=float, default=10)
    parser.add_argument("--alg", choices=("RS256", "ES256"), default="RS256")
    parser.add_argument(
        "--untuned",
        action="store_true",
        help="leave autovacuum at PostgreSQL's defaults (naptime 60 s, analyze at 10 %%)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=5.0,
        help="wait at most this long before a fan-out for other processes to go quiet",
    )
    parser.add_argument(
        "--skip", default="", help="comma-separated phases to skip: state,propagation,fanout"
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    h.exit_cleanly_on_signals()
    root = Path(tempfile.mkdtemp(prefix="tenantstatus-bench-nodes-"))
    procs = h.Processes()
    pg: h.Postgres | None = None
    try:
        pg = h.Postgres(root)
        pg.start([] if args.untuned else list(AUTOVACUUM_SERVER))
        bench = Bench(args, root, procs, pg)
        if "state" not in skip:
            bench.state_api()
            print("state API done", file=sys.stderr, flush=True)
        if "propagation" not in skip:
            bench.propagate()
            print("propagation done", file=sys.stderr, flush=True)
        if "fanout" not in skip:
            bench.setup_fan_out()
            orders = [(2, 1), (1, 2)]
            for round_ in range(1, args.rounds + 1):
                for nodes in orders[(round_ - 1) % 2]:
                    try:
                        bench.throughput.append(bench.fan_out(nodes, round_))
                    except RuntimeError as exc:
                        bench.failures.append(f"round {round_}, {nodes} node(s): {exc}")
                        continue
                    print(
                        f"round {round_}, {nodes} node(s): "
                        f"{h.fmt(bench.throughput[-1].rate)} deliveries/s",
                        file=sys.stderr,
                        flush=True,
                    )
            if bench.throughput:
                bench.claim_plans = asyncio.run(claim_plans(bench))
        print(report(bench))
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "wrk": [w.__dict__ for w in bench.wrk],
                        "propagation": bench.propagation.__dict__,
                        "throughput": [t.__dict__ for t in bench.throughput],
                    },
                    indent=1,
                )
            )
    finally:
        procs.stop_all()
        if pg is not None:
            pg.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
