"""What would close the gap to nginx? Two prototypes of the state API's serving layer.

    python bench/hot_path_variants.py [--tenants N] [--duration S] [--rounds R] [--commit REV]

`bench/state_api.py` shows the state API at about half of nginx's throughput, and the
profile puts most of the time in uvicorn's per-request work rather than in
`tenantstatus`: two `transport.write` calls per response (status line and headers,
then the body), an asyncio task and an ASGI cycle per request. This script measures,
side by side with wrk as `state_api.py` does (same pinning, same random ids):

* `serve`: the unmodified `tenantstatus serve`;
* `coalesced writes`: the same app under uvicorn with a protocol whose transport
  buffers writes until the end of the event-loop step, so each response leaves in
  one `write` (a subclass of uvicorn's `HttpToolsProtocol`, passed as `http=`);
* `raw protocol`: the same `StateCache` and `ValidityClock`, filled by the same app's
  start-up, answered by a bare `asyncio.Protocol` over `httptools` that builds each
  response as one byte string (no ASGI, no task per request). Only `GET
  /api/state/...` is served there; a real fix would hand other requests to the app.
* nginx serving the same JSON as a static file, for the ratio.

Nothing here is the service's code: these are measurements that back a suggested change.
The same file is also the prototype server: `python bench/hot_path_variants.py serve ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import state_api as bench

PREFIX = b"/api/state/"


# --- the prototype servers (run in a child process) --------------------------------------


class CorkedTransport:
    """Buffers `write` calls and sends them as one at the end of the loop step."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def coalescing_protocol() -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class CoalescingProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.transport = CorkedTransport(transport, self.loop)  # type: ignore[assignment]

    return CoalescingProtocol


class StateProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive, GET /api/state/{id} only, one write per batch of responses."""

    def __init__(self, cache: Any, clock: Any, dates: DateHeader) -> None:
        import httptools

        from tenantstatus.service.state.cache import Answer

        self.cache = cache
        self.clock = clock
        self.dates = dates
        self.unknown = Answer.unknown
        self.parser = httptools.HttpRequestParser(self)
        self.parse_error = httptools.HttpParserError
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.if_none_match: bytes | None = None
        self.out: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        try:
            self.parser.feed_data(data)
        except self.parse_error:
            self.out.append(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            self.transport.write(b"".join(self.out))
            self.transport.close()
            return
        if self.out:
            self.transport.write(b"".join(self.out))
            self.out.clear()
        if not self.parser.should_keep_alive():
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"if-none-match":
            self.if_none_match = value

    def on_message_complete(self) -> None:
        url, self.url = self.url, b""
        if_none_match, self.if_none_match = self.if_none_match, None
        if not url.startswith(PREFIX) or self.parser.get_method() not in (b"GET", b"HEAD"):
            self.out.append(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            return
        context_identifier = url[len(PREFIX) :].decode("latin-1")
        answer = self.cache.get(context_identifier) or self.unknown(context_identifier)
        valid_until, max_age = self.clock.stamp(answer.not_after)
        head = b"".join(
            (
                b"date: ",
                self.dates.now(),
                b"\r\ncache-control: public, max-age=%d\r\netag: " % max_age,
                answer.etag,
                b"\r\nvary: accept-encoding\r\n",
            )
        )
        if if_none_match is not None and answer.etag in if_none_match:
            self.out.append(b"HTTP/1.1 304 Not Modified\r\n" + head + b"\r\n")
            return
        body = answer.head + valid_until + answer.tail
        self.out.append(
            b"HTTP/1.1 200 OK\r\n%bcontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
            % (head, len(body))
        )
        if self.parser.get_method() == b"GET":
            self.out.append(body)


class DateHeader:
    """The `date` header's value, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def now(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._value = email.utils.formatdate(second, usegmt=True).encode()
        return self._value


def serve(variant: str, port: int, data_dir: str) -> None:
    """Run one prototype: the app on `port` (`coalesced`), or the raw protocol on `port`."""
    import uvicorn
    import uvloop

    from tenantstatus.config import Settings
    from tenantstatus.service.app import create_app

    settings = Settings.from_env(data_dir=Path(data_dir), host=bench.HOST, port=port)
    route: Any = create_app(settings)
    options: dict[str, Any] = {
        "host": bench.HOST,
        "log_level": "warning",
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "lifespan": "on",
    }
    if variant == "coalesced":
        options.update(port=port, http=coalescing_protocol())
    else:
        options.update(port=0)  # the app itself answers on a port nobody uses
    server = uvicorn.Server(uvicorn.Config(route, **options))

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        if variant == "raw":
            while not server.started:
                if task.done():
                    return
                await asyncio.sleep(0.05)
            dates = DateHeader()
            raw = await asyncio.get_running_loop().create_server(
                lambda: StateProtocol(route.cache, route.clock, dates), bench.HOST, port
            )
            async with raw:
                await task
        else:
            await task

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


