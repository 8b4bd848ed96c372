"""Shared pieces of bench/push.py and bench/nodes.py.

* `Processes`: every process a benchmark starts, each in its own session (optionally
  pinned with `taskset`), all stopped on exit;
* CPU accounting from /proc: per process (threads included), per process tree (for
  PostgreSQL, whose backends come and go), per core, and the CPU of everything that is
  not ours (other users of this shared machine);
* a fast loopback webhook receiver (asyncio + httptools, uvloop when installed) that
  answers 200 at once and records the arrival instant of every POST; run it as
  `python bench/_harness.py receiver PORT`; `GET /_stats` and `GET /_dump?from=N` read
  what it recorded;
* the bare signing rates: `python bench/_harness.py signrate ALG SECONDS` prints JSON;
* a private PostgreSQL cluster (initdb + pg_ctl, as the `postgres` user when run as
  root) with `pg_stat_statements` loaded;
* `tenantstatus serve` start-up, the operator API calls the benchmarks need, markdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
HOST = "127.0.0.1"
TOKEN = "tsop_bench-operator-token"  # noqa: S105 - a throwaway token for a loopback server
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


# --- processes ---------------------------------------------------------------------------


class Processes:
    """Every process a benchmark starts: its own session each, all stopped at the end."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        command: Sequence[str],
        log: Path,
        *,
        env: Mapping[str, str] | None = None,
        cpus: str | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start `command` (pinned to `cpus` when given), output to `log`."""
        pinned = ["taskset", "-c", cpus, *command] if cpus is not None else list(command)
        with log.open("ab") as out:
            proc = subprocess.Popen(
                pinned,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        """Signal the process group we created; SIGKILL it if it lingers."""
        if proc in self.running:
            self.running.remove(proc)
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for proc in reversed(list(self.running)):
            self.stop(proc)


def exit_cleanly_on_signals() -> None:
    """SIGTERM/SIGHUP raise SystemExit, so every `finally` stops what it started."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def pin(pid: int, cpus: str) -> None:
    """Re-pin a running process, every thread of it."""
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True, capture_output=True)


