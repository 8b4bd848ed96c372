"""A small vendor application built on the SDK, as a vendor would write it, instrumented.

It works for a few tenants: one worker per tenant calls the tenant's API through
`gate.running(ctx)` and the tenant-aware client (relative URLs, current Endpoint, one
retry on 421). Its State Change URL is a `NotificationReceiver` (verifies each
notification, then feeds the gate), served by uvicorn. Everything runs on one event
loop in a background thread; the test reads what happened from the recorded lists.

`outage` makes the receiver answer 503 (Retry-After: 1), as during a deploy, so the
service retries the notification later.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2 as httpx
import uvicorn

from tenantstatus.client import (
    AsyncNotificationVerifier,
    AsyncTenantGate,
    AsyncTenantStatusClient,
    NotificationReceiver,
    TenantEvent,
    TenantEventKind,
    TenantNotRunning,
    TenantStatusError,
    VerifiedNotification,
)
from tests.support.processes import free_port


@dataclass(frozen=True)
class Call:
    """One HTTP request the app's tenant clients sent, as the wire saw it."""

    context_identifier: str
    url: str
    status: int
    body: dict[str, Any] | None
    at: float


class Recorder(httpx.AsyncBaseTransport):
    """The real transport, remembering every request and its answer."""

    def __init__(self, app: VendorApp, context_identifier: str) -> None:
        self.app = app
        self.context_identifier = context_identifier
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        body = None
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
        url, status = str(request.url), response.status_code
        call = Call(self.context_identifier, url, status, body, time.monotonic())
        self.app.record(self.app.calls, call)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class OutageSwitch:
    """Answers 503 with Retry-After: 1 while `outage` is set; otherwise the receiver."""

    def __init__(self, app: Any, outage: threading.Event) -> None:
        self.app = app
        self.outage = outage
        self.refused = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.outage.is_set():
            self.refused += 1
            headers = [(b"retry-after", b"1"), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


class VendorApp:
    """The application: workers per tenant, a receiver, a gate."""

    def __init__(self, tenants: Iterable[str]) -> None:
        self.tenants = list(tenants)
        self.port = free_port()
        self.notify_url = f"http://127.0.0.1:{self.port}/notify"
        self.outage = threading.Event()
        self.calls: list[Call] = []
        self.events: list[tuple[str, str]] = []  # (pause|resume|move|delete, ctx)
        self.notifications: list[tuple[str, str]] = []  # (ChangeType name, ctx)
        self.failures: list[tuple[str, str]] = []  # (ctx, what went wrong)
        self.deleted: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None

    def start(self, service_url: str, application_id: str) -> VendorApp:
        """Run the app against the service, as application `application_id`."""
        self.service_url = service_url
        self.application_id = application_id
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        self.wait_for(lambda: self._server is not None and self._server.started, "receiver up")
        return self

    def stop(self) -> None:
        """Stop the workers and the receiver."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            assert not self._thread.is_alive(), "the vendor app did not stop"
            self._thread = None

    def record(self, into: list[Any], item: Any) -> None:
        """Append under the lock: the test thread reads these lists."""
        with self._lock:
            into.append(item)

    def snapshot(self, of: list[Any]) -> list[Any]:
        """A copy of a recorded list."""
        with self._lock:
            return list(of)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        """Poll `condition` until it holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise AssertionError(
            f"vendor app: {what} did not happen within {timeout}s; events "
            f"{self.snapshot(self.events)}, notifications {self.snapshot(self.notifications)}, "
            f"failures {self.snapshot(self.failures)}"
        )

    def heard(self, kind: str, ctx: str) -> bool:
        """The gate told a callback `kind` about `ctx`."""
        return (kind, ctx) in self.snapshot(self.events)

    def notified(self, change: str, ctx: str) -> bool:
        """The receiver accepted a verified `change` notification about `ctx`."""
        return (change, ctx) in self.snapshot(self.notifications)

    def calls_for(self, ctx: str) -> list[Call]:
        """Requests sent for `ctx`, in order."""
        return [call for call in self.snapshot(self.calls) if call.context_identifier == ctx]

    async def _main(self) -> None:
        async with AsyncTenantStatusClient(self.service_url) as client:
            gate = AsyncTenantGate(
                client,
                on_pause=self._heard,
                on_resume=self._heard,
                on_move=self._heard,
                on_delete=self._heard,
                poll_interval=0.2,
            )
            verifier = AsyncNotificationVerifier.for_service(self.service_url, self.application_id)
            receiver = NotificationReceiver(verifier, gate=gate, handler=self._notified)
            config = uvicorn.Config(
                OutageSwitch(receiver, self.outage),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="off",
            )
            self._server = uvicorn.Server(config)
            async with anyio.create_task_group() as group:
                group.start_soon(self._server.serve)
                for ctx in self.tenants:
                    group.start_soon(self._work, gate, ctx)
                await anyio.to_thread.run_sync(self._stop.wait)
                self._server.should_exit = True
            await verifier.aclose()

    async def _work(self, gate: AsyncTenantGate, ctx: str) -> None:
        """Call the tenant's API for as long as it exists, only while it runs."""
        async with gate.client(ctx, transport=Recorder(self, ctx), timeout=5.0) as tenant:
            while not self._stop.is_set() and ctx not in self.deleted:
                try:
                    async with gate.running(ctx, timeout=0.5):
                        response = await tenant.get("api/v1/Contact/1", params={"q": "x"})
                        if response.status_code != 200:
                            self.record(self.failures, (ctx, f"answered {response.status_code}"))
                except TenantNotRunning:
                    pass  # waited long enough, or paused between the wait and the call
                except (TenantStatusError, httpx.HTTPError) as exc:
                    self.record(self.failures, (ctx, repr(exc)))
                await anyio.sleep(0.05)

    def _heard(self, event: TenantEvent) -> None:
        self.record(self.events, (event.kind.value, event.context_identifier))
        if event.kind is TenantEventKind.DELETE:
            self.deleted.add(event.context_identifier)

    def _notified(self, verified: VerifiedNotification) -> None:
        change = verified.change_type
        name = change.name if change is not None else str(verified.notification.change_type)
        self.record(self.notifications, (name, verified.context_identifier))
