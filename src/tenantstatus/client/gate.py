"""`TenantGate` and `AsyncTenantGate`: call a tenant only while it runs.

    gate = AsyncTenantGate(client, on_move=lambda event: log.info("moved", event))
    async with gate.running("Cust12345", timeout=300) as status:
        async with gate.client("Cust12345") as tenant:      # an httpx2.AsyncClient
            contact = await tenant.get("api/v1/Contact/1")   # relative to the Endpoint

`check(ctx)` raises `TenantNotRunning` (with the state and when to ask again);
`running(ctx)` waits until the tenant runs or the timeout passes; `apply(notification)`
pauses and resumes tenants at once; callbacks hear of pauses, resumes, moves, deletes.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import timedelta
from typing import Any

import anyio
import httpx2 as httpx

from tenantstatus.client.cache import PulledStatus
from tenantstatus.client.errors import StatusUnavailable, TenantNotRunning, TenantWaitTimeout
from tenantstatus.client.gate_core import GateCore, TenantEvent, TenantEventKind
from tenantstatus.client.pull import AsyncTenantStatusClient, TenantStatusClient
from tenantstatus.client.transport import (
    TENANT_BASE_URL,
    AsyncTenantTransport,
    TenantTransport,
)
from tenantstatus.client.verifier_core import VerifiedNotification
from tenantstatus.model import StateChangeNotification

__all__ = ["AsyncTenantGate", "TenantGate"]

Callback = Callable[[TenantEvent], Any]
_MIN_WAIT = 0.05


def _timed_out(refusal: TenantNotRunning, timeout: float) -> TenantWaitTimeout:
    return TenantWaitTimeout(
        refusal.context_identifier,
        refusal.state_name,
        retry_at=refusal.retry_at,
        reason=f"not running after waiting {timeout:g} s",
    )


class _BaseGate:
    def __init__(
        self,
        client: TenantStatusClient | AsyncTenantStatusClient,
        on_pause: Callback | None,
        on_resume: Callback | None,
        on_move: Callback | None,
        on_delete: Callback | None,
        resume_after: timedelta,
        poll_interval: float,
    ) -> None:
        self.core = GateCore(
            client.clock,
            resume_after=resume_after,
            max_tenants=client.cache.policy.max_entries,
        )
        self.poll_interval = poll_interval
        self._callbacks = {
            TenantEventKind.PAUSE: on_pause,
            TenantEventKind.RESUME: on_resume,
            TenantEventKind.MOVE: on_move,
            TenantEventKind.DELETE: on_delete,
        }

    def _wait_for(self, refusal: TenantNotRunning, clock_now: float, remaining: float) -> float:
        """How long to sleep before asking again: until ValidUntil, at most a poll interval."""
        wait = self.poll_interval
        if refusal.retry_at is not None:
            wait = min(wait, refusal.retry_at.timestamp() - clock_now)
        return max(_MIN_WAIT, min(wait, remaining))


class TenantGate(_BaseGate):
    """Decides, per tenant, whether it may be called now (sync, thread-safe)."""

    def __init__(
        self,
        client: TenantStatusClient,
        *,
        on_pause: Callback | None = None,
        on_resume: Callback | None = None,
        on_move: Callback | None = None,
        on_delete: Callback | None = None,
        resume_after: timedelta = timedelta(minutes=10),
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__(
            client, on_pause, on_resume, on_move, on_delete, resume_after, poll_interval
        )
        self.status_client = client
        self._changed = threading.Condition()

    def check(self, context_identifier: str) -> PulledStatus:
        """The tenant's state when it may be called; raises `TenantNotRunning` otherwise."""
        return self._admit(self.status_client.get_state(context_identifier))

    def refresh(self, context_identifier: str) -> PulledStatus:
        """Like `check`, but asks the service first (after a 421)."""
        return self._admit(self.status_client.refresh(context_identifier))

    @contextmanager
    def running(self, context_identifier: str, timeout: float = 60.0) -> Iterator[PulledStatus]:
        """Wait until the tenant runs (raises `TenantWaitTimeout` after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = self.check(context_identifier)
                break
            except TenantNotRunning as refusal:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _timed_out(refusal, timeout) from None
                now = self.status_client.clock.now().timestamp()
                with self._changed:
                    self._changed.wait(self._wait_for(refusal, now, remaining))
        yield status

    def apply(self, notification: StateChangeNotification | VerifiedNotification) -> None:
        """Pause, resume or re-read a tenant because of a (verified) notification."""
        effect = self.core.apply(notification)
        ctx = notification.context_identifier
        if effect.forget:
            self.status_client.forget(ctx)
        else:
            self.status_client.invalidate(ctx)
        self._dispatch(effect.events)
        if effect.repull:
            # If the service is unreachable the cache stays invalidated: check asks again.
            with suppress(StatusUnavailable):
                self._observe(self.status_client.refresh(ctx))
        with self._changed:
            self._changed.notify_all()

    def client(self, context_identifier: str, **options: Any) -> httpx.Client:
        """An httpx2 client for the tenant: relative URLs go to its current Endpoint."""
        inner = options.pop("transport", None)
        transport = TenantTransport(self, context_identifier, inner)
        return httpx.Client(base_url=TENANT_BASE_URL, transport=transport, **options)

    def _admit(self, status: PulledStatus) -> PulledStatus:
        self._observe(status)
        refusal = self.core.refusal(status)
        if refusal is not None:
            raise refusal
        return status

    def _observe(self, status: PulledStatus) -> None:
        self._dispatch(self.core.observe(status))

    def _dispatch(self, events: Iterable[TenantEvent]) -> None:
        for event in events:
            callback = self._callbacks[event.kind]
            if callback is not None:
                callback(event)


class AsyncTenantGate(_BaseGate):
    """Decides, per tenant, whether it may be called now (async).

    Callbacks may be plain functions or coroutine functions.
    """

    def __init__(
        self,
        client: AsyncTenantStatusClient,
        *,
        on_pause: Callback | None = None,
        on_resume: Callback | None = None,
        on_move: Callback | None = None,
        on_delete: Callback | None = None,
        resume_after: timedelta = timedelta(minutes=10),
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__(
            client, on_pause, on_resume, on_move, on_delete, resume_after, poll_interval
        )
        self.status_client = client
        self._changed = anyio.Event()

    async def check(self, context_identifier: str) -> PulledStatus:
        """The tenant's state when it may be called; raises `TenantNotRunning` otherwise."""
        return await self._admit(await self.status_client.get_state(context_identifier))

    async def refresh(self, context_identifier: str) -> PulledStatus:
        """Like `check`, but asks the service first (after a 421)."""
        return await self._admit(await self.status_client.refresh(context_identifier))

    @asynccontextmanager
    async def running(
        self,
        context_identifier: str,
        timeout: float = 60.0,  # noqa: ASYNC109 - the timeout error carries the tenant's state
    ) -> AsyncIterator[PulledStatus]:
        """Wait until the tenant runs (raises `TenantWaitTimeout` after `timeout` seconds)."""
        deadline = anyio.current_time() + timeout
        while True:
            try:
                status = await self.check(context_identifier)
                break
            except TenantNotRunning as refusal:
                remaining = deadline - anyio.current_time()
                if remaining <= 0:
                    raise _timed_out(refusal, timeout) from None
                now = self.status_client.clock.now().timestamp()
                changed = self._changed
                with anyio.move_on_after(self._wait_for(refusal, now, remaining)):
                    await changed.wait()
        yield status

    async def apply(self, notification: StateChangeNotification | VerifiedNotification) -> None:
        """Pause, resume or re-read a tenant because of a (verified) notification."""
        effect = self.core.apply(notification)
        ctx = notification.context_identifier
        if effect.forget:
            self.status_client.forget(ctx)
        else:
            self.status_client.invalidate(ctx)
        await self._dispatch(effect.events)
        if effect.repull:
            # If the service is unreachable the cache stays invalidated: check asks again.
            with suppress(StatusUnavailable):
                await self._observe(await self.status_client.refresh(ctx))
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    def client(self, context_identifier: str, **options: Any) -> httpx.AsyncClient:
        """An httpx2 async client for the tenant: relative URLs go to its current Endpoint."""
        inner = options.pop("transport", None)
        transport = AsyncTenantTransport(self, context_identifier, inner)
        return httpx.AsyncClient(base_url=TENANT_BASE_URL, transport=transport, **options)

    async def _admit(self, status: PulledStatus) -> PulledStatus:
        await self._observe(status)
        refusal = self.core.refusal(status)
        if refusal is not None:
            raise refusal
        return status

    async def _observe(self, status: PulledStatus) -> None:
        await self._dispatch(self.core.observe(status))

    async def _dispatch(self, events: Iterable[TenantEvent]) -> None:
        for event in events:
            callback = self._callbacks[event.kind]
            if callback is not None:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
