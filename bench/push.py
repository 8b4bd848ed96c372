"""Benchmark of push delivery (issue 4): fan-out throughput, signing cost, latency.

    python bench/push.py [--deliveries N] [--rounds R] [--latency-ops N] [--profile DIR]

Starts everything itself on 127.0.0.1 (free ports, a temporary directory) and stops
everything it started. One `tenantstatus serve` on SQLite, on both cores by default
(`--service-cpus`: its event loop is one thread, RSA signatures are made in another);
a minimal receiver (asyncio + httptools + uvloop, answers 200 at once, records arrival
instants) and this driver pinned to core 1. In interleaved rounds, for RS256 and then
ES256 (the same data directory; the service is restarted with `TENANTSTATUS_SIGNING_ALG`, which
rotates to a key of that algorithm), and for each `--delivery-processes` value (0: the
dispatcher on the service's event loop; N: N dispatch processes; one warm-up delivery
after each restart):

1. the bare signing rate on core 0, in a fresh process: `cryptography` alone,
   `jwt.encode` (PyJWT, the call the service makes) and the whole per-attempt envelope
   (token + body + Standard Webhooks HMAC);
2. a fan-out of N deliveries (default 10,000 = 100 applications x 100 tenants, one
   operation on every tenant): deliveries/s from the first operation sent to the last
   arrival, the steady rate between 10 % and 90 % of arrivals, and CPU seconds of the
   service and its dispatch processes per delivery (from /proc/PID/stat), so the rates
   can be compared per CPU second as well: this machine is shared and its other users
   take CPU from both;
3. end-to-end latency on the idle service: one application, ten tenants, operations one
   at a time with a pause after each arrival; latency is the receiver's arrival instant
   minus the history row's `At` (taken before the operation's transaction begins, so it
   includes the commit) and minus the instant the admin API's 200 answer was read.

With `--profile DIR`, one more fan-out per algorithm runs under `py-spy record`; the
flame graph and a summary of where the service's time goes are written to DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

SIGN_CPU = "0"
LOAD_CPU = "1"
ALGORITHMS = ("RS256", "ES256")
TARGET_RS256_RATIO = 0.8
TARGET_ES256_RATE = 2000
TARGET_P50_MS = 20
TARGET_P99_MS = 100
PHASE_LIMIT = 120.0
PROFILE_RATE = 200
LATENCY_TENANTS = 10


@dataclass
class FanOut:
    algorithm: str
    round: int
    deliveries: int
    seconds: float
    steady_rate: float
    service_cpu: float
    receiver_cpu: float
    others_cpu: float
    machine_cpu: float
    token_alg: str
    burst: float = 0.0
    idle_share: float = 0.0
    processes: int = 0

    @property
    def setup(self) -> str:
        return setup_label(self.algorithm, self.processes)

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds

    @property
    def per_cpu_second(self) -> float:
        return self.deliveries / self.service_cpu


def setup_label(algorithm: str, processes: int) -> str:
    """How the service delivered: on its event loop, or through dispatch processes."""
    return f"{algorithm}, " + (f"{processes} dispatch processes" if processes else "in-process")


@dataclass
class Latency:
    algorithm: str
    from_at_ms: list[float] = field(default_factory=list)
    from_answer_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)


@dataclass
class Run:
    signs: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    fan_outs: list[FanOut] = field(default_factory=list)
    latencies: dict[str, Latency] = field(default_factory=dict)
    profiles: dict[str, dict[str, float]] = field(default_factory=dict)
    profiled: list[FanOut] = field(default_factory=list)
    setup_seconds: float = 0.0


class Bench:
    def __init__(self, args: argparse.Namespace, root: Path, procs: h.Processes) -> None:
        self.args = args
        self.root = root
        self.procs = procs
        self.data = root / "data"
        self.port = h.free_port()
        self.service: h.Service | None = None
        self.algorithm: tuple[str, int] = ("", 0)
        self.receiver = h.start_receiver(self.procs, root, cpus=LOAD_CPU)
        self.apps = min(100, args.deliveries)
        self.tenants = max(1, args.deliveries // self.apps)
        self.deliveries = self.apps * self.tenants
        self.fan_ctxs = [f"fan{n}" for n in range(self.tenants)]
        self.lat_ctxs = [f"lat{n}" for n in range(LATENCY_TENANTS)]
        self.state: dict[str, str] = {}
        self.meter = h.CpuMeter(
            {
                "service": h.Group(
                    lambda: h.with_descendants(self.service.proc.pid) if self.service else []
                ),
                "receiver": h.procs_group(self.receiver.proc),  # type: ignore[attr-defined]
            }
        )
        self.run = Run()

    # --- the service --------------------------------------------------------------------

    def serve(self, algorithm: str, processes: int = 0) -> h.Service:
        if self.service is not None and self.algorithm == (algorithm, processes):
            return self.service
        if self.service is not None:
            self.procs.stop(self.service.proc)
        self.service = h.start_service(
            self.procs,
            "serve",
            self.data,
            {
                "TENANTSTATUS_SIGNING_ALG": algorithm,
                "TENANTSTATUS_DELIVERY_PROCESSES": str(processes),
            },
            cpus=self.args.service_cpus,
            port=self.port,
        )
        self.algorithm = (algorithm, processes)
        if self.state:  # set up: the latency tenants exist
            self._warm_up(self.service)
        return self.service

    def _warm_up(self, service: h.Service) -> None:
        """One operation and its delivery before measuring: dispatch processes start
        after the service answers, and the first delivery would wait for them."""
        import httpx2 as httpx

        ctx = self.lat_ctxs[-1]
        count = self.receiver.stats()["count"]
        with httpx.Client(base_url=service.url, headers=h.admin_headers()) as admin:
            answer = admin.post(
                f"/admin/tenants/{ctx}/operations", json={"Operation": self.next_operation(ctx)}
            )
            answer.raise_for_status()
        deadline = time.monotonic() + 30
        while self.receiver.stats()["count"] <= count:
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up delivery did not arrive within 30 s")
            time.sleep(0.005)

    def setup(self) -> None:
        service = self.serve(ALGORITHMS[0])
        started = time.monotonic()
        asyncio.run(
            h.setup_fan_out(
                [service.url],
                self.receiver.url,
                apps=self.apps,
                tenants=self.tenants,
                prefix="fan",
            )
        )
        asyncio.run(
            h.setup_fan_out(
                [service.url], self.receiver.url, apps=1, tenants=LATENCY_TENANTS, prefix="lat"
            )
        )
        self.run.setup_seconds = time.monotonic() - started
        self.state = dict.fromkeys(self.fan_ctxs + self.lat_ctxs, "Running")

    def next_operation(self, ctx: str) -> str:
        operation = "suspend" if self.state[ctx] == "Running" else "resume"
        self.state[ctx] = "Suspended" if operation == "suspend" else "Running"
        return operation

    # --- measurements ------------------------------------------------------------------

    def sign_rates(self, algorithm: str) -> None:
        rates = h.measure_sign_rates(algorithm, self.args.sign_seconds, SIGN_CPU)
        self.run.signs.setdefault(algorithm, []).append(rates)

    def fan_out(
        self, algorithm: str, processes: int, round_: int, *, profile: Path | None = None
    ) -> FanOut:
        service = self.serve(algorithm, processes)
        h.wait_quiet(0.2, self.args.quiet_wait, self.meter)
        operation = self.next_operation(self.fan_ctxs[0])
        for ctx in self.fan_ctxs[1:]:
            self.next_operation(ctx)
        start = self.receiver.stats()
        spy = self._py_spy(service, profile) if profile else None
        before = self.meter.snapshot()
        sent = time.time()
        asyncio.run(h.run_operations([service.url], self.fan_ctxs, operation))
        stats = self.receiver.wait_unique(start["unique"] + self.deliveries, PHASE_LIMIT)
        self._wait_outbox_empty(service)
        after = self.meter.snapshot()
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        used = self.meter.usage(before, after)
        arrivals = sorted(r[0] for r in self.receiver.dump(start["count"]))
        low = arrivals[len(arrivals) // 10]
        high = arrivals[len(arrivals) * 9 // 10]
        steady = (len(arrivals) * 8 // 10) / max(high - low, 1e-9)
        burst, idle_share = h.bursts(arrivals)
        return FanOut(
            algorithm,
            round_,
            self.deliveries,
            stats["last"] - sent,
            steady,
            used["service"],
            used["receiver"],
            used["others"],
            used["machine"],
            self._token_alg(service, start["count"]),
            burst,
            idle_share,
            processes,
        )

    def _py_spy(self, service: h.Service, out: Path) -> subprocess.Popen[bytes]:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        command = [
            spy,
            "record",
            "--pid",
            str(service.proc.pid),
            "--rate",
            str(PROFILE_RATE),
            "--gil",
        ]
        log = self.root / "py-spy.log"
        raw = self.procs.start(
            [*command, "--format", "raw", "-o", str(out.with_suffix(".txt"))],
            log,
            cpus=LOAD_CPU,
        )
        time.sleep(1.0)
        return raw

    def _wait_outbox_empty(self, service: h.Service) -> None:
        import httpx2 as httpx

        deadline = time.monotonic() + 30
        with httpx.Client(base_url=service.url, headers=h.admin_headers()) as admin:
            while time.monotonic() < deadline:
                answer = admin.get("/admin/deliveries", params={"status": "pending", "limit": 1})
                if not answer.json()["Deliveries"]:
                    return
                time.sleep(0.02)
        raise RuntimeError("the outbox did not drain")

    def _token_alg(self, service: h.Service, index: int) -> str:
        """Verify one token of this run against the service's JWKS; its algorithm."""
        import httpx2 as httpx
        import jwt

        sample = self.receiver.sample(index)
        token = json.loads(sample["body"])["Token"]
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        jwks = httpx.get(f"{service.url}/.well-known/jwks.json").json()
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        audience = jwt.decode(token, options={"verify_signature": False})["aud"]
        jwt.decode(token, jwt.PyJWK(key).key, algorithms=[header["alg"]], audience=audience)
        return str(header["alg"])

    def latency(self, algorithm: str, processes: int) -> None:
        import httpx2 as httpx

        service = self.serve(algorithm, processes)
        label = setup_label(algorithm, processes)
        result = self.run.latencies.setdefault(label, Latency(label))
        deadline = time.monotonic() + PHASE_LIMIT
        with httpx.Client(base_url=service.url, headers=h.admin_headers()) as admin:
            for n in range(self.args.latency_ops):
                if time.monotonic() > deadline:
                    break
                ctx = self.lat_ctxs[n % (len(self.lat_ctxs) - 1)]
                count = self.receiver.stats()["count"]
                sent = time.time()
                answer = admin.post(
                    f"/admin/tenants/{ctx}/operations",
                    json={"Operation": self.next_operation(ctx)},
                )
                answered = time.time()
                answer.raise_for_status()
                at = h.history_at(answer.json())
                while self.receiver.stats()["count"] <= count:
                    if time.time() - sent > 10:
                        raise RuntimeError("a latency delivery did not arrive within 10 s")
                    time.sleep(0.0005)
                arrival, _, path, got_ctx, _ = self.receiver.dump(count)[0]
                assert got_ctx == ctx and "/lat/" in path, (got_ctx, ctx, path)
                result.from_at_ms.append((arrival - at) * 1000)
                result.from_answer_ms.append((arrival - answered) * 1000)
                result.commit_ms.append((answered - sent) * 1000)
                time.sleep(random.uniform(0.02, 0.05))


