"""Store contract for the portal, on both backends: sessions end and are bounded, a link is
spent once however many race for it, and every read the portal makes seeks an index."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tenantstatus.model import ChangeType, TenantState
from tenantstatus.store import SqlStore
from tenantstatus.store.push_records import Application, Attempt, DeliveryOutcome, DeliveryStatus
from tests.store.test_contract import provision

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


async def _application(store: SqlStore, application_id: str = "app_00000000000000aa") -> str:
    await store.add_application(
        Application(
            id=application_id,
            name="A",
            url="https://a.example.com/n",
            token_hash=application_id.ljust(64, "0"),
            secret="sealed",
            created_at=NOW,
        )
    )
    return application_id


async def test_a_session_lives_until_it_expires_or_ends(store: SqlStore) -> None:
    app = await _application(store)
    await store.add_portal_session("h1", app, now=NOW, expires_at=NOW + HOUR, keep=10)
    assert await store.portal_session("h1", NOW + HOUR / 2) == app
    assert await store.portal_session("h1", NOW + HOUR) is None
    assert await store.portal_session("nope", NOW) is None
    assert await store.end_portal_session("h1") is True
    assert await store.portal_session("h1", NOW) is None
    assert await store.end_portal_session("h1") is False


async def test_a_session_reads_its_application_in_one_statement(store: SqlStore) -> None:
    app = await _application(store)
    await store.add_portal_session("h1", app, now=NOW, expires_at=NOW + HOUR, keep=10)
    found = await store.portal_application("h1", NOW)
    assert found is not None and found.id == app and found.name == "A"
    assert await store.portal_application("h1", NOW + HOUR) is None


async def test_a_delivery_page_carries_every_attempt(store: SqlStore) -> None:
    app = await _application(store)
    other = await _application(store, "app_00000000000000bb")
    made = []
    for owner in (app, other, app, app):
        made.append(
            await store.enqueue_test_delivery(
                owner,
                "tenantstatus-test",
                ChangeType.Upgrade,
                version_name="v",
                file_version="1",
                public_endpoint=None,
                at=NOW,
            )
        )
    tries = [Attempt(at=NOW, latency_ms=n, status_code=500) for n in (1, 2)]
    await store.record_outcomes(
        [
            DeliveryOutcome(made[0].seq, attempt, DeliveryStatus.PENDING, next_attempt_at=NOW)
            for attempt in tries
        ]
    )
    page = await store.delivery_page(app, limit=2)
    assert [d.seq for d, _ in page] == [made[3].seq, made[2].seq]
    rest = await store.delivery_page(app, before_seq=made[2].seq, limit=2)
    ((first, attempts),) = rest
    assert first.seq == made[0].seq
    assert [a.latency_ms for a in attempts] == [1, 2] and first.attempts_made == 2
    assert await store.delivery_page(app, status=DeliveryStatus.DEAD) == []


async def test_an_application_keeps_only_its_newest_sessions(store: SqlStore) -> None:
    app = await _application(store)
    other = await _application(store, "app_00000000000000bb")
    await store.add_portal_session("other", other, now=NOW, expires_at=NOW + HOUR, keep=3)
    for i in range(5):
        at = NOW + timedelta(seconds=i)
        await store.add_portal_session(f"s{i}", app, now=at, expires_at=at + HOUR, keep=3)
    alive = [h for h in ("s0", "s1", "s2", "s3", "s4") if await store.portal_session(h, NOW)]
    assert alive == ["s2", "s3", "s4"]
    assert await store.portal_session("other", NOW) == other
    # Expired sessions of every application go when any session is stored.
    later = NOW + 2 * HOUR
    await store.add_portal_session("late", other, now=later, expires_at=later + HOUR, keep=3)
    assert await store.portal_session("s4", NOW) is None


async def test_a_link_is_spent_once_however_many_race_for_it(store: SqlStore) -> None:
    app = await _application(store)
    await store.add_portal_link("link", app, now=NOW, expires_at=NOW + HOUR)
    results = await asyncio.gather(
        *(
            store.use_portal_link("link", f"session{i}", now=NOW, expires_at=NOW + HOUR, keep=10)
            for i in range(6)
        )
    )
    assert results.count(app) == 1 and results.count(None) == 5
    winner = results.index(app)
    assert await store.portal_session(f"session{winner}", NOW) == app
    losers = [i for i in range(6) if i != winner]
    for i in losers:
        assert await store.portal_session(f"session{i}", NOW) is None


async def test_an_expired_or_unknown_link_opens_nothing(store: SqlStore) -> None:
    app = await _application(store)
    await store.add_portal_link("old", app, now=NOW, expires_at=NOW + HOUR)
    spent = await store.use_portal_link("old", "s", now=NOW + HOUR, expires_at=NOW, keep=1)
    assert spent is None
    assert await store.use_portal_link("never", "s", now=NOW, expires_at=NOW, keep=1) is None
    assert await store.portal_session("s", NOW - HOUR) is None


async def test_customers_are_the_approving_tenants_paged_and_counted(store: SqlStore) -> None:
    app = await _application(store)
    other = await _application(store, "app_00000000000000bb")
    for ctx, state in (("C1", "Running"), ("C2", "Suspended"), ("C3", "Running")):
        await provision(store, ctx, TenantState[state])
        await store.approve(app, ctx, NOW)
    await provision(store, "D1")
    await store.approve(other, "D1", NOW)
    page = await store.customer_page(app, limit=2)
    assert [t.context_identifier for t in page.tenants] == ["C1", "C2"] and page.has_next
    rest = await store.customer_page(app, after="C2", limit=2)
    assert [t.context_identifier for t in rest.tenants] == ["C3"] and not rest.has_next
    running = await store.customer_page(app, state=TenantState.Running)
    assert [t.context_identifier for t in running.tenants] == ["C1", "C3"]
    assert [
        t.context_identifier for t in (await store.customer_page(app, prefix="C2")).tenants
    ] == ["C2"]
    assert await store.customer_counts(app) == {TenantState.Running: 2, TenantState.Suspended: 1}


async def test_every_portal_read_seeks_an_index_on_sqlite(tmp_path: Path) -> None:
    # SQLite only: PostgreSQL plans from statistics, which an empty table does not have
    # (bench/portal.py shows PostgreSQL's plans at 100,000 deliveries).
    path = tmp_path / "plan.db"
    store = SqlStore(f"sqlite+aiosqlite:///{path}")
    await store.open()
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    try:
        app = await _application(store)
        await store.enqueue_test_delivery(
            app,
            "tenantstatus-test",
            ChangeType.Upgrade,
            version_name="v",
            file_version="1",
            public_endpoint=None,
            at=NOW,
        )
        event.listen(store._engine.sync_engine, "before_cursor_execute", record)
        await store.portal_session("h", NOW)
        await store.portal_application("h", NOW)
        await store.delivery_page(app, before_seq=99, limit=26)
        await store.customer_page(app, prefix="Cust1", after="Cust10", limit=51)
        await store.customer_counts(app)
        event.remove(store._engine.sync_engine, "before_cursor_execute", record)
    finally:
        await store.close()
    assert len(seen) == 6
    with sqlite3.connect(path) as connection:
        for statement, parameters in seen:
            rows = connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plan = " | ".join(str(row[-1]) for row in rows)
            assert "SCAN deliveries" not in plan and "SCAN delivery_attempts" not in plan, plan
            assert "SCAN approvals" not in plan and "SCAN portal" not in plan, plan
            # Counting by state groups at most 14 states in a temporary tree: no sort.
            assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
            assert "SEARCH" in plan, plan
