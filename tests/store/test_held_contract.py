"""Held deliveries: what a disabled application's notifications do until `app enable`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenantstatus.lifecycle import Operation
from tenantstatus.model import ChangeType
from tenantstatus.store import SqlStore
from tenantstatus.store.push_records import Attempt, DeliveryOutcome, DeliveryStatus
from tests.store.test_contract import NOW, provision, run
from tests.store.test_push_contract import LEASE, application

pytestmark = pytest.mark.anyio

HELD, PENDING = DeliveryStatus.HELD, DeliveryStatus.PENDING


async def _gone(store: SqlStore, app: str) -> None:
    """Claim the application's first delivery and record a 410 for it."""
    (first, *_) = await store.claim_deliveries(NOW, limit=10, lease=LEASE)
    assert first.application_id == app
    await store.record_outcomes(
        [DeliveryOutcome(first.seq, Attempt(NOW, 3, 410, "gone", ""), HELD, None, "410 Gone")]
    )


async def _changes(store: SqlStore, app: str) -> list[tuple[ChangeType, DeliveryStatus]]:
    rows = await store.list_deliveries(application_id=app)
    return [(d.change_type, d.status) for d in reversed(rows)]


async def test_a_gone_application_holds_its_notifications_and_enable_sends_them_in_order(
    store: SqlStore,
) -> None:
    app = await application(store, "a")
    await provision(store, "Cust1")
    await store.approve(app, "Cust1", NOW)
    await run(store, "Cust1", Operation.SUSPEND)
    await _gone(store, app)
    await run(store, "Cust1", Operation.RESUME)
    await run(store, "Cust1", Operation.SUSPEND)
    assert await _changes(store, app) == [
        (ChangeType.Suspend, HELD),
        (ChangeType.Resume, HELD),
        (ChangeType.Suspend, HELD),
    ]
    assert await store.claim_deliveries(NOW, limit=10, lease=LEASE) == []
    later = NOW + timedelta(minutes=1)
    enabled = await store.enable_application(app, later)
    assert enabled is not None and enabled[0].enabled and enabled[1] == 3
    sent = []
    while claimed := await store.claim_deliveries(later, limit=10, lease=LEASE):
        (one,) = claimed  # one at a time: each waits for the one before
        sent.append(one.change_type)
        await store.record_outcomes(
            [DeliveryOutcome(one.seq, Attempt(later, 1, 200, None, "ok"), DeliveryStatus.DELIVERED)]
        )
    assert sent == [ChangeType.Suspend, ChangeType.Resume, ChangeType.Suspend]
    refused = (await store.list_deliveries(application_id=app))[-1]
    assert refused.attempts_made == 2  # the 410 and the one that got through


async def test_gone_holds_what_was_pending_and_what_comes_back_to_retry(store: SqlStore) -> None:
    app = await application(store, "a")
    for ctx in ("Cust1", "Cust2", "Cust3"):
        await provision(store, ctx)
        await store.approve(app, ctx, NOW)
        await run(store, ctx, Operation.SUSPEND)
    one, two, three = await store.claim_deliveries(NOW, limit=3, lease=LEASE)
    await store.record_outcomes(
        [
            DeliveryOutcome(one.seq, Attempt(NOW, 3, 410, "gone", ""), HELD, None, "410 Gone"),
            DeliveryOutcome(two.seq, Attempt(NOW, 3, 500, "HTTP 500", ""), PENDING, NOW),
        ]
    )
    # Its attempt was in flight when the 410 came: it comes back to be retried.
    await store.record_outcomes(
        [DeliveryOutcome(three.seq, Attempt(NOW, 3, 503, "HTTP 503", ""), PENDING, NOW)]
    )
    rows = await store.list_deliveries(application_id=app)
    assert {d.status for d in rows} == {HELD}
    assert all(d.finished_at is None for d in rows)


async def test_enable_with_drop_held_drops_them_and_sends_nothing(store: SqlStore) -> None:
    app = await application(store, "a", enabled=False)
    other = await application(store, "b")
    await provision(store, "Cust1")
    for each in (app, other):
        await store.approve(each, "Cust1", NOW)
    await run(store, "Cust1", Operation.SUSPEND)
    await run(store, "Cust1", Operation.RESUME)
    enabled = await store.enable_application(app, NOW, drop_held=True)
    assert enabled is not None and enabled[1] == 2
    assert {d.status for d in await store.list_deliveries(application_id=app)} == {
        DeliveryStatus.DROPPED
    }
    claimed = await store.claim_deliveries(NOW, limit=10, lease=LEASE)
    assert {d.application_id for d in claimed} == {other}
    assert await store.enable_application("app_missing", NOW) is None


async def test_held_beyond_the_bound_are_dropped_oldest_first(store: SqlStore) -> None:
    app = await application(store, "a", enabled=False)
    await provision(store, "Cust1")
    await store.approve(app, "Cust1", NOW)
    for operation in (Operation.SUSPEND, Operation.RESUME) * 2:
        await run(store, "Cust1", operation)
    assert await store.drop_excess_held(2, NOW) == {app: 2}
    assert await store.drop_excess_held(2, NOW) == {}
    rows = list(reversed(await store.list_deliveries(application_id=app)))
    assert [d.status for d in rows] == [DeliveryStatus.DROPPED] * 2 + [HELD] * 2
    assert rows[0].last_error is not None and "more than 2 held" in rows[0].last_error


async def test_requeue_leaves_a_held_delivery_held(store: SqlStore) -> None:
    app = await application(store, "a")
    await provision(store, "Cust1")
    await store.approve(app, "Cust1", NOW)
    await run(store, "Cust1", Operation.SUSPEND)
    await _gone(store, app)
    (held,) = await store.list_deliveries(application_id=app)
    assert await store.requeue([held.id], NOW) == 0
    assert await _changes(store, app) == [(ChangeType.Suspend, HELD)]
    assert await store.claim_deliveries(NOW, limit=10, lease=LEASE) == []
