"""The state API's p99 and the deliveries per second while a rollout's waves run over
100,000 tenants, beside the same run with no rollout (issue #16; target: p99 <= 10 ms).

    python bench/rollout_waves.py [--tenants N] [--approved K] [--rounds R] [--duration S]
                                  [--profile DIR]

Builds a SQLite database after the real migrations with N Running tenants (Cust1..CustN
on sod2), starts `tenantstatus serve` and a fast webhook receiver (bench/_harness.py)
pinned to CPU 0, creates 3 applications posting to the receiver and approves them for
the first K tenants of the rollout's order, so each of those tenants' Upgrade and Resume
reach the receiver 3 times. The platform's tooling is the sandbox's own
(`PlatformTooling`, in this process on CPU 1): it reports `upgrade-done` 1 s (+/- 20 %)
after each tenant goes offline.

Then R interleaved rounds (the order alternates), each with two wrk runs of S seconds
(-t1 -c64, CPU 1, random tenants, as bench/state_api.py): "no rollout", and "waves",
during which a rollout over all N tenants runs (waves of 100, at most 200 in progress,
2 s expected per tenant, starting at once); after that run it is aborted and the bench
waits until no tenant is offline and the receiver is quiet, so the next run starts from
the same state. Deliveries per second are the receiver's POSTs during the wrk run; a
third run per round, "waves, no wrk", counts them with the state API unloaded (what the
waves and the fan-out give when wrk does not take the server's core). The
load generator is not the limit when wrk's core is not saturated (its busy share and
wrk's own CPU are in the table). With --profile, py-spy records the server during the
first waves run. Stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import state_api
from _harness import PUSH_ENV, TOKEN, ReceiverClient, gather_limited, table

from tenantstatus.lifecycle import Operation, OperationRequest, apply
from tenantstatus.model import TenantState
from tenantstatus.sandbox.tooling import PlatformTooling
from tenantstatus.sandbox.tooling_script import ToolingScript
from tenantstatus.store import SqlStore

HOST_NAME = "sod2.example.com"
APPS = 3
BATCH, CAP, EXPECTED = 100, 200, 2


async def _seed(database: Path, count: int) -> None:
    store = SqlStore(f"sqlite+aiosqlite:///{database}")
    await store.open()
    now = datetime.now(UTC)
    request = OperationRequest(
        Operation.PROVISION,
        state=TenantState.Running,
        version_name="Release 11.10",
        file_version="11.10.1",
    )
    try:
        for start in range(1, count + 1, 20_000):
            tenants = [
                apply(
                    f"Cust{i}",
                    None,
                    OperationRequest(
                        request.operation,
                        endpoint=f"https://{HOST_NAME}/Cust{i}",
                        state=request.state,
                        version_name=request.version_name,
                        file_version=request.file_version,
                    ),
                    now=now,
                ).tenant
                for i in range(start, min(start + 20_000, count + 1))
            ]
            await store.import_tenants(tenants, actor="bench", at=now)
    finally:
        await store.close()


def _call(url: str, method: str = "GET", body: object | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - loopback
        data = response.read()
    return json.loads(data) if data else None


async def _approve(base: str, receiver: str, first: list[str]) -> None:
    import httpx2 as httpx

    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    ) as client:
        apps = []
        for n in range(APPS):
            response = await client.post(
                "/admin/applications", json={"Name": f"app{n}", "Url": f"{receiver}/app/{n}"}
            )
            response.raise_for_status()
            apps.append(response.json()["Application"]["Id"])

        async def one(app: str, ctx: str) -> None:
            (await client.put(f"/admin/applications/{app}/approvals/{ctx}")).raise_for_status()

        await gather_limited((one(a, c) for a in apps for c in first), 16)


class Tooling:
    """The sandbox's platform tooling on its own event loop, in a thread of this process."""

    def __init__(self, base: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.tooling: PlatformTooling | None = None
        self._thread = threading.Thread(target=self._run, args=(base,), daemon=True)
        self._thread.start()
        self._ready.wait(30)

    def _run(self, base: str) -> None:
        async def main() -> None:
            script = ToolingScript(duration=1.0, jitter=0.2, concurrency=CAP * 2)
            self.tooling = PlatformTooling(script, base_url=base, token=TOKEN)
            self.tooling.start()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            await self.tooling.stop()

        self._loop.run_until_complete(main())

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def _offline(base: str) -> int:
    page = _call(f"{base}/admin/tenants?state=OfflineMaintenance&limit=1000")
    return len(page["Tenants"])


def _settle(base: str, receiver: ReceiverClient, timeout: float = 180) -> None:
    """Wait until no tenant is offline and the receiver got nothing for 2 s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = receiver.stats()["count"]
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since > 2 and _offline(base) == 0:
            return
        time.sleep(0.25)
    raise RuntimeError("the rollout's tenants did not settle")


def _rollout_body(round_no: int) -> dict[str, object]:
    start = datetime.now(UTC) + timedelta(seconds=1)
    return {
        "Operation": "upgrade",
        "VersionName": f"Release 12.{round_no}",
        "FileVersion": f"12.{round_no}.0",
        "Message": "Upgrading tonight.",
        "Select": {"Host": HOST_NAME},
        "Start": start.isoformat(),
        "WindowEnd": (start + timedelta(hours=6)).isoformat(),
        "BatchSize": BATCH,
        "MaxInProgress": CAP,
        "ExpectedDuration": EXPECTED,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--approved", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {1})  # this process (the tooling) beside wrk
    procs = state_api.Processes(server_cpu=0, client_cpu=1)
    runs: list[tuple[str, state_api.WrkRun, float, dict[str, Any]]] = []
    tooling: Tooling | None = None
    with tempfile.TemporaryDirectory(prefix="bench-waves-") as root_name:
        root = Path(root_name)
        data = root / "data"
        data.mkdir(mode=0o700)
        seeded = time.perf_counter()
        asyncio.run(_seed(data / "tenantstatus.db", args.tenants))
        print(f"seeded {args.tenants:,} tenants in {time.perf_counter() - seeded:.1f} s")
        try:
            port = state_api.free_port()
            receiver_proc = procs.start(
                [sys.executable, str(Path(__file__).parent / "_harness.py"), "receiver", str(port)],
                root / "receiver.log",
            )
            receiver = ReceiverClient(f"http://127.0.0.1:{port}")
            state_api.wait_for(f"{receiver.url}/_stats", receiver_proc, root / "receiver.log", 15)
            serve_port = state_api.free_port()
            log = root / "serve.log"
            command = [state_api.tenantstatus_bin(), "serve", "--host", "127.0.0.1"]
            command += ["--port", str(serve_port), "--data-dir", str(data)]
            command += ["--log-level", "warning"]
            proc = procs.start(command, log, env=PUSH_ENV)
            server = state_api.Server("serve", proc, serve_port, log, args.tenants)
            state_api.wait_for(f"{server.base}/readyz", proc, log, 180)
            order = sorted(f"Cust{i}" for i in range(1, args.tenants + 1))
            asyncio.run(_approve(server.base, receiver.url, order[: args.approved]))
            tooling = Tooling(server.base)
            lua = state_api.write_lua(root / "state.lua", args.tenants, 16)
            state_api.run_wrk(procs, server, lua, duration=3, connections=args.connections)
            for round_no in range(args.rounds):
                kinds = ("no rollout", "waves") if round_no % 2 == 0 else ("waves", "no rollout")
                for kind in (*kinds, "waves, no wrk"):
                    rollout: dict[str, Any] = {}
                    profiler = None
                    if kind.startswith("waves"):
                        started = time.perf_counter()
                        rollout = _call(
                            f"{server.base}/admin/rollouts", "POST", _rollout_body(round_no)
                        )
                        rollout["create_s"] = time.perf_counter() - started
                        time.sleep(2)  # the first waves are under way
                        if args.profile is not None and round_no == 0:
                            args.profile.mkdir(parents=True, exist_ok=True)
                            profiler = state_api.Profiler(
                                proc.pid, args.profile / "waves.txt", rate=100
                            )
                    before = receiver.stats()["count"]
                    at = time.monotonic()
                    if kind == "waves, no wrk":
                        time.sleep(args.duration)
                        run = state_api.WrkRun(
                            kind, round_no, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "", 0, 0, 0
                        )
                    else:
                        run = state_api.run_wrk(
                            procs,
                            server,
                            lua,
                            duration=args.duration,
                            connections=args.connections,
                            round_no=round_no,
                        )
                    delivered = (receiver.stats()["count"] - before) / (time.monotonic() - at)
                    if profiler is not None:
                        profiler.stop()
                    if kind.startswith("waves"):
                        shown = _call(f"{server.base}/admin/rollouts/{rollout['Id']}")
                        rollout["progress"] = shown.get("Progress", {})
                        _call(f"{server.base}/admin/rollouts/{rollout['Id']}/abort", "POST")
                        _settle(server.base, receiver)
                    runs.append((kind, run, delivered, rollout))
        finally:
            if tooling is not None:
                tooling.stop()
            procs.stop_all()
    _report(runs, args)


def _report(
    runs: list[tuple[str, state_api.WrkRun, float, dict[str, Any]]], args: argparse.Namespace
) -> None:
    rows = []
    for kind, run, delivered, rollout in runs:
        progress = rollout.get("progress", {})
        rows.append(
            (
                run.round,
                kind,
                f"{run.rps:,.0f}",
                f"{run.p50_ms:.2f}",
                f"{run.p99_ms:.2f}",
                f"{run.max_ms:.1f}",
                f"{delivered:,.0f}",
                f"{progress.get('Done', '-')}" if rollout else "-",
                f"{run.server_core_busy:.0%} ({run.server_cpu:.0%})",
                f"{run.client_core_busy:.0%} ({run.client_cpu:.0%})",
                f"{run.other_cpu:.2f}",
                run.errors,
            )
        )
    print(
        f"{args.tenants:,} tenants, {args.approved:,} of them with {APPS} approved applications; "
        f"wrk -t1 -c{args.connections} -d{args.duration}s x {args.rounds} interleaved rounds; "
        f"waves of {BATCH}, cap {CAP}, {EXPECTED} s expected, tooling done after 1 s +/- 20 %"
    )
    print(
        table(
            (
                "round",
                "run",
                "req/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "deliveries/s",
                "tenants done",
                "server core busy (server)",
                "wrk core busy (wrk)",
                "other processes, cores",
                "errors",
            ),
            rows,
        )
    )
    for kind in ("no rollout", "waves", "waves, no wrk"):
        mine = [r for k, r, _, _ in runs if k == kind]
        rates = [d for k, _, d, _ in runs if k == kind]
        print(
            f"{kind}: p99 median {statistics.median(r.p99_ms for r in mine):.2f} ms, "
            f"req/s median {statistics.median(r.rps for r in mine):,.0f}, "
            f"deliveries/s median {statistics.median(rates):,.0f}"
        )
    creations = [r["create_s"] for k, _, _, r in runs if k.startswith("waves")]
    print(f"rollout creation during the bench: median {statistics.median(creations):.2f} s")
    if args.profile is not None:
        path = args.profile / "waves.txt"
        if path.exists():
            print(state_api.summarise_profile(path, "server during the waves", top=16))


if __name__ == "__main__":
    main()
