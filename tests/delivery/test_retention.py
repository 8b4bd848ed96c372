"""The retention sweep on a real SQLite store: batches, and what it leaves alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tenantstatus.delivery.retention import DeliveryRetention, sweep_interval
from tenantstatus.lifecycle import Operation
from tenantstatus.store import SqlStore
from tenantstatus.store.push_records import Attempt, DeliveryOutcome, DeliveryStatus
from tests.store.test_contract import NOW, provision, run
from tests.store.test_push_contract import LEASE, application

pytestmark = pytest.mark.anyio


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


async def test_a_sweep_deletes_in_batches_until_nothing_old_is_left(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'sweep.db'}")
    await store.open()
    try:
        app = await application(store, "a")
        await provision(store, "Cust1")
        await store.approve(app, "Cust1", NOW)
        for n in range(23):
            await run(store, "Cust1", Operation.SUSPEND if n % 2 == 0 else Operation.RESUME)
        finished = []
        while claimed := await store.claim_deliveries(NOW, limit=100, lease=LEASE):
            outcome = [
                DeliveryOutcome(d.seq, Attempt(NOW, 1, 200), DeliveryStatus.DELIVERED)
                for d in claimed
            ]
            await store.record_outcomes(outcome)
            finished += claimed
        assert len(finished) == 23
        await run(store, "Cust1", Operation.RESUME)  # pending, and stays so
        batches: list[tuple[int, int]] = []
        retention = DeliveryRetention(
            store,
            FixedClock(NOW + timedelta(days=2)),
            timedelta(days=1),
            on_pruned=lambda d, a: batches.append((d, a)),
            batch=10,
            pause=0,
        )
        assert await retention.sweep() == 23
        assert batches == [(10, 10), (10, 10), (3, 3)]
        assert await retention.sweep() == 0
        (left,) = await store.list_deliveries()
        assert left.status is DeliveryStatus.PENDING
    finally:
        await store.close()


def test_sweeps_come_every_tenth_of_the_retention_within_a_second_and_an_hour() -> None:
    assert sweep_interval(timedelta(days=90)) == 3600
    assert sweep_interval(timedelta(minutes=5)) == 30
    assert sweep_interval(timedelta(seconds=2)) == 1
