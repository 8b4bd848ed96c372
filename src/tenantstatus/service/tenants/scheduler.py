"""Runs scheduled operations when their instant comes, including ones missed while down."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tenantstatus.service.tenants.service import TenantService

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)


class Scheduler:
    """A background task that polls the store for due operations.

    It wakes at least every `interval` seconds, and at once when an operation is
    scheduled, so a window opens within a second of its instant.
    """

    def __init__(self, tenants: TenantService, *, interval: float = 1.0, batch: int = 100) -> None:
        self.tenants = tenants
        self.interval = interval
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background task."""
        self._task = asyncio.create_task(self._loop(), name="tenantstatus-scheduler")

    async def stop(self) -> None:
        """Stop the background task and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_due(self) -> int:
        """Run every operation that is due now; return how many ran."""
        ran = 0
        while True:
            due = await self.tenants.store.due_scheduled(self.tenants.clock.now(), limit=self.batch)
            for scheduled in due:
                await self.tenants.run_scheduled(scheduled)
            ran += len(due)
            if len(due) < self.batch:
                return ran

    async def _loop(self) -> None:
        changed = self.tenants.schedule_changed
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("the scheduler could not run due operations; retrying")
            changed.clear()
            pause = await self._pause()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):  # not wait_for: see Dispatcher._claim_loop
                    await changed.wait()

    async def _pause(self) -> float:
        """Sleep until the soonest pending operation, but never longer than `interval`."""
        try:
            soonest = await self.tenants.store.list_scheduled(limit=1, runnable=True)
        except Exception:
            return self.interval
        if not soonest:
            return self.interval
        wait = (soonest[0].run_at - self.tenants.clock.now()).total_seconds()
        return min(self.interval, max(0.0, wait))
