"""Running tenant operations: lifecycle decision, store commit, state cache, in that order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tenantstatus.clock import Clock
from tenantstatus.lifecycle import (
    InvalidOperation,
    Operation,
    OperationRequest,
    Outcome,
    Tenant,
    apply,
)
from tenantstatus.model import TEST_CONTEXT_IDENTIFIER, is_valid_context_identifier
from tenantstatus.service.errors import UnknownScheduledOperation
from tenantstatus.service.metrics import ServiceMetrics
from tenantstatus.service.state.cache import StateCache
from tenantstatus.service.tenants.operations import parameters_of, request_from
from tenantstatus.store import (
    HistoryEntry,
    ImportResult,
    NoticeDraft,
    ScheduledOperation,
    ScheduleNotPending,
    TenantStore,
)

__all__ = ["ImportItem", "TenantService"]

#: Tenants whose schedule one query re-reads (SQLite allows 32,766 parameters).
SCHEDULE_CHUNK = 500

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportItem:
    """One tenant of a bulk import."""

    context_identifier: str
    request: OperationRequest


def check_context_identifier(context_identifier: str) -> None:
    """Raise `InvalidOperation` unless the id matches the spec's pattern."""
    if not is_valid_context_identifier(context_identifier):
        raise InvalidOperation(
            f"{context_identifier[:80]!r} is not a ContextIdentifier: letters, digits, _ and -, "
            "starting with a letter, at most 64 characters"
        )
    if context_identifier == TEST_CONTEXT_IDENTIFIER:
        raise InvalidOperation(
            f"{TEST_CONTEXT_IDENTIFIER} is reserved for test notifications; choose another id"
        )


def _check_until(notice: NoticeDraft | None, begins: datetime) -> None:
    if notice is not None and notice.until is not None and notice.until <= begins:
        raise InvalidOperation("Until must lie after the operation begins (now, or At)")


