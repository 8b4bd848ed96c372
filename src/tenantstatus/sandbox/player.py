"""`ScenarioPlayer`: plays a scenario's steps through the real `TenantService`.

Every operation goes the way an operator's would, so it commits with its history row
and outbox rows and pushes real signed notifications to every application its tenant
approved. A planned step (the default, except for moves and incidents) is put on the
service's schedule ahead of time, as a maintenance window would be: until it opens,
`ValidUntil` never reaches past it, so pull clients re-check exactly then, and the
status page shows it. An unplanned step runs without warning when its time comes.

    player = ScenarioPlayer(tenants, scenario, site.endpoint, report=print)
    player.start()
    ...
    await player.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tenantstatus.lifecycle import (
    InvalidOperation,
    Operation,
    OperationRequest,
    TransitionRefused,
)
from tenantstatus.model import format_instant
from tenantstatus.sandbox.releases import Release
from tenantstatus.sandbox.scenario import Scenario, Step
from tenantstatus.service.errors import UnknownScheduledOperation
from tenantstatus.service.tenants import TenantService
from tenantstatus.store import HistoryEntry, ScheduledOperation, ScheduleStatus

__all__ = ["ACTOR", "PlayedOperation", "ScenarioPlayer"]

log = logging.getLogger(__name__)

#: The actor the sandbox's operations carry in the history.
ACTOR = "sandbox:scenario"
_POLL = 0.05
_PATIENCE = 30.0  # seconds a scheduled operation may stay pending past its instant
_LEAD = timedelta(milliseconds=100)  # the schedule refuses instants that are not ahead


@dataclass(frozen=True, slots=True)
class PlayedOperation:
    """What became of one operation of the scenario."""

    offset: float  # seconds since the scenario started
    context_identifier: str
    operation: str
    outcome: str  # done, refused or cancelled
    detail: str = ""
    entry: HistoryEntry | None = None

    def describe(self) -> str:
        """One line for people."""
        text = f"[+{self.offset:6.1f}s] {self.context_identifier} {self.operation}: "
        entry = self.entry
        if self.outcome == "done" and entry is not None:
            before = entry.from_state.name if entry.from_state is not None else "-"
            text += f"{before} -> {entry.to_state.name}"
            if entry.change_type is not None:
                text += f", announced {entry.change_type.name}"
            return text
        return text + f"{self.outcome}" + (f" ({self.detail})" if self.detail else "")

    def to_json(self) -> dict[str, Any]:
        """The record with PascalCase keys, as `/sim/_scenario` shows it."""
        entry = self.entry
        return {
            "Offset": round(self.offset, 3),
            "ContextIdentifier": self.context_identifier,
            "Operation": self.operation,
            "Outcome": self.outcome,
            "Detail": self.detail,
            "From": None if entry is None or entry.from_state is None else entry.from_state.name,
            "To": None if entry is None else entry.to_state.name,
            "Announced": None
            if entry is None or entry.change_type is None
            else entry.change_type.name,
        }


class ScenarioPlayer:
    """Plays each step of a scenario in its own task, from `start()` until `stop()`."""

    def __init__(
        self,
        tenants: TenantService,
        scenario: Scenario,
        endpoint_for: Callable[[str, str], str],
        *,
        report: Callable[[PlayedOperation], None] | None = None,
    ) -> None:
        self.tenants = tenants
        self.scenario = scenario
        self.endpoint_for = endpoint_for
        self.report = report or (lambda played: None)
        self.started_at: datetime | None = None
        self._origin = tenants.clock.now()
        self.played: list[PlayedOperation] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._scheduled: set[int] = set()  # put on the schedule, not yet run

    def start(self) -> None:
        """Start playing; step offsets count from now."""
        self.started_at = self._origin = self.tenants.clock.now()
        self._tasks = [
            asyncio.create_task(self._play(step), name=f"sandbox-step-{i}")
            for i, step in enumerate(self.scenario.steps)
        ]

    async def stop(self) -> None:
        """Stop every step, and take what it scheduled off the service's schedule.

        Otherwise a later sandbox on the same data directory would run those operations
        at its start, as missed ones.
        """
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for scheduled_id in sorted(self._scheduled):
            with contextlib.suppress(UnknownScheduledOperation):
                await self.tenants.cancel(scheduled_id)
        self._scheduled.clear()

    def view(self) -> dict[str, Any]:
        """The scenario and what it did so far, for `/sim/_scenario`."""
        return {
            "StartedAt": None if self.started_at is None else format_instant(self.started_at),
            "Notice": self.scenario.notice,
            "Steps": [step.describe() for step in self.scenario.steps],
            "Played": [played.to_json() for played in self.played],
        }

    async def _play(self, step: Step) -> None:
        occurrence = 0
        limit = step.occurrences
        while limit is None or occurrence < limit:
            start = self._origin + timedelta(seconds=step.offset(occurrence))
            try:
                if step.planned:
                    await self._planned(step, start)
                else:
                    await self._unplanned(step, start)
            except (InvalidOperation, LookupError) as exc:
                # The step cannot even be put on the schedule: it will not get better.
                self._record(step.context_identifier, str(step.operation), "refused", str(exc))
                return
            except Exception:
                log.exception("sandbox step %s failed", step.describe())
                return
            occurrence += 1

    async def _planned(self, step: Step, start: datetime) -> None:
        ctx = step.context_identifier
        run_at = max(start, self.tenants.clock.now() + _LEAD)
        first = await self._schedule(ctx, await self._request(step), run_at)
        finish = None
        if step.finishing is not None and step.duration is not None:
            later = run_at + timedelta(seconds=step.duration)
            finish = await self._schedule(ctx, OperationRequest(step.finishing), later)
        done = await self._outcome(first)
        if finish is None:
            return
        if done:
            await self._outcome(finish)
        else:
            with contextlib.suppress(UnknownScheduledOperation):
                await self.tenants.cancel(finish.id)
            self._scheduled.discard(finish.id)

    async def _schedule(
        self, ctx: str, request: OperationRequest, run_at: datetime
    ) -> ScheduledOperation:
        scheduled = await self.tenants.schedule(ctx, request, run_at=run_at, actor=ACTOR)
        self._scheduled.add(scheduled.id)
        return scheduled

    async def _unplanned(self, step: Step, start: datetime) -> None:
        await self._sleep_until(start)
        done = await self._run(step.context_identifier, await self._request(step))
        if done and step.finishing is not None and step.duration is not None:
            await self._sleep_until(start + timedelta(seconds=step.duration))
            await self._run(step.context_identifier, OperationRequest(step.finishing))

    async def _request(self, step: Step) -> OperationRequest:
        """The step's request, with what it needs from the tenant as it is now."""
        tenant = await self.tenants.store.get_tenant(step.context_identifier)
        if step.to_host is not None:
            return step.request(self.endpoint_for(step.to_host, step.context_identifier))
        if step.endpoint is not None:
            return step.request(step.endpoint)
        if step.operation is not Operation.UPGRADE or tenant is None:
            return step.request()
        current = Release.of(tenant.version_name, tenant.file_version)
        release = (
            Release.of(step.version_name, step.file_version)
            if step.version_name or step.file_version
            else current.next()
        )
        return OperationRequest(
            step.operation,
            version_name=release.version_name,
            file_version=release.file_version,
            version_document=release.document(tenant.endpoint),
        )

    async def _run(self, ctx: str, request: OperationRequest) -> bool:
        try:
            _, entry = await self.tenants.run(ctx, request, actor=ACTOR)
        except (TransitionRefused, InvalidOperation) as exc:
            self._record(ctx, str(request.operation), "refused", str(exc))
            return False
        self._record(ctx, str(request.operation), "done", entry=entry)
        return True

    async def _outcome(self, scheduled: ScheduledOperation) -> bool:
        """Wait until the service has run a scheduled operation; record what became of it."""
        await self._sleep_until(scheduled.run_at)
        done = await self._await_outcome(scheduled)
        self._scheduled.discard(scheduled.id)
        return done

    async def _await_outcome(self, scheduled: ScheduledOperation) -> bool:
        store = self.tenants.store
        deadline = asyncio.get_running_loop().time() + _PATIENCE
        current: ScheduledOperation | None = scheduled
        while current is not None and current.status is ScheduleStatus.PENDING:
            if asyncio.get_running_loop().time() > deadline:
                self._record(scheduled.context_identifier, scheduled.operation, "late")
                return False
            await asyncio.sleep(_POLL)
            current = await store.get_scheduled(scheduled.id)
        ctx = scheduled.context_identifier
        if current is None or current.status is not ScheduleStatus.DONE:
            failed = current is not None and current.status is ScheduleStatus.FAILED
            outcome = "refused" if failed else "cancelled"
            detail = "" if current is None else current.error or ""
            self._record(ctx, scheduled.operation, outcome, detail)
            return False
        history = await store.history(ctx, limit=20)
        entry = next((e for e in history if e.detail.get("ScheduledId") == scheduled.id), None)
        self._record(ctx, scheduled.operation, "done", entry=entry)
        return True

    def _record(
        self,
        ctx: str,
        operation: str,
        outcome: str,
        detail: str = "",
        entry: HistoryEntry | None = None,
    ) -> None:
        # The instant the operation committed, when known, not when it was noticed.
        instant = entry.at if entry is not None else self.tenants.clock.now()
        offset = (instant - self._origin).total_seconds()
        played = PlayedOperation(offset, ctx, operation, outcome, detail, entry)
        self.played.append(played)
        try:
            self.report(played)
        except Exception:
            log.exception("reporting a played operation failed")

    async def _sleep_until(self, instant: datetime) -> None:
        delay = (instant - self.tenants.clock.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
