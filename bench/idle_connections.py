"""The state API under a connection flood, and its ratio to nginx on a noisy machine.

    python bench/idle_connections.py [--idle 10000] [--pairs 12] [--pair-duration 5]
        [--rounds 5] [--duration 10] [--skip-reconnecting] [--skip-nginx] [--commit REV]

Starts everything itself on 127.0.0.1 (free ports, one temporary directory, removed at
the end), stops everything it started, also on an error, Ctrl-C or SIGTERM, and prints
ready-to-paste markdown tables. Servers are pinned to `--server-cpu`, wrk (one thread,
64 connections) and the idle-connection holder to `--client-cpu`, with `taskset`.

1. **Idle connections held open.** Two `tenantstatus serve` processes on the same
   data (1,000 tenants, both with header timeout `--held-timeout`, longer than the whole
   run), both up all along: a holder process opens `--idle` idle connections to one of
   them at the start and keeps them open; the other has none. wrk (random tenants)
   then measures them in `--pairs` short pairs, back to back, in ABBA order (held, none;
   none, held; ...), so the machine's noise falls on both sides of a pair alike. The
   table gives the median of the per-pair ratios with their spread, and the server CPU
   per request on each side (a measure that does not depend on how much of the core the
   others left us). Each pair then has a third run, *at once*: two wrk started together,
   one per serve, so the two serves share their core and every burst of the machine's
   load falls on both at the same instant (`--no-at-once` skips it). wrk is not the limit
   when the same wrk drives the raw-protocol prototype faster, measured before and after
   the pairs.
   *Reconnecting:* a third `serve` with the default 10 s header timeout, which closes
   each idle connection while the holder opens a new one at once, as an attacker would
   (the cost of the defence; the table gives the reconnect rate), measured in
   `--rounds` rounds with the holder started and stopped around each `with` run.
   The holder opens them evenly over a few seconds, so timeouts do not come in waves.
   Target: >= 0.9x the throughput, p99 <= 10 ms.
2. **State API ÷ nginx.** The state API, nginx (one worker, the same bytes as a static
   file) and the raw-protocol prototype of `bench/hot_path_variants.py` (same cache, a
   bare `asyncio.Protocol`), in `--rounds` interleaved rounds, each round measuring all
   three on one fixed path and on random paths. The table gives the median ratio and
   its spread over the rounds. wrk is not the limit when it drives the prototype faster
   than the state API with its core not saturated: the table says both.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import hot_path_variants as variants
import state_api as bench

STATE = "state API (serve)"
NGINX = "nginx static file"
RAW = "raw-protocol prototype"


# --- the holder of idle connections (a child process) ------------------------------------


def hold(port: int, count: int, spread: float, status: Path) -> None:
    """Keep `count` idle connections open to `port`, opened evenly over `spread` seconds;
    reopen each one the server closes (at its header timeout) at once."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
    poller = select.epoll()
    held: dict[int, socket.socket] = {}
    reopened = 0
    stop = False

    def stopping(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, stopping)

    def open_one() -> None:
        sock = socket.socket()
        sock.setblocking(False)
        code = sock.connect_ex((bench.HOST, port))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            return
        poller.register(sock.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        held[sock.fileno()] = sock

    def report() -> None:
        status.write_text(json.dumps({"open": len(held), "reopened": reopened}))

    # Opened evenly, so the server's header timeouts close them evenly too, not in waves.
    batches = max(1, int(spread / 0.02))
    started = time.monotonic()
    for batch in range(batches):
        if stop:
            break
        for _ in range(count * (batch + 1) // batches - count * batch // batches):
            open_one()
        time.sleep(max(0.0, started + (batch + 1) * spread / batches - time.monotonic()))
    report()
    reported = time.monotonic()
    while not stop:
        for fd, _ in poller.poll(0.2):
            poller.unregister(fd)
            held.pop(fd).close()
            reopened += 1
            open_one()
        while len(held) < count and not stop:
            open_one()
        if time.monotonic() - reported > 0.25:
            report()
            reported = time.monotonic()
    for sock in held.values():
        sock.close()


@dataclass
class Holder:
    proc: subprocess.Popen[bytes]
    status: Path

    def read(self) -> dict[str, int]:
        with contextlib.suppress(OSError, ValueError):
            found: dict[str, int] = json.loads(self.status.read_text())
            return found
        return {"open": 0, "reopened": 0}


def start_holder(
    procs: bench.Processes, port: int, count: int, spread: float, root: Path
) -> Holder:
    status = root / f"holder-{time.monotonic_ns()}.json"
    log = root / "holder.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                *("taskset", "-c", str(procs.client_cpu)),
                *(
                    sys.executable,
                    __file__,
                    "hold",
                    str(port),
                    str(count),
                    str(spread),
                    str(status),
                ),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    procs.running.append(proc)
    holder = Holder(proc, status)
    deadline = time.monotonic() + 120 + spread
    while holder.read()["open"] < count:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the holder did not open {count} connections:\n{log.read_text()}")
        time.sleep(0.1)
    time.sleep(1.0)  # the server accepts the last of them
    return holder


# --- servers ---------------------------------------------------------------------------


def start_serve(
    procs: bench.Processes, data: Path, log: Path, tenants: int, env: dict[str, str]
) -> bench.Server:
    port = bench.free_port()
    command = [
        bench.tenantstatus_bin(),
        *("serve", "--host", bench.HOST, "--port", str(port), "--data-dir", str(data)),
        *("--log-level", "info"),
    ]
    proc = procs.start(command, log, env={"TENANTSTATUS_OPERATOR_TOKEN": bench.TOKEN, **env})
    server = bench.Server(STATE, proc, port, log, tenants, time.monotonic())
    bench.wait_for(f"{server.base}/readyz", proc, log, 300)
    return server


# --- measurement -----------------------------------------------------------------------


@dataclass
class Runs:
    """wrk runs per target, in round order."""

    by_target: dict[str, list[bench.WrkRun]] = field(default_factory=dict)

    def add(self, target: str, run: bench.WrkRun) -> None:
        self.by_target.setdefault(target, []).append(run)

    def rps(self, target: str) -> list[float]:
        return [r.rps for r in self.by_target[target]]

    def median(self, target: str, what: str) -> float:
        return statistics.median(getattr(r, what) for r in self.by_target[target])


def measure(
    args: argparse.Namespace, procs: bench.Processes, server: bench.Server, lua: Path
) -> bench.WrkRun:
    best: bench.WrkRun | None = None
    for _ in range(args.attempts):
        bench.quiet(args, procs)
        run = bench.run_wrk(procs, server, lua, duration=args.duration, connections=64)
        if run.errors:
            bench.say(f"{server.name}: {run.errors} wrk errors")
        if best is None or run.other_cpu < best.other_cpu:
            best = run
        if run.other_cpu < args.quiet_limit:
            break
    assert best is not None
    return best


@dataclass
class Flood:
    """One way to hold idle connections against its own `serve` process."""

    name: str
    serve: bench.Server
    spread: float  # seconds over which the holder opens them
    runs: Runs = field(default_factory=Runs)
    reconnects: list[float] = field(default_factory=list)


def idle_rounds(
    args: argparse.Namespace, procs: bench.Processes, floods: Sequence[Flood], lua: Path, root: Path
) -> None:
    """Per round and flood: wrk with no other connection, and with `--idle` from a holder."""
    for round_no in range(1, args.rounds + 1):
        for flood in floods if round_no % 2 else reversed(floods):
            # ABBA order, so a trend in the machine's load does not favour either side.
            for kind in ["none", "idle"] if round_no % 2 else ["idle", "none"]:
                if kind == "none":
                    run = measure(args, procs, flood.serve, lua)
                else:
                    holder = start_holder(procs, flood.serve.port, args.idle, flood.spread, root)
                    before, started = holder.read()["reopened"], time.monotonic()
                    run = measure(args, procs, flood.serve, lua)
                    rate = (holder.read()["reopened"] - before) / (time.monotonic() - started)
                    flood.reconnects.append(rate)
                    procs.stop(holder.proc)
                    time.sleep(1.0)  # the server sees the holder's connections go
                flood.runs.add(kind, run)
                bench.say(
                    f"idle round {round_no}: {flood.name}: {kind}: {run.rps:,.0f} req/s, "
                    f"p99 {run.p99_ms:.2f} ms, errors {run.errors}, "
                    f"other processes {run.other_cpu:.0%}"
                )


@dataclass
class HeldPairs:
    """The held-open comparison: wrk runs per side, pair by pair, and the holder's count."""

    held: list[bench.WrkRun] = field(default_factory=list)
    none: list[bench.WrkRun] = field(default_factory=list)
    # The same, measured at once: two wrk, one per serve, the two serves sharing a core.
    held_at_once: list[bench.WrkRun] = field(default_factory=list)
    none_at_once: list[bench.WrkRun] = field(default_factory=list)
    wrk_checks: list[tuple[bench.WrkRun, bench.WrkRun]] = field(default_factory=list)
    open_min: int = 0
    reopened: int = 0


def cpu_us_per_request(run: bench.WrkRun) -> float:
    """Server CPU time per answered request, in microseconds."""
    return run.server_cpu * 1e6 / run.rps if run.rps else float("nan")


def at_once(
    procs: bench.Processes, servers: Sequence[bench.Server], lua: Path, duration: int, pair: int
) -> list[bench.WrkRun]:
    """One wrk per server, all started together (each with -c64), for the same seconds."""
    with ThreadPoolExecutor(len(servers)) as pool:
        futures = [
            pool.submit(
                bench.run_wrk, procs, s, lua, duration=duration, connections=64, round_no=pair
            )
            for s in servers
        ]
        return [f.result() for f in futures]


def held_pairs(
    args: argparse.Namespace,
    procs: bench.Processes,
    held: bench.Server,
    none: bench.Server,
    raw: bench.Server | None,
    holder: Holder,
    lua: Path,
) -> HeldPairs:
    """`--pairs` pairs of wrk runs, held then none or none then held (ABBA), back to back."""
    pairs = HeldPairs(open_min=holder.read()["open"])
    before = holder.read()["reopened"]

    def check_wrk() -> None:
        if raw is not None:
            state = bench.run_wrk(procs, none, lua, duration=args.pair_duration, connections=64)
            fast = bench.run_wrk(procs, raw, lua, duration=args.pair_duration, connections=64)
            pairs.wrk_checks.append((state, fast))

    check_wrk()
    for pair in range(1, args.pairs + 1):
        # One quiet wait per pair, none between its two runs: both see the same machine.
        bench.quiet(args, procs)
        order = [("held", held), ("none", none)] if pair % 2 else [("none", none), ("held", held)]
        for kind, server in order:
            run = bench.run_wrk(
                procs, server, lua, duration=args.pair_duration, connections=64, round_no=pair
            )
            (pairs.held if kind == "held" else pairs.none).append(run)
            pairs.open_min = min(pairs.open_min, holder.read()["open"])
            bench.say(
                f"pair {pair}: {kind}: {run.rps:,.0f} req/s, p99 {run.p99_ms:.2f} ms, "
                f"{cpu_us_per_request(run):.1f} us CPU/request, errors {run.errors}, "
                f"wrk {run.client_cpu:.0%} of its core, other processes {run.other_cpu:.0%}"
            )
        if args.at_once:
            held_run, none_run = at_once(procs, [held, none], lua, args.pair_duration, pair)
            pairs.held_at_once.append(held_run)
            pairs.none_at_once.append(none_run)
            bench.say(
                f"pair {pair}: at once: held {held_run.rps:,.0f} req/s, none "
                f"{none_run.rps:,.0f} req/s ({held_run.rps / none_run.rps:.2f}x), p99 "
                f"{held_run.p99_ms:.2f} / {none_run.p99_ms:.2f} ms"
            )
    check_wrk()
    pairs.reopened = holder.read()["reopened"] - before
    return pairs


def _at_once_row(args: argparse.Namespace, pairs: HeldPairs) -> list[str]:
    if not pairs.held_at_once:
        return []
    ratios = [h.rps / n.rps for h, n in zip(pairs.held_at_once, pairs.none_at_once, strict=True)]
    cpu_ratios = [
        cpu_us_per_request(h) / cpu_us_per_request(n)
        for h, n in zip(pairs.held_at_once, pairs.none_at_once, strict=True)
    ]
    ratio = statistics.median(ratios)
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratio] * 3
    p99 = statistics.median(r.p99_ms for r in pairs.held_at_once)
    return [
        f"| {args.idle:,} held open, **at once** (two wrk together, the two serves sharing "
        f"CPU {args.server_cpu}) | {len(ratios)} | "
        f"{statistics.median(r.rps for r in pairs.none_at_once):,.0f} | "
        f"{statistics.median(r.rps for r in pairs.held_at_once):,.0f} | "
        f"{p99:.2f} ({statistics.median(r.p99_ms for r in pairs.none_at_once):.2f}) | "
        f"**{ratio:.2f}x** | {quartiles[0]:.2f}-{quartiles[2]:.2f}, {_spread(ratios)} | "
        f"{statistics.median(cpu_us_per_request(r) for r in pairs.held_at_once):.1f} ÷ "
        f"{statistics.median(cpu_us_per_request(r) for r in pairs.none_at_once):.1f}: "
        f"**{statistics.median(cpu_ratios):.2f}x** ({_spread(cpu_ratios)}) | "
        "(p99 here is two servers on one core) |"
    ]


def held_table(args: argparse.Namespace, pairs: HeldPairs) -> str:
    ratios = [h.rps / n.rps for h, n in zip(pairs.held, pairs.none, strict=True)]
    cpu_ratios = [
        cpu_us_per_request(h) / cpu_us_per_request(n)
        for h, n in zip(pairs.held, pairs.none, strict=True)
    ]
    ratio = statistics.median(ratios)
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratio] * 3
    p99 = statistics.median(r.p99_ms for r in pairs.held)
    errors = sum(r.errors for r in (*pairs.held, *pairs.none))
    met = ratio >= 0.9 and p99 <= 10
    other = [r.other_cpu for r in (*pairs.held, *pairs.none)]
    wrk_cpu = max(r.client_cpu for r in (*pairs.held, *pairs.none))
    lines = [
        "| idle connections | pairs | req/s, none (median) | req/s, held (median) | "
        "p99 ms, held (none) | ÷ none (median of pairs) | per-pair ratios: quartiles, range | "
        "server CPU µs/request, held ÷ none (median) | target (>= 0.9x, p99 <= 10 ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {args.idle:,} held open (at least {pairs.open_min:,} open throughout, "
        f"{pairs.reopened} reopened) | {len(ratios)} | "
        f"{statistics.median(r.rps for r in pairs.none):,.0f} | "
        f"{statistics.median(r.rps for r in pairs.held):,.0f} | "
        f"{p99:.2f} ({statistics.median(r.p99_ms for r in pairs.none):.2f}) | "
        f"**{ratio:.2f}x** | {quartiles[0]:.2f}-{quartiles[2]:.2f}, {_spread(ratios)} | "
        f"{statistics.median(cpu_us_per_request(r) for r in pairs.held):.1f} ÷ "
        f"{statistics.median(cpu_us_per_request(r) for r in pairs.none):.1f}: "
        f"**{statistics.median(cpu_ratios):.2f}x** ({_spread(cpu_ratios)}) | "
        f"{'met' if met else 'missed'} |",
        *_at_once_row(args, pairs),
        "",
        f"wrk errors: {errors}. Other processes (not ours) used {_spread(other)} cores during "
        f"the runs (median {statistics.median(other):.2f}); wrk itself used at most "
        f"{wrk_cpu:.0%} of its core.",
    ]
    for state, fast in pairs.wrk_checks:
        lines.append(
            f"wrk check: the same wrk drove the raw-protocol prototype at {fast.rps:,.0f} req/s, "
            f"{fast.rps / state.rps:.2f}x the state API's {state.rps:,.0f} (wrk used "
            f"{state.client_cpu:.0%} of its core there): "
            + (
                "not the limit"
                if fast.rps > state.rps * 1.05 or state.client_cpu < 0.9
                else "**wrk may be the limit**"
            )
            + (" (a load burst slowed the prototype's run)" if fast.rps <= state.rps else "")
            + "."
        )
    return "\n".join(lines)


