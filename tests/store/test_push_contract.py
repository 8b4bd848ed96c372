"""The push half of the store contract: outbox, claims, outcomes, keys. Both backends."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

from tenantstatus.lifecycle import Operation
from tenantstatus.model import ChangeType, TenantState
from tenantstatus.store import SqlStore
from tenantstatus.store.push_records import (
    Application,
    Attempt,
    DeliveryOutcome,
    DeliveryStatus,
    StoredSigningKey,
)
from tenantstatus.store.push_sql import _CLAIM_LOCKING, _CLAIM_SQLITE, _OLDEST_FINISHED
from tenantstatus.store.schema import deliveries, signing_keys
from tests.store.test_contract import NOW, provision, run

pytestmark = pytest.mark.anyio

LEASE = timedelta(seconds=30)


async def application(store: SqlStore, name: str, *, enabled: bool = True) -> str:
    app = Application(
        id=f"app_{name:0>16}"[:20],
        name=name,
        url=f"https://{name}.example.com/hook",
        token_hash=name * 8,
        secret="sealed",
        created_at=NOW,
        enabled=enabled,
    )
    await store.add_application(app)
    return app.id


async def test_announcing_operations_write_one_row_per_approving_application(
    store: SqlStore,
) -> None:
    a = await application(store, "a")
    b = await application(store, "b")
    await application(store, "c")
    off = await application(store, "d", enabled=False)
    await provision(store, "Cust1")
    for app in (a, b, off):
        assert await store.approve(app, "Cust1", NOW)
    assert not await store.approve(a, "Cust1", NOW)  # already approved
    await run(store, "Cust1", Operation.MAINTENANCE_ONLINE)  # announces nothing
    assert await store.outbox_depth() == 0
    await run(store, "Cust1", Operation.MOVE, endpoint="https://sod3.example.com:8443/Cust1")
    rows = await store.list_deliveries()
    statuses = {d.application_id: d.status for d in rows}
    held, pending = DeliveryStatus.HELD, DeliveryStatus.PENDING
    assert statuses == {a: pending, b: pending, off: held}  # held for the disabled one
    assert all(d.change_type is ChangeType.Move for d in rows)
    assert {d.public_endpoint for d in rows} == {"sod3.example.com:8443"}
    assert len({d.id for d in rows}) == 3


async def test_upgrade_announces_the_version_it_goes_to(store: SqlStore) -> None:
    app = await application(store, "a")
    await provision(store, "Cust1")
    await store.approve(app, "Cust1", NOW)
    await run(store, "Cust1", Operation.UPGRADE, version_name="R2", file_version="2.0")
    (delivery,) = await store.list_deliveries()
    assert (delivery.version_name, delivery.file_version) == ("R2", "2.0")


async def test_claims_keep_order_per_pair_and_lease(store: SqlStore) -> None:
    app = await application(store, "a")
    for ctx in ("Cust1", "Cust2"):
        await provision(store, ctx)
        await store.approve(app, ctx, NOW)
        await run(store, ctx, Operation.SUSPEND)
        await run(store, ctx, Operation.RESUME)
    first = await store.claim_deliveries(NOW, limit=10, lease=LEASE)
    assert sorted((d.context_identifier, d.change_type) for d in first) == [
        ("Cust1", ChangeType.Suspend),
        ("Cust2", ChangeType.Suspend),
    ]
    assert await store.claim_deliveries(NOW, limit=10, lease=LEASE) == []  # leased
    one = first[0]
    await store.record_outcomes(
        [DeliveryOutcome(one.seq, Attempt(NOW, 12, 200, None, "ok"), DeliveryStatus.DELIVERED)]
    )
    (following,) = await store.claim_deliveries(NOW, limit=10, lease=LEASE)
    assert (following.context_identifier, following.change_type) == (
        one.context_identifier,
        ChangeType.Resume,
    )
    reclaimed = await store.claim_deliveries(NOW + LEASE * 2, limit=10, lease=LEASE)
    assert {d.seq for d in reclaimed} == {first[1].seq, following.seq}


async def test_outcomes_record_attempts_retries_and_gone(store: SqlStore) -> None:
    app = await application(store, "a")
    await provision(store, "Cust1")
    await store.approve(app, "Cust1", NOW)
    await run(store, "Cust1", Operation.SUSPEND)
    (delivery,) = await store.claim_deliveries(NOW, limit=1, lease=LEASE)
    later = NOW + timedelta(seconds=5)
    await store.record_outcomes(
        [
            DeliveryOutcome(
                delivery.seq,
                Attempt(NOW, 5, 500, "HTTP 500", "boom"),
                DeliveryStatus.PENDING,
                later,
            )
        ]
    )
    assert await store.claim_deliveries(NOW, limit=1, lease=LEASE) == []
    (again,) = await store.claim_deliveries(later, limit=1, lease=LEASE)
    assert again.attempts == 1 and again.last_status == 500
    await store.record_outcomes(
        [
            DeliveryOutcome(
                again.seq, Attempt(later, 7, 410, "gone", ""), DeliveryStatus.DEAD, None, "410 Gone"
            )
        ]
    )
    found = await store.get_delivery(delivery.id)
    assert found is not None
    finished, attempts = found
    assert finished.status is DeliveryStatus.DEAD and finished.attempts == 2
    assert [a.status_code for a in attempts] == [500, 410]
    assert attempts[0].response_excerpt == "boom"
    disabled = await store.get_application(app)
    assert disabled is not None and not disabled.enabled
    assert disabled.disabled_reason == "410 Gone"
    await run(store, "Cust1", Operation.RESUME)  # the subscription is off: held, not sent
    assert await store.outbox_depth() == 0
    assert await store.claim_deliveries(later, limit=10, lease=LEASE) == []
    assert await store.dead_deliveries_since(app, NOW) == [delivery.id]
    assert await store.requeue([delivery.id], later) == 1
    assert await store.outbox_depth() == 1


async def test_signing_keys_rotate_and_long_retired_ones_are_purged(store: SqlStore) -> None:
    first = StoredSigningKey("k1", "RS256", "sealed-1", NOW)
    await store.rotate_signing_key(first, purge_before=NOW - timedelta(days=1))
    second = StoredSigningKey("k2", "RS256", "sealed-2", NOW + timedelta(hours=1))
    await store.rotate_signing_key(second, purge_before=NOW)
    keys = await store.signing_keys()
    assert [(k.kid, k.retired_at) for k in keys] == [("k1", NOW + timedelta(hours=1)), ("k2", None)]
    third = StoredSigningKey("k3", "ES256", "sealed-3", NOW + timedelta(days=2))
    await store.rotate_signing_key(third, purge_before=NOW + timedelta(days=1))
    assert [k.kid for k in await store.signing_keys()] == ["k2", "k3"]


async def test_application_tokens_are_found_by_hash_only(store: SqlStore) -> None:
    app = await application(store, "tok")
    found = await store.application_by_token_hash("tok" * 8)
    assert found is not None and found.id == app
    assert await store.application_by_token_hash("nope") is None
    updated = await store.update_application(app, url="https://new.example.com/hook")
    assert updated is not None and updated.url == "https://new.example.com/hook"
    assert await store.update_application("app_missing", url="x") is None
    assert await store.approved_tenants(app) == []
    assert TenantState.Running.is_running


async def test_a_claim_finds_pending_rows_through_their_partial_index(store: SqlStore) -> None:
    """Months of finished deliveries do not make a claim scan them: the plan goes
    through indexes of pending rows (migration 0004), with no statistics gathered."""
    app = await application(store, "a")
    finished = [
        {
            "id": f"msg_old{n}",
            "application_id": app,
            "context_identifier": f"Old{n % 500}",
            "history_id": n,
            "change_type": 2,
            "version_name": "",
            "file_version": "",
            "status": DeliveryStatus.DELIVERED.value,
            "attempts": 1,
            "next_attempt_at": NOW,
            "created_at": NOW,
            "finished_at": NOW,
        }
        for n in range(5_000)
    ]
    async with store._engine.begin() as connection:
        await connection.execute(deliveries.insert(), finished)
    await provision(store, "Cust1")
    await store.approve(app, "Cust1", NOW)
    await run(store, "Cust1", Operation.SUSPEND)
    sqlite = store.dialect == "sqlite"
    statement = (_CLAIM_SQLITE if sqlite else _CLAIM_LOCKING).params(now=NOW, limit=10)
    async with store._engine.connect() as connection:
        sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        plan = "\n".join(str(row) for row in await connection.exec_driver_sql(explain + str(sql)))
    assert "ix_deliveries_pending_pair" in plan, plan  # the order check, per pair
    if sqlite:  # it seeks (status, next_attempt_at) instead: as good, and no scan
        assert "SCAN deliveries" not in plan, plan
    else:
        assert "ix_deliveries_pending_due" in plan, plan
        assert "Seq Scan on deliveries" not in plan, plan
    (claimed,) = await store.claim_deliveries(NOW, limit=10, lease=LEASE)
    assert claimed.context_identifier == "Cust1"


async def test_a_key_rotated_for_later_retires_the_signing_one_when_it_starts(
    store: SqlStore,
) -> None:
    await store.rotate_signing_key(
        StoredSigningKey("k1", "RS256", "sealed-1", NOW), purge_before=NOW - timedelta(days=1)
    )
    later = NOW + timedelta(minutes=10)
    pending = StoredSigningKey("k2", "RS256", "sealed-2", NOW + timedelta(minutes=1), None, later)
    await store.rotate_signing_key(pending, purge_before=NOW - timedelta(days=1))
    spans = [(k.kid, k.signs_from, k.retired_at) for k in await store.signing_keys()]
    assert spans == [("k1", NOW, later), ("k2", later, None)]
    # At once (for a compromised key): the pending key never signs, k1 stops now.
    at_once = NOW + timedelta(minutes=2)
    await store.rotate_signing_key(
        StoredSigningKey("k3", "RS256", "sealed-3", at_once), purge_before=NOW - timedelta(days=1)
    )
    spans = [(k.kid, k.signs_from, k.retired_at) for k in await store.signing_keys()]
    assert spans == [("k1", NOW, at_once), ("k2", later, at_once), ("k3", at_once, None)]


async def test_migration_0005_says_existing_keys_sign_from_their_creation(
    database_url: str,
) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate_to, "0004")
            await connection.execute(
                signing_keys.insert().values(
                    kid="old", algorithm="RS256", private_key="sealed", created_at=NOW
                )
            )
    finally:
        await engine.dispose()
    store = SqlStore(database_url)
    await store.open()
    try:
        (key,) = await store.signing_keys()
    finally:
        await store.close()
    assert (key.kid, key.signs_from, key.retired_at) == ("old", NOW, None)


def _migrate_to(connection: sa.Connection, revision: str) -> None:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("tenantstatus.store") / "migrations")
    )
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_pruning_deletes_only_deliveries_finished_before_the_cutoff(
    store: SqlStore,
) -> None:
    app = await application(store, "a")
    for n in range(5):
        await provision(store, f"Cust{n}")
        await store.approve(app, f"Cust{n}", NOW)
        await run(store, f"Cust{n}", Operation.SUSPEND)
    claimed = sorted(await store.claim_deliveries(NOW, limit=10, lease=LEASE), key=lambda d: d.seq)
    old_ok, old_dead, recent, retrying, untouched = claimed
    hour = timedelta(hours=1)
    await store.record_outcomes(
        [
            DeliveryOutcome(old_ok.seq, Attempt(NOW, 3, 200), DeliveryStatus.DELIVERED),
            DeliveryOutcome(old_dead.seq, Attempt(NOW, 3, 410), DeliveryStatus.DEAD),
            DeliveryOutcome(recent.seq, Attempt(NOW + hour, 3, 200), DeliveryStatus.DELIVERED),
            # Failed long ago and waits to be tried again: pending, so never pruned.
            DeliveryOutcome(retrying.seq, Attempt(NOW, 3, 500), DeliveryStatus.PENDING, NOW),
        ]
    )
    cutoff = NOW + timedelta(minutes=30)
    assert await store.prune_finished_deliveries(cutoff, limit=1) == (1, 1)
    assert await store.prune_finished_deliveries(cutoff, limit=10) == (1, 1)
    assert await store.prune_finished_deliveries(cutoff, limit=10) == (0, 0)
    left = {d.id for d in await store.list_deliveries()}
    assert left == {recent.id, retrying.id, untouched.id}
    kept = await store.get_delivery(retrying.id)
    assert kept is not None and len(kept[1]) == 1
    assert await store.get_delivery(old_ok.id) is None
    assert await store.outbox_depth() == 2


async def test_pruning_seeks_the_index_of_finished_rows_on_sqlite(tmp_path: Path) -> None:
    # SQLite only: PostgreSQL plans from statistics, which an empty table does not have.
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'plan.db'}")
    await store.open()
    statement = _OLDEST_FINISHED.params(before=NOW, limit=500)
    try:
        plan = await _query_plan(store, statement)
    finally:
        await store.close()
    assert "ix_deliveries_finished" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


async def _query_plan(store: SqlStore, statement: sa.Select[Any]) -> str:
    async with store._engine.connect() as connection:
        sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row) for row in rows)