# --- the measurement ---------------------------------------------------------------------


def start_variant(
    procs: bench.Processes, variant: str, name: str, data_dir: Path, log: Path, tenants: int
) -> bench.Server:
    port = bench.free_port()
    command = [sys.executable, __file__, "serve", variant, str(port), str(data_dir)]
    started = time.monotonic()
    proc = procs.start(command, log, env={"TENANTSTATUS_OPERATOR_TOKEN": bench.TOKEN})
    server = bench.Server(name, proc, port, log, tenants, started)
    url = f"{server.base}/api/state/Cust1"
    server.ready_s = bench.wait_for(url, proc, log, 300) - started
    return server


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        serve(argv[1], int(argv[2]), argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--quiet-limit", type=float, default=0.15)
    parser.add_argument("--quiet-wait", type=float, default=30)
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--commit", help="benchmark this commit's src/ (see state_api.py)")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= bench.MAX_DURATION:
        parser.error(f"--duration must lie in 1..{bench.MAX_DURATION}")

    def interrupted(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    root = Path(tempfile.mkdtemp(prefix="tenantstatus-variants-"))
    procs = bench.Processes(args.server_cpu, args.client_cpu)
    try:
        code = bench.code_under_test(args.commit, root)
        bench.say(f"code under test: {code}")
        table = measure(args, root, procs)
    finally:
        procs.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"Code: {code}. wrk -t1 -c{args.connections} -d{args.duration}s, medians of "
        f"{args.rounds} interleaved rounds; servers on CPU {args.server_cpu}, wrk on "
        f"CPU {args.client_cpu}.\n"
    )
    print(table)
    return 0


def measure(args: argparse.Namespace, root: Path, procs: bench.Processes) -> str:
    data = root / "data"
    tenants_file = root / "tenants.jsonl"
    bench.write_tenants(tenants_file, args.tenants)
    first = bench.start_serve(procs, "import", data, root / "import.log", args.tenants)
    bench.import_tenants(procs, first, tenants_file, args.tenants)
    procs.stop(first.proc)
    stock = bench.start_serve(procs, "serve (uvicorn, stock)", data, root / "s.log", args.tenants)
    coalesced = start_variant(
        procs, "coalesced", "serve, coalesced writes", data, root / "c.log", args.tenants
    )
    raw = start_variant(procs, "raw", "raw protocol, same cache", data, root / "r.log", 0)
    raw.tenants = args.tenants
    status, body = bench.http_get(f"{stock.base}/api/state/Cust{max(1, args.tenants // 2)}")
    assert status == 200, status
    nginx = bench.start_nginx(procs, root / "nginx", body)
    bench.check_answers(stock, [coalesced, raw], ["Cust1", f"Cust{args.tenants}"])
    lua = bench.write_lua(root / "ids.lua", args.tenants, 7)
    servers = [stock, coalesced, raw, nginx]
    for server in servers:
        bench.run_wrk(procs, server, lua, duration=3, connections=args.connections)
    runs: dict[str, list[bench.WrkRun]] = {s.name: [] for s in servers}
    for round_no in range(1, args.rounds + 1):
        for server in servers:
            best: bench.WrkRun | None = None
            for _ in range(args.attempts):
                bench.quiet(args, procs)
                result = bench.run_wrk(
                    procs, server, lua, duration=args.duration, connections=args.connections
                )
                bench.say(
                    f"round {round_no}: {server.name}: {result.rps:,.0f} req/s, "
                    f"p99 {result.p99_ms:.2f} ms, other processes {result.other_cpu:.0%}"
                )
                if best is None or result.other_cpu < best.other_cpu:
                    best = result
                if result.other_cpu < args.quiet_limit:
                    break
            assert best is not None
            runs[server.name].append(best)
    reference = statistics.median(r.rps for r in runs[nginx.name])
    base = statistics.median(r.rps for r in runs[stock.name])
    lines = [
        "| serving layer | req/s | p50 ms | p99 ms | ÷ nginx | ÷ stock serve | "
        "server core busy | other processes, max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for server in servers:
        mine = runs[server.name]
        rps = statistics.median(r.rps for r in mine)
        lines.append(
            f"| {server.name} | {rps:,.0f} | {statistics.median(r.p50_ms for r in mine):.2f} | "
            f"{statistics.median(r.p99_ms for r in mine):.2f} | {rps / reference:.2f} | "
            f"{rps / base:.2f} | {statistics.median(r.server_core_busy for r in mine):.0%} | "
            f"{max(r.other_cpu for r in mine):.0%} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