# --- py-spy summary ----------------------------------------------------------------------

# Inclusive shares of the samples in which the service held the GIL (py-spy --gil: its
# Python CPU time, C code that keeps the GIL included): (label, substring of a frame).
PROFILE_FRAMES = (
    ("dispatcher: one delivery (Dispatcher._deliver), all of it", "Dispatcher._deliver ("),
    ("  envelope: token, body, HMAC (seal_envelope)", "seal_envelope ("),
    ("    of which jwt.encode", "PyJWT.encode ("),
    ("    of which the private-key operation", ".sign (jwt/algorithms.py"),
    ("  recipient lookup (RecipientDirectory.get)", "RecipientDirectory.get ("),
    ("    of which the query (get_application)", "PushSql.get_application ("),
    ("    of which decrypting the secret (SecretBox.open)", "SecretBox.open ("),
    ("  HTTP POST (Dispatcher._post: request, transport, answer)", "Dispatcher._post ("),
    ("    of which the transport (Http11Transport)", "Http11Transport.handle_async_request ("),
    ("    of which socket writes (AsyncioStream.write)", "AsyncioStream.write ("),
    ("dispatcher: record outcomes (PushSql.record_outcomes)", "PushSql.record_outcomes ("),
    ("dispatcher: claim (PushSql.claim_deliveries)", "PushSql.claim_deliveries ("),
    ("operator API requests (FastAPI)", "FastAPI.__call__ ("),
    ("scheduler", "Scheduler."),
)


