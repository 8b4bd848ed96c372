"""The calendars' reads and revisions on both backends: every schedule change raises it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenantstatus.lifecycle import Operation, OperationRequest, apply
from tenantstatus.model import TenantState
from tenantstatus.store import NoticeDraft, ScheduleStatus, SqlStore

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def provision(store: SqlStore, ctx: str) -> None:
    request = OperationRequest(
        Operation.PROVISION, endpoint=f"https://sod2.example.com/{ctx}", state=TenantState.Running
    )
    await store.commit_operation(
        ctx, lambda tenant: apply(ctx, tenant, request, now=NOW), actor="tester", at=NOW
    )


async def revisions(store: SqlStore, ctx: str) -> dict[int, int]:
    data = await store.calendar_data(ctx, finished_since=NOW - timedelta(days=1), limit=100)
    return {o.id: o.revision for o in data.operations}


async def test_every_change_to_a_schedule_raises_the_revisions(store: SqlStore) -> None:
    await provision(store, "CalRev")
    await provision(store, "CalOther")
    schedule = store.schedule_operation
    opener = await schedule(
        "CalRev", "maintenance-offline", {}, run_at=NOW + timedelta(days=1), actor="t", at=NOW,
        notice=NoticeDraft("Disks"),
    )  # fmt: skip
    other = await schedule(
        "CalOther", "suspend", {}, run_at=NOW + timedelta(days=1), actor="t", at=NOW
    )
    assert await revisions(store, "CalRev") == {opener.id: 0}
    closer = await schedule(
        "CalRev", "maintenance-done", {}, run_at=NOW + timedelta(days=1, hours=1), actor="t", at=NOW
    )
    assert await revisions(store, "CalRev") == {opener.id: 1, closer.id: 0}
    await store.cancel_scheduled(closer.id, at=NOW)
    assert await revisions(store, "CalRev") == {opener.id: 2, closer.id: 1}
    await store.fail_scheduled(opener.id, error="refused", at=NOW)
    assert await revisions(store, "CalRev") == {opener.id: 3, closer.id: 1}
    # Another tenant's schedule was never touched.
    assert await revisions(store, "CalOther") == {other.id: 0}
    data = await store.calendar_data("CalRev", finished_since=NOW, limit=100)
    assert set(data.tenants) == {"CalRev"}
    assert [o.status for o in data.operations] == [ScheduleStatus.FAILED, ScheduleStatus.CANCELLED]
    assert [n.body for n in data.notices] == ["Disks"]


async def test_running_a_scheduled_operation_raises_it(store: SqlStore) -> None:
    await provision(store, "CalRun")
    at = NOW + timedelta(minutes=5)
    opener = await store.schedule_operation(
        "CalRun", "maintenance-offline", {}, run_at=at, actor="t", at=NOW
    )
    request = OperationRequest(Operation.MAINTENANCE_OFFLINE)
    await store.commit_operation(
        "CalRun", lambda tenant: apply("CalRun", tenant, request, now=at),
        actor="scheduler", at=at, scheduled_id=opener.id,
    )  # fmt: skip
    data = await store.calendar_data("CalRun", finished_since=NOW, limit=100)
    (ran,) = data.operations
    assert ran.status is ScheduleStatus.DONE and ran.revision == 1
    assert data.tenants["CalRun"].state is TenantState.OfflineMaintenance


async def test_a_calendar_of_an_unknown_tenant_has_no_tenant(store: SqlStore) -> None:
    data = await store.calendar_data("CalNobody", finished_since=NOW, limit=100)
    assert data.tenants == {} and list(data.operations) == []
