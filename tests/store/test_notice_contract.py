"""Notices on both backends: stored once, read per tenant, tied to their operations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tenantstatus.lifecycle import Operation, OperationRequest, Tenant, apply
from tenantstatus.model import TenantState
from tenantstatus.store import (
    NoticeDraft,
    NoticeResolution,
    NoticeScope,
    SqlStore,
)
from tenantstatus.store.schema import history, notice_tenants, notices

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
LATER = NOW + timedelta(minutes=20)


async def run(
    store: SqlStore,
    ctx: str,
    request: OperationRequest,
    *,
    at: datetime = NOW,
    notice: NoticeDraft | None = None,
    scheduled_id: int | None = None,
) -> Tenant:
    outcome, _ = await store.commit_operation(
        ctx,
        lambda tenant: apply(ctx, tenant, request, now=at),
        actor="tester",
        at=at,
        notice=notice,
        scheduled_id=scheduled_id,
    )
    return outcome.tenant


async def provision(store: SqlStore, ctx: str, host: str = "sod2.example.com") -> None:
    await run(
        store,
        ctx,
        OperationRequest(
            Operation.PROVISION, endpoint=f"https://{host}/{ctx}", state=TenantState.Running
        ),
    )


def upgrade() -> OperationRequest:
    return OperationRequest(Operation.UPGRADE, version_name="Release 11.12", file_version="11.12")


async def count(store: SqlStore, table: sa.Table) -> int:
    async with store._engine.connect() as connection:
        return int(await connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_an_operation_message_and_its_notes_read_back_for_the_tenant(
    store: SqlStore,
) -> None:
    await provision(store, "Cust1")
    until = NOW + timedelta(hours=1)
    await run(store, "Cust1", upgrade(), notice=NoticeDraft("Upgrading to 11.12", until))
    (notice,) = await store.tenant_notices("Cust1")
    assert (notice.body, notice.until, notice.operation) == ("Upgrading to 11.12", until, "upgrade")
    assert notice.scope is NoticeScope.TENANT and notice.is_open and not notice.is_planned
    assert notice.posted_at == NOW and notice.posted_by == "tester"
    assert notice.history_id is not None
    found = await store.open_tenant_notice("Cust1")
    assert found is not None and found.id == notice.id
    later_end = until + timedelta(minutes=30)
    noted = await store.add_notice_update(
        notice.id, "Database step is slow", posted_by="op", at=LATER, until=later_end
    )
    assert noted is not None and noted.until == later_end and noted.updated_at == LATER
    assert [(u.body, u.posted_at) for u in noted.updates] == [("Database step is slow", LATER)]
    # upgrade-done leaves the state the upgrade entered: the notice is finished with it.
    await run(store, "Cust1", OperationRequest(Operation.UPGRADE_DONE), at=LATER)
    (done,) = await store.tenant_notices("Cust1")
    assert done.resolved_at == LATER and done.resolution is NoticeResolution.FINISHED
    assert await store.open_tenant_notice("Cust1") is None
    assert await store.tenant_notices("Cust1", resolved_since=LATER + timedelta(seconds=1)) == []
    assert await store.tenant_notices("Nobody") == []


async def test_an_incident_keeps_the_upgrade_notice_it_interrupts(store: SqlStore) -> None:
    await provision(store, "Cust2")
    await run(store, "Cust2", upgrade(), notice=NoticeDraft("Upgrading"))
    await run(store, "Cust2", OperationRequest(Operation.INCIDENT), notice=NoticeDraft("sod2 down"))
    await run(store, "Cust2", OperationRequest(Operation.INCIDENT_DONE), at=LATER)
    incident, upgrading = await store.tenant_notices("Cust2")
    assert incident.body == "sod2 down" and incident.resolution is NoticeResolution.FINISHED
    assert upgrading.body == "Upgrading" and upgrading.is_open


async def test_history_rows_say_whether_they_were_announced(store: SqlStore) -> None:
    await provision(store, "Cust3")
    await run(store, "Cust3", OperationRequest(Operation.MAINTENANCE_OFFLINE))
    await run(store, "Cust3", OperationRequest(Operation.MAINTENANCE_DONE))
    await run(
        store, "Cust3", OperationRequest(Operation.MAINTENANCE_ONLINE), notice=NoticeDraft("x")
    )
    window = await store.state_window("Cust3", NOW - timedelta(days=1))
    assert window.announced == [False, False, False, True]


async def test_a_scheduled_operations_notice_is_planned_then_runs_or_is_cancelled(
    store: SqlStore,
) -> None:
    await provision(store, "Cust4")
    run_at = NOW + timedelta(hours=2)
    planned = await store.schedule_operation(
        "Cust4",
        "upgrade",
        {"VersionName": "Release 11.12", "FileVersion": "11.12"},
        run_at=run_at,
        actor="op",
        at=NOW,
        notice=NoticeDraft("Tonight's upgrade", run_at + timedelta(minutes=45)),
    )
    (notice,) = await store.tenant_notices("Cust4")
    assert notice.is_planned and notice.scheduled_id == planned.id and notice.operation == "upgrade"
    await run(store, "Cust4", upgrade(), at=run_at, scheduled_id=planned.id)
    (running,) = await store.tenant_notices("Cust4")
    assert running.history_id is not None and running.is_open and not running.is_planned
    window = await store.state_window("Cust4", NOW)
    assert window.announced[-1] is True  # scheduled ahead
    second = await store.schedule_operation(
        "Cust4", "upgrade-done", {}, run_at=run_at, actor="op", at=NOW, notice=NoticeDraft("x")
    )
    await store.cancel_scheduled(second.id, at=LATER)
    cancelled = [n for n in await store.tenant_notices("Cust4") if n.scheduled_id == second.id]
    assert cancelled[0].resolution is NoticeResolution.CANCELLED


async def test_a_host_wide_notice_on_ten_thousand_tenants_is_one_row(store: SqlStore) -> None:
    batch = [
        apply(
            f"Cust{n}",
            None,
            OperationRequest(
                Operation.PROVISION,
                endpoint=f"https://SOD2.example.com:443/Cust{n}",
                state=TenantState.Running,
            ),
            now=NOW,
        ).tenant
        for n in range(10_000)
    ]
    await store.import_tenants(batch, actor="tester", at=NOW)
    await provision(store, "Elsewhere", host="sod3.example.com")
    notice = await store.post_notice(
        "sod2 is degraded; we are on it",
        scope=NoticeScope.HOST,
        host="sod2.example.com",
        posted_by="op",
        at=NOW,
        until=LATER,
    )
    assert await count(store, notices) == 1
    assert notice.host == "sod2.example.com"
    for ctx in ("Cust0", "Cust5000", "Cust9999"):
        assert [n.id for n in await store.tenant_notices(ctx)] == [notice.id]
    assert await store.tenant_notices("Elsewhere") == []
    data = await store.tenant_page_data("Cust42", checkpoint=NOW, known_id=None, recent=5)
    assert data is not None and [n.id for n in data.notices] == [notice.id]
    resolved = await store.resolve_notice(notice.id, at=LATER, body="All clear", posted_by="op")
    assert resolved is not None and resolved.resolution is NoticeResolution.RESOLVED
    assert [u.body for u in resolved.updates] == ["All clear"]
    assert await store.resolve_notice(notice.id, at=LATER) is None
    assert await store.add_notice_update(notice.id, "late", posted_by="op", at=LATER) is None


async def test_a_list_notice_shows_for_the_listed_tenants_only(store: SqlStore) -> None:
    for ctx in ("Cust7", "Cust8", "Cust9"):
        await provision(store, ctx, host="sod4.example.com")
    notice = await store.post_notice(
        "Mail delivery is delayed",
        scope=NoticeScope.TENANTS,
        context_identifiers=["Cust8", "Cust7", "Cust8"],
        posted_by="op",
        at=NOW,
    )
    assert notice.context_identifiers == ("Cust7", "Cust8")
    assert await count(store, notices) == 1 and await count(store, notice_tenants) == 2
    assert [n.id for n in await store.tenant_notices("Cust7")] == [notice.id]
    assert await store.tenant_notices("Cust9") == []
    assert [n.id for n in await store.list_notices()] == [notice.id]
    await store.resolve_notice(notice.id, at=LATER)
    assert await store.list_notices() == []
    assert [n.id for n in await store.list_notices(open_only=False)] == [notice.id]


async def test_import_and_plain_operations_write_unannounced_history(store: SqlStore) -> None:
    await provision(store, "Cust10")
    async with store._engine.connect() as connection:
        flags = list(await connection.scalars(sa.select(history.c.announced)))
    assert flags == [False]