# --- CPU accounting ----------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def cpu_of(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds (user + system, all threads) of a process; with `reaped`, also of the
    children it has waited for (PostgreSQL's postmaster reaps its backends)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def process_table() -> dict[int, tuple[int, float, float]]:
    """Every user-space process: pid -> (parent pid, own CPU seconds, CPU seconds of the
    children it has reaped)."""
    table: dict[int, tuple[int, float, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or entry.name == "2":
            continue
        fields = _stat(int(entry.name))
        if fields is None or fields[1] == "2":
            continue  # kernel threads (children of kthreadd)
        own = (int(fields[11]) + int(fields[12])) / CLK_TCK
        reaped = (int(fields[13]) + int(fields[14])) / CLK_TCK
        table[int(entry.name)] = (int(fields[1]), own, reaped)
    return table


Table = dict[int, tuple[int, float, float]]


def descendants(root: int, table: Table) -> set[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in found or pid not in table:
            continue
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return found


def busy_seconds() -> float:
    """CPU seconds all cores have been busy since boot (from /proc/stat)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu "):
            ticks = [int(v) for v in line.split()[1:9]]
            return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK
    raise RuntimeError("no cpu line in /proc/stat")


@dataclass
class Group:
    """Processes counted together: trees under `roots()`; a root's reaped children count
    too (PostgreSQL's postmaster reaps its backends), children reaped by others do not."""

    roots: Callable[[], Iterable[int]]

    def pids(self, table: Table) -> set[int]:
        found: set[int] = set()
        for root in self.roots():
            found |= descendants(root, table)
        return found

    def seconds(self, table: Table) -> float:
        roots = set(self.roots())
        return sum(
            table[pid][1] + (table[pid][2] if pid in roots else 0.0) for pid in self.pids(table)
        )


def with_descendants(pid: int) -> list[int]:
    """`pid` and every process below it (dispatch processes of a service, say)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pending += [int(child) for child in task.read_text().split()]
    return found


def procs_group(*procs: subprocess.Popen[bytes] | None) -> Group:
    return Group(lambda: [p.pid for p in procs if p is not None and p.poll() is None])


@dataclass
class CpuSnapshot:
    """CPU counters at one instant: the groups, every process, the whole machine."""

    at: float
    groups: dict[str, float]
    table: Table
    busy: float


@dataclass
class CpuMeter:
    """Named groups of processes; `usage(before, after)` gives CPU seconds per group.

    Processes in no group and not this benchmark's own are "others": the other users
    of this shared machine (their own CPU only, so processes that exited in between are
    missed; `machine` is the total from /proc/stat, kernel included).
    """

    groups: dict[str, Group] = field(default_factory=dict)

    def snapshot(self) -> CpuSnapshot:
        table = process_table()
        groups = {name: group.seconds(table) for name, group in self.groups.items()}
        return CpuSnapshot(time.monotonic(), groups, table, busy_seconds())

    def ours(self, table: Table) -> set[int]:
        found: set[int] = set()
        for group in self.groups.values():
            found |= group.pids(table)
        return found

    def usage(self, before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
        """CPU seconds between two snapshots: per group, `bench` (this process and its
        other children), `others`, `machine` (all cores, kernel included), `wall`."""
        used = {name: after.groups[name] - before.groups.get(name, 0.0) for name in after.groups}
        ours = self.ours(after.table) | self.ours(before.table)
        me = descendants(os.getpid(), after.table) - ours
        bench = others = 0.0
        for pid, (_, seconds, _) in after.table.items():
            if pid in ours:
                continue
            spent = max(seconds - (before.table[pid][1] if pid in before.table else 0.0), 0.0)
            if pid in me:
                bench += spent
            else:
                others += spent
        used["bench"] = bench
        used["others"] = others
        used["machine"] = after.busy - before.busy
        used["wall"] = after.at - before.at
        return used


def wait_quiet(limit: float, max_wait: float, meter: CpuMeter) -> float:
    """Wait (at most `max_wait` s) until other processes use under `limit` cores; return
    the load of the last second."""
    deadline = time.monotonic() + max_wait
    while True:
        before = meter.snapshot()
        time.sleep(1.0)
        load = meter.usage(before, meter.snapshot())["others"]
        if load < limit or time.monotonic() > deadline:
            return load


# --- statistics and markdown -------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def bursts(arrivals: Sequence[float], gap: float = 0.005) -> tuple[float, float]:
    """Arrivals split where nothing arrived for `gap` s: (median burst size, share of the
    time between the first and last arrival spent in such gaps)."""
    ordered = sorted(arrivals)
    sizes, size, idle = [], 1, 0.0
    for before, after in itertools.pairwise(ordered):
        if after - before > gap:
            sizes.append(size)
            size, idle = 1, idle + after - before
        else:
            size += 1
    sizes.append(size)
    span = ordered[-1] - ordered[0] if len(ordered) > 1 else 0.0
    return statistics.median(sizes), idle / span if span else 0.0


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


# --- the service -------------------------------------------------------------------------


def tenantstatus_bin() -> str:
    local = Path(sys.executable).parent / "tenantstatus"
    found = str(local) if local.exists() else shutil.which("tenantstatus")
    if found is None:
        raise SystemExit("tenantstatus is not installed in this environment")
    return found


PUSH_ENV = {
    "TENANTSTATUS_OPERATOR_TOKEN": TOKEN,
    "TENANTSTATUS_ALLOW_HTTP": "1",
    "TENANTSTATUS_ALLOWED_NETWORKS": "127.0.0.0/8",
}


@dataclass
class Service:
    """One `tenantstatus serve` process."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def start_service(
    procs: Processes,
    name: str,
    data_dir: Path,
    env: Mapping[str, str],
    *,
    cpus: str | None = None,
    port: int | None = None,
    timeout: float = 60.0,
) -> Service:
    """Start `tenantstatus serve` and wait for /readyz 200."""
    port = port or free_port()
    log = data_dir.parent / f"{data_dir.name}-serve.log"
    command = [
        tenantstatus_bin(),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
    ]
    proc = procs.start(command, log, env={**PUSH_ENV, **env}, cpus=cpus)
    service = Service(name, proc, port, log)
    wait_ready(f"{service.url}/readyz", proc, log, timeout)
    return service


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited; log:\n{tail(log)}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 - loopback
        ):
            if response.status == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url}: not ready within {timeout} s; log:\n{tail(log)}")


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


async def gather_limited(jobs: Iterable[Any], limit: int) -> list[Any]:
    """Await coroutines with at most `limit` in flight, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def setup_fan_out(
    urls: Sequence[str], receiver_url: str, *, apps: int, tenants: int, prefix: str
) -> list[str]:
    """`apps` applications posting to the receiver, `tenants` Running tenants, every
    application approved by every tenant; requests spread over `urls` (the nodes)."""
    import httpx2 as httpx

    clients = [
        httpx.AsyncClient(base_url=url, headers=admin_headers(), timeout=60.0) for url in urls
    ]
    try:

        async def create(n: int) -> str:
            response = await clients[n % len(clients)].post(
                "/admin/applications",
                json={"Name": f"{prefix}{n}", "Url": f"{receiver_url}/{prefix}/{n}"},
            )
            response.raise_for_status()
            return str(response.json()["Application"]["Id"])

        ids = await gather_limited((create(n) for n in range(apps)), 8)
        body = {
            "Tenants": [
                {
                    "ContextIdentifier": f"{prefix}{n}",
                    "Endpoint": f"https://sod.example.com/{prefix}{n}",
                    "State": "Running",
                    "VersionName": "R1",
                    "FileVersion": "1.0",
                }
                for n in range(tenants)
            ]
        }
        (await clients[0].post("/admin/tenants/import", json=body)).raise_for_status()

        async def approve(n: int) -> None:
            app, ctx = ids[n // tenants], f"{prefix}{n % tenants}"
            response = await clients[n % len(clients)].put(
                f"/admin/applications/{app}/approvals/{ctx}"
            )
            response.raise_for_status()

        await gather_limited((approve(n) for n in range(apps * tenants)), 16)
        return ids
    finally:
        for client in clients:
            await client.aclose()


async def run_operations(
    urls: Sequence[str], ctxs: Sequence[str], operation: str, *, concurrency: int = 4
) -> list[dict[str, Any]]:
    """Run `operation` on every tenant now, spread over `urls`; the answers, in order."""
    import httpx2 as httpx

    clients = [
        httpx.AsyncClient(base_url=url, headers=admin_headers(), timeout=60.0) for url in urls
    ]
    try:

        async def one(n: int, ctx: str) -> dict[str, Any]:
            response = await clients[n % len(clients)].post(
                f"/admin/tenants/{ctx}/operations", json={"Operation": operation}
            )
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result

        return await gather_limited((one(n, c) for n, c in enumerate(ctxs)), concurrency)
    finally:
        for client in clients:
            await client.aclose()


def history_at(answer: Mapping[str, Any]) -> float:
    """The POSIX instant of an operation answer's history row."""
    from datetime import datetime

    return datetime.fromisoformat(str(answer["History"]["At"]).replace("Z", "+00:00")).timestamp()


# --- the receiver ------------------------------------------------------------------------


class ReceiverClient:
    """Talks to a receiver process over its control routes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: http.client.HTTPConnection | None = None

    def _get(self, path: str) -> Any:
        for attempt in range(2):
            if self._connection is None:
                host, port = self.url.removeprefix("http://").split(":")
                self._connection = http.client.HTTPConnection(host, int(port), timeout=30)
            try:
                self._connection.request("GET", path)
                response = self._connection.getresponse()
                return json.loads(response.read())
            except (OSError, http.client.HTTPException):
                self._connection.close()
                self._connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def stats(self) -> dict[str, Any]:
        """count (POSTs), unique (webhook-ids), first and last arrival (POSIX seconds)."""
        result: dict[str, Any] = self._get("/_stats")
        return result

    def dump(self, start: int = 0) -> list[list[Any]]:
        """[arrival, webhook-id, path, ContextIdentifier, ChangeType] from POST `start` on."""
        result: list[list[Any]] = self._get(f"/_dump?from={start}")
        return result

    def sample(self, index: int) -> dict[str, Any]:
        """The headers and body of POST `index`."""
        result: dict[str, Any] = self._get(f"/_sample?i={index}")
        return result

    def wait_unique(self, count: int, timeout: float) -> dict[str, Any]:
        """Wait until `count` distinct webhook-ids arrived (or raise); return the stats."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if stats["unique"] >= count:
                return stats
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {stats['unique']} of {count} deliveries arrived")
            time.sleep(0.02)


def start_receiver(procs: Processes, root: Path, *, cpus: str | None = None) -> ReceiverClient:
    port = free_port()
    log = root / f"receiver-{port}.log"
    proc = procs.start(
        [sys.executable, str(BENCH / "_harness.py"), "receiver", str(port)], log, cpus=cpus
    )
    client = ReceiverClient(f"http://{HOST}:{port}")
    client.proc = proc  # type: ignore[attr-defined]
    wait_ready(f"{client.url}/_stats", proc, log, 15)
    return client


_OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


class _Recorder:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.ids: list[bytes] = []
        self.paths: list[bytes] = []
        self.bodies: list[bytes] = []
        self.headers: list[list[tuple[bytes, bytes]] | None] = []
        self.unique: set[bytes] = set()

    def control(self, target: bytes) -> bytes:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(target.decode())
        query = parse_qs(parts.query)
        payload: Any
        if parts.path == "/_stats":
            payload = {
                "count": len(self.arrivals),
                "unique": len(self.unique),
                "first": self.arrivals[0] if self.arrivals else None,
                "last": self.arrivals[-1] if self.arrivals else None,
            }
        elif parts.path == "/_dump":
            start = int(query.get("from", ["0"])[0])
            payload = []
            for n in range(start, len(self.arrivals)):
                try:
                    body = json.loads(self.bodies[n])
                except ValueError:
                    body = {}
                payload.append(
                    [
                        self.arrivals[n],
                        self.ids[n].decode(),
                        self.paths[n].decode(),
                        body.get("ContextIdentifier"),
                        body.get("ChangeType"),
                    ]
                )
        elif parts.path == "/_sample":
            n = int(query.get("i", ["0"])[0])
            payload = {
                "headers": {k.decode().lower(): v.decode() for k, v in self.headers[n] or []},
                "body": self.bodies[n].decode(),
            }
        else:
            return b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
        data = json.dumps(payload).encode()
        return (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(data)).encode()
            + b"\r\n\r\n"
            + data
        )


def _receiver_protocol(recorder: _Recorder) -> type[asyncio.Protocol]:
    import httptools  # type: ignore[import-not-found]

    class Protocol(asyncio.Protocol):
        def __init__(self) -> None:
            self.parser = httptools.HttpRequestParser(self)
            self.transport: Any = None
            self._new()

        def _new(self) -> None:
            self.url = b""
            self.body: list[bytes] = []
            self.webhook_id = b""
            self.header_list: list[tuple[bytes, bytes]] = []

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # uvloop's transports are not asyncio.Transport

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_url(self, url: bytes) -> None:
            self.url += url

        def on_header(self, name: bytes, value: bytes) -> None:
            self.header_list.append((name, value))
            if name.lower() == b"webhook-id":
                self.webhook_id = value

        def on_body(self, body: bytes) -> None:
            self.body.append(body)

        def on_message_complete(self) -> None:
            now = time.time()
            if self.parser.get_method() == b"POST":
                r = recorder
                # Keep every header of the first few only: enough to check a token.
                r.headers.append(self.header_list if len(r.arrivals) < 16 else None)
                r.arrivals.append(now)
                r.ids.append(self.webhook_id)
                r.paths.append(self.url)
                r.bodies.append(b"".join(self.body))
                r.unique.add(self.webhook_id)
                self.transport.write(_OK)
            else:
                self.transport.write(recorder.control(self.url))
            if not self.parser.should_keep_alive():
                self.transport.close()
            self._new()

    return Protocol


def run_receiver(port: int) -> None:
    """The receiver's main: serve until SIGTERM."""
    with contextlib.suppress(ImportError):
        import uvloop  # type: ignore[import-not-found]

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    recorder = _Recorder()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        protocol = _receiver_protocol(recorder)
        server = await loop.create_server(protocol, HOST, port, backlog=1024)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(main())


# --- bare signing rates ------------------------------------------------------------------


def sign_rates(algorithm: str, seconds: float) -> dict[str, float]:
    """Signatures per second on this process's core, measured in turn for `seconds` each:
    `cryptography` alone, `jwt.encode` (PyJWT, as the service calls it) and the whole
    envelope the dispatcher builds per attempt (token + body + Standard Webhooks HMAC)."""
    from datetime import UTC, datetime

    import jwt
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding

    from tenantstatus.delivery.envelope import seal_envelope
    from tenantstatus.model import ChangeType
    from tenantstatus.store.push_records import Delivery, DeliveryStatus
    from tenantstatus.tokens import SigningKey, SigningKeyRing, notification_claims

    key = SigningKey.generate(algorithm)  # type: ignore[arg-type]
    ring = SigningKeyRing([key])
    now = datetime.now(UTC)
    claims = notification_claims(
        issuer="http://127.0.0.1:8080",
        audience="app_0123456789abcdef",
        context_identifier="Cust12345",
        change_type=2,
        file_version="11.10.1",
        delivery_id="msg_0123456789abcdef0123456789abcdef",
        now=now,
    )
    delivery = Delivery(
        seq=1,
        id="msg_0123456789abcdef0123456789abcdef",
        application_id="app_0123456789abcdef",
        context_identifier="Cust12345",
        history_id=1,
        change_type=ChangeType(2),
        version_name="Release 11.10",
        file_version="11.10.1",
        public_endpoint=None,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    private_key: Any = key.private_key
    message = b"x" * 400

    def raw() -> None:
        if algorithm == "RS256":
            private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        else:
            private_key.sign(message, ec.ECDSA(hashes.SHA256()))

    def pyjwt() -> None:
        jwt.encode(dict(claims), private_key, algorithm=algorithm, headers={"kid": key.kid})

    def envelope() -> None:
        seal_envelope(
            delivery, ring=ring, issuer="http://127.0.0.1:8080", webhook_secrets=[secret], now=now
        )

    rates: dict[str, float] = {}
    for name, work in (("cryptography", raw), ("pyjwt", pyjwt), ("envelope", envelope)):
        work()
        count, started = 0, time.perf_counter()
        cpu_started = time.process_time()
        while (elapsed := time.perf_counter() - started) < seconds:
            for _ in range(20):
                work()
            count += 20
        rates[name] = count / elapsed
        # Signs per CPU second: what the core gives when this process has it to itself.
        rates[f"{name}_per_cpu_s"] = count / max(time.process_time() - cpu_started, 1e-9)
    return rates


def measure_sign_rates(algorithm: str, seconds: float, cpus: str) -> dict[str, float]:
    """`sign_rates` in a fresh process pinned to `cpus`."""
    out = subprocess.run(
        [
            "taskset",
            "-c",
            cpus,
            sys.executable,
            str(BENCH / "_harness.py"),
            "signrate",
            algorithm,
            str(seconds),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60 + seconds * 4,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


# --- PostgreSQL --------------------------------------------------------------------------


class Postgres:
    """A private PostgreSQL cluster in a temp dir, on a free port, with pg_stat_statements.

    Durable as the deployment guide asks (fsync and synchronous_commit on).
    """

    def __init__(self, root: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        on_path = shutil.which("initdb")
        if found:
            self.bindir = Path(found[-1]).parent
        elif on_path:
            self.bindir = Path(on_path).parent
        else:
            raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="pg-", dir=root))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            for path in (root, self.root):
                path.chmod(0o755)
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self, settings: Sequence[str] = ()) -> Postgres:
        """Start it; `settings` are more `name=value` server settings."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses={HOST} "
            "-c max_connections=200 -c shared_preload_libraries=pg_stat_statements "
            "-c pg_stat_statements.track=all -c shared_buffers=256MB"
        ) + "".join(f" -c {setting}" for setting in settings)
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def group(self) -> Group:
        """The postmaster and its processes (backends, writers, autovacuum)."""
        return Group(lambda: [self.postmaster])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"


def cli_main(argv: Sequence[str]) -> None:
    if argv[:1] == ["receiver"]:
        run_receiver(int(argv[1]))
    elif argv[:1] == ["signrate"]:
        print(json.dumps(sign_rates(argv[1], float(argv[2]))))
    else:
        raise SystemExit("usage: _harness.py receiver PORT | signrate ALG SECONDS")


if __name__ == "__main__":
    cli_main(sys.argv[1:])
