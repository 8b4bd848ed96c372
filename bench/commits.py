"""The state API at two commits, side by side: did a change cost the hot path anything?

    python bench/commits.py BASE [HEAD] [--rounds 5] [--duration 5] [--tenants 1000]

Each commit's `src/` is a git archive, given to its own `tenantstatus serve` through
PYTHONPATH; both serve the same imported database, pinned to one core, and wrk (one
thread, 64 connections, random tenants) runs on the other, the two measured in
interleaved rounds whose order alternates. Prints the median ratio and its spread.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import state_api as bench


def snapshot(commit: str, root: Path) -> tuple[str, Path]:
    """`commit`'s src/ extracted under `root`: (short name, the src directory)."""
    full, src = bench.snapshot(commit, root)
    return full[:12], src


def start(
    procs: bench.Processes, name: str, src: Path, data: Path, log: Path, tenants: int
) -> bench.Server:
    port = bench.free_port()
    command = [
        sys.executable,
        *("-m", "tenantstatus", "serve", "--host", bench.HOST, "--port", str(port)),
        *("--data-dir", str(data), "--log-level", "warning"),
    ]
    env = {"TENANTSTATUS_OPERATOR_TOKEN": bench.TOKEN, "PYTHONPATH": str(src)}
    proc = procs.start(command, log, env=env)
    server = bench.Server(name, proc, port, log, tenants, time.monotonic())
    bench.wait_for(f"{server.base}/readyz", proc, log, 300)
    return server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("head", nargs="?", default="HEAD")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="tenantstatus-commits-"))
    procs = bench.Processes(args.server_cpu, args.client_cpu)
    try:
        (base, base_src), (head, head_src) = (
            snapshot(args.base, root),
            snapshot(args.head, root),
        )
        tenants_file = root / "tenants.jsonl"
        bench.write_tenants(tenants_file, args.tenants)
        data = {name: root / f"data-{name}" for name in (base, head)}
        servers = {}
        for name, src in ((base, base_src), (head, head_src)):
            first = start(procs, name, src, data[name], root / f"import-{name}.log", args.tenants)
            bench.import_tenants(procs, first, tenants_file, args.tenants)
            servers[name] = first
        lua = bench.write_lua(root / "random.lua", args.tenants, seed=1)
        rps: dict[str, list[float]] = {base: [], head: []}
        p99: dict[str, list[float]] = {base: [], head: []}
        for number in range(args.rounds):
            order = (base, head) if number % 2 == 0 else (head, base)
            for name in order:
                run = bench.run_wrk(
                    procs, servers[name], lua, duration=args.duration, connections=64
                )
                rps[name].append(run.rps)
                p99[name].append(run.p99_ms)
                bench.say(f"round {number + 1}: {name}: {run.rps:,.0f} req/s, p99 {run.p99_ms} ms")
    finally:
        procs.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    ratios = [h / b for h, b in zip(rps[head], rps[base], strict=True)]
    print(f"| commit | req/s (median) | p99 ms (median) | {head} ÷ {base} |")
    print("|---|---:|---:|---:|")
    for name in (base, head):
        print(
            f"| {name} | {statistics.median(rps[name]):,.0f} | "
            f"{statistics.median(p99[name]):.2f} | "
            + (
                f"**{statistics.median(ratios):.2f}x** ({min(ratios):.2f}-{max(ratios):.2f})"
                if name == head
                else "1"
            )
            + " |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