class TenantService:
    """The service's one way to change a tenant. The admin API and the scheduler call it."""

    def __init__(
        self,
        store: TenantStore,
        cache: StateCache,
        clock: Clock,
        metrics: ServiceMetrics,
        *,
        on_announce: Callable[[], None] | None = None,
    ) -> None:
        self._on_announce = on_announce or (lambda: None)
        self.store = store
        self.cache = cache
        self.clock = clock
        self.metrics = metrics
        self.schedule_changed = asyncio.Event()
        self.revision = 0
        self._write_lock = asyncio.Lock()

    async def load_cache(self) -> int:
        """Fill the state cache from the store; return how many tenants it holds."""
        self.revision = await self.store.current_revision()
        upcoming = await self.store.next_scheduled()
        async for batch in self.store.stream_summaries():
            self.cache.load_summaries(batch, upcoming)
        return len(self.cache)

    async def reload(self, context_identifier: str) -> None:
        """Re-read one tenant and its schedule (another node changed it)."""
        tenant = await self.store.get_tenant(context_identifier)
        if tenant is None:
            return
        await self._refresh(context_identifier, tenant)

    async def catch_up(self) -> None:
        """Apply every change committed since the last one this node saw, and every schedule."""
        while True:
            changed = await self.store.changed_since(self.revision)
            if not changed:
                break
            for revision, tenant in changed:
                self.cache.put(tenant)
                self.revision = max(self.revision, revision)
        upcoming = await self.store.next_scheduled()
        for context_identifier in self.cache.capped():
            if context_identifier not in upcoming:
                self.cache.set_next_scheduled(context_identifier, None)
        for context_identifier, instant in upcoming.items():
            self.cache.set_next_scheduled(context_identifier, instant)

    async def run(
        self,
        context_identifier: str,
        request: OperationRequest,
        *,
        actor: str,
        scheduled_id: int | None = None,
        notice: NoticeDraft | None = None,
    ) -> tuple[Outcome, HistoryEntry]:
        """Run an operation now, with its message if `notice`.

        Raises `TransitionRefused` or `InvalidOperation`.
        """
        check_context_identifier(context_identifier)
        now = self.clock.now()
        _check_until(notice, now)
        detail = parameters_of(request)
        if scheduled_id is not None:
            detail["ScheduledId"] = scheduled_id
        # One writer at a time keeps SQLite from queueing on its file lock.
        async with self._write_lock:
            outcome, entry = await self.store.commit_operation(
                context_identifier,
                lambda tenant: apply(context_identifier, tenant, request, now=now),
                actor=actor,
                at=now,
                detail=detail,
                scheduled_id=scheduled_id,
                notice=notice,
            )
        await self._refresh(context_identifier, outcome.tenant)
        if outcome.announces is not None:
            self._on_announce()
        self.metrics.operations.labels(operation=str(request.operation), outcome="done").inc()
        log.info(
            "tenant %s: %s by %s, %s -> %s",
            context_identifier,
            request.operation,
            actor,
            None if outcome.from_state is None else outcome.from_state.name,
            outcome.tenant.state.name,
        )
        return outcome, entry

    async def schedule(
        self,
        context_identifier: str,
        request: OperationRequest,
        *,
        run_at: datetime,
        actor: str,
        notice: NoticeDraft | None = None,
    ) -> ScheduledOperation:
        """Record an operation to run at `run_at`, which must lie in the future."""
        check_context_identifier(context_identifier)
        now = self.clock.now()
        if run_at <= now:
            raise InvalidOperation(
                "At must lie in the future; leave it out to run the operation now"
            )
        _check_until(notice, run_at)
        if request.operation is not Operation.PROVISION and (
            await self.store.get_tenant(context_identifier) is None
        ):
            raise InvalidOperation(
                f"tenant {context_identifier} does not exist; provision it first"
            )
        scheduled = await self.store.schedule_operation(
            context_identifier,
            str(request.operation),
            parameters_of(request),
            run_at=run_at,
            actor=actor,
            at=now,
            notice=notice,
        )
        await self._refresh_schedule(context_identifier)
        self.schedule_changed.set()
        return scheduled

    async def cancel(self, scheduled_id: int) -> ScheduledOperation:
        """Cancel a pending scheduled operation."""
        cancelled = await self.store.cancel_scheduled(scheduled_id, at=self.clock.now())
        if cancelled is None:
            raise UnknownScheduledOperation(scheduled_id)
        await self._refresh_schedule(cancelled.context_identifier)
        return cancelled

    async def run_scheduled(self, scheduled: ScheduledOperation) -> None:
        """Run a scheduled operation whose instant has come; record a refusal as its failure."""
        try:
            request = request_from(scheduled.operation, scheduled.parameters)
            await self.run(
                scheduled.context_identifier,
                request,
                actor=f"schedule:{scheduled.id} ({scheduled.created_by})",
                scheduled_id=scheduled.id,
            )
        except ScheduleNotPending:
            return  # cancelled or run elsewhere in the meantime
        except Exception as exc:
            log.warning("scheduled operation %d failed: %s", scheduled.id, exc)
            self.metrics.operations.labels(operation=scheduled.operation, outcome="failed").inc()
            await self.store.fail_scheduled(scheduled.id, error=str(exc), at=self.clock.now())
            await self._refresh_schedule(scheduled.context_identifier)

    async def import_tenants(self, items: Sequence[ImportItem], *, actor: str) -> ImportResult:
        """Create many tenants at once; existing ones are left as they are."""
        now = self.clock.now()
        tenants: list[Tenant] = []
        for item in items:
            check_context_identifier(item.context_identifier)
            outcome = apply(item.context_identifier, None, item.request, now=now)
            tenants.append(outcome.tenant)
        async with self._write_lock:
            result = await self.store.import_tenants(tenants, actor=actor, at=now)
        for tenant in tenants:
            if self.cache.get(tenant.context_identifier) is None:
                self.cache.put(tenant)
        return result

    async def _refresh(self, context_identifier: str, tenant: Tenant) -> None:
        upcoming = await self.store.list_scheduled(context_identifier=context_identifier, limit=1)
        self.cache.put(tenant, upcoming[0].run_at if upcoming else None)

    async def refresh_schedule(self, context_identifier: str) -> None:
        """Re-read one tenant's next scheduled instant into the cache (ValidUntil's cap)."""
        await self._refresh_schedule(context_identifier)

    async def refresh_schedules(self, context_identifiers: Iterable[str]) -> None:
        """Re-read these tenants' next scheduled instants, a few hundred per query, yielding
        the event loop between queries (a rollout moves thousands at once)."""
        pending = list(context_identifiers)
        for start in range(0, len(pending), SCHEDULE_CHUNK):
            chunk = pending[start : start + SCHEDULE_CHUNK]
            upcoming = await self.store.next_scheduled_of(chunk)
            for context_identifier in chunk:
                self.cache.set_next_scheduled(context_identifier, upcoming.get(context_identifier))
            await asyncio.sleep(0)

    async def refresh_rollout(self, rollout_id: int) -> None:
        """Re-read the next scheduled instant of every tenant of a rollout (created, paused,
        resumed or aborted), in batches that yield the event loop: not every tenant's."""
        async for batch in self.store.rollout_next_scheduled(rollout_id):
            for context_identifier, instant in batch:
                self.cache.set_next_scheduled(context_identifier, instant)
            await asyncio.sleep(0)

    async def _refresh_schedule(self, context_identifier: str) -> None:
        upcoming = await self.store.list_scheduled(context_identifier=context_identifier, limit=1)
        self.cache.set_next_scheduled(context_identifier, upcoming[0].run_at if upcoming else None)
