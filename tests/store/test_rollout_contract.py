"""Store contract for rollouts, on both backends: the frozen selection, one rollout per
tenant, the conductor's step under the cap, pause and abort; and on SQLite, every
statement of a step seeks an index."""

from __future__ import annotations

import functools
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tenantstatus.lifecycle import Operation, OperationRequest, apply
from tenantstatus.model import TenantState
from tenantstatus.store import (
    RolloutBusy,
    RolloutDraft,
    RolloutPhase,
    RolloutSelector,
    RolloutStatus,
    SqlStore,
)

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 2, 22, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOLD = timedelta(seconds=10)
UPGRADE = OperationRequest(Operation.UPGRADE, version_name="R", file_version="1")


async def _tenants(store: SqlStore, host: str, count: int, version: str = "11.10.1") -> None:
    tenants = [
        apply(
            f"{host[:4].capitalize()}{i:03d}",
            None,
            OperationRequest(
                Operation.PROVISION,
                endpoint=f"https://{host}/{host[:4]}{i}",
                state=TenantState.Running,
                version_name="Release 11.10",
                file_version=version,
            ),
            now=NOW,
        ).tenant
        for i in range(count)
    ]
    await store.import_tenants(tenants, actor="test", at=NOW)


def _draft(host: str, *, batch: int = 2, cap: int = 2, version: str | None = None) -> RolloutDraft:
    return RolloutDraft(
        operation="upgrade",
        parameters={"VersionName": "Release 11.11", "FileVersion": "11.11.0"},
        selector=RolloutSelector(host=host, version=version),
        start_at=NOW,
        window_end=NOW + timedelta(hours=4),
        batch_size=batch,
        max_in_progress=cap,
        expected_seconds=60,
        message="tonight",
    )


