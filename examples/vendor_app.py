"""A tiny vendor application on the tenantstatus SDK, to run against `tenantstatus sandbox`.

    .venv/bin/tenantstatus sandbox --port 8090 --scenario examples/sandbox-scenario.json \\
        --notify http://127.0.0.1:9000/notify
    .venv/bin/python examples/vendor_app.py --service http://127.0.0.1:8090 --port 9000 \\
        --app-id app_... Cust10001 Cust10002 Cust10003

Each tenant gets a worker that calls its API every second: only while it runs, always on
its current Endpoint, following a move after one 421. The State Change URL
(http://127.0.0.1:9000/notify) verifies each notification before the gate acts on it,
so an Upgrade, Suspend or Delete pauses the worker at once. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import contextlib

import anyio
import httpx2
import uvicorn

from tenantstatus.client import (
    AsyncNotificationVerifier,
    AsyncTenantGate,
    AsyncTenantStatusClient,
    NotificationReceiver,
    TenantEvent,
    TenantEventKind,
    TenantNotRunning,
    VerifiedNotification,
)


async def work(gate: AsyncTenantGate, ctx: str, gone: set[str]) -> None:
    """Call the tenant's API once a second, for as long as it exists."""
    async with gate.client(ctx, timeout=10) as tenant:
        while ctx not in gone:
            try:
                async with gate.running(ctx, timeout=5):
                    response = await tenant.get("api/v1/Contact/1")  # relative to Endpoint
                    print(f"{ctx}: {response.status_code} {response.text[:100]}", flush=True)
            except TenantNotRunning as refusal:
                print(f"{ctx}: not calling, {refusal}", flush=True)
            except httpx2.TransportError as failure:  # the sandbox went away: retry in a second
                print(f"{ctx}: cannot reach it, {failure}", flush=True)
            await anyio.sleep(1)


async def main(service: str, application_id: str, port: int, tenants: list[str]) -> None:
    """Run the workers and the State Change URL until the receiver stops."""
    gone: set[str] = set()

    def heard(event: TenantEvent) -> None:
        if event.kind is TenantEventKind.DELETE:
            gone.add(event.context_identifier)
        where = f" -> {event.endpoint}" if event.kind is TenantEventKind.MOVE else ""
        print(f"{event.context_identifier}: {event.kind.value}{where}", flush=True)

    def notified(verified: VerifiedNotification) -> None:
        # ChangeType.Upgrade is 0, so test for None rather than for truth.
        known = verified.change_type
        change = known.name if known is not None else "unknown change"
        print(f"{verified.context_identifier}: verified {change} notification", flush=True)

    async with AsyncTenantStatusClient(service) as client:
        gate = AsyncTenantGate(
            client, on_pause=heard, on_resume=heard, on_move=heard, on_delete=heard
        )
        verifier = AsyncNotificationVerifier.for_service(service, application_id)
        receiver = NotificationReceiver(verifier, gate=gate, handler=notified)
        config = uvicorn.Config(receiver, port=port, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        async with anyio.create_task_group() as group:

            async def serve() -> None:
                await server.serve()
                group.cancel_scope.cancel()  # Ctrl-C stopped the receiver: stop the workers

            group.start_soon(serve)
            for ctx in tenants:
                group.start_soon(work, gate, ctx, gone)
        await verifier.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tenants", nargs="+", metavar="CTX")
    parser.add_argument("--service", default="http://127.0.0.1:8080", help="the state API")
    parser.add_argument("--app-id", required=True, help="the application id (the audience)")
    parser.add_argument("--port", type=int, default=9000, help="where /notify listens")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(main, args.service, args.app_id, args.port, args.tenants)