def nginx_rounds(
    args: argparse.Namespace,
    procs: bench.Processes,
    servers: Sequence[bench.Server],
    luas: dict[str, Path],
) -> dict[str, Runs]:
    by_path = {path: Runs() for path in luas}
    for round_no in range(1, args.rounds + 1):
        turn = list(servers) if round_no % 2 else list(reversed(servers))
        for path, lua in luas.items():
            for server in turn:
                run = measure(args, procs, server, lua)
                by_path[path].add(server.name, run)
                bench.say(
                    f"nginx round {round_no}: {path}: {server.name}: {run.rps:,.0f} req/s, "
                    f"wrk CPU {run.client_cpu:.0%}, other processes {run.other_cpu:.0%}"
                )
    return by_path


# --- report ----------------------------------------------------------------------------


def _spread(values: Sequence[float], digits: int = 2) -> str:
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def idle_table(args: argparse.Namespace, floods: Sequence[Flood]) -> str:
    lines = [
        "| idle connections | req/s, none (median) | req/s, with them | p50 ms | p99 ms | "
        "reconnects/s | server CPU µs per reconnect (median) | ÷ none (median) | "
        "per-round ratios | target (>= 0.9x, p99 <= 10 ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for flood in floods:
        none, idle = flood.runs.rps("none"), flood.runs.rps("idle")
        # Each round measures both back to back: the per-round ratio cancels slow drifts.
        ratios = [b / a for a, b in zip(none, idle, strict=True)]
        ratio = statistics.median(idle) / statistics.median(none)
        p99 = flood.runs.median("idle", "p99_ms")
        # The server CPU beyond what its requests cost without the flood, per reconnect:
        # a figure that does not depend on how much of the core the others left us.
        per_request = statistics.median(cpu_us_per_request(r) for r in flood.runs.by_target["none"])
        per_reconnect = statistics.median(
            (r.server_cpu * 1e6 - r.rps * per_request) / rate
            for r, rate in zip(flood.runs.by_target["idle"], flood.reconnects, strict=True)
            if rate > 0
        )
        met = ratio >= 0.9 and p99 <= 10
        lines.append(
            f"| {args.idle:,} {flood.name} | {statistics.median(none):,.0f} | "
            f"{statistics.median(idle):,.0f} | {flood.runs.median('idle', 'p50_ms'):.2f} | "
            f"{p99:.2f} (none: {flood.runs.median('none', 'p99_ms'):.2f}) | "
            f"{statistics.median(flood.reconnects):,.0f} | {per_reconnect:.0f} | "
            f"**{ratio:.2f}x** | {_spread(ratios)} | "
            f"{'met' if met else 'missed'} |"
        )
    return "\n".join(lines)


def nginx_table(by_path: dict[str, Runs]) -> str:
    lines = [
        "| paths | state API req/s | nginx req/s | prototype req/s | state API ÷ nginx "
        "(median of rounds) | per-round range | nginx per-round range | prototype ÷ state API "
        "| wrk CPU (max) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path, runs in by_path.items():
        state, nginx, raw = runs.rps(STATE), runs.rps(NGINX), runs.rps(RAW)
        ratios = [s / n for s, n in zip(state, nginx, strict=True)]
        busy = max(r.client_cpu for target in runs.by_target.values() for r in target)
        lines.append(
            f"| {path} | {statistics.median(state):,.0f} | {statistics.median(nginx):,.0f} | "
            f"{statistics.median(raw):,.0f} | **{statistics.median(ratios):.2f}x** | "
            f"{_spread(ratios)} | {min(nginx):,.0f}-{max(nginx):,.0f} | "
            f"{statistics.median(raw) / statistics.median(state):.2f}x | {busy:.0%} |"
        )
    return "\n".join(lines)


def wrk_check(by_path: dict[str, Runs]) -> str:
    notes = []
    for path, runs in by_path.items():
        raw, state = statistics.median(runs.rps(RAW)), statistics.median(runs.rps(STATE))
        wrk_cpu = max(r.client_cpu for r in runs.by_target[STATE])
        notes.append(
            f"{path}: the same wrk drove the prototype at {raw:,.0f} req/s, {raw / state:.2f}x "
            f"the state API (wrk itself used at most {wrk_cpu:.0%} of its core in the state "
            "API runs): "
            + ("**wrk may be the limit**" if raw <= state * 1.05 else "wrk is not the limit")
        )
    return "\n".join(f"- {note}" for note in notes)


# --- main ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["hold"]:
        hold(int(argv[1]), int(argv[2]), float(argv[3]), Path(argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=10_000, help="idle connections to hold")
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument(
        "--held-timeout",
        type=float,
        default=3600,
        help="header timeout of the two serves in the held-open pairs (longer than the run)",
    )
    parser.add_argument("--pairs", type=int, default=12, help="held-open pairs (>= 10)")
    parser.add_argument("--pair-duration", type=int, default=5, help="seconds per run in a pair")
    parser.add_argument("--skip-reconnecting", action="store_true", help="no reconnecting flood")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 5)")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--quiet-limit", type=float, default=0.15)
    parser.add_argument("--quiet-wait", type=float, default=30)
    parser.add_argument("--attempts", type=int, default=2)
    parser.add_argument("--skip-nginx", action="store_true", help="only the idle comparison")
    parser.add_argument(
        "--no-at-once",
        dest="at_once",
        action="store_false",
        help="no third run per pair with both serves measured at once",
    )
    parser.add_argument(
        "--no-wrk-check", action="store_true", help="no raw-prototype runs beside the pairs"
    )
    parser.add_argument("--commit", help="benchmark this commit's src/ (see state_api.py)")
    args = parser.parse_args(argv)
    if not 1 <= min(args.duration, args.pair_duration) <= bench.MAX_DURATION:
        parser.error(f"--duration and --pair-duration must lie in 1..{bench.MAX_DURATION}")
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        raise SystemExit("needs wrk and taskset (apt-get install wrk util-linux)")

    def interrupted(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    root = Path(tempfile.mkdtemp(prefix="tenantstatus-idle-"))
    procs = bench.Processes(args.server_cpu, args.client_cpu)
    try:
        code = bench.code_under_test(args.commit, root)
        bench.say(f"code under test: {code}")
        report = run(args, procs, root)
    finally:
        procs.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"Code: {code}; {time.strftime('%Y-%m-%d %H:%M %Z')}. `wrk -t1 -c64`, "
        f"{args.pairs} held-open pairs of {args.pair_duration} s runs, {args.rounds} "
        f"interleaved rounds of {args.duration} s otherwise; servers on CPU {args.server_cpu}, "
        "wrk and the "
        f"holder on CPU {args.client_cpu}; {args.tenants:,} tenants.\n"
    )
    print(report)
    return 0


def run(args: argparse.Namespace, procs: bench.Processes, root: Path) -> str:
    data = root / "data"
    tenants_file = root / "tenants.jsonl"
    bench.write_tenants(tenants_file, args.tenants)
    first = start_serve(procs, data, root / "import.log", args.tenants, {})
    bench.import_tenants(procs, first, tenants_file, args.tenants)
    procs.stop(first.proc)
    long_timeout = {"TENANTSTATUS_HEADER_TIMEOUT": str(args.held_timeout)}
    held = start_serve(procs, data, root / "held.log", args.tenants, long_timeout)
    held.name = "serve with idle connections held open"
    none = start_serve(procs, data, root / "none.log", args.tenants, long_timeout)
    none.name = "serve with none"
    raw = None
    if not (args.skip_nginx and args.no_wrk_check):
        raw = variants.start_variant(procs, "raw", RAW, data, root / "raw.log", args.tenants)
        bench.check_answers(none, [raw], ["Cust1", f"Cust{args.tenants}"])
    limits = next(
        (line for line in held.log.read_text().splitlines() if "file descriptors:" in line), ""
    ).split(": ", 1)[-1]
    bench.say(limits)
    random_ids = bench.write_lua(root / "random.lua", args.tenants, 7)
    fixed = bench.write_lua(root / "fixed.lua", 1, 7)
    for server in (held, none, *([raw] if raw else [])):
        bench.run_wrk(procs, server, random_ids, duration=3, connections=64)  # warm-up
    holder = start_holder(procs, held.port, args.idle, 5.0, root)
    pairs = held_pairs(
        args, procs, held, none, raw if not args.no_wrk_check else None, holder, random_ids
    )
    procs.stop(holder.proc)
    procs.stop(held.proc)
    procs.stop(none.proc)
    sections = [
        f"Idle connections held open ({limits or 'fd limits not logged'}):\n",
        held_table(args, pairs),
    ]
    if not args.skip_reconnecting or not args.skip_nginx:
        serve = start_serve(procs, data, root / "serve.log", args.tenants, {})
        bench.run_wrk(procs, serve, random_ids, duration=3, connections=64)  # warm-up
    if not args.skip_reconnecting:
        flood = Flood(
            "reconnecting (default 10 s header timeout: the service closes them, "
            "the holder opens new ones)",
            serve,
            spread=10.0,
        )
        idle_rounds(args, procs, [flood], random_ids, root)
        sections += ["\nIdle connections reconnecting:\n", idle_table(args, [flood])]
    if not args.skip_nginx:
        assert raw is not None
        status, body = bench.http_get(f"{serve.base}/api/state/Cust1")
        assert status == 200, status
        nginx = bench.start_nginx(procs, root / "nginx", body)
        servers = [serve, nginx, raw]
        for server in servers:
            bench.run_wrk(procs, server, random_ids, duration=2, connections=64)  # warm-up
        by_path = nginx_rounds(
            args, procs, servers, {"one fixed path": fixed, "random paths": random_ids}
        )
        sections += [
            "\nState API ÷ nginx:\n",
            nginx_table(by_path),
            "\nIs wrk the limit?\n",
            wrk_check(by_path),
        ]
    return "\n".join(sections)


if __name__ == "__main__":
    sys.exit(main())