def _waves(batch: int) -> Any:
    return lambda n: [NOW + MINUTE * k for k in range(-(-n // batch))]


async def test_the_selection_is_frozen_and_a_tenant_is_in_one_rollout_at_a_time(
    store: SqlStore,
) -> None:
    await _tenants(store, "sod2.example.com", 5)
    await _tenants(store, "sod2x.example.com", 3)
    rollout = await store.create_rollout(
        _draft("sod2.example.com", version="11.10*"), _waves(2), actor="op", at=NOW
    )
    assert (rollout.tenant_count, rollout.wave_count) == (5, 3)
    assert rollout.status is RolloutStatus.SCHEDULED
    with pytest.raises(RolloutBusy) as busy:
        await store.create_rollout(_draft("sod2.example.com"), _waves(2), actor="op", at=NOW)
    assert len(busy.value.busy) == 5
    none = await store.create_rollout(
        _draft("sod2.example.com", version="12.*"), _waves(2), actor="op", at=NOW
    )
    assert none.tenant_count == 0
    # Held: the scheduler sees none of them due until the conductor releases a wave.
    assert await store.due_scheduled(NOW + timedelta(hours=1)) == []
    planned = await store.list_scheduled(limit=10)
    assert len(planned) == 5 and {s.run_at for s in planned} == {
        NOW,
        NOW + MINUTE,
        NOW + 2 * MINUTE,
    }


async def test_a_step_releases_a_wave_only_under_the_cap_and_moves_the_held_on(
    store: SqlStore,
) -> None:
    await _tenants(store, "sod3.example.com", 4)
    rollout = await store.create_rollout(_draft("sod3.example.com"), _waves(2), actor="op", at=NOW)
    first = await store.conduct_rollout(rollout.id, now=NOW, hold_for=HOLD)
    assert first.released == 2 and first.events == ["start"]
    due = await store.due_scheduled(NOW)
    assert len(due) == 2
    for scheduled in due:  # the scheduler runs them: two upgrades in progress
        await store.commit_operation(
            scheduled.context_identifier,
            functools.partial(apply, scheduled.context_identifier, request=UPGRADE, now=NOW),
            actor="schedule",
            at=NOW,
            scheduled_id=scheduled.id,
        )
    later = NOW + MINUTE
    blocked = await store.conduct_rollout(rollout.id, now=later, hold_for=HOLD)
    assert blocked.released == 0 and set(blocked.moved.values()) == {later + HOLD}
    found = await store.get_rollout(rollout.id)
    assert found is not None
    # Past their expected 60 s the two running are late, and still hold the cap.
    assert found.progress.counts == {RolloutPhase.LATE: 2, RolloutPhase.PLANNED: 2}
    assert found.progress.in_progress == 2
    paused = await store.control_rollout(rollout.id, "pause", actor="op", at=later)
    assert paused is not None and paused.status is RolloutStatus.PAUSED
    aborted = await store.control_rollout(rollout.id, "abort", actor="op", at=later)
    assert aborted is not None and aborted.progress.cancelled == 2
    assert [e.action for e in await store.rollout_events(rollout_id=rollout.id)] == [
        "abort",
        "pause",
        "start",
        "create",
    ]


async def test_a_tenant_finished_past_its_expected_duration_is_late_between_steps(
    store: SqlStore,
) -> None:
    await _tenants(store, "sod5.example.com", 2)
    rollout = await store.create_rollout(_draft("sod5.example.com"), _waves(2), actor="op", at=NOW)
    await store.conduct_rollout(rollout.id, now=NOW, hold_for=HOLD)
    for scheduled in await store.due_scheduled(NOW):
        await store.commit_operation(
            scheduled.context_identifier,
            functools.partial(apply, scheduled.context_identifier, request=UPGRADE, now=NOW),
            actor="schedule",
            at=NOW,
            scheduled_id=scheduled.id,
        )
    # No conductor step in between: one finishes within its expected 60 s, one past it.
    done = OperationRequest(Operation.UPGRADE_DONE)
    for ctx, after in (("Sod5000", timedelta(seconds=59)), ("Sod5001", timedelta(seconds=61))):
        await store.commit_operation(
            ctx,
            functools.partial(apply, ctx, request=done, now=NOW + after),
            actor="tooling",
            at=NOW + after,
        )
    found = await store.get_rollout(rollout.id)
    assert found is not None
    assert found.progress.counts == {RolloutPhase.DONE: 1, RolloutPhase.DONE_LATE: 1}
    assert (found.progress.done, found.progress.late) == (2, 1)


async def test_every_statement_of_a_step_seeks_an_index_on_sqlite(tmp_path: Path) -> None:
    # SQLite only: PostgreSQL plans from statistics, which small tables do not have.
    path = tmp_path / "plan.db"
    store = SqlStore(f"sqlite+aiosqlite:///{path}")
    await store.open()
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
            seen.append((statement, parameters))

    try:
        await _tenants(store, "sod4.example.com", 6)
        rollout = await store.create_rollout(
            _draft("sod4.example.com"), _waves(2), actor="op", at=NOW
        )
        event.listen(store._engine.sync_engine, "before_cursor_execute", record)
        await store.conduct_rollout(rollout.id, now=NOW, hold_for=HOLD)
        await store.conduct_rollout(rollout.id, now=NOW + MINUTE, hold_for=HOLD)
        await store.due_scheduled(NOW + MINUTE)
        await store.list_scheduled(limit=1, runnable=True)
        event.remove(store._engine.sync_engine, "before_cursor_execute", record)
    finally:
        await store.close()
    assert len(seen) >= 8
    with sqlite3.connect(path) as connection:
        for statement, parameters in seen:
            rows = connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plan = " | ".join(str(row[-1]) for row in rows)
            assert "SCAN scheduled_operations" not in plan, (statement, plan)
            assert "SCAN rollouts" not in plan, (statement, plan)
            if "held IS 0" in statement or "held = 0" in statement:  # the scheduler's reads
                assert "ix_scheduled_runnable" in plan, (statement, plan)
