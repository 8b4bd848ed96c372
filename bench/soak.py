"""Soak benchmark (issue 12, item 10): RSS and database size over a long steady load.

    python bench/soak.py [--minutes 30] [--rate 50] [--apps 5] [--tenants 100]
                         [--retention 300] [--sample 30] [--out FILE.jsonl]
                         [--tracemalloc DIR] [--render FILE.jsonl]

Starts everything itself on 127.0.0.1 (free ports, a temporary directory) and stops
everything it started: one `tenantstatus serve` on SQLite with a short retention
(`TENANTSTATUS_DELIVERY_RETENTION_DAYS`, default 5 minutes), one counting webhook
receiver (asyncio + httptools; answers 200 and counts, keeps nothing), `--apps`
applications posting to it, `--tenants` tenants each approved by every application.
The driver runs `--rate` operations a second (suspend and resume in turn, each
announces, so every operation is `--apps` deliveries), paced by the clock.

Every `--sample` seconds it records the service's RSS (VmRSS of the process and its
children), the database file, its -wal and -shm, the bytes each table uses with its
indexes (SQLite's `dbstat`, read-only), the free pages, and the service's pruning and
outbox metrics; each sample is a JSON line in `--out`, and the report is markdown.

With `--tracemalloc DIR` the service runs under tracemalloc (from the first sample on)
and dumps a snapshot per sample; `python bench/soak.py compare A B` prints where the
live Python allocations grew between two of them. Memory SQLite allocates (its page
cache, 2 MB per pooled connection by default) is not traced there.

Flatness, as the issue's targets put it: RSS over the last half of the run (its spread,
and its drift from the median of the first third of that half to the median of the
last third: single samples swing with the batches in flight), and the database size
from the moment the retention window is reached (twice the retention: a window of
deliveries in, one out) to the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

MB = 1_000_000
SELF = str(Path(__file__).resolve())


# --- the counting receiver ---------------------------------------------------------------


_OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


def run_counting_receiver(port: int) -> None:
    """Answer 200 to every POST and count them; `GET /_stats` gives the count."""
    import httptools  # type: ignore[import-not-found]

    count = 0

    class Protocol(asyncio.Protocol):
        def __init__(self) -> None:
            self.parser = httptools.HttpRequestParser(self)
            self.transport: Any = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_message_complete(self) -> None:
            nonlocal count
            if self.parser.get_method() == b"POST":
                count += 1
                self.transport.write(_OK)
            else:
                data = json.dumps({"count": count}).encode()
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(data)).encode()
                    + b"\r\n\r\n"
                    + data
                )
            if not self.parser.should_keep_alive():
                self.transport.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Protocol, h.HOST, port, backlog=1024)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(main())


# --- where the memory goes (--tracemalloc) ----------------------------------------------


def run_traced_service(snapshots: str, serve_args: list[str]) -> None:
    """`tenantstatus serve` under tracemalloc; each SIGUSR1 dumps a snapshot into
    `snapshots` (numbered), for `compare_snapshots`; the first starts the tracing."""
    import tracemalloc

    taken = 0

    def dump(signum: int, frame: object) -> None:
        # Tracing starts at the first signal: from start-up on it makes start-up crawl.
        nonlocal taken
        if not tracemalloc.is_tracing():
            tracemalloc.start(12)
        tracemalloc.take_snapshot().dump(str(Path(snapshots) / f"{taken:04d}.snapshot"))
        taken += 1

    signal.signal(signal.SIGUSR1, dump)
    from tenantstatus.cli import app

    sys.argv = ["tenantstatus", "serve", *serve_args]
    app()


def start_traced_service(
    procs: h.Processes, data_dir: Path, env: dict[str, str], snapshots: str
) -> h.Service:
    Path(snapshots).mkdir(parents=True, exist_ok=True)
    port = h.free_port()
    log = data_dir.parent / "traced-serve.log"
    command = [sys.executable, SELF, "traced-serve", snapshots]
    command += ["--host", h.HOST, "--port", str(port), "--data-dir", str(data_dir)]
    proc = procs.start([*command, "--log-level", "warning"], log, env={**h.PUSH_ENV, **env})
    service = h.Service("soak", proc, port, log)
    h.wait_ready(f"{service.url}/readyz", proc, log, 120)
    return service


def compare_snapshots(first: str, last: str, top: int = 25) -> None:
    """Print where the allocations still alive grew most between two snapshots."""
    import tracemalloc

    before = tracemalloc.Snapshot.load(first)
    after = tracemalloc.Snapshot.load(last)
    totals = [sum(s.size for s in snap.statistics("filename")) for snap in (before, after)]
    print(f"traced: {totals[0] / MB:.1f} MB -> {totals[1] / MB:.1f} MB")
    for stat in after.compare_to(before, "traceback")[:top]:
        print(f"{stat.size_diff / 1024:+.0f} KiB, {stat.count_diff:+d} blocks")
        for line in stat.traceback.format()[-12:]:
            print("   ", line)


# --- measuring ---------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """VmRSS of `pid` and every process below it."""
    total = 0
    for each in h.with_descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def table_bytes(database: Path) -> tuple[dict[str, int], int]:
    """Bytes per table (its indexes included) and bytes of free pages, read-only."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        owners = dict(connection.execute("SELECT name, tbl_name FROM sqlite_master"))
        used: dict[str, int] = {}
        for name, size in connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            table = owners.get(name, name)
            used[table] = used.get(table, 0) + int(size)
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0] * page_size
    finally:
        connection.close()
    return used, int(free)