def summarise_profile(raw: Path, seconds: float) -> dict[str, float]:
    """Inclusive % of GIL-holding samples per frame of interest, the busiest leaves, and
    the share of wall time the service held the GIL."""
    stacks: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            stacks[stack] += int(count)
            total += int(count)
    summary: dict[str, float] = {}
    for label, needle in PROFILE_FRAMES:
        hit = sum(n for stack, n in stacks.items() if needle in stack)
        summary[label] = 100.0 * hit / max(total, 1)
    leaves: Counter[str] = Counter()
    for stack, n in stacks.items():
        leaves[stack.rsplit(";", 1)[-1]] += n
    for leaf, n in leaves.most_common(6):
        summary[f"leaf: `{leaf}`"] = 100.0 * n / max(total, 1)
    summary["samples"] = float(total)
    summary["gil_share"] = 100.0 * total / max(seconds * PROFILE_RATE, 1)
    return summary


# --- report ------------------------------------------------------------------------------


def report(bench: Bench, args: argparse.Namespace) -> str:
    run = bench.run
    out: list[str] = []
    out.append(
        f"Push benchmark: {bench.deliveries:,} deliveries per fan-out "
        f"({bench.apps} applications x {bench.tenants} tenants x 1 operation), "
        f"{args.rounds} interleaved rounds; service (SQLite) on cores {args.service_cpus}, "
        f"receiver and driver on core {LOAD_CPU}; {h.CORES} cores; setup "
        f"{run.setup_seconds:.0f} s. Medians over rounds."
    )
    out.append("")
    out.append(f"Bare signing on one core (core {SIGN_CPU}, fresh process), signatures/s:")
    out.append("")
    rows = []
    for alg in ALGORITHMS:
        samples = run.signs.get(alg, [])
        if not samples:
            continue

        def med(key: str, samples: list[dict[str, float]] = samples) -> str:
            return h.fmt(h.median(s[key] for s in samples))

        rows.append(
            [
                alg,
                med("cryptography"),
                med("pyjwt"),
                med("envelope"),
                med("cryptography_per_cpu_s"),
                med("pyjwt_per_cpu_s"),
                med("envelope_per_cpu_s"),
            ]
        )
    out.append(
        h.table(
            [
                "alg",
                "cryptography sign /s",
                "PyJWT jwt.encode /s",
                "whole envelope /s",
                "cryptography /CPU-s",
                "jwt.encode /CPU-s",
                "envelope /CPU-s",
            ],
            rows,
        )
    )
    out.append("")
    out.append(
        "Fan-out: deliveries/s from the first operation sent to the last arrival; steady = "
        "between 10 % and 90 % of arrivals; per CPU-s = deliveries per CPU second of the "
        "service process and its dispatch processes (from /proc/PID/stat); others = CPU of "
        "processes that are not ours "
        "(other users of this shared machine), in cores; arrivals come in bursts separated "
        "by gaps of more than 5 ms: the median burst size and the share of the fan-out's "
        "time spent in such gaps."
    )
    out.append("")
    rows = []
    for f in run.fan_outs:
        bare = h.median(s["pyjwt"] for s in run.signs[f.algorithm])
        bare_cpu = h.median(s["pyjwt_per_cpu_s"] for s in run.signs[f.algorithm])
        rows.append(
            [
                f.setup,
                f.round,
                h.fmt(f.rate),
                h.fmt(f.steady_rate),
                f"{f.rate / bare:.2f}x",
                h.fmt(f.per_cpu_second),
                f"{f.per_cpu_second / bare_cpu:.2f}x",
                f"{f.service_cpu / f.seconds:.2f}",
                f"{1000 * f.service_cpu / f.deliveries:.3f}",
                f"{1000 * f.receiver_cpu / f.deliveries:.3f}",
                f"{f.others_cpu / f.seconds:.2f}",
                f"{f.burst:.0f}",
                f"{100 * f.idle_share:.0f} %",
                f.token_alg,
            ]
        )
    out.append(
        h.table(
            [
                "alg, delivery",
                "round",
                "deliveries/s",
                "steady /s",
                "vs bare jwt.encode /s",
                "deliveries /service CPU-s",
                "vs jwt.encode /CPU-s",
                "service cores used",
                "service CPU ms/delivery",
                "receiver CPU ms/delivery",
                "others (cores)",
                "arrival burst (median)",
                "time in gaps > 5 ms",
                "token alg (verified)",
            ],
            rows,
        )
    )
    out.append("")
    out.append(
        "End-to-end latency on the idle service (one application, operations one at a "
        "time): receiver arrival minus the history row's At, and minus the instant the "
        "admin API's 200 was read (negative: the delivery arrived before the answer)."
    )
    out.append("")
    rows = []
    for alg, lat in run.latencies.items():
        if not lat.from_at_ms:
            continue
        rows.append(
            [
                alg,
                len(lat.from_at_ms),
                f"{h.percentile(lat.from_at_ms, 50):.1f}",
                f"{h.percentile(lat.from_at_ms, 99):.1f}",
                f"{max(lat.from_at_ms):.1f}",
                f"{h.percentile(lat.from_answer_ms, 50):.1f}",
                f"{h.percentile(lat.from_answer_ms, 99):.1f}",
                f"{h.percentile(lat.commit_ms, 50):.1f}",
            ]
        )
    out.append(
        h.table(
            [
                "alg",
                "operations",
                "p50 ms (from At)",
                "p99 ms (from At)",
                "max ms",
                "p50 ms (from 200)",
                "p99 ms (from 200)",
                "operation request p50 ms",
            ],
            rows,
        )
    )
    out.append("")
    out.append(targets(run))
    for alg, summary in run.profiles.items():
        out.append("")
        samples = summary.pop("samples")
        share = summary.pop("gil_share")
        rate = next((f.rate for f in run.profiled if f.algorithm == alg), 0.0)
        out.append(
            f"py-spy --gil profile of the service during one more {alg} fan-out "
            f"({h.fmt(rate)} deliveries/s under the profiler; {samples:.0f} samples at "
            f"{PROFILE_RATE} Hz; the service held the GIL {share:.0f} % of the wall time). "
            "% of the GIL-holding samples, inclusive:"
        )
        out.append("")
        out.append(h.table(["where", "%"], [[k, f"{v:.1f}"] for k, v in summary.items()]))
    return "\n".join(out)


