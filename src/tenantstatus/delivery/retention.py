"""Retention of finished deliveries: a background sweep deletes them once they are old.

Delivered and dead deliveries (and their attempts) are kept for the deliveries list and
for requeueing; after the retention they go. Pending ones are never touched.

    retention = DeliveryRetention(store, clock, timedelta(days=90))
    retention.start()        # sweeps now, then every `interval`
    await retention.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta

from tenantstatus.clock import Clock
from tenantstatus.store import FinishedDeliveries

__all__ = ["DeliveryRetention", "sweep_interval"]

log = logging.getLogger(__name__)

BATCH = 500
PAUSE = 0.1


def sweep_interval(retention: timedelta) -> float:
    """Seconds between sweeps: a tenth of the retention, within 1 s and 1 h."""
    return min(max(retention.total_seconds() / 10, 1.0), 3600.0)


class DeliveryRetention:
    """Deletes finished deliveries older than the retention, a small batch at a time.

    Each batch is one short write transaction, with a pause after it, so a sweep never
    holds SQLite's write lock for long while operations and fan-outs write. Several nodes
    may sweep at once: deleting what another node deleted deletes nothing.
    """

    def __init__(
        self,
        store: FinishedDeliveries,
        clock: Clock,
        retention: timedelta,
        *,
        on_pruned: Callable[[int, int], None] | None = None,
        batch: int = BATCH,
        pause: float = PAUSE,
    ) -> None:
        self.store = store
        self.clock = clock
        self.retention = retention
        self.interval = sweep_interval(retention)
        self._on_pruned = on_pruned
        self._batch = batch
        self._pause = pause
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """Delete every delivery finished before now minus the retention; how many."""
        cutoff = self.clock.now() - self.retention
        total = 0
        while True:
            removed, attempts = await self.store.prune_finished_deliveries(
                cutoff, limit=self._batch
            )
            total += removed
            if self._on_pruned is not None and removed:
                self._on_pruned(removed, attempts)
            if removed < self._batch:
                return total
            await asyncio.sleep(self._pause)

    def start(self) -> None:
        """Sweep now, then every `interval` seconds, until `stop`."""
        self._task = asyncio.create_task(self._run(), name="tenantstatus-retention")

    async def stop(self) -> None:
        """Stop sweeping; a batch in flight is abandoned (its transaction rolls back)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                pruned = await self.sweep()
                if pruned:
                    log.info("retention: deleted %d finished deliveries", pruned)
            except Exception:
                # The database may be away for a while; the next sweep tries again.
                log.exception("retention sweep failed")
            await asyncio.sleep(self.interval)