def metric_values(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in text.splitlines():
        found = re.match(r"^(tenantstatus_[a-z_]+(?:\{[^}]*\})?) (\S+)$", line)
        if found:
            values[found.group(1)] = float(found.group(2))
    return values


@dataclass
class Sample:
    """One look at the service during the run."""

    t: float
    ops: int
    delivered: int
    rss: int
    db: int
    wal: int
    shm: int
    free: int
    tables: dict[str, int]
    pruned: float
    depth: float

    @property
    def disk(self) -> int:
        return self.db + self.wal + self.shm


# --- the run -----------------------------------------------------------------------------


class Soak:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args = args
        self.root = root
        self.procs = h.Processes()
        self.samples: list[Sample] = []
        self.ops = 0
        self.failed = 0
        self.lag_max = 0.0

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            self.procs.stop_all()

    async def _run(self) -> None:
        import httpx2 as httpx

        args = self.args
        port = h.free_port()
        log = self.root / "receiver.log"
        receiver_proc = self.procs.start([sys.executable, SELF, "receiver", str(port)], log)
        self.receiver_url = f"http://{h.HOST}:{port}"
        h.wait_ready(f"{self.receiver_url}/_stats", receiver_proc, log, 15)
        self.data_dir = self.root / "data"
        env = {"TENANTSTATUS_DELIVERY_RETENTION_DAYS": repr(args.retention / 86400)}
        if args.tracemalloc:
            self.service = start_traced_service(self.procs, self.data_dir, env, args.tracemalloc)
        else:
            self.service = h.start_service(self.procs, "soak", self.data_dir, env)
        await h.setup_fan_out(
            [self.service.url],
            self.receiver_url,
            apps=args.apps,
            tenants=args.tenants,
            prefix="soak",
        )
        self.ctxs = [f"soak{n}" for n in range(args.tenants)]
        self.admin = httpx.AsyncClient(
            base_url=self.service.url, headers=h.admin_headers(), timeout=60.0
        )
        self.receiver = httpx.AsyncClient(base_url=self.receiver_url, timeout=30.0)
        try:
            self.start = time.monotonic()
            self.end = self.start + args.minutes * 60
            with contextlib.ExitStack() as files:
                out = files.enter_context(open(args.out, "w")) if args.out else None  # noqa: ASYNC230 - opened once, before the run
                await asyncio.gather(self.drive(), self.watch(out))
        finally:
            await self.admin.aclose()
            await self.receiver.aclose()

    async def drive(self) -> None:
        """`--rate` operations a second, by the clock; at most 16 in flight."""
        gate = asyncio.Semaphore(16)
        suspended = [False] * len(self.ctxs)
        pending: set[asyncio.Task[None]] = set()

        async def one(n: int) -> None:
            try:
                operation = "resume" if suspended[n] else "suspend"
                suspended[n] = not suspended[n]
                response = await self.admin.post(
                    f"/admin/tenants/{self.ctxs[n]}/operations", json={"Operation": operation}
                )
                if response.status_code == 200:
                    self.ops += 1
                else:
                    self.failed += 1
            except httpx_errors():
                self.failed += 1
            finally:
                gate.release()

        k = 0
        interval = 1.0 / self.args.rate
        next_at = self.start
        while True:
            now = time.monotonic()
            if now >= self.end:
                break
            if next_at > now:
                await asyncio.sleep(next_at - now)
            await gate.acquire()
            self.lag_max = max(self.lag_max, time.monotonic() - next_at)
            # Each tenant's operations run one after another: suspend, then resume.
            task = asyncio.create_task(one(k % len(self.ctxs)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            k += 1
            # Behind on a busy machine, it does not catch up in a burst later: the rate
            # never goes above --rate, so the retention window holds a steady load.
            next_at = max(next_at + interval, time.monotonic())
        await asyncio.gather(*pending)

    async def watch(self, out: Any) -> None:
        while True:
            sample = await self.take()
            self.samples.append(sample)
            line = {**sample.__dict__, "disk": sample.disk}
            if out is not None:
                out.write(json.dumps(line) + "\n")
                out.flush()
            print(
                f"t={sample.t:6.0f}s ops={sample.ops} rss={sample.rss / MB:.1f}MB "
                f"disk={sample.disk / MB:.1f}MB free={sample.free / MB:.1f}MB "
                f"pruned={sample.pruned:.0f} depth={sample.depth:.0f}",
                file=sys.stderr,
                flush=True,
            )
            if time.monotonic() >= self.end:
                return
            await asyncio.sleep(min(self.args.sample, max(self.end - time.monotonic(), 0.1)))

    async def take(self) -> Sample:
        database = self.data_dir / "tenantstatus.db"
        if self.args.tracemalloc:
            self.service.proc.send_signal(signal.SIGUSR1)
        metrics = metric_values((await self.admin.get("/metrics")).text)
        delivered = int((await self.receiver.get("/_stats")).json()["count"])
        tables, free = await asyncio.to_thread(table_bytes, database)
        return Sample(
            t=time.monotonic() - self.start,
            ops=self.ops,
            delivered=delivered,
            rss=rss_bytes(self.service.proc.pid),
            db=file_size(database),
            wal=file_size(database.with_name(database.name + "-wal")),
            shm=file_size(database.with_name(database.name + "-shm")),
            free=free,
            tables=tables,
            pruned=metrics.get('tenantstatus_pruned_rows_total{table="deliveries"}', 0.0),
            depth=metrics.get("tenantstatus_outbox_depth", 0.0),
        )


def httpx_errors() -> tuple[type[BaseException], ...]:
    import httpx2 as httpx

    return (httpx.HTTPError,)


# --- the report --------------------------------------------------------------------------


def outbox_bytes(sample: Sample) -> int:
    return sample.tables.get("deliveries", 0) + sample.tables.get("delivery_attempts", 0)


def spread(values: list[float]) -> float:
    return (max(values) - min(values)) / min(values) if values and min(values) else 0.0


def report(soak: Soak) -> str:
    return render(soak.args, soak.samples, soak.failed, soak.lag_max)


def render(args: argparse.Namespace, samples: list[Sample], failed: int, lag_max: float) -> str:
    """The markdown report of a run."""
    from datetime import timedelta

    from tenantstatus.delivery.retention import sweep_interval

    duration = samples[-1].t
    half = [s for s in samples if s.t >= duration / 2]
    # Rows become prunable at t = retention; a retention later the outbox holds one
    # window of deliveries, however far the first sweeps were behind.
    settled_at = 2 * args.retention
    settled = [s for s in samples if s.t >= settled_at] or samples[-1:]
    rss_half = [float(s.rss) for s in half]
    # RSS swings a few MB from one second to the next (batches in flight), so the trend
    # is read from medians: of the first and the last third of the last half.
    third = max(1, len(half) // 3)
    early, late = h.median(rss_half[:third]), h.median(rss_half[-third:])
    rss_drift = (late - early) / early
    first, last = settled[0], settled[-1]
    ops_between = max(last.ops - first.ops, 1)

    def grew(name: str) -> str:
        delta = last.tables.get(name, 0) - first.tables.get(name, 0)
        return f"{delta / MB:+.2f} MB ({delta / ops_between:+.1f} B/op)"

    rate = samples[-1].ops / duration if duration else 0.0
    lines = [
        f"{args.minutes:g} minutes, target {args.rate:g} operations/s ({rate:.1f}/s achieved, "
        f"{failed} failed, the driver at most {lag_max:.1f} s behind), "
        f"{args.apps} applications x {args.tenants} tenants, every operation announces "
        f"(so {args.apps} deliveries each), retention {args.retention:g} s (sweeps every "
        f"{sweep_interval(timedelta(seconds=args.retention)):g} s), sampled every "
        f"{args.sample:g} s; {samples[-1].delivered:,} deliveries arrived, "
        f"{samples[-1].pruned:,.0f} pruned.",
        "",
    ]
    step = max(1, len(samples) // 16)
    shown = samples[::step]
    if shown[-1] is not samples[-1]:
        shown.append(samples[-1])
    lines.append(
        h.table(
            [
                "t (s)",
                "operations",
                "RSS MB",
                "db+wal+shm MB",
                "free pages MB",
                "deliveries+attempts MB",
                "history MB",
                "pruned",
                "outbox depth",
            ],
            [
                [
                    f"{s.t:.0f}",
                    f"{s.ops:,}",
                    f"{s.rss / MB:.1f}",
                    f"{s.disk / MB:.1f}",
                    f"{s.free / MB:.1f}",
                    f"{outbox_bytes(s) / MB:.1f}",
                    f"{s.tables.get('tenant_history', 0) / MB:.1f}",
                    f"{s.pruned:,.0f}",
                    f"{s.depth:.0f}",
                ]
                for s in shown
            ],
        )
    )
    window = 300.0 if duration >= 1200 else max(duration / 4, 1.0)
    rows = []
    start = 0.0
    while start < duration - 1:
        last_window = start + window >= duration - 1
        inside = [x for x in samples if start <= x.t and (x.t < start + window or last_window)]
        if inside:
            rss = [x.rss / MB for x in inside]
            rows.append(
                [
                    f"{start:.0f}-{min(start + window, duration):.0f}",
                    f"{min(rss):.1f}",
                    f"{h.median(rss):.1f}",
                    f"{max(rss):.1f}",
                    f"{h.median(x.disk / MB for x in inside):.1f}",
                ]
            )
        start += window
    lines += [
        "",
        h.table(
            ["window (s)", "RSS min MB", "RSS median MB", "RSS max MB", "disk median MB"], rows
        ),
    ]
    lines += [
        "",
        f"- RSS over the last half (t >= {duration / 2:.0f} s, {len(half)} samples): "
        f"{min(rss_half) / MB:.1f} to {max(rss_half) / MB:.1f} MB (spread {spread(rss_half):.1%}); "
        f"median of its first third {early / MB:.1f} MB, of its last third {late / MB:.1f} MB: "
        f"drift {rss_drift:+.1%} (target: within 5 %).",
        f"- From the retention window on (t >= {settled_at:.0f} s): database files "
        f"{first.disk / MB:.1f} -> {last.disk / MB:.1f} MB "
        f"({(last.disk - first.disk) / MB:+.2f} MB); deliveries and attempts "
        f"{grew('deliveries')} and {grew('delivery_attempts')}; history "
        f"{grew('tenant_history')} (kept on purpose: retention covers deliveries only).",
    ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "receiver":
        run_counting_receiver(int(sys.argv[2]))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "traced-serve":
        run_traced_service(sys.argv[2], sys.argv[3:])
        return
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare_snapshots(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=50.0, help="operations per second")
    parser.add_argument("--apps", type=int, default=5)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--retention", type=float, default=300.0, help="seconds")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--out", default="", help="write each sample as a JSON line here")
    parser.add_argument("--render", default="", help="only print the report of a JSON-lines file")
    parser.add_argument(
        "--tracemalloc",
        default="",
        metavar="DIR",
        help="run the service under tracemalloc, a snapshot per sample into DIR "
        "(then: soak.py compare DIR/0001.snapshot DIR/0040.snapshot)",
    )
    args = parser.parse_args()
    if args.render:
        with open(args.render) as lines:
            rows = [json.loads(line) for line in lines if line.strip()]
        for row in rows:
            row.pop("disk", None)
        print(render(args, [Sample(**row) for row in rows], failed=0, lag_max=0.0))
        return
    h.exit_cleanly_on_signals()
    with tempfile.TemporaryDirectory(prefix="tenantstatus-soak-") as tmp:
        soak = Soak(args, Path(tmp))
        try:
            asyncio.run(soak.run())
        finally:
            if soak.samples:
                print(report(soak))


if __name__ == "__main__":
    main()
