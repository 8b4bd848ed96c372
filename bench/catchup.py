"""Benchmark of the catch-up feed: 10,000 notifications of one application, 100 a page.

    python bench/catchup.py [--deliveries N] [--rounds K] [--sign-rounds S]

Two parts, each side by side in one run:

1. **Signing a page of 100, in this process.** RS256 and ES256, each signed inline
   (as the dispatcher signs one) and through `PageSigner` with 2 threads (as the feed
   signs a page). For each: wall time and CPU time per page, and the longest stall of
   the event loop while the page was signed (a task that wakes every 0.1 ms measures
   it). If OpenSSL held the GIL, the 2 threads would take as long as inline.
2. **The feed over HTTP.** One SQLite database after the real migrations, with N
   deliveries for application A interleaved with N for B (the feed must seek A's own
   rows), copied for three `tenantstatus serve` processes: RS256 with the page signed
   in threads (the default), RS256 signed inline (`TENANTSTATUS_SIGNING_THREADS=0`),
   and ES256. K interleaved rounds; each round reads A's whole feed, 100 a page, from
   each server in turn with A's own token, after a `/healthz` baseline, while a
   second client GETs the state API every 2 ms (which shares the event loop). Prints
   p50, p90, p99 per page, the ratio to `/healthz`, the server's CPU per page from
   /proc, and the state API's latency meanwhile.

The machine is shared with other engineers' work: read the ratios, not the times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx2 as httpx

from portal import (  # bench/portal.py: the same database, built the same way
    APP_A,
    APP_TOKEN,
    TOKEN,
    cpu_seconds,
    free_port,
    insert_rows,
    migrate_and_register,
    percentile,
)
from tenantstatus.delivery.page_signing import PageSigner
from tenantstatus.model import ChangeType
from tenantstatus.store.push_records import Delivery, DeliveryStatus
from tenantstatus.tokens import Algorithm, SigningKey, SigningKeyRing

PAGE = 100


def _page(now: datetime) -> list[Delivery]:
    return [
        Delivery(
            seq=n,
            id=f"msg_{n:032x}",
            application_id=APP_A,
            context_identifier=f"Cust{n:05d}",
            history_id=n,
            change_type=ChangeType.Suspend,
            version_name="Release 11.10",
            file_version="11.10.1",
            public_endpoint=None,
            status=DeliveryStatus.DEAD,
            attempts=3,
            next_attempt_at=now,
            created_at=now,
        )
        for n in range(1, PAGE + 1)
    ]


async def _sign_once(
    signer: PageSigner, ring: SigningKeyRing, page: list[Delivery], *, probe: bool
) -> tuple[float, float, float]:
    """Wall ms, CPU ms (all threads) and, with `probe`, the loop's longest stall in ms.

    The probe wakes every 0.1 ms and costs CPU of its own: CPU is measured without it.
    """
    stalls: list[float] = [0.0]
    done = asyncio.Event()

    async def ticks() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.0001)
            now = time.perf_counter()
            stalls.append(now - last)
            last = now

    ticker = asyncio.create_task(ticks()) if probe else None
    await asyncio.sleep(0.002)
    cpu, wall = time.process_time(), time.perf_counter()
    signed = await signer.sign(page, ring=ring, issuer="http://127.0.0.1:1", now=datetime.now(UTC))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done.set()
    if ticker is not None:
        await ticker
    assert len(signed) == PAGE
    return wall * 1000, cpu * 1000, max(stalls) * 1000


async def signing_table(rounds: int) -> None:
    now = datetime.now(UTC)
    page = _page(now)
    rings: dict[Algorithm, SigningKeyRing] = {
        alg: SigningKeyRing([SigningKey.generate(alg)]) for alg in ("RS256", "ES256")
    }
    configs = [
        (alg, threads, PageSigner(threads)) for alg in ("RS256", "ES256") for threads in (0, 2)
    ]
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {
        (alg, threads): [] for alg, threads, _ in configs
    }
    for _ in range(rounds):
        for alg, threads, signer in configs:
            # ES256 goes inline whatever the threads: PageSigner keeps ECDSA on the loop.
            wall, cpu, _ = await _sign_once(signer, rings[alg], page, probe=False)
            _, _, stall = await _sign_once(signer, rings[alg], page, probe=True)
            results[(alg, threads)].append((wall, cpu, stall))
    for _, _, signer in configs:
        signer.close()
    base = percentile([r[1] for r in results[("RS256", 0)]], 0.5)
    print(
        f"Signing one page of {PAGE} in this process, {rounds} interleaved rounds "
        f"(medians); load average {os.getloadavg()[0]:.1f}.\n"
    )
    print(
        "| algorithm, how | wall per page | CPU per page | CPU ÷ RS256 inline | "
        "cores busy (CPU ÷ wall) | longest loop stall |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for (alg, threads), values in results.items():
        how = "inline" if threads == 0 else f"PageSigner({threads})"
        if alg == "ES256" and threads:
            how += ", inline by design"
        wall, cpu, stall = (percentile([v[i] for v in values], 0.5) for i in range(3))
        print(
            f"| {alg}, {how} | {wall:.1f} ms | {cpu:.1f} ms | {cpu / base:.2f}x | "
            f"{cpu / wall:.2f} | {stall:.1f} ms |"
        )
    print()


def _count_for(seconds: float) -> int:
    count, until = 0, time.perf_counter() + seconds
    while time.perf_counter() < until:
        count += 1
    return count


def gil_table(rounds: int) -> None:
    """Does an RSA signature release the GIL? Pure Python beside a signing thread."""
    key = SigningKey.generate("RS256").private_key
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    assert isinstance(key, rsa.RSAPrivateKey)

    def rsa_signs(stop: threading.Event) -> None:
        while not stop.is_set():
            key.sign(b"x" * 400, padding.PKCS1v15(), hashes.SHA256())

    def python_spins(stop: threading.Event) -> None:
        while not stop.is_set():
            sum(range(200))

    counts: dict[str, list[int]] = {"alone": [], "rsa": [], "python": []}
    for _ in range(rounds):
        counts["alone"].append(_count_for(0.3))
        for name, work in (("rsa", rsa_signs), ("python", python_spins)):
            stop = threading.Event()
            thread = threading.Thread(target=work, args=(stop,))
            thread.start()
            counts[name].append(_count_for(0.3))
            stop.set()
            thread.join()
    alone = percentile(counts["alone"], 0.5)
    print(
        f"The GIL: a pure-Python loop's speed (medians of {rounds} interleaved rounds of "
        "0.3 s) while another thread signs RSA, or runs Python, as a ratio to the loop "
        "alone. About 1.0 where the other thread releases the GIL (and a core is free), "
        "about 0.5 where it holds it.\n"
    )
    print("| beside the loop | loop speed ÷ alone |")
    print("|---|---:|")
    print(
        f"| a thread signing RS256 (cryptography) | {percentile(counts['rsa'], 0.5) / alone:.2f} |"
    )
    print(f"| a thread running Python | {percentile(counts['python'], 0.5) / alone:.2f} |")
    print()


def _start(
    root: Path, name: str, source: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    data = root / name
    data.mkdir(mode=0o700)
    shutil.copy(source, data / "tenantstatus.db")
    port = free_port()
    log = (root / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tenantstatus", "serve", "--port", str(port),
         "--data-dir", str(data), "--log-level", "warning"],
        # The rows reach 30 days back: keep them all (retention would prune some).
        env={
            **os.environ,
            "TENANTSTATUS_OPERATOR_TOKEN": TOKEN,
            "TENANTSTATUS_DELIVERY_RETENTION_DAYS": "365",
            **env,
        },
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("serve was not ready in 120 s")
        time.sleep(0.1)


def feed_table(deliveries: int, rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-catchup-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        seed = root / "seed"
        seed.mkdir(mode=0o700)
        database = seed / "tenantstatus.db"
        anyio.run(migrate_and_register, database, datetime.now(UTC))
        insert_rows(database, deliveries, datetime.now(UTC))
        configs = {
            "RS256, page signed in threads (default)": {"TENANTSTATUS_SIGNING_ALG": "RS256"},
            "RS256, page signed inline": {
                "TENANTSTATUS_SIGNING_ALG": "RS256",
                "TENANTSTATUS_SIGNING_THREADS": "0",
            },
            "ES256": {"TENANTSTATUS_SIGNING_ALG": "ES256"},
        }
        servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        for n, (name, env) in enumerate(configs.items()):
            process, base = _start(root, f"serve{n}", database, env)
            processes.append(process)
            servers[name] = (process, base)
        for n, (process, base) in enumerate(servers.values()):
            _wait_ready(process, base, root / f"serve{n}.log")
        baseline: list[float] = []
        pages: dict[str, list[float]] = {name: [] for name in servers}
        cpu: dict[str, float] = dict.fromkeys(servers, 0.0)
        headers = {"Authorization": f"Bearer {APP_TOKEN}"}
        clients = {
            name: httpx.Client(base_url=base, headers=headers, timeout=30)
            for name, (_, base) in servers.items()
        }
        path = f"/admin/applications/{APP_A}/notifications"
        state_while: dict[str, list[float]] = {name: [] for name in servers}
        for name, client in clients.items():  # warm up, and check the whole feed is there
            assert client.get(path, params={"limit": PAGE}).status_code == 200, name
        for _ in range(rounds):
            for name, client in clients.items():
                for _ in range(20):
                    started = time.perf_counter()
                    client.get("/healthz")
                    baseline.append((time.perf_counter() - started) * 1000)
                process = servers[name][0]
                reading = threading.Event()
                reading.set()
                prober = threading.Thread(
                    target=_probe_state, args=(servers[name][1], reading, state_while[name])
                )
                prober.start()
                used = cpu_seconds(process.pid)
                after, read = 0, 0
                while True:
                    started = time.perf_counter()
                    answer = client.get(path, params={"after": after, "limit": PAGE})
                    pages[name].append((time.perf_counter() - started) * 1000)
                    page = answer.json()
                    read += len(page["Notifications"])
                    after = page["Next"]
                    if not page["More"]:
                        break
                cpu[name] += cpu_seconds(process.pid) - used
                reading.clear()
                prober.join()
                assert read == deliveries, (name, read)
        for client in clients.values():
            client.close()
        base = percentile(baseline, 0.5)
        print(
            f"The feed over HTTP: {deliveries:,} notifications of one application (and as "
            f"many of another, interleaved), {PAGE} a page, {rounds} interleaved rounds of "
            f"the whole feed per server, servers and client unpinned on {os.cpu_count()} "
            f"cores; load average {os.getloadavg()[0]:.1f}.\n"
        )
        print(
            "| server | page p50 | p90 | p99 | p50 ÷ /healthz | server CPU per page | "
            "state API meanwhile p50 / p99 |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        print(f"| /healthz (baseline) | {base:.2f} ms | | | 1.0x | | |")
        for name, values in pages.items():
            p50 = percentile(values, 0.5)
            print(
                f"| {name} | {p50:.1f} ms | {percentile(values, 0.9):.1f} ms | "
                f"{percentile(values, 0.99):.1f} ms | {p50 / base:.1f}x | "
                f"{cpu[name] * 1000 / len(values):.1f} ms | "
                f"{percentile(state_while[name], 0.5):.2f} / "
                f"{percentile(state_while[name], 0.99):.1f} ms |"
            )
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def _probe_state(base: str, reading: threading.Event, into: list[float]) -> None:
    """GET the state API over and over, 2 ms apart, while the feed is read."""
    with httpx.Client(base_url=base, timeout=30) as client:
        while reading.is_set():
            started = time.perf_counter()
            client.get("/api/state/Cust00001")
            into.append((time.perf_counter() - started) * 1000)
            time.sleep(0.002)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=10_000, help="per application")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sign-rounds", type=int, default=30)
    args = parser.parse_args(argv)
    gil_table(max(3, args.sign_rounds // 6))
    asyncio.run(signing_table(args.sign_rounds))
    feed_table(args.deliveries, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
