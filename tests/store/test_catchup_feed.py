"""The catch-up feed in the store, on both backends: oldest first, by application, gapless."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tenantstatus.model import ChangeType
from tenantstatus.store import SqlStore
from tenantstatus.store.push_records import Delivery
from tenantstatus.store.push_sql import hold_outbox_writer_lock
from tenantstatus.store.schema import deliveries
from tests.store.test_contract import NOW
from tests.store.test_push_contract import application
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.anyio


async def _test_delivery(store: SqlStore, app: str, ctx: str) -> Delivery:
    return await store.enqueue_test_delivery(
        app,
        ctx,
        ChangeType.Upgrade,
        version_name="R1",
        file_version="1.0",
        public_endpoint=None,
        at=NOW,
    )


async def test_the_feed_is_the_applications_own_oldest_first_after_the_cursor(
    store: SqlStore,
) -> None:
    a, b = await application(store, "fda"), await application(store, "fdb")
    mine = []
    for n in range(5):
        mine.append((await _test_delivery(store, a, f"Cust{n}")).id)
        await _test_delivery(store, b, f"Cust{n}")
    first = await store.notification_feed(a, after_seq=0, limit=3)
    assert [d.id for d in first] == mine[:3]
    rest = await store.notification_feed(a, after_seq=first[-1].seq, limit=3)
    assert [d.id for d in rest] == mine[3:]
    assert await store.notification_feed(a, after_seq=rest[-1].seq, limit=3) == []


async def test_on_postgresql_the_feed_waits_for_a_lower_seq_still_to_commit(
    postgres: PostgresServer,
) -> None:
    # (SQLite has one writer at a time: there, seq order is commit order.)
    created = await anyio.to_thread.run_sync(postgres.create_database, "feedrace")
    url = created.replace("postgresql://", "postgresql+asyncpg://")
    store = SqlStore(url)
    await store.open()
    try:
        await _race(store)
    finally:
        await store.close()


async def _race(store: SqlStore) -> None:
    app = await application(store, "race")
    async with store._writer.connect() as slow:
        # A writer that took its seq first and commits last.
        transaction = await slow.begin()
        await hold_outbox_writer_lock(slow)
        low_id = f"msg_{uuid.uuid4().hex}"
        await slow.execute(
            deliveries.insert().values(
                id=low_id,
                application_id=app,
                context_identifier="Cust1",
                history_id=0,
                change_type=0,
                version_name="R1",
                file_version="1.0",
                status="pending",
                attempts=0,
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
        async with anyio.create_task_group() as tasks:
            # A writer that took its seq second and commits first: the slow one's
            # shared lock does not block it.
            high = await _test_delivery(store, app, "Cust2")
            read: list[Delivery] = []

            async def read_feed() -> None:
                read.extend(await store.notification_feed(app, after_seq=0, limit=10))

            tasks.start_soon(read_feed)
            await _until_a_reader_waits_for_the_writers(store)
            assert read == []
            await transaction.commit()
    assert [d.id for d in read] == [low_id, high.id]


async def _until_a_reader_waits_for_the_writers(store: SqlStore) -> None:
    waiting = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    deadline = time.monotonic() + 10
    while True:
        async with store._engine.connect() as connection:
            if await connection.scalar(waiting):
                return
        assert time.monotonic() < deadline, "the feed did not wait for the writer in flight"
        await anyio.sleep(0.01)


async def test_the_feed_seeks_the_application_seq_index_on_sqlite(tmp_path: Path) -> None:
    # SQLite only: PostgreSQL plans from statistics, which an empty table does not have.
    path = tmp_path / "plan.db"
    store = SqlStore(f"sqlite+aiosqlite:///{path}")
    await store.open()
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    try:
        app = await application(store, "plan")
        await _test_delivery(store, app, "Cust1")
        event.listen(store._engine.sync_engine, "before_cursor_execute", record)
        await store.notification_feed(app, after_seq=0, limit=101)
        event.remove(store._engine.sync_engine, "before_cursor_execute", record)
    finally:
        await store.close()
    (statement, parameters), *_ = seen
    with sqlite3.connect(path) as connection:
        rows = connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
    plan = " | ".join(str(row[-1]) for row in rows)
    assert "ix_deliveries_app_seq (application_id=? AND seq>?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