def targets(run: Run) -> str:
    rows = []
    by_setup: dict[tuple[str, int], list[FanOut]] = {}
    for f in run.fan_outs:
        by_setup.setdefault((f.algorithm, f.processes), []).append(f)
    for (alg, processes), fan_outs in by_setup.items():
        label = setup_label(alg, processes)
        rate = h.median(f.rate for f in fan_outs)
        per_cpu = h.median(f.per_cpu_second for f in fan_outs)
        if alg == "RS256":
            bare = h.median(s["pyjwt"] for s in run.signs["RS256"])
            bare_cpu = h.median(s["pyjwt_per_cpu_s"] for s in run.signs["RS256"])
            rows.append(
                [
                    f"{label}: >= {TARGET_RS256_RATIO}x bare one-core jwt.encode rate",
                    f"{rate / bare:.2f}x wall ({h.fmt(rate)} vs {h.fmt(bare)}/s); "
                    f"{per_cpu / bare_cpu:.2f}x per CPU-s",
                    _met(rate / bare >= TARGET_RS256_RATIO),
                ]
            )
        else:
            rows.append(
                [
                    f"{label}: >= {TARGET_ES256_RATE:,}/s",
                    f"{h.fmt(rate)}/s ({h.fmt(per_cpu)} per service CPU-s)",
                    _met(rate >= TARGET_ES256_RATE),
                ]
            )
    for label, lat in run.latencies.items():
        if lat.from_at_ms:
            p50, p99 = h.percentile(lat.from_at_ms, 50), h.percentile(lat.from_at_ms, 99)
            rows.append([f"{label}: p50 <= {TARGET_P50_MS} ms", f"{p50:.1f} ms", _met(p50 <= 20)])
            rows.append([f"{label}: p99 <= {TARGET_P99_MS} ms", f"{p99:.1f} ms", _met(p99 <= 100)])
    return h.table(["target", "measured", ""], rows)


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency-ops", type=int, default=200)
    parser.add_argument("--sign-seconds", type=float, default=1.5)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=5.0,
        help="wait at most this long before a fan-out for other processes to go quiet",
    )
    parser.add_argument(
        "--service-cpus",
        default="0,1",
        help="cores the service may use (taskset list); the receiver and driver use core 1",
    )
    parser.add_argument(
        "--delivery-processes",
        type=lambda raw: [int(n) for n in raw.split(",")],
        default=[0, 2],
        help="TENANTSTATUS_DELIVERY_PROCESSES values to compare, comma-separated (0: in-process)",
    )
    parser.add_argument("--profile", type=Path, help="also profile one fan-out per algorithm")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    h.exit_cleanly_on_signals()
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    root = Path(tempfile.mkdtemp(prefix="tenantstatus-bench-push-"))
    procs = h.Processes()
    try:
        bench = Bench(args, root, procs)
        bench.setup()
        for round_ in range(1, args.rounds + 1):
            for alg in ALGORITHMS:
                bench.sign_rates(alg)
                for processes in args.delivery_processes:
                    fan_out = bench.fan_out(alg, processes, round_)
                    bench.run.fan_outs.append(fan_out)
                    print(
                        f"round {round_} {fan_out.setup}: {h.fmt(fan_out.rate)} deliveries/s",
                        file=sys.stderr,
                        flush=True,
                    )
        for alg in ALGORITHMS:
            for processes in args.delivery_processes:
                bench.latency(alg, processes)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for alg in ALGORITHMS:
                out = args.profile / f"push-{alg}"
                profiled = bench.fan_out(alg, args.delivery_processes[0], 0, profile=out)
                bench.run.profiles[alg] = summarise_profile(
                    out.with_suffix(".txt"), profiled.seconds + 1.0
                )
                bench.run.profiled.append(profiled)
        text = report(bench, args)
        print(text)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "signs": bench.run.signs,
                        "fan_outs": [f.__dict__ for f in bench.run.fan_outs],
                        "latencies": {k: v.__dict__ for k, v in bench.run.latencies.items()},
                        "profiles": bench.run.profiles,
                    },
                    indent=1,
                )
            )
    finally:
        procs.stop_all()
        with contextlib.suppress(OSError):
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
