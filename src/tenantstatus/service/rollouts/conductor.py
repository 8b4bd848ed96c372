"""Steps every unfinished rollout about once a second: the waves start as the cap allows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from tenantstatus.service.metrics import ServiceMetrics
from tenantstatus.service.tenants import TenantService
from tenantstatus.store import RolloutStore

__all__ = ["Conductor"]

log = logging.getLogger(__name__)

#: A held tenant whose instant is passing gets one this much later.
HOLD_FOR = timedelta(seconds=5)
#: The gauges re-count every phase (an index range per rollout) this often, in steps.
GAUGE_EVERY = 10


class Conductor:
    """A background task; each step is one transaction per rollout with its row locked,
    so nodes running it side by side take turns and release each wave once. The
    scheduler then runs the released operations, claiming each as it claims any.
    """

    def __init__(
        self,
        store: RolloutStore,
        tenants: TenantService,
        metrics: ServiceMetrics,
        *,
        interval: float = 1.0,
    ) -> None:
        self.store = store
        self.tenants = tenants
        self.metrics = metrics
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._steps = 0

    def start(self) -> None:
        """Start the background task."""
        self._task = asyncio.create_task(self._loop(), name="tenantstatus-conductor")

    async def stop(self) -> None:
        """Stop the background task and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def step(self) -> None:
        """Step every unfinished rollout once."""
        store = self.store
        self._steps += 1
        for rollout_id in await store.unfinished_rollout_ids():
            done = await store.conduct_rollout(
                rollout_id, now=self.tenants.clock.now(), hold_for=HOLD_FOR
            )
            if done.released:
                self.tenants.schedule_changed.set()
            await self.tenants.refresh_schedules(done.moved)
            for event in done.events:
                log.info("rollout %d: %s", rollout_id, event)
            if done.events or done.released or self._steps % GAUGE_EVERY == 1:
                await self._observe(rollout_id)

    async def _observe(self, rollout_id: int) -> None:
        rollout = await self.store.get_rollout(rollout_id)
        if rollout is None:
            return
        p = rollout.progress
        self.metrics.observe_rollout(
            rollout_id,
            {
                "planned": p.planned,
                "in_progress": p.in_progress,
                "done": p.done,
                "late": p.late,
                "refused": p.refused,
                "cancelled": p.cancelled,
            },
            rollout.next_wave,
        )

    async def _loop(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:
                log.exception("the conductor could not step the rollouts; retrying")
            await asyncio.sleep(self.interval)
