"""The SQL side of rollouts: the frozen selection, the waves and the conductor's step.

`RolloutSql` is mixed into `SqlStore`. A rollout's tenants are its scheduled operations
(`scheduled_operations.rollout_id`), so the scheduler runs them and claims each one as
it claims any other. Every count the conductor takes is a range of
`ix_scheduled_rollout_phase` over the phases that stay small (in progress, late,
refused); no step reads all of a rollout's tenants.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantstatus.lifecycle import Outcome
from tenantstatus.store.base import ScheduleStatus
from tenantstatus.store.change_listener import ALL_TENANTS
from tenantstatus.store.notice_records import NoticeResolution, NoticeScope
from tenantstatus.store.rollout_records import (
    FAILED_PHASES,
    IN_PROGRESS_PHASES,
    UNFINISHED_PHASES,
    Rollout,
    RolloutDraft,
    RolloutEvent,
    RolloutMember,
    RolloutPhase,
    RolloutProgress,
    RolloutSelector,
    RolloutStatus,
)
from tenantstatus.store.schema import (
    Instant,
    notices,
    rollout_events,
    rollouts,
    scheduled_operations,
    tenants,
)
from tenantstatus.store.status_sql import _escape_like

__all__ = ["ConductStep", "RolloutBusy", "RolloutSql", "rollout_progress_on_commit"]

_ops = scheduled_operations


class RolloutBusy(Exception):
    """Some selected tenants are in an unfinished rollout already; nothing was written."""

    def __init__(self, busy: Sequence[str]) -> None:
        shown = ", ".join(busy[:5]) + (", ..." if len(busy) > 5 else "")
        super().__init__(
            f"{len(busy)} selected tenants are in an unfinished rollout already ({shown})"
        )
        self.busy = list(busy)


@dataclass(slots=True)
class ConductStep:
    """What one conductor step did, for the caller to follow up (cache, scheduler, logs)."""

    released: int = 0
    moved: dict[str, datetime] = field(default_factory=dict)  # held tenants given a later instant
    events: list[str] = field(default_factory=list)


def _glob_to_like(glob: str) -> str:
    return _escape_like(glob).replace("*", "%").replace("?", "_")


def _rollout(row: sa.Row[Any], progress: RolloutProgress | None = None) -> Rollout:
    return Rollout(
        id=row.id,
        operation=row.operation,
        parameters=json.loads(row.parameters),
        selection=json.loads(row.selection),
        start_at=row.start_at,
        window_end=row.window_end,
        batch_size=row.batch_size,
        max_in_progress=row.max_in_progress,
        expected_seconds=row.expected_seconds,
        tenant_count=row.tenant_count,
        wave_count=row.wave_count,
        next_wave=row.next_wave,
        status=RolloutStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        message=row.message,
        max_failures=row.max_failures,
        max_failure_percent=row.max_failure_percent,
        forgiven=row.forgiven,
        reason=row.reason,
        started_at=row.started_at,
        finished_at=row.finished_at,
        progress=progress or RolloutProgress(),
    )


def _selection_query(selector: RolloutSelector) -> sa.Select[Any]:
    query = sa.select(tenants.c.context_identifier).order_by(tenants.c.context_identifier)
    if selector.state is not None:
        query = query.where(tenants.c.state == selector.state)
    if selector.host is not None:
        host = _escape_like(selector.host.lower())
        endpoint = sa.func.lower(tenants.c.endpoint)
        query = query.where(
            sa.or_(
                endpoint.like(f"%://{host}/%", escape="\\"),
                endpoint.like(f"%://{host}", escape="\\"),
                endpoint.like(f"%://{host}:%", escape="\\"),
            )
        )
    if selector.version is not None:
        pattern = _glob_to_like(selector.version)
        query = query.where(
            sa.or_(
                tenants.c.version_name.like(pattern, escape="\\"),
                tenants.c.file_version.like(pattern, escape="\\"),
            )
        )
    return query


async def _event(
    connection: AsyncConnection,
    rollout_id: int,
    action: str,
    actor: str,
    at: datetime,
    detail: str | None = None,
) -> None:
    await connection.execute(
        rollout_events.insert().values(
            rollout_id=rollout_id, action=action, actor=actor, at=at, detail=detail
        )
    )


async def _counts(
    connection: AsyncConnection, rollout_id: int, phases: Sequence[RolloutPhase] | None = None
) -> RolloutProgress:
    query = (
        sa.select(_ops.c.rollout_phase, sa.func.count())
        .where(_ops.c.rollout_id == rollout_id)
        .group_by(_ops.c.rollout_phase)
    )
    if phases is not None:
        query = query.where(_ops.c.rollout_phase.in_([p.value for p in phases]))
    rows = await connection.execute(query)
    return RolloutProgress({RolloutPhase(p): int(n) for p, n in rows if p is not None})


async def rollout_progress_on_commit(
    connection: AsyncConnection,
    context_identifier: str,
    outcome: Outcome,
    scheduled_id: int | None,
    at: datetime,
) -> None:
    """In an operation's own transaction: move the tenant along in its rollout, if any.

    The rollout's own operation starts the tenant (running, for a two-step operation,
    until the tenant has no activity left); any later operation that leaves the tenant
    without an activity (`upgrade-done`) finishes it.
    """
    settled = outcome.tenant.activity is None
    if scheduled_id is not None:
        await connection.execute(
            _ops.update()
            .where(_ops.c.id == scheduled_id, _ops.c.rollout_id.is_not(None))
            .values(rollout_phase=RolloutPhase.DONE if settled else RolloutPhase.RUNNING)
        )
    if settled:
        # Past its expected duration a tenant finishes late, whether or not a conductor
        # step saw it running that long.
        running = await connection.execute(
            sa.select(_ops.c.id, _ops.c.finished_at, rollouts.c.expected_seconds)
            .join(rollouts, rollouts.c.id == _ops.c.rollout_id)
            .where(
                _ops.c.rollout_phase == RolloutPhase.RUNNING,
                _ops.c.context_identifier == context_identifier,
            )
        )
        for row in running.all():
            overdue = row.finished_at is not None and row.finished_at <= at - timedelta(
                seconds=row.expected_seconds
            )
            await connection.execute(
                _ops.update()
                .where(_ops.c.id == row.id)
                .values(rollout_phase=RolloutPhase.DONE_LATE if overdue else RolloutPhase.DONE)
            )
        await connection.execute(
            _ops.update()
            .where(
                _ops.c.rollout_phase == RolloutPhase.LATE,
                _ops.c.context_identifier == context_identifier,
            )
            .values(rollout_phase=RolloutPhase.DONE_LATE)
        )


class RolloutSql:
    """Rollout persistence; mixed into `SqlStore`, which provides the engines."""

    _engine: AsyncEngine
    _writer: AsyncEngine
    _is_sqlite: bool

    async def _announce(self, connection: AsyncConnection, context_identifier: str) -> None:
        raise NotImplementedError  # SqlStore's

    async def _insert_many(
        self, connection: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]
    ) -> None:
        raise NotImplementedError  # SqlStore's

    async def create_rollout(
        self,
        draft: RolloutDraft,
        plan: Callable[[int], Sequence[datetime]],
        *,
        actor: str,
        at: datetime,
    ) -> Rollout:
        """Resolve the selection, plan its waves (`plan(n)` gives each wave's instant; it
        raises to refuse) and store the rollout with one scheduled operation per tenant.

        Raises `RolloutBusy` when a selected tenant is in an unfinished rollout.
        """
        async with self._writer.begin() as connection:
            selected = list(await connection.scalars(_selection_query(draft.selector)))
            if draft.selector.context_identifiers is not None:
                wanted = set(draft.selector.context_identifiers)
                selected = [c for c in selected if c in wanted]
            busy_query = sa.select(_ops.c.context_identifier).where(
                _ops.c.rollout_phase.in_([p.value for p in UNFINISHED_PHASES])
            )
            busy = set(await connection.scalars(busy_query)).intersection(selected)
            if busy:
                raise RolloutBusy(sorted(busy))
            instants = plan(len(selected))
            values = {
                "operation": draft.operation,
                "parameters": json.dumps(dict(draft.parameters)),
                "message": draft.message,
                "selection": json.dumps(draft.selector.describe()),
                "start_at": draft.start_at,
                "window_end": draft.window_end,
                "batch_size": draft.batch_size,
                "max_in_progress": draft.max_in_progress,
                "expected_seconds": draft.expected_seconds,
                "max_failures": draft.max_failures,
                "max_failure_percent": draft.max_failure_percent,
                "tenant_count": len(selected),
                "wave_count": len(instants),
                "next_wave": 0,
                "status": RolloutStatus.SCHEDULED.value,
                "created_by": actor,
                "created_at": at,
            }
            result = await connection.execute(rollouts.insert().values(values))
            (rollout_id,) = result.inserted_primary_key or (0,)
            rollout_id = int(rollout_id)
            parameters = json.dumps(dict(draft.parameters))
            created_by = f"rollout:{rollout_id} ({actor})"[:128]
            if selected:
                await self._insert_many(
                    connection,
                    _ops,
                    [
                        {
                            "context_identifier": ctx,
                            "operation": draft.operation,
                            "parameters": parameters,
                            "run_at": instants[i // draft.batch_size],
                            "status": ScheduleStatus.PENDING.value,
                            "created_by": created_by,
                            "created_at": at,
                            "rollout_id": rollout_id,
                            "wave": i // draft.batch_size,
                            "rollout_phase": RolloutPhase.PLANNED.value,
                            "held": True,
                        }
                        for i, ctx in enumerate(selected)
                    ],
                )
            if draft.message and selected:
                # One statement: each tenant's notice belongs to its scheduled operation.
                await connection.execute(
                    notices.insert().from_select(
                        [
                            "scope",
                            "context_identifier",
                            "body",
                            "posted_by",
                            "posted_at",
                            "updated_at",
                            "operation",
                            "scheduled_id",
                        ],
                        sa.select(
                            sa.literal(NoticeScope.TENANT.value),
                            _ops.c.context_identifier,
                            sa.literal(draft.message),
                            sa.literal(actor),
                            sa.literal(at, Instant),
                            sa.literal(at, Instant),
                            sa.literal(draft.operation),
                            _ops.c.id,
                        ).where(_ops.c.rollout_id == rollout_id),
                    )
                )
            await _event(connection, rollout_id, "create", actor, at, f"{len(selected)} tenants")
            await self._announce(connection, ALL_TENANTS)
            row = (
                await connection.execute(sa.select(rollouts).where(rollouts.c.id == rollout_id))
            ).one()
        return _rollout(row, RolloutProgress({RolloutPhase.PLANNED: len(selected)}))

    async def get_rollout(self, rollout_id: int) -> Rollout | None:
        """One rollout with its progress, or None."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(sa.select(rollouts).where(rollouts.c.id == rollout_id))
            ).first()
            if row is None:
                return None
            return _rollout(row, await _counts(connection, rollout_id))

    async def list_rollouts(
        self, *, unfinished: bool = False, before: int | None = None, limit: int = 50
    ) -> list[Rollout]:
        """Rollouts newest first, with their progress."""
        query = sa.select(rollouts).order_by(rollouts.c.id.desc()).limit(limit)
        if unfinished:
            query = query.where(
                rollouts.c.status.not_in([RolloutStatus.DONE.value, RolloutStatus.ABORTED.value])
            )
        if before is not None:
            query = query.where(rollouts.c.id < before)
        async with self._engine.connect() as connection:
            rows = list(await connection.execute(query))
            return [_rollout(row, await _counts(connection, row.id)) for row in rows]

    async def rollout_members(
        self, rollout_id: int, phases: Sequence[RolloutPhase], *, limit: int = 100
    ) -> list[RolloutMember]:
        """The tenants of a rollout in `phases`, by instant."""
        query = (
            sa.select(_ops)
            .where(
                _ops.c.rollout_id == rollout_id,
                _ops.c.rollout_phase.in_([p.value for p in phases]),
            )
            .order_by(_ops.c.run_at, _ops.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [
                RolloutMember(
                    context_identifier=row.context_identifier,
                    wave=row.wave,
                    run_at=row.run_at,
                    phase=RolloutPhase(row.rollout_phase),
                    started_at=row.finished_at if row.status == ScheduleStatus.DONE else None,
                    error=row.error,
                )
                for row in await connection.execute(query)
            ]

    async def rollout_events(
        self, *, rollout_id: int | None = None, limit: int = 100
    ) -> list[RolloutEvent]:
        """Rollout history newest first: of one rollout, or of all."""
        query = sa.select(rollout_events).order_by(rollout_events.c.id.desc()).limit(limit)
        if rollout_id is not None:
            query = query.where(rollout_events.c.rollout_id == rollout_id)
        async with self._engine.connect() as connection:
            return [
                RolloutEvent(
                    id=row.id,
                    rollout_id=row.rollout_id,
                    action=row.action,
                    actor=row.actor,
                    at=row.at,
                    detail=row.detail,
                )
                for row in await connection.execute(query)
            ]

    async def control_rollout(
        self, rollout_id: int, action: str, *, actor: str, at: datetime
    ) -> Rollout | None:
        """Pause, resume or abort; None if no such rollout. Raises `ValueError` if it is
        in no state for it (e.g. resuming a rollout that runs).
        """
        async with self._writer.begin() as connection:
            row = await self._lock_rollout(connection, rollout_id)
            if row is None:
                return None
            status = RolloutStatus(row.status)
            if status.is_finished:
                raise ValueError(f"rollout {rollout_id} is {status} already")
            if action == "pause":
                if status is RolloutStatus.PAUSED:
                    raise ValueError(f"rollout {rollout_id} is paused already")
                await self._pause(connection, row, f"paused by {actor}", actor, at)
            elif action == "resume":
                if status is not RolloutStatus.PAUSED:
                    raise ValueError(f"rollout {rollout_id} is {status}, not paused")
                failures = (await _counts(connection, rollout_id, FAILED_PHASES)).failures
                await connection.execute(
                    rollouts.update()
                    .where(rollouts.c.id == rollout_id)
                    .values(
                        status=RolloutStatus.RUNNING.value
                        if row.started_at is not None
                        else RolloutStatus.SCHEDULED.value,
                        reason=None,
                        forgiven=failures,
                    )
                )
                await _event(connection, rollout_id, "resume", actor, at)
            elif action == "abort":
                await self._abort(connection, rollout_id, at)
                await connection.execute(
                    rollouts.update()
                    .where(rollouts.c.id == rollout_id)
                    .values(
                        status=RolloutStatus.ABORTED.value,
                        reason=f"aborted by {actor}",
                        finished_at=at,
                    )
                )
                await _event(connection, rollout_id, "abort", actor, at)
            else:
                raise ValueError(f"unknown action {action!r}")
            await self._announce(connection, ALL_TENANTS)
        return await self.get_rollout(rollout_id)

    async def unfinished_rollout_ids(self) -> list[int]:
        """The rollouts the conductor still steps (not done, not aborted)."""
        query = (
            sa.select(rollouts.c.id)
            .where(
                rollouts.c.status.not_in([RolloutStatus.DONE.value, RolloutStatus.ABORTED.value])
            )
            .order_by(rollouts.c.id)
        )
        async with self._engine.connect() as connection:
            return [int(i) for i in await connection.scalars(query)]

    async def conduct_rollout(
        self, rollout_id: int, *, now: datetime, hold_for: timedelta
    ) -> ConductStep:
        """One step of a rollout, in one transaction with the rollout's row locked, so that
        two nodes stepping it at once take turns: flag the late, spend the failure budget,
        release the next wave if the cap allows, give held tenants whose instant is
        passing a later one, and finish.
        """
        step = ConductStep()
        async with self._writer.begin() as connection:
            row = await self._lock_rollout(connection, rollout_id)
            if row is None or RolloutStatus(row.status).is_finished:
                return step
            status = RolloutStatus(row.status)
            await connection.execute(
                _ops.update()
                .where(
                    _ops.c.rollout_id == rollout_id,
                    _ops.c.rollout_phase == RolloutPhase.RUNNING.value,
                    _ops.c.finished_at <= now - timedelta(seconds=row.expected_seconds),
                )
                .values(rollout_phase=RolloutPhase.LATE.value)
            )
            progress = await _counts(connection, rollout_id, (*IN_PROGRESS_PHASES, *FAILED_PHASES))
            failures = progress.failures - row.forgiven
            over = _over_budget(row, failures)
            if over is not None and status is not RolloutStatus.PAUSED:
                await self._pause(connection, row, over, "conductor", now)
                step.events.append("pause")
                status = RolloutStatus.PAUSED
            in_progress = progress.in_progress
            wave = row.next_wave
            lead = now + hold_for / 5
            while status is not RolloutStatus.PAUSED and wave < row.wave_count:
                wave_at, wave_size = (
                    await connection.execute(
                        sa.select(sa.func.min(_ops.c.run_at), sa.func.count()).where(
                            _ops.c.rollout_id == rollout_id,
                            _ops.c.wave == wave,
                            _ops.c.rollout_phase == RolloutPhase.PLANNED.value,
                        )
                    )
                ).one()
                if wave_size and (wave_at > lead or in_progress + wave_size > row.max_in_progress):
                    break  # not its instant yet, or the cap is reached
                if wave_size:
                    # Released a little ahead: the scheduler runs each at its own instant.
                    await connection.execute(
                        _ops.update()
                        .where(
                            _ops.c.rollout_id == rollout_id,
                            _ops.c.wave == wave,
                            _ops.c.rollout_phase == RolloutPhase.PLANNED.value,
                        )
                        .values(held=False, rollout_phase=RolloutPhase.RELEASED.value)
                    )
                    step.released += int(wave_size)
                    in_progress += int(wave_size)
                await self._next_wave(connection, rollout_id, wave)
                wave += 1
            if step.released and row.started_at is None:
                await connection.execute(
                    rollouts.update()
                    .where(rollouts.c.id == rollout_id)
                    .values(status=RolloutStatus.RUNNING.value, started_at=now)
                )
                await _event(connection, rollout_id, "start", "conductor", now)
                step.events.append("start")
            await self._move_passing(connection, rollout_id, now, hold_for, step)
            if wave >= row.wave_count and in_progress == 0:
                left = await _counts(connection, rollout_id, UNFINISHED_PHASES)
                if left.of(*UNFINISHED_PHASES) == 0:
                    await connection.execute(
                        rollouts.update()
                        .where(rollouts.c.id == rollout_id)
                        .values(status=RolloutStatus.DONE.value, finished_at=now)
                    )
                    await _event(connection, rollout_id, "end", "conductor", now)
                    step.events.append("end")
            if step.released or step.moved or step.events:
                await self._announce(connection, ALL_TENANTS)
        return step

    async def _lock_rollout(self, connection: AsyncConnection, rollout_id: int) -> Any:
        query = sa.select(rollouts).where(rollouts.c.id == rollout_id)
        if not self._is_sqlite:
            query = query.with_for_update()
        return (await connection.execute(query)).first()

    async def _next_wave(self, connection: AsyncConnection, rollout_id: int, wave: int) -> None:
        await connection.execute(
            rollouts.update()
            .where(rollouts.c.id == rollout_id, rollouts.c.next_wave == wave)
            .values(next_wave=wave + 1)
        )

    async def _move_passing(
        self,
        connection: AsyncConnection,
        rollout_id: int,
        now: datetime,
        hold_for: timedelta,
        step: ConductStep,
    ) -> None:
        """Held tenants whose instant is passing get a later one, so ValidUntil (capped at
        it) never tells a client the tenant runs past the instant it will actually start.
        """
        soon = now + hold_for / 5
        passing = (
            sa.select(_ops.c.context_identifier)
            .where(
                _ops.c.rollout_id == rollout_id,
                _ops.c.rollout_phase == RolloutPhase.PLANNED.value,
                _ops.c.run_at < soon,
            )
            .limit(10_000)
        )
        moved = list(await connection.scalars(passing))
        if not moved:
            return
        later = now + hold_for
        await connection.execute(
            _ops.update()
            .where(
                _ops.c.rollout_id == rollout_id,
                _ops.c.rollout_phase == RolloutPhase.PLANNED.value,
                _ops.c.run_at < soon,
            )
            .values(run_at=later)
        )
        step.moved.update(dict.fromkeys(moved, later))

    async def _pause(
        self, connection: AsyncConnection, row: Any, reason: str, actor: str, at: datetime
    ) -> None:
        # Released tenants that have not run yet are held again; their wave goes again.
        held_again = await connection.scalar(
            sa.select(sa.func.min(_ops.c.wave)).where(
                _ops.c.rollout_id == row.id,
                _ops.c.rollout_phase == RolloutPhase.RELEASED.value,
                _ops.c.status == ScheduleStatus.PENDING.value,
            )
        )
        await connection.execute(
            _ops.update()
            .where(
                _ops.c.rollout_id == row.id,
                _ops.c.rollout_phase == RolloutPhase.RELEASED.value,
                _ops.c.status == ScheduleStatus.PENDING.value,
            )
            .values(held=True, rollout_phase=RolloutPhase.PLANNED.value)
        )
        values: dict[str, Any] = {"status": RolloutStatus.PAUSED.value, "reason": reason}
        if held_again is not None:
            values["next_wave"] = min(int(held_again), row.next_wave)
        await connection.execute(rollouts.update().where(rollouts.c.id == row.id).values(values))
        await _event(connection, row.id, "pause", actor, at, reason)

    async def _abort(self, connection: AsyncConnection, rollout_id: int, at: datetime) -> None:
        waiting = sa.and_(
            _ops.c.rollout_id == rollout_id,
            _ops.c.rollout_phase.in_([RolloutPhase.PLANNED.value, RolloutPhase.RELEASED.value]),
            _ops.c.status == ScheduleStatus.PENDING.value,
        )
        await connection.execute(
            notices.update()
            .where(
                notices.c.scheduled_id.in_(sa.select(_ops.c.id).where(waiting)),
                notices.c.resolved_at.is_(None),
            )
            .values(resolved_at=at, resolution=NoticeResolution.CANCELLED.value, updated_at=at)
        )
        await connection.execute(
            _ops.update()
            .where(waiting)
            .values(
                status=ScheduleStatus.CANCELLED.value,
                finished_at=at,
                held=True,
                rollout_phase=RolloutPhase.CANCELLED.value,
            )
        )


def _over_budget(row: Any, failures: int) -> str | None:
    """Why the failure budget is spent, or None."""
    if row.max_failures is not None and failures > row.max_failures:
        return (
            f"failure budget spent: {failures} late or refused tenants, more than "
            f"--max-failures {row.max_failures}"
        )
    percent = row.max_failure_percent
    if percent is not None and row.tenant_count and failures * 100 > percent * row.tenant_count:
        return (
            f"failure budget spent: {failures} late or refused of {row.tenant_count} tenants "
            f"({failures * 100 / row.tenant_count:.1f} %), more than --max-failure-percent "
            f"{percent:g}"
        )
    return None
