"""The status page's store reads on a real SQLite database: answers and query plans."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tenantstatus.lifecycle import Operation, OperationRequest
from tenantstatus.model import TenantState
from tenantstatus.store import SqlStore
from tests.status.seeding import provision, run

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
IDS = [f"Cust{n:03d}" for n in range(0, 120)] + ["Other1", "Other2"]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    backend = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'status.db'}")
    await backend.open()
    for index, ctx in enumerate(IDS):
        await run(backend, ctx, provision(ctx), NOW - timedelta(days=10))
        if index % 3 == 0:
            await run(backend, ctx, OperationRequest(Operation.SUSPEND), NOW - timedelta(days=1))
    yield backend
    await backend.close()


async def test_pages_walk_forward_and_back_in_identifier_order(store: SqlStore) -> None:
    seen: list[str] = []
    page = await store.tenant_page(limit=50)
    assert not page.has_previous
    while True:
        seen += [t.context_identifier for t in page.tenants]
        if not page.has_next:
            break
        page = await store.tenant_page(after=seen[-1], limit=50)
    assert seen == sorted(IDS)
    back = await store.tenant_page(before=seen[50], limit=50)
    assert [t.context_identifier for t in back.tenants] == seen[:50]
    assert not back.has_previous and back.has_next


async def test_prefix_and_state_filter_combine(store: SqlStore) -> None:
    page = await store.tenant_page(state=TenantState.Suspended, prefix="Cust01", limit=50)
    found = [t.context_identifier for t in page.tenants]
    expected = [c for i, c in enumerate(IDS) if i % 3 == 0 and c.startswith("Cust01")]
    assert found == expected
    assert all(t.state is TenantState.Suspended for t in page.tenants)
    assert (await store.tenant_page(prefix="cust", limit=5)).tenants == []  # case-sensitive
    assert (await store.tenant_page(prefix="Cust_", limit=5)).tenants == []  # _ is literal


async def test_the_window_gives_the_state_before_it_and_the_changes_in_it(
    store: SqlStore,
) -> None:
    window = await store.state_window("Cust000", NOW - timedelta(days=5))
    assert window.before == (NOW - timedelta(days=10), TenantState.Running)
    assert window.changes == [(NOW - timedelta(days=1), TenantState.Suspended)]
    checkpoint = NOW - timedelta(hours=30)
    data = await store.tenant_page_data("Cust000", checkpoint=checkpoint, known_id=None, recent=5)
    assert data is not None
    assert data.late_rows == 0
    assert data.today == [(NOW - timedelta(days=1), TenantState.Suspended)]
    # A row dated before the checkpoint but written after the rollup's newest id is late.
    newest = (await store.state_window("Cust000", NOW - timedelta(days=20))).newest_id
    await run(store, "Cust000", OperationRequest(Operation.RESUME), NOW - timedelta(days=2))
    # A row written today and dated today is not late, though it lies above that id too.
    await run(store, "Cust000", OperationRequest(Operation.SUSPEND), NOW - timedelta(hours=1))
    late = await store.tenant_page_data("Cust000", checkpoint=checkpoint, known_id=newest, recent=5)
    assert late is not None and late.late_rows == 1
    assert [c.operation for c in late.changes] == ["suspend", "resume", "suspend", "provision"]
    assert late.today[-1] == (NOW - timedelta(hours=1), TenantState.Suspended)
    nobody = await store.tenant_page_data("Nobody", checkpoint=NOW, known_id=None, recent=5)
    assert nobody is None


async def test_every_tenant_page_read_seeks_an_index(store: SqlStore, tmp_path: Path) -> None:
    plans = []
    with sqlite3.connect(tmp_path / "status.db") as connection:
        for sql in (
            "SELECT context_identifier FROM tenants WHERE state = 4 AND context_identifier >= "
            "'Cust01' AND context_identifier < 'Cust02' AND context_identifier > 'Cust010' "
            "ORDER BY context_identifier LIMIT 51",
            "SELECT context_identifier FROM tenants WHERE context_identifier > 'Cust050' "
            "ORDER BY context_identifier LIMIT 51",
            "SELECT at, to_state FROM tenant_history WHERE context_identifier = 'Cust000' "
            "AND at >= 0 AND at < 99 ORDER BY at, id",
            "SELECT at FROM tenant_history WHERE context_identifier = 'Cust000' AND id > 99",
            "SELECT id FROM scheduled_operations WHERE context_identifier = 'Cust000' "
            "AND status = 'pending'",
            "SELECT * FROM notices WHERE context_identifier = 'Cust000' AND (resolved_at IS "
            "NULL OR resolved_at >= 5) ORDER BY id DESC LIMIT 20",
            "SELECT * FROM notices WHERE host = 'sod2.example.com' AND (resolved_at IS NULL "
            "OR resolved_at >= 5) ORDER BY id DESC LIMIT 20",
            "SELECT n.* FROM notices n JOIN notice_tenants m ON m.notice_id = n.id WHERE "
            "m.context_identifier = 'Cust000' AND (n.resolved_at IS NULL OR n.resolved_at >= 5)"
            " ORDER BY m.notice_id DESC LIMIT 20",
            "SELECT * FROM notice_updates WHERE notice_id IN (1, 2) ORDER BY notice_id, id",
        ):
            rows = connection.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            plans.append(" ".join(str(row[-1]) for row in rows))
    for plan in plans:
        assert plan.startswith("SEARCH"), plan
        assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan
