"""What every `Store` backend must do. PostgreSQL runs the very same tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

from tenantstatus.lifecycle import (
    Operation,
    OperationRequest,
    Tenant,
    TransitionRefused,
    apply,
)
from tenantstatus.model import ChangeType, TenantState
from tenantstatus.store import ScheduleNotPending, ScheduleStatus, SqlStore

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)


async def run(
    store: SqlStore,
    ctx: str,
    operation: Operation,
    *,
    at: datetime = NOW,
    scheduled_id: int | None = None,
    **params: object,
) -> Tenant:
    request = OperationRequest(operation, **params)  # type: ignore[arg-type]
    outcome, _ = await store.commit_operation(
        ctx,
        lambda tenant: apply(ctx, tenant, request, now=at),
        actor="tester",
        at=at,
        scheduled_id=scheduled_id,
    )
    return outcome.tenant


async def provision(store: SqlStore, ctx: str, state: TenantState = TenantState.Running) -> Tenant:
    return await run(
        store,
        ctx,
        Operation.PROVISION,
        endpoint=f"https://sod2.example.com/{ctx}",
        state=state,
        version_document={"NetServerLabel": "R1", "v1": "x"},
    )


async def test_a_committed_operation_reads_back_exactly(store: SqlStore) -> None:
    written = await provision(store, "Cust1")
    upgrading = await run(
        store,
        "Cust1",
        Operation.UPGRADE,
        version_name="R2",
        file_version="2.0",
        version_document={"NetServerLabel": "R2"},
    )
    assert await store.get_tenant("Cust1") == upgrading
    assert upgrading.created_at == written.created_at == NOW
    assert upgrading.pending_version_document == {"NetServerLabel": "R2"}


async def test_unknown_tenants_read_as_none(store: SqlStore) -> None:
    assert await store.get_tenant("Nobody") is None


async def test_history_records_operation_actor_states_and_announcement(store: SqlStore) -> None:
    await provision(store, "Cust1")
    await run(store, "Cust1", Operation.SUSPEND, at=NOW + timedelta(seconds=1))
    newest, oldest = await store.history("Cust1")
    assert (oldest.operation, oldest.from_state, oldest.to_state) == (
        "provision",
        None,
        TenantState.Running,
    )
    assert newest.operation == "suspend"
    assert newest.actor == "tester"
    assert newest.at == NOW + timedelta(seconds=1)
    assert (newest.from_state, newest.to_state) == (TenantState.Running, TenantState.Suspended)
    assert newest.change_type is ChangeType.Suspend


async def test_a_refused_operation_writes_nothing(store: SqlStore) -> None:
    await provision(store, "Cust1", TenantState.Suspended)
    revision = await store.current_revision()
    with pytest.raises(TransitionRefused):
        await run(store, "Cust1", Operation.SUSPEND)
    assert len(await store.history("Cust1")) == 1
    assert await store.current_revision() == revision
    assert (await store.get_tenant("Cust1")).state is TenantState.Suspended  # type: ignore[union-attr]


async def test_concurrent_operations_on_one_tenant_serialise(store: SqlStore) -> None:
    await provision(store, "Cust1")
    results: list[str] = []

    async def suspend() -> None:
        try:
            await run(store, "Cust1", Operation.SUSPEND)
            results.append("done")
        except TransitionRefused:
            results.append("refused")

    async with anyio.create_task_group() as tasks:
        for _ in range(5):
            tasks.start_soon(suspend)
    assert sorted(results) == ["done"] + ["refused"] * 4
    assert len(await store.history("Cust1")) == 2


async def test_list_pages_by_id_and_filters_by_state(store: SqlStore) -> None:
    for n in range(5):
        await provision(store, f"Cust{n}", TenantState.Running if n % 2 else TenantState.Suspended)
    first = await store.list_tenants(limit=2)
    second = await store.list_tenants(after=first[-1].context_identifier, limit=10)
    assert [t.context_identifier for t in first + second] == [f"Cust{n}" for n in range(5)]
    running = await store.list_tenants(state=TenantState.Running)
    assert [t.context_identifier for t in running] == ["Cust1", "Cust3"]
    assert await store.count_by_state() == {TenantState.Running: 2, TenantState.Suspended: 3}


async def test_import_creates_new_tenants_and_skips_existing_ones(store: SqlStore) -> None:
    await provision(store, "Cust1", TenantState.Suspended)
    new = [
        apply(
            f"Cust{n}",
            None,
            OperationRequest(
                Operation.PROVISION, endpoint="https://h/x", state=TenantState.Running
            ),
            now=NOW,
        ).tenant
        for n in range(3)
    ]
    result = await store.import_tenants(new, actor="import", at=NOW)
    assert (result.created, result.skipped) == (2, 1)
    assert (await store.get_tenant("Cust1")).state is TenantState.Suspended  # type: ignore[union-attr]
    assert (await store.get_tenant("Cust2")).state is TenantState.Running  # type: ignore[union-attr]
    assert [h.operation for h in await store.history("Cust2")] == ["provision"]


async def test_stream_and_changed_since_see_every_tenant(store: SqlStore) -> None:
    for n in range(25):
        await provision(store, f"Cust{n:02d}")
    batches = [batch async for batch in store.stream_tenants(batch_size=10)]
    assert [len(b) for b in batches] == [10, 10, 5]
    revision = await store.current_revision()
    await run(store, "Cust07", Operation.SUSPEND)
    changed = await store.changed_since(revision)
    assert [(t.context_identifier, t.state) for _, t in changed] == [
        ("Cust07", TenantState.Suspended)
    ]
    assert changed[0][0] > revision


async def test_scheduled_operations_list_soonest_first_and_cancel(store: SqlStore) -> None:
    await provision(store, "Cust1")
    later = await store.schedule_operation(
        "Cust1", "suspend", {}, run_at=NOW + timedelta(hours=2), actor="op", at=NOW
    )
    sooner = await store.schedule_operation(
        "Cust1",
        "upgrade",
        {"VersionName": "R2", "FileVersion": "2"},
        run_at=NOW + timedelta(hours=1),
        actor="op",
        at=NOW,
    )
    assert [s.id for s in await store.list_scheduled()] == [sooner.id, later.id]
    assert (await store.get_scheduled(sooner.id)).parameters == {  # type: ignore[union-attr]
        "VersionName": "R2",
        "FileVersion": "2",
    }
    assert await store.next_scheduled() == {"Cust1": NOW + timedelta(hours=1)}
    cancelled = await store.cancel_scheduled(sooner.id, at=NOW)
    assert cancelled is not None and cancelled.status is ScheduleStatus.CANCELLED
    assert await store.cancel_scheduled(sooner.id, at=NOW) is None
    assert await store.next_scheduled() == {"Cust1": NOW + timedelta(hours=2)}


async def test_due_operations_run_once(store: SqlStore) -> None:
    await provision(store, "Cust1")
    scheduled = await store.schedule_operation(
        "Cust1", "suspend", {}, run_at=NOW + timedelta(minutes=1), actor="op", at=NOW
    )
    assert await store.due_scheduled(NOW) == []
    due = await store.due_scheduled(NOW + timedelta(minutes=1))
    assert [d.id for d in due] == [scheduled.id]
    await run(store, "Cust1", Operation.SUSPEND, scheduled_id=scheduled.id)
    with pytest.raises(ScheduleNotPending):
        await run(store, "Cust1", Operation.RESUME, scheduled_id=scheduled.id)
    assert (await store.get_tenant("Cust1")).state is TenantState.Suspended  # type: ignore[union-attr]
    done = await store.get_scheduled(scheduled.id)
    assert done is not None and done.status is ScheduleStatus.DONE
    assert await store.due_scheduled(NOW + timedelta(days=1)) == []


async def test_failed_scheduled_operations_keep_the_reason(store: SqlStore) -> None:
    scheduled = await store.schedule_operation(
        "Cust9", "resume", {}, run_at=NOW, actor="op", at=NOW
    )
    await store.fail_scheduled(scheduled.id, error="not allowed", at=NOW)
    failed = await store.list_scheduled(status=ScheduleStatus.FAILED)
    assert [(f.id, f.error) for f in failed] == [(scheduled.id, "not allowed")]


async def test_settings_keep_the_first_value(store: SqlStore) -> None:
    assert await store.get_setting("k") is None
    assert await store.put_setting_if_absent("k", "one") == "one"
    assert await store.put_setting_if_absent("k", "two") == "one"


async def test_put_setting_replaces_the_value(store: SqlStore) -> None:
    await store.put_setting("k", "one")
    await store.put_setting("k", "two")
    assert await store.get_setting("k") == "two"


async def test_reopening_applies_no_migration_twice(store: SqlStore) -> None:
    await provision(store, "Cust1")
    again = SqlStore(store.url)
    await again.open()
    assert (await again.get_tenant("Cust1")) is not None
    await again.close()


async def test_concurrent_provisions_of_one_new_tenant_create_it_once(store: SqlStore) -> None:
    results: list[str] = []

    async def create() -> None:
        try:
            await provision(store, "Racer")
            results.append("created")
        except TransitionRefused:
            results.append("refused")

    async with anyio.create_task_group() as tasks:
        for _ in range(4):
            tasks.start_soon(create)
    assert sorted(results) == ["created"] + ["refused"] * 3
    assert len(await store.history("Racer")) == 1


async def test_concurrent_changes_get_distinct_increasing_revisions(store: SqlStore) -> None:
    for n in range(8):
        await provision(store, f"Rev{n}")
    start = await store.current_revision()
    async with anyio.create_task_group() as tasks:
        for n in range(8):
            tasks.start_soon(run, store, f"Rev{n}", Operation.SUSPEND)
    changed = await store.changed_since(start)
    revisions = [revision for revision, _ in changed]
    assert len(revisions) == len(set(revisions)) == 8
    assert revisions == sorted(revisions)
